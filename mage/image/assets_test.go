package image

import (
	"crypto/sha256"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/railsecs/deploykit/mage/internal/testtools"
)

func write(t *testing.T, root string, files map[string]string) {
	t.Helper()
	testtools.WriteFiles(t, root, files)
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

// Staged asset inputs carry times derived from their content, not the
// working tree's: Sprockets memoizes file and directory digests by (path,
// mtime second), so a changed file that kept its mtime would otherwise be
// compiled from the previous release's memo (shown with real Sprockets in
// mage/release's real-app test).
func TestStagedAssetInputsTimesFollowTheirContent(t *testing.T) {
	app := t.TempDir()
	write(t, app, map[string]string{"app/assets/stylesheets/a.scss": "a{}", "app/assets/stylesheets/b.scss": "b{}"})
	inputs := []string{"app/assets"}
	stage := func() string {
		dir, _, err := StageAssetInputs(app, inputs, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return dir
	}
	mtime := func(dir, rel string) time.Time {
		info, err := os.Stat(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		return info.ModTime()
	}
	a, styles := "app/assets/stylesheets/a.scss", "app/assets/stylesheets"
	first := stage()
	old := mtime(app, a)
	if got, want := mtime(first, a), ContentTime(sha256Of("a{}")); !got.Equal(want) {
		t.Fatalf("staged %s has mtime %v, want %v (from its content)", a, got, want)
	}
	if mtime(first, a).Equal(mtime(first, "app/assets/stylesheets/b.scss")) {
		t.Errorf("two different contents got one mtime")
	}

	// The working tree's times do not matter: touched, same content, same time.
	later := old.Add(time.Hour)
	os.Chtimes(filepath.Join(app, a), later, later)
	if second := stage(); !mtime(second, a).Equal(mtime(first, a)) || !mtime(second, styles).Equal(mtime(first, styles)) {
		t.Errorf("touching a file without changing it moved its staged time")
	}

	// Changed content under the old mtime: a new time.
	write(t, app, map[string]string{a: "a{color:red}"})
	os.Chtimes(filepath.Join(app, a), old, old)
	third := stage()
	if mtime(third, a).Equal(mtime(first, a)) {
		t.Errorf("a changed file kept its staged mtime")
	}
	if !mtime(third, styles).Equal(mtime(first, styles)) {
		t.Errorf("a content change moved its directory's time (Sprockets digests a directory by its entry names)")
	}

	// A new file: its directory's time moves.
	write(t, app, map[string]string{"app/assets/stylesheets/c.scss": "c{}"})
	if mtime(stage(), styles).Equal(mtime(first, styles)) {
		t.Errorf("adding a file kept its directory's staged mtime")
	}
}

func sha256Of(s string) []byte {
	sum := sha256.Sum256([]byte(s))
	return sum[:]
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
