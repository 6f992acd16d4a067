package ecs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"github.com/railsecs/deploykit/mage/imageref"
)

// errNoServiceDeployments: the endpoint does not answer the service
// deployment API (an older region or emulator, or a deploy role from
// before it): the wait falls back to DescribeServices' deployments.
var errNoServiceDeployments = errors.New("service deployments are not available")

// unavailable tells an answer meaning "this API is not here for you".
func unavailable(err error) bool {
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	switch apiErr.ErrorCode() {
	case "UnknownOperationException", "InvalidAction", "UnsupportedFeatureException", "AccessDeniedException", "NotImplemented":
		return true
	}
	return false
}

// serviceDeploymentDone: statuses after which nothing changes.
var serviceDeploymentDone = []types.ServiceDeploymentStatus{
	types.ServiceDeploymentStatusSuccessful, types.ServiceDeploymentStatusStopped,
	types.ServiceDeploymentStatusRollbackSuccessful, types.ServiceDeploymentStatusRollbackFailed,
}

// revisionJudge decides whether a service revision deploys our release:
// one of its containers runs our tag and, when the tfvars pinned digests,
// every container on our tag runs a pinned digest (a tag moved after the
// build is refused rather than waited on).
type revisionJudge struct {
	api     API
	tag     string
	digests []string
	seen    map[string]revisionVerdict
}

type revisionVerdict struct {
	ours     bool
	mismatch string
	taskDef  string
}

func (j *revisionJudge) judge(ctx context.Context, arn string) (revisionVerdict, error) {
	if v, ok := j.seen[arn]; ok {
		return v, nil
	}
	out, err := j.api.DescribeServiceRevisions(ctx, &ecs.DescribeServiceRevisionsInput{ServiceRevisionArns: []string{arn}})
	if unavailable(err) {
		return revisionVerdict{}, fmt.Errorf("%w: %v", errNoServiceDeployments, err)
	}
	if err != nil {
		return revisionVerdict{}, fmt.Errorf("describe service revision %s: %w", arn, err)
	}
	if len(out.ServiceRevisions) == 0 {
		return revisionVerdict{}, nil // not readable yet: eventual consistency
	}
	v := revisionVerdict{taskDef: aws.ToString(out.ServiceRevisions[0].TaskDefinition)}
	for _, c := range out.ServiceRevisions[0].ContainerImages {
		if imageref.TagOf(aws.ToString(c.Image)) != j.tag {
			continue
		}
		v.ours = true
		if d := aws.ToString(c.ImageDigest); d != "" && len(j.digests) > 0 && !slices.Contains(j.digests, d) {
			v.mismatch = fmt.Sprintf("container %s runs %s as %s, which the tfvars did not pin (%s): the tag moved after the build", aws.ToString(c.ContainerName), aws.ToString(c.Image), d, strings.Join(j.digests, ", "))
		}
	}
	j.seen[arn] = v
	return v, nil
}

// deploymentWatch is one service's service deployment under watch.
type deploymentWatch struct {
	arn, status, stage string
	// taskDef: the revision's task definition, to find its deployment in
	// DescribeServices (failed tasks, the first stopped one).
	taskDef string
	// rollbackTarget: our release is the revision this service deployment
	// rolls back to (waiting on the release a rollback returned to).
	rollbackTarget bool
	stoppedShown   bool
	// hooksAnswered: the hooks this wait decided or announced; gateErr is
	// why the gate refused.
	hooksAnswered map[string]bool
	gateErr       error
	// undone: our release's deployment ended (this status) before the
	// wait began; it is rolled out again, and the watch dropped.
	undone string
}

// undoneBefore: the service deployment ended without success before t,
// or its rollback had begun by then (a rollback this wait sees start is
// this deploy's failure, never undone before it).
func undoneBefore(sd types.ServiceDeployment, t time.Time) bool {
	switch sd.Status {
	case types.ServiceDeploymentStatusRollbackSuccessful, types.ServiceDeploymentStatusRollbackFailed, types.ServiceDeploymentStatusStopped:
		return sd.FinishedAt != nil && sd.FinishedAt.Before(t)
	case types.ServiceDeploymentStatusRollbackInProgress:
		return sd.Rollback != nil && sd.Rollback.StartedAt != nil && sd.Rollback.StartedAt.Before(t)
	}
	return false
}

