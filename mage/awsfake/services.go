package awsfake

import (
	"cmp"
	"fmt"
	"strings"
	"time"
)

// Rollout scripts what happens when a service switches task definitions.
type Rollout struct {
	// Takes is how long the new tasks take to become healthy.
	Takes time.Duration
	// Fail makes the new tasks keep failing: with the deployment circuit
	// breaker's rollback on, ECS marks the deployment FAILED and rolls back
	// to the previous one (a new PRIMARY deployment with the old task
	// definition); without it the deployment stays FAILED.
	Fail bool
	// StoppedReason is the stoppedReason of each failed task, e.g.
	// "Essential container in task exited" or a CannotPullContainerError.
	StoppedReason string
	// FailedTasks is how many tasks stopped before the breaker tripped.
	FailedTasks int
	// Gated: a runtime outside the double runs the tasks and reports them
	// healthy or exited (TaskHealthy, TaskExited); the rollout completes
	// or fails on those reports, and Takes only bounds it.
	Gated bool `json:",omitempty"`
}

type deployment struct {
	ID, Status, TaskDef, RolloutState, Reason string
	Desired, Running, Failed                  int
	Created                                   time.Time
	// VisibleAt: DescribeServices shows the deployment from then on
	// (UpdateService's own answer shows it at once).
	VisibleAt time.Time
	// FailedAt: when it went FAILED; the breaker's rollback follows.
	FailedAt time.Time `json:",omitzero"`
	// RolledBack: the breaker has dealt with this failure (rolled back,
	// or found nothing to roll back to).
	RolledBack bool `json:",omitempty"`
	Rollout    Rollout
	// ExecEnabled: the service's enableExecuteCommand when the deployment
	// started; its tasks keep it (ECS applies a change only to new tasks).
	ExecEnabled bool `json:",omitempty"`
	// A launch: at LaunchAt the scheduler started the tasks of the slots
	// from LaunchFrom up to Desired (a rollout, a rollback, a scale-out);
	// they reach RUNNING one after another over LaunchTakes. Slots below
	// LaunchFrom were running already.
	LaunchAt    time.Time     `json:",omitzero"`
	LaunchFrom  int           `json:",omitempty"`
	LaunchTakes time.Duration `json:",omitempty"`
	// Announced: the launch's "has started" event was written.
	Announced bool `json:",omitempty"`
	// OldAtLaunch: the other deployments' running tasks when the rollout
	// began; Waves: the rollout's waves announced so far (a rollout
	// bounded below 200/100 percent goes in waves).
	OldAtLaunch int `json:",omitempty"`
	Waves       int `json:",omitempty"`
	// WavePending: the tasks the wave under way launched, not yet running.
	WavePending int `json:",omitempty"`
	// Revision and ServiceDeployment: the service revision it deploys and
	// the service deployment recording its rollout. RollbackOf: the
	// service deployment now rolling back to this one.
	Revision          string `json:",omitempty"`
	ServiceDeployment string `json:",omitempty"`
	RollbackOf        string `json:",omitempty"`
	// StopRequested: StopServiceDeployment rolled it back (whatever the
	// breaker's rollback option says).
	StopRequested bool `json:",omitempty"`
	// RollbackReason: why a rollback other than the breaker's started.
	RollbackReason string `json:",omitempty"`
	// Plan: the service's strategy when the deployment started. A staged
	// one (BLUE_GREEN, LINEAR, CANARY) goes through its stages after
	// HealthyAt (a gated rollout) or its launch; Shift is the time spent
	// paused at hooks; Paused is the hook awaiting action; Hooks the ones
	// dealt with.
	Plan      strategy      `json:",omitzero"`
	HealthyAt time.Time     `json:",omitzero"`
	Shift     time.Duration `json:",omitempty"`
	Paused    *pausedHook   `json:",omitempty"`
	Hooks     []hookRecord  `json:",omitempty"`
}

