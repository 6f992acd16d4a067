package awsfake

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// strategy is the part of a service's deploymentConfiguration that shapes
// a rollout beyond the rolling update's percents: the deployment strategy
// with its bake times (BLUE_GREEN, LINEAR and CANARY keep the old
// revision running until the bake time after the production traffic
// shift ends, so a rollback until then only moves traffic back), the
// CloudWatch alarms that fail a deployment, and PAUSE lifecycle hooks.
type strategy struct {
	Strategy              string  `json:",omitempty"` // "" reads as ROLLING
	BakeMinutes           int     `json:",omitempty"`
	CanaryPercent         float64 `json:",omitempty"`
	CanaryBakeMinutes     int     `json:",omitempty"`
	LinearStepPercent     float64 `json:",omitempty"`
	LinearStepBakeMinutes int     `json:",omitempty"`
	Alarms                []string
	AlarmsEnable          bool        `json:",omitempty"`
	AlarmsRollback        bool        `json:",omitempty"`
	Hooks                 []pauseHook `json:",omitempty"`
}

// pauseHook: at the start of each of Stages the deployment waits for
// ContinueServiceDeployment, or TimeoutMinutes, then TimeoutAction.
type pauseHook struct {
	Stages         []string
	TimeoutMinutes int
	TimeoutAction  string
}

// unstaged keeps the alarms only.
func (c strategy) unstaged() strategy {
	return strategy{Alarms: c.Alarms, AlarmsEnable: c.AlarmsEnable, AlarmsRollback: c.AlarmsRollback}
}

// staged: the strategy shifts traffic between two full revisions.
func (c strategy) staged() bool { return c.Strategy != "" && c.Strategy != "ROLLING" }

// strategyInput is how deploymentConfiguration spells it on the wire.
type strategyInput struct {
	Strategy    *string `json:"strategy"`
	BakeMinutes *int    `json:"bakeTimeInMinutes"`
	Canary      *struct {
		Percent     float64 `json:"canaryPercent"`
		BakeMinutes int     `json:"canaryBakeTimeInMinutes"`
	} `json:"canaryConfiguration"`
	Linear *struct {
		StepPercent     float64 `json:"stepPercent"`
		StepBakeMinutes int     `json:"stepBakeTimeInMinutes"`
	} `json:"linearConfiguration"`
	Alarms *struct {
		Names    []string `json:"alarmNames"`
		Enable   bool     `json:"enable"`
		Rollback bool     `json:"rollback"`
	} `json:"alarms"`
	Hooks *[]struct {
		TargetType string   `json:"targetType"`
		Stages     []string `json:"lifecycleStages"`
		Timeout    *struct {
			Minutes int    `json:"timeoutInMinutes"`
			Action  string `json:"action"`
		} `json:"timeoutConfiguration"`
	} `json:"lifecycleHooks"`
}

// pausableStages are the hook stages the double can pause at: after the
// new revision scaled up. PRE_SCALE_UP and RECONCILE_SERVICE would hold
// the launch itself, which the double does not model.
var pausableStages = []string{"POST_SCALE_UP", "TEST_TRAFFIC_SHIFT", "POST_TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT"}

