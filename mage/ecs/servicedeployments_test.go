package ecs

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/railsecs/deploykit/mage/awsfake"
	"github.com/railsecs/deploykit/mage/internal/testaws"
	"github.com/railsecs/deploykit/mage/internal/testtools"
)

// currentStatus is the status of the service's current service
// deployment, and its ARN.
func currentStatus(t *testing.T, client *ecs.Client) (types.ServiceDeploymentStatus, string) {
	t.Helper()
	ctx := context.Background()
	svcs, err := client.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("shop-sandbox"), Services: []string{"sidekiq"}})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(svcs.Services[0].CurrentServiceDeployment)
	sds, err := client.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{arn}})
	if err != nil || len(sds.ServiceDeployments) != 1 {
		t.Fatalf("describe service deployment %s: %v", arn, err)
	}
	return sds.ServiceDeployments[0].Status, arn
}

// The wait follows the service deployment: its stages as they change,
// and on a breaker's rollback what ECS recorded (the failure count
// against the threshold, the revision it returned to) with the stopped
// tasks' reasons.
func TestWaitOnTheServiceDeploymentReportsTheBreakersRollback(t *testing.T) {
	fake, _, client, _ := setup(t)
	newService(t, client, true)
	settled(t, client, "sidekiq")
	fake.SetRollout(func(string, string) awsfake.Rollout {
		return awsfake.Rollout{Takes: 300 * time.Millisecond, Fail: true, FailedTasks: 3, StoppedReason: "Essential container in task exited"}
	})
	update(t, client, "bad")
	out := &testtools.Buffer{}
	err := WaitServices(context.Background(), client, "shop-sandbox", []string{"sidekiq"}, "bad", out, WaitOptions{Poll: 20 * time.Millisecond, Timeout: 10 * time.Second})
	var re *RolloutError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v\n%s", err, out)
	}
	for _, want := range []string{"ROLLBACK_SUCCESSFUL", "circuit breaker tripped after 3 failed tasks (threshold 3)", "ECS rolled it back to revision", "3x Essential container in task exited (rails exited 1)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error lacks %q:\n%v", want, err)
		}
	}
	text := out.String()
	if !strings.Contains(text, "deploys bad") || !strings.Contains(text, "IN_PROGRESS, stage SCALE_UP") {
		t.Errorf("the wait did not show the service deployment and its stage:\n%s", text)
	}
	if strings.Contains(text, "no ECS service deployments") {
		t.Errorf("the double answers the service deployment API; the wait fell back:\n%s", text)
	}
}

// Ctrl-C (the context cancelled) and the timeout during a rollout stop
// the service deployment with ROLLBACK: ECS returns the service to the
// release that ran, and the error says so.
func TestAnInterruptedOrTimedOutRolloutIsRolledBackInFlight(t *testing.T) {
	for _, how := range []string{"interrupt", "timeout"} {
		t.Run(how, func(t *testing.T) {
			fake, _, client, _ := setup(t)
			newService(t, client, false)
			settled(t, client, "sidekiq")
			fake.SetRollout(func(string, string) awsfake.Rollout { return awsfake.Rollout{Takes: time.Hour} })
			update(t, client, "slow")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			out := &testtools.Buffer{}
			opts := WaitOptions{Poll: 20 * time.Millisecond, Timeout: 10 * time.Second, RollbackInFlight: true}
			if how == "timeout" {
				opts.Timeout = 500 * time.Millisecond
			} else {
				go func() {
					for !strings.Contains(out.String(), "deploys slow") {
						time.Sleep(10 * time.Millisecond)
					}
					cancel()
				}()
			}
			err := WaitServices(ctx, client, "shop-sandbox", []string{"sidekiq"}, "slow", out, opts)
			if err == nil || !strings.Contains(err.Error(), "rolled back in flight with StopServiceDeployment ROLLBACK: sidekiq") {
				t.Fatalf("err = %v\n%s", err, out)
			}
			if how == "interrupt" && !errors.Is(err, context.Canceled) {
				t.Errorf("an interrupted wait's error should still be context.Canceled: %v", err)
			}
			status, _ := currentStatus(t, client)
			if !strings.HasPrefix(string(status), "ROLLBACK_") {
				t.Errorf("the service deployment is %s after the stop, want it rolling back", status)
			}
			// The release that ran is back, long before the slow rollout
			// could have finished.
			settled(t, client, "sidekiq")
		})
	}
}

