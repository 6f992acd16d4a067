package targets

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/railsecs/deploykit/mage/awsfake"
	"github.com/railsecs/deploykit/mage/config"
	"github.com/railsecs/deploykit/mage/image"
	"github.com/railsecs/deploykit/mage/release"
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
	return image.ParseTags(*tag)
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
		ws.TF.Env = append(ws.TF.Env, endpointEnv(awsCfg)...)
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

// Test builds OpenTofu when it is missing (the tests always run it), runs
// every Go test, then the CircleCI jobs simulated on a fresh copy.
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
	// Every AWS double in the suite checks each request and answer against
	// botocore's models; the exchanges are counted for the summary.
	contractLog, err := os.MkdirTemp("", "deploykit-contract-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(contractLog)
	env := append(os.Environ(), "DEPLOYKIT_TOFU="+tofu, "TF_CLI_CONFIG_FILE=/dev/null", "DEPLOYKIT_REQUIRE_TOOLS=1",
		awsfake.ContractEnv+"=1", awsfake.ContractLogEnv+"="+contractLog)
	goTest := func(args ...string) *exec.Cmd {
		cmd := exec.CommandContext(ctx, "go", append([]string{"test", "-count=1"}, args...)...)
		cmd.Stdout, cmd.Stderr, cmd.Env = c.out, os.Stderr, env
		return cmd
	}
	if os.Getenv(insideCircleCISimulation) != "" {
		// The simulated test job proves its steps install and run what the
		// suite needs, without running every test a second time: the unit
		// tests, and every tool the integration tests run, required.
		fmt.Fprintln(c.out, "==> inside the CircleCI simulation: go test -short ./... and the tools the suite runs")
		if err := goTest("-short", "./...").Run(); err != nil {
			return err
		}
		return goTest("-run", "^TestEveryToolIsInstalled$", "./mage/internal/testtools").Run()
	}
	fmt.Fprintf(c.out, "==> go test ./... (tofu: %s)\n", tofu)
	start := time.Now()
	if err := goTestJSON(ctx, c.out, env, "./..."); err != nil {
		return err
	}
	fmt.Fprintf(c.out, "==> the suite took %s\n", time.Since(start).Round(time.Second))
	if err := contractSummary(c.out, contractLog); err != nil {
		return err
	}
	// The CircleCI jobs, simulated on fresh copies, once the suite passed.
	fmt.Fprintln(c.out, "==> the CircleCI jobs on a fresh copy (mage/internal/cisim)")
	sim := goTest("-timeout=30m", "./mage/internal/cisim")
	sim.Env = append(sim.Env, circleCISimulation+"=1")
	return sim.Run()
}

// goTestJSON runs go test -json over pkgs, printing it as plain go test
// would, then the slowest tests with their times.
func goTestJSON(ctx context.Context, out io.Writer, env []string, pkgs ...string) error {
	cmd := exec.CommandContext(ctx, "go", append([]string{"test", "-count=1", "-json", "-timeout=30m"}, pkgs...)...)
	cmd.Stderr, cmd.Env = os.Stderr, env
	events, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	times, digestErr := digestTestEvents(events, out)
	err = cmd.Wait()
	printSlowest(out, times, 15)
	if err != nil {
		return fmt.Errorf("go test: %w", err)
	}
	return digestErr
}

// The switches of mage/internal/cisim's test.
const (
	circleCISimulation       = "DEPLOYKIT_CIRCLECI_SIMULATION"
	insideCircleCISimulation = "DEPLOYKIT_INSIDE_CIRCLECI_SIMULATION"
)

// contractSummary prints how many exchanges the doubles checked against
// botocore's models, and fails when any violated them or none was checked.
func contractSummary(out io.Writer, dir string) error {
	files, _ := filepath.Glob(filepath.Join(dir, "contract-*.log"))
	checked, violations := map[string]int{}, 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			fields := strings.Fields(line)
			if len(fields) != 3 {
				continue
			}
			checked[fields[1]]++
			if fields[2] != "0" {
				violations++
			}
		}
	}
	fmt.Fprintf(out, "==> AWS double contract: %d requests and %d responses checked against botocore's models, %d violations\n", checked["request"], checked["response"], violations)
	if checked["response"] == 0 {
		return errors.New("the AWS double checked no exchange against botocore's models: is the aws CLI installed?")
	}
	if violations > 0 {
		return fmt.Errorf("%d exchanges violated botocore's models (see the failing tests above)", violations)
	}
	return nil
}
