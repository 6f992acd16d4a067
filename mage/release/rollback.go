package release

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Rollback returns the environment to an earlier successful release: no
// build, no migration. Its images must still be in the registry.
func (d *Deployer) Rollback(ctx context.Context, opts Options) (Record, error) {
	r := d.newRun("rollback", opts)
	return r.finish(ctx, r.rollback(ctx))
}

func (r *run) rollback(ctx context.Context) error {
	d, opts := r.d, r.opts
	var target *Record
	if err := r.stage("preflight", func() error {
		history, err := History(ctx, d.Store)
		if err != nil {
			return err
		}
		live := LastSucceeded(history)
		if live == nil {
			return fmt.Errorf("no successful release of %s is recorded in %s: nothing to roll back to", d.Env.Name, d.Store.Where())
		}
		r.prevTag = live.Tag
		r.rec.Previous = live.Tag
		for i := range history {
			h := &history[i]
			if h.Result != "succeeded" {
				continue
			}
			if opts.Target != "" {
				if strings.HasPrefix(h.Commit, opts.Target) || h.Tag == opts.Target {
					target = h
					break
				}
				continue
			}
			if h.Tag != live.Tag {
				target = h
				break
			}
		}
		if target == nil && opts.Target == "" {
			// Only this tag was ever deployed: the release before the live
			// one is the same commit, and rolling back re-applies it.
			for i := range history {
				if h := &history[i]; h.Result == "succeeded" && h != live && h.Started.Before(live.Started) {
					target = h
					fmt.Fprintf(d.Out, "note: every earlier release of %s is %s itself: rolling back re-applies it\n", d.Env.Name, live.Tag)
					break
				}
			}
		}
		if target == nil {
			if opts.Target != "" {
				return fmt.Errorf("no successful release of %s matches %q (see mage releases -env=%s)", d.Env.Name, opts.Target, d.Env.Name)
			}
			return fmt.Errorf("no successful release of %s before %s to roll back to", d.Env.Name, live.Tag)
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
		reg, _, err := connectRegistry(ctx, d.Config, d.Env, d.ECR)
		if err != nil {
			return err
		}
		for _, img := range d.Config.Images {
			ref := d.Env.Registry + "/" + img.Repository + ":" + target.Tag
			digest, err := reg.Digest(ctx, ref)
			if err != nil {
				return err
			}
			if digest == "" {
				return fmt.Errorf("%s is no longer in the registry (lifecycle policy?): cannot roll back to %s", ref, target.Tag)
			}
			fmt.Fprintf(d.Out, "%s: %s present (%s)\n", img.Name, ref, digest)
			r.rec.Images[img.Name] = ref + "@" + digest
		}
		return nil
	}); err != nil {
		return err
	}
	return r.switchServices(ctx, target.Tag)
}
