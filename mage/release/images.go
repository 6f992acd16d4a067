package release

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/railsecs/deploykit/mage/config"
	"github.com/railsecs/deploykit/mage/image"
)

// ImageOptions say where and how the images of the current commit go.
type ImageOptions struct {
	Env    *config.Environment // nil: a local build, no registry
	Dirty  bool                // allow uncommitted changes (tag says so)
	DryRun bool
	Getenv func(string) string
	Out    io.Writer
	// ECR answers registry logins for ECR registries; nil elsewhere.
	ECR image.ECRAPI
}

// Images is the outcome of EnsureImages.
type Images struct {
	Commit  image.Commit
	Results []image.Result
}

// EnsureImages builds the configured images from the current commit,
// concurrently; with an environment it pushes them to its registry,
// skipping any the registry already holds, and resolves their digests.
func EnsureImages(ctx context.Context, cfg *config.Config, opts ImageOptions) (Images, error) {
	out := opts.Out
	if out == nil {
		out = io.Discard
	}
	build := cfg.BuildOrDefault()
	commit, err := image.CurrentCommit(ctx, cfg.Dir, build.Tag == "full", opts.Dirty, cfg.DeployOwnedFiles()...)
	if err != nil {
		return Images{}, err
	}
	fmt.Fprintf(out, "==> images for commit %s (tag %s)\n", commit.SHA, commit.Tag)

	var reg *image.Registry
	buildah := image.Buildah{Driver: opts.Getenv("DEPLOYKIT_BUILDAH_DRIVER")}
	buildx := image.Buildx{}
	host := ""
	if opts.Env != nil {
		host = opts.Env.Registry
		var creds *image.Credentials
		if reg, creds, err = connectRegistry(ctx, cfg, opts.Env, opts.ECR); err != nil {
			return Images{}, err
		}
		buildah.Insecure = image.Loopback(host)
		if creds != nil && !opts.DryRun {
			dir, err := os.MkdirTemp("", "deploykit-auth-")
			if err != nil {
				return Images{}, err
			}
			defer os.RemoveAll(dir)
			authFile, err := creds.WriteAuthFile(dir)
			if err != nil {
				return Images{}, err
			}
			buildah.AuthFile, buildx.ConfigDir = authFile, dir
		}
	}
	builder, err := image.Detect(ctx, build.Builder, buildah, buildx)
	if err != nil {
		return Images{}, err
	}

	writeCache := false
	branch := opts.Getenv("CIRCLE_BRANCH")
	if branch == "" {
		branch = image.Branch(ctx, cfg.Dir)
	}
	if slices.Contains(build.WriteCacheOn, "*") || (branch != "" && slices.Contains(build.WriteCacheOn, branch)) {
		writeCache = true
	}
	if opts.Env != nil && len(opts.Env.Prepare) > 0 && !opts.DryRun {
		fmt.Fprintf(out, "==> prepare: %s\n", strings.Join(opts.Env.Prepare, " "))
		cmd := exec.CommandContext(ctx, opts.Env.Prepare[0], opts.Env.Prepare[1:]...)
		cmd.Dir, cmd.Stdout, cmd.Stderr = cfg.Dir, out, out
		if err := cmd.Run(); err != nil {
			return Images{}, fmt.Errorf("prepare for %s (%s): %w", opts.Env.Name, strings.Join(opts.Env.Prepare, " "), err)
		}
	}
	var specs []image.Spec
	for _, img := range cfg.ImagesFor(opts.Env) {
		ctxDir := img.Context
		if ctxDir == "" {
			ctxDir = "."
		}
		s := image.Spec{
			Name: img.Name, Dockerfile: cfg.Path(img.Dockerfile), Context: cfg.Path(ctxDir), Target: img.Target,
			Labels: map[string]string{"org.opencontainers.image.revision": commit.SHA, "org.opencontainers.image.source": cfg.App},
			Push:   opts.Env != nil,
		}
		if host != "" {
			s.Refs = []string{host + "/" + img.Repository + ":" + commit.Tag}
			if build.CacheRepository != "" {
				s.CacheFrom = host + "/" + build.CacheRepository
				if writeCache {
					s.CacheTo = s.CacheFrom
				}
			}
		} else {
			s.Refs = []string{"localhost/" + img.Repository + ":" + commit.Tag}
		}
		specs = append(specs, s)
	}
	if host != "" && build.CacheRepository != "" {
		fmt.Fprintf(out, "layer cache: %s/%s (%s)\n", host, build.CacheRepository, map[bool]string{true: "read and write on branch " + branch, false: "read only on branch " + branch}[writeCache])
	}
	fmt.Fprintf(out, "builder: %s\n", builder.Name())
	p := image.Pipeline{Builder: builder, Registry: reg, Out: out, DryRun: opts.DryRun}
	results, err := p.Ensure(ctx, specs)
	if err != nil {
		return Images{}, err
	}
	return Images{Commit: commit, Results: results}, nil
}

// connectRegistry reaches the environment's registry for manifest checks:
// the sandbox's loopback registry is started when nothing answers, and an
// ECR registry gets a login (creds, for the builders too). Both are reads
// as far as the environment goes, so dry runs do them as well.
func connectRegistry(ctx context.Context, cfg *config.Config, env *config.Environment, ecrAPI image.ECRAPI) (*image.Registry, *image.Credentials, error) {
	host := env.Registry
	reg := &image.Registry{Host: host}
	switch {
	case image.Loopback(host):
		if err := image.StartLocalRegistry(ctx, host, filepath.Join(cfg.Dir, ".deploykit", "registry")); err != nil {
			return nil, nil, err
		}
	case image.IsECR(host) && ecrAPI != nil:
		creds, err := image.ECRLogin(ctx, ecrAPI, host)
		if err != nil {
			return nil, nil, err
		}
		reg.Auth = creds.Authenticator()
		return reg, &creds, nil
	}
	return reg, nil, nil
}
