package config

import (
	"cmp"
	"fmt"
	"maps"
	"net"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"

	"github.com/railsecs/deploykit/mage/internal/hclerr"
	"github.com/railsecs/deploykit/mage/tfvars"
)

// DefaultFile is the configuration file at the repository root.
const DefaultFile = "deploy.hcl"

// Config is a parsed, validated deploy.hcl. Relative paths in it are
// resolved against Dir, the directory holding the file.
type Config struct {
	App       string         `hcl:"app"`
	Terraform *ToolSettings  `hcl:"terraform,block"`
	Build     *BuildSettings `hcl:"build,block"`
	Cron      *CronSettings  `hcl:"cron,block"`
	// Recurring names Solid Queue's recurring.yml: its scheduler runs the
	// tasks inside the app's job service, so the toolkit only checks and
	// lists them (cron:list); nothing is generated.
	Recurring    *RecurringSettings `hcl:"recurring,block"`
	Images       []*Image           `hcl:"image,block"`
	Environments []*Environment     `hcl:"environment,block"`

	Dir  string
	File string
}

// ToolSettings chooses the terraform binary for every environment.
type ToolSettings struct {
	// Binary is "terraform", "tofu", a path, or "" to pick automatically.
	Binary string `hcl:"binary,optional"`
}

// CronSettings say where the Whenever schedule is and how it runs.
type CronSettings struct {
	// Schedule is the Whenever file, e.g. "config/schedule.rb".
	Schedule string `hcl:"schedule"`
	// Timezone is the IANA zone the schedule's times are in (Whenever
	// used the server's zone).
	Timezone string `hcl:"timezone"`
	// FrequentJobs is "service" (jobs more often than every 5 minutes run
	// in one long-running cron service) or "scheduler" (all on Scheduler).
	FrequentJobs string `hcl:"frequent_jobs,optional"`
	// ServiceJobs names more jobs to run in the cron service.
	ServiceJobs []string `hcl:"service_jobs,optional"`
	// ServiceCrontab is the generated crontab the cron service runs; it
	// must be inside the app image's build context.
	ServiceCrontab string `hcl:"service_crontab,optional"`
	// AppRoot is the app image's WORKDIR, where the build context lands
	// (default /rails, as Rails' own Dockerfile has it).
	AppRoot string `hcl:"app_root,optional"`
}

// RecurringSettings locate Solid Queue's recurring tasks.
type RecurringSettings struct {
	// File is the recurring.yml, e.g. "config/recurring.yml".
	File string `hcl:"file"`
	// RailsEnv is the file's section the environments run (default
	// production, as the app images set RAILS_ENV).
	RailsEnv string `hcl:"rails_env,optional"`
	// Timezone is the zone cron:list shows next runs in (default Etc/UTC):
	// the job service's TZ.
	Timezone string `hcl:"timezone,optional"`
}

// CrontabInImage is the path of the cron service's crontab inside env's
// app image: the app root joined with the crontab's path relative to the
// app image's build context. An error when the crontab is outside it.
func (c *Config) CrontabInImage(env *Environment) (string, error) {
	if c.Cron == nil || c.Cron.ServiceCrontab == "" {
		return "", nil
	}
	root := c.Cron.AppRoot
	if root == "" {
		root = "/rails"
	}
	var ctxDir string
	for _, img := range c.ImagesFor(env) {
		if img.Name == "app" || ctxDir == "" {
			ctxDir = img.Context
			if ctxDir == "" {
				ctxDir = "."
			}
		}
	}
	rel, err := filepath.Rel(c.Path(ctxDir), c.Path(c.Cron.ServiceCrontab))
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("%s: cron.service_crontab %s is outside the app image's build context %s, so the image cannot contain it", c.File, c.Cron.ServiceCrontab, ctxDir)
	}
	return path.Join(root, filepath.ToSlash(rel)), nil
}