// Without RollbackInFlight (mage deploy -wait=... by a caller that wants
// the rollout left alone) an interrupt leaves the rollout running.
func TestAnInterruptWithoutRollbackLeavesTheRollout(t *testing.T) {
	fake, _, client, _ := setup(t)
	newService(t, client, false)
	settled(t, client, "sidekiq")
	fake.SetRollout(func(string, string) awsfake.Rollout { return awsfake.Rollout{Takes: time.Hour} })
	update(t, client, "slow")
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	err := WaitServices(ctx, client, "shop-sandbox", []string{"sidekiq"}, "slow", &testtools.Buffer{}, WaitOptions{Poll: 20 * time.Millisecond, Timeout: 10 * time.Second})
	if !errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "rolled back") {
		t.Fatalf("err = %v", err)
	}
	if status, _ := currentStatus(t, client); status != types.ServiceDeploymentStatusInProgress {
		t.Errorf("the rollout is %s, want it left IN_PROGRESS", status)
	}
}

// mage abort: every service deployment in flight is rolled back; with
// none in flight it says so and changes nothing.
func TestAbortRollsBackWhatIsInFlight(t *testing.T) {
	fake, _, client, _ := setup(t)
	ctx := context.Background()
	newService(t, client, false)
	settled(t, client, "sidekiq")
	out := &testtools.Buffer{}
	if err := Abort(ctx, client, "shop-sandbox", []string{"sidekiq"}, out); err != nil || !strings.Contains(out.String(), "nothing to abort") {
		t.Fatalf("abort with nothing in flight: %v\n%s", err, out)
	}
	fake.SetRollout(func(string, string) awsfake.Rollout { return awsfake.Rollout{Takes: time.Hour} })
	update(t, client, "slow")
	time.Sleep(2 * awsfake.TestTiming.ServiceUpdateVisible)
	if status, _ := currentStatus(t, client); status != types.ServiceDeploymentStatusInProgress {
		t.Fatalf("before the abort the rollout is %s", status)
	}
	out.Reset()
	if err := Abort(ctx, client, "shop-sandbox", []string{"sidekiq"}, out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "abort: rolled back in flight") {
		t.Errorf("abort printed:\n%s", out)
	}
	settled(t, client, "sidekiq")
	if status, _ := currentStatus(t, client); status != types.ServiceDeploymentStatusRollbackSuccessful {
		t.Errorf("after the abort the service deployment is %s, want ROLLBACK_SUCCESSFUL", status)
	}
}

// The tfvars pin digests; a revision running our tag at another digest
// (the tag was pushed over after the build) fails at once.
func TestAServiceDeploymentOfAMovedTagFails(t *testing.T) {
	fake, _, client, _ := setup(t)
	fake.SetImageDigests(func(string) string { return "sha256:" + strings.Repeat("0", 64) })
	newService(t, client, true)
	settled(t, client, "sidekiq")
	update(t, client, "new")
	pinned := "sha256:" + strings.Repeat("1", 64)
	err := WaitServices(context.Background(), client, "shop-sandbox", []string{"sidekiq"}, "new", &testtools.Buffer{},
		WaitOptions{Poll: 20 * time.Millisecond, Timeout: 10 * time.Second, Digests: []string{pinned}})
	if err == nil || !strings.Contains(err.Error(), "the tag moved after the build") {
		t.Fatalf("err = %v", err)
	}
	err = WaitServices(context.Background(), client, "shop-sandbox", []string{"sidekiq"}, "new", &testtools.Buffer{},
		WaitOptions{Poll: 20 * time.Millisecond, Timeout: 10 * time.Second, Digests: []string{"sha256:" + strings.Repeat("0", 64)}})
	if err != nil {
		t.Errorf("with the digest pinned: %v", err)
	}
}

// moto, a third-party emulator, has no service deployments (it answers
// 500): the wait says so once and follows the deployments list instead.
func TestTheWaitFallsBackWhereThereAreNoServiceDeployments(t *testing.T) {
	endpoint := testaws.Moto(t)
	subnet, sg := testaws.Network(t, endpoint)
	client := ecs.NewFromConfig(testaws.Config(testaws.ECSTypeFixProxy(t, endpoint)))
	ctx := context.Background()
	testaws.CLI(t, endpoint, "ecs", "create-cluster", "--cluster-name", "shop-staging")
	if _, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("shop-staging-web"), NetworkMode: types.NetworkModeAwsvpc,
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate}, Cpu: aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("rails"), Image: aws.String("123456789012.dkr.ecr.us-east-1.amazonaws.com/shop/app:old"), Essential: aws.Bool(true), Memory: aws.Int32(512)}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster: aws.String("shop-staging"), ServiceName: aws.String("web"), TaskDefinition: aws.String("shop-staging-web"),
		DesiredCount: aws.Int32(1), LaunchType: types.LaunchTypeFargate,
		NetworkConfiguration: &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{subnet}, SecurityGroups: []string{sg}}},
	}); err != nil {
		t.Fatal(err)
	}
	out := &testtools.Buffer{}
	err := WaitServices(ctx, client, "shop-staging", []string{"web"}, "old", out, WaitOptions{Poll: 50 * time.Millisecond, Timeout: 2 * time.Second})
	t.Logf("the wait on moto:\n%s", out)
	if n := strings.Count(out.String(), "this endpoint has no ECS service deployments"); n != 1 {
		t.Errorf("the fallback was announced %d times, want once", n)
	}
	// moto never runs a service's tasks, so the rollout cannot finish: the
	// timeout's report is read from moto's deployments list.
	if err == nil || !strings.Contains(err.Error(), "web: 0/1 running") || !strings.Contains(err.Error(), "(IN_PROGRESS)") {
		t.Errorf("the deployments-list wait on moto: %v", err)
	}
}

