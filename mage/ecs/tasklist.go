package ecs

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// MigrateMarker is the startedBy value of migration tasks.
const MigrateMarker = "deploykit-migrate"

// BusyError is a migration already running in the cluster.
type BusyError struct {
	TaskArn, Who, Commit, Status string
}

func (e *BusyError) Error() string {
	who := e.Who
	if who == "" {
		who = "someone (no " + TagStartedBy + " tag)"
	}
	return fmt.Sprintf("a migration is already %s in this cluster: task %s started by %s for commit %s; wait for it or stop it", e.Status, ShortID(e.TaskArn), who, e.Commit)
}

// CheckNoneRunning refuses when a task started with marker is PENDING or
// RUNNING in the cluster.
func CheckNoneRunning(ctx context.Context, api API, cluster, marker string) error {
	live, err := LiveTasks(ctx, api, cluster, marker)
	if err != nil {
		return err
	}
	if len(live) > 0 {
		return &live[0]
	}
	return nil
}

// LiveTasks lists the tasks started with marker that have not stopped
// (nor been told to), with who started them for which commit. ListTasks
// takes startedBy as its only filter (the API reference), so the status
// is checked here.
func LiveTasks(ctx context.Context, api API, cluster, marker string) ([]BusyError, error) {
	arns, err := ListTaskArns(ctx, api, &ecs.ListTasksInput{Cluster: aws.String(cluster), StartedBy: aws.String(marker)})
	if err != nil {
		return nil, fmt.Errorf("list tasks started by %s in %s: %w", marker, cluster, err)
	}
	tasks, err := DescribeTasksBatched(ctx, api, cluster, arns, true)
	if err != nil {
		return nil, fmt.Errorf("describe running %s tasks: %w", marker, err)
	}
	var live []BusyError
	for _, t := range tasks {
		status := aws.ToString(t.LastStatus)
		if status == "STOPPED" || aws.ToString(t.DesiredStatus) == "STOPPED" {
			continue
		}
		busy := BusyError{TaskArn: aws.ToString(t.TaskArn), Status: status}
		for _, tag := range t.Tags {
			switch aws.ToString(tag.Key) {
			case TagStartedBy:
				busy.Who = aws.ToString(tag.Value)
			case TagCommit:
				busy.Commit = aws.ToString(tag.Value)
			}
		}
		live = append(live, busy)
	}
	return live, nil
}

// MaxDescribeTasks is DescribeTasks' limit of tasks per call.
const MaxDescribeTasks = 100

// ListTaskArns follows ListTasks' nextToken to the end.
func ListTaskArns(ctx context.Context, api API, in *ecs.ListTasksInput) ([]string, error) {
	var arns []string
	p := ecs.NewListTasksPaginator(api, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		arns = append(arns, page.TaskArns...)
	}
	return arns, nil
}

// DescribeTasksBatched describes any number of tasks, a hundred per call
// as the API allows; tasks ECS does not show (yet) are left out.
func DescribeTasksBatched(ctx context.Context, api API, cluster string, arns []string, tags bool) ([]types.Task, error) {
	var tasks []types.Task
	for start := 0; start < len(arns); start += MaxDescribeTasks {
		in := &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: arns[start:min(start+MaxDescribeTasks, len(arns))]}
		if tags {
			in.Include = []types.TaskField{types.TaskFieldTags}
		}
		out, err := api.DescribeTasks(ctx, in)
		if err != nil {
			return nil, err
		}
		tasks = append(tasks, out.Tasks...)
	}
	return tasks, nil
}

// ServiceTasks describes the tasks a service keeps running (desired
// status RUNNING).
func ServiceTasks(ctx context.Context, api API, cluster, service string) ([]types.Task, error) {
	arns, err := ListTaskArns(ctx, api, &ecs.ListTasksInput{Cluster: aws.String(cluster), ServiceName: aws.String(service), DesiredStatus: types.DesiredStatusRunning})
	if err != nil || len(arns) == 0 {
		return nil, err
	}
	return DescribeTasksBatched(ctx, api, cluster, arns, false)
}
