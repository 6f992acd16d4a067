package targets

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/railsecs/deploykit/mage/ecs"
	"github.com/railsecs/deploykit/mage/git"
	"github.com/railsecs/deploykit/mage/ledger"
	"github.com/railsecs/deploykit/mage/release"
	"github.com/railsecs/deploykit/mage/sandbox"
)

// DeployFlags are the flags of deploy and rollback.
type DeployFlags struct {
	Env, Migrate, JSON, Commit *string
	// Wait: deployed (default), stable or none.
	Wait                 *string
	Dirty, DryRun, Force *bool
	// Diff: show the plan (images and every other container setting that
	// changes) and stop; a dry run that says it is for the diff.
	Diff              *bool
	Timeout, LockWait *time.Duration
}

func (f DeployFlags) options() (release.Options, error) {
	o := release.Options{Dirty: flag(f.Dirty), DryRun: flag(f.DryRun) || flag(f.Diff), Force: flag(f.Force), Migrate: "auto"}
	if f.Migrate != nil {
		switch *f.Migrate {
		case "auto", "always", "never":
			o.Migrate = *f.Migrate
		default:
			return o, fmt.Errorf("-migrate=%s: want auto, always or never", *f.Migrate)
		}
	}
	if f.Wait != nil {
		switch *f.Wait {
		case ecs.UntilDeployed, ecs.UntilStable, release.WaitNone:
			o.Wait = *f.Wait
		default:
			return o, fmt.Errorf("-wait=%s: want deployed (our deployment completed), stable (and nothing else left running) or none", *f.Wait)
		}
	}
	if f.JSON != nil {
		o.JSONFile = *f.JSON
	}
	if f.Commit != nil {
		o.Target = *f.Commit
	}
	if f.Timeout != nil {
		o.Timeout = *f.Timeout
	}
	if f.LockWait != nil {
		o.LockWait = *f.LockWait
	}
	return o, nil
}

// Deploy runs the whole pipeline for the current commit.
func Deploy(ctx context.Context, f DeployFlags) error {
	if err := checkArgs(osArgs(), "deploy"); err != nil {
		return err
	}
	ctx, stop := withSIGTERM(ctx)
	defer stop()
	return osConsole().release(ctx, f, deployRelease, "")
}

// Rollback returns an environment to an earlier successful release.
func Rollback(ctx context.Context, f DeployFlags) error {
	if err := checkArgs(osArgs(), "rollback"); err != nil {
		return err
	}
	ctx, stop := withSIGTERM(ctx)
	defer stop()
	return osConsole().release(ctx, f, rollbackRelease, "")
}

// Promote deploys another environment's tested release by digest.
func Promote(ctx context.Context, from string, f DeployFlags) error {
	if err := checkArgs(osArgs(), "promote"); err != nil {
		return err
	}
	ctx, stop := withSIGTERM(ctx)
	defer stop()
	return osConsole().release(ctx, f, promoteRelease, from)
}

// releaseKind is which pipeline a release target runs.
type releaseKind int

const (
	// deployRelease builds and deploys the current commit, or promotes
	// when the environment sets promote_from: it only runs what another
	// environment tested.
	deployRelease releaseKind = iota
	promoteRelease
	rollbackRelease
)

