package image

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/railsecs/deploykit/mage/internal/testtools"
)

// busyboxImage commits an image holding the machine's static busybox.
func busyboxImage(t *testing.T) string {
	t.Helper()
	testtools.Need(t, "buildah")
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip("busybox-static is not installed; install it with " + testtools.Install["busybox-static"])
	}
	out, err := exec.Command("buildah", "from", "scratch").Output()
	if err != nil {
		t.Fatal(err)
	}
	c := strings.TrimSpace(string(out))
	defer exec.Command("buildah", "rm", c).Run()
	name := "localhost/deploykit-test/busybox:stop"
	for _, args := range [][]string{{"copy", c, "/bin/busybox", "/bin/busybox"}, {"commit", "--quiet", c, name}} {
		if b, err := exec.Command("buildah", args...).CombinedOutput(); err != nil {
			t.Fatalf("buildah %v: %v\n%s", args, err, b)
		}
	}
	return name
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
