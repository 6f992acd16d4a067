package release

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/railsecs/deploykit/mage/atomicfile"
	"github.com/railsecs/deploykit/mage/config"
	"github.com/railsecs/deploykit/mage/ecs"
	"github.com/railsecs/deploykit/mage/image"
	"github.com/railsecs/deploykit/mage/tfvars"
)

// Deployer runs deploys and rollbacks of one environment.
type Deployer struct {
	Config   *config.Config
	Env      *config.Environment
	WS       *Workspace
	ECS      ecs.API
	Logs     ecs.LogsAPI
	ECR      image.ECRAPI
	Store    Store
	Out      io.Writer
	Getenv   func(string) string
	Terminal bool
	// Who names the person or CI job; From where it ran.
	Who, From string
}

// Options for Deploy and Rollback.
type Options struct {
	Dirty    bool
	DryRun   bool
	Force    bool          // override the plan's image guard
	Migrate  string        // auto, always, never
	Order    string        // before (default), after: when the migration runs
	Timeout  time.Duration // for the rollout wait
	LockWait time.Duration
	JSONFile string
	Target   string // rollback: commit or tag to return to ("" = previous)
}

// stage timings for the table at the end.
type timing struct {
	name string
	took time.Duration
}

type run struct {
	d       *Deployer
	opts    Options
	rec     Record
	timings []timing
	// what is live, for a truthful failure message
	migrated, applied bool
	prevTag           string
	tfvarsBackup      []byte
	tfvarsWritten     bool
	releaseLock       func()
	schedulesBackup   []byte
	schedulesSaved    bool
}

func (r *run) stage(name string, f func() error) error {
	fmt.Fprintf(r.d.Out, "\n=== %s\n", name)
	start := time.Now()
	err := f()
	r.timings = append(r.timings, timing{name, time.Since(start)})
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

func (d *Deployer) newRun(action string, opts Options) *run {
	return &run{d: d, opts: opts, rec: Record{Env: d.Env.Name, Action: action, Who: d.Who, From: d.From, Started: time.Now().UTC(), Images: map[string]string{}}}
}

// Deploy takes the current commit to the environment.
func (d *Deployer) Deploy(ctx context.Context, opts Options) (Record, error) {
	r := d.newRun("deploy", opts)
	return r.finish(ctx, r.deploy(ctx))
}

func (r *run) deploy(ctx context.Context) error {
	d, opts := r.d, r.opts
	build := d.Config.BuildOrDefault()
	var commit image.Commit
	var history []Record
	if err := r.stage("preflight", func() error {
		var err error
		commit, err = image.CurrentCommit(ctx, d.Config.Dir, build.Tag == "full", opts.Dirty, d.Config.DeployOwnedFiles()...)
		if err != nil {
			return err
		}
		r.rec.Commit, r.rec.Tag = commit.SHA, commit.Tag
		fmt.Fprintf(d.Out, "deploying %s (tag %s) to %s as %s\n", commit.SHA, commit.Tag, d.Env.Name, d.Who)
		history, err = History(ctx, d.Store)
		if err != nil {
			return err
		}
		if last := LastSucceeded(history); last != nil {
			r.prevTag = last.Tag
			r.rec.Previous = last.Tag
		}
		return r.lock(ctx, "deploy", commit.Tag)
	}); err != nil {
		return err
	}
	notify(ctx, d, fmt.Sprintf("%s started deploying %s to %s", d.Who, commit.Tag, d.Env.Name))

	if err := r.stage("images", func() error {
		imgs, err := EnsureImages(ctx, d.Config, ImageOptions{Env: d.Env, Dirty: opts.Dirty, DryRun: opts.DryRun, Getenv: d.Getenv, Out: d.Out, ECR: d.ECR})
		if err != nil {
			return err
		}
		for _, res := range imgs.Results {
			r.rec.Images[res.Name] = res.Ref + "@" + res.Digest
		}
		return nil
	}); err != nil {
		return err
	}

	runMigration, why := r.migrationGate(ctx, history, commit)
	order := opts.Order
	if order == "" && d.Env.Migrate != nil {
		order = d.Env.Migrate.Order
	}
	if order == "" {
		order = "before"
	}
	if runMigration && order == "before" && r.prevTag == "" && !r.migrateTaskExists(ctx) {
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
		plan, err = d.WS.Plan(ctx, PlanOptions{Deploying: []string{tag}, Force: opts.Force})
		return err
	}); err != nil {
		return err
	}
	if opts.DryRun {
		fmt.Fprintf(d.Out, "\ndry run: stopping before the first change; %s restored, plan %s discarded\n", d.Env.Terraform.Tfvars, plan.File)
		_ = os.Remove(plan.File)
		return r.restoreTags()
	}
	if err := r.stage("apply", func() error {
		if !plan.Changes {
			fmt.Fprintln(d.Out, "no changes to apply")
			return nil
		}
		err := d.WS.Apply(ctx, plan)
		if err == nil {
			r.applied = true
		}
		return err
	}); err != nil {
		return err
	}
	return r.stage("wait for services", func() error {
		var names []string
		for _, s := range d.Env.Services {
			names = append(names, s.Name)
		}
		return ecs.WaitServices(ctx, d.ECS, d.Env.Cluster, names, tag, d.Out, ecs.WaitOptions{Timeout: opts.Timeout, Terminal: d.Terminal})
	})
}

