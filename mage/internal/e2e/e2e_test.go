// Package e2e drives the compiled magefile as a process, the way a person
// or CI does: signals to its process group, SIGKILL, stray arguments,
// queued deploys, corrupt locks, and checks the lock, the tfvars bytes, the
// release record and the report text each leaves behind.
package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/railsecs/deploykit/mage/internal/testtools"
)

var compiled struct {
	once sync.Once
	bin  string
	err  error
}

// magefile compiles the repository's magefile once per test binary.
func magefile(t *testing.T) string {
	t.Helper()
	root := testtools.RepoRoot(t)
	compiled.once.Do(func() {
		dir, err := os.MkdirTemp("", "deploykit-e2e-")
		if err != nil {
			compiled.err = err
			return
		}
		compiled.bin = filepath.Join(dir, "mage")
		cmd := exec.Command("go", "run", "mage.go", "-compile", compiled.bin)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			compiled.err = fmt.Errorf("compile the magefile: %v\n%s", err, out)
		}
	})
	if compiled.err != nil {
		t.Fatal(compiled.err)
	}
	return compiled.bin
}

type repo struct {
	t    *testing.T
	dir  string
	env  []string
	orig string // the tfvars as committed
}

func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// newRepo lays out a repository like this one with the sandbox in git, a
// real docker-registry, buildah and a terraform that is tofu behind a
// wrapper: before an apply it waits DEPLOYKIT_TEST_APPLY_DELAY seconds,
// and on SIGINT it takes 2 s (DEPLOYKIT_TEST_SHUTDOWN_DELAY) to shut
// down, as a real apply can.
func newRepo(t *testing.T) *repo {
	t.Helper()
	testtools.Integration(t)
	for _, tool := range []string{"buildah", "docker-registry", "curl"} {
		testtools.Need(t, tool)
	}
	root := testtools.RepoRoot(t)
	dir := t.TempDir()
	testtools.CopyTree(t, filepath.Join(root, "terraform", "envs", "sandbox"), filepath.Join(dir, "terraform", "envs", "sandbox"))
	testtools.CopyTree(t, filepath.Join(root, "terraform", "envs", "sandbox-production"), filepath.Join(dir, "terraform", "envs", "sandbox-production"))
	testtools.StandInSandbox(t, dir)
	for _, f := range []string{".gitignore"} {
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, f), data, 0o644)
	}
	git(t, dir, "init", "-q", "-b", "main")
	git(t, dir, "-c", "user.name=dev", "-c", "user.email=dev@example.com", "add", ".")
	git(t, dir, "-c", "user.name=dev", "-c", "user.email=dev@example.com", "commit", "-qm", "sandbox")

	wrapper := filepath.Join(t.TempDir(), "slow-terraform")
	script := fmt.Sprintf(`#!/bin/sh
case "$1" in
  apply)
    sleep "${DEPLOYKIT_TEST_APPLY_DELAY:-0}" &
    pid=$!
    trap 'kill $pid 2>/dev/null; echo "wrapper: interrupted, shutting down slowly" >&2; sleep "${DEPLOYKIT_TEST_SHUTDOWN_DELAY:-2}"; exit 130' INT
    # Announced only once the trap is set: a test that interrupts on this
    # line must not find a wrapper that dies of the default SIGINT.
    echo "wrapper: apply starting slowly" >&2
    wait $pid
    trap - INT
    ;;
esac
exec %q "$@"
`, testtools.Tofu(t))
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = exec.Command("pkill", "-f", wrapper).Run() })
	env := append(os.Environ(),
		"SANDBOX_REGISTRY="+testtools.Registry(t),
		"SANDBOX_PRODUCTION_REGISTRY="+testtools.Registry(t),
		"DEPLOYKIT_TERRAFORM="+wrapper,
		"TF_CLI_CONFIG_FILE=/dev/null",
		"CIRCLE_BRANCH=main",
		"USER=alice",
		"CIRCLE_BUILD_URL=", // who is alice@host here, also inside the CircleCI simulation
		"DEPLOYKIT_SANDBOX_TIMING=fast",
		"CI=true",
	)
	r := &repo{t: t, dir: dir, env: env}
	r.orig = r.tfvars()
	return r
}

