package zerodowntime

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/railsecs/deploykit/mage/internal/testtools"
	"github.com/railsecs/deploykit/mage/sandbox/lb"
	"github.com/railsecs/deploykit/mage/sandbox/probe"
)

// sandbox is a copy of the repository whose sandbox uses free ports.
type sandbox struct {
	t    *testing.T
	dir  string
	env  []string
	url  string
	mage string
	// lastOut is the last mage command's output.
	lastOut string
}

func (s *sandbox) replace(file string, pairs ...string) {
	s.t.Helper()
	p := filepath.Join(s.dir, file)
	data, err := os.ReadFile(p)
	if err != nil {
		s.t.Fatal(err)
	}
	text := string(data)
	for i := 0; i < len(pairs); i += 2 {
		if !strings.Contains(text, pairs[i]) {
			s.t.Fatalf("%s has no %q", file, pairs[i])
		}
		text = strings.ReplaceAll(text, pairs[i], pairs[i+1])
	}
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		s.t.Fatal(err)
	}
}

func (s *sandbox) git(args ...string) {
	s.t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=dev", "-c", "user.email=dev@example.com"}, args...)...)
	cmd.Dir = s.dir
	if out, err := cmd.CombinedOutput(); err != nil {
		s.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// run runs a target of the compiled magefile and returns its output.
func (s *sandbox) run(extraEnv []string, args ...string) (string, error) {
	start := time.Now()
	cmd := exec.Command(s.mage, args...)
	cmd.Dir, cmd.Env = s.dir, append(append([]string{}, s.env...), extraEnv...)
	out, err := cmd.CombinedOutput()
	s.t.Logf("mage %s: %s (%v)", strings.Join(args, " "), time.Since(start).Round(time.Second), err)
	s.lastOut = string(out)
	return string(out), err
}

func (s *sandbox) must(args ...string) string {
	s.t.Helper()
	out, err := s.run(nil, args...)
	if err != nil {
		s.t.Fatalf("mage %v: %v\n%s", args, err, testtools.Tail(out, 60))
	}
	return out
}

// probed is what the probe saw during a scenario, and the evidence a
// failure report shows besides its counts: the load balancer's targets
// each time they changed and the tail of the last mage command's output.
type probed struct {
	probe.Result
	evidence string
}

// underProbe runs f while the probe requests the page and its assets
// through the load balancer, and returns what the probe saw.
func (s *sandbox) underProbe(f func()) probed {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan probe.Result)
	go func() {
		done <- probe.Run(ctx, probe.Probe{URL: s.url, Clients: 3, Slow: "/slow?seconds=3", Pause: 100 * time.Millisecond})
	}()
	targets := make(chan []string)
	go func() { targets <- s.watchTargets(ctx) }()
	time.Sleep(2 * time.Second) // the probe is under way before anything changes
	f()
	time.Sleep(2 * time.Second)
	cancel()
	evidence := "load balancer targets as they changed:\n" + strings.Join(<-targets, "\n") +
		"\nthe last mage command's output ends:\n" + testtools.Tail(s.lastOut, 40)
	return probed{Result: <-done, evidence: evidence}
}

// watchTargets reads the sandbox HAProxy's targets (state and weight)
// every 250 ms until ctx ends, and returns a line each time they changed
// (at most 300).
func (s *sandbox) watchTargets(ctx context.Context) []string {
	h := lb.HAProxy{Dir: filepath.Join(s.dir, ".deploykit", "sandbox", "haproxy")}
	var lines []string
	last := ""
	for ctx.Err() == nil && len(lines) < 300 {
		servers, err := h.Servers(ctx)
		var now []string
		for _, sv := range servers {
			state := "DOWN"
			switch {
			case sv.Drain:
				state = "DRAIN"
			case sv.Up:
				state = "UP"
			}
			now = append(now, fmt.Sprintf("%s %s w=%d", sv.Name, state, sv.Weight))
		}
		line := strings.Join(now, "; ")
		if err != nil && ctx.Err() == nil {
			line = err.Error()
		}
		if line != last && ctx.Err() == nil {
			lines = append(lines, time.Now().Format("15:04:05.000")+" "+line)
			last = line
		}
		select {
		case <-ctx.Done():
		case <-time.After(250 * time.Millisecond):
		}
	}
	return lines
}

var releaseRE = regexp.MustCompile(`data-release="([^"]*)"`)

// page returns the release that rendered the page and the body.
func (s *sandbox) page() (string, string) {
	s.t.Helper()
	resp, err := http.Get(s.url)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := releaseRE.FindStringSubmatch(string(b))
	if resp.StatusCode != 200 || m == nil {
		s.t.Fatalf("GET %s: %s\n%s", s.url, resp.Status, testtools.Tail(string(b), 20))
	}
	return m[1], string(b)
}

// A deploy with a stylesheet and a code change, a rollback, and a rollout
// whose new tasks crash at boot (the breaker rolls back): the probe's
// clients, each a browser with its own cookies, and a slow request always
// in flight, see no failed request and no asset 404 in any of them.
func TestDeploysRollbacksAndACrashingRolloutFailNoRequest(t *testing.T) {
	for _, bin := range []string{"buildah", "mmdebstrap", "docker-registry", "podman", "slirp4netns", "haproxy", "redis-server", "mariadbd"} {
		testtools.Need(t, bin)
	}
	root := testtools.RepoRoot(t)
	s := &sandbox{t: t, dir: filepath.Join(t.TempDir(), "shop")}
	testtools.Snapshot(t, root, s.dir)
	lbPort, dbPort, redisPort := testtools.FreePort(t), testtools.FreePort(t), testtools.FreePort(t)
	s.url = fmt.Sprintf("http://127.0.0.1:%d/", lbPort)
	// Ports of its own, so it meets no other sandbox on this machine.
	s.replace("deploy.hcl", `"127.0.0.1:8080"`, fmt.Sprintf(`"127.0.0.1:%d"`, lbPort),
		"127.0.0.1:3307/", fmt.Sprintf("127.0.0.1:%d/", dbPort), "127.0.0.1:6379/", fmt.Sprintf("127.0.0.1:%d/", redisPort))
	s.replace("terraform/envs/sandbox/main.tf", "127.0.0.1:3307/", fmt.Sprintf("127.0.0.1:%d/", dbPort), "127.0.0.1:6379/", fmt.Sprintf("127.0.0.1:%d/", redisPort))
	s.git("add", "-A")
	s.git("commit", "-qm", "the sandbox on free ports")
	s.mage = filepath.Join(t.TempDir(), "mage")
	compile := exec.Command("go", "run", "mage.go", "-compile", s.mage)
	compile.Dir = s.dir
	if out, err := compile.CombinedOutput(); err != nil {
		t.Fatalf("compile the magefile: %v\n%s", err, out)
	}
	s.env = append(os.Environ(), "SANDBOX_REGISTRY="+testtools.Registry(t), "CI=", "TF_CLI_CONFIG_FILE=/dev/null")
	t.Cleanup(func() {
		out, _ := s.run(nil, "sandbox:down")
		t.Logf("sandbox:down:\n%s", out)
	})

	// The first deploy: the release serves through nginx, unicorn and
	// HAProxy, and the logs show the request.
	out := s.must("deploy")
	if !strings.Contains(out, s.url) {
		t.Errorf("deploy did not print %s:\n%s", s.url, testtools.Tail(out, 10))
	}
	if rel, body := s.page(); rel != "1" || !strings.Contains(body, "/assets/application-") {
		t.Fatalf("after the first deploy: release %q, page:\n%s", rel, body)
	}
	s.browser("rgb(194, 24, 91)") // #c2185b, the accent of release 1
	mem, detail := s.memory()
	t.Logf("memory with 2 web-app and 2 sidekiq tasks, MariaDB, Redis and HAProxy: %.0f MiB\n%s", float64(mem)/(1<<20), detail)
	if mem > 2<<30 {
		t.Errorf("the sandbox uses %.0f MiB, over 2 GiB", float64(mem)/(1<<20))
	}
	logs := s.must("logs", "-service=web-app", "-since=5m")
	if !strings.Contains(logs, `GET / `) && !strings.Contains(logs, `Started GET "/"`) {
		t.Errorf("mage logs -service=web-app shows no request to /:\n%s", testtools.Tail(logs, 30))
	}

	// exec reaches a running task's container, as ECS Exec does.
	execOut := s.must("exec", "bin/rails runner 'puts Shop::RELEASE'", "-service=web-app")
	if !strings.Contains(execOut, "podman exec") || !regexp.MustCompile(`(?m)^1$`).MatchString(execOut) {
		t.Errorf("mage exec did not run in the task's container:\n%s", testtools.Tail(execOut, 10))
	}

	// A stylesheet and a code change.
	s.replace("examples/sandbox-app/app/assets/stylesheets/_palette.scss", "#c2185b", "#2e7d32")
	s.replace("examples/sandbox-app/config/initializers/release.rb", `RELEASE = "1"`, `RELEASE = "2"`)
	s.git("commit", "-qam", "release 2: green accent")
	deploy := s.underProbe(func() { s.must("deploy") })
	if rel, _ := s.page(); rel != "2" {
		t.Fatalf("after the second deploy the page is release %q", rel)
	}

	s.browser("rgb(46, 125, 50)") // #2e7d32: the new stylesheet applies
	rollback := s.underProbe(func() { s.must("rollback") })
	if rel, _ := s.page(); rel != "1" {
		t.Fatalf("after the rollback the page is release %q", rel)
	}

	// New tasks that raise while they boot: the breaker rolls back, the
	// old release serves throughout.
	s.replace("examples/sandbox-app/config/initializers/release.rb", `RELEASE = "2"`, `RELEASE = "3"`)
	s.git("commit", "-qam", "release 3")
	var failOut string
	var failErr error
	crash := s.underProbe(func() { failOut, failErr = s.run([]string{"SANDBOX_ROLLOUT_FAIL=1"}, "deploy") })
	if failErr == nil || !strings.Contains(failOut, "circuit breaker") {
		t.Fatalf("SANDBOX_ROLLOUT_FAIL=1 deploy: %v, want the circuit breaker's failure:\n%s", failErr, testtools.Tail(failOut, 30))
	}
	if !strings.Contains(failOut, "unicorn exited 1") {
		t.Errorf("the failed deploy does not show unicorn's real exit:\n%s", testtools.Tail(failOut, 30))
	}
	if rel, _ := s.page(); rel != "1" {
		t.Fatalf("after the failed rollout the page is release %q, want 1 still", rel)
	}

	// ECS's staged strategies: a BLUE_GREEN deploy (stylesheet and code),
	// a CANARY one and a LINEAR one, each through its traffic shifts and
	// bake time.
	s.replace("examples/sandbox-app/app/assets/stylesheets/_palette.scss", "#2e7d32", "#1565c0")
	s.replace("examples/sandbox-app/config/initializers/release.rb", `RELEASE = "3"`, `RELEASE = "4"`)
	s.git("commit", "-qam", "release 4: blue accent")
	var blueOut string
	blueGreen := s.underProbe(func() {
		var err error
		blueOut, err = s.run([]string{`TF_VAR_web_deployment={strategy="BLUE_GREEN",bake_time_minutes=1}`}, "deploy")
		if err != nil {
			t.Fatalf("BLUE_GREEN deploy: %v\n%s", err, testtools.Tail(blueOut, 40))
		}
	})
	if !strings.Contains(blueOut, "stage BAKE_TIME") {
		t.Errorf("the BLUE_GREEN deploy did not show its bake time:\n%s", testtools.Tail(blueOut, 40))
	}
	if rel, _ := s.page(); rel != "4" {
		t.Fatalf("after the BLUE_GREEN deploy the page is release %q", rel)
	}
	s.replace("examples/sandbox-app/config/initializers/release.rb", `RELEASE = "4"`, `RELEASE = "5"`)
	s.git("commit", "-qam", "release 5")
	canary := s.underProbe(func() {
		out, err := s.run([]string{`TF_VAR_web_deployment={strategy="CANARY",bake_time_minutes=1,canary_percent=20,canary_bake_time_minutes=1}`}, "deploy")
		if err != nil || !strings.Contains(out, "stage PRODUCTION_TRAFFIC_SHIFT") {
			t.Fatalf("CANARY deploy: %v\n%s", err, testtools.Tail(out, 40))
		}
	})
	if rel, _ := s.page(); rel != "5" {
		t.Fatalf("after the CANARY deploy the page is release %q", rel)
	}
	s.replace("examples/sandbox-app/config/initializers/release.rb", `RELEASE = "5"`, `RELEASE = "6"`)
	s.git("commit", "-qam", "release 6")
	linear := s.underProbe(func() {
		out, err := s.run([]string{`TF_VAR_web_deployment={strategy="LINEAR",bake_time_minutes=1,linear_step_percent=50,linear_step_bake_time_minutes=1}`}, "deploy")
		if err != nil || strings.Count(out, "stage PRODUCTION_TRAFFIC_SHIFT") == 0 || !strings.Contains(out, "stage BAKE_TIME") {
			t.Fatalf("LINEAR deploy: %v\n%s", err, testtools.Tail(out, 40))
		}
	})
	if rel, _ := s.page(); rel != "6" {
		t.Fatalf("after the LINEAR deploy the page is release %q", rel)
	}

	t.Logf("zero-downtime probe (3 browsers + 1 slow request in flight):\n%-28s %9s %8s %10s  %s\n%-28s %9d %8d %10d  %v\n%-28s %9d %8d %10d  %v\n%-28s %9d %8d %10d  %v\n%-28s %9d %8d %10d  %v\n%-28s %9d %8d %10d  %v\n%-28s %9d %8d %10d  %v",
		"scenario", "requests", "failed", "asset 404", "pages by release",
		"deploy (CSS + code)", deploy.Requests, deploy.Failures, deploy.Asset404s, deploy.Releases,
		"rollback", rollback.Requests, rollback.Failures, rollback.Asset404s, rollback.Releases,
		"rollout the breaker undoes", crash.Requests, crash.Failures, crash.Asset404s, crash.Releases,
		"BLUE_GREEN deploy", blueGreen.Requests, blueGreen.Failures, blueGreen.Asset404s, blueGreen.Releases,
		"CANARY deploy", canary.Requests, canary.Failures, canary.Asset404s, canary.Releases,
		"LINEAR deploy", linear.Requests, linear.Failures, linear.Asset404s, linear.Releases)
	for name, r := range map[string]probed{"deploy": deploy, "rollback": rollback, "crashing rollout": crash, "BLUE_GREEN deploy": blueGreen, "CANARY deploy": canary, "LINEAR deploy": linear} {
		if r.Failures > 0 || r.Asset404s > 0 || r.Pages == 0 || r.SlowRequests == 0 {
			t.Errorf("%s: %s\n%s\n%s", name, r.Result, strings.Join(r.Samples, "\n"), r.evidence)
		}
	}
	if deploy.Releases["1"] == 0 || deploy.Releases["2"] == 0 {
		t.Errorf("the deploy's probe saw pages of releases %v, want both 1 and 2 (old and new sharing traffic)", deploy.Releases)
	}

	// sandbox:down leaves nothing running.
	down := s.must("sandbox:down")
	for _, want := range []string{"stopped HAProxy", "stopped Redis", "stopped MariaDB", "removed pod"} {
		if !strings.Contains(down, want) {
			t.Errorf("sandbox:down did not say %q:\n%s", want, down)
		}
	}
	if c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(lbPort), time.Second); err == nil {
		c.Close()
		t.Errorf("something still listens on the load balancer's port after sandbox:down")
	}
	runtimeDir := filepath.Join(s.dir, ".deploykit", "sandbox", "runtime")
	ps := exec.Command("podman", "pod", "ps", "-q", "--filter", "label=org.railsecs.deploykit.owner="+runtimeDir)
	ps.Env = append(os.Environ(), "CONTAINERS_CONF="+filepath.Join(runtimeDir, "containers.conf"))
	pods, _ := ps.Output()
	if strings.TrimSpace(string(pods)) != "" {
		t.Errorf("pods left after sandbox:down: %s", pods)
	}
}

