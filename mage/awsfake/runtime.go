package awsfake

import (
	"fmt"
	"strings"
	"time"
)

// A runtime outside the double (the sandbox's podman pods) can run the
// services' tasks for real. Its rollouts are then gated: a new deployment
// completes when the runtime reports each of its tasks healthy, and its
// tasks fail when the runtime reports an essential container exited, which
// counts toward the deployment circuit breaker as on ECS. Without reports
// a gated rollout stays IN_PROGRESS (its tasks PENDING) until Rollout.Takes.

// ContainerDefinition is what a runtime needs to run one container.
type ContainerDefinition struct {
	Name, Image         string
	EntryPoint, Command []string
	Environment         []string // NAME=VALUE
	Essential           bool
	StopTimeout         time.Duration
	// Health is the healthCheck command; HealthStartPeriod, Interval and
	// Retries its timing (ECS's defaults when the definition omits them).
	Health                            []string
	HealthStartPeriod, HealthInterval time.Duration
	HealthRetries                     int
	DependsOn                         [][2]string // container, condition
	Ports                             []int       // portMappings' containerPort
	LogGroup, LogStream               string
}

// ServiceTask is a service's task as the double's scheduler sees it.
type ServiceTask struct {
	ARN, Cluster, Service, Deployment string
	// Wanted: the scheduler keeps it running (desiredStatus RUNNING).
	Wanted bool
	// Healthy: a runtime reported it healthy.
	Healthy    bool
	Containers []ContainerDefinition
	// TrafficShare is the task's share, in percent, of the service's
	// production traffic while a BLUE_GREEN, LINEAR or CANARY deployment
	// moves it (the listener rules' weights, split over each side's
	// tasks); -1 when every task takes an equal share (a rolling
	// deployment, or none in flight).
	TrafficShare float64
}

// ServiceTasks lists the services' tasks that are wanted or were
// stopped in the last 10 minutes (a runtime stops what still runs).
func (s *Server) ServiceTasks() []ServiceTask {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.syncServiceTasks()
	now := s.now()
	shares := s.trafficShares(now)
	var out []ServiceTask
	for _, t := range s.tasks {
		if t.service == "" || t.stoppedBy != "" && now.Sub(t.stoppedAt) > 10*time.Minute {
			continue
		}
		cluster, name, _ := strings.Cut(t.service, "/")
		st := ServiceTask{ARN: t.arn, Cluster: cluster, Service: name, Deployment: t.startedBy, Wanted: t.stoppedBy == "", Healthy: t.health == "HEALTHY", TrafficShare: -1}
		if share, ok := shares[t.arn]; ok {
			st.TrafficShare = share
		}
		td, err := s.lookupTaskDef(t.taskDef)
		if err != nil {
			continue
		}
		st.Containers = containerDefinitions(td, t)
		out = append(out, st)
	}
	return out
}

// trafficShares is each wanted task's share of production traffic, by
// ARN, for the services whose primary deployment is a staged one in
// progress: its phase's production weight over its tasks, the rest over
// the tasks of the deployments it replaces.
func (s *Server) trafficShares(now time.Time) map[string]float64 {
	shares := map[string]float64{}
	for key, svc := range s.services {
		if len(svc.Deployments) == 0 {
			continue
		}
		d := svc.Deployments[0]
		if d.RolloutState != "IN_PROGRESS" || !d.Plan.staged() {
			continue
		}
		production := s.phaseOf(d, now).Production
		var target, sources []string
		for _, t := range s.tasks {
			if t.service != key || t.stoppedBy != "" {
				continue
			}
			if t.startedBy == d.ID {
				target = append(target, t.arn)
			} else {
				sources = append(sources, t.arn)
			}
		}
		if len(sources) == 0 {
			continue // nothing to move traffic from: the new tasks take it all
		}
		for _, arn := range target {
			shares[arn] = production / float64(len(target))
		}
		for _, arn := range sources {
			shares[arn] = (100 - production) / float64(len(sources))
		}
	}
	return shares
}

// stringList reads a JSON list as strings (a command, an entryPoint).
func stringList(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, a := range list {
		out = append(out, fmt.Sprint(a))
	}
	return out
}

func seconds(v any, def time.Duration) time.Duration {
	if f, ok := v.(float64); ok && f > 0 {
		return time.Duration(f) * time.Second
	}
	return def
}

