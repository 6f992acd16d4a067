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
	"syscall"
	"time"

	"github.com/railsecs/deploykit/mage/atomicfile"
	"github.com/railsecs/deploykit/mage/ecs"
	"github.com/railsecs/deploykit/mage/image"
)

// JournalKey is the deploy journal's key, beside the lock.
const JournalKey = "journal.json"

// Stages a journal records, in order.
const (
	StageLocked    = "locked"    // nothing changed yet
	StageTfvars    = "tfvars"    // tfvars (and schedules) rewritten locally
	StageApplying  = "applying"  // terraform apply running: outcome unknown
	StageApplied   = "applied"   // terraform applied the new tags
	StageMigrating = "migrating" // the migration task is running
)

// Journal is what a running deploy or rollback has changed so far, written
// before its first change and updated at each stage; success removes it.
// A process that dies without cleaning up (SIGKILL, a lost CI machine, a
// second Ctrl-C) leaves it, and the next command repairs from it.
type Journal struct {
	Env         string    `json:"env"`
	Action      string    `json:"action"`
	Holder      string    `json:"holder"`
	Host        string    `json:"host"`
	PID         int       `json:"pid"`
	Commit      string    `json:"commit"`
	Tag         string    `json:"tag"`
	PreviousTag string    `json:"previous_tag,omitempty"`
	Stage       string    `json:"stage"`
	Started     time.Time `json:"started"`
	Updated     time.Time `json:"updated"`
	// The files the run rewrote, as they were before (paths relative to
	// deploy.hcl's directory; the bytes are only meaningful on Host).
	Tfvars           string `json:"tfvars"`
	TfvarsBefore     []byte `json:"tfvars_before,omitempty"`
	Schedules        string `json:"schedules,omitempty"`
	SchedulesBefore  []byte `json:"schedules_before,omitempty"`
	SchedulesExisted bool   `json:"schedules_existed,omitempty"`
	MigrationTask    string `json:"migration_task,omitempty"`
	// Applied: terraform's apply of the new tags completed.
	Applied bool `json:"applied,omitempty"`
}

// journal keeps a run's Journal in the store.
type journal struct {
	store Store
	j     Journal
	out   io.Writer
}

func (j *journal) write(ctx context.Context) {
	j.j.Updated = time.Now().UTC()
	data, _ := json.MarshalIndent(j.j, "", "  ")
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
	defer cancel()
	if err := j.store.Put(wctx, JournalKey, data); err != nil {
		fmt.Fprintf(j.out, "WARNING: deploy journal not written at %s: %v\n", j.store.Where(), err)
	}
}

// stage records progress; nil journals (dry runs) record nothing.
func (j *journal) stage(ctx context.Context, stage string, edit func(*Journal)) {
	if j == nil {
		return
	}
	j.j.Stage = stage
	if edit != nil {
		edit(&j.j)
	}
	j.write(ctx)
}

// done removes the journal: the run ended and said so itself.
func (j *journal) done(ctx context.Context) {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
	defer cancel()
	if err := j.store.Delete(dctx, JournalKey); err != nil && !errors.Is(err, ErrNotFound) {
		fmt.Fprintf(j.out, "WARNING: deploy journal not removed at %s: %v\n", j.store.Where(), err)
	}
}

// ReadJournal returns the journal left in the store, ErrNotFound if none.
func ReadJournal(ctx context.Context, store Store) (*Journal, error) {
	data, err := store.Get(ctx, JournalKey)
	if err != nil {
		return nil, err
	}
	var j Journal
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, fmt.Errorf("the deploy journal at %s is corrupt (%v): remove it with mage lock:release -force", store.Where(), err)
	}
	return &j, nil
}

// processAlive says whether pid runs on this machine.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// Repair finds a journal left by a run that ended without cleaning up and
// puts the world right: the tfvars and schedules are restored when nothing
// was applied, kept when the live services show the apply happened; the
// run is recorded as interrupted; its lock is released. A journal of a
// process still running here is left alone. A journal from another machine
// is repaired only with force (lock:release -force), and that machine's
// files cannot be touched from here. It returns what it did ("" nothing).
func (d *Deployer) Repair(ctx context.Context, force bool) (string, error) {
	j, err := ReadJournal(ctx, d.Store)
	if errors.Is(err, ErrNotFound) {
		return "", nil
	}
	if err != nil {
		if force {
			_ = d.Store.Delete(ctx, JournalKey)
			return "removed a corrupt deploy journal", nil
		}
		return "", err
	}
	host, _ := os.Hostname()
	local := j.Host == host
	switch {
	case local && j.PID == os.Getpid():
		return "", nil
	case local && processAlive(j.PID):
		return "", nil // still running: its lock says so
	case !local && !force:
		return "", fmt.Errorf("%s's %s of %s from %s (pid %d) left a journal at stage %q in %s; if that run is gone, mage lock:release -env=%s -force repairs it",
			j.Holder, j.Action, j.Tag, j.Host, j.PID, j.Stage, d.Store.Where(), d.Env.Name)
	}
	var did []string
	applied := j.Applied
	if j.Stage == StageApplying {
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
	if j.MigrationTask != "" {
		did = append(did, "migration task "+ecs.ShortID(j.MigrationTask)+" had run: migrations it applied stay applied")
	} else if j.Stage == StageMigrating {
		did = append(did, "it was running a migration task: migrations it applied stay applied (mage status and the task list say whether it still runs)")
	}
	rec := Record{Env: j.Env, Action: j.Action, Commit: j.Commit, Tag: j.Tag, Who: j.Holder, From: j.Host, Started: j.Started,
		Duration: j.Updated.Sub(j.Started), Result: "interrupted", Applied: applied, MigrationTask: j.MigrationTask, Previous: j.PreviousTag,
		Error: fmt.Sprintf("process %d on %s ended at stage %q without finishing; repaired by %s", j.PID, j.Host, j.Stage, d.Who)}
	if err := SaveRecord(ctx, d.Store, rec); err != nil {
		return "", fmt.Errorf("record the interrupted %s: %w", j.Action, err)
	}
	did = append(did, "recorded the "+j.Action+" as interrupted")
	if l, err := ReadLock(ctx, d.Store); err == nil && l.Holder == j.Holder {
		if err := d.Store.Delete(ctx, LockKey); err != nil {
			return "", err
		}
		did = append(did, "released its lock")
	}
	if err := d.Store.Delete(ctx, JournalKey); err != nil && !errors.Is(err, ErrNotFound) {
		return "", err
	}
	return fmt.Sprintf("repaired %s's %s of %s (pid %d on %s, stopped at stage %q): %s",
		j.Holder, j.Action, j.Tag, j.PID, j.Host, j.Stage, strings.Join(did, "; ")), nil
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
			if image.TagOf(ci.Image) == tag {
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
