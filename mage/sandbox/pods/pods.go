// Package pods runs the sandbox's ECS tasks as podman pods: one pod per
// task, one container per container definition, sharing the pod's network
// namespace as an awsvpc task's containers share theirs (nginx reaches
// unicorn on 127.0.0.1:8080). Ports are published on 127.0.0.1 only.
package pods

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/railsecs/deploykit/mage/image"
)

// HostLoopback is the address at which a pod reaches the host's loopback
// (slirp4netns with allow_host_loopback): the sandbox's MariaDB, Redis and
// registry listen on 127.0.0.1, which inside a pod is the pod's own.
const HostLoopback = "10.0.2.2"

// TaskLabel marks the pods and containers this package starts; its value
// is the task's ARN. OwnerLabel's is the Podman's Dir: one checkout's
// environment lists and removes only its own pods.
const (
	TaskLabel = "org.railsecs.deploykit.task"
	// PodLabel names a container's pod, for a listing that leaves the
	// pod's name out.
	PodLabel   = "org.railsecs.deploykit.pod"
	OwnerLabel = "org.railsecs.deploykit.owner"
)

// containersConf is what podman needs on these machines: the kernel
// refuses to raise rlimits, crun refuses the cgroup hybrid, and there is
// no systemd journal.
const containersConf = `[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

[engine]
cgroup_manager = "cgroupfs"
runtime = "runc"
events_logger = "file"
`

// Podman runs podman with the sandbox's containers.conf, kept in Dir.
type Podman struct {
	Dir string
}

// Available says whether podman is installed.
func Available() bool {
	_, err := exec.LookPath("podman")
	return err == nil
}

