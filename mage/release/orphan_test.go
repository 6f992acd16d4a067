package release

import (
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsecs "github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/railsecs/deploykit/mage/awsfake"
	"github.com/railsecs/deploykit/mage/ecs"
	"github.com/railsecs/deploykit/mage/ledger"
)

// deadPID is the PID of a process that has ended (and been reaped).
func deadPID(t *testing.T) int {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

// A deploy killed (SIGKILL, a lost CI machine) while its migration runs
// leaves the migration task running on ECS. The journal names the task as
// soon as RunTask answers; the next command's repair finds it running and
// keeps the lock, saying who started it, since when and how to stop it;
// lock:release -force stops it and says so.
func TestMigrationOutlivingAKilledDeployKeepsTheLock(t *testing.T) {
	s := newSandbox(t)
	ctx := context.Background()
	if _, err := s.d.Deploy(ctx, Options{Timeout: time.Minute}); err != nil {
		t.Fatalf("first deploy: %v\n%s", err, s.out)
	}
	s.commit(t, "examples/sandbox-app/db/migrate/20261121000000_slow.rb", "class Slow < ActiveRecord::Migration[6.1]; end\n")
	s.fake.Outcome = func(awsfake.RunRequest) awsfake.Outcome {
		return awsfake.Outcome{PendingFor: 50 * time.Millisecond, RunFor: time.Hour, Logs: []string{"== Slow: migrating"}}
	}

	// The journal names the task while it still runs, before any wait.
	s.out.Reset()
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { _, err := s.d.Deploy(cctx, Options{Timeout: time.Minute}); done <- err }()
	var left ledger.Journal
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if j, err := ledger.ReadJournal(ctx, s.store); err == nil && j.MigrationTask != "" {
			left = *j
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("the journal never named the running migration task:\n%s", s.out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	lock, err := ledger.ReadLock(ctx, s.store)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	<-done
	if left.Stage != ledger.StageMigrating || left.MigrationStarted.IsZero() {
		t.Errorf("journal while migrating: %+v", left)
	}

	// What SIGKILL leaves: the lock, the journal of a process that is gone,
	// and the migration task running on ECS.
	run, err := s.ecs.RunTask(ctx, &awsecs.RunTaskInput{Cluster: aws.String("shop-sandbox"), TaskDefinition: aws.String("shop-sandbox-migrate"), StartedBy: aws.String(ecs.MigrateMarker),
		LaunchType: "FARGATE", NetworkConfiguration: ecs.NetworkOf([]string{"subnet-sandbox"}, nil, false)})
	if err != nil || len(run.Tasks) != 1 {
		t.Fatalf("RunTask: %v", err)
	}
	left.MigrationTask, left.MigrationStarted = aws.ToString(run.Tasks[0].TaskArn), time.Now().UTC()
	// ECS is eventually consistent: wait until the task shows, as it long
	// has by the time anyone repairs a killed deploy.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if live, err := ecs.LiveTasks(ctx, s.ecs, "shop-sandbox", ecs.MigrateMarker); err == nil && len(live) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the migration task never showed in ListTasks")
		}
	}
	left.PID = deadPID(t)
	journalData, _ := json.Marshal(left)
	lockData, _ := json.Marshal(lock)
	if err := s.store.Put(ctx, ledger.JournalKey, journalData); err != nil {
		t.Fatal(err)
	}
	if err := s.store.Put(ctx, ledger.LockKey, lockData); err != nil {
		t.Fatal(err)
	}

	did, err := s.d.Repair(ctx, false)
	var running *MigrationRunningError
	if !errors.As(err, &running) || did != "" {
		t.Fatalf("repair while the migration runs = %q, %v", did, err)
	}
	id := ecs.ShortID(left.MigrationTask)
	for _, want := range []string{"migration task " + id, "alice@laptop's deploy of " + left.Tag, "ago)", "lock stays held", "mage lock:release -env=sandbox -force", "mage logs -env=sandbox"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("repair's message lacks %q: %v", want, err)
		}
	}
	if _, err := ledger.ReadLock(ctx, s.store); err != nil {
		t.Errorf("the lock was released while the migration runs: %v", err)
	}
	if _, err := ledger.ReadJournal(ctx, s.store); err != nil {
		t.Errorf("the journal was removed while the migration runs: %v", err)
	}
	if _, err := s.d.Deploy(ctx, Options{Timeout: time.Minute}); err == nil || !strings.Contains(err.Error(), "is locked") {
		t.Errorf("a second deploy beside the running migration = %v", err)
	}
	live, err := ecs.LiveTasks(ctx, s.ecs, "shop-sandbox", ecs.MigrateMarker)
	if err != nil || len(live) != 1 || live[0].TaskArn != left.MigrationTask {
		t.Errorf("live migrations = %+v, %v", live, err)
	}

	s.d.Who = "bob@laptop"
	did, err = s.d.Repair(ctx, true)
	if err != nil || !strings.Contains(did, "stopped migration task "+id) || !strings.Contains(did, "released its lock") {
		t.Fatalf("lock:release -force's repair = %q, %v", did, err)
	}
	desc, err := s.ecs.DescribeTasks(ctx, &awsecs.DescribeTasksInput{Cluster: aws.String("shop-sandbox"), Tasks: []string{left.MigrationTask}})
	if err != nil || len(desc.Tasks) != 1 || aws.ToString(desc.Tasks[0].DesiredStatus) != "STOPPED" || !strings.Contains(aws.ToString(desc.Tasks[0].StoppedReason), "lock:release -force by bob@laptop") {
		t.Errorf("the migration task after -force: %+v, %v", desc, err)
	}
	if _, err := ledger.ReadLock(ctx, s.store); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("lock after -force: %v", err)
	}
	if recs, _ := ledger.History(ctx, s.store); len(recs) == 0 || recs[0].Result != "interrupted" || recs[0].MigrationTask != left.MigrationTask {
		t.Errorf("the killed deploy's record: %+v", recs)
	}
}
