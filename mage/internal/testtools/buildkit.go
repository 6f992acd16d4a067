package testtools

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// toolBin finds a tool on PATH or in tools/bin.
func toolBin(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	p := filepath.Join(RepoRoot(t), "tools", "bin", name)
	if _, err := os.Stat(p); err != nil {
		missing(t, name)
	}
	return p
}

// BuildKit starts a BuildKit daemon of the test's own, with fresh storage
// as a new CI machine has, that reaches the given loopback registries over
// plain HTTP, and registers it with the standalone buildx as a remote
// builder. It returns the buildx binary and the builder's name; the
// test's BUILDX_CONFIG keeps the builder to itself. buildkitd runs as root
// (its OCI worker uses runc): directly when the test is root, else through
// passwordless sudo (CircleCI's VM) with the socket given to the test's
// group. The daemon stops with the test.
func BuildKit(t testing.TB, registries ...string) (buildx, builder string) {
	t.Helper()
	buildx, sock := BuildKitDaemon(t, registries...)
	dir, err := os.MkdirTemp("", "bkx-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	t.Setenv("BUILDX_CONFIG", dir)
	builder = "deploykit-test"
	CreateRemoteBuilder(t, buildx, builder, sock)
	return buildx, builder
}

// CreateRemoteBuilder registers the daemon at sock with buildx as builder
// name, wherever this process's environment makes buildx keep builders,
// and waits until it answers.
func CreateRemoteBuilder(t testing.TB, buildx, name, sock string) {
	t.Helper()
	if out, err := exec.Command(buildx, "create", "--name", name, "--driver", "remote", sock).CombinedOutput(); err != nil {
		t.Fatalf("buildx create: %v\n%s", err, out)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, err := exec.Command(buildx, "inspect", "--builder", name, "--bootstrap").CombinedOutput()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("buildkitd at %s did not answer in 60 s: %v\n%s", sock, err, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// BuildKitDaemon starts the daemon alone (see BuildKit) and returns the
// buildx binary and the daemon's address, for a test that registers the
// builder itself.
func BuildKitDaemon(t testing.TB, registries ...string) (buildx, sock string) {
	t.Helper()
	Integration(t)
	daemon, buildx := toolBin(t, "buildkitd"), toolBin(t, "buildx")
	Need(t, "runc")
	var asRoot []string
	if os.Geteuid() != 0 {
		if exec.Command("sudo", "-n", "true").Run() != nil {
			missing(t, "buildkitd (root or passwordless sudo: its OCI worker runs runc)")
		}
		asRoot = []string{"sudo", "-n"}
	}
	dir, err := os.MkdirTemp("", "bk-") // short: a unix socket path has at most 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if len(asRoot) > 0 {
			_ = exec.Command("sudo", "-n", "rm", "-rf", dir).Run() // root's files
		}
		os.RemoveAll(dir)
	})
	var conf strings.Builder
	for _, r := range registries {
		fmt.Fprintf(&conf, "[registry.%q]\n  http = true\n  insecure = true\n", r)
	}
	confFile := filepath.Join(dir, "buildkitd.toml")
	if err := os.WriteFile(confFile, []byte(conf.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	sock = "unix://" + filepath.Join(dir, "buildkitd.sock")
	logFile, err := os.Create(filepath.Join(dir, "buildkitd.log"))
	if err != nil {
		t.Fatal(err)
	}
	args := append(asRoot, daemon, "--config", confFile, "--root", filepath.Join(dir, "root"), "--addr", sock,
		"--oci-worker=true", "--containerd-worker=false", "--group", fmt.Sprint(os.Getgid()))
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start buildkitd: %v", err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		logFile.Close()
	})
	return buildx, sock
}