// waitServiceDeployments is WaitServices on ECS's service deployments:
// for each service the deployment DescribeServices names as current,
// once its target revision runs our release; done when each is
// SUCCESSFUL; failed, with ECS's reasons, when one stops or rolls back.
func waitServiceDeployments(ctx context.Context, api API, cluster string, services []string, tag string, out io.Writer, opts WaitOptions) error {
	started := time.Now()
	deadline := started.Add(opts.Timeout)
	// What ended before `since` was undone before this deploy: under load
	// ECS can roll our apply's deployment back before the first poll.
	since := opts.since(started)
	judge := &revisionJudge{api: api, tag: tag, digests: opts.Digests, seen: map[string]revisionVerdict{}}
	watches := map[string]*deploymentWatch{}
	redeployed := map[string]bool{}
	shownEvents := map[string]bool{}
	view := &liveView{out: out, terminal: opts.Terminal, heartbeat: opts.Progress}
	defer view.finish()
	stopped := false
	stopInFlight := func(why string) string {
		if !opts.RollbackInFlight || stopped {
			return ""
		}
		stopped = true
		bg := context.WithoutCancel(ctx)
		if len(watches) < len(services) {
			// Interrupted before every rollout showed: find the rest, for a
			// bounded while, rather than leave them rolling.
			view.println("finding the rollouts to roll back...")
			findWatches(bg, api, cluster, services, judge, watches, min(opts.VisibleGrace, 15*time.Second), opts.Poll)
		}
		return RollBackInFlight(bg, api, watches, why, func(line string) { view.println(line) })
	}
	err := func() error {
		for {
			described, failures, err := DescribeServicesBatched(ctx, api, cluster, services)
			if err != nil {
				if ctx.Err() != nil {
					return interrupted(ctx, stopInFlight("interrupted"))
				}
				return err
			}
			if len(failures) > 0 {
				return fmt.Errorf("describe services: %s is missing in cluster %s", aws.ToString(failures[0].Arn), cluster)
			}
			byName := map[string]types.Service{}
			var rows []string
			for _, svc := range described {
				name := aws.ToString(svc.ServiceName)
				byName[name] = svc
				printNewEvents(view, svc, started, shownEvents)
				if watches[name] != nil {
					continue
				}
				current := aws.ToString(svc.CurrentServiceDeployment)
				if current != "" {
					w, why, err := watchIfOurs(ctx, api, judge, current, since)
					if err != nil {
						return err
					}
					if why != "" {
						return rolloutFailure(ctx, api, cluster, svc, started, why)
					}
					if w != nil && w.undone != "" {
						if !redeployed[name] {
							redeployed[name] = true
							view.println(fmt.Sprintf("%s: ECS had undone %s before this deploy (service deployment %s %s) and the apply found nothing to change: rolling %s out again",
								name, tag, ShortID(current), w.undone, ShortID(w.taskDef)))
							if _, err := api.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(cluster), Service: svc.ServiceName,
								TaskDefinition: aws.String(w.taskDef), ForceNewDeployment: true}); err != nil {
								return fmt.Errorf("roll %s out again on %s: %w", ShortID(w.taskDef), name, err)
							}
						}
						rows = append(rows, name+": waiting for the new service deployment to appear")
						continue
					}
					if w != nil {
						watches[name] = w
						what := "deploys"
						if w.rollbackTarget {
							what = "rolls back to"
						}
						view.println(fmt.Sprintf("%s: service deployment %s %s %s", name, ShortID(current), what, tag))
						continue
					}
				}
				if current == "" {
					// Services report their current service deployment since
					// the API exists; an endpoint without it names none.
					_, err := api.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{Cluster: aws.String(cluster), Service: svc.ServiceName, MaxResults: aws.Int32(1)})
					// Any failure here falls back: the deployments-list wait
					// works wherever DescribeServices does (moto answers 500).
					if err != nil && ctx.Err() == nil {
						return fmt.Errorf("%w: %s names no current service deployment and ListServiceDeployments failed: %v", errNoServiceDeployments, name, err)
					}
				}
				if time.Since(started) < opts.VisibleGrace {
					rows = append(rows, name+": waiting for the new service deployment to appear")
					continue
				}
				return rolloutFailure(ctx, api, cluster, svc, started, fmt.Sprintf("no service deployment deploys image tag %s after %s (did the apply change this service?)", tag, opts.VisibleGrace))
			}
			var arns []string
			for _, name := range services {
				if w := watches[name]; w != nil {
					arns = append(arns, w.arn)
				}
			}
			sds, err := describeServiceDeployments(ctx, api, arns)
			if err != nil {
				if ctx.Err() != nil {
					return interrupted(ctx, stopInFlight("interrupted"))
				}
				return err
			}
			byArn := map[string]types.ServiceDeployment{}
			for _, sd := range sds {
				byArn[aws.ToString(sd.ServiceDeploymentArn)] = sd
			}
			done := 0
			for _, name := range services {
				w := watches[name]
				if w == nil {
					continue
				}
				sd, ok := byArn[w.arn]
				if !ok {
					rows = append(rows, name+": service deployment "+ShortID(w.arn)+" not readable yet")
					continue
				}
				d := deploymentOf(byName[name], w.taskDef)
				if d != nil && d.FailedTasks > 0 && !w.stoppedShown {
					if line := firstStoppedTask(ctx, api, cluster, byName[name], aws.ToString(d.Id), started); line != "" {
						w.stoppedShown = true
						view.println(name + ": " + line)
					}
				}
				if err := w.answerHooks(ctx, api, name, sd, opts.Gate, view); err != nil {
					return err
				}
				row, ok, why := w.judge(name, sd, d, view)
				if why != "" && w.gateErr != nil {
					why += "; the gate refused: " + w.gateErr.Error()
				}
				if why != "" {
					return rolloutFailure(ctx, api, cluster, byName[name], started, why)
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
				why := fmt.Sprintf("not deployed after %s: %s", opts.Timeout, strings.Join(rows, "; "))
				if stopped := stopInFlight("timed out"); stopped != "" {
					why += "\n  " + stopped
				}
				return &RolloutError{Service: strings.Join(services, ", "), Why: why}
			}
			select {
			case <-ctx.Done():
				return interrupted(ctx, stopInFlight("interrupted"))
			case <-time.After(opts.Poll):
			}
		}
	}()
	// An API call the interrupt cancelled returns its own error: the
	// rollouts in flight are rolled back all the same.
	if err != nil && ctx.Err() != nil && !stopped {
		return interrupted(ctx, stopInFlight("interrupted"))
	}
	return err
}

