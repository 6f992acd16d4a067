package procgroup

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A child that traps SIGTERM, with a grandchild that ignores it, is gone
// within Grace of the cancel (plus a little), inside mage's 5 s.
func TestCancelStopsAGroupThatIgnoresSIGTERM(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "stubborn")
	os.WriteFile(script, []byte("#!/bin/sh\ntrap 'echo ignoring TERM' TERM\n(trap '' TERM; exec sleep 60) &\necho started\nwhile :; do sleep 1; done\n"), 0o755)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, script)
	finish := Configure(cmd)
	var out strings.Builder
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pgid := cmd.Process.Pid
	t.Cleanup(func() { Stop(pgid, 0) })
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	cancel()
	_ = cmd.Wait()
	if !finish() {
		t.Error("finish found nothing left, but the trapping shell's sleep was")
	}
	for Alive(pgid) {
		if time.Since(start) > 4*time.Second {
			t.Fatalf("process group %d still alive %s after the cancel", pgid, time.Since(start))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if took := time.Since(start); took > Grace+time.Second {
		t.Errorf("stopping took %s, more than the grace of %s", took, Grace)
	}
}

// Without a cancel, finish leaves a finished child's group alone.
func TestFinishWithoutCancelDoesNothing(t *testing.T) {
	cmd := exec.CommandContext(context.Background(), "true")
	finish := Configure(cmd)
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if finish() {
		t.Error("finish reported a stop without a cancel")
	}
}
