package ecs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/railsecs/deploykit/mage/imageref"
)

// RolloutError is a service whose deployment of our task definition did
// not complete: FAILED, rolled back by the circuit breaker, or timed out.
type RolloutError struct {
	Service, Why string
	// StoppedReasons counts the stopped reasons of tasks that stopped
	// during the rollout.
	StoppedReasons map[string]int
	Events         []string
}

func (e *RolloutError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "service %s: %s", e.Service, e.Why)
	if len(e.StoppedReasons) > 0 {
		b.WriteString("\n  stopped tasks:")
		reasons := make([]string, 0, len(e.StoppedReasons))
		for r := range e.StoppedReasons {
			reasons = append(reasons, r)
		}
		sort.Slice(reasons, func(i, j int) bool { return e.StoppedReasons[reasons[i]] > e.StoppedReasons[reasons[j]] })
		for _, r := range reasons {
			fmt.Fprintf(&b, "\n    %dx %s", e.StoppedReasons[r], r)
		}
	}
	if len(e.Events) > 0 {
		b.WriteString("\n  recent events:")
		for _, ev := range e.Events {
			b.WriteString("\n    " + ev)
		}
	}
	return b.String()
}

// WaitOptions control WaitServices.
type WaitOptions struct {
	Timeout  time.Duration // default 15 minutes
	Poll     time.Duration // default 2 s
	Progress time.Duration // without a terminal, an unchanged status is repeated this often; default 30 s
	Terminal bool          // one live table redrawn in place instead of plain lines
	// Until is what "done" means: UntilDeployed (the default) is our
	// deployment COMPLETED with running == desired; UntilStable also wants
	// no other deployment left and the service's running == desired.
	Until string
	// VisibleGrace is how long a service may not list the deployment the
	// apply made (eventual consistency); default 1 minute.
	VisibleGrace time.Duration
	// Digests are the image digests the tfvars pinned: a service
	// deployment whose revision runs our tag at another digest fails.
	Digests []string
	// RollbackInFlight: on Ctrl-C, SIGTERM or the timeout, stop the
	// service deployments still rolling out with ROLLBACK.
	RollbackInFlight bool
	// DeploymentsList: wait on DescribeServices' deployments list only,
	// never on service deployments.
	DeploymentsList bool
	// Since is when the change this wait follows began (the deploy's apply).
	// Our release's service deployment that ended, or began rolling back,
	// before then was undone by ECS before this deploy and is rolled out
	// again; one undone after it is this deploy's failure, even when that
	// happened before the wait's first poll. Zero means the wait's start.
	Since time.Time
	// Gate decides a service deployment paused at a PAUSE lifecycle hook:
	// nil error continues it (ContinueServiceDeployment CONTINUE), an
	// error rolls it back. Without a Gate the wait says how to continue
	// or abort by hand and keeps waiting.
	Gate func(ctx context.Context, p Paused) error
}

// since is when the change being waited for began: Since, or the wait's
// start.
func (o WaitOptions) since(started time.Time) time.Time {
	if !o.Since.IsZero() && o.Since.Before(started) {
		return o.Since
	}
	return started
}

// Paused is a service deployment waiting at a lifecycle hook.
type Paused struct {
	Service, ServiceDeploymentArn, HookID, Stage string
	// TestTrafficWeight: the share of test traffic the new revision gets
	// (100 once the test traffic shift is done): a gate smoke-tests it
	// through the test listener.
	TestTrafficWeight float64
}

// What WaitOptions.Until accepts.
const (
	UntilDeployed = "deployed"
	UntilStable   = "stable"
)

