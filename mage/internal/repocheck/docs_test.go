package repocheck

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/railsecs/deploykit/mage/internal/testtools"
)

// The README is a front page: the two set-up commands, what the toolkit
// does and a map whose every link resolves; each docs page links back.
func TestReadmeIsAFrontPageWhoseLinksResolve(t *testing.T) {
	root := testtools.RepoRoot(t)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"scripts/setup && go run mage.go deploy", "scripts/setup && go run mage.go test", "## What it does", "## Map"} {
		if !strings.Contains(string(readme), want) {
			t.Errorf("README.md lacks %q", want)
		}
	}
	if len(readme) > 8000 {
		t.Errorf("README.md is %d bytes: a front page, not a reference (move detail to docs/)", len(readme))
	}
	links := regexp.MustCompile(`\]\((docs/[^)#]+)`).FindAllStringSubmatch(string(readme), -1)
	pages, _ := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if len(links) == 0 || len(pages) == 0 {
		t.Fatalf("%d links to docs/ and %d pages: nothing to check", len(links), len(pages))
	}
	linked := map[string]bool{}
	for _, l := range links {
		linked[l[1]] = true
		if _, err := os.Stat(filepath.Join(root, l[1])); err != nil {
			t.Errorf("README.md links %s: %v", l[1], err)
		}
	}
	for _, p := range pages {
		rel := "docs/" + filepath.Base(p)
		if !linked[rel] {
			t.Errorf("%s is not on the README's map", rel)
		}
		data, _ := os.ReadFile(p)
		if !strings.Contains(string(data), "](../README.md)") {
			t.Errorf("%s does not link back to the README", rel)
		}
	}
}