// BuildSettings say how images are built and cached.
type BuildSettings struct {
	// Builder is "auto" (docker buildx when a daemon answers, else
	// buildah), "buildx" or "buildah".
	Builder string `hcl:"builder,optional"`
	// Tag is "short" (12 hex digits of the commit) or "full".
	Tag string `hcl:"tag,optional"`
	// CacheRepository is the registry repository of the layer cache, in
	// each environment's registry; mutable, unlike the release repositories.
	CacheRepository string `hcl:"cache_repository,optional"`
	// WriteCacheOn lists the branches whose builds write the cache ("*" for
	// all); others only read it.
	WriteCacheOn []string `hcl:"write_cache_on,optional"`
	// Platforms the images are built for (default linux/amd64, what
	// Fargate runs unless a task definition sets runtime_platform): an
	// Apple-silicon laptop would otherwise build arm64 images that die
	// with "exec format error".
	Platforms []string `hcl:"platforms,optional"`
	// Secrets are build secrets by id, e.g. { BUNDLE_GITHUB__COM =
	// env("BUNDLE_GITHUB__COM", "") }: mounted in the RUN steps that ask
	// (--mount=type=secret,id=ID), never in a layer, argv or the logs.
	Secrets map[string]string `hcl:"secrets,optional"`
	// BuildxBuilder names the buildx builder to use (one that can export
	// a registry cache: docker-container, kubernetes or remote). Empty:
	// the toolkit creates and uses a docker-container builder "deploykit",
	// since buildx's default docker driver cannot.
	BuildxBuilder string `hcl:"buildx_builder,optional"`
	// AssetInputs are the paths (relative to each image's context) that
	// assets:precompile reads; the toolkit passes only these to the
	// Dockerfile's assets stage (named context assets-src). Default:
	// defaultAssetInputs. Add app/views (and app/helpers) when
	// Tailwind scans them for class names.
	AssetInputs []string `hcl:"asset_inputs,optional"`
	// AssetsImage is the image that serves the assets (default "nginx"):
	// it keeps earlier releases' assets, and is not rebuilt when the asset
	// inputs equal those of the live release's.
	AssetsImage string `hcl:"assets_image,optional"`
	// KeepAssetReleases is how many earlier releases' assets the assets
	// image keeps beside its own (default 2).
	KeepAssetReleases *int `hcl:"keep_asset_releases,optional"`
}

// BuildOrDefault returns the build settings with defaults filled in.
func (c *Config) BuildOrDefault() BuildSettings {
	b := BuildSettings{Builder: "auto", Tag: "short", WriteCacheOn: []string{"main"}, Platforms: []string{"linux/amd64"},
		AssetInputs: defaultAssetInputs, AssetsImage: "nginx"}
	if c.Build != nil {
		if c.Build.Builder != "" {
			b.Builder = c.Build.Builder
		}
		if c.Build.Tag != "" {
			b.Tag = c.Build.Tag
		}
		b.CacheRepository = c.Build.CacheRepository
		if c.Build.WriteCacheOn != nil {
			b.WriteCacheOn = c.Build.WriteCacheOn
		}
		if len(c.Build.Platforms) > 0 {
			b.Platforms = c.Build.Platforms
		}
		b.Secrets = c.Build.Secrets
		b.BuildxBuilder = c.Build.BuildxBuilder
		if c.Build.AssetInputs != nil {
			b.AssetInputs = c.Build.AssetInputs
		}
		if c.Build.AssetsImage != "" {
			b.AssetsImage = c.Build.AssetsImage
		}
		if c.Build.KeepAssetReleases != nil {
			b.KeepAssetReleases = c.Build.KeepAssetReleases
		}
	}
	return b
}

// defaultAssetInputs (build.asset_inputs) is what a Rails app's assets:precompile reads
// (Sprockets, Propshaft, jsbundling/cssbundling): the asset sources, the
// configuration and initializers it boots with, the binstubs, and the
// package manifests and lock files. Missing paths are skipped.
var defaultAssetInputs = []string{
	"app/assets", "app/javascript", "vendor/assets", "lib/assets", "config", "bin", "Rakefile", "public",
	"Gemfile", "Gemfile.lock", "package.json", "yarn.lock", "package-lock.json", "pnpm-lock.yaml", "bun.lockb",
	"postcss.config.js", "tailwind.config.js", "esbuild.config.mjs", "babel.config.js", "webpack.config.js",
}

