package release

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/railsecs/deploykit/mage/atomicfile"
	"github.com/railsecs/deploykit/mage/ledger"
	"github.com/railsecs/deploykit/mage/tfvars"
)

// fileBackup keeps a file's bytes from before a deploy rewrote it, so every
// failure path can put them back. A file that did not exist is removed.
type fileBackup struct {
	path    string
	data    []byte
	existed bool
}

func backupFile(path string) (*fileBackup, error) {
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		return &fileBackup{path: path, data: data, existed: true}, nil
	case errors.Is(err, fs.ErrNotExist):
		return &fileBackup{path: path}, nil
	default:
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
}

// restore puts the old bytes back; nil backups restore nothing.
func (b *fileBackup) restore() error {
	if b == nil {
		return nil
	}
	if !b.existed {
		if err := os.Remove(b.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("restore %s: %w", b.path, err)
		}
		return nil
	}
	if err := atomicfile.Write(b.path, b.data, 0o644); err != nil {
		return fmt.Errorf("restore %s: %w", b.path, err)
	}
	return nil
}

// writeTags sets every configured image tag path in the tfvars to tag.
func (r *run) writeTags(tag string) error {
	d := r.d
	path := d.WS.TfvarsPath()
	backup, err := backupFile(path)
	if err != nil {
		return err
	}
	if !backup.existed {
		return fmt.Errorf("read %s: %w", path, fs.ErrNotExist)
	}
	paths, err := d.Env.TagPaths()
	if err != nil {
		return err
	}
	src := backup.data
	for _, p := range paths {
		var change tfvars.Change
		src, change, err = tfvars.Set(src, path, p.Path, r.pinFor(p.Image, tag).String())
		if err != nil {
			return err
		}
		fmt.Fprintf(d.Out, "%s:%d: %s\n", d.Env.Terraform.Tfvars, change.Line, change)
	}
	r.journal.stage(context.Background(), ledger.StageTfvars, func(j *ledger.Journal) { j.TfvarsBefore = backup.data })
	if err := atomicfile.Write(path, src, 0o644); err != nil {
		return err
	}
	r.tfvars = backup
	return nil
}

// regenerateSchedules rewrites the schedules from schedule.rb so the
// release deploys its own schedule; restored with the tfvars on failure.
func (r *run) regenerateSchedules() error {
	d := r.d
	if d.Config.Cron == nil {
		return nil
	}
	backup, err := backupFile(SchedulesFile(d.Config, d.Env))
	if err != nil {
		return err
	}
	r.schedules = backup
	r.journal.stage(context.Background(), ledger.StageTfvars, func(j *ledger.Journal) {
		j.Schedules, _ = filepath.Rel(d.Config.Dir, backup.path)
		j.SchedulesBefore, j.SchedulesExisted = backup.data, backup.existed
	})
	return GenerateSchedules(d.Config, d.Env, d.Getenv, d.Out, false)
}

// restoreTags puts the schedules and the tfvars back as they were.
func (r *run) restoreTags() error {
	if err := r.schedules.restore(); err != nil {
		return err
	}
	r.schedules = nil
	if err := r.tfvars.restore(); err != nil {
		return err
	}
	r.tfvars = nil
	return nil
}
