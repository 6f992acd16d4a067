package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Record is one deploy or rollback, kept in the store's history.
type Record struct {
	Env      string            `json:"env"`
	Action   string            `json:"action"` // deploy, rollback
	Commit   string            `json:"commit"`
	Tag      string            `json:"tag"`
	Images   map[string]string `json:"images"` // name -> ref@digest
	Who      string            `json:"who"`
	From     string            `json:"from"` // laptop host or CI job URL
	Started  time.Time         `json:"started"`
	Duration time.Duration     `json:"duration_ns"`
	Result   string            `json:"result"` // succeeded, failed
	Error    string            `json:"error,omitempty"`
	Migrated bool              `json:"migrated"`
	// MigrationTask is the migration task that ran, even one that failed
	// or was interrupted: what it applied stays applied.
	MigrationTask string `json:"migration_task,omitempty"`
	// Applied: terraform applied this release, whatever the rollout did.
	Applied  bool   `json:"applied,omitempty"`
	Previous string `json:"previous_tag,omitempty"`
}

const historyPrefix = "releases/"

// SaveRecord appends a record to the history.
func SaveRecord(ctx context.Context, store Store, r Record) error {
	data, _ := json.MarshalIndent(r, "", "  ")
	key := fmt.Sprintf("%s%s-%s.json", historyPrefix, r.Started.UTC().Format("20060102T150405.000000000Z"), r.Tag)
	return store.Put(ctx, key, data)
}

// History returns the records, newest first.
func History(ctx context.Context, store Store) ([]Record, error) {
	keys, err := store.List(ctx, historyPrefix)
	if err != nil {
		return nil, err
	}
	sort.Sort(sort.Reverse(sort.StringSlice(keys)))
	var out []Record
	for _, k := range keys {
		if !strings.HasSuffix(k, ".json") {
			continue
		}
		data, err := store.Get(ctx, k)
		if err != nil {
			return nil, err
		}
		var r Record
		if err := json.Unmarshal(data, &r); err != nil {
			return nil, fmt.Errorf("read release %s: %w", k, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// LastSucceeded returns the newest successful release, nil if none.
func LastSucceeded(recs []Record) *Record {
	for i := range recs {
		if recs[i].Result == "succeeded" {
			return &recs[i]
		}
	}
	return nil
}
