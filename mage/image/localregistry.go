package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/railsecs/deploykit/mage/internal/procgroup"
)

// Answering reports whether a registry answers /v2/ at host over HTTP.
func Answering(ctx context.Context, host string) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+host+"/v2/", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized
}

// StartLocalRegistry starts Debian's docker-registry (distribution) on a
// loopback host:port with its storage under dataDir, detached so it keeps
// serving for later runs, and waits until it answers. It returns at once
// when something already answers there.
func StartLocalRegistry(ctx context.Context, host, dataDir string, out io.Writer) error {
	if !Loopback(host) {
		return fmt.Errorf("refusing to start a registry on %s: only loopback addresses", host)
	}
	if Answering(ctx, host) {
		return nil
	}
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		return fmt.Errorf("no registry answers on %s and docker-registry is not installed: apt-get install docker-registry", host)
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return err
	}
	cfg := filepath.Join(dataDir, "config.yml")
	conf := fmt.Sprintf("version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n", filepath.Join(dataDir, "data"), host)
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		return err
	}
	logFile, err := os.OpenFile(filepath.Join(dataDir, "registry.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.Command(bin, "serve", cfg)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // outlives this run
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start docker-registry: %w", err)
	}
	pid := cmd.Process.Pid
	_ = os.WriteFile(filepath.Join(dataDir, "registry.pid"), []byte(strconv.Itoa(pid)), 0o644)
	_ = cmd.Process.Release()
	if out != nil {
		fmt.Fprintf(out, "sandbox: started docker-registry on %s (pid %d, data in %s); it keeps running for later commands: go run mage.go sandbox:down stops it\n", host, pid, dataDir)
	}
	deadline := time.Now().Add(15 * time.Second)
	for !Answering(ctx, host) {
		if time.Now().After(deadline) {
			return fmt.Errorf("docker-registry did not answer on %s; see %s", host, filepath.Join(dataDir, "registry.log"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}

// StopLocalRegistry stops the registry StartLocalRegistry started for
// dataDir (its pid file says which); it reports the pid, 0 when none ran.
func StopLocalRegistry(dataDir string) (int, error) {
	pidFile := filepath.Join(dataDir, "registry.pid")
	// Only a docker-registry serving this data directory is ours to stop.
	pid, err := procgroup.OwnedPID(pidFile, "docker-registry", dataDir)
	if err != nil || pid == 0 {
		return 0, err
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return 0, fmt.Errorf("stop docker-registry (pid %d): %w", pid, err)
	}
	_ = os.Remove(pidFile)
	return pid, nil
}
