package release

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsecs "github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/railsecs/deploykit/mage/atomicfile"
	"github.com/railsecs/deploykit/mage/ecs"
	"github.com/railsecs/deploykit/mage/imageref"
	"github.com/railsecs/deploykit/mage/internal/procgroup"
	"github.com/railsecs/deploykit/mage/ledger"
)

// journal keeps a run's Journal in the store.
type journal struct {
	store ledger.Store
	j     ledger.Journal
	out   io.Writer
	left  *leftovers // told each stage
}

func (j *journal) write(ctx context.Context) {
	j.j.Updated = time.Now().UTC()
	data, _ := json.MarshalIndent(j.j, "", "  ")
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
	defer cancel()
	if err := j.store.Put(wctx, ledger.JournalKey, data); err != nil {
		fmt.Fprintf(j.out, "WARNING: deploy journal not written at %s: %v\n", j.store.Where(), err)
	}
}

// journalStage is the stage the journal is at ("" before it exists).
func (r *run) journalStage() string {
	if r.journal == nil {
		return ""
	}
	return r.journal.j.Stage
}

// stage records progress; nil journals (dry runs) record nothing.
func (j *journal) stage(ctx context.Context, stage string, edit func(*ledger.Journal)) {
	if j == nil {
		return
	}
	j.j.Stage = stage
	if edit != nil {
		edit(&j.j)
	}
	j.write(ctx)
	if j.left != nil {
		j.left.set(func(l *leftovers) { l.stage = stage })
	}
}

// done removes the journal: the run ended and said so itself.
func (j *journal) done(ctx context.Context) {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
	defer cancel()
	if err := j.store.Delete(dctx, ledger.JournalKey); err != nil && !errors.Is(err, ledger.ErrNotFound) {
		fmt.Fprintf(j.out, "WARNING: deploy journal not removed at %s: %v\n", j.store.Where(), err)
	}
}

