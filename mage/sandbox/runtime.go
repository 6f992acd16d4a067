package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/railsecs/deploykit/mage/awsfake"
	"github.com/railsecs/deploykit/mage/config"
	"github.com/railsecs/deploykit/mage/sandbox/lb"
	"github.com/railsecs/deploykit/mage/sandbox/pods"
)

// Runtime runs the double's service tasks for real: each as a podman pod
// of its task definition's containers, the load-balanced service's behind
// HAProxy. It starts the tasks the double's scheduler wants, reports them
// healthy (health checks, then the target group's check, then registered)
// or exited, and stops the ones it no longer wants: deregistered and
// drained first, then each container's stop signal and stopTimeout, as
// ECS and the ALB do. Only the process holding the deploy lock reconciles
// (two would start the same task twice); any process reads the pods' logs.
type Runtime struct {
	fake    *awsfake.Server
	podman  pods.Podman
	lb      lb.HAProxy
	lbc     config.LocalLoadBalancer
	cluster string
	dir     string   // containers' env files
	env     []string // the sandbox's switches, for the tasks it starts
	out     io.Writer

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	busy     map[string]bool      // task ARN: a start or stop is under way
	starting map[string]bool      // pod: this process is making it (podman's list may lag)
	logSince map[string]time.Time // pod/container: the last line read
	// leftovers: pod: how often a start found it already made
	leftovers map[string]int
}

// NewRuntime prepares the runtime for env; nil when the environment has
// no local_load_balancer or podman is missing (tasks then stay the
// double's model, as before).
func NewRuntime(cfg *config.Config, env *config.Environment, fake *awsfake.Server, switches []string, out io.Writer) (*Runtime, error) {
	if env.LocalLoadBalancer == nil {
		return nil, nil
	}
	if !pods.Available() {
		fmt.Fprintln(out, "sandbox: podman is not installed, so tasks do not really run (scripts/setup installs it)")
		return nil, nil
	}
	lbc := env.LocalLoadBalancer.Defaults()
	dir := runtimeDir(cfg, env)
	r := &Runtime{fake: fake, podman: pods.Podman{Dir: dir}, lbc: lbc, cluster: env.Cluster, dir: filepath.Join(dir, "env"),
		env: switches, out: out, busy: map[string]bool{}, starting: map[string]bool{}, logSince: map[string]time.Time{}, leftovers: map[string]int{}}
	r.lb = lb.HAProxy{Dir: cfg.LocalDir(env.Name, "haproxy"), Listen: lbc.Listen, HealthPath: lbc.HealthCheckPath,
		Interval: time.Duration(lbc.HealthCheckInterval) * time.Second, Healthy: lbc.HealthyThreshold, Unhealthy: lbc.UnhealthyThreshold}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	return r, nil
}

// URL is where the load balancer answers.
func (r *Runtime) URL() string { return "http://" + r.lbc.Listen + "/" }

// Reconcile starts the load balancer and the loop that makes the pods
// follow the double, until Close.
func (r *Runtime) Reconcile(ctx context.Context) error {
	started, err := r.lb.Start(ctx)
	if err != nil {
		return err
	}
	if started {
		fmt.Fprintf(r.out, "sandbox: load balancer (HAProxy) on %s; it keeps running for later commands: go run mage.go sandbox:down stops it\n", r.lbc.Listen)
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for r.ctx.Err() == nil {
			r.tick(false)
			select {
			case <-r.ctx.Done():
			case <-time.After(500 * time.Millisecond):
			}
		}
	}()
	return nil
}

