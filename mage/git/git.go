package git

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/railsecs/deploykit/mage/imageref"
)

// Commit is the source an image is built from.
type Commit struct {
	SHA   string
	Tag   string // the immutable image tag
	Dirty bool
}

// ShortLen is the length of short SHA tags: long enough to stay unique in
// big repositories, and fixed so tags do not change length over time.
const ShortLen = 12

// CurrentCommit reads HEAD in dir and derives the image tag: the full or
// short SHA; for a dirty tree (refused unless allowDirty) the short SHA,
// "-dirty-" and a hash of the diff, so two different diffs never share a tag.
//
// ignore lists paths whose changes do not make the tree dirty: the tfvars
// files the toolkit itself rewrites on every deploy.
func CurrentCommit(ctx context.Context, dir string, full, allowDirty bool, ignore ...string) (Commit, error) {
	sha, err := git(ctx, dir, "rev-parse", "HEAD")
	if err != nil {
		return Commit{}, fmt.Errorf("find the current commit in %s: %w", dir, err)
	}
	c := Commit{SHA: sha, Tag: sha}
	if !full {
		c.Tag = sha[:ShortLen]
	}
	args := []string{"status", "--porcelain", "--untracked-files=all", "--", "."}
	for _, p := range ignore {
		args = append(args, ":(exclude)"+p)
	}
	status, err := git(ctx, dir, args...)
	if err != nil {
		return Commit{}, fmt.Errorf("check the working tree: %w", err)
	}
	if status == "" {
		return c, imageref.ValidateTag(c.Tag)
	}
	if !allowDirty {
		return Commit{}, fmt.Errorf("the working tree has uncommitted changes, so no commit describes the image:\n%s\ncommit them, or pass -dirty for a tag unique to this diff%s", indent(status), lockFileHint(status))
	}
	sum, err := diffHash(ctx, dir, ignore)
	if err != nil {
		return Commit{}, err
	}
	c.Dirty = true
	c.Tag = sha[:ShortLen] + "-dirty-" + sum[:12]
	return c, imageref.ValidateTag(c.Tag)
}

// lockFileHint explains the one untracked file every team meets: the
// provider lock file the first terraform init writes, which belongs in git.
func lockFileHint(status string) string {
	var locks []string
	for _, line := range strings.Split(status, "\n") {
		if path, ok := strings.CutPrefix(line, "?? "); ok && filepath.Base(path) == ".terraform.lock.hcl" {
			locks = append(locks, path)
		}
	}
	if len(locks) == 0 {
		return ""
	}
	return fmt.Sprintf("\n%s: the provider lock file that terraform init wrote; commit it (git add %s) so every machine and CI use the same provider builds", strings.Join(locks, ", "), strings.Join(locks, " "))
}

// diffHash covers tracked changes and the content of untracked files.
func diffHash(ctx context.Context, dir string, ignore []string) (string, error) {
	h := sha256.New()
	args := []string{"diff", "HEAD", "--binary", "--", "."}
	for _, p := range ignore {
		args = append(args, ":(exclude)"+p)
	}
	diff, err := git(ctx, dir, args...)
	if err != nil {
		return "", fmt.Errorf("diff the working tree: %w", err)
	}
	h.Write([]byte(diff))
	lsArgs := []string{"ls-files", "--others", "--exclude-standard", "-z", "--", "."}
	for _, p := range ignore {
		lsArgs = append(lsArgs, ":(exclude)"+p)
	}
	untracked, err := git(ctx, dir, lsArgs...)
	if err != nil {
		return "", err
	}
	for _, f := range strings.Split(untracked, "\x00") {
		if f == "" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return "", fmt.Errorf("hash untracked %s: %w", f, err)
		}
		fmt.Fprintf(h, "\x00%s\x00%d\x00", f, len(data))
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Changed lists the files under paths that differ between two commits.
func Changed(ctx context.Context, dir, from, to string, paths ...string) ([]string, error) {
	out, err := git(ctx, dir, append([]string{"diff", "--name-only", from, to, "--"}, paths...)...)
	if err != nil {
		return nil, err
	}
	return strings.Fields(out), nil
}

// Branch is the current branch, "" when detached.
func Branch(ctx context.Context, dir string) string {
	b, err := git(ctx, dir, "rev-parse", "--abbrev-ref", "HEAD")
	if err != nil || b == "HEAD" {
		return ""
	}
	return b
}

func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", fmt.Errorf("git %s: %s", args[0], strings.TrimSpace(string(ee.Stderr)))
		}
		return "", fmt.Errorf("git %s: %w", args[0], err)
	}
	return strings.TrimRight(string(out), "\n"), nil
}

func indent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > 10 {
		lines = append(lines[:10], fmt.Sprintf("... and %d more", len(lines)-10))
	}
	return "  " + strings.Join(lines, "\n  ")
}
