package targets

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	awsecs "github.com/aws/aws-sdk-go-v2/service/ecs"
	"mvdan.cc/sh/v3/shell"
	"mvdan.cc/sh/v3/syntax"

	"github.com/railsecs/deploykit/mage/config"
	"github.com/railsecs/deploykit/mage/ecs"
	"github.com/railsecs/deploykit/mage/imageref"
	"github.com/railsecs/deploykit/mage/release"
)

// Migrate runs the environment's migration task once, on the image of the
// current commit or -tag.
func Migrate(ctx context.Context, env, tag *string, detach *bool, timeout *time.Duration) error {
	if err := checkArgs(osArgs(), "migrate"); err != nil {
		return err
	}
	ctx, stop := withSIGTERM(ctx)
	defer stop()
	return osConsole().oneOff(ctx, envName(env), tag, flag(detach), timeout, nil)
}

// Run runs any command as a one-off task of the app image.
func Run(ctx context.Context, command string, env, tag *string, detach *bool, timeout *time.Duration) error {
	args, err := splitCommand(command)
	if err != nil {
		return err
	}
	ctx, stop := withSIGTERM(ctx)
	defer stop()
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
	arn, err := release.RunOneOff(ctx, runner, cfg, env, release.OneOff{Command: command, Marker: "deploykit-run", Tag: imageref.Pin{Tag: imageTag}, Who: c.who()}, opts)
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
		return *tag, imageref.ValidateTag(*tag)
	}
	commit, err := release.CurrentCommit(ctx, cfg, true)
	if err != nil {
		return "", fmt.Errorf("find the current commit (pass -tag=TAG outside a git checkout): %w", err)
	}
	return commit.Tag, nil
}