func interrupted(ctx context.Context, stopped string) error {
	if stopped == "" {
		return ctx.Err()
	}
	return fmt.Errorf("%w\n  %s", ctx.Err(), stopped)
}

// judge reads one poll of a watched service deployment: its row, whether
// it is done, or why it failed. Stage and status changes print once.
func (w *deploymentWatch) judge(name string, sd types.ServiceDeployment, d *types.Deployment, view *liveView) (row string, done bool, failed string) {
	status, stage := string(sd.Status), string(sd.LifecycleStage)
	if status != w.status || stage != w.stage {
		line := fmt.Sprintf("%s: service deployment %s %s", name, ShortID(w.arn), status)
		if stage != "" {
			line += ", stage " + stage
		}
		view.println(line)
		w.status, w.stage = status, stage
	}
	counts := ""
	if t := sd.TargetServiceRevision; t != nil {
		counts = fmt.Sprintf("%d/%d running", t.RunningTaskCount, t.RequestedTaskCount)
		if t.PendingTaskCount > 0 {
			counts += fmt.Sprintf(", %d pending", t.PendingTaskCount)
		}
	}
	if cb := sd.DeploymentCircuitBreaker; cb != nil && cb.Threshold > 0 && cb.FailureCount > 0 {
		counts += fmt.Sprintf(", %d failed (breaker threshold %d)", cb.FailureCount, cb.Threshold)
	} else if d != nil && d.FailedTasks > 0 {
		counts += fmt.Sprintf(", %d failed", d.FailedTasks)
	}
	if w.rollbackTarget {
		switch sd.Status {
		case types.ServiceDeploymentStatusRollbackSuccessful:
			return fmt.Sprintf("%s: done, rolled back", name), true, ""
		case types.ServiceDeploymentStatusRollbackRequested, types.ServiceDeploymentStatusRollbackInProgress:
			return fmt.Sprintf("%s: rolling back (%s)", name, status), false, ""
		}
		return "", false, failureWhy(w.arn, sd)
	}
	switch sd.Status {
	case types.ServiceDeploymentStatusSuccessful:
		done := name + ": done"
		if t := sd.TargetServiceRevision; t != nil {
			done += fmt.Sprintf(" %d/%d", t.RunningTaskCount, t.RequestedTaskCount)
		}
		return done, true, ""
	case types.ServiceDeploymentStatusRollbackRequested, types.ServiceDeploymentStatusRollbackInProgress, types.ServiceDeploymentStatusStopRequested:
		// Failed, and ECS is undoing it: wait for the outcome, so the
		// report says whether the release before runs again.
		return fmt.Sprintf("%s: failed, %s (%s)", name, status, counts), false, ""
	case types.ServiceDeploymentStatusPending, types.ServiceDeploymentStatusInProgress:
		what := status
		if stage != "" {
			what += ", " + stage
		}
		return fmt.Sprintf("%s: %s (%s)", name, counts, what), false, ""
	}
	return "", false, failureWhy(w.arn, sd)
}