type service struct {
	Name, Cluster, TaskDef, LaunchType string
	Desired                            int
	Network                            map[string]any
	// The deployment circuit breaker: Enable marks failing deployments
	// FAILED; Rollback then returns to the last COMPLETED one. Without it
	// ECS keeps replacing failed tasks and the deployment never ends.
	BreakerEnable, BreakerRollback bool
	// MaxPercent and MinHealthyPercent bound a rollout (maximumPercent,
	// minimumHealthyPercent; 0 reads as ECS's defaults, 200 and 100).
	MaxPercent        int  `json:",omitempty"`
	MinHealthyPercent int  `json:",omitempty"`
	EnableExec        bool `json:",omitempty"` // enableExecuteCommand
	// Deploy: the deployment strategy, alarms and hooks.
	Deploy      strategy `json:",omitzero"`
	Breaker     bool     `json:",omitempty"` // states saved before the split: both
	Deployments []*deployment
	Events      []event
	Created     time.Time
	// ServiceDeployments, newest first, and the service revisions they
	// deploy (ListServiceDeployments keeps 90 days; the double keeps all).
	ServiceDeployments []*serviceDeployment `json:",omitempty"`
	Revisions          []*serviceRevision   `json:",omitempty"`
}

type event struct {
	ID      string
	At      time.Time
	Message string
}

// SetRollout scripts service rollouts; nil means every rollout succeeds
// after Timing.Rollout.
func (s *Server) SetRollout(f func(service, taskDefinition string) Rollout) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rollout = f
}

func (s *Server) newDeployment(svc *service, td string, r Rollout, at time.Time) *deployment {
	s.seq++
	return &deployment{ID: fmt.Sprintf("ecs-svc/%019d", s.seq), Status: "PRIMARY", TaskDef: td, RolloutState: "IN_PROGRESS",
		Desired: svc.Desired, Created: at, VisibleAt: at, Rollout: r, ExecEnabled: svc.EnableExec,
		LaunchAt: at, LaunchTakes: r.Takes, Plan: svc.Deploy}
}

func (s *Server) event(svc *service, at time.Time, format string, args ...any) {
	s.seq++
	svc.Events = append([]event{{ID: fmt.Sprint(s.seq), At: at, Message: fmt.Sprintf(format, args...)}}, svc.Events...)
	if len(svc.Events) > 100 {
		svc.Events = svc.Events[:100] // ECS keeps the most recent 100
	}
}

// maxFailedTasks bounds the stopped tasks a breaker-less failing rollout
// leaves behind in the double.
const maxFailedTasks = 20

// unableAfter: after this many failed launches without the breaker, the
// scheduler says it "is unable to consistently start tasks successfully"
// (the service event the troubleshooting guide names) and slows down.
const unableAfter = 3

// advance moves a service's deployments along the clock: every
// transition happens at its own time, whenever it is looked at.
func (s *Server) advance(svc *service) {
	now := s.now()
	for len(svc.Deployments) > 0 {
		d := svc.Deployments[0]
		var moved bool
		switch d.RolloutState {
		case "IN_PROGRESS":
			moved = s.rollOn(svc, d, now)
		case "FAILED":
			moved = s.rollBack(svc, d, now)
		case "COMPLETED":
			s.scale(svc, d, now)
		}
		if !moved {
			return
		}
	}
}

// slotRunsAt is when the task of a launched slot reaches RUNNING.
func slotRunsAt(d *deployment, slot int) time.Time {
	n := d.Desired - d.LaunchFrom
	if slot < d.LaunchFrom || n <= 0 {
		return d.LaunchAt
	}
	return d.LaunchAt.Add(d.LaunchTakes * time.Duration(slot-d.LaunchFrom+1) / time.Duration(n))
}

// launchedRunning is the deployment's running count at now: the slots
// that were running before its launch and the launched ones that have
// reached RUNNING.
func launchedRunning(d *deployment, now time.Time) int {
	if d.LaunchAt.IsZero() || d.Desired <= d.LaunchFrom {
		return d.Desired
	}
	running := d.LaunchFrom
	for slot := d.LaunchFrom; slot < d.Desired && !now.Before(slotRunsAt(d, slot)); slot++ {
		running++
	}
	return running
}

// announce writes the launch's "has started N tasks: (task ...)" event
// once, at the launch ("service ... has started 2 tasks: (task ...)
// (task ...)", as the service event messages page shows it).
func (s *Server) announce(svc *service, d *deployment) {
	if d.Announced || d.LaunchAt.IsZero() || d.Desired <= d.LaunchFrom {
		return
	}
	d.Announced = true
	var ids []string
	for slot := d.LaunchFrom; slot < d.Desired; slot++ {
		ids = append(ids, "(task "+s.slotTaskID(svc, d, slot)+")")
	}
	s.event(svc, d.LaunchAt, "(service %s) has started %d tasks: %s.", svc.Name, len(ids), strings.Join(ids, " "))
}