func (c console) release(ctx context.Context, f DeployFlags, kind releaseKind, from string) error {
	opts, err := f.options()
	if err != nil {
		return err
	}
	d, stop, err := c.deployer(ctx, envName(f.Env))
	if err != nil {
		return err
	}
	defer stop()
	defer watchCleanup(ctx, c.out, d.Leftovers)()
	if kind == deployRelease && d.Env.PromoteFrom != "" {
		kind = promoteRelease
	}
	var rec ledger.Record
	switch kind {
	case rollbackRelease:
		rec, err = d.Rollback(ctx, opts)
	case promoteRelease:
		from = cmp.Or(from, d.Env.PromoteFrom)
		if from == "" || from == d.Env.Name {
			return fmt.Errorf("promote to %s: name the environment to promote from with -from=NAME (or promote_from in deploy.hcl)", d.Env.Name)
		}
		if opts.Target == "HEAD" {
			// The checkout's commit: a pipeline promotes its own commit.
			head, herr := git.CurrentCommit(ctx, d.Config.Dir, true, true)
			if herr != nil {
				return herr
			}
			opts.Target = head.SHA
			fmt.Fprintf(c.out, "promoting %s's release of this checkout's commit %s\n", from, head.SHA)
		}
		src, serr := c.source(ctx, d.Config, from)
		if serr != nil {
			return serr
		}
		rec, err = d.Promote(ctx, src, opts)
	default:
		rec, err = d.Deploy(ctx, opts)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(c.out, "\n%s: %s of %s %s in %s\n", rec.Env, rec.Action, rec.Tag, rec.Result, rec.Duration.Round(time.Millisecond))
	if lb := d.Env.LocalLoadBalancer; lb != nil && sandbox.UsesDouble(d.Env, c.getenv) {
		fmt.Fprintf(c.out, "%s serves at http://%s/ (HAProxy, pods run by podman)\n", d.Env.Name, lb.Listen)
	}
	return nil
}

// Releases lists the recorded releases of an environment.
func Releases(ctx context.Context, env *string) error {
	return inSession(ctx, "releases", env, func(c console, d *release.Deployer) error {
		recs, err := ledger.History(ctx, d.Store)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "STARTED\tACTION\tTAG\tRESULT\tMIGRATED\tDURATION\tWHO")
		for _, r := range recs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%s\t%s\n", r.Started.Local().Format("2006-01-02 15:04:05"), r.Action, r.Tag, r.Result, r.Migrated, r.Duration.Round(time.Second), r.Who)
		}
		return tw.Flush()
	})
}

// Abort rolls back every service deployment of the environment still in
// flight (StopServiceDeployment ROLLBACK): ECS returns each service to
// the revision that ran before, in seconds. It takes no lock, so it can
// stop a rollout whose deploy holds it; that deploy then fails, saying
// ECS rolled it back, and records so.
func Abort(ctx context.Context, env *string) error {
	return inSession(ctx, "abort", env, func(c console, d *release.Deployer) error {
		return ecs.Abort(ctx, d.ECS, d.Env.Cluster, d.Env.ServiceNames(), c.out)
	})
}

// Continue continues every rollout of the environment paused at a PAUSE
// lifecycle hook (ContinueServiceDeployment CONTINUE): a person's answer
// where no gate hook decides.
func Continue(ctx context.Context, env *string) error {
	return inSession(ctx, "continue", env, func(c console, d *release.Deployer) error {
		return ecs.Continue(ctx, d.ECS, d.Env.Cluster, d.Env.ServiceNames(), c.out)
	})
}

// inSession runs a target's work with the environment's deployer, after
// checking its arguments; the session (a sandbox's double) ends with it.
func inSession(ctx context.Context, target string, env *string, f func(console, *release.Deployer) error) error {
	if err := checkArgs(osArgs(), target); err != nil {
		return err
	}
	c := osConsole()
	s, err := c.session(ctx, envName(env))
	if err != nil {
		return err
	}
	defer s.stop()
	return f(c, s.d)
}