// apply merges what the call set into c, checking it as ECS documents.
func (in strategyInput) apply(c strategy) (strategy, error) {
	if in.Strategy != nil {
		switch *in.Strategy {
		case "ROLLING", "BLUE_GREEN", "LINEAR", "CANARY":
			c.Strategy = *in.Strategy
		default:
			return c, clientErr("InvalidParameterException", "strategy %q is not one of ROLLING, BLUE_GREEN, LINEAR, CANARY.", *in.Strategy)
		}
	}
	if in.BakeMinutes != nil {
		c.BakeMinutes = *in.BakeMinutes
	}
	if in.Canary != nil {
		c.CanaryPercent, c.CanaryBakeMinutes = in.Canary.Percent, in.Canary.BakeMinutes
	}
	if in.Linear != nil {
		c.LinearStepPercent, c.LinearStepBakeMinutes = in.Linear.StepPercent, in.Linear.StepBakeMinutes
	}
	if in.Alarms != nil {
		c.Alarms, c.AlarmsEnable, c.AlarmsRollback = in.Alarms.Names, in.Alarms.Enable, in.Alarms.Rollback
	}
	if in.Hooks != nil {
		c.Hooks = nil
		for _, h := range *in.Hooks {
			if h.TargetType != "PAUSE" {
				return c, clientErr("InvalidParameterException", "lifecycle hook targetType %q: the double runs no Lambda functions; it models PAUSE hooks.", h.TargetType)
			}
			for _, st := range h.Stages {
				if !slices.Contains(pausableStages, st) {
					return c, clientErr("InvalidParameterException", "lifecycle stage %s: the double pauses at %s.", st, strings.Join(pausableStages, ", "))
				}
			}
			hook := pauseHook{Stages: h.Stages, TimeoutMinutes: 60, TimeoutAction: "ROLLBACK"}
			if h.Timeout != nil {
				hook.TimeoutMinutes, hook.TimeoutAction = h.Timeout.Minutes, h.Timeout.Action
			}
			c.Hooks = append(c.Hooks, hook)
		}
	}
	switch {
	case c.Strategy == "BLUE_GREEN" && in.Strategy != nil && in.BakeMinutes == nil && c.BakeMinutes == 0:
		// "You must provide this parameter when you use the BLUE_GREEN
		// deployment strategy" (API reference, bakeTimeInMinutes).
		return c, clientErr("InvalidParameterException", "bakeTimeInMinutes is required with the BLUE_GREEN deployment strategy.")
	case c.Strategy == "CANARY" && (c.CanaryPercent <= 0 || c.CanaryPercent > 100):
		return c, clientErr("InvalidParameterException", "canaryConfiguration.canaryPercent must be above 0 and at most 100 with the CANARY deployment strategy.")
	case c.Strategy == "LINEAR" && (c.LinearStepPercent <= 0 || c.LinearStepPercent > 100):
		return c, clientErr("InvalidParameterException", "linearConfiguration.stepPercent must be above 0 and at most 100 with the LINEAR deployment strategy.")
	case len(c.Hooks) > 0 && !c.staged():
		return c, clientErr("InvalidParameterException", "lifecycle hooks need the BLUE_GREEN, LINEAR or CANARY deployment strategy.")
	}
	return c, nil
}

// stageSpan is one lifecycle stage after the scale-up, as offsets from
// the moment the new revision's tasks all ran.
type stageSpan struct {
	Stage    string
	From, To time.Duration
}

// schedule lays out the stages after SCALE_UP: the test traffic shift,
// the production traffic shift (one step for BLUE_GREEN; the canary
// percentage for its bake time, then the rest, for CANARY; a step every
// step bake time for LINEAR), the bake time, the clean-up.
func (c strategy) schedule(step, minute time.Duration) []stageSpan {
	production := step
	switch c.Strategy {
	case "CANARY":
		production = time.Duration(c.CanaryBakeMinutes)*minute + step
	case "LINEAR":
		production = time.Duration(c.linearSteps()) * max(time.Duration(c.LinearStepBakeMinutes)*minute, step)
	}
	var out []stageSpan
	at := time.Duration(0)
	for _, s := range []struct {
		stage string
		takes time.Duration
	}{
		{"POST_SCALE_UP", step}, {"TEST_TRAFFIC_SHIFT", step}, {"POST_TEST_TRAFFIC_SHIFT", step},
		{"PRODUCTION_TRAFFIC_SHIFT", production}, {"POST_PRODUCTION_TRAFFIC_SHIFT", step},
		{"BAKE_TIME", time.Duration(c.BakeMinutes) * minute}, {"CLEAN_UP", step},
	} {
		out = append(out, stageSpan{s.stage, at, at + s.takes})
		at += s.takes
	}
	return out
}

func (c strategy) linearSteps() int {
	return int(math.Ceil(100 / math.Max(c.LinearStepPercent, 1)))
}