// rollOn moves an IN_PROGRESS deployment: a healthy one to COMPLETED,
// stopping the other deployments' tasks; a failing one to FAILED when the
// breaker trips. It reports whether the deployment changed state.
func (s *Server) rollOn(svc *service, d *deployment, now time.Time) bool {
	start := d.LaunchAt
	if start.IsZero() {
		start = d.VisibleAt
	}
	done := start.Add(d.Rollout.Takes)
	if !d.Rollout.Fail {
		if now.Before(d.LaunchAt) {
			return false
		}
		if names := s.triggeredAlarms(d); len(names) > 0 {
			s.alarmFailed(svc, d, now, names)
			return true
		}
		if !d.Plan.staged() && svc.bounded() && len(svc.Deployments) > 1 {
			return s.rollInWaves(svc, d, now)
		}
		s.announce(svc, d)
		if d.Rollout.Gated && d.HealthyAt.IsZero() {
			if !s.gatedDone(svc, d, now) {
				return false
			}
			// Its slots ran by now: a double reloaded from the saved state
			// derives their tasks from these times.
			done, d.Rollout.Takes = now, max(now.Sub(start), time.Millisecond)
			d.LaunchTakes = min(d.LaunchTakes, d.Rollout.Takes)
			d.HealthyAt = now
		} else if !d.Rollout.Gated {
			d.Running = launchedRunning(d, now)
			if now.Before(done) {
				return false
			}
		}
		if d.Plan.staged() {
			// The old revision keeps running through the traffic shifts
			// and the bake time.
			finished, at, rolledBack := s.stepStaged(svc, d, now)
			if rolledBack {
				return true
			}
			if !finished {
				return false
			}
			done = at
		}
		d.RolloutState, d.Running, d.Reason = "COMPLETED", d.Desired, "ECS deployment "+d.ID+" completed."
		var stopped []string
		for _, old := range svc.Deployments[1:] {
			for slot := range old.Running {
				stopped = append(stopped, "(task "+s.slotTaskID(svc, old, slot)+")")
			}
		}
		if len(stopped) > 0 {
			s.event(svc, done, "(service %s) has stopped %d running tasks: %s.", svc.Name, len(stopped), strings.Join(stopped, " "))
		}
		svc.Deployments = svc.Deployments[:1]
		svc.TaskDef = d.TaskDef
		svc.deploymentCompleted(d, done)
		s.event(svc, done, "(service %s) (deployment %s) deployment completed.", svc.Name, d.ID)
		s.event(svc, done, "(service %s) has reached a steady state.", svc.Name)
		return true
	}
	if !svc.BreakerEnable {
		// No breaker: ECS keeps launching replacements that fail.
		every := max(s.timing.FailedTaskEvery, time.Millisecond)
		due := min(int(max(now.Sub(start), 0)/every), maxFailedTasks)
		for ; d.Failed < due; d.Failed++ {
			at := start.Add(time.Duration(d.Failed+1) * every)
			s.stoppedServiceTask(svc, d, at)
			if d.Failed+1 == unableAfter {
				s.event(svc, at, "(service %s) is unable to consistently start tasks successfully. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.", svc.Name)
			}
		}
		return false
	}
	// The tasks fail one after another; the breaker trips with the last
	// (its threshold), marking the deployment FAILED.
	n := max(d.Rollout.FailedTasks, 1)
	due := n
	if now.Before(done) {
		due = min(n-1, int(float64(n)*max(now.Sub(start), 0).Seconds()/max(d.Rollout.Takes.Seconds(), 0.001)))
	}
	for ; d.Failed < due; d.Failed++ {
		s.stoppedServiceTask(svc, d, start.Add(d.Rollout.Takes*time.Duration(d.Failed+1)/time.Duration(n)))
	}
	if now.Before(done) {
		return false
	}
	d.RolloutState, d.FailedAt, d.Running = "FAILED", done, 0
	d.Reason = "ECS deployment circuit breaker: tasks failed to start."
	svc.deploymentFailed(d, done)
	s.event(svc, done, "(service %s) (deployment %s) deployment failed: tasks failed to start.", svc.Name, d.ID)
	return true
}

// bounded: the service's deployment configuration keeps a rollout from
// replacing every task at once.
func (svc *service) bounded() bool {
	return svc.maxPercent() < 200 || svc.minHealthyPercent() < 100
}

