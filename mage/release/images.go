package release

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"

	"slices"
	"strings"

	"github.com/railsecs/deploykit/mage/config"
	"github.com/railsecs/deploykit/mage/git"
	"github.com/railsecs/deploykit/mage/image"
	"github.com/railsecs/deploykit/mage/imageref"
)

// ImageOptions say where and how the images of the current commit go.
type ImageOptions struct {
	Env    *config.Environment // nil: a local build, no registry
	Commit git.Commit          // what is built, from CurrentCommit
	DryRun bool
	Getenv func(string) string
	Out    io.Writer
	// ECR answers registry logins for ECR registries; nil elsewhere.
	ECR image.ECRAPI
	// Live are the images of the environment's live release (name ->
	// ref@digest): the assets image keeps their assets, or is reused
	// whole when the asset inputs did not change.
	Live map[string]string
}

// Images is the outcome of EnsureImages.
type Images struct {
	Results []image.Result
}

// CurrentCommit is the commit images are built from and its tag, in the
// configured tag length; the tfvars a deploy rewrites never make it dirty.
func CurrentCommit(ctx context.Context, cfg *config.Config, allowDirty bool) (git.Commit, error) {
	return git.CurrentCommit(ctx, cfg.Dir, cfg.BuildOrDefault().Tag == "full", allowDirty, cfg.DeployOwnedFiles()...)
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
	commit := opts.Commit
	if commit.SHA == "" {
		return Images{}, fmt.Errorf("no commit to build images from")
	}
	fmt.Fprintf(out, "==> images for commit %s (tag %s)\n", commit.SHA, commit.Tag)

	access, err := loginForBuild(ctx, cfg, opts)
	if err != nil {
		return Images{}, err
	}
	defer access.close()
	builder, err := image.Detect(ctx, cfg.BuilderFor(opts.Env), access.buildah, access.buildx)
	if err != nil {
		return Images{}, err
	}
	branch := opts.Getenv("CIRCLE_BRANCH")
	if branch == "" {
		branch = git.Branch(ctx, cfg.Dir)
	}
	writeCache := writesCache(build.WriteCacheOn, branch)
	if err := prepare(ctx, cfg, opts); err != nil {
		return Images{}, err
	}
	host := ""
	if opts.Env != nil {
		host = opts.Env.Registry
	}
	specs := buildSpecs(cfg, opts.Env, commit, writeCache)
	tmp, err := os.MkdirTemp("", "deploykit-build-")
	if err != nil {
		return Images{}, err
	}
	defer os.RemoveAll(tmp)
	// The live assets image's labels, read once: which asset inputs it
	// was built from and whose assets it kept.
	var liveAssets map[string]string
	if ref := opts.Live[build.AssetsImage]; ref != "" && access.registry != nil {
		if liveAssets, err = access.registry.Labels(ctx, ref, build.Platforms[0]); err != nil {
			fmt.Fprintf(out, "note: cannot read the labels of %s (%v): the %s image is built, and its kept assets are not counted\n", ref, err, build.AssetsImage)
			liveAssets = nil
		}
	}
	caches := sprocketsCaches{registry: access.registry, tmp: tmp, liveAssets: liveAssets}
	if host != "" && build.CacheRepository != "" {
		caches.repository = host + "/" + build.CacheRepository
	}
	if err := addAssetContexts(ctx, cfg, specs, opts.Live, liveAssets, &caches, tmp); err != nil {
		return Images{}, err
	}
	if writeCache {
		specs = append(specs, caches.leftBy(specs, build.AssetsImage)...)
	}
	if host != "" && build.CacheRepository != "" {
		fmt.Fprintf(out, "layer cache: %s/%s (%s)\n", host, build.CacheRepository, map[bool]string{true: "read and write on branch " + branch, false: "read only on branch " + branch}[writeCache])
	}
	fmt.Fprintf(out, "builder: %s\n", builder.Name())
	// Whatever a build step prints, the secrets' values never reach the log.
	p := image.Pipeline{Builder: builder, Registry: access.registry, Out: image.Redacting(out, build.Secrets), DryRun: opts.DryRun}
	results, err := p.Ensure(ctx, specs)
	if err != nil {
		return Images{}, err
	}
	results = slices.DeleteFunc(results, func(r image.Result) bool { return r.Name == sprocketsCacheImage })
	warnUnbridged(ctx, out, access.registry, build, results, opts.Live, liveAssets)
	return Images{Results: results}, nil
}

