package targets

import (
	"context"

	"github.com/railsecs/deploykit/mage/sandbox"
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
	return bb.Ensure(ctx, sandbox.Bases)
}