// KeepAssets is build.keep_asset_releases, 2 by default.
func (b BuildSettings) KeepAssets() int {
	if b.KeepAssetReleases == nil {
		return 2
	}
	return *b.KeepAssetReleases
}

// Image is one image built from the repository.
type Image struct {
	Name       string `hcl:"name,label"`
	Dockerfile string `hcl:"dockerfile"`
	Target     string `hcl:"target,optional"`
	Context    string `hcl:"context,optional"`
	Repository string `hcl:"repository"`
	// BuildArgs are the Dockerfile's ARGs set for this build (--build-arg).
	BuildArgs map[string]string `hcl:"build_args,optional"`
}

// Environment is one place the app is deployed to.
type Environment struct {
	Name     string     `hcl:"name,label"`
	Account  string     `hcl:"account"`
	Region   string     `hcl:"region"`
	Cluster  string     `hcl:"cluster"`
	Registry string     `hcl:"registry"`
	Services []*Service `hcl:"service,block"`

	Terraform *EnvTerraform `hcl:"terraform,block"`
	Migrate   *Task         `hcl:"migrate,block"`

	// Images overrides how images are built for this environment
	// (dockerfile, target, context); the repository stays the same.
	Images []*ImageOverride `hcl:"image,block"`
	// Prepare runs (no shell) from the repository root before a build,
	// e.g. to put a vendored binary into the build context.
	Prepare []string `hcl:"prepare,optional"`
	// Builder overrides build.builder for this environment: CI machines
	// differ (a Docker VM has buildx; a daemonless box has buildah), and
	// guessing from what answers hides a misconfigured executor.
	Builder string `hcl:"builder,optional"`
	// CIRole is the role CI assumes for this environment; `mage verify`
	// checks that the caller can assume it.
	CIRole string `hcl:"ci_role,optional"`
	// Local environments run on this machine: the AWS double, a loopback
	// registry, local state under .deploykit/NAME (the sandbox and
	// sandbox-production).
	Local bool `hcl:"local,optional"`
	// LocalDatabase (local environments): the MariaDB the sandbox starts
	// and keeps running, and the database it creates for the app's
	// migrations, as mysql2://USER@127.0.0.1:PORT/DATABASE.
	LocalDatabase string `hcl:"local_database,optional"`
	// LocalRedis (local environments): the Redis the sandbox starts and
	// keeps running for sidekiq, as redis://127.0.0.1:PORT/DB.
	LocalRedis string `hcl:"local_redis,optional"`
	// LocalLoadBalancer (local environments): the sandbox runs the
	// services' tasks as podman pods and this one's behind HAProxy.
	LocalLoadBalancer *LocalLoadBalancer `hcl:"local_load_balancer,block"`
	// PromoteFrom names the environment whose tested release a deploy here
	// promotes by digest (copying the images, building nothing).
	PromoteFrom string `hcl:"promote_from,optional"`
	// Console is the command `mage console` runs through ECS Exec
	// (default "bin/rails console"; e.g. "bin/rails console --sandbox").
	Console string `hcl:"console,optional"`
}

// LocalLoadBalancer is the sandbox's stand-in for the ALB and the web
// service's target group: a listener on a loopback address, the service's
// container and port that targets are (the service's load_balancer
// block), and the target group's health check and deregistration delay.
type LocalLoadBalancer struct {
	Listen    string `hcl:"listen"`
	Service   string `hcl:"service"`
	Container string `hcl:"container"`
	Port      int    `hcl:"port"`
	// The target group's health check: path (default /), interval in
	// seconds (default 5), healthy and unhealthy thresholds (default 2).
	HealthCheckPath     string `hcl:"health_check_path,optional"`
	HealthCheckInterval int    `hcl:"health_check_interval,optional"`
	HealthyThreshold    int    `hcl:"healthy_threshold,optional"`
	UnhealthyThreshold  int    `hcl:"unhealthy_threshold,optional"`
	// DeregistrationDelay: seconds a deregistered target drains before
	// its task gets the stop signal (the ALB's default is 300).
	DeregistrationDelay *int `hcl:"deregistration_delay,optional"`
}

