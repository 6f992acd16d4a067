package ecs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// API is the part of the ECS client this package uses.
type API interface {
	RunTask(ctx context.Context, in *ecs.RunTaskInput, opts ...func(*ecs.Options)) (*ecs.RunTaskOutput, error)
	DescribeTasks(ctx context.Context, in *ecs.DescribeTasksInput, opts ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error)
	StopTask(ctx context.Context, in *ecs.StopTaskInput, opts ...func(*ecs.Options)) (*ecs.StopTaskOutput, error)
	ListTasks(ctx context.Context, in *ecs.ListTasksInput, opts ...func(*ecs.Options)) (*ecs.ListTasksOutput, error)
	DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, opts ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
	UpdateService(ctx context.Context, in *ecs.UpdateServiceInput, opts ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error)
	DescribeTaskDefinition(ctx context.Context, in *ecs.DescribeTaskDefinitionInput, opts ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error)
	RegisterTaskDefinition(ctx context.Context, in *ecs.RegisterTaskDefinitionInput, opts ...func(*ecs.Options)) (*ecs.RegisterTaskDefinitionOutput, error)
	DescribeClusters(ctx context.Context, in *ecs.DescribeClustersInput, opts ...func(*ecs.Options)) (*ecs.DescribeClustersOutput, error)
	ListServiceDeployments(ctx context.Context, in *ecs.ListServiceDeploymentsInput, opts ...func(*ecs.Options)) (*ecs.ListServiceDeploymentsOutput, error)
	DescribeServiceDeployments(ctx context.Context, in *ecs.DescribeServiceDeploymentsInput, opts ...func(*ecs.Options)) (*ecs.DescribeServiceDeploymentsOutput, error)
	DescribeServiceRevisions(ctx context.Context, in *ecs.DescribeServiceRevisionsInput, opts ...func(*ecs.Options)) (*ecs.DescribeServiceRevisionsOutput, error)
	StopServiceDeployment(ctx context.Context, in *ecs.StopServiceDeploymentInput, opts ...func(*ecs.Options)) (*ecs.StopServiceDeploymentOutput, error)
	ContinueServiceDeployment(ctx context.Context, in *ecs.ContinueServiceDeploymentInput, opts ...func(*ecs.Options)) (*ecs.ContinueServiceDeploymentOutput, error)
}

// Tag keys the toolkit puts on the tasks it starts.
const (
	TagStartedBy = "deploykit:started-by"
	TagCommit    = "deploykit:commit"
)

// Spec describes a one-off task.
type Spec struct {
	Cluster        string
	TaskDefinition string // family, family:revision or ARN
	Container      string // the container whose command is overridden
	Command        []string
	// NetworkFrom names a service whose network configuration, launch type
	// or capacity provider strategy the task copies, for what Network and
	// LaunchType leave unset.
	NetworkFrom string
	Network     *types.NetworkConfiguration
	LaunchType  types.LaunchType
	// Marker is the startedBy value (at most 128 characters), used to find
	// our own running tasks.
	Marker string
	Who    string // user@host or the CI job URL
	Commit string
}

// Runner starts and waits for tasks.
type Runner struct {
	ECS  API
	Logs LogsAPI   // nil: no log streaming
	Out  io.Writer // progress and log lines
	// PollStart and PollMax bound the wait's backoff: 1 s rising to 2.5 s
	// by default. A cap of 2.5 s keeps the mean delay in noticing a stop
	// near 1.25 s however long the task runs (the SDK waiter's is minutes).
	PollStart, PollMax time.Duration
	// StopTimeout bounds the StopTask call made after cancellation.
	StopTimeout time.Duration
	// MissingGrace is how long a task RunTask returned may stay MISSING
	// from DescribeTasks (ECS is eventually consistent); default 60 s.
	MissingGrace time.Duration
}

// NeverSeenError is a task RunTask started that DescribeTasks never showed
// within the grace period.
type NeverSeenError struct {
	TaskArn string
	Grace   time.Duration
	Reasons string
}

func (e *NeverSeenError) Error() string {
	return fmt.Sprintf("task %s was started but DescribeTasks did not show it within %s (%s)", ShortID(e.TaskArn), e.Grace, e.Reasons)
}

