package release

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/railsecs/deploykit/mage/internal/procgroup"
	"github.com/railsecs/deploykit/mage/ledger"
)

// addHook commits an executable hook to the sandbox repository.
func (s *sandbox) addHook(t *testing.T, name, script string) {
	t.Helper()
	path := filepath.Join(HooksDir(s.d.Config), name)
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	gitIn(t, s.repo, "add", ".")
	gitIn(t, s.repo, "commit", "-qm", "hook "+name)
}

func TestHooks(t *testing.T) {
	s := newSandbox(t)
	ctx := context.Background()
	hookLog := filepath.Join(t.TempDir(), "hooks.log")
	t.Setenv("HOOK_LOG", hookLog)
	record := `echo "$(basename "$0") env=$DEPLOYKIT_ENV action=$DEPLOYKIT_ACTION tag=$DEPLOYKIT_TAG stage=$DEPLOYKIT_STAGE by=$DEPLOYKIT_PERFORMER result=$DEPLOYKIT_RESULT lock=$DEPLOYKIT_LOCK" >> "$HOOK_LOG"` + "\n"

	// A failing pre-build hook stops the deploy before anything changes.
	s.addHook(t, HookPreBuild, "echo checking the changelog\necho 'no CHANGELOG entry' >&2\nexit 3\n")
	s.addHook(t, HookOnFailure, record)
	_, err := s.d.Deploy(ctx, Options{Timeout: time.Minute})
	if err == nil || !strings.Contains(err.Error(), "hook pre-build") || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("deploy with a failing pre-build hook = %v", err)
	}
	if !strings.Contains(s.out.String(), "[pre-build] checking the changelog") || !strings.Contains(s.out.String(), "[pre-build] no CHANGELOG entry") {
		t.Errorf("the hook's output is not streamed with its prefix:\n%s", s.out)
	}
	if strings.Contains(s.out.String(), "=== images") || s.serviceTag(t, "web-app") != "" {
		t.Errorf("the deploy went on after the pre-build hook failed:\n%s", s.out)
	}
	if _, err := ledger.ReadLock(ctx, s.store); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("lock after the failed hook: %v", err)
	}
	log, _ := os.ReadFile(hookLog)
	if !strings.Contains(string(log), "on-failure env=sandbox action=deploy") || !strings.Contains(string(log), "stage=hook pre-build") || !strings.Contains(string(log), "result=failed") {
		t.Errorf("on-failure was not told what failed:\n%s", log)
	}

	// Passing hooks: each runs once, in order, told what runs and the lock.
	os.Remove(hookLog)
	gitIn(t, s.repo, "rm", "-q", filepath.Join(".deploykit", "hooks", HookPreBuild))
	gitIn(t, s.repo, "commit", "-qm", "drop the failing hook")
	for _, name := range []string{HookPreBuild, HookPreDeploy, HookPostDeploy, HookPostRollback} {
		s.addHook(t, name, record)
	}
	s.out.Reset()
	first, err := s.d.Deploy(ctx, Options{Timeout: time.Minute})
	if err != nil {
		t.Fatalf("deploy: %v\n%s", err, s.out)
	}
	s.commit(t, "examples/sandbox-app/app/release.txt", "2\n")
	if _, err := s.d.Deploy(ctx, Options{Timeout: time.Minute}); err != nil {
		t.Fatalf("second deploy: %v\n%s", err, s.out)
	}
	if _, err := s.d.Rollback(ctx, Options{Timeout: time.Minute}); err != nil {
		t.Fatalf("rollback: %v\n%s", err, s.out)
	}
	log, _ = os.ReadFile(hookLog)
	lines := strings.Split(strings.TrimSpace(string(log)), "\n")
	var order []string
	for _, l := range lines {
		order = append(order, strings.Fields(l)[0])
	}
	want := "pre-build pre-deploy post-deploy pre-build pre-deploy post-deploy pre-deploy post-rollback"
	if strings.Join(order, " ") != want {
		t.Errorf("hooks ran %q, want %q:\n%s", strings.Join(order, " "), want, log)
	}
	if !strings.Contains(lines[0], "tag="+first.Tag) || !strings.Contains(lines[0], "by=alice@laptop") || !strings.Contains(lines[0], "lock=sandbox/alice@laptop/") {
		t.Errorf("pre-build was not told the tag, performer and lock: %s", lines[0])
	}
	if !strings.Contains(lines[len(lines)-1], "action=rollback") || !strings.Contains(lines[len(lines)-1], "tag="+first.Tag) {
		t.Errorf("post-rollback: %s", lines[len(lines)-1])
	}

	// A target a hook runs inherits the lock through DEPLOYKIT_LOCK rather
	// than waiting for its own parent; a wrong token still waits.
	held := ledger.Lock{Env: "sandbox", Holder: "alice@laptop", Commit: first.Tag, Action: "deploy", Started: time.Now().UTC()}
	release, err := ledger.AcquireLock(ctx, s.store, held, 0, s.out)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	var locked *ledger.LockedError
	if _, err := s.d.Prune(ctx, s.ecs, PruneOptions{Keep: 5}); !errors.As(err, &locked) {
		t.Errorf("prune under another run's lock = %v, want ledger.LockedError", err)
	}
	s.env[LockEnv] = LockToken(held)
	defer delete(s.env, LockEnv)
	s.out.Reset()
	if _, err := s.d.Prune(ctx, s.ecs, PruneOptions{Keep: 5}); err != nil || !strings.Contains(s.out.String(), "held by the run whose hook started this one") {
		t.Errorf("prune from a hook of the lock's holder = %v\n%s", err, s.out)
	}
	if _, err := ledger.ReadLock(ctx, s.store); err != nil {
		t.Errorf("the child released its parent's lock: %v", err)
	}
}