// Defaults fills what deploy.hcl left out.
func (l LocalLoadBalancer) Defaults() LocalLoadBalancer {
	l.HealthCheckPath = cmp.Or(l.HealthCheckPath, "/")
	l.HealthCheckInterval = cmp.Or(l.HealthCheckInterval, 5)
	l.HealthyThreshold = cmp.Or(l.HealthyThreshold, 2)
	l.UnhealthyThreshold = cmp.Or(l.UnhealthyThreshold, 2)
	if l.DeregistrationDelay == nil {
		delay := 300
		l.DeregistrationDelay = &delay
	}
	return l
}

// ConsoleCommand is the environment's console command.
func (e *Environment) ConsoleCommand() string {
	if e.Console != "" {
		return e.Console
	}
	return "bin/rails console"
}

// AppContainers lists, service by service, the containers that run the
// "app" image: where exec and console go unless told otherwise.
func (e *Environment) AppContainers(service string) []string {
	var out []string
	for _, s := range e.Services {
		if s.Name != service {
			continue
		}
		for c, img := range s.Containers {
			if img == "app" {
				out = append(out, c)
			}
		}
	}
	sort.Strings(out)
	return out
}

// BuilderFor is the builder an environment's images are built with: its
// own setting, else build.builder, else "auto".
func (c *Config) BuilderFor(env *Environment) string {
	if env != nil && env.Builder != "" {
		return env.Builder
	}
	return c.BuildOrDefault().Builder
}

// ImageOverride changes an image's build for one environment.
type ImageOverride struct {
	Name       string `hcl:"name,label"`
	Dockerfile string `hcl:"dockerfile,optional"`
	Target     string `hcl:"target,optional"`
	Context    string `hcl:"context,optional"`
	// BuildArgs are added to (and override) the image's build_args.
	BuildArgs map[string]string `hcl:"build_args,optional"`
}

// ImagesFor returns the images as the environment builds them.
func (c *Config) ImagesFor(env *Environment) []*Image {
	out := make([]*Image, 0, len(c.Images))
	for _, img := range c.Images {
		merged := *img
		if env != nil {
			for _, o := range env.Images {
				if o.Name != img.Name {
					continue
				}
				if o.Dockerfile != "" {
					merged.Dockerfile = o.Dockerfile
				}
				if o.Target != "" {
					merged.Target = o.Target
				}
				if o.Context != "" {
					merged.Context = o.Context
				}
				if len(o.BuildArgs) > 0 {
					args := maps.Clone(img.BuildArgs)
					if args == nil {
						args = map[string]string{}
					}
					maps.Copy(args, o.BuildArgs)
					merged.BuildArgs = args
				}
			}
		}
		out = append(out, &merged)
	}
	return out
}

// Service is an ECS service the deploy waits for.
type Service struct {
	Name string `hcl:"name,label"`
	// Containers maps each container of the service's task to the image it runs.
	Containers map[string]string `hcl:"containers"`
}

// EnvTerraform says where an environment's terraform root lives and which
// tfvars values carry the image tags.
type EnvTerraform struct {
	Root    string            `hcl:"root"`
	Backend map[string]string `hcl:"backend,optional"`
	Tfvars  string            `hcl:"tfvars"`
	// ImageTags maps an image name to the tfvars path holding its tag,
	// e.g. app = "image_tags.app".
	ImageTags map[string]string `hcl:"image_tags"`
}

// Task is a one-off task such as the migration.
type Task struct {
	TaskDefinition string   `hcl:"task_definition"`
	Container      string   `hcl:"container"`
	Command        []string `hcl:"command"`
	// NetworkFrom names the service whose network configuration and
	// launch type the task copies.
	NetworkFrom string `hcl:"network_from,optional"`
	// Image is the image block the container runs; "app" when unset.
	Image string `hcl:"image,optional"`
	// Paths are the files whose change between two releases means the
	// migration must run (db/migrate, db/schema.rb, db/structure.sql by default).
	Paths []string `hcl:"paths,optional"`
	// Order is "before" (default: the migration runs before the services
	// switch) or "after".
	Order string `hcl:"order,optional"`
	// Subnets, SecurityGroups, AssignPublicIP and LaunchType configure the
	// task's network; when unset they are copied from NetworkFrom.
	Subnets        []string `hcl:"subnets,optional"`
	SecurityGroups []string `hcl:"security_groups,optional"`
	AssignPublicIP bool     `hcl:"assign_public_ip,optional"`
	LaunchType     string   `hcl:"launch_type,optional"`
}