func (r *Runner) out() io.Writer {
	if r.Out == nil {
		return io.Discard
	}
	return r.Out
}

// RunTaskFailedError is RunTask answering with failures and no task
// (e.g. RESOURCE:MEMORY, AGENT).
type RunTaskFailedError struct {
	Failures []types.Failure
}

func (e *RunTaskFailedError) Error() string {
	var parts []string
	for _, f := range e.Failures {
		p := aws.ToString(f.Reason)
		if d := aws.ToString(f.Detail); d != "" {
			p += " (" + d + ")"
		}
		if a := aws.ToString(f.Arn); a != "" {
			p += " on " + a
		}
		parts = append(parts, p)
	}
	return "ECS could not place the task: " + strings.Join(parts, "; ")
}

// TaskError is a task that stopped without its essential container
// exiting 0: it never started, was stopped, or its container failed.
type TaskError struct {
	TaskArn       string
	StopCode      string
	StoppedReason string
	// Reasons holds containers[].reason by container name, e.g.
	// CannotPullContainerError.
	Reasons map[string]string
	// Container and ExitCode are the essential container's exit; ExitCode
	// is -1 when it never exited (failed to start).
	Container string
	ExitCode  int
}

func (e *TaskError) Error() string {
	id := ShortID(e.TaskArn)
	var b strings.Builder
	switch {
	case e.ExitCode > 0 && e.StopCode == string(types.TaskStopCodeEssentialContainerExited):
		fmt.Fprintf(&b, "task %s: container %s exited with status %d", id, e.Container, e.ExitCode)
	case e.ExitCode >= 0:
		fmt.Fprintf(&b, "task %s stopped (%s: %s); container %s exited with status %d", id, e.StopCode, e.StoppedReason, e.Container, e.ExitCode)
	default:
		fmt.Fprintf(&b, "task %s stopped before its container ran (%s: %s)", id, e.StopCode, e.StoppedReason)
	}
	names := make([]string, 0, len(e.Reasons))
	for n := range e.Reasons {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "; container %s: %s", n, e.Reasons[n])
	}
	return b.String()
}

// ExitStatus lets mage exit with the container's own status.
func (e *TaskError) ExitStatus() int {
	if e.ExitCode > 0 {
		return e.ExitCode
	}
	return 1
}

// Start runs the task and returns it as RunTask described it.
func (r *Runner) Start(ctx context.Context, spec Spec) (types.Task, error) {
	in := &ecs.RunTaskInput{
		Cluster:        aws.String(spec.Cluster),
		TaskDefinition: aws.String(spec.TaskDefinition),
		Count:          aws.Int32(1),
		StartedBy:      aws.String(spec.Marker),
		ClientToken:    aws.String(fmt.Sprintf("deploykit-%d-%d", time.Now().UnixNano(), rand.Int64())),
	}
	if len(spec.Command) > 0 {
		in.Overrides = &types.TaskOverride{ContainerOverrides: []types.ContainerOverride{{Name: aws.String(spec.Container), Command: spec.Command}}}
	}
	for k, v := range map[string]string{TagStartedBy: spec.Who, TagCommit: spec.Commit} {
		if v != "" {
			in.Tags = append(in.Tags, types.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
	}
	sort.Slice(in.Tags, func(i, j int) bool { return *in.Tags[i].Key < *in.Tags[j].Key })
	if spec.NetworkFrom != "" {
		if err := r.copyNetwork(ctx, spec, in); err != nil {
			return types.Task{}, err
		}
	}
	if spec.Network != nil {
		in.NetworkConfiguration = spec.Network
	}
	if spec.LaunchType != "" {
		in.LaunchType, in.CapacityProviderStrategy = spec.LaunchType, nil
	}
	out, err := r.ECS.RunTask(ctx, in)
	if err != nil {
		return types.Task{}, fmt.Errorf("run task %s in cluster %s: %w", spec.TaskDefinition, spec.Cluster, err)
	}
	if len(out.Tasks) == 0 {
		if len(out.Failures) == 0 {
			return types.Task{}, fmt.Errorf("run task %s: ECS returned neither a task nor a failure", spec.TaskDefinition)
		}
		return types.Task{}, &RunTaskFailedError{Failures: out.Failures}
	}
	return out.Tasks[0], nil
}

func (r *Runner) copyNetwork(ctx context.Context, spec Spec, in *ecs.RunTaskInput) error {
	out, err := r.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(spec.Cluster), Services: []string{spec.NetworkFrom}})
	if err != nil {
		return fmt.Errorf("describe service %s: %w", spec.NetworkFrom, err)
	}
	if len(out.Services) == 0 {
		return fmt.Errorf("describe service %s in cluster %s: not found (copying its network configuration)", spec.NetworkFrom, spec.Cluster)
	}
	svc := out.Services[0]
	in.NetworkConfiguration = svc.NetworkConfiguration
	if len(svc.CapacityProviderStrategy) > 0 {
		in.CapacityProviderStrategy = svc.CapacityProviderStrategy
	} else if svc.LaunchType != "" {
		in.LaunchType = svc.LaunchType
	}
	if svc.PlatformVersion != nil && in.LaunchType == types.LaunchTypeFargate {
		in.PlatformVersion = svc.PlatformVersion
	}
	return nil
}