// PumpLogs copies what the pods' containers wrote into the double's
// log streams every second until Close: `mage logs` shows real lines.
func (r *Runtime) PumpLogs() {
	r.pumpLogs(r.ctx) // what is there already, before any command reads
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for r.ctx.Err() == nil {
			r.pumpLogs(r.ctx)
			select {
			case <-r.ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}()
}

// Close stops the loop after a last pass, lets the stops under way
// finish (drains and stop timeouts are bounded), abandons the starts
// (their pods are removed; the next command starts them again), and reads
// the logs once more.
func (r *Runtime) Close(reconcile bool) {
	if reconcile {
		r.tick(true)
	}
	r.cancel()
	r.wg.Wait()
	r.pumpLogs(context.Background())
}

func (r *Runtime) podName(t awsfake.ServiceTask) string {
	id := t.ARN[strings.LastIndexByte(t.ARN, '/')+1:]
	return fmt.Sprintf("%s-%s-%s", r.cluster, t.Service, id[:min(len(id), 12)])
}

// claim marks a task busy; false when something already works on it.
func (r *Runtime) claim(arn string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.busy[arn] {
		return false
	}
	r.busy[arn] = true
	return true
}

// isStarting: this process is making the pod.
func (r *Runtime) isStarting(pod string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.starting[pod]
}

func (r *Runtime) setStarting(pod string, starting bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if starting {
		r.starting[pod] = true
	} else {
		delete(r.starting, pod)
	}
}

// leftover counts the starts that found the pod already there.
func (r *Runtime) leftover(pod string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.leftovers[pod]++
	return r.leftovers[pod]
}

func (r *Runtime) release(arn string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.busy, arn)
}

// async runs f for the task's ARN in the background, once at a time.
func (r *Runtime) async(arn string, f func()) {
	if !r.claim(arn) {
		return
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer r.release(arn)
		f()
	}()
}

type podView struct {
	arn        string
	containers map[string]pods.State
}

// tick compares the double's wanted tasks with the pods and starts,
// checks or stops what differs; Close's last pass (final) only stops.
func (r *Runtime) tick(final bool) {
	ctx := r.ctx
	if final {
		ctx = context.Background()
	}
	states, err := r.podman.Containers(ctx)
	if err != nil {
		if ctx.Err() == nil {
			fmt.Fprintf(r.out, "WARNING: sandbox: %v\n", err)
		}
		return
	}
	byPod := map[string]*podView{}
	for _, c := range states {
		v := byPod[c.Pod]
		if v == nil {
			v = &podView{arn: c.ARN, containers: map[string]pods.State{}}
			byPod[c.Pod] = v
		}
		v.containers[c.Container] = c.State
	}
	known := map[string]awsfake.ServiceTask{}
	for _, t := range r.fake.ServiceTasks() {
		if t.Cluster != r.cluster {
			continue
		}
		known[t.ARN] = t
		if final || !t.Wanted {
			continue
		}
		name := r.podName(t)
		v := byPod[name]
		switch {
		case v == nil && r.isStarting(name):
			// Started by this process after podman listed the pods.
		case v == nil:
			r.async(t.ARN, func() { r.start(t) })
		case r.exitedEssential(t, v):
			r.async(t.ARN, func() { r.failed(t, "") })
		case !t.Healthy:
			// A pod from an earlier command, or one whose health this
			// process has not seen: check it and register it.
			r.async(t.ARN, func() {
				if err := r.becomeHealthy(r.ctx, t); err != nil && r.ctx.Err() == nil {
					r.failed(t, err.Error())
				}
			})
		}
	}
	// Weights first: a rollback's returning tasks take traffic again
	// before the tasks it leaves drain, or no target would take it.
	servers, serversErr := r.lb.Servers(ctx)
	if serversErr == nil && !final {
		for _, s := range servers {
			v := byPod[s.Name]
			if v == nil || s.Drain {
				continue
			}
			if t, ok := known[v.arn]; ok && t.Wanted && t.Healthy && lb.Weight(t.TrafficShare) != s.Weight {
				if err := r.lb.SetWeight(ctx, s.Name, lb.Weight(t.TrafficShare)); err != nil && ctx.Err() == nil {
					fmt.Fprintf(r.out, "WARNING: sandbox: %v\n", err)
				}
			}
		}
	}
	for name, v := range byPod {
		if t, ok := known[v.arn]; !ok || !t.Wanted {
			r.async(v.arn, func() { r.stop(name, v, t) })
		}
	}
	// Targets whose pod is gone (removed by hand, a killed run) leave the
	// load balancer.
	if serversErr == nil {
		for _, s := range servers {
			if byPod[s.Name] == nil && !r.isStarting(s.Name) {
				_ = r.lb.Deregister(ctx, s.Name)
			}
		}
	}
}

func (r *Runtime) exitedEssential(t awsfake.ServiceTask, v *podView) bool {
	for _, c := range t.Containers {
		if st, ok := v.containers[c.Name]; ok && c.Essential && st.Exited {
			return true
		}
	}
	return false
}