// WaitServices waits until every service runs a deployment whose task
// definition has image tag `tag`, with rolloutState COMPLETED and running
// equal to desired (and, with UntilStable, nothing else left running).
// Where ECS answers its service deployments API it waits on the service
// deployment instead (waitServiceDeployments), the record ECS keeps of
// the rollout, and says once when it cannot.
// The ECS "services stable" waiter would also succeed after a
// circuit-breaker rollback; this does not. On the way it prints each new
// service event once, the counts when they change, and the first stopped
// task of each service as soon as it stops.
func WaitServices(ctx context.Context, api API, cluster string, services []string, tag string, out io.Writer, opts WaitOptions) error {
	if opts.Timeout == 0 {
		opts.Timeout = 15 * time.Minute
	}
	if opts.Poll == 0 {
		opts.Poll = 2 * time.Second
	}
	if opts.Progress == 0 {
		opts.Progress = 30 * time.Second
	}
	if opts.VisibleGrace == 0 {
		opts.VisibleGrace = time.Minute
	}
	switch opts.Until {
	case "":
		opts.Until = UntilDeployed
	case UntilDeployed, UntilStable:
	default:
		return fmt.Errorf("wait until %q: want %s or %s", opts.Until, UntilDeployed, UntilStable)
	}
	if !opts.DeploymentsList {
		err := waitServiceDeployments(ctx, api, cluster, services, tag, out, opts)
		if !errors.Is(err, errNoServiceDeployments) {
			return err
		}
		fmt.Fprintf(out, "this endpoint has no ECS service deployments (%v): following the services' deployments list instead\n", err)
	}
	return waitDeploymentsList(ctx, api, cluster, services, tag, out, opts)
}

// waitDeploymentsList is WaitServices on DescribeServices' deployments.
func waitDeploymentsList(ctx context.Context, api API, cluster string, services []string, tag string, out io.Writer, opts WaitOptions) error {
	deadline := time.Now().Add(opts.Timeout)
	started := time.Now()
	// What happened to the services since the apply began is this
	// deploy's, seen before the first poll or not.
	since := opts.since(started)
	ours := map[string]bool{}   // task definition ARN -> runs our tag
	seen := map[string]string{} // service -> our deployment id
	shownEvents := map[string]bool{}
	stoppedShown := map[string]bool{} // service -> its first stopped task was shown
	view := &liveView{out: out, terminal: opts.Terminal, heartbeat: opts.Progress}
	defer view.finish()
	for {
		described, failures, err := DescribeServicesBatched(ctx, api, cluster, services)
		if err != nil {
			return err
		}
		if len(failures) > 0 {
			return fmt.Errorf("describe services: %s is missing in cluster %s", aws.ToString(failures[0].Arn), cluster)
		}
		var rows []string
		done := 0
		for _, svc := range described {
			name := aws.ToString(svc.ServiceName)
			printNewEvents(view, svc, started, shownEvents)
			var mine *types.Deployment
			for i := range svc.Deployments {
				d := &svc.Deployments[i]
				isOurs, err := runsTag(ctx, api, ours, aws.ToString(d.TaskDefinition), tag)
				if err != nil {
					return err
				}
				if isOurs && (mine == nil || aws.ToString(d.Status) == "PRIMARY") {
					mine = d
				}
			}
			// Something happened to the service, yet no deployment runs our
			// tag: if tasks of ours stopped since the apply, our deployment
			// came and went (failed and rolled back) before a poll saw it.
			var cameAndWent string
			if mine == nil && seen[name] == "" && !rolledBackSince(svc, since) && eventsSince(svc, since) {
				if cameAndWent, err = ourTasksStoppedSince(ctx, api, cluster, svc, since, ours, tag); err != nil {
					return err
				}
			}
			switch {
			case mine == nil && seen[name] != "":
				return rolloutFailure(ctx, api, cluster, svc, started, "our deployment "+seen[name]+" was replaced: the deployment circuit breaker rolled it back")
			case mine == nil && rolledBackSince(svc, since):
				// Our deployment failed and was replaced between two polls.
				return rolloutFailure(ctx, api, cluster, svc, started, "our deployment failed and the deployment circuit breaker rolled it back")
			case cameAndWent != "":
				return rolloutFailure(ctx, api, cluster, svc, started, "our deployment "+cameAndWent+" failed and the deployment circuit breaker rolled it back before a poll saw it")
			case mine == nil && time.Since(started) < opts.VisibleGrace:
				// ECS is eventually consistent: the deployment the apply
				// just made may not be listed yet.
				rows = append(rows, name+": waiting for the new deployment to appear")
				continue
			case mine == nil:
				return rolloutFailure(ctx, api, cluster, svc, started, fmt.Sprintf("no deployment runs image tag %s after %s (did the apply change this service?)", tag, opts.VisibleGrace))
			}
			seen[name] = aws.ToString(mine.Id)
			if mine.FailedTasks > 0 && !stoppedShown[name] {
				if line := firstStoppedTask(ctx, api, cluster, svc, aws.ToString(mine.Id), started); line != "" {
					stoppedShown[name] = true
					view.println(name + ": " + line)
				}
			}
			row, ok, why := judgeDeployment(svc, *mine, opts.Until)
			if why != "" {
				return rolloutFailure(ctx, api, cluster, svc, started, why)
			}
			if ok {
				done++
			}
			rows = append(rows, row)
		}
		elapsed := time.Since(started).Round(time.Second)
		if done == len(services) {
			view.final(elapsed, rows)
			return nil
		}
		view.update(elapsed, rows)
		if time.Now().After(deadline) {
			return &RolloutError{Service: strings.Join(services, ", "), Why: fmt.Sprintf("not %s after %s: %s", opts.Until, opts.Timeout, strings.Join(rows, "; "))}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(opts.Poll):
		}
	}
}

