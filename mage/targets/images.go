package targets

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/aws/aws-sdk-go-v2/service/ecr"

	"github.com/railsecs/deploykit/mage/image"
	"github.com/railsecs/deploykit/mage/ledger"
	"github.com/railsecs/deploykit/mage/release"
)

// Build builds the app and nginx images of the current commit locally.
func Build(ctx context.Context, dirty, dryrun *bool) error {
	return osConsole().images(ctx, "", flag(dirty), flag(dryrun))
}

// Push builds what the environment's registry lacks, pushes it and prints refs and digests.
func Push(ctx context.Context, env *string, dirty, dryrun *bool) error {
	return osConsole().images(ctx, envName(env), flag(dirty), flag(dryrun))
}

func (c console) images(ctx context.Context, envName string, dirty, dryrun bool) error {
	cfg, err := c.loadConfig()
	if err != nil {
		return err
	}
	commit, err := release.CurrentCommit(ctx, cfg, dirty)
	if err != nil {
		return err
	}
	opts := release.ImageOptions{Commit: commit, DryRun: dryrun, Getenv: c.getenv, Out: c.out}
	if envName != "" {
		env, err := cfg.Env(envName)
		if err != nil {
			return err
		}
		opts.Env = env
		awsCfg, stop, err := c.awsConfig(ctx, cfg, env)
		if err != nil {
			return err
		}
		defer stop()
		if image.IsECR(env.Registry) {
			opts.ECR = ecr.NewFromConfig(awsCfg)
		}
		// The nginx image keeps the live release's assets (and is reused
		// whole when its asset inputs are the same): a push must know it,
		// or the deploy that finds this image in the registry would serve
		// no earlier assets during its rollout.
		store, err := storeFor(cfg, env, awsCfg)
		if err != nil {
			return err
		}
		history, err := ledger.History(ctx, store)
		if err != nil {
			return fmt.Errorf("read the release history of %s (to keep the live release's assets in the nginx image): %w", env.Name, err)
		}
		if live := ledger.LastSucceeded(history); live != nil {
			opts.Live = live.Images
		}
	}
	images, err := release.EnsureImages(ctx, cfg, opts)
	if err != nil {
		return err
	}
	if dryrun {
		return nil
	}
	tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "IMAGE\tREF\tDIGEST\tBUILT")
	for _, r := range images.Results {
		digest := r.Digest
		if digest == "" {
			digest = "(local only)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%v\n", r.Name, r.Ref, digest, r.Built)
	}
	return tw.Flush()
}
