package image

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Buildx builds with BuildKit through buildx and its registry cache.
type Buildx struct {
	// Bin is "docker" (default: `docker buildx ...`) or the path of a
	// standalone buildx binary (`buildx ...`).
	Bin string
	// Builder is the buildx builder to use (--builder). Empty: Prepare
	// makes sure of a docker-container builder named DefaultBuilder, since
	// buildx's default docker driver cannot export a registry cache.
	Builder string
	// ConfigDir holds a 0600 config.json with registry credentials,
	// passed as DOCKER_CONFIG; never in argv.
	ConfigDir string
	// Insecure pushes to and caches in a plain-HTTP loopback registry
	// (registry.insecure=true; the BuildKit daemon must allow it too).
	Insecure bool
	Out      io.Writer
}

// DefaultBuilder is the docker-container builder the toolkit creates
// when none is configured.
const DefaultBuilder = "deploykit"

func (x Buildx) Name() string {
	if x.Builder != "" {
		return "buildx (builder " + x.Builder + ")"
	}
	return "docker buildx"
}

func (x Buildx) bin() string {
	if x.Bin == "" {
		return "docker"
	}
	return x.Bin
}

// cmd is the buildx command line prefix: "docker buildx" or "buildx".
func (x Buildx) cmd(args ...string) []string {
	base := filepath.Base(x.bin())
	if strings.HasPrefix(base, "buildx") || strings.HasPrefix(base, "docker-buildx") {
		return append([]string{x.bin()}, args...)
	}
	return append([]string{x.bin(), "buildx"}, args...)
}

func (x Buildx) check(ctx context.Context) error {
	if _, err := exec.LookPath(x.bin()); err != nil {
		return fmt.Errorf("%s is not installed: %w", x.bin(), err)
	}
	if x.Builder != "" {
		inspect := x.cmd("inspect", "--builder", x.Builder, "--bootstrap")
		if out, err := exec.CommandContext(ctx, inspect[0], inspect[1:]...).CombinedOutput(); err != nil {
			return fmt.Errorf("buildx builder %s does not answer (%s): %v: %s", x.Builder, strings.Join(inspect, " "), err, strings.TrimSpace(string(out)))
		}
		return nil
	}
	if err := exec.CommandContext(ctx, x.bin(), "info", "--format", "{{.ServerVersion}}").Run(); err != nil {
		return fmt.Errorf("the Docker daemon does not answer (docker info): %w", err)
	}
	return nil
}

// Prepare makes sure there is a builder that can export a registry
// cache: the configured one, or a docker-container builder named
// DefaultBuilder, created when missing.
func (x Buildx) Prepare(ctx context.Context) (Buildx, error) {
	if x.Builder != "" {
		return x, x.check(ctx)
	}
	if err := x.check(ctx); err != nil {
		return x, err
	}
	x.Builder = DefaultBuilder
	inspect := x.cmd("inspect", "--builder", DefaultBuilder)
	if exec.CommandContext(ctx, inspect[0], inspect[1:]...).Run() == nil {
		return x, nil
	}
	create := x.cmd("create", "--name", DefaultBuilder, "--driver", "docker-container")
	if out, err := exec.CommandContext(ctx, create[0], create[1:]...).CombinedOutput(); err != nil {
		return x, fmt.Errorf("create the buildx builder %s (%s): %v: %s", DefaultBuilder, strings.Join(create, " "), err, strings.TrimSpace(string(out)))
	}
	fmt.Fprintf(orDiscard(x.Out), "created the docker-container buildx builder %s (the docker driver cannot export a registry cache)\n", DefaultBuilder)
	return x, nil
}

// cacheRef is the moving tag of the registry cache: it lives in its own
// mutable repository, since release repositories have immutable tags.
func cacheRef(repo, image string) string { return repo + ":" + image }