func (r *run) lock(ctx context.Context, action, tag string) error {
	d := r.d
	if r.opts.DryRun {
		held, err := ReadLock(ctx, d.Store)
		if err == nil {
			return &LockedError{Held: *held}
		}
		if !errors.Is(err, ErrNotFound) {
			return err
		}
		fmt.Fprintln(d.Out, "lock: free (dry run: not taken)")
		return nil
	}
	release, err := AcquireLock(ctx, d.Store, Lock{Env: d.Env.Name, Holder: d.Who, Commit: tag, Action: action, Started: time.Now().UTC()}, r.opts.LockWait, d.Out)
	if err != nil {
		return err
	}
	r.releaseLock = release
	fmt.Fprintf(d.Out, "lock: taken at %s\n", d.Store.Where())
	return nil
}

func (r *run) migrationGate(ctx context.Context, history []Record, commit image.Commit) (bool, string) {
	switch r.opts.Migrate {
	case "always":
		return true, "-migrate=always"
	case "never":
		return false, "-migrate=never"
	}
	if r.d.Env.Migrate == nil {
		return false, "no migrate block for " + r.d.Env.Name
	}
	last := LastSucceeded(history)
	if last == nil {
		return true, "no earlier release recorded"
	}
	if last.Commit == commit.SHA {
		return false, "the deployed release is this commit"
	}
	paths := r.d.Env.Migrate.MigrationPaths()
	args := append([]string{"diff", "--name-only", last.Commit, commit.SHA, "--"}, paths...)
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = r.d.Config.Dir
	out, err := cmd.Output()
	if err != nil {
		return true, "cannot compare with the deployed release " + last.Tag + " (not in this clone?)"
	}
	changed := strings.Fields(string(out))
	if len(changed) == 0 {
		return false, "nothing under " + strings.Join(paths, ", ") + " changed since " + last.Tag
	}
	return true, fmt.Sprintf("%d file(s) changed since %s: %s", len(changed), last.Tag, strings.Join(changed, ", "))
}

func (r *run) migrateTaskExists(ctx context.Context) bool {
	return ecs.TaskDefinitionExists(ctx, r.d.ECS, r.d.Env.Migrate.TaskDefinition)
}

func (r *run) migrate(ctx context.Context, tag string) error {
	d := r.d
	m := d.Env.Migrate
	if r.opts.DryRun {
		ref, err := MigrateImageRef(d.Config, d.Env, tag)
		if err != nil {
			return err
		}
		fmt.Fprintf(d.Out, "would register %s with %s=%s and run: %s\n", m.TaskDefinition, m.Container, ref, strings.Join(m.Command, " "))
		return ecs.CheckNoneRunning(ctx, d.ECS, d.Env.Cluster, ecs.MigrateMarker)
	}
	runner := &ecs.Runner{ECS: d.ECS, Logs: d.Logs, Out: d.Out}
	_, err := RunOneOff(ctx, runner, d.Config, d.Env, OneOff{Tag: tag, Who: d.Who}, ecs.RunOptions{})
	if err == nil {
		r.migrated = true
		r.rec.Migrated = true
	}
	return err
}

func (r *run) writeTags(tag string) error {
	d := r.d
	path := d.WS.TfvarsPath()
	orig, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	r.tfvarsBackup = orig
	paths, err := d.Env.TagPaths()
	if err != nil {
		return err
	}
	src := orig
	for _, p := range paths {
		var change tfvars.Change
		src, change, err = tfvars.Set(src, path, p.Path, tag)
		if err != nil {
			return err
		}
		fmt.Fprintf(d.Out, "%s:%d: %s\n", d.Env.Terraform.Tfvars, change.Line, change)
	}
	if err := atomicfile.Write(path, src, 0o644); err != nil {
		return err
	}
	r.tfvarsWritten = true
	return nil
}

// regenerateSchedules rewrites the schedules from schedule.rb so the
// release deploys its own schedule; restored with the tfvars on failure.
func (r *run) regenerateSchedules() error {
	d := r.d
	if d.Config.Cron == nil {
		return nil
	}
	path := SchedulesFile(d.Config, d.Env)
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	r.schedulesBackup, r.schedulesSaved = old, true
	return GenerateSchedules(d.Config, d.Env, d.Getenv, d.Out, false)
}