// ImageName is the image the task's container runs.
func (t *Task) ImageName() string {
	if t.Image == "" {
		return "app"
	}
	return t.Image
}

// Load reads and validates a configuration file. getenv answers the file's
// env("NAME") calls; nothing else reads the environment.
func Load(path string, getenv func(string) string) (*Config, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read deploy configuration: %w", err)
	}
	return Parse(src, path, getenv)
}

// Parse is Load for bytes already read; filename is used in errors and to
// resolve relative paths.
func Parse(src []byte, filename string, getenv func(string) string) (*Config, error) {
	file, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if err := hclerr.Error(diags); err != nil {
		return nil, err
	}
	ctx := &hcl.EvalContext{Functions: map[string]function.Function{"env": envFunc(getenv)}}
	var cfg Config
	if err := hclerr.Error(gohcl.DecodeBody(file.Body, ctx, &cfg)); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(filename)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", filename, err)
	}
	cfg.File = filename
	cfg.Dir = filepath.Dir(abs)
	v := validator{body: file.Body.(*hclsyntax.Body), file: filename}
	v.check(&cfg)
	if err := hclerr.Error(v.diags); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// envFunc implements env("NAME") and env("NAME", "default"): a missing
// variable without a default is an error at the call site.
func envFunc(getenv func(string) string) function.Function {
	return function.New(&function.Spec{
		Params:   []function.Parameter{{Name: "name", Type: cty.String}},
		VarParam: &function.Parameter{Name: "default", Type: cty.String},
		Type:     function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			name := args[0].AsString()
			if v := getenv(name); v != "" {
				return cty.StringVal(v), nil
			}
			if len(args) > 1 {
				return args[1], nil
			}
			return cty.NilVal, fmt.Errorf("environment variable %s is not set", name)
		},
	})
}

// Env returns the named environment.
func (c *Config) Env(name string) (*Environment, error) {
	for _, e := range c.Environments {
		if e.Name == name {
			return e, nil
		}
	}
	return nil, fmt.Errorf("environment %q is not defined in %s (defined: %s)", name, c.File, strings.Join(c.EnvNames(), ", "))
}

// EnvNames lists the environments in file order.
func (c *Config) EnvNames() []string {
	names := make([]string, len(c.Environments))
	for i, e := range c.Environments {
		names[i] = e.Name
	}
	return names
}

// DeployOwnedFiles are the files deploys rewrite (every environment's
// tfvars), relative to the repository root: their changes do not make a
// commit dirty.
func (c *Config) DeployOwnedFiles() []string {
	var files []string
	for _, e := range c.Environments {
		if e.Terraform != nil {
			files = append(files, filepath.ToSlash(filepath.Clean(e.Terraform.Tfvars)))
			files = append(files, filepath.ToSlash(filepath.Join(e.Terraform.Root, "schedules.auto.tfvars.json")))
		}
	}
	return files
}

// Image returns the named image.
func (c *Config) Image(name string) (*Image, bool) {
	for _, img := range c.Images {
		if img.Name == name {
			return img, true
		}
	}
	return nil, false
}

// Path resolves a path from the configuration against its directory.
func (c *Config) Path(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.Dir, p)
}

// LocalDir is a path under the checkout's .deploykit directory, where the
// toolkit keeps what is local to one checkout: each environment's plans
// and (for local environments) state (LocalDir(ENV)), the sandbox
// registries' storage (LocalDir("registry", HOST)) and the app's hooks
// (LocalDir("hooks"), the one part that is versioned).
func (c *Config) LocalDir(parts ...string) string {
	return filepath.Join(append([]string{c.Dir, ".deploykit"}, parts...)...)
}

