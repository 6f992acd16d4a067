package targets

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/railsecs/deploykit/mage/image"
	"github.com/railsecs/deploykit/mage/sandbox"
	"github.com/railsecs/deploykit/mage/sandbox/probe"
)

// SandboxServe serves the sandbox's AWS double, printing its endpoint URL first.
func SandboxServe(ctx context.Context, addr *string) error {
	c := osConsole()
	cfg, env, err := c.loadEnv(DefaultEnv)
	if err != nil {
		return err
	}
	return sandbox.Serve(ctx, cfg, env, deref(addr), c.out)
}

// SandboxDown stops the sandbox's docker-registry; with wipe it also
// deletes the sandbox's state: the double's, terraform's, the lock and
// history, saved plans and the registry's images.
func SandboxDown(ctx context.Context, wipe *bool) error {
	if err := checkArgs(osArgs(), "sandbox:down"); err != nil {
		return err
	}
	c := osConsole()
	cfg, err := c.loadConfig()
	if err != nil {
		return err
	}
	return sandbox.Down(cfg, flag(wipe), c.out)
}

// SandboxBase builds the sandbox's base images from Debian's packages
// (once per package list; a re-run reuses them).
func SandboxBase(ctx context.Context) error {
	if err := checkArgs(osArgs(), "sandbox:base"); err != nil {
		return err
	}
	c := osConsole()
	bb := sandbox.DefaultBaseBuilder(c.out)
	bb.Buildah.Driver = c.getenv("DEPLOYKIT_BUILDAH_DRIVER")
	bb.Registry = sandboxRegistry(c)
	return bb.Ensure(ctx, sandbox.Bases)
}

// sandboxRegistry is the sandbox environment's loopback registry when it
// answers (a deploy's prepare step runs after starting it), else "": the
// base images then stay in builder storage only, and the command says so.
func sandboxRegistry(c console) string {
	cfg, err := c.loadConfig()
	if err != nil {
		return ""
	}
	env, err := cfg.Env("sandbox")
	if err != nil || !env.Local || !image.Loopback(env.Registry) {
		return ""
	}
	conn, err := net.DialTimeout("tcp", env.Registry, time.Second)
	if err != nil {
		fmt.Fprintf(c.out, "registry %s is not running: the base images stay in builder storage only (a deploy starts it)\n", env.Registry)
		return ""
	}
	conn.Close()
	return env.Registry
}

// SandboxProbe requests the sandbox's page and every asset it links from
// several clients, plus a slow request always in flight, through the
// load balancer, until Ctrl-C or the duration ends, and prints what
// failed: run it beside a deploy to see what users would.
func SandboxProbe(ctx context.Context, env *string, duration *time.Duration, clients *int) error {
	if err := checkArgs(osArgs(), "sandbox:probe"); err != nil {
		return err
	}
	c := osConsole()
	_, e, err := c.loadEnv(envName(env))
	if err != nil {
		return err
	}
	if e.LocalLoadBalancer == nil {
		return fmt.Errorf("environment %s has no local_load_balancer: nothing serves requests to probe", e.Name)
	}
	d := 60 * time.Second
	if duration != nil && *duration > 0 {
		d = *duration
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	p := probe.Probe{URL: "http://" + e.LocalLoadBalancer.Listen + "/", Slow: "/slow?seconds=3"}
	if clients != nil {
		p.Clients = *clients
	}
	fmt.Fprintf(c.out, "probing %s with %d clients and a slow request in flight, for up to %s (Ctrl-C ends it)\n", p.URL, cmp.Or(p.Clients, 4), d)
	res := probe.Run(ctx, p)
	fmt.Fprintln(c.out, res)
	for _, s := range res.Samples {
		fmt.Fprintln(c.out, "  "+s)
	}
	if res.Failures > 0 {
		return fmt.Errorf("%d of %d requests failed (%d asset 404s)", res.Failures, res.Requests, res.Asset404s)
	}
	return nil
}
