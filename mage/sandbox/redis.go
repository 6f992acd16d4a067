package sandbox

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/railsecs/deploykit/mage/config"
	"github.com/railsecs/deploykit/mage/image"
	"github.com/railsecs/deploykit/mage/internal/procgroup"
)

// Redis is the sandbox's Redis for sidekiq, from an environment's
// local_redis URL (redis://127.0.0.1:6379/0): loopback only, data kept in
// Dir (no snapshots: a sandbox's queue is disposable).
type Redis struct {
	Host, Port string
	Dir        string
}

// ParseRedis reads a local_redis URL.
func ParseRedis(cfg *config.Config, raw string) (Redis, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "redis" || u.Port() == "" {
		return Redis{}, fmt.Errorf("local_redis %q: want redis://127.0.0.1:PORT/DB", raw)
	}
	if !image.Loopback(u.Host) {
		return Redis{}, fmt.Errorf("local_redis %q: the sandbox's Redis listens on loopback addresses only", raw)
	}
	return Redis{Host: u.Hostname(), Port: u.Port(), Dir: cfg.LocalDir(filepath.Join("redis", u.Hostname()+"_"+u.Port()))}, nil
}

func (r Redis) addr() string { return net.JoinHostPort(r.Host, r.Port) }

func (r Redis) pidFile() string { return filepath.Join(r.Dir, "redis.pid") }

// answers says whether something accepts connections on addr.
func answers(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// Start makes Redis answer on its address, starting it (detached, reused
// by later commands) when nothing answers there.
func (r Redis) Start(ctx context.Context, out io.Writer) error {
	if answers(r.addr()) {
		return nil
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		return fmt.Errorf("the sandbox's Redis needs redis-server, which is not installed: run scripts/setup (apt-get install redis-server)")
	}
	if err := os.MkdirAll(r.Dir, 0o755); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "redis-server", "--bind", r.Host, "--port", r.Port, "--dir", r.Dir,
		"--daemonize", "yes", "--pidfile", r.pidFile(), "--logfile", filepath.Join(r.Dir, "redis.log"),
		"--save", "", "--appendonly", "no")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("start redis-server on %s: %v: %s", r.addr(), err, strings.TrimSpace(string(b)))
	}
	for deadline := time.Now().Add(10 * time.Second); !answers(r.addr()); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			return fmt.Errorf("Redis did not answer on %s; see %s", r.addr(), filepath.Join(r.Dir, "redis.log"))
		}
	}
	pid, _ := r.pid()
	fmt.Fprintf(out, "sandbox: started Redis on %s (pid %d); it keeps running for later commands: go run mage.go sandbox:down stops it\n", r.addr(), pid)
	return nil
}

// pid is this directory's redis-server, if it runs: redis names its
// address in its process title.
func (r Redis) pid() (int, error) {
	return procgroup.OwnedPID(r.pidFile(), "redis-server", r.addr())
}

// Stop stops this directory's Redis, if it runs, and returns its pid.
func (r Redis) Stop() (int, error) {
	pid, err := r.pid()
	if err != nil || pid == 0 {
		return 0, err
	}
	return pid, procgroup.Terminate(pid, 5*time.Second)
}
