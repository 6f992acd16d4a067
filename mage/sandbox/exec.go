package sandbox

import (
	"context"
	"fmt"
	"io"

	"time"

	"github.com/google/shlex"

	"github.com/railsecs/deploykit/mage/ecs"
	"github.com/railsecs/deploykit/mage/image"
	"github.com/railsecs/deploykit/mage/sandbox/pods"
)

// ExecPlugin stands in for the session-manager-plugin in the sandbox: the
// double accepted ExecuteCommand and the session names the container's
// image, so the command runs in that image with buildah, attached to the
// operator's terminal. No shell is put around it, as with ECS Exec: the
// SSM agent splits a container session's command with google/shlex
// (quotes honoured, no expansion) and runs it directly
// (amazon-ssm-agent, agent/session/shell/shell_unix.go), and so does this.
type ExecPlugin struct {
	Buildah image.Buildah
	// Pods, when set, holds the sandbox's running tasks: a session into a
	// task that runs as a pod goes into its container (podman exec), the
	// one ECS Exec would reach.
	Pods           *pods.Podman
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	TTY            bool
	Out            io.Writer // where the hand-off is announced
}

func (p ExecPlugin) Start(ctx context.Context, s ecs.Session) error {
	args, err := SplitLikeSSMAgent(s.Command)
	if err != nil {
		return err
	}
	if pod := p.podOf(ctx, s); pod != "" {
		fmt.Fprintf(p.Out, "sandbox: session %s: running %q in container %s of pod %s (podman exec)\n", *s.Response.SessionId, s.Command, s.Container, pod)
		code, err := p.Pods.Exec(ctx, pod, s.Container, args, p.Stdin, p.Stdout, p.Stderr, p.TTY)
		if err != nil {
			return err
		}
		if code != 0 {
			return fmt.Errorf("session %s in %s: %q exited %d", *s.Response.SessionId, s.Container, s.Command, code)
		}
		return nil
	}
	fmt.Fprintf(p.Out, "sandbox: session %s: running %q in %s (%s) with buildah\n", *s.Response.SessionId, s.Command, s.Container, s.Image)
	name := fmt.Sprintf("deploykit-exec-%d", time.Now().UnixNano())
	code, err := p.Buildah.RunAttached(ctx, s.Image, name, args, p.Stdin, p.Stdout, p.Stderr, p.TTY)
	if err != nil {
		return err
	}
	if code != 0 {
		return fmt.Errorf("session %s in %s: %q exited %d", *s.Response.SessionId, s.Container, s.Command, code)
	}
	return nil
}

// SplitLikeSSMAgent splits an ECS Exec command into argv as the SSM agent
// does in a container: shell-like words and quotes, no shell.
func SplitLikeSSMAgent(command string) ([]string, error) {
	args, err := shlex.Split(command)
	if err != nil {
		return nil, fmt.Errorf("command %q: %w", command, err)
	}
	if len(args) == 0 {
		return nil, fmt.Errorf("empty command")
	}
	return args, nil
}

// podOf is the pod running the session's task with the container
// running, or "".
func (p ExecPlugin) podOf(ctx context.Context, s ecs.Session) string {
	if p.Pods == nil || !pods.Available() {
		return ""
	}
	cs, err := p.Pods.Containers(ctx)
	if err != nil {
		return ""
	}
	for _, c := range cs {
		if c.ARN == s.TaskArn && c.Container == s.Container && c.Running {
			return c.Pod
		}
	}
	return ""
}