// podTask is the pod a service task runs as.
func (r *Runtime) podTask(t awsfake.ServiceTask) pods.Task {
	pt := pods.Task{ARN: t.ARN, Pod: r.podName(t), Dir: r.dir, HealthWait: 3 * time.Minute}
	for _, c := range t.Containers {
		pc := pods.Container{Name: c.Name, Image: c.Image, EntryPoint: c.EntryPoint, Command: c.Command,
			Essential: c.Essential, StopTimeout: c.StopTimeout, Health: c.Health}
		for _, kv := range append(append([]string{}, c.Environment...), r.env...) {
			pc.Environment = append(pc.Environment, hostLoopback(kv))
		}
		for _, d := range c.DependsOn {
			pc.DependsOn = append(pc.DependsOn, pods.Dependency{Container: d[0], Condition: d[1]})
		}
		if t.Service == r.lbc.Service && c.Name == r.lbc.Container {
			pt.Port = r.lbc.Port
		}
		pt.Containers = append(pt.Containers, pc)
	}
	return pt
}

// hostLoopback points a variable's loopback addresses (the sandbox's
// MariaDB and Redis in DATABASE_URL, REDIS_URL) at the host's loopback as
// a pod reaches it: inside the pod 127.0.0.1 is the task's own.
func hostLoopback(kv string) string {
	name, value, _ := strings.Cut(kv, "=")
	value = strings.ReplaceAll(value, "127.0.0.1", pods.HostLoopback)
	value = strings.ReplaceAll(value, "://localhost", "://"+pods.HostLoopback)
	return name + "=" + value
}

func (r *Runtime) start(t awsfake.ServiceTask) {
	pt := r.podTask(t)
	fmt.Fprintf(r.out, "sandbox: task %s (%s): starting pod %s\n", shortID(t.ARN), t.Service, pt.Pod)
	r.setStarting(pt.Pod, true)
	if _, err := r.podman.Start(r.ctx, pt); err != nil {
		if strings.Contains(err.Error(), "already exists") {
			// podman listed the pods before it was made: the next pass
			// sees it. Met again, the pod is a leftover without its
			// containers (a start cut short): removed, so the next pass
			// makes it whole; a third time, the task fails.
			r.setStarting(pt.Pod, false)
			switch r.leftover(pt.Pod) {
			case 1:
			case 2, 3:
				fmt.Fprintf(r.out, "sandbox: task %s (%s): pod %s exists without its containers (%s): removing it to start it again\n", shortID(t.ARN), t.Service, pt.Pod, strings.TrimSpace(strings.SplitN(err.Error(), "\n", 2)[0]))
				_ = r.podman.Remove(r.ctx, pt.Pod)
			default:
				r.failed(t, err.Error())
			}
			return
		}
		if r.ctx.Err() != nil {
			_ = r.podman.Remove(context.Background(), pt.Pod)
			r.setStarting(pt.Pod, false)
			return
		}
		r.failed(t, err.Error())
		return
	}
	if err := r.becomeHealthy(r.ctx, t); err != nil {
		if r.ctx.Err() != nil {
			_ = r.podman.Remove(context.Background(), pt.Pod)
			r.setStarting(pt.Pod, false)
			return
		}
		r.failed(t, err.Error())
	}
}

// becomeHealthy waits for the task's health checks, then (behind the load
// balancer) for the target group's check, registers it, and reports it
// healthy to the double.
func (r *Runtime) becomeHealthy(ctx context.Context, t awsfake.ServiceTask) error {
	pt := r.podTask(t)
	var wait time.Duration
	for _, c := range t.Containers {
		wait = max(wait, c.HealthStartPeriod+c.HealthInterval*time.Duration(c.HealthRetries+1))
	}
	deadline := time.Now().Add(min(max(wait, 30*time.Second), 5*time.Minute))
	for {
		healthy := true
		for _, c := range pt.Containers {
			st, err := r.podman.State(ctx, pt.Pod, c.Name)
			if err != nil {
				return err
			}
			if c.Essential && (st.Exited || st.Missing) {
				return fmt.Errorf("essential container %s exited %d", c.Name, st.ExitCode)
			}
			if len(c.Health) > 0 && !r.podman.Healthy(ctx, pt.Pod, c) {
				healthy = false
			}
		}
		if healthy {
			break
		}
		if time.Now().After(deadline) {
			return errors.New("task failed container health checks")
		}
		if err := sleep(ctx, time.Second); err != nil {
			return err
		}
	}
	if pt.Port != 0 {
		addr, err := r.podman.Published(ctx, pt.Pod, r.lbc.Container, pt.Port)
		if err != nil {
			return err
		}
		if err := r.targetHealthy(ctx, addr, deadline); err != nil {
			return err
		}
		// A staged deployment's new tasks join with no production traffic
		// until its shift: the weight is the double's listener weights'.
		if err := r.lb.Register(ctx, pt.Pod, addr, lb.Weight(t.TrafficShare)); err != nil {
			return err
		}
		fmt.Fprintf(r.out, "sandbox: task %s (%s): healthy, registered with the load balancer (%s)\n", shortID(t.ARN), t.Service, addr)
	} else {
		fmt.Fprintf(r.out, "sandbox: task %s (%s): running and healthy\n", shortID(t.ARN), t.Service)
	}
	r.fake.TaskHealthy(t.ARN)
	return nil
}

