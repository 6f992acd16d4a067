package targets

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	awsecs "github.com/aws/aws-sdk-go-v2/service/ecs"
	"mvdan.cc/sh/v3/shell"
	"mvdan.cc/sh/v3/syntax"

	"github.com/railsecs/deploykit/mage/awsfake"
	"github.com/railsecs/deploykit/mage/config"
	"github.com/railsecs/deploykit/mage/ecs"
	"github.com/railsecs/deploykit/mage/image"
	"github.com/railsecs/deploykit/mage/release"
)

// Migrate runs the environment's migration task once, on the image of the
// current commit or -tag.
func Migrate(ctx context.Context, env, tag *string, detach *bool, timeout *time.Duration) error {
	return osConsole().oneOff(ctx, envName(env), tag, flag(detach), timeout, nil)
}

// Run runs any command as a one-off task of the app image.
func Run(ctx context.Context, command string, env, tag *string, detach *bool, timeout *time.Duration) error {
	args, err := splitCommand(command)
	if err != nil {
		return err
	}
	return osConsole().oneOff(ctx, envName(env), tag, flag(detach), timeout, args)
}

// splitCommand splits like a shell, without running one. Expansions are
// refused: $VAR or $(cmd) would be evaluated here, not in the task.
func splitCommand(command string) ([]string, error) {
	file, err := syntax.NewParser().Parse(strings.NewReader(command), "")
	if err != nil {
		return nil, fmt.Errorf("command %q: %w", command, err)
	}
	var expansion string
	syntax.Walk(file, func(node syntax.Node) bool {
		switch n := node.(type) {
		case *syntax.ParamExp:
			expansion = "$" + n.Param.Value
		case *syntax.CmdSubst, *syntax.ArithmExp, *syntax.ProcSubst:
			expansion = "a substitution"
		}
		return expansion == ""
	})
	if expansion != "" {
		return nil, fmt.Errorf("command %q uses %s, which would expand here, not in the task: put it in single quotes", command, expansion)
	}
	args, err := shell.Fields(command, func(name string) string {
		if name == "IFS" {
			return " \t\n"
		}
		return ""
	})
	if err != nil {
		return nil, fmt.Errorf("command %q: %w", command, err)
	}
	if len(args) == 0 {
		return nil, fmt.Errorf("empty command")
	}
	return args, nil
}

func (c console) oneOff(ctx context.Context, envName string, tag *string, detach bool, timeout *time.Duration, command []string) error {
	cfg, env, err := c.loadEnv(envName)
	if err != nil {
		return err
	}
	imageTag, err := c.imageTag(ctx, cfg, tag)
	if err != nil {
		return err
	}
	awsCfg, stop, err := c.awsConfig(ctx, cfg, env)
	if err != nil {
		return err
	}
	defer stop()
	verb, shown := "migration", command
	if command == nil && env.Migrate != nil {
		shown = env.Migrate.Command
	} else {
		verb = "task"
	}
	opts := ecs.RunOptions{Detach: detach}
	if timeout != nil {
		opts.Timeout = *timeout
	}
	runner := &ecs.Runner{ECS: awsecs.NewFromConfig(awsCfg), Logs: cloudwatchlogs.NewFromConfig(awsCfg), Out: c.out}
	fmt.Fprintf(c.out, "==> %s in %s: %s\n", verb, env.Cluster, strings.Join(shown, " "))
	arn, err := release.RunOneOff(ctx, runner, cfg, env, release.OneOff{Command: command, Marker: "deploykit-run", Tag: imageTag, Who: c.who()}, opts)
	if err != nil {
		return err
	}
	if detach {
		fmt.Fprintf(c.out, "detached: %s keeps running\n", arn)
		return nil
	}
	fmt.Fprintf(c.out, "%s succeeded (task %s)\n", verb, ecs.ShortID(arn))
	return nil
}

// imageTag is -tag, or the tag `push` gives the current tree (the
// configured SHA length; a dirty tree gets its -dirty tag).
func (c console) imageTag(ctx context.Context, cfg *config.Config, tag *string) (string, error) {
	if tag != nil && *tag != "" {
		return *tag, image.ValidateTag(*tag)
	}
	commit, err := release.CurrentCommit(ctx, cfg, true)
	if err != nil {
		return "", fmt.Errorf("find the current commit (pass -tag=TAG outside a git checkout): %w", err)
	}
	return commit.Tag, nil
}

// who names the person or CI job starting something.
func (c console) who() string {
	if u := c.getenv("CIRCLE_BUILD_URL"); u != "" {
		return u
	}
	name := c.getenv("USER")
	if name == "" {
		if u, err := user.Current(); err == nil {
			name = u.Username
		} else {
			name = "unknown"
		}
	}
	host, _ := os.Hostname()
	return name + "@" + host
}

// awsConfig is the SDK configuration for an environment. The sandbox, when
// no endpoint is configured, gets the in-process AWS double, with its task
// definitions and services kept in .deploykit/sandbox between runs.
func (c console) awsConfig(ctx context.Context, cfg *config.Config, env *config.Environment) (aws.Config, func(), error) {
	if env.Name != DefaultEnv || c.getenv("AWS_ENDPOINT_URL") != "" {
		awsCfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(env.Region))
		if err != nil {
			return aws.Config{}, nil, fmt.Errorf("AWS credentials for %s: %w", env.Name, err)
		}
		return awsCfg, func() {}, nil
	}
	fake := awsfake.New()
	statePath := sandboxStatePath(cfg)
	if err := fake.Load(statePath); err != nil {
		return aws.Config{}, nil, err
	}
	// One-off tasks run for real in the built image when buildah is here.
	fake.Outcome = release.SandboxOutcome(image.Buildah{Insecure: true, Driver: c.getenv("DEPLOYKIT_BUILDAH_DRIVER")})
	url, srv, err := fake.Listen("127.0.0.1:0")
	if err != nil {
		return aws.Config{}, nil, err
	}
	fmt.Fprintf(c.out, "sandbox: AWS double at %s (state in %s)\n", url, statePath)
	awsCfg := aws.Config{
		Region:       env.Region,
		Credentials:  credentials.NewStaticCredentialsProvider("sandbox", "sandbox", ""),
		BaseEndpoint: aws.String(url),
	}
	stop := func() {
		_ = srv.Close()
		if err := fake.Save(statePath); err != nil {
			fmt.Fprintf(c.out, "WARNING: sandbox state not saved: %v\n", err)
		}
	}
	return awsCfg, stop, nil
}

func sandboxStatePath(cfg *config.Config) string {
	dir := filepath.Join(cfg.Dir, ".deploykit", DefaultEnv)
	_ = os.MkdirAll(dir, 0o755)
	return filepath.Join(dir, "aws-double.json")
}

// SandboxServe serves the AWS double, printing its endpoint URL first.
func SandboxServe(ctx context.Context, addr *string) error {
	c := osConsole()
	cfg, err := c.loadConfig()
	if err != nil {
		return err
	}
	fake := awsfake.New()
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
