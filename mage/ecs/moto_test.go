package ecs

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/railsecs/deploykit/mage/internal/testtools"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/railsecs/deploykit/mage/internal/testaws"
)

// TestMigrateAndRunOnMoto runs the happy path against moto_server, a
// third-party emulator: new revision, network copied from the service,
// task run to STOPPED with exit code 0, logs absent but tolerated, and the
// busy check reading moto's ListTasks.
func TestMigrateAndRunOnMoto(t *testing.T) {
	endpoint := testaws.Moto(t)
	subnet, sg := testaws.Network(t, endpoint)
	cfg := testaws.Config(testaws.ECSTypeFixProxy(t, endpoint))
	client := ecs.NewFromConfig(cfg)
	ctx := context.Background()
	testaws.CLI(t, endpoint, "ecs", "create-cluster", "--cluster-name", "shop-staging")
	if _, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("shop-staging-migrate"), NetworkMode: types.NetworkModeAwsvpc,
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate}, Cpu: aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("rails"), Image: aws.String("123456789012.dkr.ecr.us-east-1.amazonaws.com/shop/app:old"), Essential: aws.Bool(true), Memory: aws.Int32(512),
			LogConfiguration: &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: map[string]string{
				"awslogs-group": "/ecs/shop-staging/migrate", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "migrate",
			}},
		}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster: aws.String("shop-staging"), ServiceName: aws.String("web-app"), TaskDefinition: aws.String("shop-staging-migrate"),
		DesiredCount: aws.Int32(1), LaunchType: types.LaunchTypeFargate,
		NetworkConfiguration: &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{subnet}, SecurityGroups: []string{sg}}},
	}); err != nil {
		t.Fatal(err)
	}

	arn, err := RegisterWithImages(ctx, client, "shop-staging-migrate", map[string]string{"rails": "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop/app:new"})
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckNoneRunning(ctx, client, "shop-staging", MigrateMarker); err != nil {
		t.Fatal(err)
	}
	out := &testtools.Buffer{}
	r := &Runner{ECS: client, Logs: cloudwatchlogs.NewFromConfig(cfg), Out: out, PollStart: 10 * time.Millisecond, PollMax: 50 * time.Millisecond}
	spec := Spec{Cluster: "shop-staging", TaskDefinition: arn, Container: "rails", Command: []string{"bundle", "exec", "rails", "db:migrate"},
		NetworkFrom: "web-app", Marker: MigrateMarker, Who: "ci", Commit: "new"}
	task, err := r.Run(ctx, spec, RunOptions{Timeout: time.Minute})
	if err != nil {
		t.Fatalf("migrate on moto: %v\n%s", err, out)
	}
	got, err := client.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("shop-staging"), Tasks: []string{task}})
	if err != nil {
		t.Fatal(err)
	}
	td := aws.ToString(got.Tasks[0].TaskDefinitionArn)
	if !strings.HasSuffix(td, "shop-staging-migrate:2") {
		t.Errorf("task ran %s, want the new revision", td)
	}
	if !strings.Contains(out.String(), "STOPPED") {
		t.Errorf("no STOPPED progress:\n%s", out)
	}
}