// buildAccess is what builders need to reach the registry: the registry
// for manifest checks and builders carrying its credentials.
type buildAccess struct {
	registry *image.Registry // nil for a local build
	buildah  image.Buildah
	buildx   image.Buildx
	close    func()
}

// loginForBuild connects to the environment's registry and, for ECR,
// writes the login to a 0600 auth file both builders read; close removes it.
func loginForBuild(ctx context.Context, cfg *config.Config, opts ImageOptions) (buildAccess, error) {
	a := buildAccess{buildah: image.Buildah{Driver: opts.Getenv("DEPLOYKIT_BUILDAH_DRIVER")}, close: func() {},
		// DEPLOYKIT_BUILDX: a standalone buildx binary instead of `docker buildx`.
		buildx: image.Buildx{Bin: opts.Getenv("DEPLOYKIT_BUILDX"), Builder: cfg.BuildOrDefault().BuildxBuilder, Out: opts.Out}}
	if opts.Env == nil {
		return a, nil
	}
	reg, creds, err := connectRegistry(ctx, cfg, opts.Env, opts.ECR, opts.Out)
	if err != nil {
		return a, err
	}
	a.registry = reg
	a.buildah.Insecure = image.Loopback(opts.Env.Registry)
	a.buildx.Insecure = a.buildah.Insecure
	if creds == nil || opts.DryRun {
		return a, nil
	}
	dir, err := os.MkdirTemp("", "deploykit-auth-")
	if err != nil {
		return a, err
	}
	a.close = func() { os.RemoveAll(dir) }
	authFile, err := creds.WriteAuthFile(dir)
	if err != nil {
		a.close()
		return a, err
	}
	a.buildah.AuthFile, a.buildx.ConfigDir = authFile, dir
	return a, nil
}

// writesCache says whether builds on branch export the layer cache: only
// the configured branches do ("*" for all), so feature branches cannot
// overwrite what main builds from.
func writesCache(branches []string, branch string) bool {
	return slices.Contains(branches, "*") || (branch != "" && slices.Contains(branches, branch))
}

// prepare runs the environment's prepare command before its builds.
func prepare(ctx context.Context, cfg *config.Config, opts ImageOptions) error {
	if opts.Env == nil || len(opts.Env.Prepare) == 0 || opts.DryRun {
		return nil
	}
	fmt.Fprintf(opts.Out, "==> prepare: %s\n", strings.Join(opts.Env.Prepare, " "))
	cmd := exec.CommandContext(ctx, opts.Env.Prepare[0], opts.Env.Prepare[1:]...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = cfg.Dir, opts.Out, opts.Out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("prepare for %s (%s): %w", opts.Env.Name, strings.Join(opts.Env.Prepare, " "), err)
	}
	return nil
}

// buildSpecs describes each image of the commit: where it is built from,
// the reference it gets (in env's registry, or localhost without one),
// and the layer cache it reads and, when writeCache, writes.
func buildSpecs(cfg *config.Config, env *config.Environment, commit git.Commit, writeCache bool) []image.Spec {
	build := cfg.BuildOrDefault()
	var specs []image.Spec
	for _, img := range cfg.ImagesFor(env) {
		ctxDir := img.Context
		if ctxDir == "" {
			ctxDir = "."
		}
		s := image.Spec{
			Name: img.Name, Dockerfile: cfg.Path(img.Dockerfile), Context: cfg.Path(ctxDir), Target: img.Target,
			Labels:    map[string]string{"org.opencontainers.image.revision": commit.SHA, "org.opencontainers.image.source": cfg.App},
			Push:      env != nil,
			Platforms: build.Platforms,
			Secrets:   build.Secrets,
			BuildArgs: maps.Clone(img.BuildArgs),
		}
		ref := imageref.Ref{Registry: "localhost", Repository: img.Repository, Tag: commit.Tag}
		if env != nil {
			ref.Registry = env.Registry
			if build.CacheRepository != "" {
				s.CacheFrom = env.Registry + "/" + build.CacheRepository
				if writeCache {
					s.CacheTo = s.CacheFrom
				}
			}
		}
		s.Refs = []string{ref.String()}
		specs = append(specs, s)
	}
	return specs
}

