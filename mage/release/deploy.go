package release

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/railsecs/deploykit/mage/appscan"
	"github.com/railsecs/deploykit/mage/config"
	"github.com/railsecs/deploykit/mage/ecs"
	"github.com/railsecs/deploykit/mage/git"
	"github.com/railsecs/deploykit/mage/image"
	"github.com/railsecs/deploykit/mage/imageref"
	"github.com/railsecs/deploykit/mage/ledger"
	"github.com/railsecs/deploykit/mage/verify"
)

// Deployer runs deploys and rollbacks of one environment.
type Deployer struct {
	Config *config.Config
	Env    *config.Environment
	// WS is the terraform workspace: nil for what never plans or applies
	// (the ledger's readers, the repair, prune).
	WS       *Workspace
	ECS      ecs.API
	Logs     ecs.LogsAPI
	ECR      image.ECRAPI
	Store    ledger.Store
	Out      io.Writer
	Getenv   func(string) string
	Terminal bool
	// Who names the person or CI job; From where it ran.
	Who, From string
	// OnLocked runs right after the lock is taken (the sandbox reloads its
	// double's state there).
	OnLocked func(ctx context.Context) error

	left leftovers
}

// Options for Deploy and Rollback.
type Options struct {
	Dirty   bool
	DryRun  bool
	Force   bool          // override the plan's image guard
	Migrate string        // auto, always, never
	Timeout time.Duration // for the rollout wait
	// Poll is how often the rollout wait reads ECS (0: every 2 s).
	Poll time.Duration
	// Wait is when the rollout counts as done: "deployed" (default: our
	// deployment COMPLETED), "stable" (also nothing else left running) or
	// "none" (do not wait: the services are still rolling out on return).
	Wait     string
	LockWait time.Duration
	JSONFile string
	Target   string // rollback: commit or tag to return to ("" = previous)
}

// WaitNone is Options.Wait for "return once the apply is done".
const WaitNone = "none"

// stage timings for the table at the end.
type timing struct {
	name string
	took time.Duration
}

type run struct {
	d       *Deployer
	opts    Options
	rec     ledger.Record
	timings []timing
	// migrationErr is how the migration task this run started
	// (rec.MigrationTask) ended: applied DDL stays applied whatever
	// happens after.
	migrationErr error
	releaseLock  func()
	// the files a deploy rewrites, as they were before it
	tfvars, schedules *fileBackup
	// journal records each stage in the store, for repair after a crash
	journal *journal
	// pins are the tfvars values by image: "tag@sha256:..." once the
	// digest is known, so a moved tag can never change what runs.
	pins map[string]imageref.Pin
	// keep: images a rollback leaves as they are live ("tag@sha256:...").
	keep map[string]imageref.Pin
	// returnedInFlight: StopServiceDeployment is returning the services
	// to this rollback's release, which the tfvars now name.
	returnedInFlight bool
	// currentStage and lockToken are what hooks are told.
	currentStage string
	lockToken    string
}

// pin records an image's reference (with its digest) for the tfvars.
func (r *run) pin(name, pinnedRef string) {
	ref, err := imageref.ParseRef(pinnedRef)
	if err != nil || ref.Tag == "" || ref.Digest == "" {
		return
	}
	if r.pins == nil {
		r.pins = map[string]imageref.Pin{}
	}
	r.pins[name] = ref.Pin()
}

// pinnedDigests are the digests pinned for the images tagged tag.
func (r *run) pinnedDigests(tag string) []string {
	var out []string
	for name := range r.pins {
		if p := r.pinFor(name, tag); p.Tag == tag && p.Digest != "" {
			out = append(out, p.Digest)
		}
	}
	return out
}

// pinFor is what the tfvars (and the migration task) get for an image.
func (r *run) pinFor(name, tag string) imageref.Pin {
	if p, ok := r.keep[name]; ok {
		return p // a rollback keeps this image as it is live
	}
	if p, ok := r.pins[name]; ok && p.Tag == tag {
		return p
	}
	return imageref.Pin{Tag: tag}
}