// productionWeight is the new revision's share of production traffic at
// an offset into the production traffic shift.
func (c strategy) productionWeight(into, span, step, minute time.Duration) float64 {
	switch c.Strategy {
	case "CANARY":
		if into < time.Duration(c.CanaryBakeMinutes)*minute {
			return c.CanaryPercent
		}
		return 100
	case "LINEAR":
		per := max(time.Duration(c.LinearStepBakeMinutes)*minute, step)
		return math.Min(100, float64(int(into/per)+1)*c.LinearStepPercent)
	}
	if into >= span {
		return 100
	}
	return 0
}

// phase is where a staged deployment is at now: its stage, the traffic
// weights, and whether it is done (doneAt).
type phase struct {
	Stage                string
	Production, Test     float64
	Done                 bool
	DoneAt               time.Time
	scaledUp, pauseStart time.Time
}

// phaseOf reads a staged deployment's position on its schedule. Time
// spent paused at a hook does not count (d.Shift), nor does time waiting
// while a hook is still awaiting action.
func (s *Server) phaseOf(d *deployment, now time.Time) phase {
	scaled := d.scaledUpAt()
	if scaled.IsZero() || now.Before(scaled) {
		return phase{Stage: "SCALE_UP"}
	}
	if d.Paused != nil {
		now = d.Paused.Since
	}
	e := now.Sub(scaled) - d.Shift
	spans := d.Plan.schedule(s.timing.TrafficShift, s.timing.minute())
	p := phase{scaledUp: scaled}
	for _, sp := range spans {
		if e < sp.From {
			break
		}
		p.Stage = sp.Stage
		switch sp.Stage {
		case "TEST_TRAFFIC_SHIFT":
			p.Test = 100
		case "PRODUCTION_TRAFFIC_SHIFT":
			p.Production = d.Plan.productionWeight(e-sp.From, sp.To-sp.From, s.timing.TrafficShift, s.timing.minute())
		case "POST_PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME", "CLEAN_UP":
			p.Production = 100
		}
	}
	end := spans[len(spans)-1].To
	if e >= end {
		p.Done, p.DoneAt, p.Stage = true, scaled.Add(d.Shift+end), "CLEAN_UP"
	}
	return p
}

// scaledUpAt is when all the new revision's tasks ran: the end of the
// launch, or when a runtime reported the last one healthy; zero before.
func (d *deployment) scaledUpAt() time.Time {
	if d.Rollout.Gated {
		return d.HealthyAt
	}
	return d.LaunchAt.Add(d.Rollout.Takes)
}

// pausedHook is a PAUSE hook awaiting action.
type pausedHook struct {
	ID, Stage     string
	Since         time.Time
	Expires       time.Time
	TimeoutAction string
}

// hookRecord is a hook that paused a deployment and was dealt with.
type hookRecord struct {
	ID, Stage, Status string
}