type proc struct {
	cmd  *exec.Cmd
	out  *testtools.Buffer
	done chan struct{}
	code int
}

// start runs the compiled magefile in its own process group, as a shell
// runs a foreground job.
func (r *repo) start(extraEnv []string, args ...string) *proc {
	r.t.Helper()
	cmd := exec.Command(magefile(r.t), args...)
	cmd.Dir = r.dir
	cmd.Env = append(append([]string{}, r.env...), extraEnv...)
	out := &testtools.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// terraform runs in its own process group and may outlive a killed
	// mage holding the output pipe: do not wait for it.
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	p := &proc{cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		p.code = 0
		if ee, ok := err.(*exec.ExitError); ok {
			p.code = ee.ExitCode()
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				p.code = 128 + int(ws.Signal())
			}
		}
		close(p.done)
	}()
	r.t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	})
	return p
}

// buildAndApplyWithin bounds the wait for a milestone that follows the image
// builds: alone they take a minute, but CI runs this package beside the
// zero-downtime probe and the release tests, and one run there needed more
// than two minutes. The wait ends as soon as the line appears.
const buildAndApplyWithin = 8 * time.Minute

func (p *proc) waitFor(t *testing.T, text string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !strings.Contains(p.out.String(), text) {
		select {
		case <-p.done:
			t.Fatalf("exited (%d) before printing %q:\n%s", p.code, text, p.out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q within %s:\n%s", text, within, p.out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// signal sends sig to the process group, as a terminal's Ctrl-C does.
func (p *proc) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := syscall.Kill(-p.cmd.Process.Pid, sig); err != nil {
		t.Fatal(err)
	}
}

func (p *proc) wait(t *testing.T, within time.Duration) (int, string) {
	// (see WaitDelay in start: a killed mage's terraform may keep its pipe)
	t.Helper()
	select {
	case <-p.done:
		return p.code, p.out.String()
	case <-time.After(within):
		t.Fatalf("still running after %s:\n%s", within, p.out)
	}
	return 0, ""
}

// run runs a target to its end; a deploy builds, so it gets as long as
// a build may take under CI load.
func (r *repo) run(extraEnv []string, args ...string) (int, string) {
	r.t.Helper()
	return r.start(extraEnv, args...).wait(r.t, buildAndApplyWithin)
}

func (r *repo) tfvars() string {
	data, err := os.ReadFile(filepath.Join(r.dir, "terraform", "envs", "sandbox", "images.auto.tfvars"))
	if err != nil {
		r.t.Fatal(err)
	}
	return string(data)
}

func (r *repo) store(name string) string {
	return filepath.Join(r.dir, ".deploykit", "sandbox", "store", name)
}

func (r *repo) exists(name string) bool {
	_, err := os.Stat(r.store(name))
	return err == nil
}

// releases reads the recorded releases, newest first.
func (r *repo) releases() []map[string]any {
	files, _ := filepath.Glob(r.store("releases/*.json"))
	sort.Sort(sort.Reverse(sort.StringSlice(files)))
	var recs []map[string]any
	for _, f := range files {
		data, _ := os.ReadFile(f)
		var rec map[string]any
		if json.Unmarshal(data, &rec) == nil {
			recs = append(recs, rec)
		}
	}
	return recs
}

func (r *repo) head() string {
	out, err := exec.Command("git", "-C", r.dir, "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		r.t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

func (r *repo) assertClean(when string) {
	r.t.Helper()
	if r.exists("lock.json") {
		r.t.Errorf("%s: the lock is still held", when)
	}
	if r.exists("journal.json") {
		r.t.Errorf("%s: the journal is still there", when)
	}
}

func TestStrayWordIsRefusedBeforeAnyWork(t *testing.T) {
	r := newRepo(t)
	code, out := r.run(nil, "deploy", "staging")
	if code == 0 || !strings.Contains(out, `unexpected argument "staging"`) || !strings.Contains(out, "-env=staging") {
		t.Fatalf("deploy staging: exit %d\n%s", code, out)
	}
	if strings.Contains(out, "=== preflight") || len(r.releases()) != 0 || r.exists("lock.json") {
		t.Errorf("work started before the refusal:\n%s", out)
	}
}

func TestSIGTERMDuringApplyCleansUp(t *testing.T) {
	r := newRepo(t)
	p := r.start([]string{"DEPLOYKIT_TEST_APPLY_DELAY=30"}, "deploy")
	p.waitFor(t, "wrapper: apply starting slowly", buildAndApplyWithin)
	p.signal(t, syscall.SIGTERM)
	code, out := p.wait(t, time.Minute)
	if code == 0 || !strings.Contains(out, "interrupted at apply") || !strings.Contains(out, "terraform applied nothing") ||
		!strings.Contains(out, "restored (nothing was applied)") {
		t.Fatalf("SIGTERM during apply: exit %d\n%s", code, out)
	}
	if r.tfvars() != r.orig {
		t.Errorf("tfvars after SIGTERM:\n%s", r.tfvars())
	}
	r.assertClean("after SIGTERM")
	if recs := r.releases(); len(recs) != 1 || recs[0]["result"] != "interrupted" {
		t.Errorf("releases after SIGTERM = %v", recs)
	}
	if !strings.Contains(out, "wrapper: interrupted, shutting down slowly") {
		t.Errorf("terraform was not given its graceful shutdown:\n%s", out)
	}
}

// SIGKILL (or a second Ctrl-C, which makes mage exit at once) leaves the
// journal; the next command repairs from it.
func TestKilledDeployIsRepairedByTheNextCommand(t *testing.T) {
	for _, tc := range []struct {
		name string
		kill func(t *testing.T, p *proc)
	}{
		{"SIGKILL", func(t *testing.T, p *proc) { p.signal(t, syscall.SIGKILL) }},
		{"second Ctrl-C", func(t *testing.T, p *proc) {
			p.signal(t, syscall.SIGINT)
			time.Sleep(300 * time.Millisecond)
			p.signal(t, syscall.SIGINT)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRepo(t)
			p := r.start([]string{"DEPLOYKIT_TEST_APPLY_DELAY=60"}, "deploy")
			p.waitFor(t, "wrapper: apply starting slowly", buildAndApplyWithin)
			tc.kill(t, p)
			p.wait(t, 30*time.Second)
			_ = exec.Command("pkill", "-f", "slow-terraform").Run() // the orphaned apply
			if !r.exists("lock.json") || !r.exists("journal.json") || r.tfvars() == r.orig {
				t.Fatalf("after %s: lock %v, journal %v, tfvars changed %v", tc.name, r.exists("lock.json"), r.exists("journal.json"), r.tfvars() != r.orig)
			}
			code, out := r.run(nil, "lock:status")
			if code != 0 || !strings.Contains(out, "repaired alice@") || !strings.Contains(out, `stage "applying"`) ||
				!strings.Contains(out, "restored to what it was before") || !strings.Contains(out, "released its lock") {
				t.Fatalf("lock:status after %s: exit %d\n%s", tc.name, code, out)
			}
			if r.tfvars() != r.orig {
				t.Errorf("tfvars not restored:\n%s", r.tfvars())
			}
			r.assertClean("after the repair")
			if recs := r.releases(); len(recs) != 1 || recs[0]["result"] != "interrupted" {
				t.Errorf("releases after the repair = %v", recs)
			}
			if code, out := r.run(nil, "deploy"); code != 0 {
				t.Errorf("deploy after the repair: exit %d\n%s", code, out)
			}
		})
	}
}

// After a rollout-wait timeout the report says what runs and the tfvars
// keep what terraform applied, so the next deploy's plan is clean.
func TestRolloutTimeoutKeepsTheTruth(t *testing.T) {
	r := newRepo(t)
	if code, out := r.run(nil, "deploy"); code != 0 {
		t.Fatalf("first deploy: exit %d\n%s", code, out)
	}
	os.WriteFile(filepath.Join(r.dir, "examples", "sandbox-app", "app", "models", "order.rb"), []byte("class Order; end\n"), 0o644)
	git(t, r.dir, "-c", "user.name=dev", "-c", "user.email=dev@example.com", "commit", "-qam", "change")
	code, out := r.run(nil, "deploy", "-timeout=1ns")
	tag := r.head()
	if code == 0 || !strings.Contains(out, "terraform applied "+tag) || !strings.Contains(out, "keeps "+tag+", which terraform applied") {
		t.Fatalf("deploy -timeout=1ns: exit %d\n%s", code, out)
	}
	if !strings.Contains(r.tfvars(), tag) {
		t.Errorf("tfvars lost the applied tag:\n%s", r.tfvars())
	}
	r.assertClean("after the timeout")
	code, out = r.run(nil, "deploy")
	if code != 0 || strings.Contains(out, "refusing a plan") {
		t.Fatalf("the next deploy: exit %d\n%s", code, out)
	}
	plans, _ := filepath.Glob(filepath.Join(r.dir, ".deploykit", "sandbox", "*.tfplan"))
	if len(plans) > 1 {
		t.Errorf("saved plans pile up: %v", plans)
	}
}

// A failing migration on the first deploy (it runs after the apply, since
// the task definition does not exist before): SANDBOX_FAIL reaches the
// task, and the report says the apply happened and how the task ended.
func TestFailedFirstMigrationSaysWhatRuns(t *testing.T) {
	r := newRepo(t)
	code, out := r.run([]string{"SANDBOX_FAIL=1"}, "deploy")
	tag := r.head()
	if code == 0 || !strings.Contains(out, "Table 'orders' already exists") || !strings.Contains(out, "ran and exited 1") ||
		!strings.Contains(out, "terraform applied "+tag) || !strings.Contains(out, "web-app runs shop-sandbox-web-app:1 (nginx="+tag) {
		t.Fatalf("deploy with SANDBOX_FAIL=1: exit %d\n%s", code, out)
	}
	r.assertClean("after the failed migration")
	if recs := r.releases(); len(recs) != 1 || recs[0]["result"] != "failed" || recs[0]["migration_task"] == nil {
		t.Errorf("releases = %v", recs)
	}
}

// A deploy queued with -lockwait reads the sandbox's state once it holds
// the lock, so it sees what the first one did.
func TestQueuedDeployReadsStateUnderTheLock(t *testing.T) {
	r := newRepo(t)
	first := r.start([]string{"DEPLOYKIT_TEST_APPLY_DELAY=3"}, "deploy")
	first.waitFor(t, "lock: taken", buildAndApplyWithin)
	// The first deploy builds its images under the lock: as long as it
	// takes on a loaded CI machine, the queued one waits.
	queued := r.start(nil, "deploy", "-lockwait=10m")
	if code, out := first.wait(t, buildAndApplyWithin); code != 0 {
		t.Fatalf("first deploy: exit %d\n%s", code, out)
	}
	if code, out := queued.wait(t, buildAndApplyWithin); code != 0 || !strings.Contains(out, "waiting up to") {
		t.Fatalf("queued deploy: exit %d\n%s", code, out)
	}
	code, out := r.run(nil, "status")
	if code != 0 || !strings.Contains(out, "unicorn="+r.head()) {
		t.Fatalf("status after both: exit %d\n%s", code, out)
	}
	if code, out := r.run(nil, "deploy"); code != 0 {
		t.Errorf("a third deploy of the commit: exit %d\n%s", code, out)
	}
}

func TestCorruptLockIsShownAndRemovable(t *testing.T) {
	r := newRepo(t)
	os.MkdirAll(filepath.Dir(r.store("lock.json")), 0o755)
	os.WriteFile(r.store("lock.json"), []byte(`{"env":"sandbox","hol`), 0o644)
	code, out := r.run(nil, "lock:status")
	if code == 0 || !strings.Contains(out, "is corrupt") || !strings.Contains(out, `{\"env\":\"sandbox\",\"hol`) || !strings.Contains(out, "lock:release -force") {
		t.Fatalf("lock:status on a corrupt lock: exit %d\n%s", code, out)
	}
	if code, out := r.run(nil, "deploy"); code == 0 || !strings.Contains(out, "is corrupt") {
		t.Fatalf("deploy over a corrupt lock: exit %d\n%s", code, out)
	}
	if code, out := r.run(nil, "lock:release", "-force"); code != 0 {
		t.Fatalf("lock:release -force: exit %d\n%s", code, out)
	}
	r.assertClean("after lock:release -force")
}

// Build once, promote by digest: the second environment gets the first
// one's exact images, in its own registry and task definitions, and
// builds nothing.
func TestPromoteDeploysTheSameDigests(t *testing.T) {
	r := newRepo(t)
	if code, out := r.run(nil, "deploy"); code != 0 {
		t.Fatalf("deploy to sandbox: exit %d\n%s", code, out)
	}
	code, out := r.run(nil, "promote", "-from=sandbox", "-env=sandbox-production", "-commit=HEAD")
	tag := r.head()
	if code != 0 || !strings.Contains(out, "nothing built for sandbox-production") || strings.Contains(out, "STEP") {
		t.Fatalf("promote: exit %d\n%s", code, out)
	}
	recs := r.releases() // the sandbox's
	if len(recs) != 1 {
		t.Fatalf("sandbox releases = %v", recs)
	}
	sandboxImages := recs[0]["images"].(map[string]any)
	state, err := os.ReadFile(filepath.Join(r.dir, ".deploykit", "sandbox-production", "aws-double.json"))
	if err != nil {
		t.Fatal(err)
	}
	for name, ref := range sandboxImages {
		digest := ref.(string)[strings.Index(ref.(string), "@")+1:]
		if !strings.Contains(out, name+": ") || !strings.Contains(out, "(same digest "+digest+")") {
			t.Errorf("%s: the copy of %s is not reported with its digest:\n%s", name, digest, out)
		}
		if !strings.Contains(string(state), ":"+tag+"@"+digest) {
			t.Errorf("%s: sandbox-production's task definitions do not run %s@%s", name, tag, digest)
		}
	}
	if !strings.Contains(out, "promoting sandbox's release of this checkout's commit "+tag) {
		t.Errorf("promote -commit=HEAD does not say which commit it promotes:\n%s", out)
	}
	// A deploy to sandbox-production (promote_from = "sandbox") promotes too.
	if code, out := r.run(nil, "deploy", "-env=sandbox-production"); code != 0 || !strings.Contains(out, "promoting sandbox's release "+tag) {
		t.Errorf("deploy -env=sandbox-production: exit %d\n%s", code, out)
	}
	// A pipeline whose commit the source never ran successfully promotes
	// nothing, rather than the source's newest release.
	os.WriteFile(filepath.Join(r.dir, "examples", "sandbox-app", "app", "models", "order.rb"), []byte("class Order; REV = 3; end\n"), 0o644)
	git(t, r.dir, "-c", "user.name=dev", "-c", "user.email=dev@example.com", "commit", "-qam", "not deployed to sandbox")
	code, out = r.run(nil, "promote", "-from=sandbox", "-env=sandbox-production", "-commit=HEAD")
	if code == 0 || !strings.Contains(out, "no successful release of sandbox matches") {
		t.Errorf("promote -commit=HEAD of a commit sandbox never ran: exit %d\n%s", code, out)
	}
}

// The operator's targets on a deployed sandbox: logs of a service's
// containers, and exec/console through ECS Exec (the sandbox's session
// runs the command in the container's image with buildah).
func TestOperatorTargetsInTheSandbox(t *testing.T) {
	r := newRepo(t)
	if code, out := r.run(nil, "deploy"); code != 0 {
		t.Fatalf("deploy: exit %d\n%s", code, out)
	}
	code, out := r.run(nil, "logs", "-service=web-app", "-since=1h")
	if code != 0 || !strings.Contains(out, " nginx | nginx: GET /up 200") || !strings.Contains(out, " unicorn | unicorn: GET /up 200") {
		t.Errorf("logs: exit %d\n%s", code, out)
	}
	// Any health check line: the double keeps a container's newest 500,
	// so on a slow machine the first ones are gone by now.
	code, out = r.run(nil, "logs", "-service=web-app", "-container=unicorn", "-grep=check [0-9]+\\)$")
	if code != 0 || strings.Contains(out, "nginx |") || !regexp.MustCompile(`unicorn \| unicorn: GET /up 200 \(health check [0-9]+\)`).MatchString(out) {
		t.Errorf("logs -container -grep: exit %d\n%s", code, out)
	}
	code, out = r.run(nil, "console")
	if code != 0 || !strings.Contains(out, `exec: "bin/rails console" in unicorn of task`) || !strings.Contains(out, "bin/rails console") {
		t.Errorf("console: exit %d\n%s", code, out)
	}
	code, out = r.run(nil, "exec", "bin/rails runner Report.send", "-service=sidekiq")
	if code != 0 || !strings.Contains(out, "in sidekiq of task") || !strings.Contains(out, "runner: Report.send") {
		t.Errorf("exec: exit %d\n%s", code, out)
	}
	// docs/targets.md's example: the SSM agent splits it with shlex, so Ruby
	// gets 'p User.count' as one argument.
	code, out = r.run(nil, "exec", "bin/rails runner 'p User.count'", "-service=sidekiq")
	if code != 0 || !strings.Contains(out, "runner: p User.count\n") {
		t.Errorf("exec with a quoted argument: exit %d\n%s", code, out)
	}
	code, out = r.run(nil, "exec", "ls", "-service=web-app", "-container=postgres")
	if code == 0 || !strings.Contains(out, `no container "postgres"`) {
		t.Errorf("exec in a container the task lacks: exit %d\n%s", code, out)
	}
	code, out = r.run(nil, "exec", "-service=sidekiq", "ls")
	if code == 0 || !strings.Contains(out, "flags go after the command") {
		t.Errorf("exec with a flag where the command goes: exit %d\n%s", code, out)
	}
}

// mage SIGKILLed while its migration runs (the OOM killer, a lost CI
// machine): in the sandbox the task dies with it, so the next command
// finds it STOPPED, killed, says so, releases the lock, and no working
// container is left. (On ECS the task goes on running: the repair then
// keeps the lock; mage/release's TestMigrationOutlivingAKilledDeployKeepsTheLock.)
func TestKilledDuringMigrationLeavesNoTask(t *testing.T) {
	r := newRepo(t)
	if code, out := r.run(nil, "deploy"); code != 0 {
		t.Fatalf("first deploy: exit %d\n%s", code, out)
	}
	os.WriteFile(filepath.Join(r.dir, "examples", "sandbox-app", "db", "migrate", "20261204000000_slow.rb"), []byte("class Slow < ActiveRecord::Migration[6.1]; end\n"), 0o644)
	git(t, r.dir, "-c", "user.name=dev", "-c", "user.email=dev@example.com", "add", ".")
	git(t, r.dir, "-c", "user.name=dev", "-c", "user.email=dev@example.com", "commit", "-qm", "slow migration")
	p := r.start([]string{"SANDBOX_MIGRATE_SECONDS=120"}, "deploy")
	// buildah's chroot run passes the task's output on only when it exits:
	// wait for the task itself.
	p.waitFor(t, "started task", buildAndApplyWithin)
	running := func() bool {
		return exec.Command("pgrep", "-f", "SANDBOX_MIGRATE_SECONDS=120 deploykit-task").Run() == nil
	}
	for deadline := time.Now().Add(time.Minute); !running(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the migration never ran:\n%s", p.out)
		}
	}
	killed := p.cmd.Process.Pid
	if err := p.cmd.Process.Kill(); err != nil { // mage alone, not its group
		t.Fatal(err)
	}
	p.wait(t, 30*time.Second)
	if !r.exists("journal.json") || !r.exists("lock.json") {
		t.Fatalf("SIGKILL left no journal or lock:\n%s", p.out)
	}
	for deadline := time.Now().Add(10 * time.Second); running(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the migration's buildah run outlived the mage that started it")
		}
	}
	code, out := r.run(nil, "lock:status")
	if code != 0 || !strings.Contains(out, "has stopped") || !strings.Contains(out, "exited with status 137") || !strings.Contains(out, "released its lock") {
		t.Fatalf("lock:status after SIGKILL mid-migration: exit %d\n%s", code, out)
	}
	r.assertClean("after the repair")
	code, out = r.run(nil, "status")
	if code != 0 || strings.Contains(out, "migration task") {
		t.Errorf("status after the repair shows a live migration: exit %d\n%s", code, out)
	}
	if containers, err := exec.Command("buildah", "containers", "--format", "{{.ContainerName}}").Output(); err != nil ||
		strings.Contains(string(containers), fmt.Sprintf("deploykit-task-%d-", killed)) {
		t.Errorf("a working container of the killed run is left (%v):\n%s", err, containers)
	}
	if recs := r.releases(); len(recs) != 2 || recs[0]["result"] != "interrupted" || recs[0]["migration_task"] == nil {
		t.Errorf("releases after the repair = %v", recs)
	}
}

// Ctrl-C while an apply takes longer to stop than mage's 5 s: before mage
// gives up ("cleanup timeout exceeded"), our own lines say what is left
// and that the next command repairs it; and it does.
func TestCleanupTimeoutSaysWhatIsLeft(t *testing.T) {
	r := newRepo(t)
	p := r.start([]string{"DEPLOYKIT_TEST_APPLY_DELAY=60", "DEPLOYKIT_TEST_SHUTDOWN_DELAY=15"}, "deploy")
	p.waitFor(t, "wrapper: apply starting slowly", buildAndApplyWithin)
	p.signal(t, syscall.SIGINT)
	code, out := p.wait(t, 30*time.Second)
	_ = exec.Command("pkill", "-f", "slow-terraform").Run()
	t.Logf("what Ctrl-C printed:\n%s", out[max(0, len(out)-1500):])
	notice := strings.Index(out, "still cleaning up; mage stops waiting at 5 s. If it stops now it leaves the lock of sandbox (held by alice@")
	if code == 0 || notice < 0 || !strings.Contains(out[notice:], `the deploy journal at stage "applying"`) ||
		!strings.Contains(out[notice:], "the next mage command for sandbox repairs from them") {
		t.Fatalf("Ctrl-C with a slow apply shutdown: exit %d\n%s", code, out)
	}
	if timeout := strings.Index(out, "cleanup timeout exceeded"); timeout >= 0 && timeout < notice {
		t.Errorf("mage gave up before our notice:\n%s", out)
	}
	code, out = r.run(nil, "lock:status")
	if code != 0 || !strings.Contains(out, "repaired alice@") || !strings.Contains(out, "released its lock") {
		t.Fatalf("the next command: exit %d\n%s", code, out)
	}
	r.assertClean("after the repair")
}

// The read-only targets and prune need neither terraform nor a deployer:
// with no terraform or tofu on PATH (and none to build) they still work.
func TestReadOnlyTargetsNeedNoTerraform(t *testing.T) {
	r := newRepo(t)
	if code, out := r.run(nil, "deploy"); code != 0 {
		t.Fatalf("deploy: exit %d\n%s", code, out)
	}
	// This PATH without every directory that holds terraform or tofu (the
	// rest stays: python3 and the aws CLI give the double botocore's models).
	var dirs []string
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		_, tf := os.Stat(filepath.Join(dir, "terraform"))
		_, tofu := os.Stat(filepath.Join(dir, "tofu"))
		if tf != nil && tofu != nil {
			dirs = append(dirs, dir)
		}
	}
	noTerraform := []string{"PATH=" + strings.Join(dirs, string(filepath.ListSeparator)), "DEPLOYKIT_TERRAFORM=", "DEPLOYKIT_TOFU="}
	for _, args := range [][]string{{"releases"}, {"status"}, {"lock:status"}, {"lock:release"}, {"prune", "-dryrun"}} {
		code, out := r.run(noTerraform, args...)
		if code != 0 || strings.Contains(out, "OpenTofu") || strings.Contains(out, "neither terraform nor tofu") {
			t.Errorf("%v without terraform: exit %d\n%s", args, code, out)
		}
		if args[0] == "status" && !strings.Contains(out, "last release: deploy of "+r.head()+" succeeded") {
			t.Errorf("status without terraform lacks the last release:\n%s", out)
		}
		if args[0] == "releases" && !strings.Contains(out, r.head()) {
			t.Errorf("releases without terraform lacks the release:\n%s", out)
		}
	}
}
