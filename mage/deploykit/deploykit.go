// Package deploykit is the toolkit's mage targets, for an app's magefile
// to import: its exported functions and namespaces are the targets, and
// nothing else may be exported here (mage would list it as a target).
//
//	//go:build mage
//
//	package main
//
//	import (
//		//mage:import
//		_ "github.com/railsecs/deploykit/mage/deploykit"
//	)
//
// Each target is a thin wrapper over package targets.
package deploykit

import (
	"context"
	"time"

	"github.com/magefile/mage/mg"

	"github.com/railsecs/deploykit/mage/targets"
)

// Tf holds the terraform targets.
type Tf mg.Namespace

// Tfvars holds the tfvars editing targets.
type Tfvars mg.Namespace

// Config holds the configuration targets.
type Config mg.Namespace

// Plan runs terraform plan for an environment, prints what changes (images from -> to) and saves the plan.
//
// Flags: -env=NAME (default sandbox); -tag=TAG[,TAG] the image tags you are
// deploying (any other running-image change is refused); -force to plan anyway.
func (Tf) Plan(ctx context.Context, env, tag *string, force *bool) error {
	return targets.TfPlan(ctx, env, tag, force)
}

// Apply plans an environment, shows the summary, asks (or takes -yes) and applies exactly that plan.
//
// Flags: -env=NAME (default sandbox); -tag=TAG[,TAG]; -force; -yes (required in CI).
func (Tf) Apply(ctx context.Context, env, tag *string, force, yes *bool) error {
	return targets.TfApply(ctx, env, tag, force, yes)
}

// Set sets a string in a tfvars file: FILE PATH VALUE, PATH being name or name.key; comments and layout are kept.
func (Tfvars) Set(ctx context.Context, file, path, value string) error {
	return targets.TfvarsSet(ctx, file, path, value)
}

// Check validates deploy.hcl and lists its environments.
func (Config) Check(ctx context.Context) error {
	return targets.ConfigCheck(ctx)
}

// Test runs every test (building OpenTofu first when missing), then the CircleCI jobs simulated on a fresh copy.
func Test(ctx context.Context) error {
	return targets.Test(ctx)
}

// Sandbox holds the local sandbox targets.
type Sandbox mg.Namespace

// Migrate runs rails db:migrate once as its own ECS task on the new image, streaming its logs.
//
// Flags: -env=NAME (default sandbox); -tag=TAG (default: the current commit);
// -detach to return once it runs; -timeout=DURATION (the task is stopped then).
func Migrate(ctx context.Context, env, tag *string, detach *bool, timeout *time.Duration) error {
	return targets.Migrate(ctx, env, tag, detach, timeout)
}

// Run runs one command as a one-off ECS task of the app image: run "bin/rails runner 'Report.send'".
//
// Flags as for migrate. The command is split as a shell would, with no shell run.
func Run(ctx context.Context, command string, env, tag *string, detach *bool, timeout *time.Duration) error {
	return targets.Run(ctx, command, env, tag, detach, timeout)
}

// Down stops the sandbox's docker-registry; -wipe also deletes the sandbox's state (double, terraform, lock, history, images).
func (Sandbox) Down(ctx context.Context, wipe *bool) error {
	return targets.SandboxDown(ctx, wipe)
}

// Base builds the sandbox's base images (Debian's Ruby with the app's gems, Debian's nginx) with mmdebstrap, once per package list.
func (Sandbox) Base(ctx context.Context) error {
	return targets.SandboxBase(ctx)
}

// Probe requests the sandbox's page and its assets from several clients through the load balancer and counts every failure.
//
// Flags: -env=NAME (default sandbox); -duration=DURATION (default 60s); -clients=N (default 4).
// Run it beside a deploy or rollback: zero failed requests is the goal.
func (Sandbox) Probe(ctx context.Context, env *string, duration *time.Duration, clients *int) error {
	return targets.SandboxProbe(ctx, env, duration, clients)
}

