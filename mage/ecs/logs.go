package ecs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// LogsAPI is the part of the CloudWatch Logs client this package uses.
type LogsAPI interface {
	GetLogEvents(ctx context.Context, in *cloudwatchlogs.GetLogEventsInput, opts ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.GetLogEventsOutput, error)
}

// LogStream is where the awslogs driver writes a container's output.
type LogStream struct {
	Group, Stream, Region string
}

// StreamFor reads the task definition's awslogs options for container and
// names the stream: PREFIX/CONTAINER/TASK_ID. ok is false when the
// container does not log to CloudWatch.
func StreamFor(td *types.TaskDefinition, container, taskArn string) (LogStream, bool) {
	for _, c := range td.ContainerDefinitions {
		if container != "" && aws.ToString(c.Name) != container {
			continue
		}
		lc := c.LogConfiguration
		if lc == nil || lc.LogDriver != types.LogDriverAwslogs {
			return LogStream{}, false
		}
		prefix := lc.Options["awslogs-stream-prefix"]
		if prefix == "" {
			return LogStream{}, false // without a prefix the stream name is not derivable
		}
		return LogStream{
			Group:  lc.Options["awslogs-group"],
			Region: lc.Options["awslogs-region"],
			Stream: prefix + "/" + aws.ToString(c.Name) + "/" + ShortID(taskArn),
		}, true
	}
	return LogStream{}, false
}

// followLogs prints the container's log lines until stop closes, then
// reads the tail: until GetLogEvents hands back the token it was given,
// which is how CloudWatch Logs says "end of stream".
func (r *Runner) followLogs(ctx context.Context, spec Spec, t types.Task, stop <-chan struct{}) {
	td, err := r.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: t.TaskDefinitionArn})
	if err != nil {
		fmt.Fprintf(r.out(), "no live logs: describe task definition: %v\n", err)
		return
	}
	ls, ok := StreamFor(td.TaskDefinition, spec.Container, aws.ToString(t.TaskArn))
	if !ok {
		fmt.Fprintf(r.out(), "no live logs: container %s does not use the awslogs driver with a stream prefix\n", spec.Container)
		return
	}
	f := &follower{api: r.Logs, ls: ls, out: r}
	for {
		select {
		case <-stop:
			f.drain(context.WithoutCancel(ctx))
			return
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
			f.page(ctx)
		}
	}
}

type follower struct {
	api   LogsAPI
	ls    LogStream
	out   *Runner
	token string
}

// page reads one page; it reports whether the stream had nothing new.
func (f *follower) page(ctx context.Context) (atEnd bool) {
	in := &cloudwatchlogs.GetLogEventsInput{
		LogGroupName:  aws.String(f.ls.Group),
		LogStreamName: aws.String(f.ls.Stream),
		StartFromHead: aws.Bool(true),
	}
	if f.token != "" {
		in.NextToken = aws.String(f.token)
	}
	out, err := f.api.GetLogEvents(ctx, in)
	if err != nil {
		var nf *logtypes.ResourceNotFoundException
		return errors.As(err, &nf) || ctx.Err() != nil // not created yet / gone: nothing to read
	}
	for _, e := range out.Events {
		fmt.Fprintf(f.out.out(), "  | %s\n", aws.ToString(e.Message))
	}
	next := aws.ToString(out.NextForwardToken)
	atEnd = next == f.token || next == ""
	f.token = next
	return atEnd
}

func (f *follower) drain(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for i := 0; i < 1000 && !f.page(ctx); i++ {
	}
}
