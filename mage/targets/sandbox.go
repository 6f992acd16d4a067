package targets

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"github.com/railsecs/deploykit/mage/awsfake"
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
	if err := fake.Load(sandboxStatePath(cfg)); err != nil {
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