// blueGreenService creates sidekiq with the BLUE_GREEN strategy, a one
// minute bake time and, when pause, a PAUSE hook after the test traffic
// shift, and lets its first deployment settle.
func blueGreenService(t *testing.T, client *ecs.Client, pause bool) {
	t.Helper()
	cfg := &types.DeploymentConfiguration{Strategy: types.DeploymentStrategyBlueGreen, BakeTimeInMinutes: aws.Int32(1),
		DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true, Rollback: true}}
	if pause {
		cfg.LifecycleHooks = []types.DeploymentLifecycleHook{{TargetType: types.DeploymentLifecycleHookTargetTypePause,
			LifecycleStages:      []types.DeploymentLifecycleHookStage{types.DeploymentLifecycleHookStagePostTestTrafficShift},
			TimeoutConfiguration: &types.DeploymentLifecycleHookTimeoutConfiguration{TimeoutInMinutes: aws.Int32(60), Action: types.DeploymentLifecycleHookActionRollback}}}
	}
	_, err := client.CreateService(context.Background(), &ecs.CreateServiceInput{
		Cluster: aws.String("shop-sandbox"), ServiceName: aws.String("sidekiq"),
		TaskDefinition: aws.String("shop-sandbox-migrate:1"), DesiredCount: aws.Int32(1), LaunchType: types.LaunchTypeFargate,
		NetworkConfiguration:    &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-1"}}},
		DeploymentConfiguration: cfg,
	})
	if err != nil {
		t.Fatal(err)
	}
	settled(t, client, "sidekiq")
}

// A blue/green rollout is followed stage by stage to the end of its bake
// time.
func TestTheWaitFollowsABlueGreenRolloutStageByStage(t *testing.T) {
	_, _, client, _ := setup(t)
	blueGreenService(t, client, false)
	update(t, client, "new")
	out := &testtools.Buffer{}
	if err := WaitServices(context.Background(), client, "shop-sandbox", []string{"sidekiq"}, "new", out, WaitOptions{Poll: 10 * time.Millisecond, Timeout: 20 * time.Second}); err != nil {
		t.Fatalf("wait: %v\n%s", err, out)
	}
	last := 0
	for _, stage := range []string{"SCALE_UP", "TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME"} {
		i := strings.Index(out.String(), "stage "+stage)
		if i < last {
			t.Errorf("stage %s not shown after the ones before it:\n%s", stage, out)
		}
		last = i
	}
}

// A rollout paused at its hook: the gate's pass continues it, its refusal
// rolls it back (and the error says why); without a gate the wait says
// how to continue, and mage continue does.
func TestTheGateDecidesAPausedRollout(t *testing.T) {
	for _, tc := range []struct {
		name string
		gate func(context.Context, Paused) error
	}{
		{"passes", func(_ context.Context, p Paused) error {
			if p.Stage != "POST_TEST_TRAFFIC_SHIFT" || p.TestTrafficWeight != 100 || p.Service != "sidekiq" {
				return errors.New("unexpected pause " + p.Stage)
			}
			return nil
		}},
		{"refuses", func(context.Context, Paused) error { return errors.New("GET /up through the test listener: 500") }},
		{"no gate", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, client, _ := setup(t)
			blueGreenService(t, client, true)
			update(t, client, "new")
			out := &testtools.Buffer{}
			if tc.gate == nil {
				go func() {
					for i := 0; i < 1000 && !strings.Contains(out.String(), "`mage continue` continues it"); i++ {
						time.Sleep(10 * time.Millisecond)
					}
					if err := Continue(context.Background(), client, "shop-sandbox", []string{"sidekiq"}, io.Discard); err != nil {
						t.Error(err)
					}
				}()
			}
			err := WaitServices(context.Background(), client, "shop-sandbox", []string{"sidekiq"}, "new", out,
				WaitOptions{Poll: 10 * time.Millisecond, Timeout: 20 * time.Second, Gate: tc.gate})
			if tc.name == "refuses" {
				if err == nil || !strings.Contains(err.Error(), "ROLLBACK_SUCCESSFUL") || !strings.Contains(err.Error(), "the gate refused: GET /up through the test listener: 500") {
					t.Fatalf("a refused gate: %v\n%s", err, out)
				}
				return
			}
			if err != nil {
				t.Fatalf("wait: %v\n%s", err, out)
			}
		})
	}
}

