package sandbox

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/railsecs/deploykit/mage/image"
)

// Base is a base image the sandbox makes from Debian's packages: this
// machine reaches Debian's mirror but no registry that serves ruby: or
// nginx: images. docker/Dockerfile is built FROM these through its
// BASE_IMAGE and NGINX_IMAGE build arguments.
type Base struct {
	// Name is the image's name in builder storage, as deploy.hcl's
	// build_args give it, e.g. localhost/deploykit/ruby:bookworm.
	Name     string
	Suite    string
	Packages []string
	Env      []string // KEY=VALUE
	Cmd      []string
	// StopSignal is the image's STOPSIGNAL (nginx: SIGQUIT, a graceful stop).
	StopSignal string
	// Executables are scripts written into the root filesystem, by path,
	// with mode 0755.
	Executables map[string]string
	// Remove lists paths deleted from the root filesystem (Debian's default
	// nginx site, which would claim port 80 beside docker/nginx.conf).
	Remove []string
	// CopyHost copies these host files and directories into the image at
	// the same path (the toolkit's own Go toolchain, for the supercronic
	// stage); the key then includes the toolchain's version.
	CopyHost []string
	// From makes this image from another base (sharing its layer: one
	// mmdebstrap, about a minute, instead of two) with its own
	// configuration; Packages and Suite are then the other's.
	From string
}

// KeyLabel holds a base image's key: a different package list, suite or
// configuration is a different image.
const KeyLabel = "org.railsecs.deploykit.base-key"

