package release

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/railsecs/deploykit/mage/config"
	"github.com/railsecs/deploykit/mage/git"
	"github.com/railsecs/deploykit/mage/image"
	"github.com/railsecs/deploykit/mage/imageref"
	"github.com/railsecs/deploykit/mage/ledger"
)

// Source is the environment a promotion takes its release from.
type Source struct {
	Env   *config.Environment
	Store ledger.Store
	// ECR answers a login when the source registry is ECR (another
	// account's, with a repository policy letting this one pull).
	ECR image.ECRAPI
}

// Promote deploys a release another environment ran (its newest
// successful one, or opts.Target) by digest: the exact manifests are
// copied to this environment's registry, their digests checked, and
// deployed; nothing is built, so production runs the bytes staging tested.
func (d *Deployer) Promote(ctx context.Context, src Source, opts Options) (ledger.Record, error) {
	r := d.newRun("promote", opts)
	return r.finish(ctx, r.promote(ctx, src))
}

func (r *run) promote(ctx context.Context, src Source) error {
	d, opts := r.d, r.opts
	var from *ledger.Record
	var history []ledger.Record
	if err := r.stage("preflight", func() error {
		srcHistory, err := ledger.History(ctx, src.Store)
		if err != nil {
			return fmt.Errorf("the release history of %s: %w", src.Env.Name, err)
		}
		for i := range srcHistory {
			h := &srcHistory[i]
			if h.Result == "succeeded" && (opts.Target == "" || h.Tag == opts.Target || strings.HasPrefix(h.Commit, opts.Target)) {
				from = h
				break
			}
		}
		if from == nil {
			return fmt.Errorf("no successful release of %s matches %q in %s: deploy there first", src.Env.Name, opts.Target, src.Store.Where())
		}
		for _, img := range d.Config.Images {
			if ref, err := imageref.ParseRef(from.Images[img.Name]); err != nil || ref.Digest == "" {
				return fmt.Errorf("release %s of %s recorded no digest for image %s: promote a release made with digests (deploy it to %s again)", from.Tag, src.Env.Name, img.Name, src.Env.Name)
			}
		}
		r.rec.Commit, r.rec.Tag = from.Commit, from.Tag
		fmt.Fprintf(d.Out, "promoting %s's release %s (commit %s, deployed %s by %s) to %s as %s\n",
			src.Env.Name, from.Tag, from.Commit, from.Started.Format(time.RFC3339), from.Who, d.Env.Name, d.Who)
		if history, err = r.history(ctx); err != nil {
			return err
		}
		return r.lock(ctx, "promote", from.Tag)
	}); err != nil {
		return err
	}
	notify(ctx, d, fmt.Sprintf("%s started promoting %s from %s to %s", d.Who, from.Tag, src.Env.Name, d.Env.Name))
	if err := r.stage("copy images", func() error { return r.copyImages(ctx, src, from) }); err != nil {
		return err
	}
	return r.migrateAndSwitch(ctx, history, git.Commit{SHA: from.Commit, Tag: from.Tag})
}

// copyImages copies each image of the release, every platform and layer,
// from the source registry to this one, and checks the digest did not
// change on the way.
func (r *run) copyImages(ctx context.Context, src Source, rel *ledger.Record) error {
	d := r.d
	srcReg, _, err := connectRegistry(ctx, d.Config, src.Env, src.ECR, d.Out)
	if err != nil {
		return fmt.Errorf("the registry of %s: %w", src.Env.Name, err)
	}
	dstReg, _, err := connectRegistry(ctx, d.Config, d.Env, d.ECR, d.Out)
	if err != nil {
		return err
	}
	for _, img := range d.Config.Images {
		ran, _ := imageref.ParseRef(rel.Images[img.Name])
		source := imageref.Ref{Registry: src.Env.Registry, Repository: img.Repository, Tag: ran.Tag, Digest: ran.Digest}
		target := imageref.Ref{Registry: d.Env.Registry, Repository: img.Repository, Tag: ran.Tag}
		if r.opts.DryRun {
			fmt.Fprintf(d.Out, "would copy %s to %s\n", source, target)
			continue
		}
		digest, err := image.Copy(ctx, srcReg, source.String(), dstReg, target.String())
		if err != nil {
			return fmt.Errorf("image %s: %w", img.Name, err)
		}
		if digest != ran.Digest {
			return fmt.Errorf("image %s: %s arrived as %s, not %s: refusing to deploy other bytes than %s ran", img.Name, target, digest, ran.Digest, src.Env.Name)
		}
		fmt.Fprintf(d.Out, "%s: %s -> %s (same digest %s)\n", img.Name, source, target, digest)
		pinned := target.WithDigest(digest).String()
		r.rec.Images[img.Name] = pinned
		r.pin(img.Name, pinned)
	}
	fmt.Fprintf(d.Out, "nothing built for %s: the images are %s's, by digest\n", d.Env.Name, src.Env.Name)
	return nil
}
