package repocheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/railsecs/deploykit/mage/appinit"
	"github.com/railsecs/deploykit/mage/appscan"
	"github.com/railsecs/deploykit/mage/targets"
)

// An app outside this repository takes the toolkit as a module, with the
// files init writes: magefiles/magefile.go imports the targets
// (mage:import) in a few lines, magefiles/go.mod requires the module (a
// replace points at this checkout, as a release tag would), and `go run
// mage.go -l` in the Rails root lists exactly the targets this
// repository's own magefile lists, beside Rails' vendor/ directory, which
// would put a go.mod at the root into vendor mode.
func TestAnAppImportsTheToolkitAsAModule(t *testing.T) {
	app := t.TempDir()
	files, _, err := appinit.Render(appinit.Options{App: "shop", Stack: appscan.Stack{Rails: "7.1.5", Web: "puma"}, ToolkitReplace: repo})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f.Path != "mage.go" && !strings.HasPrefix(f.Path, "magefiles/") {
			continue
		}
		p := filepath.Join(app, f.Path)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, f.Content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(app, "vendor", "javascript"), 0o755); err != nil { // as Rails makes it
		t.Fatal(err)
	}
	// The toolkit's own go.sum holds every checksum its packages need.
	if err := os.WriteFile(filepath.Join(app, "magefiles", "go.sum"), []byte(readRepo(t, "go.sum")), 0o644); err != nil {
		t.Fatal(err)
	}
	tidy := exec.Command("go", "mod", "tidy")
	tidy.Dir = filepath.Join(app, "magefiles")
	if out, err := tidy.CombinedOutput(); err != nil {
		t.Fatalf("go mod tidy in the app's magefiles/: %v\n%s", err, out)
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
	if !strings.Contains(string(out), "shop's deploy targets") {
		t.Errorf("the app's own magefile doc is not its mage -l header:\n%s", out)
	}
}
