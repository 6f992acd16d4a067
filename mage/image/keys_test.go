package image

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// A laptop builds from the working tree, where config/master.key lives: a
// context whose ignore file does not exclude it is refused, naming the
// file and the lines to add; excluded (as the shipped .dockerignore does,
// or a Dockerfile-specific ignore file), it builds.
func TestBuildContextCarryingARailsKeyIsRefused(t *testing.T) {
	app := t.TempDir()
	writeFiles(t, app, map[string]string{
		"Dockerfile": "FROM scratch\nCOPY . /rails\n", "Gemfile": "gem 'rails'",
		"config/master.key": "0123456789abcdef", "config/credentials/production.key": "fedcba",
		".dockerignore": ".git\nlog/*\n",
	})
	err := CheckNoRailsKeys(filepath.Join(app, "Dockerfile"), app)
	if err == nil || !strings.Contains(err.Error(), "config/master.key") || !strings.Contains(err.Error(), "config/credentials/production.key") ||
		!strings.Contains(err.Error(), ".dockerignore does not exclude") {
		t.Fatalf("a context with unexcluded keys = %v", err)
	}
	writeFiles(t, app, map[string]string{".dockerignore": ".git\nconfig/master.key\nconfig/credentials/*.key\n"})
	if err := CheckNoRailsKeys(filepath.Join(app, "Dockerfile"), app); err != nil {
		t.Errorf("keys excluded by .dockerignore: %v", err)
	}
	// A Dockerfile-specific ignore file wins over the context's, as BuildKit reads it.
	writeFiles(t, app, map[string]string{"Dockerfile.dockerignore": "log/*\n"})
	if err := CheckNoRailsKeys(filepath.Join(app, "Dockerfile"), app); err == nil {
		t.Error("Dockerfile.dockerignore, which does not exclude the keys, was not the one read")
	}
	// The repository's own .dockerignore (the reference app's) excludes them.
	shipped, err := os.ReadFile(filepath.Join("..", "..", ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(app, "Dockerfile.dockerignore"))
	writeFiles(t, app, map[string]string{".dockerignore": string(shipped)})
	if err := CheckNoRailsKeys(filepath.Join(app, "Dockerfile"), app); err != nil {
		t.Errorf("the shipped .dockerignore lets a key through: %v", err)
	}
}

// Asset inputs name config (precompile reads config/*.rb), but the staged
// assets-src never holds a key, whatever the ignore file says.
func TestAssetInputsNeverCarryARailsKey(t *testing.T) {
	app := t.TempDir()
	writeFiles(t, app, map[string]string{
		"config/application.rb": "module Shop; end", "config/master.key": "0123456789abcdef",
		"config/credentials/production.key": "fedcba", "config/credentials/production.yml.enc": "sealed",
	})
	dir, _, err := StageAssetInputs(app, []string{"config"}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"config/master.key", "config/credentials/production.key"} {
		if _, err := os.Stat(filepath.Join(dir, key)); err == nil {
			t.Errorf("%s was staged as an asset input", key)
		}
	}
	for _, kept := range []string{"config/application.rb", "config/credentials/production.yml.enc"} {
		if _, err := os.Stat(filepath.Join(dir, kept)); err != nil {
			t.Errorf("%s was not staged: %v", kept, err)
		}
	}
}