// warnUnbridged warns when the assets image was already in the registry
// (pushed by an earlier job) but does not hold the live release's assets:
// it was built while another release was live, and pages of the live one
// may miss their assets during the rollout.
func warnUnbridged(ctx context.Context, out io.Writer, reg *image.Registry, build config.BuildSettings, results []image.Result, live, liveAssets map[string]string) {
	for _, r := range results {
		if reg == nil || r.Name != build.AssetsImage || r.Built || r.ReusedFrom != "" || liveAssets[image.AssetInputsLabel] == "" || r.Digest == "" {
			continue
		}
		if ref, err := imageref.ParseRef(live[r.Name]); err == nil && ref.Digest == r.Digest {
			continue // the live image itself
		}
		mine, err := reg.Labels(ctx, r.Pinned(), build.Platforms[0])
		if err != nil {
			continue
		}
		if !image.ServesAssetsOf(mine, liveAssets[image.AssetInputsLabel]) {
			fmt.Fprintf(out, "WARNING: %s (already in the registry) does not hold the assets of the live %s: it was built while another release was live; pages rendered by the live release may miss their assets during this rollout (push again from this commit after deleting the tag to rebuild it)\n", r.Ref, live[r.Name])
		}
	}
}

// addAssetContexts gives every build the named contexts the Dockerfiles
// read: assets-src (only the asset inputs, so a code change elsewhere
// reuses the precompile layer), deps-src (what the dependency installs
// read besides Gemfile and Gemfile.lock), sprockets-cache (see
// sprocketsCaches), previous-assets (the live release's assets image,
// whose assets are bridged; an empty one before the first release)
// and deploykit (the bridge script). The assets image is labelled with the
// hash of its asset inputs and, when the live release's has the same, is
// tagged registry-side instead of built.
func addAssetContexts(ctx context.Context, cfg *config.Config, specs []image.Spec, live, liveAssets map[string]string, caches *sprocketsCaches, tmp string) error {
	build := cfg.BuildOrDefault()
	toolkit, err := image.ToolkitContextDir(tmp, build.KeepAssets())
	if err != nil {
		return err
	}
	previous := live[build.AssetsImage]
	if previous == "" {
		if previous, err = image.EmptyAssetsDir(tmp); err != nil {
			return err
		}
	} else {
		previous = image.ImageContext(previous)
	}
	type staged struct{ dir, hash, deps string }
	byContext := map[string]staged{}
	for i := range specs {
		s := &specs[i]
		st, ok := byContext[s.Context]
		if !ok {
			inputs := append(append([]string{}, build.AssetInputs...), image.TailwindInputs(s.Context)...)
			dir, hash, err := image.StageAssetInputs(s.Context, inputs, tmp)
			if err != nil {
				return fmt.Errorf("image %s: %w", s.Name, err)
			}
			extras, err := image.DependencyInputs(s.Context)
			if err != nil {
				return fmt.Errorf("image %s: %w", s.Name, err)
			}
			deps, _, err := image.StageAssetInputs(s.Context, extras, tmp)
			if err != nil {
				return fmt.Errorf("image %s: %w", s.Name, err)
			}
			st = staged{dir, hash, deps}
			byContext[s.Context] = st
		}
		cache, err := caches.handed(ctx, st.hash)
		if err != nil {
			return fmt.Errorf("image %s: %w", s.Name, err)
		}
		s.Contexts = map[string]string{image.AssetsContext: st.dir, image.PreviousAssetsContext: previous, image.ToolkitContext: toolkit, image.SprocketsCacheContext: cache.context, image.DepsContext: st.deps}
		s.Labels[image.AssetInputsLabel] = st.hash
		s.Labels[image.SprocketsCacheLabel] = cache.ref
		if s.Name != build.AssetsImage {
			continue
		}
		if s.BuildArgs == nil {
			s.BuildArgs = map[string]string{}
		}
		s.BuildArgs["PREVIOUS_ASSETS"] = cmp.Or(live[s.Name], "none")
		s.Labels[image.AssetsKeptLabel] = image.KeptAssets(st.hash, liveAssets, build.KeepAssets())
		if s.Push && liveAssets[image.AssetInputsLabel] == st.hash {
			s.Reuse = &image.Reuse{From: live[s.Name], Why: image.AssetInputsLabel + " unchanged since " + live[s.Name]}
		}
	}
	return nil
}

// sprocketsCacheImage names, among a build's specs, the Sprockets cache
// image pushed beside the release's images (never one of them).
const sprocketsCacheImage = "sprockets-cache"