var sizeRE = regexp.MustCompile(`^([0-9.]+)([kMG]?B)$`)

// memory sums the task containers' memory (podman stats: their cgroups)
// and the resident memory of the servers the sandbox started.
func (s *sandbox) memory() (int64, string) {
	s.t.Helper()
	runtimeDir := filepath.Join(s.dir, ".deploykit", "sandbox", "runtime")
	podman := func(args ...string) string {
		cmd := exec.Command("podman", args...)
		cmd.Env = append(os.Environ(), "CONTAINERS_CONF="+filepath.Join(runtimeDir, "containers.conf"))
		out, err := cmd.Output()
		if err != nil {
			s.t.Fatalf("podman %v: %v", args, err)
		}
		return strings.TrimSpace(string(out))
	}
	ids := strings.Fields(podman("ps", "-q", "--filter", "label=org.railsecs.deploykit.owner="+runtimeDir))
	var total int64
	var detail []string
	for _, line := range strings.Split(podman(append([]string{"stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}}"}, ids...)...), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		m := sizeRE.FindStringSubmatch(f[1])
		if m == nil {
			s.t.Fatalf("podman stats: %q", line)
		}
		n, _ := strconv.ParseFloat(m[1], 64)
		n *= map[string]float64{"B": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9}[m[2]]
		total += int64(n)
		detail = append(detail, fmt.Sprintf("  %s %s", f[0], f[1]))
	}
	// mariadb/ADDR/, redis/ADDR/ and sandbox/haproxy/ hold their pid files.
	pidFiles, _ := filepath.Glob(filepath.Join(s.dir, ".deploykit", "*", "*", "*.pid"))
	for _, pf := range pidFiles {
		data, err := os.ReadFile(pf)
		if err != nil {
			continue
		}
		status, err := os.ReadFile("/proc/" + strings.TrimSpace(string(data)) + "/status")
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(status), "\n") {
			if kb, ok := strings.CutPrefix(l, "VmRSS:"); ok {
				n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(kb), " kB"), 10, 64)
				total += n << 10
				detail = append(detail, fmt.Sprintf("  %s %d kB", filepath.Base(filepath.Dir(pf)), n))
			}
		}
	}
	return total, strings.Join(detail, "\n")
}