// ServiceNames lists the environment's services in configuration order.
func (e *Environment) ServiceNames() []string {
	names := make([]string, 0, len(e.Services))
	for _, s := range e.Services {
		names = append(names, s.Name)
	}
	return names
}

// TagPaths returns the tfvars paths of the environment's image tags, sorted
// by image name.
func (e *Environment) TagPaths() ([]ImageTagPath, error) {
	names := make([]string, 0, len(e.Terraform.ImageTags))
	for name := range e.Terraform.ImageTags {
		names = append(names, name)
	}
	sort.Strings(names)
	out := make([]ImageTagPath, 0, len(names))
	for _, name := range names {
		p, err := tfvars.ParsePath(e.Terraform.ImageTags[name])
		if err != nil {
			return nil, err
		}
		out = append(out, ImageTagPath{Image: name, Path: p})
	}
	return out, nil
}

// ImageTagPath ties an image to the tfvars value holding its tag.
type ImageTagPath struct {
	Image string
	Path  tfvars.Path
}

var (
	secretIDRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)
	nameRE       = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	accountRE    = regexp.MustCompile(`^[0-9]{12}$`)
	regionRE     = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
	repositoryRE = regexp.MustCompile(`^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$`)
)

// validator checks what the schema cannot, pointing at the offending
// block or attribute.
type validator struct {
	body  *hclsyntax.Body
	file  string
	diags hcl.Diagnostics
}

func (v *validator) errorf(r hcl.Range, format string, args ...any) {
	v.diags = append(v.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Invalid deploy configuration",
		Detail:   fmt.Sprintf(format, args...),
		Subject:  r.Ptr(),
	})
}

func (v *validator) check(cfg *Config) {
	if !nameRE.MatchString(cfg.App) {
		v.errorf(v.attrRange(v.body, "app"), "app %q must be lower-case letters, digits, '-' or '_'", cfg.App)
	}
	if cfg.Terraform != nil {
		switch b := cfg.Terraform.Binary; {
		case b == "", b == "terraform", b == "tofu", strings.ContainsRune(b, os.PathSeparator):
		default:
			v.errorf(v.attrRange(v.block(v.body, "terraform").Body, "binary"), `terraform binary %q must be "terraform", "tofu" or a path`, b)
		}
	}
	if c := cfg.Cron; c != nil {
		blk := v.block(v.body, "cron")
		if _, err := time.LoadLocation(c.Timezone); err != nil || c.Timezone == "" {
			v.errorf(v.attrRange(blk.Body, "timezone"), "timezone %q is not an IANA zone such as Asia/Tokyo", c.Timezone)
		}
		switch c.FrequentJobs {
		case "", "service", "scheduler":
		default:
			v.errorf(v.attrRange(blk.Body, "frequent_jobs"), `frequent_jobs %q must be "service" or "scheduler"`, c.FrequentJobs)
		}
	}
	if r := cfg.Recurring; r != nil {
		blk := v.block(v.body, "recurring")
		if _, err := os.Stat(cfg.Path(r.File)); err != nil {
			v.errorf(v.attrRange(blk.Body, "file"), "recurring file %q: %v", r.File, err)
		}
		if _, err := time.LoadLocation(r.Timezone); err != nil {
			v.errorf(v.attrRange(blk.Body, "timezone"), "timezone %q is not an IANA zone such as Asia/Tokyo", r.Timezone)
		}
	}
	if b := cfg.Build; b != nil {
		blk := v.block(v.body, "build")
		switch b.Builder {
		case "", "auto", "buildx", "buildah":
		default:
			v.errorf(v.attrRange(blk.Body, "builder"), `builder %q must be "auto", "buildx" or "buildah"`, b.Builder)
		}
		switch b.Tag {
		case "", "short", "full":
		default:
			v.errorf(v.attrRange(blk.Body, "tag"), `tag %q must be "short" or "full"`, b.Tag)
		}
		for id := range b.Secrets {
			if !secretIDRE.MatchString(id) {
				v.errorf(v.attrRange(blk.Body, "secrets"), "build secret id %q: use letters, digits and _", id)
			}
		}
		for _, pl := range b.Platforms {
			if pl != "linux/amd64" && pl != "linux/arm64" {
				v.errorf(v.attrRange(blk.Body, "platforms"), `platform %q: Fargate runs "linux/amd64" or "linux/arm64"`, pl)
			}
		}
		if b.CacheRepository != "" && !repositoryRE.MatchString(b.CacheRepository) {
			v.errorf(v.attrRange(blk.Body, "cache_repository"), "cache_repository %q is not a valid repository name", b.CacheRepository)
		}
	}
	if len(cfg.Images) == 0 {
		v.errorf(v.body.SrcRange, "no image blocks: declare at least the app image")
	}
	seen := map[string]bool{}
	for _, img := range cfg.Images {
		blk := v.block(v.body, "image", img.Name)
		if seen[img.Name] {
			v.errorf(blk.DefRange(), "image %q is declared twice", img.Name)
		}
		seen[img.Name] = true
		if !repositoryRE.MatchString(img.Repository) {
			v.errorf(v.attrRange(blk.Body, "repository"), "repository %q is not a valid repository name (lower-case path such as \"shop/app\")", img.Repository)
		}
	}
	if len(cfg.Environments) == 0 {
		v.errorf(v.body.SrcRange, "no environment blocks")
	}
	seenEnv := map[string]bool{}
	for _, env := range cfg.Environments {
		blk := v.block(v.body, "environment", env.Name)
		if seenEnv[env.Name] {
			v.errorf(blk.DefRange(), "environment %q is declared twice", env.Name)
		}
		seenEnv[env.Name] = true
		v.checkEnv(cfg, env, blk)
	}
}

