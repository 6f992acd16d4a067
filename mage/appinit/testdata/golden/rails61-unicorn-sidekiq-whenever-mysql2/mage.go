//go:build ignore

// Zero-install entry point: `go run mage.go TARGET` compiles and runs the
// deploy targets with nothing but Go. The targets are a Go module of their
// own in magefiles/: a go.mod here, beside Rails' vendor/ directory, would
// make Go build in vendor mode and refuse the module. This file imports
// only the standard library, so it runs without a module.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"syscall"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.ExitCode() > 0 {
			os.Exit(exit.ExitCode())
		}
		fmt.Fprintln(os.Stderr, "mage.go:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	// The binaries live with the app (magefiles/.bin, git-ignored), not in
	// a cache that grows with every checkout.
	dir := filepath.Join(root, "magefiles", ".bin")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// mage, at the version magefiles/go.mod's tool directive pins.
	mage := filepath.Join(dir, "mage")
	if err := build(mage, "go", "build", "-o", "{out}", "github.com/magefile/mage"); err != nil {
		return err
	}
	if slices.Contains(args, "-compile") {
		return inMagefiles(exec.Command(mage, args...)).Run()
	}
	// The targets, compiled (Go's build cache makes this quick once) and
	// run directly, so a CI runner's SIGTERM reaches them and they stop
	// what they started.
	targets := filepath.Join(dir, "targets")
	if err := build(targets, mage, "-compile", "{out}"); err != nil {
		return err
	}
	cmd := exec.Command(targets, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	// Ctrl-C reaches the targets with the whole process group; SIGTERM
	// reaches only this process: pass it on.
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() {
		for s := range signals {
			if s == syscall.SIGTERM {
				cmd.Process.Signal(s)
			}
		}
	}()
	return cmd.Wait()
}

// build runs a command in magefiles/ that writes {out}, a file of its
// own, then moves that file to out: a run already using out keeps its copy.
func build(out string, command ...string) error {
	tmp := fmt.Sprintf("%s.%d", out, os.Getpid())
	for i, arg := range command {
		if arg == "{out}" {
			command[i] = tmp
		}
	}
	cmd := inMagefiles(exec.Command(command[0], command[1:]...))
	cmd.Stdout = os.Stderr
	if err := cmd.Run(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("%s in magefiles/: %w", cmd, err)
	}
	return os.Rename(tmp, out)
}

func inMagefiles(cmd *exec.Cmd) *exec.Cmd {
	cmd.Dir = "magefiles"
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	return cmd
}