// judgeDeployment reads our deployment of a service: its row in the
// live view, whether it is done by the until rule, or why it failed.
func judgeDeployment(svc types.Service, mine types.Deployment, until string) (row string, done bool, failed string) {
	name := aws.ToString(svc.ServiceName)
	counts := fmt.Sprintf("%d/%d running", mine.RunningCount, mine.DesiredCount)
	if mine.PendingCount > 0 {
		counts += fmt.Sprintf(", %d pending", mine.PendingCount)
	}
	if mine.FailedTasks > 0 {
		counts += fmt.Sprintf(", %d failed", mine.FailedTasks)
	}
	switch {
	case mine.RolloutState == types.DeploymentRolloutStateFailed:
		return "", false, "deployment " + aws.ToString(mine.Id) + " FAILED: " + aws.ToString(mine.RolloutStateReason)
	case aws.ToString(mine.Status) != "PRIMARY":
		return "", false, "our deployment " + aws.ToString(mine.Id) + " is no longer PRIMARY: the deployment circuit breaker rolled it back"
	case mine.RolloutState != types.DeploymentRolloutStateCompleted || mine.RunningCount != mine.DesiredCount:
		return fmt.Sprintf("%s: %s (%s)", name, counts, mine.RolloutState), false, ""
	case until == UntilStable && (len(svc.Deployments) > 1 || svc.RunningCount != svc.DesiredCount):
		return fmt.Sprintf("%s: %s, deployed; %d other deployment(s) left, %d/%d running in all", name, counts, len(svc.Deployments)-1, svc.RunningCount, svc.DesiredCount), false, ""
	}
	return fmt.Sprintf("%s: done %d/%d", name, mine.RunningCount, mine.DesiredCount), true, ""
}

// liveView shows the rollout: on a terminal one table, a row per service,
// redrawn in place under the lines printed so far; elsewhere (CI, a pipe)
// plain lines, a status line only when the counts change or, unchanged,
// every heartbeat so a CI job's no-output timeout never fires.
type liveView struct {
	out       io.Writer
	terminal  bool
	heartbeat time.Duration
	drawn     int // table rows on screen (terminal)
	last      string
	lastAt    time.Time
}

// println prints a line above the table.
func (v *liveView) println(line string) {
	v.erase()
	fmt.Fprintln(v.out, line)
}

func (v *liveView) erase() {
	if v.terminal && v.drawn > 0 {
		fmt.Fprintf(v.out, "\033[%dA\033[J", v.drawn)
		v.drawn = 0
	}
}

