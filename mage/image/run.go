package image

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/railsecs/deploykit/mage/internal/procgroup"
)

// RunArgs are the commands that run one command in an image: a working
// container from the image, the command in it, and its removal.
func (b Buildah) RunArgs(ref, container string, command []string) (from, run, rm []string) {
	from = append(b.global(), "from", "--name", container)
	if b.Insecure {
		from = append(from, "--tls-verify=false")
	}
	from = append(from, ref)
	run = append(b.global(), "run", "--isolation", b.isolation())
	for _, kv := range b.RunEnv {
		run = append(run, "--env", kv)
	}
	run = append(append(run, container, "--"), command...)
	rm = append(b.global(), "rm", container)
	return from, run, rm
}

func (b Buildah) isolation() string {
	if b.Isolation == "" {
		return "chroot"
	}
	return b.Isolation
}

// Run runs command inside image ref (pulled if missing), passing each
// output line to line, and returns the command's exit status. Cancelling
// ctx stops the command: with a StopTimeout, SIGTERM first (buildah run
// passes it on to the container's process), SIGKILL after the timeout.
func (b Buildah) Run(ctx context.Context, ref, name string, command []string, line func(string)) (int, error) {
	from, run, rm := b.RunArgs(ref, name, command)
	if out, err := exec.CommandContext(ctx, from[0], from[1:]...).CombinedOutput(); err != nil {
		return -1, fmt.Errorf("buildah from %s: %v: %s", ref, err, strings.TrimSpace(string(out)))
	}
	defer exec.Command(rm[0], rm[1:]...).Run()
	cmd := exec.CommandContext(ctx, run[0], run[1:]...)
	// The task dies with the process that runs it (ECS would keep it; the
	// sandbox cannot): never a container nobody watches. ReapContainers
	// removes what such a run leaves in storage.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if b.StopTimeout > 0 {
		// buildah run answers SIGTERM by killing its container at once,
		// so the stop signal goes to the container's processes (buildah's
		// descendants) themselves; buildah ends when they do.
		cmd.Cancel = func() error {
			for _, pid := range procgroup.Descendants(cmd.Process.Pid) {
				// not buildah's own runtime process, which kills on TERM
				// ("memfd:buildah-chroot-runtime" under chroot isolation)
				if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); !strings.Contains(string(comm), "buildah") {
					_ = syscall.Kill(pid, syscall.SIGTERM)
				}
			}
			return nil
		}
		cmd.WaitDelay = b.StopTimeout
	}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line(sc.Text())
		}
	}()
	err := cmd.Run()
	pw.Close()
	wg.Wait()
	if err != nil && ctx.Err() != nil && cmd.ProcessState != nil && cmd.ProcessState.Exited() {
		// Stopped, and it ended on its own terms: its status is the answer
		// (Wait reports the cancelled context instead).
		return cmd.ProcessState.ExitCode(), nil
	}
	return exitStatus(ref, err)
}

// RunAttached runs command inside image ref with the caller's stdin and
// output attached (a terminal when tty), as an interactive session, and
// returns its exit status.
func (b Buildah) RunAttached(ctx context.Context, ref, name string, command []string, stdin io.Reader, stdout, stderr io.Writer, tty bool) (int, error) {
	from, run, rm := b.RunArgs(ref, name, command)
	if out, err := exec.CommandContext(ctx, from[0], from[1:]...).CombinedOutput(); err != nil {
		return -1, fmt.Errorf("buildah from %s: %v: %s", ref, err, strings.TrimSpace(string(out)))
	}
	defer exec.Command(rm[0], rm[1:]...).Run()
	if tty {
		// buildah run [flags] CONTAINER -- CMD: the flag goes before the name.
		at := len(run) - len(command) - 2
		run = append(append(append([]string{}, run[:at]...), "--terminal"), run[at:]...)
	}
	cmd := exec.CommandContext(ctx, run[0], run[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	err := cmd.Run()
	return exitStatus(ref, err)
}

// ReapContainers removes the working containers named PREFIX-PID-... whose
// process PID has ended: runs cut short when that process was killed
// before it could remove them. It returns the names it removed.
func (b Buildah) ReapContainers(ctx context.Context, prefix string) ([]string, error) {
	list := append(b.global(), "containers", "--format", "{{.ContainerName}}")
	out, err := exec.CommandContext(ctx, list[0], list[1:]...).Output()
	if err != nil {
		return nil, fmt.Errorf("list buildah containers: %w", err)
	}
	var reaped []string
	for _, name := range strings.Fields(string(out)) {
		rest, ok := strings.CutPrefix(name, prefix+"-")
		if !ok {
			continue
		}
		pidText, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid <= 0 || procgroup.ProcessAlive(pid) {
			continue // not ours, or its process still runs
		}
		rm := append(b.global(), "rm", name)
		if out, err := exec.CommandContext(ctx, rm[0], rm[1:]...).CombinedOutput(); err != nil {
			return reaped, fmt.Errorf("buildah rm %s: %v: %s", name, err, strings.TrimSpace(string(out)))
		}
		reaped = append(reaped, name)
	}
	return reaped, nil
}

// exitStatus is the command's exit status; an error only when it could
// not run at all.
func exitStatus(ref string, err error) (int, error) {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), nil
	}
	if err != nil {
		return -1, fmt.Errorf("buildah run in %s: %w", ref, err)
	}
	return 0, nil
}
