// Package procgroup runs a child in a process group of its own and stops
// the whole group: SIGTERM, then SIGKILL after a grace, so that a child
// which traps SIGTERM, or leaves processes behind, cannot outlive the run
// that started it.
package procgroup

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Grace is how long a group gets between SIGTERM and SIGKILL: short
// enough to fit in mage's 5 s of cleanup after Ctrl-C.
const Grace = 2 * time.Second

// Configure puts cmd in a process group of its own; cancelling its context
// sends SIGTERM to the whole group, and Wait gives up on the group's
// output Grace later. After Wait, the returned finish kills whatever of
// the group is left once Grace has passed since the SIGTERM (nothing when
// the context was not cancelled), and says whether there was anything.
func Configure(cmd *exec.Cmd) (finish func() bool) {
	var termAt time.Time
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		termAt = time.Now()
		return signal(cmd.Process.Pid, syscall.SIGTERM)
	}
	cmd.WaitDelay = Grace
	return func() bool {
		if termAt.IsZero() || cmd.Process == nil {
			return false
		}
		return Stop(cmd.Process.Pid, max(0, Grace-time.Since(termAt)))
	}
}

// ProcessAlive says whether process pid runs on this machine (one that
// exists but is not ours to signal counts).
func ProcessAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// Alive says whether any process of group pgid runs. Zombies do not
// count: a killed process stays one until its parent (often PID 1, which
// may take its time) reaps it.
func Alive(pgid int) bool {
	if pgid <= 0 {
		return false
	}
	if err := syscall.Kill(-pgid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	procs := processes()
	if len(procs) == 0 {
		return true // no /proc: trust kill(2)
	}
	for _, p := range procs {
		if p.pgrp == pgid && p.state != "Z" && p.state != "X" {
			return true
		}
	}
	return false
}

// process is a line of /proc/PID/stat: what Alive and Descendants read.
type process struct {
	pid, ppid, pgrp int
	state           string
}

// processes reads every process's stat; empty where there is no /proc.
func processes() []process {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var out []process
	for _, path := range stats {
		data, err := os.ReadFile(path)
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces and parens.
		fields := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
		if len(fields) < 3 {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(path)))
		ppid, _ := strconv.Atoi(fields[1])
		pgrp, _ := strconv.Atoi(fields[2])
		out = append(out, process{pid: pid, ppid: ppid, pgrp: pgrp, state: fields[0]})
	}
	return out
}

// Stop ends group pgid: SIGTERM (again, for a group that was not sent it),
// up to grace for it to go, then SIGKILL. It reports whether anything was
// still running when it was called.
func Stop(pgid int, grace time.Duration) bool {
	if !Alive(pgid) {
		return false
	}
	_ = signal(pgid, syscall.SIGTERM)
	for deadline := time.Now().Add(grace); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if !Alive(pgid) {
			return true
		}
	}
	_ = signal(pgid, syscall.SIGKILL)
	return true
}

func signal(pgid int, sig syscall.Signal) error {
	if pgid <= 0 {
		return nil
	}
	if err := syscall.Kill(-pgid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	return nil
}

// OwnedPID reads the pid file of a server this toolkit started and
// detached (the sandbox's registry, its MariaDB) and returns the pid when
// that process still runs with every one of want in its command line (its
// program and its data directory): only then is it ours to stop. A stale
// pid file is removed; a missing one is 0 and no error.
func OwnedPID(pidFile string, want ...string) (int, error) {
	data, err := os.ReadFile(pidFile)
	if os.IsNotExist(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	for _, w := range want {
		if err != nil || pid <= 0 || !strings.Contains(string(cmdline), w) {
			_ = os.Remove(pidFile)
			return 0, nil
		}
	}
	return pid, nil
}

// Descendants lists the processes below pid (children, their children...),
// read from /proc; empty where there is no /proc.
func Descendants(pid int) []int {
	parent := map[int]int{}
	for _, p := range processes() {
		parent[p.pid] = p.ppid
	}
	var out []int
	for child := range parent {
		for p := parent[child]; p > 1; p = parent[p] {
			if p == pid {
				out = append(out, child)
				break
			}
		}
	}
	return out
}

// Terminate sends pid SIGTERM and waits up to grace for it to end (a
// server's clean shutdown flushes what it holds).
func Terminate(pid int, grace time.Duration) error {
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stop pid %d: %w", pid, err)
	}
	for deadline := time.Now().Add(grace); time.Now().Before(deadline) && syscall.Kill(pid, 0) == nil; {
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}
