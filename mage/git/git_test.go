package git

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func gitRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, args := range [][]string{{"init", "-q"}, {"config", "user.email", "t@example.com"}, {"config", "user.name", "t"}} {
		if out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v %s", args, err, out)
		}
	}
	os.WriteFile(filepath.Join(dir, "app.rb"), []byte("1\n"), 0o644)
	for _, args := range [][]string{{"add", "."}, {"commit", "-qm", "init"}} {
		if out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v %s", args, err, out)
		}
	}
	return dir
}

func TestCommitTags(t *testing.T) {
	ctx := context.Background()
	dir := gitRepo(t)
	c, err := CurrentCommit(ctx, dir, false, false)
	if err != nil || len(c.Tag) != ShortLen || len(c.SHA) != 40 || !strings.HasPrefix(c.SHA, c.Tag) {
		t.Fatalf("clean short = %+v, %v", c, err)
	}
	if full, _ := CurrentCommit(ctx, dir, true, false); full.Tag != c.SHA {
		t.Errorf("full tag = %q", full.Tag)
	}
	os.WriteFile(filepath.Join(dir, "app.rb"), []byte("2\n"), 0o644)
	if _, err := CurrentCommit(ctx, dir, false, false); err == nil || !strings.Contains(err.Error(), "-dirty") || !strings.Contains(err.Error(), "app.rb") {
		t.Errorf("dirty without -dirty: %v", err)
	}
	d1, err := CurrentCommit(ctx, dir, false, true)
	if err != nil || !d1.Dirty || !strings.HasPrefix(d1.Tag, c.Tag+"-dirty-") {
		t.Fatalf("dirty tag = %+v, %v", d1, err)
	}
	again, _ := CurrentCommit(ctx, dir, false, true)
	os.WriteFile(filepath.Join(dir, "app.rb"), []byte("3\n"), 0o644)
	d2, _ := CurrentCommit(ctx, dir, false, true)
	os.WriteFile(filepath.Join(dir, "new.rb"), []byte("x"), 0o644)
	d3, _ := CurrentCommit(ctx, dir, false, true)
	if again.Tag != d1.Tag || d2.Tag == d1.Tag || d3.Tag == d2.Tag {
		t.Errorf("dirty tags not unique per diff: %s %s %s %s", d1.Tag, again.Tag, d2.Tag, d3.Tag)
	}
}

func TestChanged(t *testing.T) {
	ctx := context.Background()
	dir := gitRepo(t)
	first, _ := CurrentCommit(ctx, dir, true, false)
	os.MkdirAll(filepath.Join(dir, "db", "migrate"), 0o755)
	os.WriteFile(filepath.Join(dir, "db", "migrate", "1_add.rb"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(dir, "app.rb"), []byte("2\n"), 0o644)
	for _, args := range [][]string{{"add", "."}, {"commit", "-qm", "two"}} {
		if out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v %s", args, err, out)
		}
	}
	second, _ := CurrentCommit(ctx, dir, true, false)
	got, err := Changed(ctx, dir, first.SHA, second.SHA, "db/migrate", "db/schema.rb")
	if err != nil || strings.Join(got, ",") != "db/migrate/1_add.rb" {
		t.Errorf("Changed = %v, %v", got, err)
	}
	if _, err := Changed(ctx, dir, "0000000000000000000000000000000000000000", second.SHA); err == nil {
		t.Error("Changed from an unknown commit: no error")
	}
}

func TestUntrackedLockFileNamesTheFix(t *testing.T) {
	ctx := context.Background()
	dir := gitRepo(t)
	root := filepath.Join(dir, "terraform", "envs", "staging")
	os.MkdirAll(root, 0o755)
	os.WriteFile(filepath.Join(root, ".terraform.lock.hcl"), []byte("# lock\n"), 0o644)
	_, err := CurrentCommit(ctx, dir, false, false)
	if err == nil || !strings.Contains(err.Error(), "commit it (git add terraform/envs/staging/.terraform.lock.hcl)") {
		t.Errorf("untracked lock file: %v", err)
	}
	os.Remove(filepath.Join(root, ".terraform.lock.hcl"))
	os.WriteFile(filepath.Join(dir, "other.rb"), []byte("x"), 0o644)
	if _, err := CurrentCommit(ctx, dir, false, false); err == nil || strings.Contains(err.Error(), "lock file") {
		t.Errorf("another untracked file: %v", err)
	}
}
