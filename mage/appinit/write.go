package appinit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pmezard/go-difflib/difflib"

	"github.com/railsecs/deploykit/mage/atomicfile"
)

// ErrDiffers is returned when a file init would write already holds
// something else and overwriting was not asked for.
var ErrDiffers = errors.New("files differ from what init writes")

// Write writes files under root: a missing file is created, an equal one
// left alone, and one that differs is shown as a diff and left alone
// unless overwrite is set. A seed file is only ever created. With any difference left, nothing at all is
// written and ErrDiffers says so, so a run never half-applies.
func Write(root string, files []File, overwrite bool, out io.Writer) error {
	var create, replace []File
	var differing []string
	for _, f := range files {
		target := filepath.Join(root, filepath.FromSlash(f.Path))
		old, err := os.ReadFile(target)
		switch {
		case errors.Is(err, os.ErrNotExist):
			create = append(create, f)
		case err != nil:
			return fmt.Errorf("read %s: %w", target, err)
		case f.Seed || bytes.Equal(old, f.Content):
			// already what init writes
		default:
			differing = append(differing, f.Path)
			replace = append(replace, f)
			if !overwrite {
				if err := showDiff(out, f.Path, old, f.Content); err != nil {
					return err
				}
			}
		}
	}
	if len(differing) > 0 && !overwrite {
		return fmt.Errorf("%w: %s (the diffs above; nothing was written: keep yours, or run init -force to take init's)", ErrDiffers, strings.Join(differing, ", "))
	}
	for _, f := range append(create, replace...) {
		target := filepath.Join(root, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		if err := atomicfile.Write(target, f.Content, f.Mode); err != nil {
			return fmt.Errorf("write %s: %w", target, err)
		}
		verb := "created"
		if slices.Contains(differing, f.Path) {
			verb = "overwrote"
		}
		fmt.Fprintf(out, "%s %s\n", verb, f.Path)
	}
	if len(create)+len(replace) == 0 {
		fmt.Fprintln(out, "nothing to do: every file is already what init writes")
	}
	return nil
}

func showDiff(out io.Writer, name string, old, new []byte) error {
	text, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(string(old)), B: difflib.SplitLines(string(new)),
		FromFile: name + " (yours)", ToFile: name + " (init's)", Context: 2,
	})
	if err != nil {
		return err
	}
	_, err = fmt.Fprint(out, text)
	return err
}