func (p Podman) command(ctx context.Context, args ...string) (*exec.Cmd, error) {
	conf := filepath.Join(p.Dir, "containers.conf")
	if b, err := os.ReadFile(conf); err != nil || string(b) != containersConf {
		if err := os.MkdirAll(p.Dir, 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(conf, []byte(containersConf), 0o644); err != nil {
			return nil, err
		}
	}
	cmd := exec.CommandContext(ctx, "podman", args...)
	cmd.Env = append(os.Environ(), "CONTAINERS_CONF="+conf)
	return cmd, nil
}

func (p Podman) run(ctx context.Context, args ...string) (string, error) {
	cmd, err := p.command(ctx, args...)
	if err != nil {
		return "", err
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("podman %s: %v: %s", args[0]+" "+first(args[1:]), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

func first(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return args[0]
}

// Container is one container definition of a task, as the pod runs it.
type Container struct {
	Name, Image         string
	EntryPoint, Command []string
	// Environment is NAME=VALUE pairs (environment and resolved secrets):
	// they reach podman in a file of mode 0600, never in its argv.
	Environment []string
	Essential   bool
	StopTimeout time.Duration
	// Health is the definition's healthCheck command: ["CMD-SHELL", s]
	// or ["CMD", argv...]; empty when it has none.
	Health []string
	// DependsOn: containers that must reach a condition (START, HEALTHY,
	// COMPLETE, SUCCESS) before this one starts.
	DependsOn []Dependency
}

// Dependency is a dependsOn entry.
type Dependency struct{ Container, Condition string }

// Task is what a pod runs.
type Task struct {
	ARN  string
	Pod  string
	Dir  string // where the environment files are written
	Port int    // the container port published on 127.0.0.1 (0: none)
	// HealthWait bounds how long a dependency may take to turn HEALTHY.
	HealthWait time.Duration
	Containers []Container
}

// Started is a pod that runs: the loopback address its published port
// answers on.
type Started struct {
	Pod  string
	Addr string
}

// Start creates the task's pod and starts its containers in dependsOn
// order. A container whose dependency never reaches its condition leaves
// the pod with what started (the caller stops it).
func (p Podman) Start(ctx context.Context, t Task) (Started, error) {
	args := []string{"pod", "create", "--name", t.Pod, "--label", TaskLabel + "=" + t.ARN, "--label", OwnerLabel + "=" + p.Dir,
		"--network", "slirp4netns:allow_host_loopback=true"}
	var addr string
	if t.Port != 0 {
		port, err := freePort()
		if err != nil {
			return Started{}, err
		}
		addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		args = append(args, "-p", fmt.Sprintf("%s:%d", addr, t.Port))
	}
	if _, err := p.run(ctx, args...); err != nil {
		return Started{}, err
	}
	order, err := startOrder(t.Containers)
	if err != nil {
		return Started{Pod: t.Pod}, err
	}
	for _, c := range order {
		for _, dep := range c.DependsOn {
			if err := p.await(ctx, t, dep); err != nil {
				return Started{Pod: t.Pod, Addr: addr}, fmt.Errorf("task %s: container %s: %w", t.ARN, c.Name, err)
			}
		}
		if err := p.startContainer(ctx, t, c); err != nil {
			return Started{Pod: t.Pod, Addr: addr}, err
		}
	}
	return Started{Pod: t.Pod, Addr: addr}, nil
}

// ContainerName is the podman name of a task's container.
func ContainerName(pod, container string) string { return pod + "-" + container }

func (p Podman) startContainer(ctx context.Context, t Task, c Container) error {
	envFile := filepath.Join(t.Dir, ContainerName(t.Pod, c.Name)+".env")
	if err := os.MkdirAll(t.Dir, 0o700); err != nil {
		return err
	}
	var env strings.Builder
	for _, kv := range c.Environment {
		if strings.ContainsAny(kv, "\n") {
			return fmt.Errorf("task %s: container %s: an environment value holds a newline, which an env file cannot carry", t.ARN, c.Name)
		}
		env.WriteString(kv + "\n")
	}
	if err := os.WriteFile(envFile, []byte(env.String()), 0o600); err != nil {
		return err
	}
	args := []string{"run", "-d", "--pod", t.Pod, "--pull", "missing", "--tls-verify=" + strconv.FormatBool(!loopbackImage(c.Image)), "--name", ContainerName(t.Pod, c.Name),
		"--label", TaskLabel + "=" + t.ARN, "--label", OwnerLabel + "=" + p.Dir, "--label", PodLabel + "=" + t.Pod, "--env-file", envFile}
	if c.StopTimeout > 0 {
		args = append(args, "--stop-timeout", strconv.Itoa(int(c.StopTimeout.Seconds())))
	}
	if len(c.EntryPoint) > 0 {
		ep, _ := json.Marshal(c.EntryPoint)
		args = append(args, "--entrypoint", string(ep))
	}
	args = append(append(args, c.Image), c.Command...)
	_, err := p.run(ctx, args...)
	return err
}

// await waits until the dependency reaches its condition.
func (p Podman) await(ctx context.Context, t Task, dep Dependency) error {
	var target *Container
	for i := range t.Containers {
		if t.Containers[i].Name == dep.Container {
			target = &t.Containers[i]
		}
	}
	if target == nil {
		return fmt.Errorf("dependsOn names %q, which the task does not have", dep.Container)
	}
	deadline := time.Now().Add(max(t.HealthWait, time.Second))
	for {
		st, err := p.State(ctx, t.Pod, dep.Container)
		if err != nil {
			return err
		}
		switch dep.Condition {
		case "START", "":
			if st.Running || st.Exited {
				return nil
			}
		case "COMPLETE":
			if st.Exited {
				return nil
			}
		case "SUCCESS":
			if st.Exited && st.ExitCode == 0 {
				return nil
			}
			if st.Exited {
				return fmt.Errorf("%s exited %d before SUCCESS", dep.Container, st.ExitCode)
			}
		case "HEALTHY":
			if st.Exited {
				return fmt.Errorf("%s exited %d before it was HEALTHY", dep.Container, st.ExitCode)
			}
			if len(target.Health) == 0 {
				return fmt.Errorf("dependsOn %s HEALTHY, but %s has no healthCheck", dep.Container, dep.Container)
			}
			if p.Healthy(ctx, t.Pod, *target) {
				return nil
			}
		default:
			return fmt.Errorf("dependsOn condition %q is not START, COMPLETE, SUCCESS or HEALTHY", dep.Condition)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not reach %s within %s", dep.Container, dep.Condition, t.HealthWait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// startOrder sorts containers so each starts after those it depends on.
func startOrder(cs []Container) ([]Container, error) {
	byName := map[string]Container{}
	for _, c := range cs {
		byName[c.Name] = c
	}
	var order []Container
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(c Container) error
	visit = func(c Container) error {
		switch state[c.Name] {
		case 1:
			return fmt.Errorf("container %s: dependsOn has a cycle", c.Name)
		case 2:
			return nil
		}
		state[c.Name] = 1
		for _, d := range c.DependsOn {
			if dep, ok := byName[d.Container]; ok {
				if err := visit(dep); err != nil {
					return err
				}
			}
		}
		state[c.Name] = 2
		order = append(order, c)
		return nil
	}
	for _, c := range cs {
		if err := visit(c); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// State is a container's state as podman reports it.
type State struct {
	Running, Exited bool
	ExitCode        int
	Missing         bool
}

// State reads a container's state; a container that does not exist is
// Missing.
func (p Podman) State(ctx context.Context, pod, container string) (State, error) {
	out, err := p.run(ctx, "container", "inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", ContainerName(pod, container))
	if err != nil {
		if strings.Contains(err.Error(), "no such container") {
			return State{Missing: true}, nil
		}
		return State{}, err
	}
	status, code, _ := strings.Cut(out, " ")
	n, _ := strconv.Atoi(code)
	return State{Running: status == "running", Exited: status == "exited" || status == "stopped", ExitCode: n}, nil
}

// Healthy runs the container's healthCheck command in it, as the ECS
// agent does, and reports whether it succeeded.
func (p Podman) Healthy(ctx context.Context, pod string, c Container) bool {
	if len(c.Health) < 2 {
		return false
	}
	args := []string{"exec", ContainerName(pod, c.Name)}
	switch c.Health[0] {
	case "CMD-SHELL":
		args = append(args, "sh", "-c", strings.Join(c.Health[1:], " "))
	case "CMD":
		args = append(args, c.Health[1:]...)
	default:
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := p.run(ctx, args...)
	return err == nil
}

// Stop stops the task's containers in reverse start order, each with its
// image's STOPSIGNAL and, after its stopTimeout, SIGKILL (as ECS stops a
// task's containers), and returns their exit codes; then removes the pod.
func (p Podman) Stop(ctx context.Context, t Task) (map[string]int, error) {
	order, err := startOrder(t.Containers)
	if err != nil {
		order = t.Containers
	}
	codes := map[string]int{}
	var errs []error
	for i := len(order) - 1; i >= 0; i-- {
		c := order[i]
		timeout := c.StopTimeout
		if timeout == 0 {
			timeout = 30 * time.Second // ECS's default stopTimeout
		}
		if _, err := p.run(ctx, "stop", "-t", strconv.Itoa(int(timeout.Seconds())), ContainerName(t.Pod, c.Name)); err != nil && !strings.Contains(err.Error(), "no such container") {
			errs = append(errs, err)
		}
		if st, err := p.State(ctx, t.Pod, c.Name); err == nil && st.Exited {
			codes[c.Name] = st.ExitCode
		}
	}
	return codes, errors.Join(append(errs, p.Remove(ctx, t.Pod))...)
}

// Remove deletes a pod and its containers at once.
func (p Podman) Remove(ctx context.Context, pod string) error {
	_, err := p.run(ctx, "pod", "rm", "-f", "-t", "0", pod)
	if err != nil && strings.Contains(err.Error(), "no pod with name") {
		return nil
	}
	return err
}

// Pods lists the pods this package started: pod name to task ARN.
func (p Podman) Pods(ctx context.Context) (map[string]string, error) {
	out, err := p.run(ctx, "pod", "ps", "--filter", "label="+OwnerLabel+"="+p.Dir, "--format", "json")
	if err != nil {
		return nil, err
	}
	var list []struct {
		Name   string
		Labels map[string]string
	}
	if out != "" {
		if err := json.Unmarshal([]byte(out), &list); err != nil {
			return nil, fmt.Errorf("podman pod ps: %w", err)
		}
	}
	pods := map[string]string{}
	for _, p := range list {
		pods[p.Name] = p.Labels[TaskLabel]
	}
	return pods, nil
}

// Logs returns what a container wrote since (stdout and stderr, one line
// each, with podman's timestamps).
func (p Podman) Logs(ctx context.Context, pod, container string, since time.Time) ([]string, error) {
	// podman logs writes the container's stderr to its own stderr.
	args := []string{"logs", "--timestamps"}
	if !since.IsZero() {
		args = append(args, "--since", since.UTC().Format(time.RFC3339Nano))
	}
	cmd, err := p.command(ctx, append(args, ContainerName(pod, container))...)
	if err != nil {
		return nil, err
	}
	b, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("podman logs %s: %v: %s", ContainerName(pod, container), err, bytes.TrimSpace(b))
	}
	out := strings.TrimSpace(string(b))
	if out == "" {
		return nil, nil
	}
	return strings.Split(out, "\n"), nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// ContainerState is one container of a task's pod.
type ContainerState struct {
	Pod, Container, ARN string
	State
}

// Containers lists every container of the pods this package started, in
// one podman call.
func (p Podman) Containers(ctx context.Context) ([]ContainerState, error) {
	// --pod: without it podman 4.3 leaves PodName empty.
	out, err := p.run(ctx, "ps", "-a", "--pod", "--filter", "label="+OwnerLabel+"="+p.Dir, "--format", "json")
	if err != nil {
		return nil, err
	}
	var list []struct {
		Names    []string
		State    string
		ExitCode int
		Labels   map[string]string
		PodName  string
	}
	if out != "" {
		if err := json.Unmarshal([]byte(out), &list); err != nil {
			return nil, fmt.Errorf("podman ps: %w", err)
		}
	}
	var cs []ContainerState
	for _, c := range list {
		if c.PodName == "" {
			c.PodName = c.Labels[PodLabel]
		}
		if len(c.Names) == 0 || c.PodName == "" || !strings.HasPrefix(c.Names[0], c.PodName+"-") {
			continue // the pod's infra container
		}
		cs = append(cs, ContainerState{Pod: c.PodName, Container: strings.TrimPrefix(c.Names[0], c.PodName+"-"), ARN: c.Labels[TaskLabel],
			State: State{Running: c.State == "running", Exited: c.State == "exited" || c.State == "stopped", ExitCode: c.ExitCode}})
	}
	return cs, nil
}

// Published is the loopback address a pod publishes a container port on.
func (p Podman) Published(ctx context.Context, pod, container string, port int) (string, error) {
	out, err := p.run(ctx, "port", ContainerName(pod, container), strconv.Itoa(port))
	if err != nil {
		return "", err
	}
	addr := strings.TrimSpace(strings.Split(out, "\n")[0])
	if addr == "" {
		return "", fmt.Errorf("pod %s publishes no port for %s:%d", pod, container, port)
	}
	return addr, nil
}

// loopbackImage: the image's registry is a loopback one (the sandbox's,
// plain HTTP).
func loopbackImage(ref string) bool {
	host, _, ok := strings.Cut(ref, "/")
	return ok && image.Loopback(host)
}

// Exec runs args in a running container of a pod, attached to the given
// streams (with a terminal when tty), as `podman exec` does, and returns
// the command's exit code.
func (p Podman) Exec(ctx context.Context, pod, container string, args []string, stdin io.Reader, stdout, stderr io.Writer, tty bool) (int, error) {
	flags := []string{"exec", "-i"}
	if tty {
		flags = append(flags, "-t")
	}
	cmd, err := p.command(ctx, append(append(flags, ContainerName(pod, container)), args...)...)
	if err != nil {
		return 0, err
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), nil
	}
	return 0, err
}