// answerHooks deals with the service deployment's PAUSE hooks awaiting
// action: the gate decides each once, or, without one, the wait says how
// a person can.
func (w *deploymentWatch) answerHooks(ctx context.Context, api API, name string, sd types.ServiceDeployment, gate func(context.Context, Paused) error, view *liveView) error {
	for _, h := range sd.LifecycleHookDetails {
		id := aws.ToString(h.HookId)
		if h.Status != types.DeploymentLifecycleHookStatusAwaitingAction || w.hooksAnswered[id] {
			continue
		}
		if w.hooksAnswered == nil {
			w.hooksAnswered = map[string]bool{}
		}
		w.hooksAnswered[id] = true
		stage := string(sd.LifecycleStage)
		if gate == nil {
			view.println(fmt.Sprintf("%s: service deployment %s paused at %s, awaiting action until %s (then %s): `mage continue` continues it, `mage abort` rolls it back",
				name, ShortID(w.arn), stage, aws.ToTime(h.ExpiresAt).Local().Format("15:04:05"), h.TimeoutAction))
			continue
		}
		p := Paused{Service: name, ServiceDeploymentArn: w.arn, HookID: id, Stage: stage}
		if t := sd.TargetServiceRevision; t != nil && t.RequestedTestTrafficWeight != nil {
			p.TestTrafficWeight = *t.RequestedTestTrafficWeight
		}
		view.println(fmt.Sprintf("%s: service deployment %s paused at %s: running the gate", name, ShortID(w.arn), stage))
		action, verdict := types.DeploymentLifecycleHookActionContinue, "passed: continuing"
		if err := gate(ctx, p); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			w.gateErr = err
			action, verdict = types.DeploymentLifecycleHookActionRollback, "refused ("+err.Error()+"): rolling back"
		}
		view.println(fmt.Sprintf("%s: the gate %s", name, verdict))
		if _, err := api.ContinueServiceDeployment(ctx, &ecs.ContinueServiceDeploymentInput{ServiceDeploymentArn: aws.String(w.arn), HookId: aws.String(id), Action: action}); err != nil {
			return fmt.Errorf("continue service deployment %s (%s): %w", ShortID(w.arn), action, err)
		}
	}
	return nil
}

// Continue continues every service deployment of the services paused at
// a lifecycle hook, and says which; none paused is no error.
func Continue(ctx context.Context, api API, cluster string, services []string, out io.Writer) error {
	inflight, err := InFlightDeployments(ctx, api, cluster, services)
	if err != nil {
		return err
	}
	continued := 0
	for _, f := range inflight {
		for _, h := range f.hooks {
			if h.Status != types.DeploymentLifecycleHookStatusAwaitingAction {
				continue
			}
			if _, err := api.ContinueServiceDeployment(ctx, &ecs.ContinueServiceDeploymentInput{ServiceDeploymentArn: aws.String(f.Arn), HookId: h.HookId, Action: types.DeploymentLifecycleHookActionContinue}); err != nil {
				return fmt.Errorf("continue service deployment %s of %s: %w", ShortID(f.Arn), f.Service, err)
			}
			fmt.Fprintf(out, "%s: service deployment %s continued past %s\n", f.Service, ShortID(f.Arn), f.Stage)
			continued++
		}
	}
	if continued == 0 {
		fmt.Fprintf(out, "nothing to continue: no service deployment of %s is paused at a lifecycle hook\n", strings.Join(services, ", "))
	}
	return nil
}