// containerDefinitions reads the task definition as a runtime runs it.
func containerDefinitions(td *taskDefinition, t *task) []ContainerDefinition {
	var out []ContainerDefinition
	defs, _ := td.doc["containerDefinitions"].([]any)
	for i, d := range defs {
		m, _ := d.(map[string]any)
		c := t.containers[i]
		cd := ContainerDefinition{Name: c.Name, Image: c.Image, Essential: c.Essent, StopTimeout: c.StopTimeout,
			EntryPoint: stringList(m["entryPoint"]), Command: c.Command, Environment: c.Environment,
			LogGroup: c.LogGroup, LogStream: c.LogPref + "/" + c.Name + "/" + taskID(t.arn)}
		if hc, ok := m["healthCheck"].(map[string]any); ok {
			// ECS's defaults: interval 30 s, retries 3, no start period.
			cd.Health = stringList(hc["command"])
			cd.HealthInterval = seconds(hc["interval"], 30*time.Second)
			cd.HealthStartPeriod = seconds(hc["startPeriod"], 0)
			cd.HealthRetries = 3
			if r, ok := hc["retries"].(float64); ok && r > 0 {
				cd.HealthRetries = int(r)
			}
		}
		deps, _ := m["dependsOn"].([]any)
		for _, dep := range deps {
			dm, _ := dep.(map[string]any)
			cd.DependsOn = append(cd.DependsOn, [2]string{fmt.Sprint(dm["containerName"]), fmt.Sprint(dm["condition"])})
		}
		pms, _ := m["portMappings"].([]any)
		for _, pm := range pms {
			if p, ok := pm.(map[string]any)["containerPort"].(float64); ok {
				cd.Ports = append(cd.Ports, int(p))
			}
		}
		out = append(out, cd)
	}
	return out
}

func (s *Server) serviceOf(t *task) (*service, *deployment) {
	svc := s.services[t.service]
	if svc == nil {
		return nil, nil
	}
	for _, d := range svc.Deployments {
		if d.ID == t.startedBy {
			return svc, d
		}
	}
	return svc, nil
}

// TaskHealthy records that a service task runs and passes its health
// checks (and, behind a load balancer, the target group's): it is
// RUNNING from now if it was not yet, and its deployment's rollout
// completes once every task it launched is healthy.
func (s *Server) TaskHealthy(arn string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tasks[arn]
	if t == nil || t.stoppedBy != "" || t.health == "HEALTHY" {
		return
	}
	now := s.now()
	t.health = "HEALTHY"
	t.outcome.PendingFor = min(t.outcome.PendingFor, now.Sub(t.created))
	s.changed = true
}

// TaskExited records that an essential container of a service task
// exited (or went UNHEALTHY): the task stops with ECS's stop code and
// reason, the scheduler replaces it, and in a gated rollout it counts
// toward the circuit breaker's threshold.
func (s *Server) TaskExited(arn, container string, exitCode int, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tasks[arn]
	if t == nil || t.stoppedBy != "" {
		return
	}
	now := s.now()
	t.outcome.PendingFor = min(t.outcome.PendingFor, now.Sub(t.created))
	t.outcome.RunFor = max(now.Sub(t.created.Add(t.outcome.PendingFor)), 0)
	t.outcome.ExitCode = exitCode
	t.stoppedBy, t.stopCode, t.stoppedAt = "Essential container in task exited", "EssentialContainerExited", now
	if reason != "" {
		t.outcome.ContainerReason = reason
	}
	t.health = "UNHEALTHY"
	s.changed = true
	svc, d := s.serviceOf(t)
	if d == nil || !d.Rollout.Gated || d.RolloutState != "IN_PROGRESS" || d != svc.Deployments[0] {
		return
	}
	d.Failed++
	if !svc.BreakerEnable {
		if d.Failed == unableAfter {
			s.event(svc, now, "(service %s) is unable to consistently start tasks successfully. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.", svc.Name)
		}
		return
	}
	if d.Failed >= breakerThreshold(d.Desired) {
		start := d.LaunchAt
		if start.IsZero() {
			start = d.VisibleAt
		}
		d.Rollout.Fail, d.Rollout.FailedTasks = true, d.Failed
		d.Rollout.Takes = max(now.Sub(start), time.Millisecond)
		d.LaunchTakes = min(d.LaunchTakes, d.Rollout.Takes)
		d.Rollout.StoppedReason = "Essential container in task exited"
	}
}

// breakerThreshold: "The failure threshold is calculated as 50% of the
// desired task count, with a minimum of 3 and a maximum of 200" (the
// deployment circuit breaker, ECS developer guide).
func breakerThreshold(desired int) int {
	return min(max((desired+1)/2, 3), 200)
}

// gatedDone reports whether a gated deployment's launched tasks are all
// healthy; it counts them into d.Running.
func (s *Server) gatedDone(svc *service, d *deployment, now time.Time) bool {
	healthy := 0
	for slot := range launched(svc, d, now) {
		arn, _ := s.slotTask(svc, d, slot)
		if t := s.tasks[arn]; t != nil && t.health == "HEALTHY" {
			healthy++
		}
	}
	d.Running = max(d.Running, min(healthy, d.Desired))
	return healthy >= d.Desired
}

// LogLine is a line a container wrote, with when.
type LogLine struct {
	At      time.Time
	Message string
}

// AppendLogs adds what a task's container really wrote to its awslogs
// stream; the task's streams then carry only real lines.
func (s *Server) AppendLogs(arn, container string, lines []LogLine) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tasks[arn]
	if t == nil || len(lines) == 0 {
		return
	}
	t.realLogs = true
	for _, c := range t.containers {
		if c.Name != container || c.LogGroup == "" {
			continue
		}
		key := streamKey(t, c)
		for _, l := range lines {
			s.logs[key] = append(s.logs[key], logEvent{ts: l.At, msg: l.Message})
		}
		if n := len(s.logs[key]); n > serviceLogKeep {
			s.logs[key] = s.logs[key][n-serviceLogKeep:]
		}
	}
}