// targetHealthy: the target group's check passes HealthyThreshold times
// in a row, Interval apart.
func (r *Runtime) targetHealthy(ctx context.Context, addr string, deadline time.Time) error {
	client := http.Client{Timeout: 5 * time.Second}
	url := "http://" + addr + r.lbc.HealthCheckPath
	passed := 0
	for passed < r.lbc.HealthyThreshold {
		resp, err := client.Get(url)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		if err == nil && resp.StatusCode == http.StatusOK {
			passed++
			if passed == r.lbc.HealthyThreshold {
				return nil
			}
		} else {
			passed = 0
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("target group health check GET %s: not healthy (last: %v)", r.lbc.HealthCheckPath, statusOrErr(resp, err))
		}
		if err := sleep(ctx, time.Duration(r.lbc.HealthCheckInterval)*time.Second); err != nil {
			return err
		}
	}
	return nil
}

func statusOrErr(resp *http.Response, err error) string {
	if err != nil {
		return err.Error()
	}
	return resp.Status
}

// failed stops a task whose essential container exited or that failed its
// health checks, and reports it to the double (which replaces it and
// counts it toward the circuit breaker).
func (r *Runtime) failed(t awsfake.ServiceTask, why string) {
	ctx := context.Background()
	pt := r.podTask(t)
	_ = r.lb.Deregister(ctx, pt.Pod)
	container, code := "", 1
	for _, c := range pt.Containers {
		if st, err := r.podman.State(ctx, pt.Pod, c.Name); err == nil && c.Essential && st.Exited {
			container, code = c.Name, st.ExitCode
			break
		}
	}
	r.copyLogs(ctx, pt.Pod, t)
	codes, _ := r.podman.Stop(ctx, pt)
	if container == "" && len(codes) > 0 {
		// Unhealthy, or not registered: ECS stops the task; its
		// containers' codes are those of the stop.
		for _, c := range pt.Containers {
			if n, ok := codes[c.Name]; ok && c.Essential {
				code = n
			}
		}
		fmt.Fprintf(r.out, "sandbox: task %s (%s): stopped (exit code %d)%s\n", shortID(t.ARN), t.Service, code, prefixed(": ", why))
	} else if container == "" {
		fmt.Fprintf(r.out, "sandbox: task %s (%s): failed to start%s\n", shortID(t.ARN), t.Service, prefixed(": ", why))
	} else {
		fmt.Fprintf(r.out, "sandbox: task %s (%s): stopped, essential container %s exited %d%s\n", shortID(t.ARN), t.Service, container, code, prefixed(": ", why))
	}
	r.fake.TaskExited(t.ARN, container, code, why)
	r.setStarting(pt.Pod, false)
}

func prefixed(p, s string) string {
	if s == "" {
		return ""
	}
	return p + s
}

