package cisim

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/railsecs/deploykit/mage/config"
	"github.com/railsecs/deploykit/mage/internal/circleci"
	"github.com/railsecs/deploykit/mage/internal/testtools"
	"github.com/railsecs/deploykit/mage/sandbox"
)

// RunEnv starts the simulation; InsideEnv marks the suite the simulated
// test job runs, so it does not simulate again.
const (
	RunEnv    = "DEPLOYKIT_CIRCLECI_SIMULATION"
	InsideEnv = "DEPLOYKIT_INSIDE_CIRCLECI_SIMULATION"
)

// securePath is sudo's default secure_path on Debian and Ubuntu: Go in
// /usr/local/go/bin is not on it.
const securePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

var (
	realEnv    = regexp.MustCompile(`-env=(staging|production)\b`)
	networkVar = regexp.MustCompile(`(?i)^([a-z_]*proxy|[a-z_]*(ca|cert|certs|ssl)[a-z_]*)=$`)
)

func TestCircleCIJobsOnAFreshClone(t *testing.T) {
	if os.Getenv(RunEnv) == "" || os.Getenv(InsideEnv) != "" {
		t.Skipf("runs after the suite: `go run mage.go test` starts it (or set %s=1)", RunEnv)
	}
	testtools.Integration(t)
	root := testtools.RepoRoot(t)
	cfg, err := circleci.Load(filepath.Join(root, ".circleci", "config.yml"))
	if err != nil {
		t.Fatal(err)
	}
	registry := testtools.Registry(t) // the sandbox's registry, shared by push and deploy
	jobs := []circleci.Invocation{
		{Name: "test", Job: "test"},
		{Name: "push", Job: "push"},
		{Name: "deploy-staging", Job: "deploy", Params: map[string]string{"env": "staging", "role": "STAGING_DEPLOY_ROLE_ARN"}},
	}
	for _, inv := range jobs {
		ok := t.Run(inv.Name, func(t *testing.T) {
			steps, err := cfg.Steps(inv.Job, inv.Params)
			if err != nil {
				t.Fatal(err)
			}
			runJob(t, root, registry, steps)
		})
		if !ok {
			break // later jobs need the earlier ones, as in the workflow
		}
	}
}

