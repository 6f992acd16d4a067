package atomicfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteKeepsModeAndLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "images.auto.tfvars")
	if err := os.WriteFile(path, []byte("old"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := Write(path, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "new" {
		t.Fatalf("content = %q, want %q", got, "new")
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o640 {
		t.Fatalf("mode = %v, want 0640", info.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries, want only the file", len(entries))
	}
}

func TestWriteNewFileUsesPerm(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.json")
	if err := Write(path, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("mode = %v, want 0600", info.Mode().Perm())
	}
}

func TestWriteIntoMissingDirectoryFails(t *testing.T) {
	err := Write(filepath.Join(t.TempDir(), "nope", "f"), []byte("x"), 0o644)
	if err == nil {
		t.Fatal("expected an error for a missing directory")
	}
}

func TestWriteFollowsSymlinksAndRefusesReadOnly(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "shared", "images.auto.tfvars")
	os.MkdirAll(filepath.Dir(target), 0o755)
	os.WriteFile(target, []byte("old\n"), 0o640)
	link := filepath.Join(dir, "images.auto.tfvars")
	if err := os.Symlink(filepath.Join("shared", "images.auto.tfvars"), link); err != nil {
		t.Fatal(err)
	}
	if err := Write(link, []byte("new\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the symlink was replaced by a regular file")
	}
	if data, _ := os.ReadFile(target); string(data) != "new\n" {
		t.Errorf("the link's target holds %q, want the new content", data)
	}
	if fi, _ := os.Stat(target); fi.Mode().Perm() != 0o640 {
		t.Errorf("target mode = %v", fi.Mode().Perm())
	}
	ro := filepath.Join(dir, "ro.tfvars")
	os.WriteFile(ro, []byte("keep\n"), 0o444)
	if err := Write(ro, []byte("changed\n"), 0o644); err == nil || !strings.Contains(err.Error(), "read-only (mode 0444)") {
		t.Errorf("a read-only file: %v", err)
	}
	if data, _ := os.ReadFile(ro); string(data) != "keep\n" {
		t.Errorf("a read-only file was rewritten: %q", data)
	}
}
