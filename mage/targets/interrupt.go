package targets

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// Targets lists every target of the magefile (a repocheck test keeps it
// equal to `mage -l`), so a stray word after one is caught before it runs.
var Targets = []string{
	"abort", "build", "config:check", "console", "continue", "cron:crontab", "cron:generate", "cron:list", "cron:run", "deploy", "exec", "iam:policy",
	"lock:release", "lock:status", "logs", "migrate", "promote", "prune", "push", "releases", "rollback", "run", "sandbox:base", "sandbox:down", "sandbox:probe", "sandbox:serve",
	"status", "test", "tf:apply", "tf:plan", "tfvars:set", "verify",
}

// withSIGTERM makes SIGTERM (CI cancelling a job, `timeout`, a container
// stop) end ctx as Ctrl-C does, so the cleanup runs instead of the process
// dying with the lock held. mage itself handles only SIGINT.
func withSIGTERM(ctx context.Context) (context.Context, func()) {
	return signal.NotifyContext(ctx, syscall.SIGTERM)
}

// cleanupNotice is when, after Ctrl-C, a target still cleaning up says
// what it would leave: mage waits 5 s, then exits with only "cleanup
// timeout exceeded".
const cleanupNotice = 4500 * time.Millisecond

// watchCleanup prints, once ctx has been cancelled for cleanupNotice and
// the target has not returned yet, what the run would leave behind if the
// process ended now. Call the returned function when the target returns.
func watchCleanup(ctx context.Context, out io.Writer, leftovers func() string) (returned func()) {
	done := make(chan struct{})
	go func() {
		select {
		case <-done:
			return
		case <-ctx.Done():
		}
		select {
		case <-done:
		case <-time.After(cleanupNotice):
			if left := leftovers(); left != "" {
				fmt.Fprintf(out, "\n==> interrupted %s ago and still cleaning up; mage stops waiting at 5 s. If it stops now it leaves %s\n", cleanupNotice.Round(time.Second/2), left)
			}
		}
	}()
	return func() { close(done) }
}

// BoolFlags are each target's flags that take no value, named once: the
// argument check reads them here, and a repocheck test keeps them equal to
// the *bool parameters of the target signatures in mage/deploykit.
var BoolFlags = map[string][]string{
	"build": {"dirty", "dryrun"}, "push": {"dirty", "dryrun"},
	"deploy": {"dirty", "dryrun", "diff", "force"}, "promote": {"dryrun", "force"}, "rollback": {"dryrun", "force"},
	"migrate": {"detach"}, "run": {"detach"}, "logs": {"follow"}, "prune": {"dryrun"},
	"lock:release": {"force"}, "sandbox:down": {"wipe"}, "tf:plan": {"force"}, "tf:apply": {"force", "yes"},
}

// checkArgs refuses words after target that are neither its flags nor
// other targets, before any work: `mage deploy staging` (forgot -env=)
// must not deploy the sandbox and only then say "Unknown target".
func checkArgs(args []string, target string) error {
	boolFlags := BoolFlags[target]
	i := 0
	for i < len(args) && !strings.EqualFold(args[i], target) {
		i++
	}
	known := map[string]bool{}
	for _, t := range Targets {
		known[t] = true
	}
	isBool := map[string]bool{}
	for _, f := range boolFlags {
		isBool[f] = true
	}
	for i++; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "-") {
			name := strings.TrimLeft(a, "-")
			if !strings.Contains(name, "=") && !isBool[name] && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
				i++ // the flag's value, given as a separate word
			}
			continue
		}
		if known[strings.ToLower(a)] {
			continue
		}
		return fmt.Errorf("%s: unexpected argument %q (not a flag, not a target): did you mean -env=%s? usage: go run mage.go %s [-env=NAME] ... (see go run mage.go -h %s)", target, a, a, target, target)
	}
	return nil
}

// osArgs is os.Args without the program name; tests replace it.
var osArgs = func() []string { return os.Args[1:] }