// runJob runs a job's steps in order on a fresh copy of the repository,
// as CircleCI would on a new machine.
func runJob(t *testing.T, root, registry string, steps []circleci.Step) {
	tmp := t.TempDir()
	home := filepath.Join(tmp, "home")
	work := filepath.Join(home, "project")
	shims := filepath.Join(tmp, "shims")
	for _, d := range []string{home, shims, filepath.Join(home, ".local", "bin")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	testtools.Snapshot(t, root, work)
	t.Cleanup(func() { stopSandboxDatabases(t, work) })
	writeShim(t, shims)
	// What pip --user would have put in ~/.local/bin (this machine's pip
	// cannot reach PyPI): the Python tools, linked from where they are,
	// with the python3 that has them (and botocore's models).
	for _, tool := range []string{"moto_server", "aws", "python3"} {
		if p, err := exec.LookPath(tool); err == nil {
			_ = os.Symlink(p, filepath.Join(home, ".local", "bin", tool))
		}
	}
	bashEnv := filepath.Join(tmp, "bash_env")
	if err := os.WriteFile(bashEnv, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{
		"HOME=" + home,
		"USER=circleci",
		"PATH=" + strings.Join([]string{shims, home + "/bin", home + "/.local/bin", home + "/go/bin", "/usr/local/go/bin", securePath}, ":"),
		"BASH_ENV=" + bashEnv,
		"CI=true", "CIRCLECI=true", "CIRCLE_BRANCH=main", "CIRCLE_BUILD_NUM=1",
		"CIRCLE_BUILD_URL=https://circleci.invalid/gh/shop/app/1",
		"CIRCLE_OIDC_TOKEN_V2=stub-oidc-token",
		"STAGING_DEPLOY_ROLE_ARN=arn:aws:iam::123456789012:role/shop-staging-deploy",
		"PRODUCTION_DEPLOY_ROLE_ARN=arn:aws:iam::210987654321:role/shop-production-deploy",
		"TF_CLI_CONFIG_FILE=/dev/null",
		"SANDBOX_REGISTRY=" + registry,
		InsideEnv + "=1",
		// restore_cache of the module and build caches
		"GOMODCACHE=" + goEnv(t, "GOMODCACHE"), "GOCACHE=" + goEnv(t, "GOCACHE"),
		"GOTOOLCHAIN=local", "GOFLAGS=-buildvcs=false",
	}
	// The machine's network settings (proxies, CA bundles) are the
	// executor's, not the job's: they carry over, as does npm's config.
	for _, kv := range os.Environ() {
		if networkVar.MatchString(kv[:strings.IndexByte(kv, '=')+1]) {
			env = append(env, kv)
		}
	}
	if data, err := os.ReadFile(filepath.Join(os.Getenv("HOME"), ".npmrc")); err == nil {
		_ = os.WriteFile(filepath.Join(home, ".npmrc"), data, 0o600)
	}
	if p := os.Getenv("PYENV_ROOT"); p != "" {
		env = append(env, "PYENV_ROOT="+p)
	}
	for _, st := range steps {
		switch st.Kind {
		case "checkout":
			// the snapshot is the checkout
		case "restore_cache":
			// tools/bin (OpenTofu) is what the module cache's save_cache
			// keeps inside the work tree.
			if strings.Contains(strings.Join(st.Keys, " "), "go-mod") {
				copyTree(t, filepath.Join(root, "tools", "bin"), filepath.Join(work, "tools", "bin"))
			}
		case "run":
			command := realEnv.ReplaceAllString(st.Command, "-env=sandbox")
			start := time.Now()
			cmd := exec.Command("bash", "-eo", "pipefail", "-c", command)
			cmd.Dir, cmd.Env = work, env
			out, err := cmd.CombinedOutput()
			t.Logf("step %q (%s) took %s", st.Name, firstLine(command), time.Since(start).Round(time.Second))
			if err != nil {
				t.Fatalf("step %q failed: %v\n$ %s\n%s\n... failures:\n%s", st.Name, err, command, testtools.Tail(string(out), 40), failures(string(out)))
			}
		case "save_cache", "store_artifacts":
			// nothing to keep between simulated machines
		default:
			t.Fatalf("step kind %q is not simulated", st.Kind)
		}
	}
}

// writeShim puts a sudo on PATH that behaves as the images' sudo does for
// PATH: it resets it to secure_path (the commands run as this user).
func writeShim(t *testing.T, dir string) {
	t.Helper()
	script := "#!/bin/sh\n# sudo as configured on CircleCI's images, for PATH: secure_path.\nexec env PATH=" + securePath + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(dir, "sudo"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
}

func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	entries, err := os.ReadDir(src)
	if err != nil {
		return // nothing cached
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			copyTree(t, filepath.Join(src, e.Name()), filepath.Join(dst, e.Name()))
			continue
		}
		// a hard link is a copy the size of nothing; fall back to a symlink
		if err := os.Link(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
			if err := os.Symlink(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func goEnv(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " ..."
	}
	return s
}

// failures picks the lines that say what failed out of a long output.
func failures(s string) string {
	var keep []string
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.Contains(l, "--- FAIL") || strings.Contains(l, "_test.go:") {
			keep = append(keep, lines[i:min(i+3, len(lines))]...)
		}
	}
	if len(keep) > 80 {
		keep = keep[:80]
	}
	return strings.Join(keep, "\n")
}

// stopSandboxDatabases stops what a job's sandbox deploy started in the
// job's copy and keeps running for later commands (its MariaDB, which
// would hold the port for the next run), as sandbox:down does.
func stopSandboxDatabases(t *testing.T, work string) {
	cfg, err := config.Load(filepath.Join(work, "deploy.hcl"), func(string) string { return "" })
	if err == nil {
		err = sandbox.Down(cfg, false, io.Discard)
	}
	if err != nil {
		t.Logf("sandbox:down in %s: %v", work, err)
	}
}