// A release ECS rolled back earlier (here an interrupted wait), deployed
// again: terraform finds nothing to change, so the wait rolls it out
// again itself, and the second rollout succeeds.
func TestDeployingAgainARollbackUndidRollsItOutAgain(t *testing.T) {
	fake, _, client, _ := setup(t)
	newService(t, client, true)
	settled(t, client, "sidekiq")
	fake.SetRollout(func(string, string) awsfake.Rollout { return awsfake.Rollout{Takes: time.Hour} })
	update(t, client, "new")
	err := WaitServices(context.Background(), client, "shop-sandbox", []string{"sidekiq"}, "new", io.Discard,
		WaitOptions{Poll: 10 * time.Millisecond, Timeout: 200 * time.Millisecond, RollbackInFlight: true})
	if err == nil || !strings.Contains(err.Error(), "rolled back in flight") {
		t.Fatalf("the timed-out wait: %v", err)
	}
	settled(t, client, "sidekiq") // the old release runs again
	fake.SetRollout(nil)
	// The next deploy of "new": no UpdateService (terraform had nothing to
	// change); the wait sees our release undone before it began.
	out := &testtools.Buffer{}
	if err := WaitServices(context.Background(), client, "shop-sandbox", []string{"sidekiq"}, "new", out,
		WaitOptions{Poll: 10 * time.Millisecond, Timeout: 10 * time.Second}); err != nil {
		t.Fatalf("deploying the undone release again: %v\n%s", err, out)
	}
	if !strings.Contains(out.String(), "rolling shop-sandbox-migrate:2 out again") {
		t.Errorf("the wait did not say it rolled the release out again:\n%s", out)
	}
}

// On a loaded machine ECS can roll the apply's deployment back before the
// wait's first poll. Undone after the apply began, it is this deploy's
// failure: the wait reports it rather than rolling the release out again.
func TestARollbackBetweenTheApplyAndTheWaitIsAFailure(t *testing.T) {
	client, applied := rolledBackBeforeTheWait(t)
	out := &testtools.Buffer{}
	err := WaitServices(context.Background(), client, "shop-sandbox", []string{"sidekiq"}, "new", out,
		WaitOptions{Poll: 10 * time.Millisecond, Timeout: 10 * time.Second, Since: applied})
	if err == nil || !strings.Contains(err.Error(), "ROLLBACK_SUCCESSFUL") {
		t.Fatalf("a rollback after the apply began = %v, want the rollback reported\n%s", err, out)
	}
	if strings.Contains(out.String(), "out again") {
		t.Errorf("the wait rolled the failed release out again:\n%s", out)
	}
}

// The same on DescribeServices' deployments list (moto's endpoint): the
// breaker's rollback since the apply is the failure, not a deployment
// that never appeared.
func TestARollbackBeforeTheFirstPollFailsTheDeploymentsListWait(t *testing.T) {
	client, applied := rolledBackBeforeTheWait(t)
	out := &testtools.Buffer{}
	err := WaitServices(context.Background(), client, "shop-sandbox", []string{"sidekiq"}, "new", out,
		WaitOptions{Poll: 10 * time.Millisecond, Timeout: 10 * time.Second, VisibleGrace: 5 * time.Second, DeploymentsList: true, Since: applied})
	if err == nil || !strings.Contains(err.Error(), "rolled it back") {
		t.Fatalf("a rollback after the apply began = %v, want the breaker's rollback reported\n%s", err, out)
	}
}

// rolledBackBeforeTheWait applies release "new" whose tasks crash, and
// returns once the breaker rolled it back, with when the apply began.
func rolledBackBeforeTheWait(t *testing.T) (*ecs.Client, time.Time) {
	t.Helper()
	fake, _, client, _ := setup(t)
	newService(t, client, true)
	settled(t, client, "sidekiq")
	fake.SetRollout(func(string, string) awsfake.Rollout {
		return awsfake.Rollout{Takes: 20 * time.Millisecond, Fail: true, FailedTasks: 2}
	})
	applied := time.Now()
	update(t, client, "new")
	rolledBack(t, client)
	fake.SetRollout(nil)
	return client, applied
}

// rolledBack waits, bounded, until sidekiq's current service deployment
// is ROLLBACK_SUCCESSFUL.
func rolledBack(t *testing.T, client *ecs.Client) {
	t.Helper()
	var status types.ServiceDeploymentStatus
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if status, _ = currentStatus(t, client); status == types.ServiceDeploymentStatusRollbackSuccessful {
			return
		}
	}
	t.Fatalf("sidekiq's current service deployment is %s after 10s, not ROLLBACK_SUCCESSFUL", status)
}
