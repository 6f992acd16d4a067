package sandbox

import (
	"context"
	"fmt"
	"os/exec"
	"sync/atomic"
	"time"

	"github.com/railsecs/deploykit/mage/awsfake"
	"github.com/railsecs/deploykit/mage/image"
)

var runs atomic.Int64

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
				name := fmt.Sprintf("deploykit-task-%d-%d", time.Now().UnixNano(), runs.Add(1))
				code, err := b.Run(ctx, ref, name, cmd, log)
				if err != nil {
					log("sandbox: " + err.Error())
					return 125 // what docker run answers when the container cannot start
				}
				return code
			},
		}
	}
}
