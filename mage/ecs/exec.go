package ecs

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// ExecAPI is what Exec needs from ECS.
type ExecAPI interface {
	API
	ExecuteCommand(ctx context.Context, in *ecs.ExecuteCommandInput, opts ...func(*ecs.Options)) (*ecs.ExecuteCommandOutput, error)
}

// ExecTarget is the task and container a command runs in.
type ExecTarget struct {
	Cluster, Service, TaskArn, Container string
}

// EnableExecHint says how to turn ECS Exec on in the reference terraform.
const EnableExecHint = "set enable_execute_command = true on the aws_ecs_service (terraform/modules/rails-app does, through var.enable_execute_command), " +
	"give the task role ssmmessages:CreateControlChannel/CreateDataChannel/OpenControlChannel/OpenDataChannel (terraform/modules/rails-app-iam does), " +
	"and deploy: only tasks started after the change have the agent"

// PickExecTarget chooses a RUNNING task of the service, preferring the
// newest of its PRIMARY deployment, whose ECS Exec agent runs. container
// "" picks the one container that runs appContainers' first match, or the
// task's only container.
func PickExecTarget(ctx context.Context, api API, cluster, service, container string, appContainers []string) (ExecTarget, error) {
	described, err := api.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{service}})
	if err != nil {
		return ExecTarget{}, fmt.Errorf("describe service %s in cluster %s: %w", service, cluster, err)
	}
	if len(described.Services) == 0 {
		return ExecTarget{}, fmt.Errorf("service %s is not in cluster %s", service, cluster)
	}
	svc := described.Services[0]
	if !svc.EnableExecuteCommand {
		return ExecTarget{}, fmt.Errorf("service %s does not have enableExecuteCommand: %s", service, EnableExecHint)
	}
	primary := ""
	for _, d := range svc.Deployments {
		if aws.ToString(d.Status) == "PRIMARY" {
			primary = aws.ToString(d.Id)
		}
	}
	arns, err := ListTaskArns(ctx, api, &ecs.ListTasksInput{Cluster: aws.String(cluster), ServiceName: aws.String(service), DesiredStatus: types.DesiredStatusRunning})
	if err != nil {
		return ExecTarget{}, fmt.Errorf("list tasks of service %s: %w", service, err)
	}
	if len(arns) == 0 {
		return ExecTarget{}, fmt.Errorf("service %s has no running task", service)
	}
	tasks, err := DescribeTasksBatched(ctx, api, cluster, arns, false)
	if err != nil {
		return ExecTarget{}, err
	}
	var running []types.Task
	for _, t := range tasks {
		if aws.ToString(t.LastStatus) == "RUNNING" {
			running = append(running, t)
		}
	}
	if len(running) == 0 {
		return ExecTarget{}, fmt.Errorf("service %s has no task in RUNNING yet (%d starting)", service, len(tasks))
	}
	sort.SliceStable(running, func(i, j int) bool {
		pi, pj := aws.ToString(running[i].StartedBy) == primary, aws.ToString(running[j].StartedBy) == primary
		if pi != pj {
			return pi
		}
		return aws.ToTime(running[i].StartedAt).After(aws.ToTime(running[j].StartedAt))
	})
	var lastErr error
	for _, t := range running {
		c, err := execContainer(t, container, appContainers)
		if err != nil {
			return ExecTarget{}, fmt.Errorf("service %s: %w", service, err)
		}
		if !t.EnableExecuteCommand {
			lastErr = fmt.Errorf("task %s of service %s was started without ECS Exec: %s", ShortID(aws.ToString(t.TaskArn)), service, EnableExecHint)
			continue
		}
		if agent := execAgent(c); agent != "RUNNING" {
			lastErr = &AgentNotRunningError{Task: aws.ToString(t.TaskArn), Container: aws.ToString(c.Name), Status: cmp.Or(agent, "missing")}
			continue
		}
		return ExecTarget{Cluster: cluster, Service: service, TaskArn: aws.ToString(t.TaskArn), Container: aws.ToString(c.Name)}, nil
	}
	return ExecTarget{}, lastErr
}

// AgentNotRunningError: the task runs, but its ECS Exec agent does not
// yet: it starts after the task is RUNNING.
type AgentNotRunningError struct{ Task, Container, Status string }

