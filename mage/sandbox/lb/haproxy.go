// Package lb is the sandbox's load balancer: HAProxy standing in for the
// ALB and the web service's target group. Tasks are servers added,
// drained and removed at run time through HAProxy's runtime API, as ECS
// registers and deregisters targets.
package lb

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/railsecs/deploykit/mage/internal/procgroup"
)

// Backend is the backend that holds the tasks; StickyCookie the cookie
// that keeps a client on one.
const (
	Backend      = "tasks"
	StickyCookie = "DEPLOYKIT_TARGET"
)

// HAProxy is one load balancer: a listener on a loopback address and the
// target group's health check.
type HAProxy struct {
	Dir    string // configuration, pid file, log
	Listen string // 127.0.0.1:8080
	// HealthPath, Interval, Healthy and Unhealthy are the target group's
	// health check: path, interval, healthy and unhealthy thresholds.
	HealthPath         string
	Interval           time.Duration
	Healthy, Unhealthy int
}

// Available says whether haproxy is installed.
func Available() bool {
	_, err := exec.LookPath("haproxy")
	return err == nil
}

func (h HAProxy) pidFile() string { return filepath.Join(h.Dir, "haproxy.pid") }

// socket is the runtime API's socket: in the temporary directory, since a
// Unix socket path longer than 107 bytes (a deep checkout) is refused.
func (h HAProxy) socket() string {
	sum := sha256.Sum256([]byte(h.Dir))
	return filepath.Join(os.TempDir(), "deploykit-haproxy-"+hex.EncodeToString(sum[:6])+".sock")
}

func (h HAProxy) config() string {
	// Timeouts longer than nginx's proxy_read_timeout (60 s), as the ALB's
	// idle timeout should be.
	return fmt.Sprintf(`global
  stats socket %[1]s mode 600 level admin
  pidfile %[2]s

defaults
  mode http
  timeout connect 5s
  timeout client 65s
  timeout server 65s
  retries 0

frontend web
  bind %[3]s
  default_backend %[4]s

backend %[4]s
  balance roundrobin
  option httpchk GET %[5]s
  # Stickiness, as the target group's lb_cookie stickiness: a browser's
  # asset requests go to the task that rendered its page, which has those
  # assets while two releases share traffic. (A stick table, since 2.6's
  # dynamic servers take no cookie option.) A client whose target is gone
  # is redispatched.
  option redispatch
  stick-table type string len 40 size 100k expire 1h
  http-request set-var(txn.sid) req.cook(%[6]s)
  http-request set-var(txn.fresh) bool(true) if !{ var(txn.sid) -m found }
  http-request set-var(txn.sid) uuid if !{ var(txn.sid) -m found }
  stick on var(txn.sid)
  http-response add-header Set-Cookie "%[6]s=%%[var(txn.sid)]; Path=/; HttpOnly" if { var(txn.fresh) -m bool }
`, h.socket(), h.pidFile(), h.Listen, Backend, h.HealthPath, StickyCookie)
}

// Running is the pid of this directory's haproxy, or 0.
func (h HAProxy) Running() (int, error) {
	return procgroup.OwnedPID(h.pidFile(), "haproxy", h.Dir)
}

// Start makes HAProxy listen on h.Listen, starting it detached (later
// commands reuse it, like the registry) when this directory's is not
// running. It reports whether it started one.
func (h HAProxy) Start(ctx context.Context) (bool, error) {
	if pid, err := h.Running(); err != nil || pid != 0 {
		return false, err
	}
	if !Available() {
		return false, fmt.Errorf("the sandbox's load balancer needs haproxy, which is not installed: run scripts/setup (apt-get install haproxy)")
	}
	if err := os.MkdirAll(h.Dir, 0o755); err != nil {
		return false, err
	}
	cfg := filepath.Join(h.Dir, "haproxy.cfg")
	if err := os.WriteFile(cfg, []byte(h.config()), 0o644); err != nil {
		return false, err
	}
	// -D daemonizes once the listener is bound: its exit status says
	// whether the address was free.
	cmd := exec.CommandContext(ctx, "haproxy", "-D", "-f", cfg, "-p", h.pidFile())
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if b, err := cmd.CombinedOutput(); err != nil {
		return false, fmt.Errorf("haproxy on %s: %v: %s (if another program, or another checkout's sandbox, holds that address, stop it or change local_load_balancer's listen in deploy.hcl)", h.Listen, err, strings.TrimSpace(string(b)))
	}
	return true, nil
}

// Stop stops this directory's haproxy, if it runs, and returns its pid.
func (h HAProxy) Stop() (int, error) {
	pid, err := h.Running()
	if err != nil || pid == 0 {
		return 0, err
	}
	err = procgroup.Terminate(pid, 5*time.Second)
	_ = os.Remove(h.socket())
	return pid, err
}