// Wait polls until the task is STOPPED and returns it. Polling starts near
// PollStart and backs off to PollMax with jitter; a task that goes from
// PENDING straight to STOPPED is handled like any other.
func (r *Runner) Wait(ctx context.Context, cluster, taskArn string) (types.Task, error) {
	delay, maxDelay := r.PollStart, r.PollMax
	if delay <= 0 {
		delay = time.Second
	}
	if maxDelay <= 0 {
		maxDelay = 2500 * time.Millisecond
	}
	grace := r.MissingGrace
	if grace <= 0 {
		grace = time.Minute
	}
	started := time.Now()
	last := ""
	for {
		out, err := r.ECS.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: []string{taskArn}, Include: []types.TaskField{types.TaskFieldTags}})
		if err != nil {
			if ctx.Err() != nil {
				return types.Task{}, ctx.Err()
			}
			return types.Task{}, fmt.Errorf("describe task %s: %w", taskArn, err)
		}
		if len(out.Tasks) == 0 {
			// Just started: ECS may not show it yet. Keep polling, and
			// give up only after the grace period.
			if time.Since(started) > grace {
				return types.Task{}, &NeverSeenError{TaskArn: taskArn, Grace: grace, Reasons: failureReasons(out.Failures)}
			}
			if last == "" {
				fmt.Fprintf(r.out(), "task %s: not visible yet (%s), waiting\n", ShortID(taskArn), failureReasons(out.Failures))
				last = "MISSING"
			}
			if err := sleepCtx(ctx, delay); err != nil {
				return types.Task{}, err
			}
			delay = min(delay*3/2, maxDelay)
			continue
		}
		t := out.Tasks[0]
		status := aws.ToString(t.LastStatus)
		if status != last {
			line := status
			if status == "STOPPED" {
				line += ": " + stoppedDetail(t)
			}
			fmt.Fprintf(r.out(), "task %s: %s\n", ShortID(taskArn), line)
			last = status
		}
		if status == "STOPPED" {
			return t, nil
		}
		if err := sleepCtx(ctx, delay); err != nil {
			return types.Task{}, err
		}
		delay = min(delay*3/2, maxDelay)
	}
}

// sleepCtx waits about d, jittered ±20% so many waiters do not poll in
// step, or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))):
		return nil
	}
}

// Outcome turns a STOPPED task into nil (essential container exited 0) or
// a *TaskError.
func Outcome(t types.Task, container string) error {
	te := &TaskError{
		TaskArn:       aws.ToString(t.TaskArn),
		StopCode:      string(t.StopCode),
		StoppedReason: aws.ToString(t.StoppedReason),
		Reasons:       map[string]string{},
		ExitCode:      -1,
	}
	var chosen *types.Container
	for i := range t.Containers {
		c := &t.Containers[i]
		if r := aws.ToString(c.Reason); r != "" {
			te.Reasons[aws.ToString(c.Name)] = r
		}
		if aws.ToString(c.Name) == container || (container == "" && chosen == nil) {
			chosen = c
		}
	}
	if chosen != nil {
		te.Container = aws.ToString(chosen.Name)
		if chosen.ExitCode != nil {
			te.ExitCode = int(*chosen.ExitCode)
		}
	}
	// Exit 0 counts only when the container ended by itself: a task
	// stopped by a user or by ECS may have exited 0 on SIGTERM mid-way.
	// An absent stopCode is taken as a natural exit.
	if te.ExitCode == 0 && (t.StopCode == types.TaskStopCodeEssentialContainerExited || t.StopCode == "") {
		return nil
	}
	return te
}

