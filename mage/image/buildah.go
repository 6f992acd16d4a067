package image

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Buildah builds without a daemon.
type Buildah struct {
	Bin string // default "buildah"
	// Root and RunRoot isolate the image store (fresh CI machines, tests);
	// empty uses buildah's default store.
	Root, RunRoot string
	Driver        string // storage driver, e.g. "vfs"
	Isolation     string // default "chroot": works without user namespaces
	// Insecure registries (loopback) are reached over plain HTTP.
	Insecure bool
	// AuthFile is a 0600 file with registry credentials; never in argv.
	AuthFile string
	Out      io.Writer
	// RunEnv is KEY=VALUE set in containers Run starts.
	RunEnv []string
	// StopTimeout: when Run's context ends, the command gets SIGTERM and,
	// if it is still running this long after, SIGKILL (ECS's stop signal
	// and stopTimeout); 0 kills it at once.
	StopTimeout time.Duration
}

func (b Buildah) Name() string { return "buildah" }

func (b Buildah) bin() string {
	if b.Bin == "" {
		return "buildah"
	}
	return b.Bin
}

func (b Buildah) check() error {
	if _, err := exec.LookPath(b.bin()); err != nil {
		return fmt.Errorf("buildah is not installed: apt-get install buildah (%w)", err)
	}
	return nil
}

// Command is a buildah command line with this Buildah's storage flags:
// for steps the pipeline does not run itself (the sandbox's base images).
func (b Buildah) Command(args ...string) []string { return append(b.global(), args...) }

func (b Buildah) global() []string {
	args := []string{b.bin()}
	if b.Root != "" {
		args = append(args, "--root", b.Root)
	}
	if b.RunRoot != "" {
		args = append(args, "--runroot", b.RunRoot)
	}
	if b.Driver != "" {
		args = append(args, "--storage-driver", b.Driver)
	}
	return args
}

func (b Buildah) registryFlags() []string {
	var args []string
	if b.Insecure {
		args = append(args, "--tls-verify=false")
	}
	if b.AuthFile != "" {
		args = append(args, "--authfile", b.AuthFile)
	}
	return args
}

// BuildArgs is the build command for spec.
func (b Buildah) BuildArgs(spec Spec) []string {
	isolation := b.Isolation
	if isolation == "" {
		isolation = "chroot"
	}
	args := append(b.global(), "build", "--isolation", isolation, "--layers", "-f", spec.Dockerfile)
	if spec.Target != "" {
		args = append(args, "--target", spec.Target)
	}
	if len(spec.Platforms) > 0 {
		args = append(args, "--platform", strings.Join(spec.Platforms, ","))
	}
	for _, id := range spec.secretIDs() {
		src := spec.secretFiles[id]
		if src == "" {
			src = "<a 0600 file holding " + id + ">"
		}
		args = append(args, "--secret", "id="+id+",src="+src)
	}
	imageContext := false
	for _, name := range sortedKeys(spec.Contexts) {
		v := spec.Contexts[name]
		if ref, ok := strings.CutPrefix(v, "docker-image://"); ok {
			v, imageContext = "docker://"+ref, true // buildah's spelling
		}
		args = append(args, "--build-context", name+"="+v)
	}
	for _, ref := range spec.Refs {
		args = append(args, "-t", ref)
	}
	args = append(args, flagPairs("--label", spec.Labels)...)
	args = append(args, flagPairs("--build-arg", spec.BuildArgs)...)
	if spec.CacheFrom != "" {
		args = append(args, "--cache-from", spec.CacheFrom)
	}
	if spec.CacheTo != "" {
		args = append(args, "--cache-to", spec.CacheTo)
	}
	if spec.CacheFrom != "" || spec.CacheTo != "" || imageContext {
		args = append(args, b.registryFlags()...)
	}
	return append(args, spec.Context)
}

// PushArgs is the push command for one ref.
func (b Buildah) PushArgs(ref string) []string {
	args := append(b.global(), "push")
	args = append(args, b.registryFlags()...)
	return append(args, ref, "docker://"+ref)
}

func (b Buildah) Commands(spec Spec) [][]string {
	cmds := [][]string{b.BuildArgs(spec)}
	if spec.Push {
		for _, ref := range spec.Refs {
			cmds = append(cmds, b.PushArgs(ref))
		}
	}
	return cmds
}

func (b Buildah) Build(ctx context.Context, spec Spec) error {
	if ids := spec.secretIDs(); len(ids) > 0 {
		// Each secret goes to the build as a 0600 file, removed after it.
		dir, err := os.MkdirTemp("", "deploykit-secrets-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		spec.secretFiles = map[string]string{}
		for _, id := range ids {
			f := filepath.Join(dir, id)
			if err := os.WriteFile(f, []byte(spec.Secrets[id]), 0o600); err != nil {
				return fmt.Errorf("image %s: write build secret %s: %w", spec.Name, id, err)
			}
			spec.secretFiles[id] = f
		}
	}
	for _, args := range b.Commands(spec) {
		if err := run(ctx, orDiscard(b.Out), nil, args); err != nil {
			return fmt.Errorf("image %s: %w", spec.Name, err)
		}
	}
	return nil
}