// BuildArgs is `docker buildx build` for spec; with spec.Push it pushes.
// The cache options are the ones ECR accepts (image manifest, OCI types).
func (x Buildx) BuildArgs(spec Spec) []string {
	args := x.cmd("build", "--progress=plain", "-f", spec.Dockerfile)
	if x.Builder != "" {
		args = append(args, "--builder", x.Builder)
	}
	if spec.Target != "" {
		args = append(args, "--target", spec.Target)
	}
	if len(spec.Platforms) > 0 {
		args = append(args, "--platform", strings.Join(spec.Platforms, ","))
	}
	for _, id := range spec.secretIDs() {
		// BuildKit reads the value from the client's environment.
		args = append(args, "--secret", "id="+id+",env="+secretEnv(id))
	}
	for _, name := range sortedKeys(spec.Contexts) {
		args = append(args, "--build-context", name+"="+spec.Contexts[name])
	}
	insecure := ""
	if x.Insecure {
		insecure = ",registry.insecure=true"
	}
	if !x.Insecure {
		for _, ref := range spec.Refs {
			args = append(args, "-t", ref)
		}
	}
	args = append(args, flagPairs("--label", spec.Labels)...)
	args = append(args, flagPairs("--build-arg", spec.BuildArgs)...)
	if spec.CacheFrom != "" {
		args = append(args, "--cache-from", "type=registry,ref="+cacheRef(spec.CacheFrom, spec.Name)+insecure)
	}
	if spec.CacheTo != "" {
		args = append(args, "--cache-to", "type=registry,ref="+cacheRef(spec.CacheTo, spec.Name)+",mode=max,image-manifest=true,oci-mediatypes=true"+insecure)
	}
	switch {
	case x.Insecure:
		// -t/--push cannot say the registry is plain HTTP; an output can.
		args = append(args, "--output", fmt.Sprintf("type=image,\"name=%s\",push=%v%s", strings.Join(spec.Refs, ","), spec.Push, insecure))
	case spec.Push:
		args = append(args, "--push")
	default:
		args = append(args, "--load")
	}
	return append(args, spec.Context)
}

func (x Buildx) Commands(spec Spec) [][]string { return [][]string{x.BuildArgs(spec)} }

func (x Buildx) Build(ctx context.Context, spec Spec) error {
	var env []string
	if x.ConfigDir != "" {
		var err error
		if env, err = loginEnv(x.ConfigDir, os.Getenv); err != nil {
			return fmt.Errorf("image %s: %w", spec.Name, err)
		}
	}
	for _, id := range spec.secretIDs() {
		env = append(env, secretEnv(id)+"="+spec.Secrets[id])
	}
	if err := run(ctx, orDiscard(x.Out), env, x.BuildArgs(spec)); err != nil {
		return fmt.Errorf("image %s: %w", spec.Name, err)
	}
	return nil
}

// secretEnv is the variable a build secret reaches buildx through.
func secretEnv(id string) string { return "DEPLOYKIT_BUILD_SECRET_" + id }

// loginEnv hands buildx the login in loginDir through DOCKER_CONFIG
// without losing what buildx and docker find through the user's own
// config directory: buildx keeps its builders under DOCKER_CONFIG/buildx
// unless BUILDX_CONFIG says otherwise (without this every push that logs
// in answers `no builder "deploykit" found`), and docker keeps its
// contexts, which a docker-container builder's node names, under
// DOCKER_CONFIG/contexts with the current one in config.json.
func loginEnv(loginDir string, getenv func(string) string) ([]string, error) {
	userDir := getenv("DOCKER_CONFIG")
	if userDir == "" {
		home := getenv("HOME")
		if home == "" {
			var err error
			if home, err = os.UserHomeDir(); err != nil {
				return nil, fmt.Errorf("find the docker config directory: %w", err)
			}
		}
		userDir = filepath.Join(home, ".docker")
	}
	env := []string{"DOCKER_CONFIG=" + loginDir, "BUILDX_CONFIG=" + cmp.Or(getenv("BUILDX_CONFIG"), filepath.Join(userDir, "buildx"))}
	contexts := filepath.Join(userDir, "contexts")
	if _, err := os.Stat(contexts); err == nil {
		if err := os.Symlink(contexts, filepath.Join(loginDir, "contexts")); err != nil && !os.IsExist(err) {
			return nil, fmt.Errorf("link the docker contexts into the login directory: %w", err)
		}
	}
	if getenv("DOCKER_CONTEXT") == "" && getenv("DOCKER_HOST") == "" {
		if data, err := os.ReadFile(filepath.Join(userDir, "config.json")); err == nil {
			var conf struct {
				CurrentContext string `json:"currentContext"`
			}
			if json.Unmarshal(data, &conf) == nil && conf.CurrentContext != "" {
				env = append(env, "DOCKER_CONTEXT="+conf.CurrentContext)
			}
		}
	}
	return env, nil
}