func (r *run) stage(name string, f func() error) error {
	fmt.Fprintf(r.d.Out, "\n=== %s\n", name)
	r.currentStage = name
	start := time.Now()
	err := f()
	r.timings = append(r.timings, timing{name, time.Since(start)})
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

func (d *Deployer) newRun(action string, opts Options) *run {
	return &run{d: d, opts: opts, rec: ledger.Record{Env: d.Env.Name, Action: action, Who: d.Who, From: d.From, Started: time.Now().UTC(), Images: map[string]string{}}}
}

// Deploy takes the current commit to the environment.
func (d *Deployer) Deploy(ctx context.Context, opts Options) (ledger.Record, error) {
	r := d.newRun("deploy", opts)
	return r.finish(ctx, r.deploy(ctx))
}

func (r *run) deploy(ctx context.Context) error {
	d, opts := r.d, r.opts
	var commit git.Commit
	var history []ledger.Record
	if err := r.stage("preflight", func() error {
		var err error
		commit, err = CurrentCommit(ctx, d.Config, opts.Dirty)
		if err != nil {
			return err
		}
		r.rec.Commit, r.rec.Tag = commit.SHA, commit.Tag
		fmt.Fprintf(d.Out, "deploying %s (tag %s) to %s as %s\n", commit.SHA, commit.Tag, d.Env.Name, d.Who)
		if history, err = r.history(ctx); err != nil {
			return err
		}
		return r.lock(ctx, "deploy", commit.Tag)
	}); err != nil {
		return err
	}
	notify(ctx, d, fmt.Sprintf("%s started deploying %s to %s", d.Who, commit.Tag, d.Env.Name))
	if err := r.preHook(ctx, HookPreBuild); err != nil {
		return err
	}

	if err := r.stage("images", func() error {
		var live map[string]string
		if last := ledger.LastSucceeded(history); last != nil {
			live = last.Images
		}
		imgs, err := EnsureImages(ctx, d.Config, ImageOptions{Env: d.Env, Commit: commit, DryRun: opts.DryRun, Getenv: d.Getenv, Out: d.Out, ECR: d.ECR, Live: live})
		if err != nil {
			return err
		}
		for _, res := range imgs.Results {
			r.rec.Images[res.Name] = res.Pinned()
			r.pin(res.Name, res.Pinned())
		}
		return nil
	}); err != nil {
		return err
	}

	return r.migrateAndSwitch(ctx, history, commit)
}

// migrateAndSwitch is the part every release shares once its images are
// in the environment's registry: the migration (before or after), the
// tfvars, plan, apply and the rollout wait.
func (r *run) migrateAndSwitch(ctx context.Context, history []ledger.Record, commit git.Commit) error {
	d := r.d
	if err := r.preHook(ctx, HookPreDeploy); err != nil {
		return err
	}
	runMigration, why := r.migrationGate(ctx, history, commit)
	order := ""
	if d.Env.Migrate != nil {
		order = d.Env.Migrate.Order // before (default) or after the apply
	}
	if order == "" {
		order = "before"
	}
	if runMigration && order == "before" && r.rec.Previous == "" && !r.migrateTaskExists(ctx) {
		order, why = "after", why+"; first deploy: the migrate task definition does not exist until the apply, so it runs after"
	}
	fmt.Fprintf(d.Out, "migration: %s (%s)\n", map[bool]string{true: "will run " + order + " the services switch", false: "skipped"}[runMigration], why)

	if runMigration && order == "before" {
		if err := r.stage("migrate", func() error { return r.migrate(ctx, commit.Tag) }); err != nil {
			return err
		}
	}
	if err := r.switchServices(ctx, commit.Tag); err != nil {
		return err
	}
	if runMigration && order == "after" {
		if err := r.stage("migrate", func() error { return r.migrate(ctx, commit.Tag) }); err != nil {
			return err
		}
	}
	return nil
}

// switchServices rewrites the tfvars, plans, applies and waits.
func (r *run) switchServices(ctx context.Context, tag string) error {
	d, opts := r.d, r.opts
	var plan *Plan
	if err := r.stage("tfvars", func() error {
		if err := r.writeTags(tag); err != nil {
			return err
		}
		return r.regenerateSchedules()
	}); err != nil {
		return err
	}
	if err := r.stage("plan", func() error {
		var err error
		// A rollback's kept live images are being deployed too: after ECS
		// rolled a release back (the breaker, an alarm, a rollback in
		// flight), terraform's state still holds the tag it applied, so
		// keeping what is live changes that image in the plan.
		deploying := []string{tag}
		for _, p := range r.keep {
			deploying = append(deploying, p.Tag)
		}
		plan, err = d.WS.Plan(ctx, PlanOptions{Deploying: deploying, Force: opts.Force, DeployRole: true})
		return err
	}); err != nil {
		if kept := d.WS.KeepFailedPlan(plan); kept != "" {
			fmt.Fprintf(d.Out, "the refused plan is kept at %s\n", kept)
		}
		return err
	}
	if opts.DryRun {
		fmt.Fprintf(d.Out, "\ndry run: stopping before the first change; %s restored, plan %s discarded\n", d.Env.Terraform.Tfvars, plan.File)
		_ = os.Remove(plan.File)
		return r.restoreTags()
	}
	applyStarted := time.Now()
	if err := r.stage("apply", func() error {
		if !plan.Changes {
			fmt.Fprintln(d.Out, "no changes to apply")
			_ = os.Remove(plan.File)
			return nil
		}
		r.journal.stage(ctx, ledger.StageApplying, nil)
		err := d.WS.Apply(ctx, plan)
		if err == nil {
			r.rec.Applied = true
			r.journal.stage(ctx, ledger.StageApplied, func(j *ledger.Journal) { j.Applied = true })
		} else if kept := d.WS.KeepFailedPlan(plan); kept != "" {
			fmt.Fprintf(d.Out, "the plan that failed to apply is kept at %s\n", kept)
		}
		return err
	}); err != nil {
		return err
	}
	if opts.Wait == WaitNone {
		fmt.Fprintf(d.Out, "not waiting for the rollout (-wait=none): the services are switching to %s now; `mage status -env=%s` shows how far they are\n", tag, d.Env.Name)
		return nil
	}
	return r.stage("wait for services", func() error {
		// Ctrl-C, SIGTERM or the timeout during a deploy's rollout roll it
		// back in flight (StopServiceDeployment), rather than leave a
		// half-done rollout for the next person to find. A rollback's own
		// rollout is left to finish: undoing it would bring back the
		// release it is leaving.
		return ecs.WaitServices(ctx, d.ECS, d.Env.Cluster, d.Env.ServiceNames(), tag, d.Out, ecs.WaitOptions{Timeout: opts.Timeout, Poll: opts.Poll, Terminal: d.Terminal, Until: opts.Wait,
			Digests: r.pinnedDigests(tag), RollbackInFlight: r.rec.Action != "rollback", Gate: r.gate(), Since: applyStarted})
	})
}

func (r *run) lock(ctx context.Context, action, tag string) error {
	d := r.d
	if r.opts.DryRun {
		held, err := ledger.ReadLock(ctx, d.Store)
		if err == nil {
			return &ledger.LockedError{Held: *held}
		}
		if !errors.Is(err, ledger.ErrNotFound) {
			return err
		}
		fmt.Fprintln(d.Out, "lock: free (dry run: not taken)")
		return nil
	}
	lock := ledger.Lock{Env: d.Env.Name, Holder: d.Who, Commit: tag, Action: action, Started: time.Now().UTC()}
	release, inherited, err := d.takeLock(ctx, lock, r.opts.LockWait)
	if err != nil {
		return err
	}
	r.releaseLock = release
	r.lockToken = d.Getenv(LockEnv)
	if inherited {
		return nil // the parent run's journal covers the environment
	}
	r.lockToken = LockToken(lock)
	fmt.Fprintf(d.Out, "lock: taken at %s\n", d.Store.Where())
	d.left.set(func(l *leftovers) { l.lock, l.stage = d.Who, ledger.StageLocked })
	host, _ := os.Hostname()
	r.journal = &journal{store: d.Store, out: d.Out, left: &d.left, j: ledger.Journal{
		Env: d.Env.Name, Action: action, Holder: d.Who, Host: host, PID: os.Getpid(), Commit: r.rec.Commit, Tag: tag,
		PreviousTag: r.rec.Previous, Stage: ledger.StageLocked, Started: r.rec.Started, Tfvars: d.Env.Terraform.Tfvars,
	}}
	r.journal.write(ctx)
	if d.OnLocked != nil {
		// State read before the lock may be stale: a deploy queued behind
		// another must see what that one left.
		if err := d.OnLocked(ctx); err != nil {
			return err
		}
	}
	return nil
}

func (r *run) migrationGate(ctx context.Context, history []ledger.Record, commit git.Commit) (bool, string) {
	switch r.opts.Migrate {
	case "always":
		return true, "-migrate=always"
	case "never":
		return false, "-migrate=never"
	}
	if r.d.Env.Migrate == nil {
		return false, "no migrate block for " + r.d.Env.Name
	}
	last := ledger.LastSucceeded(history)
	if last == nil {
		return true, "no earlier release recorded"
	}
	if last.Commit == commit.SHA {
		return false, "the deployed release is this commit"
	}
	paths, err := MigrationPaths(r.d.Config.Dir, r.d.Env.Migrate)
	if err != nil {
		return true, fmt.Sprintf("cannot tell which files hold migrations (%v)", err)
	}
	changed, err := git.Changed(ctx, r.d.Config.Dir, last.Commit, commit.SHA, paths...)
	if err != nil {
		return true, "cannot compare with the deployed release " + last.Tag + " (not in this clone?)"
	}
	if len(changed) == 0 {
		return false, "nothing under " + strings.Join(paths, ", ") + " changed since " + last.Tag
	}
	return true, fmt.Sprintf("%d file(s) changed since %s: %s", len(changed), last.Tag, strings.Join(changed, ", "))
}

// MigrationPaths are the files whose change between two releases means the
// migration must run: migrate.paths when set; else Rails' defaults plus,
// for every production database in the Rails root's config/database.yml,
// its migrations path and schema dumps (a Rails 8 app's Solid Queue
// migrations live in db/queue_migrate, its schema in db/queue_schema.rb).
func MigrationPaths(root string, m *config.Task) ([]string, error) {
	if len(m.Paths) > 0 {
		return m.Paths, nil
	}
	paths := []string{"db/migrate", "db/schema.rb", "db/structure.sql"}
	dbs, err := appscan.ProductionDatabases(root)
	if err != nil {
		return nil, err
	}
	for _, db := range dbs {
		for _, p := range append([]string{db.MigrationsPath}, db.SchemaFiles()...) {
			if !slices.Contains(paths, p) {
				paths = append(paths, p)
			}
		}
	}
	return paths, nil
}

func (r *run) migrateTaskExists(ctx context.Context) bool {
	return ecs.TaskDefinitionExists(ctx, r.d.ECS, r.d.Env.Migrate.TaskDefinition)
}

func (r *run) migrate(ctx context.Context, tag string) error {
	d := r.d
	m := d.Env.Migrate
	if r.opts.DryRun {
		ref, err := MigrateImageRef(d.Config, d.Env, imageref.Pin{Tag: tag})
		if err != nil {
			return err
		}
		fmt.Fprintf(d.Out, "would register %s with %s=%s and run: %s\n", m.TaskDefinition, m.Container, ref, strings.Join(m.Command, " "))
		err = ecs.CheckNoneRunning(ctx, d.ECS, d.Env.Cluster, ecs.MigrateMarker)
		var missing *ecstypes.ClusterNotFoundException
		if errors.As(err, &missing) {
			fmt.Fprintf(d.Out, "note: cluster %s does not exist yet, so no migration runs in it; the apply must create it (or deploy.hcl names the wrong cluster)\n", d.Env.Cluster)
			return nil
		}
		return err
	}
	runner := &ecs.Runner{ECS: d.ECS, Logs: d.Logs, Out: d.Out}
	r.journal.stage(ctx, ledger.StageMigrating, nil)
	started := func(arn string) {
		// Recorded before the wait: if this process is killed now, the
		// next command finds the task, which goes on running on ECS.
		r.journal.stage(ctx, ledger.StageMigrating, func(j *ledger.Journal) { j.MigrationTask, j.MigrationStarted = arn, time.Now().UTC() })
	}
	arn, err := RunOneOff(ctx, runner, d.Config, d.Env, OneOff{Tag: r.pinFor(m.ImageName(), tag), Who: d.Who}, ecs.RunOptions{Started: started})
	r.migrationErr = err
	if arn != "" {
		// It ran, so it may have applied migrations even when it failed.
		r.rec.MigrationTask = arn
		r.journal.stage(ctx, ledger.StageMigrating, func(j *ledger.Journal) { j.MigrationTask = arn })
	}
	if err == nil {
		r.rec.Migrated = true
	}
	return err
}

// checkServicesExist is verify's cheap subset: the cluster and every
// configured service exist. Before the first release they may not yet (the
// apply creates them), so then it only warns.
// history reads the environment's releases, notes the live one as the
// release this run replaces, and checks the services exist.
func (r *run) history(ctx context.Context) ([]ledger.Record, error) {
	history, err := ledger.History(ctx, r.d.Store)
	if err != nil {
		return nil, err
	}
	if last := ledger.LastSucceeded(history); last != nil {
		r.rec.Previous = last.Tag
	}
	return history, r.checkServicesExist(ctx, history)
}

func (r *run) checkServicesExist(ctx context.Context, history []ledger.Record) error {
	d := r.d
	v := verify.Verifier{ECS: d.ECS, Cluster: d.Env.Cluster, Services: d.Env.ServiceNames()}
	var problems []string
	for _, res := range v.Cheap(ctx) {
		if !res.OK {
			problems = append(problems, res.String())
		}
	}
	switch {
	case len(problems) == 0:
		fmt.Fprintf(d.Out, "preflight: cluster %s and its %d services exist\n", d.Env.Cluster, len(d.Env.Services))
		return nil
	case ledger.LastSucceeded(history) == nil:
		fmt.Fprintf(d.Out, "preflight: first release, so the apply must create what is missing:\n  %s\n", strings.Join(problems, "\n  "))
		return nil
	default:
		return fmt.Errorf("preflight (mage verify -env=%s checks more):\n  %s", d.Env.Name, strings.Join(problems, "\n  "))
	}
}