func (svc *service) maxPercent() int {
	if svc.MaxPercent == 0 {
		return 200
	}
	return svc.MaxPercent
}

func (svc *service) minHealthyPercent() int {
	if svc.MinHealthyPercent == 0 && svc.MaxPercent == 0 {
		return 100
	}
	return svc.MinHealthyPercent
}

// wave is one step of a bounded rollout: how many new tasks run and old
// ones remain after it, and how many it launches.
type wave struct{ newRunning, old, launch, stop int }

// waves plans a rollout of n tasks replacing old ones: "maximumPercent
// ... the upper limit on the number of your service's tasks that are
// allowed in the RUNNING or PENDING state during a deployment";
// "minimumHealthyPercent ... the lower limit on the number of your
// service's tasks that must remain in the RUNNING state during a
// deployment" (API reference, DeploymentConfiguration). Each wave stops
// the old tasks the lower limit allows and launches what the upper limit
// leaves room for; the launched ones run at the wave's end.
func waves(n, old, maxPercent, minPercent int) []wave {
	upper := n * maxPercent / 100
	lower := (n*minPercent + 99) / 100
	var out []wave
	running := 0
	for running < n && len(out) < 100 {
		stop := min(old, max(0, running+old-lower))
		room := max(0, upper-(running+old-stop))
		launch := min(n-running, room)
		if launch == 0 && stop == 0 {
			// The limits allow no progress (maximumPercent 100 with
			// minimumHealthyPercent 100): ECS refuses such a
			// configuration; stop one old task to move on.
			stop = min(old, 1)
			launch = min(n-running, max(0, upper-(running+old-stop)))
			if launch == 0 {
				break
			}
		}
		old -= stop
		running += launch
		out = append(out, wave{newRunning: running, old: old, launch: launch, stop: stop})
	}
	return out
}

// rollInWaves moves a bounded rollout along: each wave takes the
// rollout's time, stops old tasks and starts new ones with their events,
// and the deployment completes when its last wave has run.
func (s *Server) rollInWaves(svc *service, d *deployment, now time.Time) bool {
	if d.Waves == 0 && d.OldAtLaunch == 0 {
		for _, o := range svc.Deployments[1:] {
			d.OldAtLaunch += o.Running
		}
	}
	plan := waves(d.Desired, d.OldAtLaunch, svc.maxPercent(), svc.minHealthyPercent())
	step := max(d.Rollout.Takes, time.Millisecond)
	elapsed := int(max(now.Sub(d.LaunchAt), 0) / step) // waves finished
	begun := min(elapsed+1, len(plan))
	for ; d.Waves < begun; d.Waves++ {
		w := plan[d.Waves]
		at := d.LaunchAt.Add(step * time.Duration(d.Waves))
		if w.stop > 0 {
			s.event(svc, at, "(service %s) has stopped %d running tasks.", svc.Name, w.stop)
		}
		if w.launch > 0 {
			s.event(svc, at, "(service %s) has started %d tasks.", svc.Name, w.launch)
		}
	}
	// The old deployments keep what the waves begun so far left running.
	current := plan[begun-1]
	remaining := current.old
	for _, o := range svc.Deployments[1:] {
		o.Running = min(o.Running, remaining)
		remaining -= o.Running
	}
	d.Running = 0
	if elapsed > 0 {
		d.Running = plan[min(elapsed, len(plan))-1].newRunning
	}
	if elapsed < len(plan) {
		d.WavePending = plan[elapsed].launch
		return false
	}
	d.WavePending = 0
	done := d.LaunchAt.Add(step * time.Duration(len(plan)))
	d.RolloutState, d.Running, d.Reason = "COMPLETED", d.Desired, "ECS deployment "+d.ID+" completed."
	svc.Deployments = svc.Deployments[:1]
	svc.TaskDef = d.TaskDef
	svc.deploymentCompleted(d, done)
	s.event(svc, done, "(service %s) (deployment %s) deployment completed.", svc.Name, d.ID)
	s.event(svc, done, "(service %s) has reached a steady state.", svc.Name)
	return true
}

