package awsfake

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
)

// ExecSession is one ExecuteCommand call the double accepted, for tests
// to check what was asked of ECS.
type ExecSession struct {
	Cluster, Task, Container, Command string
	Interactive                       bool
	SessionID                         string
}

// ExecSessions returns the ExecuteCommand calls accepted so far.
func (s *Server) ExecSessions() []ExecSession {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ExecSession(nil), s.execs...)
}

// executeCommand starts an ECS Exec session as ECS does: only on a
// RUNNING task started with enableExecuteCommand (its agent running),
// only interactively, naming the container when the task has several.
// The session is SSM's: an ID, a stream URL and a token that only the
// session-manager-plugin uses.
func (s *Server) executeCommand(body []byte) (any, error) {
	var in struct {
		Cluster     string `json:"cluster"`
		Container   string `json:"container"`
		Command     string `json:"command"`
		Interactive *bool  `json:"interactive"`
		Task        string `json:"task"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.Command == "" || in.Task == "" || in.Interactive == nil {
		return nil, clientErr("InvalidParameterException", "command, task and interactive are required.")
	}
	if !*in.Interactive {
		return nil, clientErr("InvalidParameterException", "Interactive is the only mode supported currently.")
	}
	cluster, err := s.cluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	arn := in.Task
	if !strings.HasPrefix(arn, "arn:") {
		arn = s.arn("task", cluster+"/"+in.Task)
	}
	t, ok := s.tasks[arn]
	if !ok || clusterName(t.cluster) != cluster || !s.visible(t) {
		return nil, clientErr("InvalidParameterException", "The specified task is not found.")
	}
	if last, _ := s.state(t); last != "RUNNING" {
		return nil, clientErr("InvalidParameterException", "The execute command failed because the task is not in RUNNING state.")
	}
	if !t.execEnabled || s.execAgentStatus(t, "RUNNING") != "RUNNING" {
		return nil, clientErr("InvalidParameterException", "The execute command failed because execute command was not enabled when the task was run or the execute command agent isn’t running. Wait and try again or run a new task with execute command enabled and try again.")
	}
	container := in.Container
	if container == "" {
		if len(t.containers) > 1 {
			return nil, clientErr("InvalidParameterException", "The container name must be specified when the task has more than one container.")
		}
		container = t.containers[0].Name
	}
	found := false
	for _, c := range t.containers {
		found = found || c.Name == container
	}
	if !found {
		return nil, clientErr("InvalidParameterException", "The specified container %s is not found in the task.", container)
	}
	id := make([]byte, 9)
	rand.Read(id)
	token := make([]byte, 32)
	rand.Read(token)
	session := "ecs-execute-command-" + hex.EncodeToString(id)
	s.execs = append(s.execs, ExecSession{Cluster: cluster, Task: taskID(arn), Container: container, Command: in.Command, Interactive: true, SessionID: session})
	return map[string]any{
		"clusterArn": s.arn("cluster", cluster), "taskArn": arn, "containerName": container,
		"containerArn": s.arn("container", cluster+"/"+taskID(arn)+"/"+container), "interactive": true,
		"session": map[string]any{
			"sessionId":  session,
			"streamUrl":  "wss://ssmmessages." + s.region + ".amazonaws.com/v1/data-channel/" + session + "?role=publish_subscribe&cell-number=AAEAAQ",
			"tokenValue": hex.EncodeToString(token),
		},
	}, nil
}
