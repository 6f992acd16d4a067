package image

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

func write(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func listFiles(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			rel, _ := filepath.Rel(root, p)
			out = append(out, rel)
		}
		return nil
	})
	sort.Strings(out)
	return out
}

// Only the asset inputs reach the assets context, and its hash moves
// with them alone.
func TestStageAssetInputs(t *testing.T) {
	app := t.TempDir()
	write(t, app, map[string]string{
		"app/assets/application.css": "body{}", "app/models/order.rb": "class Order; end", "config/routes.rb": "routes",
		"Gemfile": "gem 'rails'", "Gemfile.lock": "rails (8.0)", "README.md": "hello",
	})
	os.Symlink("application.css", filepath.Join(app, "app/assets/main.css"))
	inputs := []string{"app/assets", "config", "Gemfile", "Gemfile.lock", "package.json", "config"}
	dir, hash, err := StageAssetInputs(app, inputs, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Gemfile", "Gemfile.lock", "app/assets/application.css", "app/assets/main.css", "config/routes.rb"}
	if got := listFiles(t, dir); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("staged %v, want %v", got, want)
	}
	if target, err := os.Readlink(filepath.Join(dir, "app/assets/main.css")); err != nil || target != "application.css" {
		t.Errorf("symlink not kept: %q %v", target, err)
	}
	rehash := func() string {
		_, h, err := StageAssetInputs(app, inputs, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	write(t, app, map[string]string{"app/models/order.rb": "class Order; def total; end; end", "README.md": "changed"})
	if h := rehash(); h != hash {
		t.Errorf("a change outside the asset inputs moved the hash")
	}
	write(t, app, map[string]string{"app/assets/application.css": "body{color:red}"})
	if h := rehash(); h == hash {
		t.Errorf("an asset change kept the hash")
	}
	if TailwindInputs(app) != nil {
		t.Errorf("no Tailwind here")
	}
	write(t, app, map[string]string{"config/tailwind.config.js": "module.exports = {}"})
	if got := TailwindInputs(app); len(got) == 0 || got[0] != "app/views" {
		t.Errorf("Tailwind apps scan their views: %v", got)
	}
}

// bridge-assets keeps the newest KEEP earlier releases' files beside this
// release's, and drops older ones; run by a real sh (busybox's, as in the
// sandbox images).
func TestBridgeAssetsKeepsTheNewestReleases(t *testing.T) {
	sh := "/bin/busybox"
	if _, err := os.Stat(sh); err != nil {
		sh = "sh"
	}
	previous, current := t.TempDir(), t.TempDir()
	write(t, previous, map[string]string{
		"app-1.css": "1", "app-2.css": "2", "app-3.css": "3", "shared.js": "s",
		".releases/1": "app-1.css\n", ".releases/2": "app-2.css\nshared.js\n", ".releases/3": "app-3.css\nshared.js\n",
	})
	write(t, current, map[string]string{"app-4.css": "4", "shared.js": "s"})
	script := filepath.Join(t.TempDir(), "bridge-assets")
	os.WriteFile(script, BridgeScript(), 0o755)
	args := []string{script, previous, current, "2", "shop/nginx:abc"}
	if sh == "/bin/busybox" {
		args = append([]string{"sh"}, args...)
	}
	out, err := exec.Command(sh, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("bridge-assets: %v\n%s", err, out)
	}
	want := []string{".releases/2", ".releases/3", ".releases/4", "app-2.css", "app-3.css", "app-4.css", "shared.js"}
	if got := listFiles(t, current); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("after the bridge: %v, want %v\n%s", got, want, out)
	}
	if list, _ := os.ReadFile(filepath.Join(current, ".releases/4")); string(list) != "app-4.css\nshared.js\n" {
		t.Errorf("this release's list = %q", list)
	}
	if !strings.Contains(string(out), "release 4, 2 files; kept the assets of 2 earlier release(s) from shop/nginx:abc") {
		t.Errorf("output: %s", out)
	}
}
