package terraform

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
	"syscall"
	"time"

	tfjson "github.com/hashicorp/terraform-json"
)

// DefaultWaitDelay is how long a cancelled terraform gets to finish its
// graceful shutdown (and release its lock) before it is killed.
const DefaultWaitDelay = 2 * time.Minute

// Runner runs one binary in one root directory.
type Runner struct {
	Bin       string    // path to terraform or tofu
	Dir       string    // the root module directory
	Env       []string  // extra KEY=VALUE entries added to the inherited environment
	Stdout    io.Writer // live output; nil discards
	Stderr    io.Writer
	WaitDelay time.Duration
	// Elapsed adds up the wall time of every command run, so callers can
	// tell terraform's time from their own.
	Elapsed time.Duration
}

// InitArgs builds `init` with one -backend-config per setting, in key order.
func InitArgs(backend map[string]string) []string {
	args := []string{"init", "-input=false", "-no-color"}
	keys := make([]string, 0, len(backend))
	for k := range backend {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, "-backend-config="+k+"="+backend[k])
	}
	return args
}

// PlanArgs builds `plan` saving to planFile. -detailed-exitcode makes exit
// status 2 mean "changes present". varFiles are for tfvars that terraform
// does not load on its own (anything but terraform.tfvars and *.auto.tfvars).
func PlanArgs(planFile string, varFiles []string) []string {
	args := []string{"plan", "-input=false", "-no-color", "-detailed-exitcode", "-out=" + planFile}
	for _, f := range varFiles {
		args = append(args, "-var-file="+f)
	}
	return args
}

// ShowArgs builds `show -json` for a saved plan.
func ShowArgs(planFile string) []string {
	return []string{"show", "-json", "-no-color", planFile}
}

// ApplyArgs builds `apply` of a saved plan. A saved plan carries its
// variables; -var/-var-file are never passed (OpenTofu rejects them).
func ApplyArgs(planFile string) []string {
	return []string{"apply", "-input=false", "-no-color", planFile}
}

// OutputArgs builds `output -json`.
func OutputArgs() []string { return []string{"output", "-json", "-no-color"} }

// Command builds the child process for args without starting it.
func (r *Runner) Command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, r.Bin, args...)
	cmd.Dir = r.Dir
	cmd.Env = append(os.Environ(), "TF_IN_AUTOMATION=1", "TF_INPUT=0")
	cmd.Env = append(cmd.Env, r.Env...)
	cmd.Stdout = orDiscard(r.Stdout)
	cmd.Stderr = orDiscard(r.Stderr)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = r.WaitDelay
	if cmd.WaitDelay == 0 {
		cmd.WaitDelay = DefaultWaitDelay
	}
	return cmd
}

// Error is a terraform command that failed.
type Error struct {
	Args     []string
	ExitCode int
	Stderr   string // the tail of stderr, for the message
	Err      error
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("terraform %s", e.Args[0])
	if e.ExitCode >= 0 {
		msg += fmt.Sprintf(" exited with status %d", e.ExitCode)
	} else {
		msg += ": " + e.Err.Error()
	}
	if s := strings.TrimSpace(e.Stderr); s != "" {
		msg += ": " + s
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Run runs one command, streaming its output, and returns its exit code.
// A context cancelled mid-run is reported as the context's error wrapped
// in *Error, after terraform has shut down.
func (r *Runner) Run(ctx context.Context, args ...string) (int, error) {
	cmd := r.Command(ctx, args...)
	var tail tailBuffer
	cmd.Stderr = io.MultiWriter(cmd.Stderr, &tail)
	start := time.Now()
	err := cmd.Run()
	r.Elapsed += time.Since(start)
	if err == nil {
		return 0, nil
	}
	code := -1
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		code = exitErr.ExitCode()
	}
	if ctx.Err() != nil {
		err = fmt.Errorf("%w (terraform was interrupted: %v)", ctx.Err(), err)
		code = -1
	}
	return code, &Error{Args: args, ExitCode: code, Stderr: tail.String(), Err: err}
}

// Init runs init with the backend settings.
func (r *Runner) Init(ctx context.Context, backend map[string]string) error {
	_, err := r.Run(ctx, InitArgs(backend)...)
	return err
}

// InitReconfigure is Init with -reconfigure: the backend settings replace
// the saved ones without a state migration (for local state files).
func (r *Runner) InitReconfigure(ctx context.Context, backend map[string]string) error {
	_, err := r.Run(ctx, append(InitArgs(backend), "-reconfigure")...)
	return err
}

// Plan saves a plan to planFile and reports whether it changes anything.
func (r *Runner) Plan(ctx context.Context, planFile string, varFiles []string) (bool, error) {
	code, err := r.Run(ctx, PlanArgs(planFile, varFiles)...)
	if code == 2 {
		return true, nil
	}
	return false, err
}

// Show reads a saved plan as JSON.
func (r *Runner) Show(ctx context.Context, planFile string) (*tfjson.Plan, error) {
	out, err := r.runQuiet(ctx, ShowArgs(planFile)...)
	if err != nil {
		return nil, err
	}
	var plan tfjson.Plan
	if err := json.Unmarshal(out, &plan); err != nil {
		return nil, fmt.Errorf("read plan %s as JSON: %w", planFile, err)
	}
	return &plan, nil
}

// runQuiet runs a command whose stdout is data, not progress.
func (r *Runner) runQuiet(ctx context.Context, args ...string) ([]byte, error) {
	var out bytes.Buffer
	quiet := *r
	quiet.Stdout = &out
	_, err := quiet.Run(ctx, args...)
	r.Elapsed = quiet.Elapsed
	return out.Bytes(), err
}

// Apply applies exactly the saved plan.
func (r *Runner) Apply(ctx context.Context, planFile string) error {
	_, err := r.Run(ctx, ApplyArgs(planFile)...)
	return err
}

// Outputs reads the root's outputs after an apply.
func (r *Runner) Outputs(ctx context.Context) (map[string]json.RawMessage, error) {
	out, err := r.runQuiet(ctx, OutputArgs()...)
	if err != nil {
		return nil, err
	}
	var raw map[string]struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(out, &raw); err != nil {
		return nil, fmt.Errorf("read outputs: %w", err)
	}
	values := make(map[string]json.RawMessage, len(raw))
	for k, v := range raw {
		values[k] = v.Value
	}
	return values, nil
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// tailBuffer keeps the last few KiB written to it.
type tailBuffer struct{ buf []byte }

const tailMax = 4 << 10

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > tailMax {
		t.buf = t.buf[len(t.buf)-tailMax:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	lines := strings.Split(strings.TrimSpace(string(t.buf)), "\n")
	var kept []string
	for _, l := range lines {
		l = strings.TrimSpace(strings.Trim(l, "│╷╵ "))
		if l != "" {
			kept = append(kept, l)
		}
	}
	if len(kept) > 8 {
		kept = kept[len(kept)-8:]
	}
	return strings.Join(kept, "; ")
}
