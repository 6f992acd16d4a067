package sandbox

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync/atomic"
	"time"

	"github.com/railsecs/deploykit/mage/awsfake"
	"github.com/railsecs/deploykit/mage/image"
)

var runs atomic.Int64

// TaskContainerPrefix names the buildah containers of sandbox tasks.
const TaskContainerPrefix = "deploykit-task"

// Reap removes the working containers of sandbox tasks whose process was
// killed mid-run (the double reports those tasks STOPPED, killed), and
// says what it removed.
func Reap(ctx context.Context, b image.Buildah, out io.Writer) {
	if _, err := exec.LookPath("buildah"); err != nil {
		return
	}
	reaped, err := b.ReapContainers(ctx, TaskContainerPrefix)
	if err != nil {
		fmt.Fprintf(out, "WARNING: sandbox: %v\n", err)
	}
	for _, name := range reaped {
		fmt.Fprintf(out, "sandbox: removed %s, left by a killed run\n", name)
	}
}

// Outcome makes the sandbox's one-off tasks real: when buildah is
// installed, the task's command runs inside its image, its output becomes
// the task's log events and its exit status the container's exit code.
// Without buildah tasks keep the double's default outcome.
func Outcome(b image.Buildah) func(awsfake.RunRequest) awsfake.Outcome {
	if _, err := exec.LookPath("buildah"); err != nil {
		return nil
	}
	return func(req awsfake.RunRequest) awsfake.Outcome {
		ref, cmd := req.Images[req.Essential], req.Command[req.Essential]
		return awsfake.Outcome{
			PendingFor: 100 * time.Millisecond,
			Exec: func(ctx context.Context, log func(string)) int {
				if len(cmd) == 0 {
					log("sandbox: the task definition gives no command to run")
					return 1
				}
				// PREFIX-PID-N: ReapContainers knows whose it is.
				name := fmt.Sprintf("%s-%d-%d", TaskContainerPrefix, os.Getpid(), runs.Add(1))
				// The container's environment from its task definition and
				// the overrides, then the sandbox's switches.
				run := b
				run.RunEnv = append(append([]string{}, req.Environment[req.Essential]...), b.RunEnv...)
				run.StopTimeout = req.StopTimeout
				code, err := run.Run(ctx, ref, name, cmd, log)
				if err != nil {
					log("sandbox: " + err.Error())
					return 125 // what docker run answers when the container cannot start
				}
				return code
			},
		}
	}
}
