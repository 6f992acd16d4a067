package repocheck

import (
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// The reference module pins the AWS provider's current major (6: the
// region attribute, service deployments and their strategies) and uses
// nothing 6.x deprecates; the Dockerfile's bases are supported lines that
// take patch releases, not frozen tags: Ruby X.Y, nginx's stable (even)
// branch, and a Go line no older than the one before this toolchain's.
func TestPinnedVersionsAreCurrentLines(t *testing.T) {
	if m := regexp.MustCompile(`(?s)aws\s*=\s*\{[^}]*version\s*=\s*"~>\s*6\.(\d+)"`).FindStringSubmatch(readRepo(t, "terraform/modules/rails-app/versions.tf")); m == nil {
		t.Error("terraform/modules/rails-app pins no hashicorp/aws ~> 6.x")
	}
	tfs, _ := filepath.Glob(filepath.Join(repo, "terraform", "modules", "*", "*.tf"))
	for _, f := range tfs {
		data, _ := os.ReadFile(f)
		if strings.Contains(string(data), "data.aws_region.current.name") {
			t.Errorf("%s reads data.aws_region's name, which provider 6.x deprecates for region", f)
		}
	}
	dockerfile := readRepo(t, "docker/Dockerfile")
	arg := func(name string) string {
		m := regexp.MustCompile(`(?m)^ARG ` + name + `=(\S+)$`).FindStringSubmatch(dockerfile)
		if m == nil {
			t.Fatalf("docker/Dockerfile has no ARG %s default", name)
		}
		return m[1]
	}
	if ruby := arg("RUBY_VERSION"); !regexp.MustCompile(`^\d+\.\d+$`).MatchString(ruby) {
		t.Errorf("RUBY_VERSION=%s is a frozen patch tag: name the line (X.Y), which takes patch releases", ruby)
	}
	nginx := strings.Split(arg("NGINX_VERSION"), ".")
	if minor, err := strconv.Atoi(nginx[len(nginx)-1]); len(nginx) != 2 || err != nil || minor%2 != 0 {
		t.Errorf("NGINX_VERSION=%s is not a stable (even) nginx line", arg("NGINX_VERSION"))
	}
	m := regexp.MustCompile(`(?m)^ARG GO_IMAGE=golang:1\.(\d+)`).FindStringSubmatch(dockerfile)
	toolchain, _ := strconv.Atoi(strings.Split(strings.TrimPrefix(runtime.Version(), "go1."), ".")[0])
	if m == nil {
		t.Fatal("docker/Dockerfile builds supercronic with no golang image")
	}
	if v, _ := strconv.Atoi(m[1]); v < toolchain-1 {
		t.Errorf("golang:1.%d is older than the two supported Go lines (this toolchain is 1.%d)", v, toolchain)
	}
}

// The sandbox's containers reach the MariaDB and Redis the sandbox
// starts: the URLs terraform passes as DATABASE_URL and REDIS_URL are
// deploy.hcl's local_database and local_redis, for both local environments.
func TestSandboxDatabaseURLsAgree(t *testing.T) {
	hcl := readRepo(t, "deploy.hcl")
	for env, tf := range map[string]string{"sandbox": "terraform/envs/sandbox/main.tf", "sandbox-production": "terraform/envs/sandbox-production/locals_override.tf"} {
		block := regexp.MustCompile(`(?s)environment "` + env + `" \{(.*?)\n\}`).FindStringSubmatch(hcl)
		if block == nil {
			t.Fatalf("deploy.hcl has no environment %q", env)
		}
		for hclKey, tfKey := range map[string]string{"local_database": "database_url", "local_redis": "redis_url"} {
			want := regexp.MustCompile(hclKey + `\s*=\s*"([^"]+)"`).FindStringSubmatch(block[1])
			got := regexp.MustCompile(tfKey + `\s*=\s*"([^"]+)"`).FindStringSubmatch(readRepo(t, tf))
			if want == nil || got == nil || want[1] != got[1] {
				t.Errorf("%s: deploy.hcl %s %v, %s %s %v: they must be the same URL", env, hclKey, want, tf, tfKey, got)
			}
		}
	}
}
