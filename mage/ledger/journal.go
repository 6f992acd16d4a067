package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
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
	// MigrationStarted is when RunTask answered with MigrationTask.
	MigrationStarted time.Time `json:"migration_started,omitzero"`
	// Applied: terraform's apply of the new tags completed.
	Applied bool `json:"applied,omitempty"`
	// Hook runs in process group HookGroup (on Host) while it is set.
	Hook      string `json:"hook,omitempty"`
	HookGroup int    `json:"hook_group,omitempty"`
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
