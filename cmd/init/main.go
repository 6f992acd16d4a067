// Command init writes what a Rails app needs to deploy with deploykit,
// from the stack it reads in the app. Run it in the Rails root:
//
//	go run github.com/railsecs/deploykit/cmd/init@VERSION
//
// It never overwrites a file that differs: it shows the diff and stops
// (-force takes init's). Run again over an unchanged app, it does nothing.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/railsecs/deploykit/mage/appinit"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "init:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs := flag.NewFlagSet("init", flag.ContinueOnError)
	fs.SetOutput(errOut)
	var opts appinit.RunOptions
	fs.StringVar(&opts.Dir, "dir", ".", "the Rails root")
	fs.StringVar(&opts.App, "app", "", "the app's name in AWS (default: the Rails root's directory name)")
	fs.BoolVar(&opts.Force, "force", false, "overwrite files that differ from what init writes")
	fs.StringVar(&opts.Version, "version", "", "the deploykit version go.mod requires (default: the one running)")
	fs.StringVar(&opts.Replace, "replace", "", "a deploykit checkout for go.mod's replace directive (developing the toolkit)")
	tidy := fs.Bool("tidy", true, "run `go mod tidy` when the app has no go.sum yet")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q: init takes flags only", fs.Args())
	}
	wroteGoMod, err := appinit.Run(opts, out)
	if err != nil || !wroteGoMod || !*tidy {
		return err
	}
	fmt.Fprintln(out, "go mod tidy in magefiles/ (the deploy targets' dependencies, for go.sum)")
	cmd := exec.CommandContext(ctx, "go", "mod", "tidy")
	cmd.Dir, cmd.Stdout, cmd.Stderr = filepath.Join(opts.Dir, "magefiles"), out, errOut
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go mod tidy in %s: %w (magefiles/go.mod is written; run it again once the module proxy answers)", cmd.Dir, err)
	}
	return nil
}