// stepStaged moves a staged deployment along its stages from scaledUp:
// pausing at a hook's stage, taking a hook's timeout action. It reports
// whether the deployment is done and when, or rolledBack when a timeout
// rolled it back.
func (s *Server) stepStaged(svc *service, d *deployment, now time.Time) (done bool, doneAt time.Time, rolledBack bool) {
	for {
		if d.Paused != nil {
			if now.Before(d.Paused.Expires) {
				return false, time.Time{}, false
			}
			p := d.Paused
			d.Paused = nil
			d.Hooks = append(d.Hooks, hookRecord{ID: p.ID, Stage: p.Stage, Status: "TIMED_OUT"})
			if p.TimeoutAction == "ROLLBACK" {
				s.failDeployment(svc, d, p.Expires, "ECS deployment "+d.ID+" rolled back: lifecycle hook "+p.ID+" at "+p.Stage+" timed out.")
				return false, time.Time{}, true
			}
			d.Shift += p.Expires.Sub(p.Since)
		}
		ph := s.phaseOf(d, now)
		if ph.Stage == "SCALE_UP" {
			return false, time.Time{}, false
		}
		// A hook of a stage reached and not yet dealt with pauses here.
		spans := d.Plan.schedule(s.timing.TrafficShift, s.timing.minute())
		paused := false
		for _, sp := range spans {
			hook := d.Plan.hookAt(sp.Stage)
			if hook == nil || d.hookDone(sp.Stage) {
				continue
			}
			start := ph.scaledUp.Add(d.Shift + sp.From)
			if now.Before(start) {
				break
			}
			s.seq++
			d.Paused = &pausedHook{ID: fmt.Sprintf("hook-%d", s.seq), Stage: sp.Stage, Since: start,
				Expires: start.Add(time.Duration(hook.TimeoutMinutes) * s.timing.minute()), TimeoutAction: hook.TimeoutAction}
			s.event(svc, start, "(service %s) (deployment %s) paused at lifecycle stage %s, awaiting action.", svc.Name, d.ID, sp.Stage)
			paused = true
			break
		}
		if paused {
			continue // it may have expired already
		}
		return ph.Done, ph.DoneAt, false
	}
}

func (c strategy) hookAt(stage string) *pauseHook {
	for i := range c.Hooks {
		if slices.Contains(c.Hooks[i].Stages, stage) {
			return &c.Hooks[i]
		}
	}
	return nil
}

func (d *deployment) hookDone(stage string) bool {
	for _, h := range d.Hooks {
		if h.Stage == stage {
			return true
		}
	}
	return false
}

// SetAlarm puts a CloudWatch alarm in the ALARM state (true) or OK: a
// deployment whose service monitors it fails while it is in ALARM, and
// rolls back when the service's alarms say so.
func (s *Server) SetAlarm(name string, inAlarm bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.alarms == nil {
		s.alarms = map[string]bool{}
	}
	s.alarms[name] = inAlarm
}

// triggeredAlarms are the deployment's monitored alarms in ALARM now.
func (s *Server) triggeredAlarms(d *deployment) []string {
	if !d.Plan.AlarmsEnable {
		return nil
	}
	var out []string
	for _, name := range d.Plan.Alarms {
		if s.alarms[name] {
			out = append(out, name)
		}
	}
	return out
}

// failDeployment marks an IN_PROGRESS deployment FAILED at `at` for a
// reason other than failing tasks (an alarm, a hook), and has it rolled
// back at once: its new tasks stop, the revision before it comes back.
func (s *Server) failDeployment(svc *service, d *deployment, at time.Time, reason string) {
	d.RolloutState, d.FailedAt, d.Running, d.WavePending, d.Reason = "FAILED", at, 0, 0, reason
	d.StopRequested, d.RollbackReason = true, reason
	if sd := svc.serviceDeployment(d.ServiceDeployment); sd != nil && sd.Finished.IsZero() {
		sd.Status, sd.Reason = "ROLLBACK_REQUESTED", reason
	}
	s.event(svc, at, "(service %s) (deployment %s) deployment failed: %s", svc.Name, d.ID, reason)
}

