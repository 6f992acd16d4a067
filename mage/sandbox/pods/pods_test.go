package pods

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/railsecs/deploykit/mage/internal/testtools"
)

// A task's containers share the pod's network, start in dependsOn order
// (the proxy only once the app's health check passes), get their
// environment without it reaching podman's argv, answer on a published
// loopback port, and stop with their stop signal.
func TestATaskRunsAsAPodOnALoopbackPort(t *testing.T) {
	testtools.Need(t, "podman")
	testtools.Need(t, "slirp4netns")
	img := testtools.BusyboxImage(t, "localhost/deploykit-test/busybox:pods", "httpd", "wget", "nc", "mkdir", "echo", "sleep")
	p := Podman{Dir: t.TempDir()}
	ctx := context.Background()
	task := Task{
		ARN: "arn:aws:ecs:us-east-1:000000000000:task/c/0123", Pod: "deploykit-test-pod-" + time.Now().Format("150405"),
		Dir: t.TempDir(), Port: 80, HealthWait: 20 * time.Second,
		Containers: []Container{
			{
				// The "proxy" serves on 80 what it fetches from the app on
				// the pod's 127.0.0.1:8080: the shared network namespace.
				Name: "proxy", Image: img, Essential: true, StopTimeout: 5 * time.Second,
				DependsOn: []Dependency{{Container: "app", Condition: "HEALTHY"}},
				Command:   []string{"sh", "-c", "mkdir -p /www && wget -q -O /www/index.html http://127.0.0.1:8080/index.html && exec httpd -f -p 80 -h /www"},
			},
			{
				Name: "app", Image: img, Essential: true, StopTimeout: 5 * time.Second,
				Environment: []string{"SECRET_TOKEN=s3cr3t-value"},
				Health:      []string{"CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1:8080/index.html"},
				Command:     []string{"sh", "-c", "sleep 2; mkdir -p /www && echo \"token=$SECRET_TOKEN\" > /www/index.html && httpd -f -p 8080 -h /www & trap 'exit 0' TERM; wait"},
			},
		},
	}
	started, err := p.Start(ctx, task)
	t.Cleanup(func() { _ = p.Remove(context.Background(), task.Pod) })
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(started.Addr, "127.0.0.1:") {
		t.Fatalf("published on %q, want a 127.0.0.1 port", started.Addr)
	}
	var body string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		resp, err := http.Get("http://" + started.Addr + "/index.html")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				body = string(b)
				break
			}
		}
	}
	if strings.TrimSpace(body) != "token=s3cr3t-value" {
		t.Fatalf("GET through the proxy = %q, want the app's page with its environment", body)
	}
	// The value went through an env file, not argv.
	cmd, _ := p.command(ctx, "container", "inspect", "--format", "{{.Config.CreateCommand}}", ContainerName(task.Pod, "app"))
	argv, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(argv), "s3cr3t") || !strings.Contains(string(argv), "--env-file") {
		t.Fatalf("podman's argv: %s", argv)
	}
	pods, err := p.Pods(ctx)
	if err != nil || pods[task.Pod] != task.ARN {
		t.Fatalf("Pods() = %v, %v; want %s labelled with its task", pods, err, task.Pod)
	}
	listed, err := p.Containers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, c := range listed {
		if c.Pod == task.Pod && c.ARN == task.ARN && c.Running {
			names[c.Container] = true
		}
	}
	if len(names) != 2 || !names["app"] || !names["proxy"] {
		t.Fatalf("Containers() = %+v, want the pod's app and proxy, running", listed)
	}
	if !p.Healthy(ctx, task.Pod, task.Containers[1]) {
		t.Fatal("the app's health check failed while it serves")
	}
	codes, err := p.Stop(ctx, task)
	if err != nil {
		t.Fatal(err)
	}
	// The app handles the stop signal and exits 0; the proxy's httpd is
	// PID 1 without a handler, which the kernel does not let SIGTERM end:
	// SIGKILL after its stopTimeout, 137, as on ECS without initProcessEnabled.
	if codes["app"] != 0 || codes["proxy"] != 137 {
		t.Fatalf("exit codes %v, want app 0 (its TERM trap) and proxy 137 (killed)", codes)
	}
	pods, _ = p.Pods(ctx)
	if _, ok := pods[task.Pod]; ok {
		t.Fatalf("pod %s still exists after Stop", task.Pod)
	}
}