// Status shows each service's task definition, image tag, counts and rollout, and the last release.
func Status(ctx context.Context, env *string) error {
	return inSession(ctx, "status", env, func(c console, d *release.Deployer) error {
		states, err := ecs.ServiceStates(ctx, d.ECS, d.Env.Cluster, d.Env.ServiceNames())
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SERVICE\tTASK DEFINITION\tIMAGES\tRUNNING/DESIRED\tROLLOUT")
		for _, s := range states {
			if s.Missing != "" {
				fmt.Fprintf(tw, "%s\t(missing: %s)\t\t\t\n", s.Name, s.Missing)
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%s\n", s.Name, ecs.ShortID(s.TaskDefinition), s.ImageList(), s.Running, s.Desired, s.Rollout)
		}
		tw.Flush()
		for _, s := range states {
			if w := s.Where(); w != "" {
				fmt.Fprintf(c.out, "%s has %d deployments: %s\n", s.Name, len(s.Split), w)
			}
		}
		// Each task's state and health (HEALTHY once its containers' health
		// checks pass; UNKNOWN without any).
		fmt.Fprintln(c.out)
		tw = tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SERVICE	TASK	TASK DEFINITION	STATUS	HEALTH	STARTED")
		for _, s := range states {
			if s.Missing != "" {
				continue
			}
			tasks, err := ecs.ServiceTasks(ctx, d.ECS, d.Env.Cluster, s.Name)
			if err != nil {
				return err
			}
			for _, t := range tasks {
				started := "-"
				if t.StartedAt != nil {
					started = t.StartedAt.Local().Format("15:04:05")
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.Name, ecs.ShortID(aws.ToString(t.TaskArn)), ecs.ShortID(aws.ToString(t.TaskDefinitionArn)),
					aws.ToString(t.LastStatus), cmp.Or(string(t.HealthStatus), "UNKNOWN"), started)
			}
		}
		tw.Flush()
		// A migration outlives the deploy that started it when that deploy is
		// killed: say so, with who started it.
		migrations, err := ecs.LiveTasks(ctx, d.ECS, d.Env.Cluster, ecs.MigrateMarker)
		if err != nil {
			return err
		}
		for _, m := range migrations {
			fmt.Fprintf(c.out, "migration task %s is %s: started by %s for commit %s\n", ecs.ShortID(m.TaskArn), m.Status, cmp.Or(m.Who, "someone"), cmp.Or(m.Commit, "?"))
		}
		recs, err := ledger.History(ctx, d.Store)
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			fmt.Fprintln(c.out, "\nno release recorded yet")
			return nil
		}
		r := recs[0]
		fmt.Fprintf(c.out, "\nlast release: %s of %s %s, %s by %s (migrated: %v)\n", r.Action, r.Tag, r.Result, r.Started.Local().Format(time.RFC3339), r.Who, r.Migrated)
		return nil
	})
}

// LockStatus shows who holds an environment's deploy lock.
func LockStatus(ctx context.Context, env *string) error {
	if err := checkArgs(osArgs(), "lock:status"); err != nil {
		return err
	}
	c := osConsole()
	s, err := c.session(ctx, envName(env))
	if err != nil {
		return err
	}
	defer s.stop()
	d := s.d
	l, err := ledger.ReadLock(ctx, d.Store)
	if errors.Is(err, ledger.ErrNotFound) {
		fmt.Fprintf(c.out, "%s is not locked\n", d.Env.Name)
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(c.out, "%s is locked: %s of %s by %s since %s (%s ago)\n", l.Env, l.Action, l.Commit, l.Holder, l.Started.Local().Format(time.RFC3339), time.Since(l.Started).Round(time.Second))
	return nil
}

// LockRelease releases the deploy lock; someone else's only with -force.
func LockRelease(ctx context.Context, env *string, force *bool) error {
	if err := checkArgs(osArgs(), "lock:release"); err != nil {
		return err
	}
	c := osConsole()
	s, err := c.session(ctx, envName(env))
	if err != nil {
		return err
	}
	defer s.stop()
	d := s.d
	if flag(force) {
		// A journal from another machine is repaired only when asked.
		did, err := d.Repair(ctx, true)
		if err != nil {
			return err
		}
		if did != "" {
			fmt.Fprintf(c.out, "==> %s\n", did)
		}
	}
	if err := ledger.ReleaseLock(ctx, d.Store, d.Who, flag(force)); err != nil {
		return err
	}
	fmt.Fprintf(c.out, "%s is not locked now\n", d.Env.Name)
	return nil
}

// Prune removes old releases' registry images and task definition
// revisions, keeping the newest keep releases, the live one, its rollback
// target and whatever runs.
func Prune(ctx context.Context, env *string, keep *int, dryrun *bool, lockwait *time.Duration) error {
	if err := checkArgs(osArgs(), "prune"); err != nil {
		return err
	}
	ctx, cancel := withSIGTERM(ctx)
	defer cancel()
	c := osConsole()
	s, err := c.session(ctx, envName(env))
	if err != nil {
		return err
	}
	defer s.stop()
	d := s.d
	taskDefs, ok := d.ECS.(ecs.TaskDefinitionAPI)
	if !ok {
		return fmt.Errorf("prune %s: the ECS client cannot list task definitions", d.Env.Name)
	}
	opts := release.PruneOptions{Keep: 10, DryRun: flag(dryrun)}
	if keep != nil {
		opts.Keep = *keep
	}
	if lockwait != nil {
		opts.LockWait = *lockwait
	}
	_, err = d.Prune(ctx, taskDefs, opts)
	return err
}