// sprocketsCaches picks the Sprockets cache each precompile is handed and
// describes the cache image a build leaves for the next release.
type sprocketsCaches struct {
	registry   *image.Registry // nil: a local build, no cache handed
	repository string          // the layer-cache repository; "": none
	tmp        string
	liveAssets map[string]string // the live assets image's labels
	empty      string            // the empty context, made once
	picked     map[string]sprocketsCache
}

type sprocketsCache struct {
	ref     string // ref@digest, or "none"
	context string // the named context: an image, or an empty directory
}

// handed is the cache the precompile of asset inputs with hash gets. For
// the live release's own asset inputs (a code-only change) it is the one
// the live release was handed, so the precompile step is the same and
// comes from the layer cache; for new asset inputs it is the cache the
// live release's precompile left. None when there is no live release, no
// cache repository, or the registry no longer holds the image.
func (c *sprocketsCaches) handed(ctx context.Context, hash string) (sprocketsCache, error) {
	if got, ok := c.picked[hash]; ok {
		return got, nil
	}
	ref := "none"
	if c.registry != nil && c.repository != "" && c.liveAssets[image.AssetInputsLabel] != "" {
		want := c.repository + ":" + image.SprocketsCacheTag(c.liveAssets[image.AssetInputsLabel])
		if c.liveAssets[image.AssetInputsLabel] == hash {
			want = cmp.Or(c.liveAssets[image.SprocketsCacheLabel], "none")
		}
		if want != "none" {
			digest, err := c.registry.Digest(ctx, want)
			if err != nil {
				return sprocketsCache{}, fmt.Errorf("sprockets cache %s: %w", want, err)
			}
			if digest != "" {
				r, err := imageref.ParseRef(want)
				if err != nil {
					return sprocketsCache{}, err
				}
				ref = r.WithDigest(digest).String()
			}
		}
	}
	got := sprocketsCache{ref: ref, context: image.ImageContext(ref)}
	if ref == "none" {
		if c.empty == "" {
			dir, err := os.MkdirTemp(c.tmp, "no-sprockets-cache-")
			if err != nil {
				return sprocketsCache{}, err
			}
			c.empty = dir
		}
		got.context = c.empty
	}
	if c.picked == nil {
		c.picked = map[string]sprocketsCache{}
	}
	c.picked[hash] = got
	return got, nil
}

// leftBy is the spec of the cache image the assets image's precompile
// leaves (the Dockerfile's assets-cache stage), tagged with its asset
// inputs' hash in the layer-cache repository: none without a cache
// repository or without that stage. It reads the layer cache the images
// read, and is built after them from their local layers.
func (c *sprocketsCaches) leftBy(specs []image.Spec, assetsImage string) []image.Spec {
	if c.repository == "" {
		return nil
	}
	for _, s := range specs {
		if s.Name != assetsImage || !image.HasStage(s.Dockerfile, image.SprocketsCacheTarget) {
			continue
		}
		cache := s
		cache.Name, cache.Target, cache.Reuse, cache.CacheTo = sprocketsCacheImage, image.SprocketsCacheTarget, nil, ""
		cache.Refs = []string{c.repository + ":" + image.SprocketsCacheTag(s.Labels[image.AssetInputsLabel])}
		cache.Labels, cache.BuildArgs = maps.Clone(s.Labels), maps.Clone(s.BuildArgs)
		delete(cache.Labels, image.AssetsKeptLabel)
		return []image.Spec{cache}
	}
	return nil
}

// connectRegistry reaches the environment's registry for manifest checks:
// the sandbox's loopback registry is started when nothing answers, and an
// ECR registry gets a login (creds, for the builders too). Both are reads
// as far as the environment goes, so dry runs do them as well.
func connectRegistry(ctx context.Context, cfg *config.Config, env *config.Environment, ecrAPI image.ECRAPI, out io.Writer) (*image.Registry, *image.Credentials, error) {
	host := env.Registry
	reg := &image.Registry{Host: host}
	switch {
	case image.Loopback(host):
		if err := image.StartLocalRegistry(ctx, host, RegistryDir(cfg, host), out); err != nil {
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

// RegistryDir is where a local environment's registry on host keeps its
// images and pid: one directory per host:port, so environments on other
// ports (sandbox-production) never share storage.
func RegistryDir(cfg *config.Config, host string) string {
	return cfg.LocalDir("registry", strings.NewReplacer(":", "_", "/", "_").Replace(host))
}
