package ecs

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// "desiredCount: the number of instantiations of the task to place and
// keep running in your service" (UpdateService, API reference): a
// desired-count-only update makes no new deployment; the scheduler starts
// or stops tasks ("has started N tasks", "has stopped N running tasks")
// until the service reaches a steady state, which the SDK's services-stable
// waiter then sees. Out, in, and to zero.
func TestDesiredCountOnlyUpdatesScaleTheService(t *testing.T) {
	_, _, client, _ := setup(t)
	ctx := context.Background()
	newService(t, client, true)
	waiter := ecs.NewServicesStableWaiter(client, func(o *ecs.ServicesStableWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 200*time.Millisecond
	})
	in := &ecs.DescribeServicesInput{Cluster: aws.String("shop-sandbox"), Services: []string{"sidekiq"}}
	if err := waiter.Wait(ctx, in, 30*time.Second); err != nil {
		t.Fatalf("the new service never settled: %v", err)
	}
	for _, want := range []int32{3, 1, 0} {
		if _, err := client.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("shop-sandbox"), Service: aws.String("sidekiq"), DesiredCount: aws.Int32(want)}); err != nil {
			t.Fatal(err)
		}
		if err := waiter.Wait(ctx, in, 30*time.Second); err != nil {
			t.Fatalf("after desiredCount=%d the services-stable wait failed: %v", want, err)
		}
		out, err := client.DescribeServices(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		svc := out.Services[0]
		if svc.RunningCount != want || svc.DesiredCount != want || len(svc.Deployments) != 1 || svc.Deployments[0].RolloutState != types.DeploymentRolloutStateCompleted {
			t.Errorf("desiredCount=%d: running %d, desired %d, deployments %+v", want, svc.RunningCount, svc.DesiredCount, svc.Deployments)
		}
		tasks, err := ListTaskArns(ctx, client, &ecs.ListTasksInput{Cluster: aws.String("shop-sandbox"), ServiceName: aws.String("sidekiq")})
		if err != nil || int32(len(tasks)) != want {
			t.Errorf("desiredCount=%d: %d running tasks listed (%v)", want, len(tasks), err)
		}
	}
	out, _ := client.DescribeServices(ctx, in)
	var events []string
	for _, e := range out.Services[0].Events {
		events = append(events, aws.ToString(e.Message))
	}
	all := strings.Join(events, "\n")
	for _, want := range []string{"has started 2 tasks: (task ", "has stopped 2 running tasks: (task ", "has stopped 1 running tasks: (task ", "has reached a steady state."} {
		if !strings.Contains(all, want) {
			t.Errorf("no event %q:\n%s", want, all)
		}
	}
}