func (e *AgentNotRunningError) Error() string {
	return fmt.Sprintf("the ECS Exec agent in container %s of task %s is %s, not RUNNING (it starts after the task is RUNNING); try again in a minute", e.Container, ShortID(e.Task), e.Status)
}

// AgentWait is how long exec waits for a starting task's ECS Exec agent.
const AgentWait = time.Minute

// WaitExecTarget is PickExecTarget, waiting up to within (and saying so
// once on out) while the chosen task's ECS Exec agent has not started.
func WaitExecTarget(ctx context.Context, api API, out io.Writer, within time.Duration, cluster, service, container string, appContainers []string) (ExecTarget, error) {
	deadline := time.Now().Add(within)
	said := false
	for {
		target, err := PickExecTarget(ctx, api, cluster, service, container, appContainers)
		var pending *AgentNotRunningError
		if !errors.As(err, &pending) || time.Now().After(deadline) {
			return target, err
		}
		if !said {
			fmt.Fprintf(out, "exec: the ECS Exec agent in %s of task %s is %s (it starts after the task is RUNNING): waiting up to %s\n", pending.Container, ShortID(pending.Task), pending.Status, within)
			said = true
		}
		if err := sleepCtx(ctx, time.Second); err != nil {
			return ExecTarget{}, err
		}
	}
}

// agentNotReady: ExecuteCommand's answers while the agent starts or the
// session cannot reach it yet.
func agentNotReady(err error) bool {
	var notConnected *types.TargetNotConnectedException
	if errors.As(err, &notConnected) {
		return true
	}
	var invalid *types.InvalidParameterException
	return errors.As(err, &invalid) && strings.Contains(invalid.ErrorMessage(), "agent isn")
}

func execContainer(t types.Task, want string, appContainers []string) (types.Container, error) {
	var names []string
	for _, c := range t.Containers {
		names = append(names, aws.ToString(c.Name))
	}
	pick := want
	if pick == "" {
		switch {
		case len(t.Containers) == 1:
			pick = names[0]
		default:
			for _, app := range appContainers {
				for _, n := range names {
					if pick == "" && n == app {
						pick = n
					}
				}
			}
		}
	}
	for _, c := range t.Containers {
		if aws.ToString(c.Name) == pick {
			return c, nil
		}
	}
	if want == "" {
		return types.Container{}, fmt.Errorf("its tasks run %s: say which with -container", strings.Join(names, ", "))
	}
	return types.Container{}, fmt.Errorf("no container %q in its tasks (they run %s)", want, strings.Join(names, ", "))
}

func execAgent(c types.Container) string {
	for _, a := range c.ManagedAgents {
		if a.Name == types.ManagedAgentNameExecuteCommandAgent {
			return aws.ToString(a.LastStatus)
		}
	}
	return ""
}

// SessionPlugin hands an ECS Exec session to the client that speaks SSM's
// data channel.
type SessionPlugin interface {
	Start(ctx context.Context, s Session) error
}

// Session is what the session-manager-plugin needs, as the aws CLI passes
// it: the ExecuteCommand session (with its token), the region, the
// profile, the SSM target "ecs:CLUSTER_TASK_RUNTIMEID" and the endpoint.
type Session struct {
	Response                    *types.Session
	Region, Profile, Endpoint   string
	Target                      string
	Cluster, TaskArn, Container string
	Image                       string // the container's image, as DescribeTasks reports it
	Command                     string
	// AgentWait bounds the retries of ExecuteCommand while the agent
	// starts; Progress, when set, hears about them once.
	AgentWait time.Duration
	Progress  io.Writer
}