func (r *run) restoreTags() error {
	if r.schedulesSaved {
		path := SchedulesFile(r.d.Config, r.d.Env)
		if r.schedulesBackup == nil {
			_ = os.Remove(path)
		} else if err := atomicfile.Write(path, r.schedulesBackup, 0o644); err != nil {
			return fmt.Errorf("restore %s: %w", path, err)
		}
		r.schedulesSaved = false
	}
	if !r.tfvarsWritten {
		return nil
	}
	if err := atomicfile.Write(r.d.WS.TfvarsPath(), r.tfvarsBackup, 0o644); err != nil {
		return fmt.Errorf("restore %s: %w", r.d.Env.Terraform.Tfvars, err)
	}
	r.tfvarsWritten = false
	return nil
}

// finish restores the tfvars on failure, records the release, releases
// the lock, notifies, and prints the timing table.
func (r *run) finish(ctx context.Context, err error) (Record, error) {
	d := r.d
	r.rec.Duration = time.Since(r.rec.Started)
	if err != nil {
		// Restored even after an apply: the services did not reach the new
		// tag, and the next plan must not take it for what runs.
		if rerr := r.restoreTags(); rerr != nil {
			err = errors.Join(err, rerr)
		}
		what := r.rec.Action
		if r.rec.Tag != "" {
			what += " of " + r.rec.Tag
		}
		err = fmt.Errorf("%s to %s failed at %w\nnow live: %s", what, d.Env.Name, err, r.liveState())
		r.rec.Result, r.rec.Error = "failed", err.Error()
	} else {
		r.rec.Result = "succeeded"
		if r.opts.DryRun {
			r.rec.Result = "dry run"
		}
	}
	recorded := r.rec.Commit != "" && !r.opts.DryRun && r.releaseLock != nil
	if recorded {
		if serr := SaveRecord(context.WithoutCancel(ctx), d.Store, r.rec); serr != nil {
			fmt.Fprintf(d.Out, "WARNING: release not recorded: %v\n", serr)
		}
	}
	if r.releaseLock != nil {
		r.releaseLock()
	}
	if !r.opts.DryRun && r.rec.Commit != "" {
		notify(context.WithoutCancel(ctx), d, fmt.Sprintf("%s of %s to %s by %s %s after %s", r.rec.Action, r.rec.Tag, d.Env.Name, d.Who, r.rec.Result, r.rec.Duration.Round(time.Second)))
	}
	r.printTimings()
	if r.opts.JSONFile != "" {
		data, _ := json.MarshalIndent(struct {
			Record
			Stages map[string]float64 `json:"stage_seconds"`
		}{r.rec, r.stageSeconds()}, "", "  ")
		if werr := atomicfile.Write(r.opts.JSONFile, data, 0o644); werr != nil {
			fmt.Fprintf(d.Out, "WARNING: %v\n", werr)
		}
	}
	return r.rec, err
}

func (r *run) liveState() string {
	var parts []string
	if r.migrated {
		parts = append(parts, "the migration of "+r.rec.Tag+" was applied")
	} else {
		parts = append(parts, "no migration ran")
	}
	prev := r.prevTag
	if prev == "" {
		prev = "what they ran before"
	}
	if r.applied {
		parts = append(parts, "terraform applied "+r.rec.Tag+" but the services did not all reach it (see above; the circuit breaker rolls back to "+prev+")",
			r.d.Env.Terraform.Tfvars+" restored to its previous tags (the next apply re-registers them)")
	} else {
		parts = append(parts, "services still on "+prev, r.d.Env.Terraform.Tfvars+" unchanged")
	}
	return strings.Join(parts, "; ")
}

func (r *run) printTimings() {
	fmt.Fprintln(r.d.Out)
	tw := tabwriter.NewWriter(r.d.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STAGE\tTOOK")
	for _, t := range r.timings {
		fmt.Fprintf(tw, "%s\t%s\n", t.name, t.took.Round(10*time.Millisecond))
	}
	fmt.Fprintf(tw, "total\t%s\n", time.Since(r.rec.Started).Round(10*time.Millisecond))
	tw.Flush()
}

func (r *run) stageSeconds() map[string]float64 {
	m := map[string]float64{}
	for _, t := range r.timings {
		m[t.name] = t.took.Seconds()
	}
	return m
}

// notify posts to a Slack-compatible webhook (DEPLOYKIT_SLACK_WEBHOOK);
// a failing webhook never fails a deploy.
func notify(ctx context.Context, d *Deployer, text string) {
	url := d.Getenv("DEPLOYKIT_SLACK_WEBHOOK")
	if url == "" {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	body, _ := json.Marshal(map[string]string{"text": text})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		fmt.Fprintf(d.Out, "WARNING: notification not sent: bad webhook URL\n")
		return
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(d.Out, "WARNING: notification not sent: %v\n", redact(err.Error(), url))
		return
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		fmt.Fprintf(d.Out, "WARNING: notification not sent: webhook answered %s\n", resp.Status)
	}
}

// redact keeps the webhook's secret path out of messages.
func redact(msg, url string) string { return strings.ReplaceAll(msg, url, "<webhook>") }