func (v *liveView) update(elapsed time.Duration, rows []string) {
	if v.terminal {
		v.erase()
		for _, r := range rows {
			fmt.Fprintf(v.out, "[%s] %s\n", elapsed, r)
		}
		v.drawn = len(rows)
		return
	}
	status := strings.Join(rows, "; ")
	if status != v.last || time.Since(v.lastAt) >= v.heartbeat {
		fmt.Fprintf(v.out, "[%s] %s\n", elapsed, status)
		v.last, v.lastAt = status, time.Now()
	}
}

// final shows the last state for good: the table stays on screen.
func (v *liveView) final(elapsed time.Duration, rows []string) {
	v.last = ""
	v.update(elapsed, rows)
	v.drawn = 0
}

// finish leaves the table where it is, so an error prints below it.
func (v *liveView) finish() { v.drawn = 0 }

// firstStoppedTask describes the newest task of the service's deployment
// that stopped since the wait began: its stopped reason and each
// container's exit code or reason. "" when none can be read yet.
func firstStoppedTask(ctx context.Context, api API, cluster string, svc types.Service, deploymentID string, since time.Time) string {
	arns, err := ListTaskArns(ctx, api, &ecs.ListTasksInput{Cluster: aws.String(cluster), ServiceName: svc.ServiceName, DesiredStatus: types.DesiredStatusStopped})
	if err != nil || len(arns) == 0 {
		return ""
	}
	if len(arns) > MaxDescribeTasks {
		arns = arns[len(arns)-MaxDescribeTasks:]
	}
	tasks, err := DescribeTasksBatched(ctx, api, cluster, arns, false)
	if err != nil {
		return ""
	}
	var first *types.Task
	for i := range tasks {
		t := &tasks[i]
		if aws.ToString(t.StartedBy) != deploymentID || t.StoppedAt == nil || t.StoppedAt.Before(since.Add(-time.Minute)) || t.StopCode == types.TaskStopCodeServiceSchedulerInitiated {
			continue
		}
		if first == nil || t.StoppedAt.Before(*first.StoppedAt) {
			first = t
		}
	}
	if first == nil {
		return ""
	}
	return fmt.Sprintf("task %s stopped: %s", ShortID(aws.ToString(first.TaskArn)), stoppedDetail(*first))
}

// stoppedDetail is a stopped task's reason with each container's reason
// or non-zero exit code.
func stoppedDetail(t types.Task) string {
	reason := aws.ToString(t.StoppedReason)
	for _, c := range t.Containers {
		if r := aws.ToString(c.Reason); r != "" {
			reason += " (" + aws.ToString(c.Name) + ": " + r + ")"
		} else if c.ExitCode != nil && *c.ExitCode != 0 {
			reason += fmt.Sprintf(" (%s exited %d)", aws.ToString(c.Name), *c.ExitCode)
		}
	}
	return reason
}

// printNewEvents prints each service event from since on once, oldest
// first, as it appears (ECS lists them newest first), above the live view.
func printNewEvents(view *liveView, svc types.Service, since time.Time, shown map[string]bool) {
	for i := len(svc.Events) - 1; i >= 0; i-- {
		ev := svc.Events[i]
		id := aws.ToString(ev.Id)
		if id == "" && ev.CreatedAt != nil {
			id = ev.CreatedAt.String() + aws.ToString(ev.Message)
		}
		if shown[id] || ev.CreatedAt == nil || ev.CreatedAt.Before(since.Add(-time.Second)) {
			continue
		}
		shown[id] = true
		view.println(fmt.Sprintf("%s event %s: %s", aws.ToString(svc.ServiceName), ev.CreatedAt.Local().Format("15:04:05"), aws.ToString(ev.Message)))
	}
}

func runsTag(ctx context.Context, api API, cache map[string]bool, td, tag string) (bool, error) {
	if v, ok := cache[td]; ok {
		return v, nil
	}
	out, err := api.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(td)})
	if err != nil {
		return false, fmt.Errorf("describe task definition %s: %w", td, err)
	}
	match := false
	for _, c := range out.TaskDefinition.ContainerDefinitions {
		if imageref.TagOf(aws.ToString(c.Image)) == tag {
			match = true
		}
	}
	cache[td] = match
	return match, nil
}

