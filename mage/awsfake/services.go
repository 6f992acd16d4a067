package awsfake

import (
	"encoding/json"
	"fmt"
	"os"
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
}

type deployment struct {
	ID, Status, TaskDef, RolloutState, Reason string
	Desired, Running, Failed                  int
	Created                                   time.Time
	Rollout                                   Rollout
}

type service struct {
	Name, Cluster, TaskDef, LaunchType string
	Desired                            int
	Network                            map[string]any
	Breaker                            bool
	Deployments                        []*deployment
	Events                             []event
	Created                            time.Time
}

type event struct {
	ID      string
	At      time.Time
	Message string
}

// OnRollout scripts service rollouts; nil means every rollout succeeds
// after a short while.
func (s *Server) SetRollout(f func(service, taskDefinition string) Rollout) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rollout = f
}

func (s *Server) newDeployment(svc *service, td string, r Rollout) *deployment {
	s.seq++
	return &deployment{ID: fmt.Sprintf("ecs-svc/%019d", s.seq), Status: "PRIMARY", TaskDef: td, RolloutState: "IN_PROGRESS",
		Desired: svc.Desired, Created: s.now(), Rollout: r}
}

func (s *Server) event(svc *service, format string, args ...any) {
	s.seq++
	svc.Events = append([]event{{ID: fmt.Sprint(s.seq), At: s.now(), Message: fmt.Sprintf(format, args...)}}, svc.Events...)
}

// advance moves a service's deployments along the clock.
func (s *Server) advance(svc *service) {
	for {
		if len(svc.Deployments) == 0 {
			return
		}
		d := svc.Deployments[0]
		if d.RolloutState != "IN_PROGRESS" || s.now().Before(d.Created.Add(d.Rollout.Takes)) {
			if d.RolloutState == "IN_PROGRESS" && !d.Rollout.Fail {
				// Tasks come up over the rollout.
				elapsed := s.now().Sub(d.Created)
				d.Running = min(d.Desired, int(float64(d.Desired)*elapsed.Seconds()/max(d.Rollout.Takes.Seconds(), 0.001)))
			}
			return
		}
		done := d.Created.Add(d.Rollout.Takes)
		if !d.Rollout.Fail {
			d.RolloutState, d.Running, d.Reason = "COMPLETED", d.Desired, "ECS deployment "+d.ID+" completed."
			svc.Deployments = svc.Deployments[:1]
			svc.TaskDef = d.TaskDef
			s.event(svc, "(service %s) has reached a steady state.", svc.Name)
			s.event(svc, "(service %s) (deployment %s) deployment completed.", svc.Name, d.ID)
			return
		}
		d.Failed = max(d.Rollout.FailedTasks, 1)
		for i := 0; i < d.Failed; i++ {
			s.stoppedServiceTask(svc, d, done)
		}
		d.RolloutState, d.Reason = "FAILED", "ECS deployment circuit breaker: tasks failed to start."
		s.event(svc, "(service %s) (deployment %s) deployment failed: tasks failed to start.", svc.Name, d.ID)
		if !svc.Breaker || len(svc.Deployments) < 2 {
			return
		}
		prev := svc.Deployments[1]
		s.event(svc, "(service %s) rolling back to deployment %s.", svc.Name, prev.ID)
		back := s.newDeployment(svc, prev.TaskDef, Rollout{})
		back.Created = done
		d.Status = "ACTIVE"
		svc.Deployments = []*deployment{back, d}
		svc.TaskDef = prev.TaskDef
	}
}

// stoppedServiceTask records a task of the deployment that stopped, as
// ListTasks/DescribeTasks show it afterwards.
func (s *Server) stoppedServiceTask(svc *service, d *deployment, at time.Time) {
	td, err := s.lookupTaskDef(d.TaskDef)
	if err != nil {
		return
	}
	s.seq++
	id := fmt.Sprintf("%032x", s.seq)
	t := &task{arn: s.arn("task", svc.Cluster+"/"+id), cluster: s.clusterArn(svc.Cluster), taskDef: td.arn,
		startedBy: d.ID, group: "service:" + svc.Name, launchType: svc.LaunchType, created: at.Add(-time.Second),
		outcome: Outcome{PendingFor: 500 * time.Millisecond, RunFor: 500 * time.Millisecond, ExitCode: 1}}
	if strings.Contains(d.Rollout.StoppedReason, "CannotPull") {
		t.outcome = Outcome{PendingFor: time.Second, FailToStart: d.Rollout.StoppedReason}
	}
	t.containers = td.containers()
	s.tasks[t.arn] = t
}