// stop takes a task out of service as ECS does: deregistered from the
// target group, drained until no request is in flight or the
// deregistration delay ends, then its containers stopped in reverse
// dependency order, each with its stop signal and stopTimeout.
// t is the double's task, when it still knows it: its containers' stop
// timeouts and order; else the pod's containers stop with the defaults.
func (r *Runtime) stop(pod string, v *podView, t awsfake.ServiceTask) {
	ctx := context.Background()
	if err := r.drain(ctx, pod); err != nil {
		fmt.Fprintf(r.out, "WARNING: sandbox: drain %s: %v\n", pod, err)
	}
	pt := pods.Task{ARN: v.arn, Pod: pod}
	if t.ARN != "" {
		pt = r.podTask(t)
	}
	if len(pt.Containers) == 0 {
		for name := range v.containers {
			pt.Containers = append(pt.Containers, pods.Container{Name: name})
		}
	}
	start := time.Now()
	codes, err := r.podman.Stop(ctx, pt)
	if err != nil {
		fmt.Fprintf(r.out, "WARNING: sandbox: stop %s: %v\n", pod, err)
	}
	fmt.Fprintf(r.out, "sandbox: task %s: stopped pod %s in %s, exit codes %v\n", shortID(v.arn), pod, time.Since(start).Round(100*time.Millisecond), codes)
	r.setStarting(pod, false)
}

func (r *Runtime) drain(ctx context.Context, pod string) error {
	registered, err := r.lb.Drain(ctx, pod)
	if err != nil || !registered {
		return err
	}
	delay := time.Duration(*r.lbc.DeregistrationDelay) * time.Second
	fmt.Fprintf(r.out, "sandbox: %s: deregistered, draining (up to %s)\n", pod, delay)
	// "If a deregistering target has no in-flight requests and no active
	// connections, Elastic Load Balancing immediately completes the
	// deregistration process" (ALB target groups guide).
	for deadline := time.Now().Add(delay); time.Now().Before(deadline); {
		idle := true
		servers, err := r.lb.Servers(ctx)
		if err != nil {
			return err
		}
		for _, s := range servers {
			if s.Name == pod && s.Current > 0 {
				idle = false
			}
		}
		if idle {
			break
		}
		_ = sleep(ctx, 200*time.Millisecond)
	}
	return r.lb.Deregister(ctx, pod)
}

// pumpLogs copies new container output of every pod into the double.
func (r *Runtime) pumpLogs(ctx context.Context) {
	states, err := r.podman.Containers(ctx)
	if err != nil {
		return
	}
	tasks := map[string]awsfake.ServiceTask{}
	for _, t := range r.fake.ServiceTasks() {
		tasks[t.ARN] = t
	}
	seen := map[string]bool{}
	for _, c := range states {
		if t, ok := tasks[c.ARN]; ok && !seen[c.Pod] {
			seen[c.Pod] = true
			r.copyLogs(ctx, c.Pod, t)
		}
	}
}

func (r *Runtime) copyLogs(ctx context.Context, pod string, t awsfake.ServiceTask) {
	for _, c := range t.Containers {
		if c.LogGroup == "" {
			continue
		}
		key := pod + "/" + c.Name
		r.mu.Lock()
		since := r.logSince[key]
		r.mu.Unlock()
		lines, err := r.podman.Logs(ctx, pod, c.Name, since)
		if err != nil {
			continue
		}
		var out []awsfake.LogLine
		last := since
		for _, l := range lines {
			ts, msg, ok := strings.Cut(l, " ")
			at, err := time.Parse(time.RFC3339Nano, ts)
			if !ok || err != nil || !at.After(since) {
				continue
			}
			out = append(out, awsfake.LogLine{At: at, Message: msg})
			last = at
		}
		r.fake.AppendLogs(t.ARN, c.Name, out)
		r.mu.Lock()
		r.logSince[key] = last
		r.mu.Unlock()
	}
}

func shortID(arn string) string {
	id := arn[strings.LastIndexByte(arn, '/')+1:]
	return id[:min(len(id), 12)]
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// StopPods removes every pod the sandbox's runtime started (sandbox:down).
func StopPods(ctx context.Context, dir string, out io.Writer) error {
	if !pods.Available() {
		return nil
	}
	p := pods.Podman{Dir: dir}
	list, err := p.Pods(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for name := range list {
		if err := p.Remove(ctx, name); err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(out, "sandbox: removed pod %s\n", name)
	}
	return errors.Join(errs...)
}

func runtimeDir(cfg *config.Config, env *config.Environment) string {
	return cfg.LocalDir(env.Name, "runtime")
}

// RuntimePods is the podman that runs env's tasks, or nil when they do not
// really run.
func RuntimePods(cfg *config.Config, env *config.Environment) *pods.Podman {
	if env.LocalLoadBalancer == nil {
		return nil
	}
	return &pods.Podman{Dir: runtimeDir(cfg, env)}
}
