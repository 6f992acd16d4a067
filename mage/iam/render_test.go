package iam

import (
	"os"
	"path/filepath"
	"testing"
)

// In an app's repository, which holds no copy of the policy module, the
// policies come from the copy built into the binary: the same files as
// the toolkit's checkout.
func TestTheModuleComesWithTheBinary(t *testing.T) {
	fromBinary, fromRepo := t.TempDir(), t.TempDir()
	if err := copyModule(t.TempDir(), fromBinary); err != nil {
		t.Fatal(err)
	}
	if err := copyModule(filepath.Join("..", ".."), fromRepo); err != nil {
		t.Fatal(err)
	}
	want, _ := filepath.Glob(filepath.Join("..", "..", ModuleDir, "*.tf"))
	if len(want) == 0 {
		t.Fatal("no module files in the checkout")
	}
	for _, f := range want {
		repo, _ := os.ReadFile(f)
		for _, dir := range []string{fromBinary, fromRepo} {
			got, err := os.ReadFile(filepath.Join(dir, filepath.Base(f)))
			if err != nil || string(got) != string(repo) {
				t.Errorf("%s in %s: %v (equal: %v)", filepath.Base(f), dir, err, string(got) == string(repo))
			}
		}
	}
}