// Exec runs command in the target's container through ECS Exec: the
// ExecuteCommand call, then the session handed to the plugin.
func Exec(ctx context.Context, api ExecAPI, target ExecTarget, command string, s Session, plugin SessionPlugin) error {
	in := &ecs.ExecuteCommandInput{
		Cluster: aws.String(target.Cluster), Task: aws.String(target.TaskArn), Container: aws.String(target.Container),
		Command: aws.String(command), Interactive: true,
	}
	out, err := api.ExecuteCommand(ctx, in)
	// The agent can still be starting, or the session not yet connect
	// (TargetNotConnectedException): retry that window, bounded.
	for deadline := time.Now().Add(s.AgentWait); err != nil && agentNotReady(err) && time.Now().Before(deadline); {
		if s.Progress != nil {
			fmt.Fprintf(s.Progress, "exec: %s in task %s is not ready for a session yet (%v): retrying\n", target.Container, ShortID(target.TaskArn), err)
			s.Progress = nil // once
		}
		if serr := sleepCtx(ctx, time.Second); serr != nil {
			return serr
		}
		out, err = api.ExecuteCommand(ctx, in)
	}
	if err != nil {
		return fmt.Errorf("ExecuteCommand in %s of task %s: %w", target.Container, ShortID(target.TaskArn), err)
	}
	// The SSM target names the container by its runtime ID, which only
	// DescribeTasks tells.
	tasks, err := api.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(target.Cluster), Tasks: []string{target.TaskArn}})
	if err != nil {
		return fmt.Errorf("describe task %s: %w", ShortID(target.TaskArn), err)
	}
	if len(tasks.Tasks) == 0 {
		return fmt.Errorf("task %s stopped before the session started", ShortID(target.TaskArn))
	}
	runtime := ""
	for _, c := range tasks.Tasks[0].Containers {
		if aws.ToString(c.Name) == target.Container {
			runtime, s.Image = aws.ToString(c.RuntimeId), aws.ToString(c.Image)
		}
	}
	s.Response = out.Session
	s.Target = fmt.Sprintf("ecs:%s_%s_%s", target.Cluster[strings.LastIndexByte(target.Cluster, '/')+1:], ShortID(target.TaskArn), runtime)
	s.Cluster, s.TaskArn, s.Container, s.Command = target.Cluster, target.TaskArn, target.Container, command
	return plugin.Start(ctx, s)
}

// ErrNoPlugin is returned when the session-manager-plugin is not on PATH.
var ErrNoPlugin = errors.New("the session-manager-plugin is not installed: install it as https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager-working-with-install-plugin.html says (macOS: brew install --cask session-manager-plugin; Debian/Ubuntu: the .deb from that page), then try again")

// ManagerPlugin runs AWS's session-manager-plugin as the aws CLI does,
// except that the session (its token included) goes through an
// environment variable the plugin reads and unsets, never argv.
type ManagerPlugin struct {
	Path string // default: session-manager-plugin on PATH
	// Stdin, Stdout, Stderr default to the process's: the session is the
	// operator's terminal.
	Stdin          *os.File
	Stdout, Stderr *os.File
	// IgnoreSignals: while the plugin runs, Ctrl-C, Ctrl-\ and Ctrl-Z are
	// its to forward to the remote command, not ours to die of (the aws
	// CLI ignores them too).
	IgnoreSignals bool
}

// LookPlugin finds the plugin, or says how to install it.
func (p ManagerPlugin) LookPlugin() (string, error) {
	name := cmp.Or(p.Path, "session-manager-plugin")
	path, err := exec.LookPath(name)
	if err != nil {
		return "", ErrNoPlugin
	}
	return path, nil
}

func (p ManagerPlugin) Start(ctx context.Context, s Session) error {
	path, err := p.LookPlugin()
	if err != nil {
		return err
	}
	// The wire names, as the CLI passes ExecuteCommand's session on.
	response, err := json.Marshal(map[string]string{
		"sessionId": aws.ToString(s.Response.SessionId), "streamUrl": aws.ToString(s.Response.StreamUrl), "tokenValue": aws.ToString(s.Response.TokenValue),
	})
	if err != nil {
		return err
	}
	params, _ := json.Marshal(map[string]string{"Target": s.Target})
	suffix := make([]byte, 6)
	rand.Read(suffix)
	envName := "AWS_SSM_START_SESSION_RESPONSE_" + hex.EncodeToString(suffix)
	cmd := exec.CommandContext(ctx, path, envName, s.Region, "StartSession", s.Profile, string(params), s.Endpoint)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) } // SIGTERM from CI: let it close the session
	cmd.Env = append(os.Environ(), envName+"="+string(response))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = p.Stdin, p.Stdout, p.Stderr
	if cmd.Stdin == nil {
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	}
	if p.IgnoreSignals {
		signal.Ignore(os.Interrupt, syscall.SIGQUIT, syscall.SIGTSTP)
		defer signal.Reset(os.Interrupt, syscall.SIGQUIT, syscall.SIGTSTP)
	}
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return fmt.Errorf("session %s in %s of task %s ended with exit status %d", aws.ToString(s.Response.SessionId), s.Container, ShortID(s.TaskArn), ee.ExitCode())
		}
		return fmt.Errorf("run %s: %w", path, err)
	}
	return nil
}
