package image

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckContextNamesTheMissingSource(t *testing.T) {
	dir := t.TempDir()
	df := filepath.Join(dir, "Dockerfile")
	os.WriteFile(df, []byte("FROM scratch AS base\n# gems\nCOPY --chmod=0644 \\\n  Gemfile Gemfile.lock ./\nCOPY --from=base /x /y\nADD https://example.invalid/x /x\nCOPY [\"config/*.rb\", \"/c/\"]\n"), 0o644)
	ctxDir := filepath.Join(dir, "ctx")
	os.MkdirAll(filepath.Join(ctxDir, "config"), 0o755)
	err := CheckContext(df, ctxDir)
	if err == nil || !strings.Contains(err.Error(), "Dockerfile:3: COPY Gemfile") {
		t.Fatalf("missing Gemfile: %v", err)
	}
	os.WriteFile(filepath.Join(ctxDir, "Gemfile"), nil, 0o644)
	os.WriteFile(filepath.Join(ctxDir, "Gemfile.lock"), nil, 0o644)
	if err := CheckContext(df, ctxDir); err == nil || !strings.Contains(err.Error(), ":7: COPY config/*.rb") {
		t.Fatalf("unmatched glob in the JSON form: %v", err)
	}
	os.WriteFile(filepath.Join(ctxDir, "config", "app.rb"), nil, 0o644)
	if err := CheckContext(df, ctxDir); err != nil {
		t.Fatalf("complete context: %v", err)
	}
}

// The shipped Dockerfile against the shipped contexts: docker/Dockerfile
// needs a Rails root, which this repository's root is not; the sandbox
// app's Dockerfile and context agree.
func TestShippedDockerfilesAndContexts(t *testing.T) {
	root := filepath.Join("..", "..")
	standIn := filepath.Join(root, "mage", "internal", "testtools", "standin-app")
	if err := CheckContext(filepath.Join(standIn, "Dockerfile"), standIn); err != nil {
		// busybox is copied in by the stand-in's prepare step
		if !strings.Contains(err.Error(), "busybox") {
			t.Errorf("stand-in app: %v", err)
		}
	}
	// The example Rails app is a Rails root: docker/Dockerfile's context,
	// once the sandbox's prepare step has put docker/nginx.conf in it.
	app := filepath.Join(root, "examples", "sandbox-app")
	if err := CheckContext(filepath.Join(root, "docker", "Dockerfile"), app); err != nil && !strings.Contains(err.Error(), "docker/nginx.conf") {
		t.Errorf("example app: %v", err)
	}
	err := CheckContext(filepath.Join(root, "docker", "Dockerfile"), root)
	if err == nil || !strings.Contains(err.Error(), "Gemfile") {
		t.Errorf("docker/Dockerfile on a context without a Gemfile: %v", err)
	}
}
