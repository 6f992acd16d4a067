package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Write replaces path with data. An existing file keeps its permission bits;
// a new file gets perm. The data is synced before the rename so a crash
// cannot leave an empty file behind.
//
// A symlink is followed: the file it points to is replaced and the link
// stays a link (renaming over the link would cut it off from its target).
// A file with no write bit is refused rather than silently replaced.
func Write(path string, data []byte, perm fs.FileMode) (err error) {
	if target, linkErr := filepath.EvalSymlinks(path); linkErr == nil {
		path = target
	} else if !errors.Is(linkErr, fs.ErrNotExist) {
		return fmt.Errorf("write %s: %w", path, linkErr)
	}
	if info, statErr := os.Stat(path); statErr == nil {
		perm = info.Mode().Perm()
		if perm&0o222 == 0 {
			return fmt.Errorf("write %s: the file is read-only (mode %04o); make it writable (chmod u+w) if it should change", path, perm)
		}
	} else if !errors.Is(statErr, fs.ErrNotExist) {
		return fmt.Errorf("write %s: %w", path, statErr)
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = tmp.Chmod(perm); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
