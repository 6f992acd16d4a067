package image

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// bundle install reads more than Gemfile and Gemfile.lock when the
// Gemfile says `ruby file:`, `gemspec` or `path:`: those reach the gems
// stage (and nothing else of the app does).
func TestDependencyInputsAreWhatBundleInstallReads(t *testing.T) {
	app := t.TempDir()
	write(t, app, map[string]string{
		".ruby-version":               "3.4.1\n",
		"shop.gemspec":                "Gem::Specification.new",
		"engines/admin/admin.gemspec": "Gem::Specification.new",
		"app/models/order.rb":         "class Order; end",
		"Gemfile":                     "ruby file: \".ruby-version\"\ngemspec\ngem \"admin\", path: \"engines/admin\"\n",
		"Gemfile.lock": "PATH\n  remote: .\n  specs:\n    shop (0.1.0)\n\nPATH\n  remote: engines/admin\n  specs:\n    admin (0.1.0)\n\n" +
			"GEM\n  remote: https://rubygems.org/\n  specs:\n    rake (13.0.6)\n\nPLATFORMS\n  x86_64-linux\n\nRUBY VERSION\n   ruby 3.4.1p0\n",
	})
	got, err := DependencyInputs(app)
	if err != nil {
		t.Fatal(err)
	}
	if want := ".ruby-version engines/admin shop.gemspec"; strings.Join(got, " ") != want {
		t.Errorf("gem extras %q, want %q", got, want)
	}
	dir, _, err := StageAssetInputs(app, got, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if files := strings.Join(listFiles(t, dir), " "); files != ".ruby-version engines/admin/admin.gemspec shop.gemspec" {
		t.Errorf("staged %s", files)
	}

	// A plain Rails app: nothing besides the Gemfiles.
	plain := t.TempDir()
	write(t, plain, map[string]string{"Gemfile": "gem \"rails\"\n", "Gemfile.lock": "GEM\n  remote: https://rubygems.org/\n  specs:\n    rails (8.0.0)\n"})
	if got, err := DependencyInputs(plain); err != nil || len(got) != 0 {
		t.Errorf("a plain app's gem extras: %q %v", got, err)
	}

	// A path gem outside the Rails root cannot be in the build context.
	os.WriteFile(filepath.Join(plain, "Gemfile.lock"), []byte("PATH\n  remote: ../shared/money\n  specs:\n    money (1.0)\n"), 0o644)
	if _, err := DependencyInputs(plain); err == nil || !strings.Contains(err.Error(), "Gemfile.lock:2") || !strings.Contains(err.Error(), "../shared/money") {
		t.Errorf("a path gem outside the root: %v", err)
	}
}