// failureWhy says why a service deployment did not succeed, with what ECS
// recorded: its status and reason, the rollback's reason and target, the
// breaker's count against its threshold, the alarms that fired.
func failureWhy(arn string, sd types.ServiceDeployment) string {
	var b strings.Builder
	fmt.Fprintf(&b, "service deployment %s %s", ShortID(arn), sd.Status)
	if r := aws.ToString(sd.StatusReason); r != "" {
		b.WriteString(": " + r)
	}
	if sd.Status == types.ServiceDeploymentStatusRollbackRequested {
		b.WriteString("; ECS is rolling it back to the revision that ran before")
	}
	if rb := sd.Rollback; rb != nil {
		fmt.Fprintf(&b, "; ECS rolled it back to revision %s (%s)", ShortID(aws.ToString(rb.ServiceRevisionArn)), aws.ToString(rb.Reason))
	}
	if cb := sd.DeploymentCircuitBreaker; cb != nil && cb.Status == types.ServiceDeploymentRollbackMonitorsStatusTriggered {
		fmt.Fprintf(&b, "; circuit breaker tripped after %d failed tasks (threshold %d)", cb.FailureCount, cb.Threshold)
	}
	if al := sd.Alarms; al != nil && len(al.TriggeredAlarmNames) > 0 {
		fmt.Fprintf(&b, "; alarms in ALARM: %s", strings.Join(al.TriggeredAlarmNames, ", "))
	}
	return b.String()
}

// watchIfOurs reads a service's current service deployment: a watch when
// its target revision runs our release, or the revision it rolls back to
// does; why it can never be ours (a moved tag); neither when it is
// another release's.
func watchIfOurs(ctx context.Context, api API, judge *revisionJudge, arn string, since time.Time) (*deploymentWatch, string, error) {
	sds, err := describeServiceDeployments(ctx, api, []string{arn})
	if err != nil || len(sds) != 1 || sds[0].TargetServiceRevision == nil {
		return nil, "", err
	}
	sd := sds[0]
	v, err := judge.judge(ctx, aws.ToString(sd.TargetServiceRevision.Arn))
	if err != nil {
		return nil, "", err
	}
	if v.mismatch != "" {
		return nil, "service deployment " + ShortID(arn) + ": " + v.mismatch, nil
	}
	if v.ours && undoneBefore(sd, since) {
		// Our release, rolled back or stopped before this wait began: the
		// apply found nothing to change (terraform's state holds our
		// revision), so nothing rolls it out unless we do.
		return &deploymentWatch{arn: arn, taskDef: v.taskDef, undone: string(sd.Status)}, "", nil
	}
	if v.ours {
		return &deploymentWatch{arn: arn, taskDef: v.taskDef}, "", nil
	}
	if rb := sd.Rollback; rb != nil && aws.ToString(rb.ServiceRevisionArn) != "" {
		v, err := judge.judge(ctx, aws.ToString(rb.ServiceRevisionArn))
		if err != nil || !v.ours || v.mismatch != "" {
			return nil, "", err
		}
		return &deploymentWatch{arn: arn, taskDef: v.taskDef, rollbackTarget: true}, "", nil
	}
	return nil, "", nil
}

// findWatches adds a watch for each service whose current service
// deployment runs our release, polling until all have one or `within`.
func findWatches(ctx context.Context, api API, cluster string, services []string, judge *revisionJudge, watches map[string]*deploymentWatch, within, poll time.Duration) {
	deadline := time.Now().Add(within)
	for {
		described, _, err := DescribeServicesBatched(ctx, api, cluster, services)
		if err == nil {
			for _, svc := range described {
				name, current := aws.ToString(svc.ServiceName), aws.ToString(svc.CurrentServiceDeployment)
				if watches[name] != nil || current == "" {
					continue
				}
				if w, _, err := watchIfOurs(ctx, api, judge, current, time.Time{}); err == nil && w != nil && !w.rollbackTarget {
					watches[name] = w
				}
			}
		}
		if len(watches) == len(services) || time.Now().After(deadline) {
			return
		}
		time.Sleep(poll)
	}
}

// deploymentOf is the service's deployment of a task definition.
func deploymentOf(svc types.Service, taskDef string) *types.Deployment {
	for i := range svc.Deployments {
		if taskDef != "" && aws.ToString(svc.Deployments[i].TaskDefinition) == taskDef {
			return &svc.Deployments[i]
		}
	}
	return nil
}

