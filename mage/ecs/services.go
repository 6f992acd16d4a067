package ecs

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/railsecs/deploykit/mage/image"
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
	Progress time.Duration // a progress line this often; default 5 s
	Terminal bool          // rewrite one live line instead of printing lines
	// VisibleGrace is how long a service may not list the deployment the
	// apply made (eventual consistency); default 1 minute.
	VisibleGrace time.Duration
}

// WaitServices waits until every service runs a deployment whose task
// definition has image tag `tag`, with rolloutState COMPLETED and running
// equal to desired. The ECS "services stable" waiter would also succeed
// after a circuit-breaker rollback; this does not.
func WaitServices(ctx context.Context, api API, cluster string, services []string, tag string, out io.Writer, opts WaitOptions) error {
	if opts.Timeout == 0 {
		opts.Timeout = 15 * time.Minute
	}
	if opts.Poll == 0 {
		opts.Poll = 2 * time.Second
	}
	if opts.Progress == 0 {
		opts.Progress = 5 * time.Second
	}
	if opts.VisibleGrace == 0 {
		opts.VisibleGrace = time.Minute
	}
	deadline := time.Now().Add(opts.Timeout)
	started := time.Now()
	ours := map[string]bool{}   // task definition ARN -> runs our tag
	seen := map[string]string{} // service -> our deployment id
	shownEvents := map[string]bool{}
	lastProgress := time.Time{}
	for {
		described, failures, err := DescribeServicesBatched(ctx, api, cluster, services)
		if err != nil {
			return err
		}
		if len(failures) > 0 {
			return fmt.Errorf("describe services: %s is missing in cluster %s", aws.ToString(failures[0].Arn), cluster)
		}
		var status []string
		done := 0
		for _, svc := range described {
			name := aws.ToString(svc.ServiceName)
			printNewEvents(out, opts.Terminal, svc, started, shownEvents)
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
			switch {
			case mine == nil && seen[name] != "":
				return rolloutFailure(ctx, api, cluster, svc, started, "our deployment "+seen[name]+" was replaced: the deployment circuit breaker rolled it back")
			case mine == nil && rolledBackSince(svc, started):
				// Our deployment failed and was replaced between two polls.
				return rolloutFailure(ctx, api, cluster, svc, started, "our deployment failed and the deployment circuit breaker rolled it back")
			case mine == nil && time.Since(started) < opts.VisibleGrace:
				// ECS is eventually consistent: the deployment the apply
				// just made may not be listed yet.
				status = append(status, name+": waiting for the new deployment to appear")
				continue
			case mine == nil:
				return rolloutFailure(ctx, api, cluster, svc, started, fmt.Sprintf("no deployment runs image tag %s after %s (did the apply change this service?)", tag, opts.VisibleGrace))
			}
			seen[name] = aws.ToString(mine.Id)
			primary := aws.ToString(mine.Status) == "PRIMARY"
			switch {
			case mine.RolloutState == types.DeploymentRolloutStateFailed:
				return rolloutFailure(ctx, api, cluster, svc, started, "deployment "+aws.ToString(mine.Id)+" FAILED: "+aws.ToString(mine.RolloutStateReason))
			case !primary:
				return rolloutFailure(ctx, api, cluster, svc, started, "our deployment "+aws.ToString(mine.Id)+" is no longer PRIMARY: the deployment circuit breaker rolled it back")
			case mine.RolloutState == types.DeploymentRolloutStateCompleted && mine.RunningCount == mine.DesiredCount:
				done++
				status = append(status, fmt.Sprintf("%s: done %d/%d", name, mine.RunningCount, mine.DesiredCount))
			default:
				counts := fmt.Sprintf("%d/%d running", mine.RunningCount, mine.DesiredCount)
				if mine.PendingCount > 0 {
					counts += fmt.Sprintf(", %d pending", mine.PendingCount)
				}
				if mine.FailedTasks > 0 {
					counts += fmt.Sprintf(", %d failed", mine.FailedTasks)
				}
				status = append(status, fmt.Sprintf("%s: %s (%s)", name, counts, mine.RolloutState))
			}
		}
		line := fmt.Sprintf("[%s] %s", time.Since(started).Round(time.Second), strings.Join(status, "; "))
		if done == len(services) {
			if opts.Terminal {
				fmt.Fprintf(out, "\r\033[K%s\n", line)
			} else {
				fmt.Fprintln(out, line)
			}
			return nil
		}
		if opts.Terminal {
			fmt.Fprintf(out, "\r\033[K%s", line)
		} else if time.Since(lastProgress) >= opts.Progress {
			fmt.Fprintln(out, line)
			lastProgress = time.Now()
		}
		if time.Now().After(deadline) {
			return &RolloutError{Service: strings.Join(services, ", "), Why: fmt.Sprintf("not stable after %s: %s", opts.Timeout, strings.Join(status, "; "))}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(opts.Poll):
		}
	}
}

// printNewEvents prints each service event from since on once, oldest
// first, as it appears (ECS lists them newest first); on a terminal it
// clears the live status line first.
func printNewEvents(out io.Writer, terminal bool, svc types.Service, since time.Time, shown map[string]bool) {
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
		if terminal {
			fmt.Fprint(out, "\r\033[K")
		}
		fmt.Fprintf(out, "%s event %s: %s\n", aws.ToString(svc.ServiceName), ev.CreatedAt.Local().Format("15:04:05"), aws.ToString(ev.Message))
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
		if image.TagOf(aws.ToString(c.Image)) == tag {
			match = true
		}
	}
	cache[td] = match
	return match, nil
}

// rolledBackSince reports a circuit-breaker failure or rollback among the
// service's events since t.
func rolledBackSince(svc types.Service, t time.Time) bool {
	for _, ev := range svc.Events {
		if ev.CreatedAt == nil || ev.CreatedAt.Before(t) {
			continue
		}
		msg := aws.ToString(ev.Message)
		if strings.Contains(msg, "rolling back") || strings.Contains(msg, "deployment failed") {
			return true
		}
	}
	return false
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
				if t.StoppedAt != nil && t.StoppedAt.Before(since.Add(-time.Minute)) {
					continue
				}
				reason := aws.ToString(t.StoppedReason)
				for _, c := range t.Containers {
					if r := aws.ToString(c.Reason); r != "" {
						reason += " (" + aws.ToString(c.Name) + ": " + r + ")"
					} else if c.ExitCode != nil && *c.ExitCode != 0 {
						reason += fmt.Sprintf(" (%s exited %d)", aws.ToString(c.Name), *c.ExitCode)
					}
				}
				e.StoppedReasons[reason]++
			}
		}
	}
	return e
}
