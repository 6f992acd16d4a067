package testtools

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// BusyboxImage commits an image named name holding the machine's static
// busybox, with /bin/sh and the applets in applets linked to it.
func BusyboxImage(t testing.TB, name string, applets ...string) string {
	t.Helper()
	Need(t, "buildah")
	if _, err := os.Stat("/bin/busybox"); err != nil {
		missing(t, "busybox-static")
	}
	root := t.TempDir()
	bin := filepath.Join(root, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "busybox"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, a := range append([]string{"sh"}, applets...) {
		if err := os.Symlink("busybox", filepath.Join(bin, a)); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command("buildah", "from", "scratch").Output()
	if err != nil {
		t.Fatal(err)
	}
	c := strings.TrimSpace(string(out))
	defer exec.Command("buildah", "rm", c).Run()
	for _, args := range [][]string{{"copy", c, root, "/"}, {"commit", "--quiet", c, name}} {
		if b, err := exec.Command("buildah", args...).CombinedOutput(); err != nil {
			t.Fatalf("buildah %v: %v\n%s", args, err, b)
		}
	}
	return name
}
