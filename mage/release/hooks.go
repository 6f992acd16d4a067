package release

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/railsecs/deploykit/mage/config"
	"github.com/railsecs/deploykit/mage/ecs"
	"github.com/railsecs/deploykit/mage/internal/lineprefix"
	"github.com/railsecs/deploykit/mage/internal/procgroup"
	"github.com/railsecs/deploykit/mage/ledger"
)

// Hooks are executables in .deploykit/hooks/ next to deploy.hcl, run at
// fixed points of a release. A failing pre-* hook stops the release before
// it changes anything; post-* and on-failure hooks only warn.
const (
	HookPreBuild     = "pre-build"     // deploy: before images are built or pushed
	HookPreDeploy    = "pre-deploy"    // deploy, promote, rollback: before the migration and the apply
	HookPostDeploy   = "post-deploy"   // deploy, promote: after success
	HookPostRollback = "post-rollback" // rollback: after success
	HookOnFailure    = "on-failure"    // any release that failed (not one interrupted)
)

// HooksDir is where an app keeps its hooks (versioned with the app).
func HooksDir(cfg *config.Config) string { return cfg.LocalDir("hooks") }

// LockEnv carries the held lock's token to a hook's children, so a target
// a hook runs (mage migrate, mage prune) works under its parent's lock
// instead of waiting for it forever.
const LockEnv = "DEPLOYKIT_LOCK"

// LockToken identifies one holding of the lock.
func LockToken(l ledger.Lock) string {
	return l.Env + "/" + l.Holder + "/" + l.Started.UTC().Format(time.RFC3339Nano)
}

// takeLock acquires the lock, or inherits it when the environment names
// the lock a parent run holds (this run is one of its hooks' children).
func (d *Deployer) takeLock(ctx context.Context, lock ledger.Lock, wait time.Duration) (release func(), inherited bool, err error) {
	if tok := d.Getenv(LockEnv); tok != "" {
		held, err := ledger.ReadLock(ctx, d.Store)
		if err == nil && LockToken(*held) == tok {
			fmt.Fprintf(d.Out, "lock: held by the run whose hook started this one (%s of %s by %s)\n", held.Action, held.Commit, held.Holder)
			return func() {}, true, nil
		}
	}
	release, err = ledger.AcquireLock(ctx, d.Store, lock, wait, d.Out)
	return release, false, err
}

// hook finds the named hook: its path, and whether the app has one
// (anything there counts; runHook says what is wrong with it).
func (r *run) hook(name string) (string, bool) {
	path := filepath.Join(HooksDir(r.d.Config), name)
	_, err := os.Stat(path)
	return path, !errors.Is(err, fs.ErrNotExist)
}

// runHook runs the named hook when the app has one. DEPLOYKIT_* variables
// say what runs; its output is streamed with a prefix.
func (r *run) runHook(ctx context.Context, name string, extra ...string) error {
	d := r.d
	path, ok := r.hook(name)
	if !ok {
		return nil
	}
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("hook %s: %w", path, err)
	}
	if info.IsDir() || info.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("hook %s is not an executable file (chmod +x it, or remove it)", path)
	}
	if r.opts.DryRun {
		fmt.Fprintf(d.Out, "would run hook %s\n", path)
		return nil
	}
	fmt.Fprintf(d.Out, "==> hook %s\n", name)
	cmd := exec.CommandContext(ctx, path)
	cmd.Dir = d.Config.Dir
	cmd.Env = append(os.Environ(),
		"DEPLOYKIT_ENV="+d.Env.Name, "DEPLOYKIT_ACTION="+r.rec.Action, "DEPLOYKIT_COMMIT="+r.rec.Commit,
		"DEPLOYKIT_TAG="+r.rec.Tag, "DEPLOYKIT_PREVIOUS_TAG="+r.rec.Previous, "DEPLOYKIT_PERFORMER="+d.Who,
		"DEPLOYKIT_STAGE="+r.currentStage, LockEnv+"="+r.lockToken)
	cmd.Env = append(cmd.Env, extra...)
	// Its own process group: Ctrl-C reaches it through our context, once,
	// and whatever of it ignores SIGTERM is killed within mage's 5 s. The
	// journal names the group, so a repair can stop what a killed mage
	// could not.
	finish := procgroup.Configure(cmd)
	pw := lineprefix.New(d.Out, "["+name+"] ")
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("hook %s: %w", path, err)
	}
	r.journal.stage(ctx, r.journalStage(), func(j *ledger.Journal) { j.Hook, j.HookGroup = name, cmd.Process.Pid })
	err = cmd.Wait()
	if finish() {
		fmt.Fprintf(d.Out, "stopped what was left of hook %s (process group %d)\n", name, cmd.Process.Pid)
	}
	r.journal.stage(ctx, r.journalStage(), func(j *ledger.Journal) { j.Hook, j.HookGroup = "", 0 })
	pw.Flush()
	if err != nil {
		return fmt.Errorf("hook %s: %w", path, err)
	}
	return nil
}

// HookGate decides a rollout paused at a PAUSE lifecycle hook (the
// reference module's pause_before_traffic): exit 0 continues it, anything
// else rolls it back. It smoke-tests the new release through the test
// listener, which serves it while production still gets the old one.
const HookGate = "gate"

// gate is the wait's Gate when the app has a gate hook; nil leaves a
// paused rollout to a person (mage continue, mage abort).
func (r *run) gate() func(context.Context, ecs.Paused) error {
	if _, ok := r.hook(HookGate); !ok {
		return nil
	}
	return func(ctx context.Context, p ecs.Paused) error {
		return r.runHook(ctx, HookGate, "DEPLOYKIT_SERVICE="+p.Service, "DEPLOYKIT_LIFECYCLE_STAGE="+p.Stage,
			"DEPLOYKIT_SERVICE_DEPLOYMENT="+p.ServiceDeploymentArn, fmt.Sprintf("DEPLOYKIT_TEST_TRAFFIC_WEIGHT=%g", p.TestTrafficWeight))
	}
}

// preHook runs a pre-* hook as a stage of its own, only when it exists.
func (r *run) preHook(ctx context.Context, name string) error {
	if _, ok := r.hook(name); !ok {
		return nil
	}
	return r.stage("hook "+name, func() error { return r.runHook(ctx, name) })
}