// RunOptions control Run.
type RunOptions struct {
	Detach  bool          // return once the task runs; never stop it
	Timeout time.Duration // 0: no limit
	// Started is told the task's ARN as soon as RunTask answers, before
	// anything waits: a caller that may be killed records it there, so
	// whoever comes next can find the task that outlived it.
	Started func(arn string)
}

// Run starts the task, streams its logs, waits for it to stop and returns
// its outcome. When ctx ends first (Ctrl-C) or the timeout passes, the task
// is stopped with a reason saying why, unless opts.Detach.
func (r *Runner) Run(ctx context.Context, spec Spec, opts RunOptions) (string, error) {
	t, err := r.Start(ctx, spec)
	if err != nil {
		return "", err
	}
	arn := aws.ToString(t.TaskArn)
	if opts.Started != nil {
		opts.Started(arn)
	}
	fmt.Fprintf(r.out(), "started task %s (%s)\n", ShortID(arn), spec.TaskDefinition)
	if opts.Detach {
		return arn, nil
	}
	waitCtx := ctx
	if opts.Timeout > 0 {
		var cancel context.CancelFunc
		waitCtx, cancel = context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
	}
	logsDone := make(chan struct{})
	stopLogs := make(chan struct{})
	go func() {
		defer close(logsDone)
		if r.Logs != nil {
			r.followLogs(waitCtx, spec, t, stopLogs)
		}
	}()
	stopped, err := r.Wait(waitCtx, spec.Cluster, arn)
	close(stopLogs)
	<-logsDone
	if err != nil {
		var never *NeverSeenError
		if errors.As(err, &never) {
			// It may still be running unwatched: stop it rather than leave
			// a migration nobody is looking at.
			return arn, r.stop(spec.Cluster, arn, "was never visible", err)
		}
		if waitCtx.Err() == nil {
			return arn, err
		}
		why := "interrupted"
		if ctx.Err() == nil {
			why = fmt.Sprintf("timed out after %s", opts.Timeout)
		}
		return arn, r.stop(spec.Cluster, arn, why, err)
	}
	return arn, Outcome(stopped, spec.Container)
}

// stop stops a task we gave up waiting for, on a fresh context: the
// caller's is already done.
func (r *Runner) stop(cluster, arn, why string, cause error) error {
	timeout := r.StopTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	reason := "deploykit: " + why
	_, err := r.ECS.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(cluster), Task: aws.String(arn), Reason: aws.String(reason)})
	if err != nil {
		return fmt.Errorf("%s; stopping task %s failed too, stop it by hand: %w", why, ShortID(arn), errors.Join(cause, err))
	}
	fmt.Fprintf(r.out(), "stopping task %s (ECS accepted StopTask: %s)\n", ShortID(arn), reason)
	return fmt.Errorf("task %s %s and was stopped: %w", ShortID(arn), why, cause)
}

// ShortID is the last part of an ARN: a task ID, or family:revision.
func ShortID(arn string) string { return arn[strings.LastIndexByte(arn, '/')+1:] }

func failureReasons(fs []types.Failure) string {
	var r []string
	for _, f := range fs {
		r = append(r, aws.ToString(f.Reason))
	}
	return strings.Join(r, ", ")
}

// NetworkOf builds an awsvpc network configuration from subnets and
// security groups; nil when no subnet is given.
func NetworkOf(subnets, securityGroups []string, publicIP bool) *types.NetworkConfiguration {
	if len(subnets) == 0 {
		return nil
	}
	assign := types.AssignPublicIpDisabled
	if publicIP {
		assign = types.AssignPublicIpEnabled
	}
	return &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{
		Subnets: subnets, SecurityGroups: securityGroups, AssignPublicIp: assign,
	}}
}
