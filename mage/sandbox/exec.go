package sandbox

import (
	"context"
	"fmt"
	"io"

	"time"

	"github.com/google/shlex"

	"github.com/railsecs/deploykit/mage/ecs"
	"github.com/railsecs/deploykit/mage/image"
)

// ExecPlugin stands in for the session-manager-plugin in the sandbox: the
// double accepted ExecuteCommand and the session names the container's
// image, so the command runs in that image with buildah, attached to the
// operator's terminal. No shell is put around it, as with ECS Exec: the
// SSM agent splits a container session's command with google/shlex
// (quotes honoured, no expansion) and runs it directly
// (amazon-ssm-agent, agent/session/shell/shell_unix.go), and so does this.
type ExecPlugin struct {
	Buildah        image.Buildah
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
