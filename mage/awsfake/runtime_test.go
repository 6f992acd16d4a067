package awsfake

import (
	"path/filepath"
	"testing"
	"time"
)

// wantedTasks lists the service's wanted tasks of deployment id (all
// deployments when id is empty), as a runtime sees them.
func wantedTasks(f *Server, id string) []ServiceTask {
	var out []ServiceTask
	for _, t := range f.ServiceTasks() {
		if t.Wanted && (id == "" || t.Deployment == id) {
			out = append(out, t)
		}
	}
	return out
}

func gated(string, string) Rollout { return Rollout{Takes: 10 * time.Minute, Gated: true} }

// With a runtime running the tasks, a rollout completes when its tasks
// are reported healthy, not on a clock: they stay PENDING until then.
func TestAGatedRolloutCompletesWhenItsTasksAreHealthy(t *testing.T) {
	c := newClient(t)
	c.seed()
	c.fake.SetRollout(gated)
	c.createWeb(2, breaker(true, true))
	c.advance(time.Minute)
	first := rows(c.service("web"))[0]
	if first.Rollout != "IN_PROGRESS" || first.Pending != 2 {
		t.Fatalf("a minute in, unreported: %+v, want IN_PROGRESS with 2 pending", first)
	}
	tasks := wantedTasks(c.fake, first.ID)
	if len(tasks) != 2 || tasks[0].Containers[0].Image != "app:1" || tasks[0].TrafficShare != -1 {
		t.Fatalf("the runtime sees %+v, want 2 tasks of app:1 sharing traffic equally", tasks)
	}
	c.fake.TaskHealthy(tasks[0].ARN)
	c.advance(TestTiming.StopPhase)
	if r := rows(c.service("web"))[0]; r.Rollout != "IN_PROGRESS" || r.Running != 1 {
		t.Fatalf("one healthy task: %+v, want IN_PROGRESS, 1 running", r)
	}
	c.fake.TaskHealthy(tasks[1].ARN)
	c.advance(TestTiming.StopPhase)
	if r := rows(c.service("web"))[0]; r.Rollout != "COMPLETED" || r.Running != 2 {
		t.Fatalf("both healthy: %+v, want COMPLETED with 2 running", r)
	}
	if n := len(c.runningTasks("web")); n != 2 {
		t.Fatalf("%d RUNNING tasks, want 2", n)
	}
	// The next command's double, loaded from the saved state, sees them
	// RUNNING too.
	saved := filepath.Join(t.TempDir(), "state.json")
	if err := c.fake.Save(saved); err != nil {
		t.Fatal(err)
	}
	next := newClient(t)
	next.now = c.now
	if err := next.fake.Load(saved); err != nil {
		t.Fatal(err)
	}
	if n := len(next.runningTasks("web")); n != 2 {
		t.Fatalf("after a reload %d RUNNING tasks, want 2", n)
	}
	// The next rollout: the old tasks stay wanted until the new ones are
	// healthy, then the scheduler stops them.
	c.ok("UpdateService", `{"cluster":"shop","service":"web","taskDefinition":"shop-web:2"}`)
	c.advance(time.Minute)
	second := rows(c.service("web"))[0]
	if len(wantedTasks(c.fake, first.ID)) != 2 || len(wantedTasks(c.fake, second.ID)) != 2 {
		t.Fatalf("mid-rollout: old %d, new %d wanted tasks; want 2 and 2", len(wantedTasks(c.fake, first.ID)), len(wantedTasks(c.fake, second.ID)))
	}
	for _, nt := range wantedTasks(c.fake, second.ID) {
		c.fake.TaskHealthy(nt.ARN)
	}
	c.advance(TestTiming.StopPhase)
	if r := rows(c.service("web")); len(r) != 1 || r[0].ID != second.ID || r[0].Rollout != "COMPLETED" {
		t.Fatalf("after the new tasks are healthy: %+v", r)
	}
	if n := len(wantedTasks(c.fake, first.ID)); n != 0 {
		t.Fatalf("%d old tasks still wanted after the rollout", n)
	}
}

// Tasks that really crash trip the breaker at its threshold (3 for a
// desired count of 2): each failed task is replaced, the deployment goes
// FAILED, and the old deployment comes back with its tasks.
func TestRealCrashesTripTheBreaker(t *testing.T) {
	c := newClient(t)
	c.seed()
	c.fake.SetRollout(gated)
	c.createWeb(2, breaker(true, true))
	c.advance(time.Second)
	first := rows(c.service("web"))[0]
	for _, ft := range wantedTasks(c.fake, first.ID) {
		c.fake.TaskHealthy(ft.ARN)
	}
	c.advance(TestTiming.StopPhase)
	c.ok("UpdateService", `{"cluster":"shop","service":"web","taskDefinition":"shop-web:2"}`)
	c.advance(time.Second)
	second := rows(c.service("web"))[0].ID
	crashed := map[string]bool{}
	for i := range 3 {
		nt := wantedTasks(c.fake, second)
		if len(nt) == 0 {
			t.Fatalf("crash %d: no task of the new deployment to crash", i+1)
		}
		if crashed[nt[0].ARN] {
			t.Fatalf("crash %d: %s crashed already and was not replaced", i+1, nt[0].ARN)
		}
		crashed[nt[0].ARN] = true
		c.fake.TaskExited(nt[0].ARN, "web", 1, "")
		c.advance(TestTiming.StopPhase)
	}
	c.advance(TestTiming.RollbackAfter + 2*TestTiming.Rollout)
	r := rows(c.service("web"))
	if len(r) != 1 || r[0].ID != first.ID || r[0].Rollout != "COMPLETED" {
		t.Fatalf("after 3 crashes: %+v, want the first deployment back and COMPLETED", r)
	}
	if n := len(wantedTasks(c.fake, first.ID)); n != 2 {
		t.Fatalf("%d old tasks wanted after the rollback, want 2", n)
	}
	for arn := range crashed {
		task := c.ok("DescribeTasks", `{"cluster":"shop","tasks":["`+arn+`"]}`)["tasks"].([]any)[0].(map[string]any)
		if task["stopCode"] != "EssentialContainerExited" || task["containers"].([]any)[0].(map[string]any)["exitCode"] != float64(1) {
			t.Fatalf("crashed task: stopCode %v, containers %v", task["stopCode"], task["containers"])
		}
	}
}
