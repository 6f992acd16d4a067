package awsfake

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/railsecs/deploykit/mage/atomicfile"
	"github.com/railsecs/deploykit/mage/internal/procgroup"
)

// The sandbox's double keeps its state in a file between commands, as AWS
// keeps what it accepted whatever happens to the process that asked.

// savedState is what the sandbox keeps between runs: clusters, log
// groups, task definitions, services and one-off tasks.
type savedState struct {
	Seq       int                         `json:"seq"`
	Clusters  map[string]time.Time        `json:"clusters"`
	LogGroups map[string]time.Time        `json:"logGroups"`
	TaskDefs  map[string][]map[string]any `json:"taskDefinitions"`
	Services  map[string]*service         `json:"services"`
	Tasks     []savedTask                 `json:"tasks,omitempty"`
}

// savedTagsKey carries a task definition's tags inside its saved document.
const savedTagsKey = "deploykit:tags"

// Save writes the double's state to path.
func (s *Server) Save(path string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.saveLocked(path)
}

func (s *Server) saveLocked(path string) error {
	st := savedState{Seq: s.seq, Clusters: s.clusters, LogGroups: s.logGroups, TaskDefs: map[string][]map[string]any{}, Services: s.services}
	for fam, revs := range s.taskDefs {
		for _, td := range revs {
			doc := map[string]any{}
			for k, v := range td.doc {
				doc[k] = v
			}
			if len(td.tags) > 0 {
				doc[savedTagsKey] = td.tags
			}
			st.TaskDefs[fam] = append(st.TaskDefs[fam], doc)
		}
	}
	for _, svc := range s.services {
		s.advance(svc)
	}
	st.Tasks = s.savedTasks()
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, data, 0o644)
}

// Reload replaces the double's clusters, log groups, task definitions and
// services with what path holds (what another process saved meanwhile).
func (s *Server) Reload(path string) error {
	s.mu.Lock()
	s.clusters, s.logGroups = map[string]time.Time{}, map[string]time.Time{}
	s.taskDefs, s.services = map[string][]*taskDefinition{}, map[string]*service{}
	s.changed = false
	s.mu.Unlock()
	return s.Load(path)
}

// Load restores what Save wrote; a missing file leaves the double empty.
// States saved before clusters and log groups were modelled get the
// clusters their services are in.
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
	for name, at := range st.Clusters {
		s.clusters[name] = at
	}
	for name, at := range st.LogGroups {
		s.logGroups[name] = at
	}
	for fam, docs := range st.TaskDefs {
		for i, doc := range docs {
			td := &taskDefinition{family: fam, revision: i + 1, arn: fmt.Sprint(doc["taskDefinitionArn"]), doc: doc}
			if tags, ok := doc[savedTagsKey].([]any); ok {
				td.tags = tags
				delete(doc, savedTagsKey)
			}
			s.taskDefs[fam] = append(s.taskDefs[fam], td)
		}
	}
	for k, svc := range st.Services {
		if svc.Breaker {
			svc.BreakerEnable, svc.BreakerRollback, svc.Breaker = true, true, false
		}
		for _, d := range svc.Deployments {
			if d.VisibleAt.IsZero() {
				d.VisibleAt = d.Created
			}
			if d.LaunchAt.IsZero() && d.RolloutState == "IN_PROGRESS" {
				d.LaunchAt, d.LaunchTakes = d.VisibleAt, d.Rollout.Takes // saved before launches were
			}
		}
		if _, ok := s.clusters[svc.Cluster]; !ok && st.Clusters == nil {
			s.clusters[svc.Cluster] = svc.Created
		}
		s.services[k] = svc
	}
	s.loadTasks(st.Tasks)
	return nil
}

