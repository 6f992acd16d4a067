package testtools

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// RequireEnv, when set (mage test and .ci/run set it), turns a missing
// tool into a failure instead of a skip, so CI can never pass by skipping.
const RequireEnv = "DEPLOYKIT_REQUIRE_TOOLS"

// Install says how to get each external tool the tests run.
var Install = map[string]string{
	"buildah":            "scripts/setup (apt-get install buildah)",
	"docker-registry":    "scripts/setup (apt-get install docker-registry)",
	"curl":               "scripts/setup (apt-get install curl)",
	"aws":                "scripts/setup (apt-get install awscli)",
	"whenever":           "scripts/setup (apt-get install ruby-whenever)",
	"moto_server":        "scripts/setup (pip install 'moto[server]')",
	"node":               "scripts/setup (apt-get install nodejs npm)",
	"tofu":               "scripts/setup, or: (cd tools && go build -o bin/tofu github.com/opentofu/opentofu/cmd/tofu)",
	"buildkitd":          "scripts/setup (builds tools/bin/buildkitd, buildctl and buildx from tools/buildkit/go.mod; apt-get install runc)",
	"buildx":             "scripts/setup (builds tools/bin/buildx from tools/buildkit/go.mod)",
	"runc":               "scripts/setup (apt-get install runc)",
	"busybox-static":     "scripts/setup (apt-get install busybox-static)",
	"nginx":              "scripts/setup (apt-get install nginx-light)",
	"mmdebstrap":         "scripts/setup (apt-get install mmdebstrap)",
	"mariadbd":           "scripts/setup (apt-get install mariadb-server)",
	"mariadb":            "scripts/setup (apt-get install mariadb-server)",
	"mariadb-install-db": "scripts/setup (apt-get install mariadb-server)",
	"podman":             "scripts/setup (apt-get install podman slirp4netns)",
	"haproxy":            "scripts/setup (apt-get install haproxy)",
	"chromium":           "scripts/setup (apt-get install chromium)",
	"redis-server":       "scripts/setup (apt-get install redis-server)",
	"iam-simulate":       "scripts/setup (npm ci --prefix tools/iam)",
	"rails":              "scripts/setup (apt-get install --no-install-recommends ruby-rails and the gems the sandbox's base image has)",
	"bundle":             "scripts/setup (apt-get install bundler)",
}

// Integration marks a test that runs real external tools: -short skips it,
// so `go test -short ./...` runs the unit tests anywhere in seconds.
func Integration(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test (runs real tools); skipped with -short")
	}
}

// Need returns the path of an external tool on PATH. It skips the test
// under -short, and when the tool is missing it skips naming the command
// that installs it, or fails when RequireEnv is set.
func Need(t testing.TB, tool string) string {
	t.Helper()
	Integration(t)
	p, err := exec.LookPath(tool)
	if err != nil {
		missing(t, tool)
	}
	return p
}

func missing(t testing.TB, tool string) {
	t.Helper()
	how := Install[tool]
	if how == "" {
		how = "scripts/setup"
	}
	msg := tool + " is not installed; install it with " + how
	if os.Getenv(RequireEnv) != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// RepoRoot is the repository's top directory (where go.mod is).
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, "magefile.go")); err == nil {
				return dir
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("repository root (go.mod beside magefile.go) not found above the test's directory")
		}
		dir = parent
	}
}

// Tofu finds OpenTofu, which the terraform tests always run:
// DEPLOYKIT_TOFU, then tofu on PATH, then tools/bin/tofu.
func Tofu(t testing.TB) string {
	t.Helper()
	Integration(t)
	if p := os.Getenv("DEPLOYKIT_TOFU"); p != "" {
		return p
	}
	if p, err := exec.LookPath("tofu"); err == nil {
		return p
	}
	p := filepath.Join(RepoRoot(t), "tools", "bin", "tofu")
	if _, err := os.Stat(p); err != nil {
		missing(t, "tofu")
	}
	return p
}

// Terraform is HashiCorp's terraform when it is on PATH, else "": the
// tests run it as a second implementation where a machine has it.
func Terraform(t testing.TB) string {
	t.Helper()
	p, _ := exec.LookPath("terraform")
	return p
}
