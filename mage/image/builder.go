package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
	"syscall"
	"time"
)

// Spec is one image to build from the repository.
type Spec struct {
	Name       string // "app", "nginx"
	Dockerfile string
	Context    string
	Target     string
	Refs       []string // every tag to give it, fully qualified
	// CacheFrom and CacheTo name the registry repository of the layer
	// cache ("" to skip); CacheTo is set only where the cache is written.
	CacheFrom, CacheTo string
	Labels             map[string]string
	BuildArgs          map[string]string
	Push               bool
	// Platforms to build for, e.g. "linux/amd64"; empty leaves it to the
	// builder (the machine's own, wrong on an Apple-silicon laptop).
	Platforms []string
	// Secrets are build secrets by id (a private gem source's token):
	// mounted only in the RUN steps that ask for them
	// (--mount=type=secret,id=ID), never in argv, a layer or the config.
	Secrets map[string]string
	// Contexts are named build contexts (--build-context NAME=DIR, or an
	// image as ImageContext makes it), which the Dockerfile reads with
	// COPY --from=NAME or RUN --mount=from=NAME.
	Contexts map[string]string
	// Reuse, when set, is an image in the registry to tag as this one
	// instead of building it (the nginx image of the live release, whose
	// asset inputs equal this commit's).
	Reuse *Reuse
	// secretFiles holds each secret in a 0600 file while buildah runs.
	secretFiles map[string]string
}

// Reuse names an image that stands for a build, and why it can.
type Reuse struct {
	From string
	Why  string // e.g. "asset inputs unchanged since FROM"
}

// secretIDs lists the ids of the secrets with a value, in order.
func (s Spec) secretIDs() []string {
	var ids []string
	for id, v := range s.Secrets {
		if v != "" {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// Builder builds images and pushes them.
type Builder interface {
	Name() string
	// Commands returns the exact command lines Build would run, for -dryrun.
	Commands(spec Spec) [][]string
	Build(ctx context.Context, spec Spec) error
}

// Detect picks the builder: "buildx", "buildah", or "auto" (docker buildx
// when a Docker daemon answers, else buildah).
func Detect(ctx context.Context, choice string, b Buildah, x Buildx) (Builder, error) {
	switch choice {
	case "buildah":
		return b, b.check()
	case "buildx":
		return x.Prepare(ctx)
	case "", "auto":
		if x.check(ctx) == nil {
			return x.Prepare(ctx)
		}
		if err := b.check(); err != nil {
			return nil, errors.New("no image builder: Docker is not running and buildah is not installed (apt-get install buildah, or start Docker)")
		}
		return b, nil
	}
	return nil, fmt.Errorf("builder %q: want auto, buildx or buildah", choice)
}

// run runs one command with output streamed and extra environment.
func run(ctx context.Context, out io.Writer, env []string, args []string) error {
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	// On Ctrl-C the builder gets SIGTERM and a moment to clean up its
	// working containers, not SIGKILL.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w", args[0], strings.Join(args[1:3], " "), err)
	}
	return nil
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// flagPairs renders a map as repeated "flag key=value" in key order.
func flagPairs(flag string, m map[string]string) []string {
	var args []string
	for _, k := range sortedKeys(m) {
		args = append(args, flag, k+"="+m[k])
	}
	return args
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