var releaseColor = regexp.MustCompile(`data-release-color="([^"]*)"`)

// browser loads the page in headless Chromium through the load balancer:
// the script the page links ran and wrote the colour the stylesheet gave
// the release line, which must be color. It saves a screenshot.
func (s *sandbox) browser(color string) {
	s.t.Helper()
	bin := ""
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		bin = testtools.Need(s.t, "chromium")
	}
	// As root Chromium needs --no-sandbox; its profile stays in the test.
	flags := []string{"--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=" + s.t.TempDir()}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	dom, err := exec.CommandContext(ctx, bin, append(flags, "--dump-dom", s.url)...).Output()
	if err != nil {
		s.t.Fatalf("chromium --dump-dom %s: %v", s.url, err)
	}
	m := releaseColor.FindStringSubmatch(string(dom))
	if m == nil || m[1] != color {
		s.t.Errorf("in Chromium the page's script wrote release color %v, want %q (stylesheet applied, script ran):\n%s", m, color, testtools.Tail(string(dom), 20))
	}
	shot := filepath.Join(os.TempDir(), fmt.Sprintf("deploykit-sandbox-%s.png", strings.NewReplacer("(", "", ")", "", ",", "", " ", "-").Replace(color)))
	if out, err := exec.CommandContext(ctx, bin, append(flags, "--screenshot="+shot, "--window-size=800,600", s.url)...).CombinedOutput(); err != nil {
		s.t.Errorf("chromium --screenshot: %v\n%s", err, testtools.Tail(string(out), 10))
	} else {
		s.t.Logf("screenshot of the page in Chromium: %s", shot)
	}
}