// rollBack is the breaker's rollback of a FAILED deployment: "When the
// deployment circuit breaker determines that a deployment failed, it looks
// for the most recent deployment that is in a COMPLETED state ... When the
// rollback starts, the deployment changes from a COMPLETED to IN_PROGRESS
// ... When the deployment circuit breaker does not find a deployment that
// is in a COMPLETED state, the circuit breaker does not launch new tasks
// and the deployment is stalled" (ECS developer guide, deployment circuit
// breaker). The old deployment keeps its ID and its running tasks.
func (s *Server) rollBack(svc *service, d *deployment, now time.Time) bool {
	if !(svc.BreakerRollback || d.StopRequested) || d.RolledBack {
		return false
	}
	at, reason := d.FailedAt.Add(s.timing.RollbackAfter), "Circuit breaker: the deployment failed."
	if d.StopRequested {
		at, reason = d.FailedAt, cmp.Or(d.RollbackReason, "A rollback was requested (StopServiceDeployment).")
	}
	if now.Before(at) {
		return false
	}
	d.RolledBack = true
	var prev *deployment
	for _, o := range svc.Deployments[1:] {
		if o.RolloutState == "COMPLETED" {
			prev = o
			break
		}
	}
	svc.rollingBack(d, prev, at, reason)
	if prev == nil {
		return false // stalled: nothing launches, the FAILED deployment stays PRIMARY
	}
	rest := []*deployment{prev}
	for _, o := range svc.Deployments {
		if o != prev {
			o.Status = "ACTIVE"
			rest = append(rest, o)
		}
	}
	prev.Status, prev.RolloutState, prev.Reason = "PRIMARY", "IN_PROGRESS", ""
	takes := s.timing.Rollout
	if prev.Running >= svc.Desired && s.timing.TrafficShift > 0 {
		// Its tasks all still run (a staged deployment's bake time, or a
		// rollout that had not replaced any): the rollback only moves
		// traffic back.
		takes = s.timing.TrafficShift
	}
	prev.Rollout = Rollout{Takes: takes}
	prev.Plan, prev.HealthyAt, prev.Shift, prev.Paused, prev.Hooks = strategy{}, time.Time{}, 0, nil, nil
	prev.LaunchAt, prev.LaunchFrom, prev.LaunchTakes, prev.Announced = at, prev.Running, takes, false
	prev.Desired = svc.Desired
	svc.Deployments = rest
	svc.TaskDef = prev.TaskDef
	s.event(svc, at, "(service %s) rolling back to deployment %s.", svc.Name, prev.ID)
	return true
}

// scale moves a settled deployment's running count to a new desiredCount.
// "UpdateService ... desiredCount: the number of instantiations of the
// task to place and keep running in your service" (API reference): no new
// deployment; a scale-out is a launch (see updateService for a scale-in),
// announced with "has started", then the steady state.
func (s *Server) scale(svc *service, d *deployment, now time.Time) {
	if d.Running >= d.Desired || now.Before(d.LaunchAt) {
		return
	}
	s.announce(svc, d)
	d.Running = launchedRunning(d, now)
	if d.Running == d.Desired {
		s.event(svc, slotRunsAt(d, d.Desired-1), "(service %s) has reached a steady state.", svc.Name)
	}
}

// rescale gives a deployment a new desired count. A settled one scales
// out by a launch; one scaling in stops its highest slots at once ("has
// stopped N running tasks"), reaching the steady state when they are gone.
func (s *Server) rescale(svc *service, d *deployment, desired int) {
	now := s.now()
	if d.RolloutState != "COMPLETED" {
		d.Desired = desired
		return
	}
	if desired > d.Running {
		d.LaunchAt, d.LaunchFrom, d.LaunchTakes, d.Announced = now, d.Running, s.timing.Rollout, false
		d.Desired = desired
		return
	}
	var ids []string
	for slot := desired; slot < d.Running; slot++ {
		ids = append(ids, "(task "+s.slotTaskID(svc, d, slot)+")")
	}
	d.Desired, d.Running = desired, desired
	d.LaunchAt, d.LaunchFrom = now, desired
	if len(ids) > 0 {
		s.event(svc, now, "(service %s) has stopped %d running tasks: %s.", svc.Name, len(ids), strings.Join(ids, " "))
	}
	s.event(svc, now.Add(3*s.timing.StopPhase), "(service %s) has reached a steady state.", svc.Name)
}

