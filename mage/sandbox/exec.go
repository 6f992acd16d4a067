package sandbox

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/railsecs/deploykit/mage/ecs"
	"github.com/railsecs/deploykit/mage/image"
)

// ExecPlugin stands in for the session-manager-plugin in the sandbox: the
// double accepted ExecuteCommand and the session names the container's
// image, so the command runs in that image with buildah, attached to the
// operator's terminal. No shell is put around it, as with ECS Exec.
type ExecPlugin struct {
	Buildah        image.Buildah
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	TTY            bool
	Out            io.Writer // where the hand-off is announced
}

func (p ExecPlugin) Start(ctx context.Context, s ecs.Session) error {
	args := strings.Fields(s.Command)
	if len(args) == 0 {
		return fmt.Errorf("empty command")
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