// Repair finds a journal left by a run that ended without cleaning up and
// puts the world right: the tfvars and schedules are restored when nothing
// was applied, kept when the live services show the apply happened; the
// run is recorded as interrupted; its lock is released. A journal of a
// process still running here is left alone. A journal from another machine
// is repaired only with force (lock:release -force), and that machine's
// files cannot be touched from here. It returns what it did ("" nothing).
func (d *Deployer) Repair(ctx context.Context, force bool) (string, error) {
	j, err := ledger.ReadJournal(ctx, d.Store)
	if errors.Is(err, ledger.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		if force {
			_ = d.Store.Delete(ctx, ledger.JournalKey)
			return "removed a corrupt deploy journal", nil
		}
		return "", err
	}
	host, _ := os.Hostname()
	local := j.Host == host
	switch {
	case local && j.PID == os.Getpid():
		return "", nil
	case local && procgroup.ProcessAlive(j.PID):
		return "", nil // still running: its lock says so
	case !local && !force:
		return "", fmt.Errorf("%s's %s of %s from %s (pid %d) left a journal at stage %q in %s; if that run is gone, mage lock:release -env=%s -force repairs it",
			j.Holder, j.Action, j.Tag, j.Host, j.PID, j.Stage, d.Store.Where(), d.Env.Name)
	}
	var did []string
	if j.HookGroup != 0 {
		switch {
		case !local:
			did = append(did, fmt.Sprintf("its hook %s may still run on %s (process group %d)", j.Hook, j.Host, j.HookGroup))
		case procgroup.Stop(j.HookGroup, procgroup.Grace):
			did = append(did, fmt.Sprintf("stopped its hook %s, still running (process group %d)", j.Hook, j.HookGroup))
		}
	}
	running, note, err := d.leftMigration(ctx, j, force)
	if err != nil {
		return "", err
	}
	if running {
		return "", &MigrationRunningError{Note: note}
	}
	if note != "" {
		did = append(did, note)
	}
	applied := j.Applied
	if j.Stage == ledger.StageApplying {
		applied = d.liveRuns(ctx, j.Tag)
		if applied {
			did = append(did, "the live services run "+j.Tag+": the interrupted apply completed")
		} else {
			did = append(did, "the live services do not run "+j.Tag+": the interrupted apply did not complete")
		}
	}
	switch {
	case !local:
		did = append(did, "the tfvars on "+j.Host+" could not be checked from here")
	case applied:
		did = append(did, j.Tfvars+" keeps "+j.Tag+", which terraform applied")
	case j.TfvarsBefore != nil:
		if err := restoreIfChanged(d.Config.Path(j.Tfvars), j.TfvarsBefore, true); err != nil {
			return "", err
		}
		if j.Schedules != "" {
			if err := restoreIfChanged(d.Config.Path(j.Schedules), j.SchedulesBefore, j.SchedulesExisted); err != nil {
				return "", err
			}
		}
		did = append(did, j.Tfvars+" restored to what it was before")
	}
	if j.MigrationTask == "" && j.Stage == ledger.StageMigrating {
		did = append(did, "it was running a migration task: migrations it applied stay applied (mage status and the task list say whether it still runs)")
	}
	rec := ledger.Record{Env: j.Env, Action: j.Action, Commit: j.Commit, Tag: j.Tag, Who: j.Holder, From: j.Host, Started: j.Started,
		Duration: j.Updated.Sub(j.Started), Result: "interrupted", Applied: applied, MigrationTask: j.MigrationTask, Previous: j.PreviousTag,
		Error: fmt.Sprintf("process %d on %s ended at stage %q without finishing; repaired by %s", j.PID, j.Host, j.Stage, d.Who)}
	if err := ledger.SaveRecord(ctx, d.Store, rec); err != nil {
		return "", fmt.Errorf("record the interrupted %s: %w", j.Action, err)
	}
	did = append(did, "recorded the "+j.Action+" as interrupted")
	if l, err := ledger.ReadLock(ctx, d.Store); err == nil && l.Holder == j.Holder {
		if err := d.Store.Delete(ctx, ledger.LockKey); err != nil {
			return "", err
		}
		did = append(did, "released its lock")
	}
	if err := d.Store.Delete(ctx, ledger.JournalKey); err != nil && !errors.Is(err, ledger.ErrNotFound) {
		return "", err
	}
	return fmt.Sprintf("repaired %s's %s of %s (pid %d on %s, stopped at stage %q): %s",
		j.Holder, j.Action, j.Tag, j.PID, j.Host, j.Stage, strings.Join(did, "; ")), nil
}

// MigrationRunningError: an interrupted run's migration task still runs,
// so its lock and journal stay: releasing the lock would let a second
// deploy start a concurrent migration (MySQL has no transactional DDL).
type MigrationRunningError struct{ Note string }

func (e *MigrationRunningError) Error() string { return e.Note }

// notVisibleGrace: a task RunTask just returned can be MISSING from
// DescribeTasks for a while (ECS is eventually consistent).
const notVisibleGrace = time.Minute

