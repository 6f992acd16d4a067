package ecs

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/railsecs/deploykit/mage/awsfake"
	"github.com/railsecs/deploykit/mage/internal/testtools"
)

func slowTiming(f func(*awsfake.Timing)) awsfake.Timing {
	t := awsfake.TestTiming
	f(&t)
	return t
}

// A task RunTask returned may be MISSING for a while: the wait keeps
// polling instead of failing at the first DescribeTasks.
func TestRunToleratesATaskNotYetVisible(t *testing.T) {
	fake, r, _, out := setup(t)
	fake.SetTiming(slowTiming(func(t *awsfake.Timing) { t.TaskVisible = 700 * time.Millisecond }))
	fake.Outcome = func(awsfake.RunRequest) awsfake.Outcome {
		return awsfake.Outcome{PendingFor: 10 * time.Millisecond, RunFor: 100 * time.Millisecond}
	}
	if _, err := r.Run(context.Background(), migrateSpec(), RunOptions{}); err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	if !strings.Contains(out.String(), "not visible yet") {
		t.Errorf("the lag was not observed:\n%s", out)
	}
}

// A task that never shows up is stopped, not left running unwatched.
func TestNeverVisibleTaskIsStopped(t *testing.T) {
	fake, r, _, out := setup(t)
	fake.SetTiming(slowTiming(func(t *awsfake.Timing) { t.TaskVisible = time.Hour }))
	fake.Outcome = func(awsfake.RunRequest) awsfake.Outcome {
		return awsfake.Outcome{PendingFor: 10 * time.Millisecond, RunFor: time.Hour}
	}
	r.MissingGrace = 300 * time.Millisecond
	_, err := r.Run(context.Background(), migrateSpec(), RunOptions{})
	var never *NeverSeenError
	if !errors.As(err, &never) || !strings.Contains(err.Error(), "was stopped") {
		t.Fatalf("err = %v", err)
	}
	if n := fake.Calls("StopTask"); n != 1 {
		t.Errorf("StopTask calls = %d, want 1\n%s", n, out)
	}
}

func newService(t *testing.T, client *ecs.Client, breaker bool) {
	t.Helper()
	_, err := client.CreateService(context.Background(), &ecs.CreateServiceInput{
		Cluster: aws.String("shop-sandbox"), ServiceName: aws.String("sidekiq"),
		TaskDefinition: aws.String("shop-sandbox-migrate:1"), DesiredCount: aws.Int32(1), LaunchType: types.LaunchTypeFargate,
		NetworkConfiguration:    &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-1"}}},
		DeploymentConfiguration: &types.DeploymentConfiguration{DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: breaker, Rollback: breaker}},
	})
	if err != nil {
		t.Fatal(err)
	}
}

func update(t *testing.T, client *ecs.Client, tag string) {
	t.Helper()
	ctx := context.Background()
	arn, err := RegisterWithImages(ctx, client, "shop-sandbox-migrate", map[string]string{"rails": "127.0.0.1:5000/shop/app:" + tag})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("shop-sandbox"), Service: aws.String("sidekiq"), TaskDefinition: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
}

// A service just updated still shows the old deployment for a while: the
// rollout wait waits for ours to appear instead of failing at once.
func TestWaitServicesToleratesANotYetVisibleDeployment(t *testing.T) {
	fake, _, client, _ := setup(t)
	fake.SetTiming(slowTiming(func(t *awsfake.Timing) { t.ServiceUpdateVisible = 700 * time.Millisecond }))
	newService(t, client, true)
	update(t, client, "new")
	out := &testtools.Buffer{}
	err := WaitServices(context.Background(), client, "shop-sandbox", []string{"sidekiq"}, "new", out, WaitOptions{Poll: 50 * time.Millisecond, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("wait: %v\n%s", err, out)
	}
}

// FAILED is visible before the breaker's rollback: the wait reports it.
func TestWaitServicesReportsAFailedDeployment(t *testing.T) {
	fake, _, client, _ := setup(t)
	fake.SetTiming(slowTiming(func(t *awsfake.Timing) { t.RollbackAfter = 5 * time.Second }))
	fake.SetRollout(func(string, string) awsfake.Rollout {
		return awsfake.Rollout{Takes: 200 * time.Millisecond, Fail: true, FailedTasks: 2, StoppedReason: "Essential container in task exited"}
	})
	newService(t, client, true)
	update(t, client, "bad")
	out := &testtools.Buffer{}
	err := WaitServices(context.Background(), client, "shop-sandbox", []string{"sidekiq"}, "bad", out, WaitOptions{Poll: 50 * time.Millisecond, Timeout: 10 * time.Second, DeploymentsList: true})
	var re *RolloutError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "FAILED") || !strings.Contains(err.Error(), "2x Essential container in task exited") {
		t.Fatalf("err = %v", err)
	}
	t.Logf("the wait's output:\n%s", out)
	// The service's events were shown as they appeared, each once.
	failed := "sidekiq event "
	if n := strings.Count(out.String(), "deployment failed: tasks failed to start."); n != 1 || !strings.Contains(out.String(), failed) {
		t.Errorf("the failure event was shown %d times, want once:\n%s", n, out)
	}
}

// More than a hundred tasks: ListTasks is followed to its last page and
// DescribeTasks called a hundred at a time.
func TestManyTasksArePagedAndBatched(t *testing.T) {
	fake, _, client, _ := setup(t)
	fake.Outcome = func(awsfake.RunRequest) awsfake.Outcome {
		return awsfake.Outcome{PendingFor: 10 * time.Millisecond, RunFor: time.Hour}
	}
	ctx := context.Background()
	for i := 0; i < 15; i++ {
		_, err := client.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("shop-sandbox"), TaskDefinition: aws.String("shop-sandbox-migrate"), Count: aws.Int32(10),
			StartedBy: aws.String("batch"), NetworkConfiguration: &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-1"}}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(2 * awsfake.TestTiming.TaskVisible)
	lists := fake.Calls("ListTasks")
	arns, err := ListTaskArns(ctx, client, &ecs.ListTasksInput{Cluster: aws.String("shop-sandbox"), StartedBy: aws.String("batch")})
	if err != nil || len(arns) != 150 || fake.Calls("ListTasks")-lists != 2 {
		t.Fatalf("ListTaskArns = %d arns, %v, %d calls", len(arns), err, fake.Calls("ListTasks")-lists)
	}
	describes := fake.Calls("DescribeTasks")
	tasks, err := DescribeTasksBatched(ctx, client, "shop-sandbox", arns, false)
	if err != nil || len(tasks) != 150 || fake.Calls("DescribeTasks")-describes != 2 {
		t.Fatalf("DescribeTasksBatched = %d tasks, %v, %d calls", len(tasks), err, fake.Calls("DescribeTasks")-describes)
	}
}
