package targets

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mattn/go-isatty"

	"github.com/railsecs/deploykit/mage/config"
	"github.com/railsecs/deploykit/mage/imageref"
	"github.com/railsecs/deploykit/mage/internal/testrun"
	"github.com/railsecs/deploykit/mage/release"
	"github.com/railsecs/deploykit/mage/sandbox"
	"github.com/railsecs/deploykit/mage/terraform"
	"github.com/railsecs/deploykit/mage/tfvars"
)

// DefaultEnv is the environment used when -env is not given.
const DefaultEnv = "sandbox"

// ConfigFileEnv names another configuration file than ./deploy.hcl.
const ConfigFileEnv = "DEPLOYKIT_CONFIG"

// console is what targets read from and write to; tests replace it.
type console struct {
	out      io.Writer
	in       io.Reader
	getenv   func(string) string
	terminal bool
}

func osConsole() console {
	return console{
		out:      os.Stdout,
		in:       os.Stdin,
		getenv:   os.Getenv,
		terminal: isatty.IsTerminal(os.Stdin.Fd()) && isatty.IsTerminal(os.Stdout.Fd()),
	}
}

func (c console) loadConfig() (*config.Config, error) {
	path := config.DefaultFile
	if p := c.getenv(ConfigFileEnv); p != "" {
		path = p
	}
	return config.Load(path, c.getenv)
}

// loadEnv reads the configuration and picks one environment from it.
func (c console) loadEnv(name string) (*config.Config, *config.Environment, error) {
	cfg, err := c.loadConfig()
	if err != nil {
		return nil, nil, err
	}
	env, err := cfg.Env(name)
	if err != nil {
		return nil, nil, err
	}
	return cfg, env, nil
}

func envName(env *string) string {
	if env == nil || *env == "" {
		return DefaultEnv
	}
	return *env
}

func flag(b *bool) bool { return b != nil && *b }

func tags(tag *string) ([]string, error) {
	if tag == nil {
		return nil, nil
	}
	return imageref.ParseTags(*tag)
}

// TfvarsSet sets one string value in a tfvars file.
func TfvarsSet(ctx context.Context, file, path, value string) error {
	return osConsole().tfvarsSet(file, path, value)
}

func (c console) tfvarsSet(file, path, value string) error {
	p, err := tfvars.ParsePath(path)
	if err != nil {
		return err
	}
	change, err := tfvars.SetFile(file, p, value)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.out, "%s:%d: %s\n", file, change.Line, change)
	return nil
}

// ConfigCheck validates deploy.hcl.
func ConfigCheck(ctx context.Context) error {
	return osConsole().configCheck()
}

func (c console) configCheck() error {
	cfg, err := c.loadConfig()
	if err != nil {
		return err
	}
	fmt.Fprintf(c.out, "%s: app %s, images %d, environments: %s\n", cfg.File, cfg.App, len(cfg.Images), strings.Join(cfg.EnvNames(), ", "))
	return nil
}

// TfPlan plans an environment and saves the plan.
func TfPlan(ctx context.Context, env, tag *string, force *bool) error {
	return osConsole().tfPlan(ctx, envName(env), tag, flag(force))
}

func (c console) tfPlan(ctx context.Context, env string, tag *string, force bool) error {
	ws, plan, err := c.plan(ctx, env, tag, force)
	if err != nil {
		return err
	}
	ws.Close()
	fmt.Fprintf(c.out, "Saved plan: %s\n", plan.File)
	return nil
}

// TfApply plans an environment, shows the summary, asks, and applies that plan.
func TfApply(ctx context.Context, env, tag *string, force, yes *bool) error {
	if err := checkArgs(osArgs(), "tf:apply"); err != nil {
		return err
	}
	ctx, stop := withSIGTERM(ctx)
	defer stop()
	return osConsole().tfApply(ctx, envName(env), tag, flag(force), flag(yes))
}

func (c console) tfApply(ctx context.Context, env string, tag *string, force, yes bool) error {
	ws, plan, err := c.plan(ctx, env, tag, force)
	if err != nil {
		return err
	}
	defer ws.Close()
	if !plan.Changes {
		fmt.Fprintf(c.out, "No changes: %s is up to date.\n", env)
		return nil
	}
	if err := c.confirm(fmt.Sprintf("Apply this plan to %s?", env), yes); err != nil {
		return err
	}
	return ws.Apply(ctx, plan)
}

func (c console) plan(ctx context.Context, env string, tag *string, force bool) (*release.Workspace, *release.Plan, error) {
	deploying, err := tags(tag)
	if err != nil {
		return nil, nil, err
	}
	cfg, environment, err := c.loadEnv(env)
	if err != nil {
		return nil, nil, err
	}
	ws, err := release.Open(ctx, cfg, environment, c.out, c.getenv)
	if err != nil {
		return nil, nil, err
	}
	// The sandbox's terraform calls the AWS double, as real roots call AWS.
	if ws.Env.Local {
		awsCfg, stop, err := c.awsConfig(ctx, cfg, ws.Env)
		if err != nil {
			return nil, nil, err
		}
		ws.OnClose = stop
		ws.TF.Env = append(ws.TF.Env, sandbox.EndpointEnv(awsCfg)...)
	}
	plan, err := ws.Plan(ctx, release.PlanOptions{Deploying: deploying, Force: force})
	if err != nil {
		ws.Close()
		return nil, nil, err
	}
	return ws, plan, nil
}

// errNeedsYes is returned where nobody can answer a prompt.
var errNeedsYes = errors.New("not asking for confirmation without a terminal (CI or piped input): pass -yes to apply")

func (c console) confirm(question string, yes bool) error {
	if yes {
		return nil
	}
	if !c.terminal || c.getenv("CI") != "" {
		return errNeedsYes
	}
	fmt.Fprintf(c.out, "%s Only 'yes' is accepted: ", question)
	answer, _ := bufio.NewReader(c.in).ReadString('\n')
	if strings.TrimSpace(answer) != "yes" {
		return errors.New("not confirmed: nothing applied")
	}
	return nil
}

// Test runs the suite as CI does (see mage/internal/testrun), with the
// OpenTofu it finds (the tests always run it).
func Test(ctx context.Context) error {
	c := osConsole()
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	tofu, err := terraform.Finder{Configured: "tofu", Getenv: func(string) string { return "" }, RepoDir: wd, Out: c.out}.Find(ctx)
	if err != nil {
		return err
	}
	return testrun.Run(ctx, c.out, tofu)
}