// command sends one runtime API command and returns its answer.
func (h HAProxy) command(ctx context.Context, line string) (string, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", h.socket())
	if err != nil {
		return "", fmt.Errorf("haproxy runtime API: %w", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		return "", err
	}
	b, err := io.ReadAll(c)
	return strings.TrimSpace(string(b)), err
}

// commandOK sends a command whose success answers nothing (or a "New
// server registered." style line) and fails on anything else.
func (h HAProxy) commandOK(ctx context.Context, line string, ok ...string) error {
	answer, err := h.command(ctx, line)
	if err != nil {
		return err
	}
	if answer == "" {
		return nil
	}
	for _, o := range ok {
		if strings.Contains(answer, o) {
			return nil
		}
	}
	return fmt.Errorf("haproxy %q: %s", line, answer)
}

// Register adds a target with a weight (again: registering a registered
// one is a no-op, as RegisterTargets is) and puts it in service.
func (h HAProxy) Register(ctx context.Context, name, addr string, weight int) error {
	interval := max(h.Interval, time.Second)
	add := fmt.Sprintf("add server %s/%s %s weight %d check inter %d rise %d fall %d", Backend, name, addr, weight, interval.Milliseconds(), max(h.Healthy, 1), max(h.Unhealthy, 1))
	// A target registered by an earlier command is registered already.
	if err := h.commandOK(ctx, add, "New server registered", "Already exists a server with the same name"); err != nil {
		return err
	}
	if err := h.commandOK(ctx, "enable health "+Backend+"/"+name); err != nil {
		return err
	}
	return h.commandOK(ctx, "enable server "+Backend+"/"+name)
}

// SetWeight changes a target's weight (0-256): its share of new
// requests is its weight over the sum of all, as a listener rule's
// weighted target groups split them; 0 sends it none.
func (h HAProxy) SetWeight(ctx context.Context, name string, weight int) error {
	return h.commandOK(ctx, fmt.Sprintf("set weight %s/%s %d", Backend, name, weight))
}

// Weight is the load balancer weight (0-256) of a task whose share of a
// service's production traffic is share percent (its deployment's share
// over its tasks); a negative share is an equal one.
func Weight(share float64) int {
	switch {
	case share < 0:
		return EqualWeight
	case share == 0:
		return 0
	}
	return min(max(int(share*2.56+0.5), 1), 256)
}

// EqualWeight is every target's weight when they share traffic equally.
const EqualWeight = 100

// Drain stops sending new requests to a target; those in flight finish.
// Its sticky clients move too: an ALB sends no request to a deregistering
// target, sticky or not (HAProxy's drain would keep them). It reports
// whether the target was registered.
func (h HAProxy) Drain(ctx context.Context, name string) (bool, error) {
	servers, err := h.Servers(ctx)
	if err != nil {
		return false, err
	}
	for _, s := range servers {
		if s.Name != name {
			continue
		}
		if err := h.commandOK(ctx, "set server "+Backend+"/"+name+" state drain"); err != nil {
			return true, err
		}
		return true, h.commandOK(ctx, fmt.Sprintf("clear table %s data.server_id eq %d", Backend, s.ID))
	}
	return false, nil
}

// Deregister removes a target: put in maintenance, then deleted once it
// holds no connection (HAProxy refuses to delete one that does).
func (h HAProxy) Deregister(ctx context.Context, name string) error {
	if err := h.commandOK(ctx, "disable server "+Backend+"/"+name, "No such server"); err != nil {
		return err
	}
	var last error
	for i := 0; i < 50; i++ {
		last = h.commandOK(ctx, "del server "+Backend+"/"+name, "Server deleted", "No such server")
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return last
}

// Server is a target as HAProxy sees it.
type Server struct {
	ID         int
	Name, Addr string
	// Up: in service (its health check passes); Drain: draining.
	Up, Drain bool
	// Current: connections it holds now.
	Current int
	// Weight: the weight it was given (0-256).
	Weight int
}

// Servers lists the backend's targets.
func (h HAProxy) Servers(ctx context.Context) ([]Server, error) {
	answer, err := h.command(ctx, "show stat -1 4 -1")
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(strings.NewReader(answer))
	var cols map[string]int
	var out []Server
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "# ") {
			cols = map[string]int{}
			for i, c := range strings.Split(strings.TrimPrefix(line, "# "), ",") {
				cols[c] = i
			}
			continue
		}
		f := strings.Split(line, ",")
		if cols == nil || len(f) < len(cols)-1 || f[cols["pxname"]] != Backend {
			continue
		}
		cur, _ := strconv.Atoi(f[cols["scur"]])
		id, _ := strconv.Atoi(f[cols["sid"]])
		status := f[cols["status"]]
		weight, _ := strconv.Atoi(f[cols["uweight"]])
		out = append(out, Server{ID: id, Name: f[cols["svname"]], Addr: f[cols["addr"]], Up: strings.HasPrefix(status, "UP"),
			Drain: strings.Contains(status, "DRAIN"), Current: cur, Weight: weight})
	}
	return out, nil
}
