// Package testrun is `mage test`: the suite as CI runs it, its budget made
// visible, and the CircleCI jobs simulated after it.
package testrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/railsecs/deploykit/mage/awsfake"
)

// Run runs every Go test (go test -json, printed as plain go test output,
// then the slowest tests and the suite's time) with every tool required,
// checks the AWS doubles' exchanges against botocore's models, then runs
// the CircleCI jobs simulated on a fresh copy. Inside that simulation it
// runs only the unit tests and the tool check, not the suite again.
func Run(ctx context.Context, out io.Writer, tofu string) error {
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
		cmd.Stdout, cmd.Stderr, cmd.Env = out, os.Stderr, env
		return cmd
	}
	if os.Getenv(insideCircleCISimulation) != "" {
		// The simulated test job proves its steps install and run what the
		// suite needs, without running every test a second time: the unit
		// tests, and every tool the integration tests run, required.
		fmt.Fprintln(out, "==> inside the CircleCI simulation: go test -short ./... and the tools the suite runs")
		if err := goTest("-short", "./...").Run(); err != nil {
			return err
		}
		return goTest("-run", "^TestEveryToolIsInstalled$", "./mage/internal/testtools").Run()
	}
	fmt.Fprintf(out, "==> go test ./... (tofu: %s)\n", tofu)
	start := time.Now()
	if err := goTestJSON(ctx, out, env, "./..."); err != nil {
		return err
	}
	fmt.Fprintf(out, "==> the suite took %s\n", time.Since(start).Round(time.Second))
	if err := contractSummary(out, contractLog); err != nil {
		return err
	}
	// The CircleCI jobs, simulated on fresh copies, once the suite passed.
	fmt.Fprintln(out, "==> the CircleCI jobs on a fresh copy (mage/internal/cisim)")
	sim := goTest("-timeout=30m", "./mage/internal/cisim")
	sim.Env = append(sim.Env, circleCISimulation+"=1")
	return sim.Run()
}

// goTestJSON runs go test -json over pkgs, printing it as plain go test
// would, then the slowest tests with their times.
func goTestJSON(ctx context.Context, out io.Writer, env []string, pkgs ...string) error {
	// 60 minutes: on 2 cores the zero-downtime probe (six deploys and
	// rollbacks of the real app, each built) and the release tests share
	// the machine for most of the run; the probe took 25 alone and 33
	// beside the others, the release tests over 40.
	cmd := exec.CommandContext(ctx, "go", append([]string{"test", "-count=1", "-json", "-timeout=60m"}, pkgs...)...)
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