// The plan summary of a real tofu plan shows what changes in a container
// besides its image; -diff (a dry run) stops there.
func TestPlanShowsDefinitionChanges(t *testing.T) {
	s := newSandbox(t)
	ctx := context.Background()
	if _, err := s.d.Deploy(ctx, Options{Timeout: time.Minute}); err != nil {
		t.Fatalf("deploy: %v\n%s", err, s.out)
	}
	mainTF := filepath.Join(s.repo, "terraform", "envs", "sandbox", "main.tf")
	src, _ := os.ReadFile(mainTF)
	changed := strings.Replace(string(src), `command     = ["bundle", "exec", "unicorn", "-c", "config/unicorn.rb", "-p", "8080"]
          environment = local.app_environment`,
		`command     = ["bundle", "exec", "unicorn", "-c", "config/unicorn.rb", "-p", "8080", "-N"]
          environment = concat(local.app_environment, [{ name = "WEB_CONCURRENCY", value = "3" }])`, 1)
	if changed == string(src) {
		t.Fatal("the sandbox's unicorn container definition moved; update this test")
	}
	s.commit(t, "terraform/envs/sandbox/main.tf", changed)
	s.out.Reset()
	if _, err := s.d.Deploy(ctx, Options{DryRun: true}); err != nil {
		t.Fatalf("deploy -diff: %v\n%s", err, s.out)
	}
	for _, want := range []string{
		`Container unicorn of terraform_data.task_definition["web_app"] changes besides its image:`,
		`+ command[7] = "-N"`, `+ environment.WEB_CONCURRENCY = "3"`,
		"dry run: stopping before the first change",
	} {
		if !strings.Contains(s.out.String(), want) {
			t.Errorf("the plan summary lacks %q:\n%s", want, s.out)
		}
	}
	if strings.Contains(s.out.String(), "Container nginx of") {
		t.Errorf("nginx did not change, yet it is listed:\n%s", s.out)
	}
}

// A pre-deploy hook that traps SIGTERM (and a child that ignores it) is
// stopped, group and all, within mage's 5 s of cleanup after Ctrl-C; a
// hook group left by a killed mage is stopped by the next repair.
func TestHookThatIgnoresSIGTERMIsStopped(t *testing.T) {
	s := newSandbox(t)
	ctx := context.Background()
	s.addHook(t, HookPreDeploy, "trap 'echo ignoring TERM' TERM\n(trap '' TERM; exec sleep 300) &\necho started\nwhile :; do sleep 1; done\n")
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { _, err := s.d.Deploy(cctx, Options{Timeout: time.Minute}); done <- err }()
	for deadline := time.Now().Add(3 * time.Minute); !strings.Contains(s.out.String(), "[pre-deploy] started"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("the hook never started:\n%s", s.out)
		}
	}
	j, err := ledger.ReadJournal(ctx, s.store)
	if err != nil || j.Hook != HookPreDeploy || j.HookGroup == 0 {
		t.Errorf("the journal while the hook runs: %+v, %v", j, err)
	}
	group := j.HookGroup
	start := time.Now()
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("deploy still running 5 s after Ctrl-C:\n%s", s.out)
	}
	if took := time.Since(start); took > 4500*time.Millisecond {
		t.Errorf("the interrupted deploy took %s to end: mage gives it 5 s", took)
	}
	if procgroup.Alive(group) {
		t.Errorf("the hook's process group %d survived Ctrl-C:\n%s", group, s.out)
	}
	if !strings.Contains(s.out.String(), "stopped what was left of hook pre-deploy") {
		t.Errorf("no word of the stopped hook:\n%s", s.out)
	}

	// What a killed mage leaves: a journal naming a hook group still running.
	hook := exec.Command("sh", "-c", "trap '' TERM; exec sleep 300")
	hook.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := hook.Start(); err != nil {
		t.Fatal(err)
	}
	go hook.Wait()
	t.Cleanup(func() { procgroup.Stop(hook.Process.Pid, 0) })
	host, _ := os.Hostname()
	left := ledger.Journal{Env: "sandbox", Action: "deploy", Holder: "alice@laptop", Host: host, PID: deadPID(t), Tag: "0123456789ab", Stage: ledger.StageLocked,
		Started: time.Now().UTC(), Hook: HookPreDeploy, HookGroup: hook.Process.Pid}
	data, _ := json.Marshal(left)
	if err := s.store.Put(ctx, ledger.JournalKey, data); err != nil {
		t.Fatal(err)
	}
	did, err := s.d.Repair(ctx, false)
	if err != nil || !strings.Contains(did, fmt.Sprintf("stopped its hook pre-deploy, still running (process group %d)", hook.Process.Pid)) {
		t.Errorf("repair = %q, %v", did, err)
	}
	if procgroup.Alive(hook.Process.Pid) {
		t.Error("the repair left the hook's group running")
	}
}
