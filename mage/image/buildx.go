package image

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
)

// Buildx builds with Docker's BuildKit and its registry cache.
type Buildx struct {
	Bin string // default "docker"
	// ConfigDir holds a 0600 config.json with registry credentials,
	// passed as DOCKER_CONFIG; never in argv.
	ConfigDir string
	Out       io.Writer
}

func (x Buildx) Name() string { return "docker buildx" }

func (x Buildx) bin() string {
	if x.Bin == "" {
		return "docker"
	}
	return x.Bin
}

func (x Buildx) check(ctx context.Context) error {
	if _, err := exec.LookPath(x.bin()); err != nil {
		return fmt.Errorf("docker is not installed: %w", err)
	}
	if err := exec.CommandContext(ctx, x.bin(), "info", "--format", "{{.ServerVersion}}").Run(); err != nil {
		return fmt.Errorf("the Docker daemon does not answer (docker info): %w", err)
	}
	return nil
}

// cacheRef is the moving tag of the registry cache: it lives in its own
// mutable repository, since release repositories have immutable tags.
func cacheRef(repo, image string) string { return repo + ":" + image }

// BuildArgs is `docker buildx build` for spec; with spec.Push it pushes.
// The cache options are the ones ECR accepts (image manifest, OCI types).
func (x Buildx) BuildArgs(spec Spec) []string {
	args := []string{x.bin(), "buildx", "build", "-f", spec.Dockerfile}
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
	for _, ref := range spec.Refs {
		args = append(args, "-t", ref)
	}
	args = append(args, flagPairs("--label", spec.Labels)...)
	args = append(args, flagPairs("--build-arg", spec.BuildArgs)...)
	if spec.CacheFrom != "" {
		args = append(args, "--cache-from", "type=registry,ref="+cacheRef(spec.CacheFrom, spec.Name))
	}
	if spec.CacheTo != "" {
		args = append(args, "--cache-to", "type=registry,ref="+cacheRef(spec.CacheTo, spec.Name)+",mode=max,image-manifest=true,oci-mediatypes=true")
	}
	if spec.Push {
		args = append(args, "--push")
	} else {
		args = append(args, "--load")
	}
	return append(args, spec.Context)
}

func (x Buildx) Commands(spec Spec) [][]string { return [][]string{x.BuildArgs(spec)} }

func (x Buildx) Build(ctx context.Context, spec Spec) error {
	var env []string
	if x.ConfigDir != "" {
		env = append(env, "DOCKER_CONFIG="+x.ConfigDir)
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