// rolledBackSince reports a deployment made since t that the circuit
// breaker marked FAILED. It reads rolloutState, a field the API reference
// documents ("If the service fails to reach a steady state and circuit
// breaker is turned on, the deployment transitions to a FAILED state"),
// never the wording of service events, which AWS does not document.
func rolledBackSince(svc types.Service, t time.Time) bool {
	for _, d := range svc.Deployments {
		if d.RolloutState == types.DeploymentRolloutStateFailed && d.CreatedAt != nil && !d.CreatedAt.Before(t.Add(-time.Minute)) {
			return true
		}
	}
	return false
}

// eventsSince: the service printed an event since t (whatever it says).
func eventsSince(svc types.Service, t time.Time) bool {
	return len(svc.Events) > 0 && svc.Events[0].CreatedAt != nil && !svc.Events[0].CreatedAt.Before(t)
}

// ourTasksStoppedSince names the deployment (the task's startedBy) of a
// task of the service that ran our tag and stopped, not on the
// scheduler's purpose, since t; "" when there is none. It reads the
// tasks' documented fields: taskDefinitionArn, stoppedAt, stopCode.
func ourTasksStoppedSince(ctx context.Context, api API, cluster string, svc types.Service, t time.Time, ours map[string]bool, tag string) (string, error) {
	arns, err := ListTaskArns(ctx, api, &ecs.ListTasksInput{Cluster: aws.String(cluster), ServiceName: svc.ServiceName, DesiredStatus: types.DesiredStatusStopped})
	if err != nil || len(arns) == 0 {
		return "", err
	}
	if len(arns) > MaxDescribeTasks {
		arns = arns[len(arns)-MaxDescribeTasks:]
	}
	tasks, err := DescribeTasksBatched(ctx, api, cluster, arns, false)
	if err != nil {
		return "", err
	}
	for _, task := range tasks {
		if task.StoppedAt == nil || task.StoppedAt.Before(t) || task.StopCode == types.TaskStopCodeServiceSchedulerInitiated {
			continue
		}
		mine, err := runsTag(ctx, api, ours, aws.ToString(task.TaskDefinitionArn), tag)
		if err != nil {
			return "", err
		}
		if mine {
			return aws.ToString(task.StartedBy), nil
		}
	}
	return "", nil
}

var failureWords = []string{"fail", "unable", "error", "rolling back", "unhealthy", "stopped", "circuit breaker"}

func rolloutFailure(ctx context.Context, api API, cluster string, svc types.Service, since time.Time, why string) error {
	e := &RolloutError{Service: aws.ToString(svc.ServiceName), Why: why, StoppedReasons: map[string]int{}}
	for _, ev := range svc.Events {
		msg := strings.ToLower(aws.ToString(ev.Message))
		for _, w := range failureWords {
			if strings.Contains(msg, w) {
				e.Events = append(e.Events, aws.ToTime(ev.CreatedAt).Format("15:04:05")+" "+aws.ToString(ev.Message))
				break
			}
		}
		if len(e.Events) == 5 {
			break
		}
	}
	arns, err := ListTaskArns(ctx, api, &ecs.ListTasksInput{Cluster: aws.String(cluster), ServiceName: svc.ServiceName, DesiredStatus: types.DesiredStatusStopped})
	if err == nil && len(arns) > 0 {
		if len(arns) > MaxDescribeTasks {
			arns = arns[len(arns)-MaxDescribeTasks:] // enough to name the reasons
		}
		tasks, err := DescribeTasksBatched(ctx, api, cluster, arns, false)
		if err == nil {
			for _, t := range tasks {
				if t.StoppedAt != nil && t.StoppedAt.Before(since.Add(-time.Minute)) || t.StopCode == types.TaskStopCodeServiceSchedulerInitiated {
					continue // long ago, or replaced on purpose: not why the rollout failed
				}
				e.StoppedReasons[stoppedDetail(t)]++
			}
		}
	}
	return e
}
