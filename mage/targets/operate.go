package targets

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	awsecs "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/mattn/go-isatty"

	"github.com/railsecs/deploykit/mage/config"
	"github.com/railsecs/deploykit/mage/ecs"
	"github.com/railsecs/deploykit/mage/image"
	"github.com/railsecs/deploykit/mage/sandbox"
)

// LogsFlags are the flags of logs.
type LogsFlags struct {
	Env, Service, Container, Grep *string
	Since                         *time.Duration
	Follow                        *bool
}

// Logs prints a service's CloudWatch Logs, interleaved by time.
func Logs(ctx context.Context, f LogsFlags) error {
	if err := checkArgs(osArgs(), "logs"); err != nil {
		return err
	}
	ctx, stop := withSIGTERM(ctx)
	defer stop()
	return osConsole().logs(ctx, f)
}

func (c console) logs(ctx context.Context, f LogsFlags) error {
	cfg, env, err := c.loadEnv(envName(f.Env))
	if err != nil {
		return err
	}
	o := ecs.ServiceLogsOptions{Cluster: env.Cluster, Service: deref(f.Service), Container: deref(f.Container), Follow: flag(f.Follow)}
	if o.Service == "" {
		return fmt.Errorf("logs: -service=NAME is required (services of %s: %v)", env.Name, env.ServiceNames())
	}
	if f.Since != nil {
		o.Since = *f.Since
	}
	if g := deref(f.Grep); g != "" {
		re, err := regexp.Compile(g)
		if err != nil {
			return fmt.Errorf("-grep=%s: %w", g, err)
		}
		o.Grep = re
	}
	awsCfg, stopAWS, _, err := c.awsSetup(ctx, cfg, env)
	if err != nil {
		return err
	}
	defer stopAWS()
	return ecs.ServiceLogs(ctx, awsecs.NewFromConfig(awsCfg), cloudwatchlogs.NewFromConfig(awsCfg), c.out, o)
}

// ExecFlags are the flags of exec and console.
type ExecFlags struct {
	Env, Service, Container *string
}

// Exec runs a command in a running task of a service through ECS Exec.
func Exec(ctx context.Context, command string, f ExecFlags) error {
	if strings.HasPrefix(command, "-") {
		// mage hands the first word after the target to the command.
		return fmt.Errorf("exec %q: the command comes first, flags go after the command: mage exec \"bin/rails runner 'p 1'\" -service=NAME", command)
	}
	if strings.TrimSpace(command) == "" {
		return fmt.Errorf("empty command") // as run says: before any AWS call
	}
	ctx, stop := withSIGTERM(ctx)
	defer stop()
	return osConsole().exec(ctx, f, func(*config.Environment) string { return command })
}

// Console opens the environment's console command (bin/rails console by
// default) in a running task through ECS Exec.
func Console(ctx context.Context, f ExecFlags) error {
	if err := checkArgs(osArgs(), "console"); err != nil {
		return err
	}
	ctx, stop := withSIGTERM(ctx)
	defer stop()
	return osConsole().exec(ctx, f, (*config.Environment).ConsoleCommand)
}

func (c console) exec(ctx context.Context, f ExecFlags, command func(*config.Environment) string) error {
	cfg, env, err := c.loadEnv(envName(f.Env))
	if err != nil {
		return err
	}
	service := deref(f.Service)
	if service == "" {
		names := env.ServiceNames()
		for _, s := range names {
			if len(env.AppContainers(s)) > 0 {
				service = s
				break
			}
		}
		if service == "" {
			return fmt.Errorf("-service=NAME is required (services of %s: %v)", env.Name, names)
		}
	}
	cmd := command(env)
	plugin, err := c.sessionPlugin(cfg, env)
	if err != nil {
		return err // before any call: no session to leave behind
	}
	awsCfg, stopAWS, _, err := c.awsSetup(ctx, cfg, env)
	if err != nil {
		return err
	}
	defer stopAWS()
	client := awsecs.NewFromConfig(awsCfg)
	target, err := ecs.WaitExecTarget(ctx, client, c.out, ecs.AgentWait, env.Cluster, service, deref(f.Container), env.AppContainers(service))
	if err != nil {
		return err
	}
	fmt.Fprintf(c.out, "exec: %q in %s of task %s (service %s, %s)\n", cmd, target.Container, ecs.ShortID(target.TaskArn), service, env.Name)
	return ecs.Exec(ctx, client, target, cmd, ecs.Session{
		Region: awsCfg.Region, Profile: c.getenv("AWS_PROFILE"), Endpoint: ecsEndpoint(awsCfg, c.getenv),
		AgentWait: ecs.AgentWait, Progress: c.out,
	}, plugin)
}

// sessionPlugin is AWS's session-manager-plugin for real environments
// and the buildah stand-in for the sandbox.
func (c console) sessionPlugin(cfg *config.Config, env *config.Environment) (ecs.SessionPlugin, error) {
	if env.Local && c.getenv("AWS_ENDPOINT_URL") == "" {
		return sandbox.ExecPlugin{
			Buildah: image.Buildah{Insecure: true, Driver: c.getenv("DEPLOYKIT_BUILDAH_DRIVER")},
			Pods:    sandbox.RuntimePods(cfg, env),
			Stdin:   os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Out: c.out,
			TTY: isatty.IsTerminal(os.Stdin.Fd()) && isatty.IsTerminal(os.Stdout.Fd()),
		}, nil
	}
	p := ecs.ManagerPlugin{IgnoreSignals: true}
	if _, err := p.LookPlugin(); err != nil {
		return nil, err
	}
	return p, nil
}

// ecsEndpoint is the ECS endpoint the plugin is told, as the aws CLI
// tells it its client's.
func ecsEndpoint(cfg aws.Config, getenv func(string) string) string {
	for _, v := range []string{getenv("AWS_ENDPOINT_URL_ECS"), aws.ToString(cfg.BaseEndpoint)} {
		if v != "" {
			return v
		}
	}
	return "https://ecs." + cfg.Region + ".amazonaws.com"
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