// stoppedServiceTask records a task of the deployment that was launched
// and stopped (failed) at `at`, as ListTasks/DescribeTasks show it
// afterwards, with its "has started" event, and returns its ID.
func (s *Server) stoppedServiceTask(svc *service, d *deployment, at time.Time) string {
	td, err := s.lookupTaskDef(d.TaskDef)
	if err != nil {
		return ""
	}
	s.seq++
	id := fmt.Sprintf("%032x", s.seq)
	created := at.Add(-time.Second - 3*s.timing.StopPhase)
	t := &task{arn: s.arn("task", svc.Cluster+"/"+id), cluster: s.arn("cluster", svc.Cluster), taskDef: td.arn,
		startedBy: d.ID, group: "service:" + svc.Name, launchType: svc.LaunchType, created: created,
		outcome: Outcome{PendingFor: 500 * time.Millisecond, RunFor: 500 * time.Millisecond, ExitCode: 1}}
	if strings.Contains(d.Rollout.StoppedReason, "CannotPull") {
		t.outcome = Outcome{PendingFor: time.Second, FailToStart: d.Rollout.StoppedReason}
	}
	t.containers = td.containers()
	s.tasks[t.arn] = t
	s.event(svc, created, "(service %s) has started 1 tasks: (task %s).", svc.Name, id)
	return id
}

// serviceDoc renders a service as DescribeServices sees it: deployments
// made in the last Timing.ServiceUpdateVisible are not shown yet, and the
// previous one still reads as PRIMARY. fresh shows everything (the answer
// to the call that made the change).
func (s *Server) serviceDoc(svc *service, fresh bool) map[string]any {
	s.advance(svc)
	now := s.now()
	var shown []*deployment
	for _, d := range svc.Deployments {
		if fresh || !now.Before(d.VisibleAt) {
			shown = append(shown, d)
		}
	}
	deps := []any{}
	running, pending := 0, 0
	taskDef := svc.TaskDef
	for i, d := range shown {
		status := d.Status
		if i == 0 {
			status, taskDef = "PRIMARY", d.TaskDef
		}
		// pendingCount: "the number of tasks in the deployment that are
		// in the PENDING status" (API reference, Deployment).
		waiting := 0
		if d == svc.Deployments[0] {
			waiting = launched(svc, d, now) - d.Running
		}
		running += d.Running
		pending += waiting
		doc := map[string]any{
			"id": d.ID, "status": status, "taskDefinition": d.TaskDef, "desiredCount": d.Desired,
			"runningCount": d.Running, "pendingCount": waiting, "failedTasks": d.Failed, "rolloutState": d.RolloutState,
			"createdAt": epoch(d.Created), "updatedAt": epoch(now),
		}
		if d.Reason != "" {
			doc["rolloutStateReason"] = d.Reason
		}
		if svc.LaunchType != "" {
			doc["launchType"] = svc.LaunchType
		}
		deps = append(deps, doc)
	}
	events := []any{}
	for _, e := range svc.Events {
		if !e.At.After(now) {
			events = append(events, map[string]any{"id": e.ID, "createdAt": epoch(e.At), "message": e.Message})
		}
	}
	doc := map[string]any{
		"serviceArn": s.arn("service", svc.Cluster+"/"+svc.Name), "serviceName": svc.Name, "clusterArn": s.arn("cluster", svc.Cluster),
		"taskDefinition": taskDef, "desiredCount": svc.Desired, "runningCount": running, "pendingCount": pending,
		"status": "ACTIVE", "deployments": deps, "events": events, "createdAt": epoch(svc.Created),
		"enableExecuteCommand": svc.EnableExec,
		"deploymentConfiguration": map[string]any{"deploymentCircuitBreaker": map[string]any{"enable": svc.BreakerEnable, "rollback": svc.BreakerRollback},
			"maximumPercent": svc.maxPercent(), "minimumHealthyPercent": svc.minHealthyPercent()},
	}
	svc.Deploy.render(doc["deploymentConfiguration"].(map[string]any))
	if svc.LaunchType != "" {
		doc["launchType"] = svc.LaunchType
	}
	if svc.Network != nil {
		doc["networkConfiguration"] = svc.Network
	}
	// currentServiceDeployment: the newest one the service shows.
	for _, sd := range svc.ServiceDeployments {
		if fresh || !now.Before(sd.Started) {
			doc["currentServiceDeployment"] = s.serviceDeploymentArn(svc, sd.ID)
			break
		}
	}
	revisions := []any{}
	for i, d := range shown {
		if d.Revision == "" {
			continue
		}
		waiting := 0
		if i == 0 && d == svc.Deployments[0] {
			waiting = launched(svc, d, now) - d.Running
		}
		revisions = append(revisions, map[string]any{"arn": s.serviceRevisionArn(svc, d.Revision), "requestedTaskCount": d.Desired,
			"runningTaskCount": d.Running, "pendingTaskCount": waiting})
	}
	if len(revisions) > 0 {
		doc["currentServiceRevisions"] = revisions
	}
	return doc
}