func (s *Server) serviceDoc(svc *service) map[string]any {
	s.advance(svc)
	deps := []any{}
	running := 0
	for _, d := range svc.Deployments {
		running += d.Running
		deps = append(deps, map[string]any{
			"id": d.ID, "status": d.Status, "taskDefinition": d.TaskDef, "desiredCount": d.Desired,
			"runningCount": d.Running, "pendingCount": 0, "failedTasks": d.Failed, "rolloutState": d.RolloutState,
			"rolloutStateReason": d.Reason, "createdAt": epoch(d.Created), "updatedAt": epoch(s.now()),
			"launchType": svc.LaunchType,
		})
	}
	events := []any{}
	for _, e := range svc.Events {
		events = append(events, map[string]any{"id": e.ID, "createdAt": epoch(e.At), "message": e.Message})
	}
	doc := map[string]any{
		"serviceArn": s.arn("service", svc.Cluster+"/"+svc.Name), "serviceName": svc.Name, "clusterArn": s.clusterArn(svc.Cluster),
		"taskDefinition": svc.TaskDef, "desiredCount": svc.Desired, "runningCount": running, "pendingCount": 0,
		"status": "ACTIVE", "deployments": deps, "events": events, "createdAt": epoch(svc.Created),
		"deploymentConfiguration": map[string]any{"deploymentCircuitBreaker": map[string]any{"enable": svc.Breaker, "rollback": svc.Breaker},
			"maximumPercent": 200, "minimumHealthyPercent": 100},
	}
	if svc.LaunchType != "" {
		doc["launchType"] = svc.LaunchType
	}
	if svc.Network != nil {
		doc["networkConfiguration"] = svc.Network
	}
	return doc
}

func (s *Server) createService(body []byte) (any, error) {
	var in struct {
		Cluster        string         `json:"cluster"`
		Name           string         `json:"serviceName"`
		TaskDefinition string         `json:"taskDefinition"`
		Desired        int            `json:"desiredCount"`
		LaunchType     string         `json:"launchType"`
		Network        map[string]any `json:"networkConfiguration"`
		Deployment     struct {
			Breaker struct {
				Enable   bool `json:"enable"`
				Rollback bool `json:"rollback"`
			} `json:"deploymentCircuitBreaker"`
		} `json:"deploymentConfiguration"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.Name == "" {
		return nil, clientErr("InvalidParameterException", "serviceName can not be blank.")
	}
	key := clusterName(in.Cluster) + "/" + in.Name
	if _, ok := s.services[key]; ok {
		return nil, clientErr("InvalidParameterException", "Creation of service was not idempotent.")
	}
	td, err := s.lookupTaskDef(in.TaskDefinition)
	if err != nil {
		return nil, err
	}
	svc := &service{Name: in.Name, Cluster: clusterName(in.Cluster), TaskDef: td.arn, LaunchType: in.LaunchType, Desired: in.Desired,
		Network: in.Network, Breaker: in.Deployment.Breaker.Enable && in.Deployment.Breaker.Rollback, Created: s.now()}
	d := s.newDeployment(svc, td.arn, Rollout{})
	d.RolloutState, d.Running = "COMPLETED", in.Desired
	svc.Deployments = []*deployment{d}
	s.services[key] = svc
	return map[string]any{"service": s.serviceDoc(svc)}, nil
}

func (s *Server) describeServices(body []byte) (any, error) {
	var in struct {
		Cluster  string   `json:"cluster"`
		Services []string `json:"services"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	out, failures := []any{}, []any{}
	for _, name := range in.Services {
		key := clusterName(in.Cluster) + "/" + name[strings.LastIndexByte(name, '/')+1:]
		if svc, ok := s.services[key]; ok {
			out = append(out, s.serviceDoc(svc))
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
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	svc, ok := s.services[clusterName(in.Cluster)+"/"+in.Service]
	if !ok {
		return nil, clientErr("ServiceNotFoundException", "Service not found.")
	}
	s.advance(svc)
	if in.Desired != nil {
		svc.Desired = *in.Desired
	}
	if in.TaskDefinition != "" || in.Force {
		td := svc.Deployments[0].TaskDef
		if in.TaskDefinition != "" {
			def, err := s.lookupTaskDef(in.TaskDefinition)
			if err != nil {
				return nil, err
			}
			td = def.arn
		}
		if td != svc.Deployments[0].TaskDef || in.Force {
			r := Rollout{Takes: 300 * time.Millisecond}
			if s.rollout != nil {
				r = s.rollout(svc.Name, td)
			}
			for _, d := range svc.Deployments {
				d.Status = "ACTIVE"
			}
			svc.Deployments = append([]*deployment{s.newDeployment(svc, td, r)}, svc.Deployments...)
			svc.TaskDef = td
		}
	}
	return map[string]any{"service": s.serviceDoc(svc)}, nil
}

// savedState is what the sandbox keeps between runs: task definitions and
// services (one-off tasks are not kept).
type savedState struct {
	Seq      int                         `json:"seq"`
	TaskDefs map[string][]map[string]any `json:"taskDefinitions"`
	Services map[string]*service         `json:"services"`
}

// Save writes the double's task definitions and services to path.
func (s *Server) Save(path string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := savedState{Seq: s.seq, TaskDefs: map[string][]map[string]any{}, Services: s.services}
	for fam, revs := range s.taskDefs {
		for _, td := range revs {
			st.TaskDefs[fam] = append(st.TaskDefs[fam], td.doc)
		}
	}
	for _, svc := range s.services {
		s.advance(svc)
	}
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Load restores what Save wrote; a missing file leaves the double empty.
func (s *Server) Load(path string) error {
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	var st savedState
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("read sandbox state %s: %w", path, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq = st.Seq
	for fam, docs := range st.TaskDefs {
		for i, doc := range docs {
			s.taskDefs[fam] = append(s.taskDefs[fam], &taskDefinition{family: fam, revision: i + 1, arn: fmt.Sprint(doc["taskDefinitionArn"]), doc: doc})
		}
	}
	for k, svc := range st.Services {
		s.services[k] = svc
	}
	return nil
}