// Serve runs the AWS test double (ECS, CloudWatch Logs) and prints its endpoint URL first.
func (Sandbox) Serve(ctx context.Context, addr *string) error {
	return targets.SandboxServe(ctx, addr)
}

// Build builds the app and nginx images of the current commit, concurrently, without pushing.
//
// Flags: -dirty to build uncommitted changes (the tag says so); -dryrun prints the commands.
func Build(ctx context.Context, dirty, dryrun *bool) error {
	return targets.Build(ctx, dirty, dryrun)
}

// Push builds the images the environment's registry lacks, pushes them and prints refs and digests.
//
// Flags: -env=NAME (default sandbox, a loopback registry); -dirty; -dryrun prints the commands.
func Push(ctx context.Context, env *string, dirty, dryrun *bool) error {
	return targets.Push(ctx, env, dirty, dryrun)
}

// Lock holds the deploy lock targets.
type Lock mg.Namespace

// Deploy takes the current commit to an environment: build/push, migrate, rewrite tfvars, plan, apply, wait, record.
//
// Flags: -env=NAME (default sandbox); -migrate=auto|always|never; -dryrun
// (every read and check, the plan, no change); -diff (the plan, with every
// container setting that changes besides the image, then stop); -dirty;
// -force (image guard); -timeout=DURATION for the rollout;
// -wait=deployed|stable|none (deployed: our deployment completed; stable:
// and nothing else left running); -lockwait=DURATION; -json=FILE summary.
func Deploy(ctx context.Context, env, migrate, wait, json *string, dirty, dryrun, diff, force *bool, timeout, lockwait *time.Duration) error {
	return targets.Deploy(ctx, targets.DeployFlags{Env: env, Migrate: migrate, Wait: wait, JSON: json, Dirty: dirty, DryRun: dryrun, Diff: diff, Force: force, Timeout: timeout, LockWait: lockwait})
}

