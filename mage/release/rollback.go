package release

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/railsecs/deploykit/mage/ecs"
	"github.com/railsecs/deploykit/mage/image"
	"github.com/railsecs/deploykit/mage/imageref"
	"github.com/railsecs/deploykit/mage/ledger"
)

// Rollback returns the environment to an earlier successful release: no
// build, no migration. Its images must still be in the registry.
func (d *Deployer) Rollback(ctx context.Context, opts Options) (ledger.Record, error) {
	r := d.newRun("rollback", opts)
	return r.finish(ctx, r.rollback(ctx))
}

func (r *run) rollback(ctx context.Context) error {
	d, opts := r.d, r.opts
	var target, liveRec *ledger.Record
	if err := r.stage("preflight", func() error {
		history, err := ledger.History(ctx, d.Store)
		if err != nil {
			return err
		}
		choice, err := ChooseRollback(history, opts.Target)
		if errors.Is(err, ErrNoRelease) {
			return fmt.Errorf("no successful release of %s is recorded in %s: nothing to roll back to", d.Env.Name, d.Store.Where())
		}
		if err != nil {
			return fmt.Errorf("%w (see mage releases -env=%s)", err, d.Env.Name)
		}
		live := choice.Live
		target, liveRec = choice.Target, choice.Live
		r.rec.Previous = live.Tag
		if choice.Reapply {
			fmt.Fprintf(d.Out, "note: every earlier release of %s is %s itself: rolling back re-applies it\n", d.Env.Name, live.Tag)
		}
		r.rec.Commit, r.rec.Tag = target.Commit, target.Tag
		fmt.Fprintf(d.Out, "rolling %s back from %s to %s (deployed %s by %s)\n", d.Env.Name, live.Tag, target.Tag, target.Started.Format(time.RFC3339), target.Who)
		for _, h := range history {
			if h.Started.After(target.Started) && h.Migrated && h.Result == "succeeded" {
				fmt.Fprintf(d.Out, "WARNING: %s ran migrations after %s was deployed; the rolled-back code must work with the newer schema\n", h.Tag, target.Tag)
			}
		}
		return r.lock(ctx, "rollback", target.Tag)
	}); err != nil {
		return err
	}
	if err := r.stage("images present", func() error {
		reg, _, err := connectRegistry(ctx, d.Config, d.Env, d.ECR, d.Out)
		if err != nil {
			return err
		}
		for _, img := range d.Config.Images {
			ref := imageref.Ref{Registry: d.Env.Registry, Repository: img.Repository, Tag: target.Tag}
			digest, err := reg.Digest(ctx, ref.String())
			if err != nil {
				return err
			}
			if digest == "" {
				return fmt.Errorf("%s is no longer in the registry (lifecycle policy?): cannot roll back to %s", ref, target.Tag)
			}
			if was, err := imageref.ParseRef(target.Images[img.Name]); err == nil && was.Digest != "" && was.Digest != digest {
				return fmt.Errorf("%s now points at %s, but release %s ran %s: the tag moved; not rolling back to other bytes than were released", ref, digest, target.Tag, was.Digest)
			}
			fmt.Fprintf(d.Out, "%s: %s present (%s)\n", img.Name, ref, digest)
			r.rec.Images[img.Name] = ref.WithDigest(digest).String()
			r.pin(img.Name, r.rec.Images[img.Name])
			if img.Name == d.Config.BuildOrDefault().AssetsImage {
				r.keepLiveAssetsImage(ctx, reg, img.Name, r.rec.Images[img.Name], liveRec.Images[img.Name])
			}
		}
		return nil
	}); err != nil {
		return err
	}
	if err := r.preHook(ctx, HookPreDeploy); err != nil {
		return err
	}
	if returned, err := r.returnInFlight(ctx, target); returned || err != nil {
		return err
	}
	return r.switchServices(ctx, target.Tag)
}