func (v *validator) checkEnv(cfg *Config, env *Environment, blk *hclsyntax.Block) {
	if !nameRE.MatchString(env.Name) {
		v.errorf(blk.DefRange(), "environment name %q must be lower-case letters, digits, '-' or '_'", env.Name)
	}
	if !accountRE.MatchString(env.Account) {
		v.errorf(v.attrRange(blk.Body, "account"), "account %q must be a 12-digit AWS account ID", env.Account)
	}
	if !regionRE.MatchString(env.Region) {
		v.errorf(v.attrRange(blk.Body, "region"), "region %q is not an AWS region name such as ap-northeast-1", env.Region)
	}
	if strings.TrimSpace(env.Registry) == "" || strings.ContainsAny(env.Registry, " /") {
		v.errorf(v.attrRange(blk.Body, "registry"), "registry %q must be a registry host such as 123456789012.dkr.ecr.ap-northeast-1.amazonaws.com", env.Registry)
	}
	if env.Terraform != nil && strings.HasSuffix(env.Terraform.Tfvars, ".json") {
		tblk := v.block(blk.Body, "terraform")
		v.errorf(v.attrRange(tblk.Body, "tfvars"), "tfvars %q: JSON tfvars are not supported; keep the image tags in an HCL file such as images.auto.tfvars", env.Terraform.Tfvars)
	}
	switch env.Builder {
	case "", "auto", "buildx", "buildah":
	default:
		v.errorf(v.attrRange(blk.Body, "builder"), `builder %q must be "auto", "buildx" or "buildah"`, env.Builder)
	}
	if len(env.Services) == 0 {
		v.errorf(blk.DefRange(), "environment %q has no service blocks", env.Name)
	}
	services := map[string]bool{}
	for _, svc := range env.Services {
		sblk := v.block(blk.Body, "service", svc.Name)
		if services[svc.Name] {
			v.errorf(sblk.DefRange(), "service %q is declared twice in environment %q", svc.Name, env.Name)
		}
		services[svc.Name] = true
		for container, image := range svc.Containers {
			if _, ok := cfg.Image(image); !ok {
				v.errorf(v.attrRange(sblk.Body, "containers"), "container %q runs image %q, which no image block declares", container, image)
			}
		}
	}
	if env.Terraform == nil {
		v.errorf(blk.DefRange(), "environment %q needs a terraform block (root, tfvars, image_tags)", env.Name)
	} else {
		tblk := v.block(blk.Body, "terraform")
		for _, img := range cfg.Images {
			if _, ok := env.Terraform.ImageTags[img.Name]; !ok {
				v.errorf(v.attrRange(tblk.Body, "image_tags"), "image_tags has no entry for image %q", img.Name)
			}
		}
		for image, path := range env.Terraform.ImageTags {
			if _, ok := cfg.Image(image); !ok {
				v.errorf(v.attrRange(tblk.Body, "image_tags"), "image_tags names image %q, which no image block declares", image)
			}
			if _, err := tfvars.ParsePath(path); err != nil {
				v.errorf(v.attrRange(tblk.Body, "image_tags"), "%v", err)
			}
		}
		if filepath.IsAbs(env.Terraform.Tfvars) || strings.HasPrefix(filepath.Clean(env.Terraform.Tfvars), "..") {
			v.errorf(v.attrRange(tblk.Body, "tfvars"), "tfvars %q must be a path inside the repository", env.Terraform.Tfvars)
		}
	}
	for _, o := range env.Images {
		if _, ok := cfg.Image(o.Name); !ok {
			v.errorf(v.block(blk.Body, "image", o.Name).DefRange(), "image %q overrides an image no top-level image block declares", o.Name)
		}
	}
	if lb := env.LocalLoadBalancer; lb != nil {
		lblk := v.block(blk.Body, "local_load_balancer")
		if !env.Local {
			v.errorf(lblk.DefRange(), "local_load_balancer is for local environments (local = true)")
		}
		if host, port, err := net.SplitHostPort(lb.Listen); err != nil || port == "" || net.ParseIP(host) == nil || !net.ParseIP(host).IsLoopback() {
			v.errorf(v.attrRange(lblk.Body, "listen"), "listen %q must be a loopback address and port such as 127.0.0.1:8080", lb.Listen)
		}
		if !services[lb.Service] {
			v.errorf(v.attrRange(lblk.Body, "service"), "service %q is not a service of environment %q", lb.Service, env.Name)
		}
		if lb.Port < 1 || lb.Port > 65535 {
			v.errorf(v.attrRange(lblk.Body, "port"), "port %d is not a container port", lb.Port)
		}
		if lb.HealthCheckPath != "" && !strings.HasPrefix(lb.HealthCheckPath, "/") {
			v.errorf(v.attrRange(lblk.Body, "health_check_path"), "health_check_path %q must start with /", lb.HealthCheckPath)
		}
	}
	if m := env.Migrate; m != nil {
		mblk := v.block(blk.Body, "migrate")
		if len(m.Command) == 0 {
			v.errorf(v.attrRange(mblk.Body, "command"), "migrate command is empty")
		}
		switch m.Order {
		case "", "before", "after":
		default:
			v.errorf(v.attrRange(mblk.Body, "order"), `order %q must be "before" or "after"`, m.Order)
		}
		switch m.LaunchType {
		case "", "FARGATE", "EC2", "EXTERNAL":
		default:
			v.errorf(v.attrRange(mblk.Body, "launch_type"), `launch_type %q must be FARGATE, EC2 or EXTERNAL`, m.LaunchType)
		}
		if m.NetworkFrom == "" && len(m.Subnets) == 0 {
			v.errorf(mblk.DefRange(), "migrate needs network_from (a service to copy the network from) or subnets")
		}
		if m.NetworkFrom != "" && !services[m.NetworkFrom] {
			v.errorf(v.attrRange(mblk.Body, "network_from"), "network_from names service %q, which environment %q does not declare", m.NetworkFrom, env.Name)
		}
	}
}

// block finds a block by type and labels; it falls back to the parent body
// so errors still point somewhere useful.
func (v *validator) block(body *hclsyntax.Body, typ string, labels ...string) *hclsyntax.Block {
	for _, b := range body.Blocks {
		if b.Type == typ && strings.Join(b.Labels, "\x00") == strings.Join(labels, "\x00") {
			return b
		}
	}
	return &hclsyntax.Block{Type: typ, Body: body, TypeRange: body.SrcRange, OpenBraceRange: body.SrcRange}
}

func (v *validator) attrRange(body *hclsyntax.Body, name string) hcl.Range {
	if a, ok := body.Attributes[name]; ok {
		return a.Expr.Range()
	}
	return body.SrcRange
}