// savedTask is a one-off task as the next process needs it: what it runs,
// its timeline so far, and which process runs it when it really runs
// (the sandbox's Exec), since a task cannot outlive that process here.
type savedTask struct {
	Arn, Cluster, TaskDef, StartedBy, Group, LaunchType string
	Containers                                          []container
	Overrides                                           map[string]any `json:",omitempty"`
	Tags                                                []any          `json:",omitempty"`
	Created                                             time.Time
	PendingFor, RunFor                                  time.Duration
	ExitCode                                            int
	FailToStart, ContainerReason                        string `json:",omitempty"`
	StoppedBy, StopCode                                 string `json:",omitempty"`
	StoppedAt                                           time.Time
	// Exec: the task really ran in RunnerPID on RunnerHost; ExecDone with
	// ExecEnd and ExecExit once it ended.
	Exec       bool   `json:",omitempty"`
	RunnerPID  int    `json:",omitempty"`
	RunnerHost string `json:",omitempty"`
	ExecDone   bool   `json:",omitempty"`
	ExecEnd    time.Time
	ExecExit   int
	Orphaned   string `json:",omitempty"`
}

// keptTasks: the saved one-off tasks, newest last; older ones are dropped
// as ECS drops stopped tasks from its answers after a while.
const keptTasks = 200

func (s *Server) savedTasks() []savedTask {
	host, _ := os.Hostname()
	var out []savedTask
	for _, t := range s.tasks {
		if t.service != "" {
			continue // services' tasks follow from the services
		}
		o := t.outcome
		st := savedTask{
			Arn: t.arn, Cluster: t.cluster, TaskDef: t.taskDef, StartedBy: t.startedBy, Group: t.group, LaunchType: t.launchType,
			Containers: t.containers, Overrides: t.overrides, Tags: t.tags, Created: t.created,
			PendingFor: o.PendingFor, RunFor: o.RunFor, ExitCode: o.ExitCode, FailToStart: o.FailToStart, ContainerReason: o.ContainerReason,
			StoppedBy: t.stoppedBy, StopCode: t.stopCode, StoppedAt: t.stoppedAt,
			Exec: o.Exec != nil || t.runnerPID != 0, ExecDone: t.execDone, ExecEnd: t.execEnd, ExecExit: t.execExit, Orphaned: t.orphaned,
			RunnerPID: t.runnerPID, RunnerHost: t.runnerHost,
		}
		if o.Exec != nil {
			st.RunnerPID, st.RunnerHost = os.Getpid(), host
		}
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b savedTask) int { return a.Created.Compare(b.Created) })
	if len(out) > keptTasks {
		out = out[len(out)-keptTasks:]
	}
	return out
}

// loadTasks adds the saved one-off tasks this process does not know. A
// task that really ran in another process which has ended is reported
// STOPPED, its essential container killed (exit 137) with a reason that
// says why: it can never be left looking like a working task.
func (s *Server) loadTasks(saved []savedTask) {
	host, _ := os.Hostname()
	for _, st := range saved {
		if _, ok := s.tasks[st.Arn]; ok {
			continue
		}
		t := &task{
			arn: st.Arn, cluster: st.Cluster, taskDef: st.TaskDef, startedBy: st.StartedBy, group: st.Group, launchType: st.LaunchType,
			containers: st.Containers, overrides: st.Overrides, tags: st.Tags, created: st.Created,
			outcome:   Outcome{PendingFor: st.PendingFor, RunFor: st.RunFor, ExitCode: st.ExitCode, FailToStart: st.FailToStart, ContainerReason: st.ContainerReason},
			stoppedBy: st.StoppedBy, stopCode: st.StopCode, stoppedAt: st.StoppedAt,
			execDone: st.ExecDone, execEnd: st.ExecEnd, execExit: st.ExecExit, orphaned: st.Orphaned,
			runnerPID: st.RunnerPID, runnerHost: st.RunnerHost,
		}
		if st.Exec && !st.ExecDone {
			switch {
			case st.RunnerHost == host && !procgroup.ProcessAlive(st.RunnerPID):
				t.execDone, t.execEnd, t.execExit = true, s.now(), 137
				t.orphaned = fmt.Sprintf("sandbox: the process that ran this task (pid %d) ended, and the task with it (killed)", st.RunnerPID)
			default:
				// Still running in another process (or on another host):
				// RUNNING until that process saves its end.
				t.outcome.RunFor = 100 * 365 * 24 * time.Hour
			}
		}
		s.tasks[t.arn] = t
	}
}
