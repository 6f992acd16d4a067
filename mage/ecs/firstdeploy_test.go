package ecs

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/railsecs/deploykit/mage/awsfake"
	"github.com/railsecs/deploykit/mage/internal/testtools"
)

// A new service's first deployment can fail: with no COMPLETED deployment
// the breaker has nothing to roll back to, and the deployment stays FAILED.
// The toolkit's wait for a first deploy fails with the breaker's reason
// and the stopped tasks, instead of waiting out its timeout.
func TestWaitFailsAFailingFirstDeployment(t *testing.T) {
	fake, _, client, _ := setup(t)
	fake.SetRollout(func(string, string) awsfake.Rollout {
		return awsfake.Rollout{Takes: 300 * time.Millisecond, Fail: true, FailedTasks: 3, StoppedReason: "Essential container in task exited"}
	})
	newService(t, client, true)
	out := &testtools.Buffer{}
	err := WaitServices(context.Background(), client, "shop-sandbox", []string{"sidekiq"}, "old", out,
		WaitOptions{Poll: 20 * time.Millisecond, Timeout: 10 * time.Second, DeploymentsList: true})
	if err == nil || !strings.Contains(err.Error(), "FAILED: ECS deployment circuit breaker") || !strings.Contains(err.Error(), "exited 1") {
		t.Fatalf("waiting on a failing first deployment: %v\n%s", err, out)
	}
}

// During a breaker's rollback the old deployment's tasks keep running:
// status says the service is rolling back and shows them running, and
// exec still finds a task to open a session in.
func TestDuringARollbackStatusAndExecSeeTheOldTasks(t *testing.T) {
	fake, _, client, _ := setup(t)
	ctx := context.Background()
	newService(t, client, true)
	settled(t, client, "sidekiq")
	if _, err := client.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("shop-sandbox"), Service: aws.String("sidekiq"), EnableExecuteCommand: aws.Bool(true), ForceNewDeployment: true}); err != nil {
		t.Fatal(err)
	}
	// The forced deployment runs the same tag: let it become visible, or
	// the wait would judge the one before it.
	time.Sleep(3 * awsfake.TestTiming.ServiceUpdateVisible)
	settled(t, client, "sidekiq")
	fake.SetRollout(func(string, string) awsfake.Rollout {
		return awsfake.Rollout{Takes: 200 * time.Millisecond, Fail: true, FailedTasks: 2}
	})
	arn, err := RegisterWithImages(ctx, client, "shop-sandbox-migrate", map[string]string{"rails": "127.0.0.1:5000/shop/app:new"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("shop-sandbox"), Service: aws.String("sidekiq"), TaskDefinition: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	sawRollback := false
	for time.Now().Before(deadline) && !sawRollback {
		states, err := ServiceStates(ctx, client, "shop-sandbox", []string{"sidekiq"})
		if err != nil {
			t.Fatal(err)
		}
		s := states[0]
		if s.Running < 1 {
			t.Fatalf("status during the rollout: %d running, want the old task still running", s.Running)
		}
		if s.RolledBack {
			sawRollback = true
			if _, err := WaitExecTarget(ctx, client, io.Discard, 2*time.Second, "shop-sandbox", "sidekiq", "", nil); err != nil {
				t.Errorf("exec during the rollback: %v", err)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !sawRollback {
		t.Fatal("status never showed the rollback")
	}
	if err := WaitServices(ctx, client, "shop-sandbox", []string{"sidekiq"}, "old", io.Discard, WaitOptions{Poll: 20 * time.Millisecond, Until: UntilStable, Timeout: 10 * time.Second}); err != nil {
		t.Errorf("after the rollback the old release should be stable again: %v", err)
	}
}

// A rollout that fails and is rolled back between two polls leaves no
// deployment of ours to see; the tasks it started, stopped since the
// apply and running our tag, say what happened (documented task fields,
// not the wording of service events).
func TestWaitSeesARollbackThatHappenedBetweenPolls(t *testing.T) {
	fake, _, client, _ := setup(t)
	newService(t, client, true)
	settled(t, client, "sidekiq")
	fake.SetRollout(func(string, string) awsfake.Rollout {
		return awsfake.Rollout{Takes: 100 * time.Millisecond, Fail: true, FailedTasks: 2, StoppedReason: "Essential container in task exited"}
	})
	update(t, client, "new")
	err := WaitServices(context.Background(), client, "shop-sandbox", []string{"sidekiq"}, "new", io.Discard,
		WaitOptions{Poll: time.Second, Timeout: 10 * time.Second, VisibleGrace: 5 * time.Second, DeploymentsList: true})
	if err == nil || !strings.Contains(err.Error(), "rolled it back before a poll saw it") {
		t.Fatalf("a rollback between polls: %v", err)
	}
}
