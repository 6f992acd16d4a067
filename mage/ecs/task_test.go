package ecs

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/railsecs/deploykit/mage/internal/testtools"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/railsecs/deploykit/mage/awsfake"
)

// setup starts the double, registers a migrate task definition and a
// web-app service, and returns a Runner using the real SDK clients.
func setup(t *testing.T) (*awsfake.Server, *Runner, *ecs.Client, *testtools.Buffer) {
	t.Helper()
	fake := awsfake.New()
	fake.AddCluster("shop-sandbox")
	fake.AddLogGroup("/ecs/shop-sandbox/migrate")
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	cfg := aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		BaseEndpoint: aws.String(srv.URL),
	}
	ecsClient := ecs.NewFromConfig(cfg)
	logsClient := cloudwatchlogs.NewFromConfig(cfg)
	ctx := context.Background()
	_, err := ecsClient.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family:                  aws.String("shop-sandbox-migrate"),
		NetworkMode:             types.NetworkModeAwsvpc,
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		Cpu:                     aws.String("256"),
		Memory:                  aws.String("512"),
		Tags:                    []types.Tag{{Key: aws.String("app"), Value: aws.String("shop")}},
		ContainerDefinitions: []types.ContainerDefinition{{
			Name:      aws.String("rails"),
			Image:     aws.String("127.0.0.1:5000/shop/app:old"),
			Essential: aws.Bool(true),
			Command:   []string{"bundle", "exec", "rails", "db:migrate"},
			LogConfiguration: &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: map[string]string{
				"awslogs-group": "/ecs/shop-sandbox/migrate", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "migrate",
			}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ecsClient.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster: aws.String("shop-sandbox"), ServiceName: aws.String("web-app"),
		TaskDefinition: aws.String("shop-sandbox-migrate"), DesiredCount: aws.Int32(1), LaunchType: types.LaunchTypeFargate,
		NetworkConfiguration: &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{
			Subnets: []string{"subnet-1"}, SecurityGroups: []string{"sg-1"},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	out := &testtools.Buffer{}
	r := &Runner{ECS: ecsClient, Logs: logsClient, Out: out, PollStart: 20 * time.Millisecond, PollMax: 100 * time.Millisecond}
	return fake, r, ecsClient, out
}

// settled waits, with the toolkit's own wait, until the service's
// deployment of tag "old" has rolled out (a new service starts
// IN_PROGRESS).
func settled(t *testing.T, client *ecs.Client, service string) {
	t.Helper()
	err := WaitServices(context.Background(), client, "shop-sandbox", []string{service}, "old", io.Discard,
		WaitOptions{Poll: 20 * time.Millisecond, Until: UntilStable, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("the deployment of %s: %v", service, err)
	}
}

func migrateSpec() Spec {
	return Spec{
		Cluster: "shop-sandbox", TaskDefinition: "shop-sandbox-migrate", Container: "rails",
		Command: []string{"bundle", "exec", "rails", "db:migrate"}, NetworkFrom: "web-app",
		Marker: MigrateMarker, Who: "alice@laptop", Commit: "3f2c1e0",
	}
}

func TestRunStreamsLogsOnceAndSucceeds(t *testing.T) {
	fake, r, _, out := setup(t)
	var seen awsfake.RunRequest
	lines := []string{"== 20261125 CreateOrders: migrating", "-- create_table(:orders)", "== 20261125 CreateOrders: migrated"}
	fake.Outcome = func(req awsfake.RunRequest) awsfake.Outcome {
		seen = req
		return awsfake.Outcome{PendingFor: 50 * time.Millisecond, RunFor: 1500 * time.Millisecond, Logs: lines}
	}
	if _, err := r.Run(context.Background(), migrateSpec(), RunOptions{}); err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	if strings.Join(seen.Command["rails"], " ") != "bundle exec rails db:migrate" || seen.StartedBy != MigrateMarker {
		t.Errorf("RunTask saw %+v", seen)
	}
	for _, l := range lines {
		if n := strings.Count(out.String(), "| "+l+"\n"); n != 1 {
			t.Errorf("log line %q printed %d times:\n%s", l, n, out)
		}
	}
	if !strings.Contains(out.String(), ": STOPPED") {
		t.Errorf("no STOPPED progress line:\n%s", out)
	}
}

func TestFailuresAreReportedPrecisely(t *testing.T) {
	tests := []struct {
		name    string
		outcome awsfake.Outcome
		check   func(t *testing.T, err error)
	}{
		{"exit code", awsfake.Outcome{PendingFor: 20 * time.Millisecond, RunFor: 50 * time.Millisecond, ExitCode: 3}, func(t *testing.T, err error) {
			var te *TaskError
			if !errors.As(err, &te) || te.ExitCode != 3 || te.ExitStatus() != 3 || !strings.Contains(err.Error(), "container rails exited with status 3") {
				t.Errorf("err = %v", err)
			}
		}},
		{"RunTask failures", awsfake.Outcome{Failures: []awsfake.Failure{{Reason: "RESOURCE:MEMORY"}}}, func(t *testing.T, err error) {
			var rf *RunTaskFailedError
			if !errors.As(err, &rf) || !strings.Contains(err.Error(), "RESOURCE:MEMORY") {
				t.Errorf("err = %v", err)
			}
		}},
		{"image pull error", awsfake.Outcome{PendingFor: 30 * time.Millisecond, FailToStart: "CannotPullContainerError: pull image manifest has been retried 5 time(s)",
			ContainerReason: "CannotPullContainerError: ref pull has been retried 5 time(s): 127.0.0.1:5000/shop/app:new: not found"}, func(t *testing.T, err error) {
			var te *TaskError
			if !errors.As(err, &te) || te.StopCode != "TaskFailedToStart" || te.ExitCode != -1 ||
				!strings.Contains(err.Error(), "stopped before its container ran (TaskFailedToStart: CannotPullContainerError") ||
				!strings.Contains(err.Error(), "container rails: CannotPullContainerError: ref pull") {
				t.Errorf("err = %v", err)
			}
		}},
		{"pending straight to stopped", awsfake.Outcome{PendingFor: 10 * time.Millisecond, FailToStart: "ResourceInitializationError: unable to pull secrets"}, func(t *testing.T, err error) {
			if err == nil || !strings.Contains(err.Error(), "ResourceInitializationError") {
				t.Errorf("err = %v", err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake, r, _, _ := setup(t)
			fake.Outcome = func(awsfake.RunRequest) awsfake.Outcome { return tc.outcome }
			_, err := r.Run(context.Background(), migrateSpec(), RunOptions{})
			tc.check(t, err)
		})
	}
}

func TestCancelStopsTheTask(t *testing.T) {
	fake, r, client, out := setup(t)
	fake.Outcome = func(awsfake.RunRequest) awsfake.Outcome {
		return awsfake.Outcome{PendingFor: 10 * time.Millisecond, RunFor: time.Hour}
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	arn, err := r.Run(ctx, migrateSpec(), RunOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	// StopTask is asked at once; the task then goes through DEACTIVATING,
	// STOPPING and DEPROVISIONING to STOPPED, as on Fargate.
	task := describeTask(t, client, arn)
	if aws.ToString(task.DesiredStatus) != "STOPPED" || task.StopCode != types.TaskStopCodeUserInitiated || aws.ToString(task.StoppedReason) != "deploykit: interrupted" {
		t.Errorf("task after cancel: %s/%s %s %q\n%s", aws.ToString(task.LastStatus), aws.ToString(task.DesiredStatus), task.StopCode, aws.ToString(task.StoppedReason), out)
	}
	if s := aws.ToString(task.LastStatus); s == "STOPPED" || s == "RUNNING" {
		t.Errorf("task right after StopTask is %s, want one of the stopping states", s)
	}
	stopped, err := r.Wait(context.Background(), "shop-sandbox", arn)
	if err != nil || aws.ToInt32(stopped.Containers[0].ExitCode) != 143 {
		t.Errorf("after the stop: %v, exit %v", err, stopped.Containers[0].ExitCode)
	}
	if !strings.Contains(out.String(), "DEACTIVATING") {
		t.Errorf("the stop lifecycle was not observed:\n%s", out)
	}
}

// describeTask polls DescribeTasks until ECS shows the task (it is
// eventually consistent: a task just started can be MISSING for a while).
func describeTask(t *testing.T, client *ecs.Client, arn string) types.Task {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := client.DescribeTasks(context.Background(), &ecs.DescribeTasksInput{Cluster: aws.String("shop-sandbox"), Tasks: []string{arn}})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Tasks) == 1 {
			return got.Tasks[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s still MISSING after 5s", arn)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestTimeoutStopsAndDetachDoesNot(t *testing.T) {
	fake, r, client, _ := setup(t)
	fake.Outcome = func(awsfake.RunRequest) awsfake.Outcome {
		return awsfake.Outcome{PendingFor: 10 * time.Millisecond, RunFor: time.Hour}
	}
	_, err := r.Run(context.Background(), migrateSpec(), RunOptions{Timeout: 200 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "timed out after 200ms and was stopped") {
		t.Fatalf("timeout err = %v", err)
	}
	arn, err := r.Run(context.Background(), migrateSpec(), RunOptions{Detach: true})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if s := aws.ToString(describeTask(t, client, arn).LastStatus); s != "RUNNING" {
		t.Errorf("detached task is %s, want RUNNING", s)
	}
}

func TestSecondMigrationRefusedNamingWho(t *testing.T) {
	fake, r, client, _ := setup(t)
	fake.Outcome = func(awsfake.RunRequest) awsfake.Outcome {
		return awsfake.Outcome{PendingFor: 10 * time.Millisecond, RunFor: time.Hour}
	}
	ctx := context.Background()
	if err := CheckNoneRunning(ctx, client, "shop-sandbox", MigrateMarker); err != nil {
		t.Fatalf("empty cluster: %v", err)
	}
	arn, err := r.Run(ctx, migrateSpec(), RunOptions{Detach: true})
	if err != nil {
		t.Fatal(err)
	}
	describeTask(t, client, arn) // ListTasks lags RunTask as DescribeTasks does
	err = CheckNoneRunning(ctx, client, "shop-sandbox", MigrateMarker)
	var busy *BusyError
	if !errors.As(err, &busy) || busy.Who != "alice@laptop" || !strings.Contains(err.Error(), "started by alice@laptop for commit 3f2c1e0") {
		t.Fatalf("err = %v", err)
	}
}

func TestRegisterWithImagesChangesOnlyImages(t *testing.T) {
	_, _, client, _ := setup(t)
	ctx := context.Background()
	arn, err := RegisterWithImages(ctx, client, "shop-sandbox-migrate", map[string]string{"rails": "127.0.0.1:5000/shop/app:new"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(arn, ":task-definition/shop-sandbox-migrate:2") {
		t.Errorf("arn = %s", arn)
	}
	old, _ := client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("shop-sandbox-migrate:1")})
	cur, _ := client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("shop-sandbox-migrate:2")})
	o, n := old.TaskDefinition.ContainerDefinitions[0], cur.TaskDefinition.ContainerDefinitions[0]
	if aws.ToString(n.Image) != "127.0.0.1:5000/shop/app:new" || strings.Join(n.Command, " ") != strings.Join(o.Command, " ") ||
		n.LogConfiguration.Options["awslogs-group"] != o.LogConfiguration.Options["awslogs-group"] ||
		cur.TaskDefinition.NetworkMode != old.TaskDefinition.NetworkMode || aws.ToString(cur.TaskDefinition.Cpu) != "256" {
		t.Errorf("new revision differs in more than the image: %+v", cur.TaskDefinition)
	}
	// The new revision carries the old one's tags (read with include TAGS:
	// ECS returns none without it).
	tagged, err := client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("shop-sandbox-migrate:2"), Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags}})
	if err != nil || len(tagged.Tags) != 1 || aws.ToString(tagged.Tags[0].Key) != "app" {
		t.Errorf("tags of the new revision = %+v, %v; want the old revision's app=shop", tagged.Tags, err)
	}
	if _, err := RegisterWithImages(ctx, client, "shop-sandbox-migrate", map[string]string{"unicorn": "x:y"}); err == nil {
		t.Error("unknown container accepted")
	}
}

func TestThrottlingIsRetriedWithTheSameClientToken(t *testing.T) {
	fake, r, _, _ := setup(t)
	fake.Throttle("RunTask", 2)
	if _, err := r.Run(context.Background(), migrateSpec(), RunOptions{}); err != nil {
		t.Fatalf("run after throttling: %v", err)
	}
	if n := fake.Calls("RunTask"); n != 3 {
		t.Errorf("RunTask calls = %d, want 2 throttled + 1", n)
	}
	if n := fake.TaskCount(); n != 1 {
		t.Errorf("tasks started = %d, want exactly 1", n)
	}
}

func TestConfiguredNetworkWinsOverTheService(t *testing.T) {
	fake, r, client, _ := setup(t)
	fake.Outcome = func(awsfake.RunRequest) awsfake.Outcome {
		return awsfake.Outcome{PendingFor: 10 * time.Millisecond, RunFor: time.Hour}
	}
	spec := migrateSpec()
	spec.NetworkFrom = ""
	if _, err := r.Run(context.Background(), spec, RunOptions{Detach: true}); err == nil {
		t.Fatal("an awsvpc task without network configuration was started")
	}
	spec.Network = NetworkOf([]string{"subnet-migrate"}, []string{"sg-migrate"}, false)
	spec.LaunchType = types.LaunchTypeFargate
	arn, err := r.Run(context.Background(), spec, RunOptions{Detach: true})
	if err != nil {
		t.Fatal(err)
	}
	if lt := describeTask(t, client, arn).LaunchType; lt != types.LaunchTypeFargate {
		t.Errorf("launch type = %q", lt)
	}
	if NetworkOf(nil, nil, true) != nil {
		t.Error("no subnets must mean no network configuration")
	}
}
