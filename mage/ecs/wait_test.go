package ecs

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/railsecs/deploykit/mage/awsfake"
	"github.com/railsecs/deploykit/mage/internal/testtools"
)

// Without the circuit breaker a failing rollout never ends; the wait shows
// the first stopped task's reason and exit code as soon as it stops, once,
// long before the timeout.
func TestWaitShowsTheFirstStoppedTaskAsItStops(t *testing.T) {
	for _, list := range []bool{false, true} {
		t.Run(map[bool]string{false: "service deployment", true: "deployments list"}[list], func(t *testing.T) {
			waitShowsTheFirstStoppedTask(t, list)
		})
	}
}

func waitShowsTheFirstStoppedTask(t *testing.T, deploymentsList bool) {
	fake, _, client, _ := setup(t)
	fake.SetTiming(slowTiming(func(t *awsfake.Timing) { t.FailedTaskEvery = 100 * time.Millisecond }))
	fake.SetRollout(func(string, string) awsfake.Rollout {
		return awsfake.Rollout{Takes: time.Hour, Fail: true, StoppedReason: "Essential container in task exited"}
	})
	newService(t, client, false)
	update(t, client, "bad")
	out := &testtools.Buffer{}
	err := WaitServices(context.Background(), client, "shop-sandbox", []string{"sidekiq"}, "bad", out, WaitOptions{Poll: 50 * time.Millisecond, Timeout: 1500 * time.Millisecond, DeploymentsList: deploymentsList})
	var re *RolloutError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "not deployed after 1.5s") {
		t.Fatalf("err = %v\n%s", err, out)
	}
	t.Logf("the wait's output:\n%s", out)
	text := out.String()
	if n := strings.Count(text, "sidekiq: task "); n != 1 || !strings.Contains(text, "stopped: Essential container in task exited (rails exited 1)") {
		t.Errorf("the first stopped task was shown %d times, want once with its reason and exit code:\n%s", n, text)
	}
	// Counts are printed when they change: the failed count grows, so
	// more than one status line, but never two identical ones in a row.
	lines := strings.Split(strings.TrimSpace(text), "\n")
	prev := ""
	statuses := 0
	for _, l := range lines {
		if _, status, ok := strings.Cut(l, "] "); ok && strings.HasPrefix(l, "[") {
			statuses++
			if status == prev {
				t.Errorf("unchanged status printed twice in a row: %q", status)
			}
			prev = status
		}
	}
	if statuses < 2 || !strings.Contains(text, "failed (IN_PROGRESS") {
		t.Errorf("want the growing failed count in the status lines:\n%s", text)
	}
}

func TestJudgeDeployment(t *testing.T) {
	dep := func(status string, state types.DeploymentRolloutState, running, desired int32) types.Deployment {
		return types.Deployment{Id: aws.String("ecs-svc/1"), Status: aws.String(status), RolloutState: state, RunningCount: running, DesiredCount: desired}
	}
	svc := func(running, desired int32, deps ...types.Deployment) types.Service {
		return types.Service{ServiceName: aws.String("web"), RunningCount: running, DesiredCount: desired, Deployments: deps}
	}
	old := dep("ACTIVE", types.DeploymentRolloutStateCompleted, 1, 0)
	done := dep("PRIMARY", types.DeploymentRolloutStateCompleted, 2, 2)
	for _, c := range []struct {
		name   string
		svc    types.Service
		mine   types.Deployment
		until  string
		done   bool
		row    string
		failed string
	}{
		{"in progress", svc(1, 2), dep("PRIMARY", types.DeploymentRolloutStateInProgress, 1, 2), UntilDeployed, false, "web: 1/2 running (IN_PROGRESS)", ""},
		{"completed", svc(2, 2, done), done, UntilDeployed, true, "web: done 2/2", ""},
		{"completed but short", svc(1, 2), dep("PRIMARY", types.DeploymentRolloutStateCompleted, 1, 2), UntilDeployed, false, "web: 1/2 running (COMPLETED)", ""},
		{"deployed, old one draining", svc(3, 2, done, old), done, UntilDeployed, true, "web: done 2/2", ""},
		{"stable wants the old one gone", svc(3, 2, done, old), done, UntilStable, false, "web: 2/2 running, deployed; 1 other deployment(s) left, 3/2 running in all", ""},
		{"stable", svc(2, 2, done), done, UntilStable, true, "web: done 2/2", ""},
		{"failed", svc(0, 2), dep("PRIMARY", types.DeploymentRolloutStateFailed, 0, 2), UntilDeployed, false, "", "deployment ecs-svc/1 FAILED: "},
		{"rolled back", svc(2, 2), dep("ACTIVE", types.DeploymentRolloutStateInProgress, 0, 0), UntilDeployed, false, "", "is no longer PRIMARY"},
	} {
		row, ok, failed := judgeDeployment(c.svc, c.mine, c.until)
		if row != c.row || ok != c.done || (c.failed == "") != (failed == "") || !strings.Contains(failed, c.failed) {
			t.Errorf("%s: got (%q, %v, %q), want (%q, %v, %q)", c.name, row, ok, failed, c.row, c.done, c.failed)
		}
	}
}

// On a terminal the rows are one table redrawn in place: lines printed
// meanwhile (events) go above it, and the final table stays.
func TestLiveViewRedrawsOneTable(t *testing.T) {
	out := &strings.Builder{}
	v := &liveView{out: out, terminal: true, heartbeat: time.Minute}
	v.update(time.Second, []string{"web: 0/2 running (IN_PROGRESS)", "sidekiq: 0/1 running (IN_PROGRESS)"})
	v.println("web event: started 2 tasks")
	v.update(2*time.Second, []string{"web: 2/2 running (IN_PROGRESS)", "sidekiq: done 1/1"})
	v.final(3*time.Second, []string{"web: done 2/2", "sidekiq: done 1/1"})
	v.println("after")
	want := "[1s] web: 0/2 running (IN_PROGRESS)\n[1s] sidekiq: 0/1 running (IN_PROGRESS)\n" +
		"\033[2A\033[Jweb event: started 2 tasks\n" +
		"[2s] web: 2/2 running (IN_PROGRESS)\n[2s] sidekiq: done 1/1\n" +
		"\033[2A\033[J[3s] web: done 2/2\n[3s] sidekiq: done 1/1\n" +
		"after\n"
	if out.String() != want {
		t.Errorf("terminal output:\n%q\nwant\n%q", out.String(), want)
	}

	plain := &strings.Builder{}
	p := &liveView{out: plain, heartbeat: time.Hour}
	p.update(time.Second, []string{"web: 0/2 running (IN_PROGRESS)"})
	p.update(2*time.Second, []string{"web: 0/2 running (IN_PROGRESS)"})
	p.update(3*time.Second, []string{"web: 1/2 running (IN_PROGRESS)"})
	if got := plain.String(); got != "[1s] web: 0/2 running (IN_PROGRESS)\n[3s] web: 1/2 running (IN_PROGRESS)\n" || strings.Contains(got, "\033") {
		t.Errorf("plain output repeats or uses escapes:\n%q", got)
	}
}
