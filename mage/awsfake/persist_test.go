package awsfake

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A one-off task is part of the saved state: the next sandbox command sees
// it. One that really ran in a process that has since ended is STOPPED,
// killed, with the reason on its essential container; one still running in
// a live process stays RUNNING; one that ended is STOPPED with its exit.
func TestOneOffTasksOutliveTheProcessThatSavedThem(t *testing.T) {
	state := filepath.Join(t.TempDir(), "aws-double.json")
	c := newClient(t)
	c.fake.PersistTo(state)
	release := make(chan struct{})
	c.fake.Outcome = func(req RunRequest) Outcome {
		return Outcome{Exec: func(ctx context.Context, log func(string)) int {
			log("== Slow: migrating")
			select {
			case <-release:
				return 3
			case <-ctx.Done():
				return 143
			}
		}}
	}
	c.seed()
	running := c.runTask(`,"startedBy":"deploykit-migrate"`)
	ended := c.runTask("")
	c.advance(time.Second)

	// Another process reads the state while this one still runs both tasks.
	reader := func(edit func(*savedState)) *client {
		t.Helper()
		data, err := os.ReadFile(state)
		if err != nil {
			t.Fatal(err)
		}
		var st savedState
		if err := json.Unmarshal(data, &st); err != nil {
			t.Fatal(err)
		}
		if edit != nil {
			edit(&st)
		}
		data, _ = json.Marshal(st)
		path := filepath.Join(t.TempDir(), "state.json")
		os.WriteFile(path, data, 0o644)
		r := newClient(t)
		r.now = c.now
		if err := r.fake.Load(path); err != nil {
			t.Fatal(err)
		}
		r.advance(time.Second)
		return r
	}
	if task, _ := reader(nil).describe(running, ""); task == nil || task["lastStatus"] != "RUNNING" {
		t.Errorf("a task running in a live process, read by another: %v", task)
	}

	// The process that ran it is gone (SIGKILL): reported STOPPED, killed.
	dead := exec.Command("true")
	dead.Run()
	orphans := reader(func(st *savedState) {
		for i := range st.Tasks {
			st.Tasks[i].RunnerPID = dead.Process.Pid
		}
	})
	orphans.advance(time.Minute)
	task, _ := orphans.describe(running, "")
	if task == nil || task["lastStatus"] != "STOPPED" || task["stopCode"] != "EssentialContainerExited" {
		t.Fatalf("a task whose process died: %v", task)
	}
	container := task["containers"].([]any)[0].(map[string]any)
	if container["exitCode"] != float64(137) || !strings.Contains(container["reason"].(string), "ended, and the task with it") {
		t.Errorf("the killed task's container: %v", container)
	}
	list := orphans.ok("ListTasks", `{"cluster":"shop","startedBy":"deploykit-migrate"}`)
	if arns := list["taskArns"].([]any); len(arns) != 0 {
		t.Errorf("ListTasks (desired RUNNING) still lists the dead task: %v", arns)
	}

	// A task that ended is saved with its exit, the moment it ends.
	close(release)
	deadline := time.Now().Add(5 * time.Second)
	for {
		task, _ := reader(nil).describe(ended, "")
		c.advance(time.Minute)
		if task != nil && task["lastStatus"] == "STOPPED" {
			if code := task["containers"].([]any)[0].(map[string]any)["exitCode"]; code != float64(3) {
				t.Errorf("a finished task's exit code after reload: %v", code)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the finished task never read as STOPPED from the saved state: %v", task)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
