package image

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/railsecs/deploykit/mage/internal/testtools"
)

// busyboxImage commits an image holding the machine's static busybox.
func busyboxImage(t *testing.T) string {
	return testtools.BusyboxImage(t, "localhost/deploykit-test/busybox:stop")
}

// A stopped task's command gets SIGTERM and the stop timeout to finish,
// as ECS gives a container its stop signal and stopTimeout: a command that
// handles it ends on its own terms, not killed.
func TestRunStopsWithSIGTERMThenWaitsTheStopTimeout(t *testing.T) {
	ref := busyboxImage(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var lines []string
	b := Buildah{StopTimeout: 10 * time.Second}
	start := time.Now()
	var stopAsked time.Time
	code, err := b.Run(ctx, ref, "deploykit-stop-test", []string{"/bin/busybox", "sh", "-c",
		"trap 'echo graceful; exit 0' TERM; echo ready; while true; do /bin/busybox sleep 0.1; done"}, func(l string) {
		mu.Lock()
		defer mu.Unlock()
		lines = append(lines, l)
		if l == "ready" {
			stopAsked = time.Now()
			cancel()
		}
	})
	mu.Lock()
	defer mu.Unlock()
	if err != nil || code != 0 || !strings.Contains(strings.Join(lines, "\n"), "graceful") {
		t.Fatalf("stopped with SIGTERM: exit %d, %v, lines %q (want the trap's line and exit 0)", code, err, lines)
	}
	if stopAsked.IsZero() || time.Since(stopAsked) > 8*time.Second {
		t.Errorf("the command took %s after the stop to end (started %s ago)", time.Since(stopAsked), time.Since(start))
	}
}