// leftMigration looks up the migration task an interrupted run started.
// While it runs, it says so (who started it, since when, how to follow and
// stop it), unless force: then it stops the task and says what it stopped.
func (d *Deployer) leftMigration(ctx context.Context, j *ledger.Journal, force bool) (running bool, note string, err error) {
	if j.MigrationTask == "" {
		return false, "", nil
	}
	id := ecs.ShortID(j.MigrationTask)
	tasks, err := ecs.DescribeTasksBatched(ctx, d.ECS, d.Env.Cluster, []string{j.MigrationTask}, false)
	if err != nil {
		return false, "", fmt.Errorf("look up migration task %s, which %s's interrupted %s started: %w", id, j.Holder, j.Action, err)
	}
	since := j.MigrationStarted
	status := "not visible yet"
	if len(tasks) == 0 {
		if since.IsZero() || time.Since(since) > notVisibleGrace {
			return false, "migration task " + id + " is not known to ECS any more: migrations it applied stay applied", nil
		}
	} else {
		t := tasks[0]
		status = aws.ToString(t.LastStatus)
		if status == "STOPPED" {
			how := "it exited 0"
			if err := ecs.Outcome(t, ""); err != nil {
				how = err.Error()
			}
			return false, "migration task " + id + " has stopped (" + how + "): migrations it applied stay applied", nil
		}
		if since.IsZero() && t.CreatedAt != nil {
			since = *t.CreatedAt
		}
	}
	ago := ""
	if !since.IsZero() {
		ago = fmt.Sprintf(" %s (%s ago)", since.Local().Format(time.RFC3339), time.Since(since).Round(time.Second))
	}
	if !force {
		return true, fmt.Sprintf("migration task %s, started%s by %s's %s of %s (pid %d on %s, which ended at stage %q), is still %s: "+
			"the lock stays held so that no second migration starts beside it. Follow it: mage logs -env=%s; see it: mage status -env=%s; "+
			"stop it and release the lock: mage lock:release -env=%s -force",
			id, ago, j.Holder, j.Action, j.Tag, j.PID, j.Host, j.Stage, status, d.Env.Name, d.Env.Name, d.Env.Name), nil
	}
	reason := fmt.Sprintf("deploykit: lock:release -force by %s (the %s of %s that started it was interrupted)", d.Who, j.Action, j.Tag)
	if _, err := d.ECS.StopTask(ctx, &awsecs.StopTaskInput{Cluster: aws.String(d.Env.Cluster), Task: aws.String(j.MigrationTask), Reason: aws.String(reason)}); err != nil {
		return false, "", fmt.Errorf("stop migration task %s (%s): %w; the lock stays held", id, status, err)
	}
	if ago != "" {
		ago = ", started" + ago
	}
	return false, fmt.Sprintf("stopped migration task %s (%s%s): migrations it applied stay applied", id, status, ago), nil
}

// liveRuns reports whether every service's newest deployment runs tag.
func (d *Deployer) liveRuns(ctx context.Context, tag string) bool {
	states, err := ecs.ServiceStates(ctx, d.ECS, d.Env.Cluster, d.Env.ServiceNames())
	if err != nil || len(states) == 0 {
		return false
	}
	for _, s := range states {
		runs := false
		for _, ci := range s.Images {
			if imageref.TagOf(ci.Image) == tag {
				runs = true
			}
		}
		if !runs {
			return false
		}
	}
	return true
}

func restoreIfChanged(path string, before []byte, existed bool) error {
	if !existed {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	if now, err := os.ReadFile(path); err == nil && bytes.Equal(now, before) {
		return nil
	}
	return atomicfile.Write(path, before, 0o644)
}

// leftovers is what a run holds right now, for a report from another
// goroutine when the process is about to be stopped mid-cleanup.
type leftovers struct {
	mu    sync.Mutex
	lock  string // holder, while the lock is held
	stage string // the journal's stage, while it exists
}

func (l *leftovers) set(edit func(*leftovers)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	edit(l)
}

// Leftovers says what the running deploy, rollback or promotion would
// leave if the process ended now ("" nothing): the lock and the journal,
// and that the next command repairs from them. A target prints it when
// its cleanup after Ctrl-C runs out of the time mage gives it.
func (d *Deployer) Leftovers() string {
	d.left.mu.Lock()
	lock, stage := d.left.lock, d.left.stage
	d.left.mu.Unlock()
	var left []string
	if lock != "" {
		left = append(left, fmt.Sprintf("the lock of %s (held by %s)", d.Env.Name, lock))
	}
	if stage != "" {
		left = append(left, fmt.Sprintf("the deploy journal at stage %q", stage))
	}
	if len(left) == 0 {
		return ""
	}
	return fmt.Sprintf("%s in %s; the next mage command for %s repairs from them (or: mage lock:release -env=%s -force)",
		strings.Join(left, " and "), d.Store.Where(), d.Env.Name, d.Env.Name)
}