// continueServiceDeployment answers a PAUSE hook: CONTINUE moves the
// deployment to its next stage; ROLLBACK rolls it back as
// StopServiceDeployment does.
func (s *Server) continueServiceDeployment(body []byte) (any, error) {
	var in struct {
		Arn    string `json:"serviceDeploymentArn"`
		HookID string `json:"hookId"`
		Action string `json:"action"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	svc, sd, err := s.lookupServiceDeployment(in.Arn)
	if err != nil {
		return nil, err
	}
	d := sdDeployment(svc, sd)
	if d == nil || d.Paused == nil || (in.HookID != "" && in.HookID != d.Paused.ID) {
		return nil, clientErr("InvalidParameterException", "Service deployment %s has no lifecycle hook %s awaiting action.", in.Arn, in.HookID)
	}
	now := s.now()
	p := d.Paused
	d.Paused = nil
	switch in.Action {
	case "", "CONTINUE":
		d.Hooks = append(d.Hooks, hookRecord{ID: p.ID, Stage: p.Stage, Status: "SUCCEEDED"})
		d.Shift += now.Sub(p.Since)
	case "ROLLBACK":
		d.Hooks = append(d.Hooks, hookRecord{ID: p.ID, Stage: p.Stage, Status: "FAILED"})
		s.failDeployment(svc, d, now, "ECS deployment "+d.ID+" rolled back: lifecycle hook "+p.ID+" at "+p.Stage+" answered ROLLBACK.")
	default:
		d.Paused = p
		return nil, clientErr("InvalidParameterException", "action %q is not CONTINUE or ROLLBACK.", in.Action)
	}
	s.advance(svc)
	return map[string]any{"serviceDeploymentArn": in.Arn}, nil
}

// hookDetails renders a deployment's hooks for DescribeServiceDeployments.
func (s *Server) hookDetails(d *deployment) []any {
	var out []any
	for _, h := range d.Hooks {
		out = append(out, map[string]any{"hookId": h.ID, "targetType": "PAUSE", "status": h.Status})
	}
	if p := d.Paused; p != nil {
		out = append(out, map[string]any{"hookId": p.ID, "targetType": "PAUSE", "status": "AWAITING_ACTION",
			"expiresAt": epoch(p.Expires), "timeoutAction": p.TimeoutAction})
	}
	return out
}

// render adds the strategy to a deploymentConfiguration document.
func (c strategy) render(doc map[string]any) {
	doc["strategy"] = "ROLLING"
	if c.Strategy != "" {
		doc["strategy"] = c.Strategy
	}
	if c.staged() {
		doc["bakeTimeInMinutes"] = c.BakeMinutes
	}
	switch c.Strategy {
	case "CANARY":
		doc["canaryConfiguration"] = map[string]any{"canaryPercent": c.CanaryPercent, "canaryBakeTimeInMinutes": c.CanaryBakeMinutes}
	case "LINEAR":
		doc["linearConfiguration"] = map[string]any{"stepPercent": c.LinearStepPercent, "stepBakeTimeInMinutes": c.LinearStepBakeMinutes}
	}
	if len(c.Alarms) > 0 || c.AlarmsEnable {
		doc["alarms"] = map[string]any{"alarmNames": orEmptyStrings(c.Alarms), "enable": c.AlarmsEnable, "rollback": c.AlarmsRollback}
	}
	if len(c.Hooks) > 0 {
		var hooks []any
		for _, h := range c.Hooks {
			hooks = append(hooks, map[string]any{"targetType": "PAUSE", "lifecycleStages": h.Stages,
				"timeoutConfiguration": map[string]any{"timeoutInMinutes": h.TimeoutMinutes, "action": h.TimeoutAction}})
		}
		doc["lifecycleHooks"] = hooks
	}
}

func orEmptyStrings(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

// alarmFailed: monitored alarms went into ALARM during the deployment
// (its bake time included). With the alarms' rollback on, ECS rolls back
// at once; without, the deployment stops FAILED.
func (s *Server) alarmFailed(svc *service, d *deployment, now time.Time, names []string) {
	reason := "ECS deployment " + d.ID + " failed: CloudWatch alarm(s) in ALARM: " + strings.Join(names, ", ") + "."
	if sd := svc.serviceDeployment(d.ServiceDeployment); sd != nil {
		sd.AlarmStatus, sd.Triggered = "TRIGGERED", names
	}
	if d.Plan.AlarmsRollback {
		s.failDeployment(svc, d, now, reason)
		return
	}
	d.RolloutState, d.FailedAt, d.Reason, d.RolledBack = "FAILED", now, reason, true
	if sd := svc.serviceDeployment(d.ServiceDeployment); sd != nil && sd.Finished.IsZero() {
		sd.Status, sd.Reason, sd.Finished = "STOPPED", reason, now
	}
	s.event(svc, now, "(service %s) (deployment %s) deployment failed: %s", svc.Name, d.ID, reason)
}
