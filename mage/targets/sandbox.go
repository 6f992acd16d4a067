package targets

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/railsecs/deploykit/mage/awsfake"
	"github.com/railsecs/deploykit/mage/image"
)

// SandboxServe serves the AWS double, printing its endpoint URL first.
func SandboxServe(ctx context.Context, addr *string) error {
	c := osConsole()
	cfg, err := c.loadConfig()
	if err != nil {
		return err
	}
	fake := awsfake.New()
	fake.SetTiming(awsfake.SandboxTiming)
	if err := fake.Load(sandboxStatePath(cfg, DefaultEnv)); err != nil {
		return err
	}
	listen := "127.0.0.1:0"
	if addr != nil && *addr != "" {
		listen = *addr
	}
	url, srv, err := fake.Listen(listen)
	if err != nil {
		return err
	}
	fmt.Fprintln(c.out, url)
	fmt.Fprintf(c.out, "serving ECS and CloudWatch Logs for the sandbox; use AWS_ENDPOINT_URL=%s; Ctrl-C stops\n", url)
	ctx, cancel := signal.NotifyContext(ctx, os.Interrupt)
	defer cancel()
	<-ctx.Done()
	return srv.Close()
}

// SandboxDown stops the sandbox's docker-registry; with wipe it also
// deletes the sandbox's state: the double's, terraform's, the lock and
// history, saved plans and the registry's images.
func SandboxDown(ctx context.Context, wipe *bool) error {
	c := osConsole()
	cfg, err := c.loadConfig()
	if err != nil {
		return err
	}
	regRoot := filepath.Join(cfg.Dir, ".deploykit", "registry")
	dirs, _ := filepath.Glob(filepath.Join(regRoot, "*"))
	stopped := 0
	for _, dir := range dirs {
		pid, err := image.StopLocalRegistry(dir)
		if err != nil {
			return err
		}
		if pid != 0 {
			stopped++
			fmt.Fprintf(c.out, "sandbox: stopped docker-registry (pid %d, %s)\n", pid, dir)
		}
	}
	if stopped == 0 {
		fmt.Fprintln(c.out, "sandbox: no docker-registry of this checkout is running")
	}
	if !flag(wipe) {
		return nil
	}
	wiped := []string{regRoot}
	for _, env := range cfg.Environments {
		if env.Local {
			wiped = append(wiped, filepath.Join(cfg.Dir, ".deploykit", env.Name))
		}
	}
	for _, dir := range wiped {
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("wipe %s: %w", dir, err)
		}
		fmt.Fprintf(c.out, "sandbox: removed %s\n", dir)
	}
	return nil
}