func (s *Server) createService(body []byte) (any, error) {
	var in struct {
		Cluster        string         `json:"cluster"`
		Name           string         `json:"serviceName"`
		TaskDefinition string         `json:"taskDefinition"`
		Desired        *int           `json:"desiredCount"`
		LaunchType     string         `json:"launchType"`
		Network        map[string]any `json:"networkConfiguration"`
		EnableExec     bool           `json:"enableExecuteCommand"`
		Deployment     struct {
			Breaker struct {
				Enable   bool `json:"enable"`
				Rollback bool `json:"rollback"`
			} `json:"deploymentCircuitBreaker"`
			MaxPercent *int `json:"maximumPercent"`
			MinHealthy *int `json:"minimumHealthyPercent"`
			strategyInput
		} `json:"deploymentConfiguration"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	cluster, err := s.cluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	maxPercent, minHealthy, err := percents(in.Deployment.MaxPercent, in.Deployment.MinHealthy, 200, 100)
	if err != nil {
		return nil, err
	}
	plan, err := in.Deployment.strategyInput.apply(strategy{})
	if err != nil {
		return nil, err
	}
	if in.Name == "" {
		return nil, clientErr("InvalidParameterException", "serviceName can not be blank.")
	}
	if !clusterNameRE.MatchString(in.Name) {
		return nil, clientErr("InvalidParameterException", "Service name must be 1-255 letters, numbers, hyphens and underscores.")
	}
	desired := 0
	if in.Desired != nil {
		desired = *in.Desired
	}
	if desired < 0 {
		return nil, clientErr("InvalidParameterException", "desiredCount must be at least 0.")
	}
	key := cluster + "/" + in.Name
	if _, ok := s.services[key]; ok {
		return nil, clientErr("InvalidParameterException", "Creation of service was not idempotent.")
	}
	td, err := s.lookupTaskDef(in.TaskDefinition)
	if err != nil {
		return nil, err
	}
	if err := usable(td); err != nil {
		return nil, err
	}
	if td.doc["networkMode"] == "awsvpc" && in.Network == nil {
		return nil, clientErr("InvalidParameterException", "Network Configuration must be provided when networkMode 'awsvpc' is specified.")
	}
	svc := &service{Name: in.Name, Cluster: cluster, TaskDef: td.arn, LaunchType: in.LaunchType, Desired: desired,
		Network: in.Network, BreakerEnable: in.Deployment.Breaker.Enable, BreakerRollback: in.Deployment.Breaker.Enable && in.Deployment.Breaker.Rollback,
		EnableExec: in.EnableExec, Created: s.now(), MaxPercent: maxPercent, MinHealthyPercent: minHealthy, Deploy: plan}
	// The first deployment rolls out like any other: "When a service
	// deployment is started, it begins in an IN_PROGRESS state" (API
	// reference, Deployment.rolloutState); it can fail, and with no
	// COMPLETED deployment before it the breaker has nothing to roll
	// back to.
	r := Rollout{Takes: s.timing.Rollout}
	if s.rollout != nil {
		r = s.rollout(svc.Name, td.arn)
	}
	d := s.newDeployment(svc, td.arn, r, s.now())
	// Nothing runs yet to shift traffic from: the first deployment only
	// scales up, whatever the strategy.
	d.Plan = d.Plan.unstaged()
	s.startServiceDeployment(svc, d, s.now())
	svc.Deployments = []*deployment{d}
	s.services[key] = svc
	return map[string]any{"service": s.serviceDoc(svc, true)}, nil
}

func (s *Server) describeServices(body []byte) (any, error) {
	var in struct {
		Cluster  string   `json:"cluster"`
		Services []string `json:"services"`
		Include  []string `json:"include"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	cluster, err := s.cluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	if len(in.Services) == 0 {
		return nil, clientErr("InvalidParameterException", "Services cannot be empty.")
	}
	if len(in.Services) > 10 {
		return nil, clientErr("InvalidParameterException", "Services can have at most 10 items.")
	}
	out, failures := []any{}, []any{}
	for _, name := range in.Services {
		key := cluster + "/" + name[strings.LastIndexByte(name, '/')+1:]
		if svc, ok := s.services[key]; ok {
			out = append(out, s.serviceDoc(svc, false))
		} else {
			failures = append(failures, Failure{Arn: s.arn("service", key), Reason: "MISSING"})
		}
	}
	return map[string]any{"services": out, "failures": failures}, nil
}

func (s *Server) updateService(body []byte) (any, error) {
	var in struct {
		Cluster        string `json:"cluster"`
		Service        string `json:"service"`
		TaskDefinition string `json:"taskDefinition"`
		Desired        *int   `json:"desiredCount"`
		Force          bool   `json:"forceNewDeployment"`
		EnableExec     *bool  `json:"enableExecuteCommand"`
		Deployment     *struct {
			MaxPercent *int `json:"maximumPercent"`
			MinHealthy *int `json:"minimumHealthyPercent"`
			strategyInput
		} `json:"deploymentConfiguration"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	svc, err := s.serviceNamed(in.Cluster, in.Service)
	if err != nil {
		return nil, err
	}
	s.advance(svc)
	if in.Desired != nil {
		if *in.Desired < 0 {
			return nil, clientErr("InvalidParameterException", "desiredCount must be at least 0.")
		}
		svc.Desired = *in.Desired
		// The PRIMARY deployment takes the new count: a settled one scales
		// (no new deployment); one rolling out aims at it.
		if d := svc.Deployments[0]; d.Desired != svc.Desired {
			s.rescale(svc, d, svc.Desired)
		}
	}
	if in.EnableExec != nil {
		svc.EnableExec = *in.EnableExec // running tasks keep theirs
	}
	if in.Deployment != nil {
		maxPercent, minHealthy, err := percents(in.Deployment.MaxPercent, in.Deployment.MinHealthy, svc.maxPercent(), svc.minHealthyPercent())
		if err != nil {
			return nil, err
		}
		plan, err := in.Deployment.strategyInput.apply(svc.Deploy)
		if err != nil {
			return nil, err
		}
		svc.MaxPercent, svc.MinHealthyPercent, svc.Deploy = maxPercent, minHealthy, plan
	}
	if in.TaskDefinition != "" || in.Force {
		td := svc.Deployments[0].TaskDef
		if in.TaskDefinition != "" {
			def, err := s.lookupTaskDef(in.TaskDefinition)
			if err != nil {
				return nil, err
			}
			if err := usable(def); err != nil {
				return nil, err
			}
			td = def.arn
		}
		if td != svc.Deployments[0].TaskDef || in.Force {
			r := Rollout{Takes: s.timing.Rollout}
			if s.rollout != nil {
				r = s.rollout(svc.Name, td)
			}
			for _, d := range svc.Deployments {
				d.Status = "ACTIVE"
			}
			d := s.newDeployment(svc, td, r, s.now())
			d.VisibleAt = s.now().Add(s.timing.ServiceUpdateVisible)
			d.LaunchAt = d.VisibleAt
			s.startServiceDeployment(svc, d, s.now())
			svc.Deployments = append([]*deployment{d}, svc.Deployments...)
			svc.TaskDef = td
		}
	}
	return map[string]any{"service": s.serviceDoc(svc, true)}, nil
}

// serviceNamed finds a service by cluster and service name or ARN.
func (s *Server) serviceNamed(clusterRef, serviceRef string) (*service, error) {
	cluster, err := s.cluster(clusterRef)
	if err != nil {
		return nil, err
	}
	svc, ok := s.services[cluster+"/"+serviceRef[strings.LastIndexByte(serviceRef, '/')+1:]]
	if !ok {
		return nil, clientErr("ServiceNotFoundException", "Service not found.")
	}
	return svc, nil
}

// percents reads maximumPercent and minimumHealthyPercent, each keeping
// its current value when absent. Limits that allow no progress (100 and
// 100) are not refused here, as the reference names no error for them:
// waves then stops one old task at a time.
func percents(maxPercent, minHealthy *int, curMax, curMin int) (int, int, error) {
	m, n := curMax, curMin
	if maxPercent != nil {
		m = *maxPercent
	}
	if minHealthy != nil {
		n = *minHealthy
	}
	if m < 0 || n < 0 {
		return 0, 0, clientErr("InvalidParameterException", "maximumPercent and minimumHealthyPercent cannot be negative.")
	}
	return m, n, nil
}