// Bases are the images the sandbox's build arguments name: Debian's Ruby
// with the gems the example app uses, packaged (Rails 6.1, unicorn,
// sidekiq, mysql2, sprockets, sassc, terser with Node; puma and pg for
// apps on that stack), and Debian's nginx.
// The nginx image is made from the Ruby one: the sandbox's nginx carries
// Ruby it never runs, which costs no storage (one shared layer) and saves
// a minute on a fresh machine.
var Bases = []Base{
	{
		Name: "localhost/deploykit/ruby:bookworm", Suite: "bookworm",
		Packages: []string{"ruby", "ruby-rails", "ruby-sprockets-rails", "ruby-sass-rails", "ruby-sassc-rails", "ruby-terser",
			"ruby-execjs", "nodejs", "unicorn", "ruby-sidekiq", "ruby-mysql2", "ruby-redis", "ruby-bootsnap", "ruby-whenever",
			// puma and pg: the stack init writes for `rails new -d postgresql`.
			"puma", "ruby-pg",
			"libjemalloc2", "default-mysql-client", "curl", "ca-certificates", "passwd", "nginx-light"},
		Env: []string{"LANG=C.UTF-8"},
		Cmd: []string{"irb"},
		// Debian's ruby-bootsnap ships the library without its command,
		// which the Dockerfile runs (bundle exec bootsnap precompile).
		Executables: map[string]string{"/usr/local/bin/bootsnap": "#!/usr/bin/ruby\nrequire \"bootsnap/cli\"\nexit Bootsnap::CLI.new(ARGV).run\n"},
	},
	{
		// The Dockerfile's supercronic stage builds it with Go; Debian
		// bookworm's Go (1.19) is too old, so this one carries the Go
		// that runs the toolkit.
		Name: "localhost/deploykit/golang:host", From: "localhost/deploykit/ruby:bookworm",
		// With this machine's CA bundle: its TLS to the Go module proxy
		// may be re-signed by a CA Debian's bundle lacks.
		CopyHost: []string{runtime.GOROOT(), "/etc/ssl/certs/ca-certificates.crt"},
		Env:      []string{"LANG=C.UTF-8", "PATH=" + runtime.GOROOT() + "/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		Cmd:      []string{"go", "version"},
	},
	{
		Name: "localhost/deploykit/nginx:bookworm", From: "localhost/deploykit/ruby:bookworm",
		Env:        []string{"LANG=C.UTF-8"},
		Cmd:        []string{"nginx", "-g", "daemon off;"},
		StopSignal: "SIGQUIT",
		Remove:     []string{"/etc/nginx/sites-enabled/default"},
	},
}

// Key identifies what the image is made of; a derived image's key
// includes its source's.
func (b Base) Key(bases []Base) string {
	h := sha256.New()
	fmt.Fprintf(h, "v1\n%s\n%s\n%q\n%q\n%q\n%s\n%q\n%q\n", b.Suite, runtime.GOARCH, b.Packages, b.Env, b.Cmd, b.StopSignal, b.Remove, b.CopyHost)
	for _, path := range slices.Sorted(maps.Keys(b.Executables)) {
		fmt.Fprintf(h, "exec %s %q\n", path, b.Executables[path])
	}
	if len(b.CopyHost) > 0 {
		fmt.Fprintf(h, "go %s\n", runtime.Version())
	}
	for _, o := range bases {
		if o.Name == b.From && o.From == "" {
			fmt.Fprintf(h, "from %s\n", o.Key(nil))
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// BaseBuilder makes base images with mmdebstrap and buildah.
type BaseBuilder struct {
	Buildah image.Buildah // its storage flags; the builds run buildah directly
	// Sources is the apt sources file mmdebstrap reads; AptConf the
	// directory whose files point apt at this machine's mirror.
	Sources, AptConf string
	Out              io.Writer
	// Registry, when set, is a loopback registry that gets a copy of each
	// base image (REGISTRY/deploykit/NAME:TAG), so a builder with other
	// storage (BuildKit, a fresh buildah root) can start from it too.
	Registry string
}

// DefaultBaseBuilder uses buildah's default storage and this machine's
// apt configuration.
func DefaultBaseBuilder(out io.Writer) BaseBuilder {
	return BaseBuilder{Sources: "/etc/apt/sources.list.d/debian.sources", AptConf: "/etc/apt/apt.conf.d", Out: out}
}

// MissingTools names what making base images needs and is not installed.
func MissingTools() []string {
	var missing []string
	for _, bin := range []string{"mmdebstrap", "buildah"} {
		if _, err := exec.LookPath(bin); err != nil {
			missing = append(missing, bin)
		}
	}
	return missing
}

// Ensure makes every base image present in builder storage with its
// current key, building those that are missing or stale, then (with a
// Registry) in the registry.
func (bb BaseBuilder) Ensure(ctx context.Context, bases []Base) error {
	for _, b := range bases {
		if err := bb.ensure(ctx, b, b.Key(bases)); err != nil {
			return err
		}
	}
	if bb.Registry == "" {
		return nil
	}
	for _, b := range bases {
		if err := bb.publish(ctx, b, b.Key(bases)); err != nil {
			return err
		}
	}
	return nil
}

// InRegistry is where a base image's registry copy lives.
func InRegistry(registry, name string) string {
	return registry + "/" + strings.TrimPrefix(name, "localhost/")
}

// publish pushes b to the registry unless the registry's copy carries
// the same key.
func (bb BaseBuilder) publish(ctx context.Context, b Base, key string) error {
	ref := InRegistry(bb.Registry, b.Name)
	reg := image.Registry{Host: bb.Registry}
	if labels, err := reg.Labels(ctx, ref, "linux/"+runtime.GOARCH); err == nil && labels[KeyLabel] == key {
		fmt.Fprintf(bb.Out, "base image %s: in the registry (key %s)\n", ref, key)
		return nil
	}
	start := time.Now()
	push := append(bb.Buildah.Command("push", "--quiet"), "--tls-verify=false", b.Name, "docker://"+ref)
	if err := bb.run(exec.CommandContext(ctx, push[0], push[1:]...)); err != nil {
		return fmt.Errorf("base image %s: push to %s: %w", b.Name, ref, err)
	}
	fmt.Fprintf(bb.Out, "base image %s: pushed in %s\n", ref, time.Since(start).Round(time.Second))
	return nil
}

func (bb BaseBuilder) ensure(ctx context.Context, b Base, key string) error {
	if have := bb.label(ctx, b.Name); have == key {
		fmt.Fprintf(bb.Out, "base image %s: up to date (key %s)\n", b.Name, key)
		return nil
	}
	if b.From != "" {
		return bb.derive(ctx, b, key)
	}
	if missing := MissingTools(); len(missing) > 0 {
		return fmt.Errorf("base image %s: %s not installed: run scripts/setup (apt-get install mmdebstrap buildah)", b.Name, strings.Join(missing, ", "))
	}
	start := time.Now()
	fmt.Fprintf(bb.Out, "base image %s: building Debian %s with %d packages (mmdebstrap, about a minute; once per package list)\n", b.Name, b.Suite, len(b.Packages))
	dir, err := os.MkdirTemp("", "deploykit-base-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	rootfs := filepath.Join(dir, "rootfs.tar")
	args := []string{"--variant=minbase", "--include=" + strings.Join(b.Packages, ","), "--quiet"}
	for _, f := range bb.aptOptions() {
		args = append(args, "--aptopt="+f)
	}
	for _, p := range b.Remove {
		args = append(args, "--customize-hook=rm -f \"$1\""+p)
	}
	for _, path := range slices.Sorted(maps.Keys(b.Executables)) {
		content := base64.StdEncoding.EncodeToString([]byte(b.Executables[path]))
		args = append(args, fmt.Sprintf("--customize-hook=echo %s | base64 -d > \"$1\"%s && chmod 0755 \"$1\"%s", content, path, path))
	}
	args = append(args, b.Suite, rootfs, bb.Sources)
	if err := bb.run(exec.CommandContext(ctx, "mmdebstrap", args...)); err != nil {
		return fmt.Errorf("base image %s: %w", b.Name, err)
	}
	fmt.Fprintf(bb.Out, "base image %s: root filesystem written in %s; committing it\n", b.Name, time.Since(start).Round(time.Second))
	var stderr bytes.Buffer
	from := bb.command(ctx, "from", "scratch")
	from.Stderr = &stderr
	id, err := from.Output()
	if err != nil {
		return fmt.Errorf("base image %s: buildah from scratch: %v: %s", b.Name, err, stderr.String())
	}
	c := strings.TrimSpace(string(id))
	defer bb.command(context.Background(), "rm", c).Run()
	if err := bb.commit(ctx, b, key, c, []string{"add", "--quiet", c, rootfs, "/"}); err != nil {
		return err
	}
	fmt.Fprintf(bb.Out, "base image %s: built in %s (key %s)\n", b.Name, time.Since(start).Round(time.Second), key)
	return nil
}

// derive makes b from its source image: the source's layer, b's
// configuration, b.Remove deleted.
func (bb BaseBuilder) derive(ctx context.Context, b Base, key string) error {
	var stderr bytes.Buffer
	from := bb.command(ctx, "from", "--pull=never", b.From)
	from.Stderr = &stderr
	id, err := from.Output()
	if err != nil {
		return fmt.Errorf("base image %s: buildah from %s: %v: %s", b.Name, b.From, err, stderr.String())
	}
	c := strings.TrimSpace(string(id))
	defer bb.command(context.Background(), "rm", c).Run()
	for _, dir := range b.CopyHost {
		if err := bb.run(bb.command(ctx, "copy", "--quiet", c, dir, dir)); err != nil {
			return fmt.Errorf("base image %s: %w", b.Name, err)
		}
	}
	var change []string
	if len(b.Remove) > 0 {
		change = append([]string{"run", "--isolation", "chroot", c, "--", "rm", "-f"}, b.Remove...)
	}
	if err := bb.commit(ctx, b, key, c, change); err != nil {
		return err
	}
	fmt.Fprintf(bb.Out, "base image %s: made from %s (key %s)\n", b.Name, b.From, key)
	return nil
}

// commit applies change (if any) to working container c, sets b's
// configuration and commits it as b.Name.
func (bb BaseBuilder) commit(ctx context.Context, b Base, key, c string, change []string) error {
	cmd, err := json.Marshal(b.Cmd)
	if err != nil {
		return err
	}
	config := []string{"config", "--label", KeyLabel + "=" + key, "--cmd", string(cmd)}
	for _, e := range b.Env {
		config = append(config, "--env", e)
	}
	if b.StopSignal != "" {
		config = append(config, "--stop-signal", b.StopSignal)
	}
	var steps [][]string
	if change != nil {
		steps = append(steps, change)
	}
	steps = append(steps, append(config, c), []string{"commit", "--quiet", c, b.Name})
	for _, s := range steps {
		if err := bb.run(bb.command(ctx, s...)); err != nil {
			return fmt.Errorf("base image %s: %w", b.Name, err)
		}
	}
	return nil
}

// aptOptions are the apt.conf.d files that carry Acquire settings (the
// mirror, its proxy, its date checks): without them mmdebstrap's apt
// cannot download here.
func (bb BaseBuilder) aptOptions() []string {
	entries, err := os.ReadDir(bb.AptConf)
	if err != nil {
		return nil
	}
	var files []string
	for _, e := range entries {
		path := filepath.Join(bb.AptConf, e.Name())
		data, err := os.ReadFile(path)
		if err == nil && bytes.Contains(data, []byte("Acquire")) {
			files = append(files, path)
		}
	}
	return files
}

// label is the image's key label, "" when the image is missing.
func (bb BaseBuilder) label(ctx context.Context, name string) string {
	out, err := bb.command(ctx, "inspect", "--type", "image", "--format", "{{index .ImageAnnotations \""+KeyLabel+"\"}}{{index .OCIv1.Config.Labels \""+KeyLabel+"\"}}", name).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(strings.ReplaceAll(string(out), "<no value>", ""))
}

// command is buildah with the builder's storage flags.
func (bb BaseBuilder) command(ctx context.Context, args ...string) *exec.Cmd {
	line := bb.Buildah.Command(args...)
	return exec.CommandContext(ctx, line[0], line[1:]...)
}

// run runs cmd and, when it fails, says which step with the end of its
// output.
func (bb BaseBuilder) run(cmd *exec.Cmd) error {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		tail := out.String()
		if len(tail) > 2000 {
			tail = "..." + tail[len(tail)-2000:]
		}
		return fmt.Errorf("%s %s: %v\n%s", filepath.Base(cmd.Args[0]), cmd.Args[1], err, tail)
	}
	return nil
}