// Promote deploys another environment's tested release by digest: copies its images here, builds nothing.
//
// Flags: -from=ENV (default: promote_from in deploy.hcl); -env=NAME;
// -commit=SHA|TAG|HEAD (HEAD: this checkout's commit, as CI promotes its own; default: the newest successful release of -from);
// -migrate, -wait, -dryrun, -force, -timeout, -lockwait, -json as for deploy.
func Promote(ctx context.Context, from, env, migrate, wait, commit, json *string, dryrun, force *bool, timeout, lockwait *time.Duration) error {
	return targets.Promote(ctx, deref(from), targets.DeployFlags{Env: env, Migrate: migrate, Wait: wait, Commit: commit, JSON: json, DryRun: dryrun, Force: force, Timeout: timeout, LockWait: lockwait})
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Rollback returns an environment to the previous successful release (or -commit=SHA): no build, no migration.
//
// Flags: -env=NAME (default sandbox); -commit=SHA|TAG; -dryrun; -force;
// -timeout=DURATION; -wait=deployed|stable|none; -lockwait=DURATION; -json=FILE.
func Rollback(ctx context.Context, env, commit, wait, json *string, dryrun, force *bool, timeout, lockwait *time.Duration) error {
	return targets.Rollback(ctx, targets.DeployFlags{Env: env, Commit: commit, Wait: wait, JSON: json, DryRun: dryrun, Force: force, Timeout: timeout, LockWait: lockwait})
}

// Logs prints a service's CloudWatch Logs, interleaved by time, each line prefixed with its task and container.
//
// Flags: -env=NAME; -service=NAME (required); -container=NAME (default all);
// -since=DURATION (default 10m); -follow until Ctrl-C; -grep=REGEXP.
func Logs(ctx context.Context, env, service, container, grep *string, since *time.Duration, follow *bool) error {
	return targets.Logs(ctx, targets.LogsFlags{Env: env, Service: service, Container: container, Grep: grep, Since: since, Follow: follow})
}

// Exec runs a command in a running task of a service through ECS Exec: exec "bin/rails runner 'p User.count'".
//
// Flags: -env=NAME; -service=NAME (default: the first service running the
// app image); -container=NAME (default: the container running the app image).
func Exec(ctx context.Context, command string, env, service, container *string) error {
	return targets.Exec(ctx, command, targets.ExecFlags{Env: env, Service: service, Container: container})
}

// Console opens a Rails console (the environment's console command) in a running task through ECS Exec.
//
// Flags: -env=NAME; -service=NAME; -container=NAME, as for exec.
func Console(ctx context.Context, env, service, container *string) error {
	return targets.Console(ctx, targets.ExecFlags{Env: env, Service: service, Container: container})
}

// Prune deletes old releases' images and deregisters their task definition revisions.
//
// Flags: -env=NAME; -keep=N newest successful releases kept (default 10;
// the live release, its rollback target and anything running are always
// kept); -dryrun lists what would go and why the rest stays; -lockwait.
func Prune(ctx context.Context, env *string, keep *int, dryrun *bool, lockwait *time.Duration) error {
	return targets.Prune(ctx, env, keep, dryrun, lockwait)
}

// Abort rolls back the rollouts still in flight (ECS StopServiceDeployment); -env.
func Abort(ctx context.Context, env *string) error {
	return targets.Abort(ctx, env)
}

// Continue continues the rollouts paused at a lifecycle hook (ECS ContinueServiceDeployment); -env.
func Continue(ctx context.Context, env *string) error {
	return targets.Continue(ctx, env)
}

// Status shows each service's task definition, image tags, running/desired and rollout, and the last release.
func Status(ctx context.Context, env *string) error {
	return targets.Status(ctx, env)
}

// Releases lists an environment's recorded deploys and rollbacks, newest first.
func Releases(ctx context.Context, env *string) error {
	return targets.Releases(ctx, env)
}

// Status shows who holds an environment's deploy lock.
func (Lock) Status(ctx context.Context, env *string) error {
	return targets.LockStatus(ctx, env)
}

// Release releases the deploy lock (someone else's only with -force).
func (Lock) Release(ctx context.Context, env *string, force *bool) error {
	return targets.LockRelease(ctx, env, force)
}

// Cron holds the Whenever schedule targets.
type Cron mg.Namespace

// Crontab prints the crontab the whenever command would print for a schedule.rb FILE.
func (Cron) Crontab(ctx context.Context, file string) error {
	return targets.CronCrontab(ctx, file)
}

// Generate writes the environment's Scheduler schedules (schedules.auto.tfvars.json) from schedule.rb.
//
// Flags: -env=NAME (default sandbox). Prints each job's expressions and
// launches per month; frequent jobs can go to a single-task cron service.
func (Cron) Generate(ctx context.Context, env *string) error {
	return targets.CronGenerate(ctx, env)
}

// List shows the scheduled jobs with their next runs in the configured time zone.
func (Cron) List(ctx context.Context, env *string) error {
	return targets.CronList(ctx, env)
}

// Run runs one scheduled JOB now as a one-off ECS task and waits for it.
func (Cron) Run(ctx context.Context, job string, env *string, timeout *time.Duration) error {
	return targets.CronRun(ctx, job, env, timeout)
}

// Verify checks an environment's account read-only: cluster, services, target group, roles, secrets, log groups, repositories.
//
// Flags: -env=NAME (default sandbox). One line per check, OK or FAIL with the
// fix; secret values are never read. deploy runs the cluster and service
// checks in its preflight.
func Verify(ctx context.Context, env *string) error {
	return targets.Verify(ctx, env)
}

// Iam holds the IAM targets.
type Iam mg.Namespace

// Policy prints an environment's IAM policy as JSON: the deploy role CI assumes with OIDC, or -role=operator (people: logs, exec, console), scheduler, execution, task.
//
// Flags: -env=NAME (default sandbox); -role=deploy|operator|scheduler|execution|task
// (default deploy). Rendered offline from terraform/modules/rails-app-iam.
func (Iam) Policy(ctx context.Context, env, role *string) error {
	return targets.IamPolicy(ctx, env, role)
}