// returnInFlight rolls back in flight when the rollouts in flight started
// from the target release and every other service runs it already:
// StopServiceDeployment ROLLBACK returns them in seconds (during a bake
// time only traffic moves), where an apply is a new rollout. The tfvars
// then say what runs. It reports false when the apply must do it.
func (r *run) returnInFlight(ctx context.Context, target *ledger.Record) (bool, error) {
	d := r.d
	var images []string
	for _, img := range d.Config.Images {
		if ref := target.Images[img.Name]; ref != "" {
			images = append(images, ref)
		}
	}
	plan, err := ecs.PlanReturn(ctx, d.ECS, d.Env.Cluster, d.Env.ServiceNames(), images)
	switch {
	case err != nil:
		fmt.Fprintf(d.Out, "cannot tell whether a rollout is in flight (%v): rolling back with an apply\n", err)
		return false, nil
	case len(plan.InFlight) == 0:
		return false, nil
	case plan.Why != "":
		fmt.Fprintf(d.Out, "a rollout is in flight, but stopping it would not return %s to %s (%s): rolling back with an apply, which supersedes it\n", d.Env.Name, target.Tag, plan.Why)
		return false, nil
	}
	var names []string
	for _, f := range plan.InFlight {
		names = append(names, f.Service+" ("+ecs.ShortID(f.Arn)+", "+f.Status+")")
	}
	err = r.stage("roll back in flight", func() error {
		fmt.Fprintf(d.Out, "%s is still rolling out from %s: %s; rolling back in flight instead of an apply (each service returns to its revision as it ran, images and all)\n", r.rec.Previous, target.Tag, strings.Join(names, ", "))
		if r.opts.DryRun {
			fmt.Fprintf(d.Out, "\ndry run: would stop them with StopServiceDeployment ROLLBACK and set %s to %s\n", d.Env.Terraform.Tfvars, target.Tag)
			return nil
		}
		if err := ecs.StopInFlight(ctx, d.ECS, plan.InFlight, "rollback", d.Out); err != nil {
			return err
		}
		// From here ECS returns the services to the target whatever this
		// run does: the tfvars say so, and keep saying so on failure.
		r.returnedInFlight = true
		if r.keep == nil {
			r.keep = map[string]imageref.Pin{}
		}
		for _, img := range d.Config.Images {
			if ref, err := imageref.ParseRef(target.Images[img.Name]); err == nil {
				r.rec.Images[img.Name] = target.Images[img.Name]
				if ref.Tag != target.Tag {
					r.keep[img.Name] = ref.Pin()
				} else {
					delete(r.keep, img.Name)
				}
			}
		}
		if err := r.writeTags(target.Tag); err != nil {
			return err
		}
		// A repair after a crash must not put back the tfvars of the
		// release ECS is undoing.
		r.journal.stage(ctx, ledger.StageTfvars, func(j *ledger.Journal) { j.TfvarsBefore, j.Schedules = nil, "" })
		return nil
	})
	if err != nil || r.opts.DryRun {
		return true, err
	}
	if d.Config.Cron != nil {
		fmt.Fprintf(d.Out, "note: the scheduled jobs keep the task definition the rolled-back release applied until the next apply (the next deploy, or mage tf:apply -env=%s)\n", d.Env.Name)
	}
	if r.opts.Wait == WaitNone {
		fmt.Fprintf(d.Out, "not waiting for the rollback (-wait=none): `mage status -env=%s` shows how far it is\n", d.Env.Name)
		return true, nil
	}
	return true, r.stage("wait for services", func() error {
		return ecs.WaitServices(ctx, d.ECS, d.Env.Cluster, d.Env.ServiceNames(), target.Tag, d.Out, ecs.WaitOptions{Timeout: r.opts.Timeout, Poll: r.opts.Poll,
			Terminal: d.Terminal, Until: r.opts.Wait, Digests: r.pinnedDigests(target.Tag)})
	})
}

// keepLiveAssetsImage keeps the live assets image through a rollback when
// it also serves the target release's assets (it kept them): pages
// rendered by either release's unicorn then find their digested assets in
// every nginx, during the rollback's rollout and after it. Otherwise the
// target's own image goes back, and the live release's pages may miss
// their newer assets until its tasks are gone.
func (r *run) keepLiveAssetsImage(ctx context.Context, reg *image.Registry, name, target, live string) {
	d := r.d
	if live == "" || live == target {
		return
	}
	platform := d.Config.BuildOrDefault().Platforms[0]
	liveLabels, err1 := reg.Labels(ctx, live, platform)
	targetLabels, err2 := reg.Labels(ctx, target, platform)
	if err := errors.Join(err1, err2); err != nil {
		fmt.Fprintf(d.Out, "%s: cannot compare the assets of %s and %s (%v): rolling it back too\n", name, live, target, err)
		return
	}
	if !image.ServesAssetsOf(liveLabels, targetLabels[image.AssetInputsLabel]) {
		fmt.Fprintf(d.Out, "WARNING: %s: the live image %s does not hold %s's assets, so it rolls back too; until the rollback completes, pages rendered by the live release may ask for assets the rolled-back nginx lacks\n", name, live, r.rec.Tag)
		return
	}
	ref, err := imageref.ParseRef(live)
	if err != nil || ref.Digest == "" {
		return
	}
	fmt.Fprintf(d.Out, "%s: keeping the live image %s: it serves %s's assets and the newer ones pages rendered before the rollback ask for\n", name, live, r.rec.Tag)
	r.rec.Images[name] = live
	if r.keep == nil {
		r.keep = map[string]imageref.Pin{}
	}
	r.keep[name] = ref.Pin()
}

// ErrNoRelease means the history holds no successful release at all.
var ErrNoRelease = errors.New("no successful release recorded")

// RollbackChoice is where a rollback goes from and to.
type RollbackChoice struct {
	Live, Target *ledger.Record
	// Reapply: every earlier release is the live tag itself, so rolling
	// back re-applies it.
	Reapply bool
}

// ChooseRollback picks the release to return to from the history (newest
// first): the one matching want (a commit prefix or a tag), or else the
// newest successful release whose tag differs from the live one.
func ChooseRollback(history []ledger.Record, want string) (RollbackChoice, error) {
	live := ledger.LastSucceeded(history)
	if live == nil {
		return RollbackChoice{}, ErrNoRelease
	}
	choice := RollbackChoice{Live: live}
	for i := range history {
		h := &history[i]
		if h.Result != "succeeded" {
			continue
		}
		if want != "" {
			if strings.HasPrefix(h.Commit, want) || h.Tag == want {
				choice.Target = h
				return choice, nil
			}
			continue
		}
		if h.Tag != live.Tag {
			choice.Target = h
			return choice, nil
		}
	}
	if want != "" {
		return RollbackChoice{}, fmt.Errorf("no successful release matches %q", want)
	}
	for i := range history {
		if h := &history[i]; h.Result == "succeeded" && h != live && h.Started.Before(live.Started) {
			choice.Target, choice.Reapply = h, true
			return choice, nil
		}
	}
	return RollbackChoice{}, fmt.Errorf("no successful release before %s to roll back to", live.Tag)
}
