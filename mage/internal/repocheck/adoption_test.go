package repocheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/railsecs/deploykit/mage/targets"
)

// An app outside this repository takes the toolkit as a module: its
// magefile.go imports the targets (mage:import) in a few lines, go.mod
// requires the module (a replace points at this checkout, as a release
// tag would), and `go run mage.go -l` lists exactly the targets this
// repository's own magefile lists.
func TestAnAppImportsTheToolkitAsAModule(t *testing.T) {
	app := t.TempDir()
	files := map[string]string{
		"go.mod": "module example.com/shop\n\ngo 1.26.0\n\nrequire github.com/railsecs/deploykit v0.0.0\n\nreplace github.com/railsecs/deploykit => " + repo + "\n",
		"magefile.go": `//go:build mage

// The shop's deploy targets.
package main

import (
	//mage:import
	_ "github.com/railsecs/deploykit/mage/deploykit"
)
`,
		"mage.go": readRepo(t, "mage.go"),
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(app, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The toolkit's own go.sum holds every checksum its packages need.
	if err := os.WriteFile(filepath.Join(app, "go.sum"), []byte(readRepo(t, "go.sum")), 0o644); err != nil {
		t.Fatal(err)
	}
	tidy := exec.Command("go", "mod", "tidy")
	tidy.Dir = app
	if out, err := tidy.CombinedOutput(); err != nil {
		t.Fatalf("go mod tidy in the app: %v\n%s", err, out)
	}
	list := exec.Command("go", "run", "mage.go", "-l")
	list.Dir = app
	out, err := list.CombinedOutput()
	if err != nil {
		t.Fatalf("go run mage.go -l in the app: %v\n%s", err, out)
	}
	var listed []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "  ") && strings.TrimSpace(line) != "" {
			listed = append(listed, strings.Fields(line)[0])
		}
	}
	if strings.Join(listed, " ") != strings.Join(targets.Targets, " ") {
		t.Errorf("the app's mage -l lists %v\nwant this repository's %v", listed, targets.Targets)
	}
	if !strings.Contains(string(out), "The shop's deploy targets.") {
		t.Errorf("the app's own magefile doc is not its mage -l header:\n%s", out)
	}
}