func describeServiceDeployments(ctx context.Context, api API, arns []string) ([]types.ServiceDeployment, error) {
	var out []types.ServiceDeployment
	for chunk := range slices.Chunk(arns, 20) {
		res, err := api.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: chunk})
		if unavailable(err) {
			return nil, fmt.Errorf("%w: %v", errNoServiceDeployments, err)
		}
		if err != nil {
			return nil, fmt.Errorf("describe service deployments: %w", err)
		}
		out = append(out, res.ServiceDeployments...)
	}
	return out, nil
}

// RollBackInFlight stops each watched service deployment that has not
// finished with ROLLBACK ("You can use this option even if you didn't
// configure the service deployment for the rollback option"), so ECS
// returns the service to the revision that ran before it in seconds
// instead of leaving a half-done rollout. It reports what it did.
func RollBackInFlight(ctx context.Context, api API, watches map[string]*deploymentWatch, why string, say func(string)) string {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var stopped, failed []string
	for name, w := range watches {
		if w.status != string(types.ServiceDeploymentStatusInProgress) && w.status != string(types.ServiceDeploymentStatusPending) && w.status != "" {
			continue // finished, or ECS is stopping or rolling it back already
		}
		_, err := api.StopServiceDeployment(ctx, &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: aws.String(w.arn), StopType: types.StopServiceDeploymentStopTypeRollback})
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s (%s): %v", name, ShortID(w.arn), err))
			continue
		}
		stopped = append(stopped, fmt.Sprintf("%s (%s)", name, ShortID(w.arn)))
	}
	slices.Sort(stopped)
	var parts []string
	if len(stopped) > 0 {
		parts = append(parts, fmt.Sprintf("%s: rolled back in flight with StopServiceDeployment ROLLBACK: %s; ECS returns them to the revision that ran before", why, strings.Join(stopped, ", ")))
	}
	if len(failed) > 0 {
		parts = append(parts, "could not stop: "+strings.Join(failed, "; "))
	}
	msg := strings.Join(parts, "; ")
	if msg != "" {
		say(msg)
	}
	return msg
}

// InFlight is a service deployment not yet finished.
type InFlight struct {
	Service, Arn, Status, Stage string
	hooks                       []types.DeploymentLifecycleHookDetail
}

// currentServiceDeployments reads each service's current service
// deployment, with the service each belongs to by ARN.
func currentServiceDeployments(ctx context.Context, api API, cluster string, services []string) ([]types.ServiceDeployment, map[string]string, error) {
	described, _, err := DescribeServicesBatched(ctx, api, cluster, services)
	if err != nil {
		return nil, nil, err
	}
	var arns []string
	names := map[string]string{}
	for _, svc := range described {
		if a := aws.ToString(svc.CurrentServiceDeployment); a != "" {
			arns = append(arns, a)
			names[a] = aws.ToString(svc.ServiceName)
		}
	}
	sds, err := describeServiceDeployments(ctx, api, arns)
	return sds, names, err
}

// InFlightDeployments lists each service's current service deployment
// that has not finished (PENDING, IN_PROGRESS, or stopping/rolling back).
func InFlightDeployments(ctx context.Context, api API, cluster string, services []string) ([]InFlight, error) {
	sds, names, err := currentServiceDeployments(ctx, api, cluster, services)
	if err != nil {
		return nil, err
	}
	var out []InFlight
	for _, sd := range sds {
		if slices.Contains(serviceDeploymentDone, sd.Status) {
			continue
		}
		arn := aws.ToString(sd.ServiceDeploymentArn)
		out = append(out, InFlight{Service: names[arn], Arn: arn, Status: string(sd.Status), Stage: string(sd.LifecycleStage), hooks: sd.LifecycleHookDetails})
	}
	return out, nil
}

// Abort rolls back every service deployment of the services still in
// flight, and says which; nothing in flight is no error.
func Abort(ctx context.Context, api API, cluster string, services []string, out io.Writer) error {
	inflight, err := InFlightDeployments(ctx, api, cluster, services)
	if err != nil {
		return err
	}
	if len(inflight) == 0 {
		fmt.Fprintf(out, "nothing to abort: no service deployment of %s is in flight\n", strings.Join(services, ", "))
		return nil
	}
	return StopInFlight(ctx, api, inflight, "abort", out)
}
