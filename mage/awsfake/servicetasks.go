package awsfake

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"
)

// A service's running tasks are real tasks in the double: ListTasks,
// DescribeTasks, the logs and ExecuteCommand see them. They are derived
// from the deployments' running counts whenever tasks are read, with IDs
// that depend only on the deployment, so a sandbox reloaded from its saved
// state shows the same tasks.

// syncServiceTasks brings every service's tasks in line with its
// deployments.
func (s *Server) syncServiceTasks() {
	live := map[string]bool{}
	for _, svc := range s.services {
		s.advance(svc)
		s.startTasks(svc, live)
	}
	// One pass over the tasks, on every call the double serves: a service
	// task whose slot is gone (scaled in, its deployment replaced) stops,
	// as the service scheduler stops it.
	now := s.now()
	for arn, t := range s.tasks {
		if t.service != "" && !live[arn] && t.stoppedBy == "" {
			t.stoppedBy, t.stopCode, t.stoppedAt = "Scaling activity initiated by (deployment "+t.startedBy+")", "ServiceSchedulerInitiated", now
		}
	}
}

func serviceTaskID(deploymentID string, slot, generation int) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s/%d/%d", deploymentID, slot, generation))
	return hex.EncodeToString(sum[:16])
}

// slotTask is the ARN of the slot's current task (a stopped one is
// replaced by a new generation) and its generation.
func (s *Server) slotTask(svc *service, d *deployment, slot int) (arn string, gen int) {
	arn = s.arn("task", svc.Cluster+"/"+serviceTaskID(d.ID, slot, gen))
	for s.tasks[arn] != nil && s.tasks[arn].stoppedBy != "" {
		gen++
		arn = s.arn("task", svc.Cluster+"/"+serviceTaskID(d.ID, slot, gen))
	}
	return arn, gen
}

func (s *Server) slotTaskID(svc *service, d *deployment, slot int) string {
	arn, _ := s.slotTask(svc, d, slot)
	return taskID(arn)
}

// launched is how many of the deployment's slots have a task: the PRIMARY
// deployment's whole desired count once its launch began (the tasks not
// yet RUNNING are PENDING), the others' running ones.
func launched(svc *service, d *deployment, now time.Time) int {
	primary := d == svc.Deployments[0]
	healthy := d.RolloutState == "COMPLETED" || d.RolloutState == "IN_PROGRESS" && !d.Rollout.Fail
	if primary && d.RolloutState == "IN_PROGRESS" && d.Waves > 0 {
		return d.Running + d.WavePending // a bounded rollout launches wave by wave
	}
	if primary && healthy && !d.LaunchAt.IsZero() && !now.Before(d.LaunchAt) {
		return max(d.Desired, d.Running)
	}
	return d.Running
}

// startTasks starts a task for each launched slot of each deployment of
// the service, and adds every slot's task to live.
func (s *Server) startTasks(svc *service, live map[string]bool) {
	key := svc.Cluster + "/" + svc.Name
	now := s.now()
	for _, d := range svc.Deployments {
		n := launched(svc, d, now)
		if n == 0 {
			continue
		}
		td, err := s.lookupTaskDef(d.TaskDef)
		if err != nil {
			continue
		}
		for slot := range n {
			arn, gen := s.slotTask(svc, d, slot)
			live[arn] = true
			if s.tasks[arn] != nil {
				continue
			}
			// A launched slot's task is PROVISIONING/PENDING until its
			// turn to run; a replacement (or a slot from before launches
			// were recorded) starts now.
			created, pending := now.Add(-s.timing.TaskVisible), time.Duration(0)
			switch {
			case gen == 0 && d.Waves > 0:
				// A bounded rollout: the slot is launched with its wave and
				// runs at the wave's end.
				k := waveOf(waves(d.Desired, d.OldAtLaunch, svc.maxPercent(), svc.minHealthyPercent()), slot)
				step := max(d.Rollout.Takes, time.Millisecond)
				created, pending = d.LaunchAt.Add(step*time.Duration(k)), step
			case gen > 0 && d.Rollout.Gated && d.RolloutState == "IN_PROGRESS":
				// A replacement in a gated rollout: pending until a runtime
				// reports it healthy.
				created, pending = now, d.Rollout.Takes
			case gen == 0 && slot >= d.LaunchFrom && !d.LaunchAt.IsZero():
				created = d.LaunchAt
				pending = slotRunsAt(d, slot).Sub(created)
			}
			s.tasks[arn] = &task{arn: arn, cluster: s.arn("cluster", svc.Cluster), taskDef: td.arn,
				startedBy: d.ID, group: "service:" + svc.Name, launchType: svc.LaunchType,
				created: created, containers: td.containers(),
				outcome: Outcome{PendingFor: pending, RunFor: 100 * 365 * 24 * time.Hour}, service: key, execEnabled: d.ExecEnabled}
		}
	}
}

// serviceLogKeep bounds the lines a long-running task keeps per stream
// (a sandbox reloaded days later would otherwise write days of lines).
const serviceLogKeep = 500

// emitServiceLogs writes the lines a service task's containers have
// logged by now: each container with the awslogs driver a line every
// Timing.ServiceLogEvery, as a web server answering health checks would.
func (s *Server) emitServiceLogs(t *task, now, startAt, stopAt time.Time) {
	if t.realLogs {
		return // a runtime writes what the containers really said
	}
	if t.serviceLogs == nil {
		t.serviceLogs = map[string]int{}
	}
	end := now
	if stopAt.Before(end) {
		end = stopAt
	}
	every := max(s.timing.ServiceLogEvery, time.Millisecond)
	due := int(end.Sub(startAt) / every)
	for _, c := range t.containers {
		if c.LogGroup == "" {
			continue
		}
		key := streamKey(t, c)
		if s.logs[key] == nil {
			s.logs[key] = []logEvent{}
		}
		n := max(t.serviceLogs[c.Name], due-serviceLogKeep)
		for ; n < due; n++ {
			at := startAt.Add(time.Duration(n+1) * every)
			s.logs[key] = append(s.logs[key], logEvent{ts: at, msg: fmt.Sprintf("%s: GET /up 200 (health check %d)", c.Name, n+1)})
		}
		t.serviceLogs[c.Name] = n
	}
}

// waveOf is the index of the wave that launches slot.
func waveOf(plan []wave, slot int) int {
	for k, w := range plan {
		if slot < w.newRunning {
			return k
		}
	}
	return max(len(plan)-1, 0)
}
