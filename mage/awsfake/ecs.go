package awsfake

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

type taskDefinition struct {
	arn      string
	family   string
	revision int
	doc      map[string]any // as registered, plus the fields ECS adds
	tags     []any
}

type container struct {
	Name        string
	Image       string
	Essent      bool
	LogGroup    string
	LogPref     string
	CreateGroup bool // awslogs-create-group: the driver creates the group
	Command     []string
	Environment []string // KEY=VALUE, the container definition's environment
	// StopTimeout: how long ECS waits after the stop signal before it
	// SIGKILLs the container (stopTimeout; 30 s on Fargate when unset).
	StopTimeout time.Duration
}

// defaultStopTimeout: "If this parameter isn't specified, the default
// value of 30 seconds is used" (container definition, stopTimeout, Fargate).
const defaultStopTimeout = 30 * time.Second

// envPairs reads an environment list ([{name, value}]) as KEY=VALUE.
func envPairs(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, e := range list {
		m, _ := e.(map[string]any)
		if name, ok := m["name"].(string); ok {
			value, _ := m["value"].(string)
			out = append(out, name+"="+value)
		}
	}
	return out
}

// containers reads the task definition's containers as tasks run them.
func (td *taskDefinition) containers() []container {
	var out []container
	for _, d := range td.doc["containerDefinitions"].([]any) {
		m := d.(map[string]any)
		c := container{Name: fmt.Sprint(m["name"]), Image: fmt.Sprint(m["image"]), Essent: m["essential"] != false, StopTimeout: defaultStopTimeout}
		if v, ok := m["stopTimeout"].(float64); ok && v > 0 {
			c.StopTimeout = time.Duration(v) * time.Second
		}
		if lc, ok := m["logConfiguration"].(map[string]any); ok && lc["logDriver"] == "awslogs" {
			opts, _ := lc["options"].(map[string]any)
			c.LogGroup, _ = opts["awslogs-group"].(string)
			c.LogPref, _ = opts["awslogs-stream-prefix"].(string)
			c.CreateGroup = opts["awslogs-create-group"] == "true"
		}
		c.Command = stringList(m["command"])
		c.Environment = envPairs(m["environment"])
		out = append(out, c)
	}
	return out
}

type task struct {
	arn, cluster, taskDef, startedBy, group, launchType string
	containers                                          []container
	overrides                                           map[string]any
	tags                                                []any
	created                                             time.Time
	outcome                                             Outcome
	stoppedBy                                           string // StopTask reason
	stopCode                                            string // "" = UserInitiated
	stoppedAt                                           time.Time
	// service tasks: the service key (cluster/name) whose deployment runs
	// it, whether ECS Exec is on, and the log lines written per container.
	service     string
	execEnabled bool
	serviceLogs map[string]int
	logsWritten int
	execDone    bool
	execEnd     time.Time
	execExit    int
	execStop    context.CancelFunc
	// orphaned: the process that ran the task's Exec ended before it did
	// (a saved task of another sandbox process); the essential container's
	// reason says so.
	orphaned string
	// runnerPID and runnerHost: the process that runs (ran) the task's
	// Exec, for a task loaded from another process's saved state.
	runnerPID  int
	runnerHost string
	// health: HEALTHY or UNHEALTHY as a runtime reported it ("" unknown);
	// realLogs: a runtime writes the task's log lines.
	health   string
	realLogs bool
}

func epoch(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

func (s *Server) arn(kind, rest string) string {
	return fmt.Sprintf("arn:aws:ecs:%s:%s:%s/%s", s.region, s.account, kind, rest)
}

func (s *Server) registerTaskDefinition(body []byte) (any, error) {
	var doc map[string]any
	if err := decode(body, &doc); err != nil {
		return nil, err
	}
	family, _ := doc["family"].(string)
	if family == "" {
		return nil, clientErr("ClientException", "Family must be specified.")
	}
	if !familyRE.MatchString(family) {
		return nil, clientErr("ClientException", "Family contains invalid characters or is longer than 255 characters.")
	}
	defs, _ := doc["containerDefinitions"].([]any)
	if len(defs) == 0 {
		return nil, clientErr("ClientException", "Container list cannot be empty.")
	}
	names := map[string]bool{}
	for _, d := range defs {
		m, _ := d.(map[string]any)
		if m["name"] == nil || m["image"] == nil {
			return nil, clientErr("ClientException", "Container.name and Container.image should not be null or empty.")
		}
		name := fmt.Sprint(m["name"])
		if names[name] {
			return nil, clientErr("ClientException", "Duplicate container name %s.", name)
		}
		names[name] = true
		if _, ok := m["essential"]; !ok {
			m["essential"] = true // ECS's default
		}
	}
	if compat, _ := doc["requiresCompatibilities"].([]any); containsAny(compat, "FARGATE") {
		if doc["networkMode"] != "awsvpc" {
			return nil, clientErr("ClientException", "Fargate only supports network mode 'awsvpc'.")
		}
		if doc["cpu"] == nil {
			return nil, clientErr("ClientException", "Fargate requires task definition to have 'cpu' defined at the task level.")
		}
		if doc["memory"] == nil {
			return nil, clientErr("ClientException", "Fargate requires task definition to have 'memory' defined at the task level.")
		}
	}
	tags, err := checkTags(doc["tags"])
	if err != nil {
		return nil, err
	}
	delete(doc, "tags")
	rev := len(s.taskDefs[family]) + 1
	td := &taskDefinition{family: family, revision: rev, arn: s.arn("task-definition", family+":"+strconv.Itoa(rev)), doc: doc, tags: tags}
	doc["taskDefinitionArn"] = td.arn
	doc["revision"] = rev
	doc["status"] = "ACTIVE"
	doc["registeredAt"] = epoch(s.now())
	s.taskDefs[family] = append(s.taskDefs[family], td)
	out := map[string]any{"taskDefinition": doc}
	if len(tags) > 0 {
		out["tags"] = tags
	}
	return out, nil
}

func containsAny(list []any, want string) bool {
	for _, v := range list {
		if v == want {
			return true
		}
	}
	return false
}

// checkTags validates ECS tags: at most 50, keys 1-128 and values 0-256
// characters, no aws: prefix.
func checkTags(v any) ([]any, error) {
	if v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, clientErr("SerializationException", "tags must be a list")
	}
	if len(list) > 50 {
		return nil, clientErr("InvalidParameterException", "Tags can have at most 50 items.")
	}
	seen := map[string]bool{}
	for _, t := range list {
		m, _ := t.(map[string]any)
		key, _ := m["key"].(string)
		if seen[key] {
			// "Each tag key must be unique" (the API reference's tag rules).
			return nil, clientErr("InvalidParameterException", "Duplicate tag key %q: each tag key must be unique.", key)
		}
		seen[key] = true
		value, _ := m["value"].(string)
		if len(key) < 1 || len(key) > 128 || len(value) > 256 {
			return nil, clientErr("InvalidParameterException", "Tag keys must be 1-128 and values 0-256 characters.")
		}
		if strings.HasPrefix(strings.ToLower(key), "aws:") {
			return nil, clientErr("InvalidParameterException", "Tag keys cannot start with 'aws:'.")
		}
	}
	return list, nil
}

// orEmpty turns a missing list into an empty one: AWS never sends null.
func orEmpty(v any) any {
	if list, ok := v.([]any); v == nil || (ok && list == nil) {
		return []any{}
	}
	return v
}

// lookupTaskDef accepts family, family:revision or a full ARN.
func (s *Server) lookupTaskDef(ref string) (*taskDefinition, error) {
	if i := strings.Index(ref, ":task-definition/"); i >= 0 {
		ref = ref[i+len(":task-definition/"):]
	}
	family, revStr, hasRev := strings.Cut(ref, ":")
	revs := s.taskDefs[family]
	if len(revs) == 0 {
		return nil, clientErr("ClientException", "Unable to describe task definition.")
	}
	if !hasRev {
		// A family alone names its latest ACTIVE revision.
		for i := len(revs) - 1; i >= 0; i-- {
			if revs[i].active() {
				return revs[i], nil
			}
		}
		return nil, clientErr("ClientException", "Unable to describe task definition.")
	}
	rev, err := strconv.Atoi(revStr)
	if err != nil || rev < 1 || rev > len(revs) {
		return nil, clientErr("ClientException", "Unable to describe task definition.")
	}
	return revs[rev-1], nil
}

func (s *Server) describeTaskDefinition(body []byte) (any, error) {
	var in struct {
		TaskDefinition string   `json:"taskDefinition"`
		Include        []string `json:"include"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.TaskDefinition == "" {
		return nil, clientErr("ClientException", "TaskDefinition can not be blank.")
	}
	td, err := s.lookupTaskDef(in.TaskDefinition)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"taskDefinition": td.doc}
	// Tags come back only when asked for (include: ["TAGS"]).
	if includes(in.Include, "TAGS") {
		out["tags"] = orEmpty(td.tags)
	}
	return out, nil
}

func includes(list []string, want string) bool {
	for _, v := range list {
		if v == want {
			return true
		}
	}
	return false
}

func (s *Server) clusterArn(name string) string {
	if name == "" {
		name = "default"
	}
	if strings.HasPrefix(name, "arn:") {
		return name
	}
	return s.arn("cluster", name)
}

func clusterName(arnOrName string) string {
	if i := strings.LastIndexByte(arnOrName, '/'); i >= 0 {
		return arnOrName[i+1:]
	}
	if arnOrName == "" {
		return "default"
	}
	return arnOrName
}

var (
	familyRE      = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)
	clusterNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)
)

// runTaskInput is RunTask's request, as far as the double reads it.
type runTaskInput struct {
	Cluster        string         `json:"cluster"`
	TaskDefinition string         `json:"taskDefinition"`
	Count          *int           `json:"count"`
	StartedBy      string         `json:"startedBy"`
	Group          string         `json:"group"`
	LaunchType     string         `json:"launchType"`
	ClientToken    string         `json:"clientToken"`
	Overrides      map[string]any `json:"overrides"`
	Tags           any            `json:"tags"`
	NetworkConfig  map[string]any `json:"networkConfiguration"`
	EnableExec     bool           `json:"enableExecuteCommand"`
}

// runTaskFingerprint is a RunTask request without its clientToken, to
// tell a retry of the same request from a reuse of the token.
func runTaskFingerprint(body []byte) string {
	var m map[string]any
	if json.Unmarshal(body, &m) != nil {
		return string(body)
	}
	delete(m, "clientToken")
	data, _ := json.Marshal(m)
	return string(data)
}

// checkRunTaskInput refuses what RunTask refuses before it looks at the
// task definition, and returns the task count.
func checkRunTaskInput(in runTaskInput) (int, error) {
	if in.TaskDefinition == "" {
		return 0, clientErr("InvalidParameterException", "TaskDefinition can not be blank.")
	}
	count := 1
	if in.Count != nil {
		count = *in.Count
	}
	if count < 1 || count > 10 {
		return 0, clientErr("InvalidParameterException", "Count must be between 1 and 10.")
	}
	if len(in.StartedBy) > 128 {
		return 0, clientErr("InvalidParameterException", "startedBy must be at most 128 characters.")
	}
	if len(in.ClientToken) > 64 {
		return 0, clientErr("InvalidParameterException", "clientToken must be at most 64 characters.")
	}
	switch in.LaunchType {
	case "", "EC2", "FARGATE", "EXTERNAL", "MANAGED_INSTANCES":
	default:
		return 0, clientErr("InvalidParameterException", "launchType %q is not valid.", in.LaunchType)
	}
	return count, nil
}

func (s *Server) runTask(body []byte) (any, error) {
	var in runTaskInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	cluster, err := s.cluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	count, err := checkRunTaskInput(in)
	if err != nil {
		return nil, err
	}
	tags, err := checkTags(in.Tags)
	if err != nil {
		return nil, err
	}
	request := runTaskFingerprint(body)
	if prev, ok := s.tokens[in.ClientToken]; ok && in.ClientToken != "" {
		// Idempotent for the same request; the same token with other
		// parameters is a conflict, not a second task.
		if s.tokenRequests[in.ClientToken] != request {
			return nil, clientErr("ConflictException", "The clientToken %s was used with different parameters.", in.ClientToken)
		}
		return s.tasksOut(prev, nil, true, true), nil
	}
	td, err := s.lookupTaskDef(in.TaskDefinition)
	if err != nil {
		return nil, err
	}
	if err := usable(td); err != nil {
		return nil, err
	}
	if td.doc["networkMode"] == "awsvpc" && in.NetworkConfig == nil {
		return nil, clientErr("InvalidParameterException", "Network Configuration must be provided when networkMode 'awsvpc' is specified.")
	}
	if compat, _ := td.doc["requiresCompatibilities"].([]any); in.LaunchType == "FARGATE" && !containsAny(compat, "FARGATE") {
		return nil, clientErr("InvalidParameterException", "Task definition does not support launch_type FARGATE.")
	}
	containers := td.containers()
	req, err := runRequest(cluster, td, containers, in)
	if err != nil {
		return nil, err
	}
	outcome := Outcome{PendingFor: 200 * time.Millisecond, RunFor: 300 * time.Millisecond}
	if s.Outcome != nil {
		outcome = s.Outcome(req)
	}
	if len(outcome.Failures) > 0 {
		failures := make([]any, len(outcome.Failures))
		for i, f := range outcome.Failures {
			if f.Arn == "" {
				f.Arn = s.arn("cluster", cluster)
			}
			failures[i] = f
		}
		return map[string]any{"tasks": []any{}, "failures": failures}, nil
	}
	if why := s.missingLogGroup(containers); why != "" {
		outcome.FailToStart, outcome.Exec = why, nil
	}
	var arns []string
	for i := 0; i < count; i++ {
		s.seq++
		id := fmt.Sprintf("%032x", s.seq)
		t := &task{
			arn: s.arn("task", cluster+"/"+id), cluster: s.arn("cluster", cluster), taskDef: td.arn,
			startedBy: in.StartedBy, group: in.Group, launchType: in.LaunchType, containers: containers,
			overrides: in.Overrides, tags: tags, created: s.now(), outcome: outcome, execEnabled: in.EnableExec,
		}
		if t.group == "" {
			t.group = "family:" + td.family
		}
		s.tasks[t.arn] = t
		arns = append(arns, t.arn)
		if outcome.Exec != nil && outcome.FailToStart == "" {
			go s.execute(t)
		}
	}
	if in.ClientToken != "" {
		s.tokens[in.ClientToken], s.tokenRequests[in.ClientToken] = arns, request
	}
	// RunTask's own answer sees the task it created, tags included.
	return s.tasksOut(arns, nil, true, true), nil
}

// runRequest is what the Outcome function sees: the task definition's
// containers with the overrides' commands applied (an override naming no
// container of the task definition is refused, as ECS does).
func runRequest(cluster string, td *taskDefinition, containers []container, in runTaskInput) (RunRequest, error) {
	req := RunRequest{Cluster: cluster, TaskDefinition: td.arn, Family: td.family, StartedBy: in.StartedBy,
		Command: map[string][]string{}, Images: map[string]string{}, Environment: map[string][]string{}}
	known := map[string]bool{}
	for _, c := range containers {
		known[c.Name] = true
		req.Containers = append(req.Containers, c.Name)
		req.Images[c.Name] = c.Image
		req.Environment[c.Name] = c.Environment
		if c.Essent && req.Essential == "" {
			req.Essential, req.StopTimeout = c.Name, c.StopTimeout
		}
		if c.Command != nil {
			req.Command[c.Name] = c.Command
		}
	}
	co, _ := in.Overrides["containerOverrides"].([]any)
	for _, o := range co {
		m, _ := o.(map[string]any)
		name, _ := m["name"].(string)
		if !known[name] {
			return req, clientErr("InvalidParameterException", "Override for container named %s is not a container in the TaskDefinition.", name)
		}
		if cmd, ok := m["command"].([]any); ok {
			req.Command[name] = stringList(cmd)
		}
		// An override's environment adds to the definition's; a name in
		// both takes the override's value (it comes later).
		req.Environment[name] = append(append([]string{}, req.Environment[name]...), envPairs(m["environment"])...)
	}
	return req, nil
}

// missingLogGroup: a container whose awslogs group does not exist cannot
// start, since the driver fails to create its stream (unless
// awslogs-create-group, when the driver creates the group). It returns
// the stoppedReason ECS gives, "" when every group is there.
func (s *Server) missingLogGroup(containers []container) string {
	for _, c := range containers {
		if c.LogGroup == "" {
			continue
		}
		if _, ok := s.logGroups[c.LogGroup]; !ok {
			if c.CreateGroup {
				s.logGroups[c.LogGroup] = s.now()
				continue
			}
			return "ResourceInitializationError: failed to validate logger args: create stream has been retried 1 times: failed to create Cloudwatch log stream: ResourceNotFoundException: The specified log group does not exist. : exit status 1"
		}
	}
	return ""
}

type stopCause int

const (
	exited stopCause = iota
	failedToStart
	userStopped
)

// timeline says when a task starts running (if ever), when its containers
// stop and why. The task itself reaches STOPPED later (see stoppedAt).
func timeline(t *task, phase time.Duration) (startAt, stopAt time.Time, cause stopCause) {
	o := t.outcome
	startAt = t.created.Add(o.PendingFor)
	stopAt, cause = startAt.Add(o.RunFor), exited
	if t.reallyRuns() {
		stopAt = startAt.Add(100 * 365 * 24 * time.Hour) // until Exec returns
		if t.execDone {
			stopAt = t.execEnd
		}
	}
	if o.FailToStart != "" {
		stopAt, cause = startAt, failedToStart
	}
	if t.stoppedBy != "" && t.stoppedAt.Before(stopAt) {
		if !t.stoppedAt.After(startAt) {
			return startAt, t.stoppedAt, userStopped // never ran: nothing to signal
		}
		// "the equivalent of docker stop is issued to the containers
		// running in the task. This results in a SIGTERM value and a
		// default 30-second timeout, after which the SIGKILL value is
		// sent" (StopTask, API reference). The signal follows
		// DEACTIVATING; the containers exit when they are done or killed.
		takes := o.StopTakes
		if takes == 0 {
			takes = phase
		}
		exit := signalAt(t, phase).Add(min(takes, t.stopTimeout()))
		if t.reallyRuns() {
			exit = startAt.Add(100 * 365 * 24 * time.Hour)
			if t.execDone {
				exit = t.execEnd
			}
		}
		if exit.Before(stopAt) {
			stopAt, cause = exit, userStopped
		}
	}
	return startAt, stopAt, cause
}

// signalAt is when a stopped task's containers get the stop signal: after
// the task's DEACTIVATING phase.
func signalAt(t *task, phase time.Duration) time.Time { return t.stoppedAt.Add(phase) }

// stopTimeout is the essential container's.
func (t *task) stopTimeout() time.Duration {
	for _, c := range t.containers {
		if c.Essent && c.StopTimeout > 0 {
			return c.StopTimeout
		}
	}
	return defaultStopTimeout
}

// killed: the task's containers outlived the stop timeout and were
// SIGKILLed.
func (t *task) killed() bool { return t.outcome.StopTakes > t.stopTimeout() }

// reallyRuns: the task's command runs (ran) for real, in this process or
// in the one that saved it; it ends when that run ends.
func (t *task) reallyRuns() bool { return t.outcome.Exec != nil || t.runnerPID != 0 }

func (t *task) ran(startAt, stopAt time.Time, cause stopCause) bool {
	return cause != failedToStart && startAt.Before(stopAt)
}

// stoppedAt is when the task reaches STOPPED: after DEACTIVATING,
// STOPPING and DEPROVISIONING for a task that ran, after DEPROVISIONING
// alone for one that never did.
func (s *Server) stoppedAt(t *task) time.Time {
	startAt, stopAt, cause := s.timeline(t)
	if t.ran(startAt, stopAt, cause) && cause != userStopped {
		return stopAt.Add(3 * s.timing.StopPhase)
	}
	// A stopped task went through DEACTIVATING and STOPPING before its
	// containers exited; one that never ran only deprovisions.
	return stopAt.Add(s.timing.StopPhase)
}

func (s *Server) timeline(t *task) (startAt, stopAt time.Time, cause stopCause) {
	return timeline(t, s.timing.StopPhase)
}

// visible: a task just started is MISSING from reads for a while.
func (s *Server) visible(t *task) bool {
	return !s.now().Before(t.created.Add(s.timing.TaskVisible))
}

// state computes a task's lifecycle at the current time and writes the log
// lines that are due.
func (s *Server) state(t *task) (last string, stopped bool) {
	now := s.now()
	startAt, stopAt, cause := s.timeline(t)
	if t.ran(startAt, stopAt, cause) && !now.Before(startAt) {
		if t.service != "" {
			s.emitServiceLogs(t, now, startAt, stopAt)
		} else {
			s.emitLogs(t, now, startAt, stopAt)
		}
	}
	switch {
	case !now.Before(s.stoppedAt(t)):
		return "STOPPED", true
	case !now.Before(stopAt) && (!t.ran(startAt, stopAt, cause) || cause == userStopped):
		return "DEPROVISIONING", false
	case cause == userStopped && !now.Before(signalAt(t, s.timing.StopPhase)):
		return "STOPPING", false // the stop signal is sent; the containers have not exited
	case cause == userStopped && !now.Before(t.stoppedAt):
		return "DEACTIVATING", false
	case !now.Before(stopAt):
		switch phase := now.Sub(stopAt) / max(s.timing.StopPhase, time.Nanosecond); phase {
		case 0:
			return "DEACTIVATING", false
		case 1:
			return "STOPPING", false
		default:
			return "DEPROVISIONING", false
		}
	case now.Before(t.created.Add(t.outcome.PendingFor / 2)):
		return "PROVISIONING", false
	case now.Before(startAt):
		return "PENDING", false
	}
	return "RUNNING", false
}

func taskID(arn string) string { return arn[strings.LastIndexByte(arn, '/')+1:] }

// runtimeID is a Fargate container's runtime ID: the task ID and a number.
func runtimeID(t *task, container string) string {
	h := fnv.New32a()
	h.Write([]byte(t.arn + "/" + container))
	return fmt.Sprintf("%s-%d", taskID(t.arn), h.Sum32())
}

func (s *Server) taskDoc(t *task, withTags bool) map[string]any {
	last, stopped := s.state(t)
	startAt, stopAt, cause := s.timeline(t)
	doc := map[string]any{
		"taskArn": t.arn, "clusterArn": t.cluster, "taskDefinitionArn": t.taskDef,
		"lastStatus": last, "desiredStatus": "RUNNING", "createdAt": epoch(t.created),
		"group": t.group, "overrides": orEmptyMap(t.overrides),
		"version": 1, "cpu": s.taskSize(t, "cpu", "256"), "memory": s.taskSize(t, "memory", "512"),
	}
	if withTags {
		doc["tags"] = orEmpty(t.tags)
	}
	if t.launchType != "" {
		doc["launchType"] = t.launchType
	}
	if t.startedBy != "" {
		doc["startedBy"] = t.startedBy
	}
	containers := make([]map[string]any, len(t.containers))
	list := make([]any, len(t.containers))
	for i, c := range t.containers {
		containers[i] = map[string]any{
			"containerArn": s.arn("container", clusterName(t.cluster)+"/"+taskID(t.arn)+"/"+c.Name),
			"taskArn":      t.arn, "name": c.Name, "image": c.Image, "lastStatus": containerStatus(last),
		}
		if containerStatus(last) != "PENDING" {
			containers[i]["runtimeId"] = runtimeID(t, c.Name)
		}
		if t.execEnabled {
			containers[i]["managedAgents"] = []any{map[string]any{"name": "ExecuteCommandAgent", "lastStatus": s.execAgentStatus(t, last)}}
		}
		list[i] = containers[i]
	}
	doc["containers"] = list
	doc["enableExecuteCommand"] = t.execEnabled
	if t.health != "" {
		doc["healthStatus"] = t.health
	}
	if t.ran(startAt, stopAt, cause) && !s.now().Before(startAt) {
		doc["startedAt"] = epoch(startAt)
	}
	if t.stoppedBy != "" {
		doc["desiredStatus"] = "STOPPED"
		doc["stopCode"] = cmp.Or(t.stopCode, "UserInitiated")
		doc["stoppedReason"] = t.stoppedBy
		doc["stoppingAt"] = epoch(t.stoppedAt)
	}
	now := s.now()
	if now.Before(stopAt) {
		return doc
	}
	// The containers have stopped: their exit codes and the stop reason
	// are known from here on, through DEACTIVATING ... DEPROVISIONING.
	doc["desiredStatus"] = "STOPPED"
	doc["executionStoppedAt"] = epoch(stopAt)
	if _, ok := doc["stoppingAt"]; !ok {
		doc["stoppingAt"] = epoch(stopAt)
	}
	switch cause {
	case userStopped:
		if t.ran(startAt, stopAt, cause) {
			code := 143 // ended by the stop signal (128+SIGTERM)
			if t.killed() {
				code = 137 // SIGKILL after stopTimeout
			}
			if t.reallyRuns() {
				code = t.execExit
			}
			for _, c := range containers {
				c["exitCode"] = code
			}
		}
	case failedToStart:
		doc["stopCode"] = "TaskFailedToStart"
		doc["stoppedReason"] = t.outcome.FailToStart
		for _, c := range containers {
			if t.outcome.ContainerReason != "" {
				c["reason"] = t.outcome.ContainerReason
			}
		}
	default:
		doc["stopCode"] = "EssentialContainerExited"
		doc["stoppedReason"] = "Essential container in task exited"
		if t.orphaned != "" {
			for i, c := range containers {
				if t.containers[i].Essent {
					c["reason"] = t.orphaned
				}
			}
		}
		for i, c := range containers {
			code := 0
			if t.containers[i].Essent {
				code = t.outcome.ExitCode
				if t.reallyRuns() {
					code = t.execExit
				}
			}
			c["exitCode"] = code
		}
	}
	if stopped {
		doc["stoppedAt"] = epoch(s.stoppedAt(t))
	}
	return doc
}

// containerStatus: containers report RUNNING or STOPPED once the task is
// past PENDING, never the task's own transitional states.
func containerStatus(task string) string {
	switch task {
	case "PROVISIONING", "PENDING":
		return "PENDING"
	case "RUNNING":
		return "RUNNING"
	}
	return "STOPPED"
}

func orEmptyMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{"containerOverrides": []any{}}
	}
	return m
}

func (s *Server) tasksOut(arns []string, missing []string, withTags, fresh bool) map[string]any {
	tasks := []any{}
	for _, a := range arns {
		t := s.tasks[a]
		if !fresh && !s.visible(t) {
			missing = append(missing, a)
			continue
		}
		tasks = append(tasks, s.taskDoc(t, withTags))
	}
	failures := []any{}
	for _, m := range missing {
		failures = append(failures, Failure{Arn: m, Reason: "MISSING"})
	}
	return map[string]any{"tasks": tasks, "failures": failures}
}

func (s *Server) describeTasks(body []byte) (any, error) {
	var in struct {
		Cluster string   `json:"cluster"`
		Tasks   []string `json:"tasks"`
		Include []string `json:"include"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	cluster, err := s.cluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	if len(in.Tasks) == 0 {
		return nil, clientErr("InvalidParameterException", "Tasks cannot be empty.")
	}
	if len(in.Tasks) > 100 {
		return nil, clientErr("InvalidParameterException", "Tasks can have at most 100 items.")
	}
	for _, inc := range in.Include {
		if inc != "TAGS" { // TaskField's only value
			return nil, clientErr("InvalidParameterException", "include %q is not valid: TAGS is the only value.", inc)
		}
	}
	var found, missing []string
	for _, ref := range in.Tasks {
		arn := ref
		if !strings.HasPrefix(ref, "arn:") {
			arn = s.arn("task", cluster+"/"+ref)
		}
		if t, ok := s.tasks[arn]; ok && clusterName(t.cluster) == cluster {
			found = append(found, arn)
		} else {
			missing = append(missing, arn)
		}
	}
	return s.tasksOut(found, missing, includes(in.Include, "TAGS"), false), nil
}

func (s *Server) stopTask(body []byte) (any, error) {
	var in struct {
		Cluster string `json:"cluster"`
		Task    string `json:"task"`
		Reason  string `json:"reason"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	cluster, err := s.cluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	if in.Task == "" {
		return nil, clientErr("InvalidParameterException", "Task can not be blank.")
	}
	if len(in.Reason) > 255 {
		return nil, clientErr("InvalidParameterException", "Reason must be at most 255 characters.")
	}
	arn := in.Task
	if !strings.HasPrefix(arn, "arn:") {
		arn = s.arn("task", cluster+"/"+arn)
	}
	t, ok := s.tasks[arn]
	if !ok || clusterName(t.cluster) != cluster {
		return nil, clientErr("InvalidParameterException", "The referenced task was not found.")
	}
	_, stopAt, _ := s.timeline(t)
	if s.now().Before(stopAt) && t.stoppedBy == "" {
		t.stoppedBy = in.Reason
		if t.stoppedBy == "" {
			t.stoppedBy = "Task stopped by user"
		}
		t.stoppedAt = s.now()
		if t.execStop != nil {
			// The stop signal comes after DEACTIVATING.
			time.AfterFunc(s.timing.StopPhase, t.execStop)
		}
	}
	// The answer is the task as it is now: DEACTIVATING with desired
	// status STOPPED, not yet STOPPED.
	return map[string]any{"task": s.taskDoc(t, false)}, nil
}

func (s *Server) listTasks(body []byte) (any, error) {
	var in struct {
		Cluster           string `json:"cluster"`
		StartedBy         string `json:"startedBy"`
		Family            string `json:"family"`
		ServiceName       string `json:"serviceName"`
		DesiredStatus     string `json:"desiredStatus"`
		LaunchType        string `json:"launchType"`
		ContainerInstance string `json:"containerInstance"`
		MaxResults        *int   `json:"maxResults"`
		NextToken         string `json:"nextToken"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	cluster, err := s.cluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	if in.StartedBy != "" && (in.Family != "" || in.ServiceName != "" || in.DesiredStatus != "" || in.LaunchType != "" || in.ContainerInstance != "") {
		return nil, clientErr("InvalidParameterException", "When you specify startedBy as the filter, it must be the only filter that you use.")
	}
	want := in.DesiredStatus
	switch want {
	case "":
		want = "RUNNING" // the default filter
	case "RUNNING", "PENDING", "STOPPED":
	default:
		return nil, clientErr("InvalidParameterException", "desiredStatus %q is not valid.", in.DesiredStatus)
	}
	limit, err := pageLimit(in.MaxResults, 100)
	if err != nil {
		return nil, err
	}
	if in.ServiceName != "" {
		if _, ok := s.services[cluster+"/"+in.ServiceName]; !ok {
			// ListTasks' documented errors include ServiceNotFoundException.
			return nil, clientErr("ServiceNotFoundException", "Service not found.")
		}
	}
	var arns []string
	for arn, t := range s.tasks {
		if clusterName(t.cluster) != cluster || !s.visible(t) {
			continue
		}
		if in.StartedBy != "" && t.startedBy != in.StartedBy {
			continue
		}
		if in.ServiceName != "" && t.group != "service:"+in.ServiceName {
			continue
		}
		if in.Family != "" && !strings.Contains(t.taskDef, ":task-definition/"+in.Family+":") {
			continue
		}
		if in.LaunchType != "" && t.launchType != in.LaunchType {
			continue
		}
		_, stopAt, _ := s.timeline(t)
		desired := "RUNNING"
		if !s.now().Before(stopAt) || t.stoppedBy != "" {
			desired = "STOPPED"
		}
		if desired == want {
			arns = append(arns, arn)
		}
	}
	sort.Strings(arns) // a stable order for paging
	page, next, err := paginate(arns, in.NextToken, limit)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"taskArns": page}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

// paginate returns one page of items after token (the last item of the
// previous page, opaque to callers) and the token of the next page.
func paginate(items []string, token string, limit int) ([]string, string, error) {
	start := 0
	if token != "" {
		after, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil {
			return nil, "", clientErr("InvalidParameterException", "The specified nextToken is invalid.")
		}
		start = sort.SearchStrings(items, string(after))
		if start < len(items) && items[start] == string(after) {
			start++
		}
	}
	end := min(start+limit, len(items))
	page := append([]string{}, items[start:end]...)
	if end < len(items) {
		return page, base64.RawURLEncoding.EncodeToString([]byte(items[end-1])), nil
	}
	return page, "", nil
}

// emitLogs writes the log lines due by now to the essential container's
// stream; the stream itself appears when the container starts, as the
// awslogs driver creates it then.
func (s *Server) emitLogs(t *task, now, startAt, stopAt time.Time) {
	for _, c := range t.containers {
		if c.LogGroup == "" {
			continue
		}
		if key := streamKey(t, c); s.logs[key] == nil {
			s.logs[key] = []logEvent{}
		}
	}
	lines := t.outcome.Logs
	for t.logsWritten < len(lines) {
		due := startAt.Add(t.outcome.RunFor * time.Duration(t.logsWritten+1) / time.Duration(len(lines)+1))
		if due.After(now) || due.After(stopAt) {
			break
		}
		for _, c := range t.containers {
			if c.Essent && c.LogGroup != "" {
				key := streamKey(t, c)
				s.logs[key] = append(s.logs[key], logEvent{ts: due, msg: lines[t.logsWritten]})
				break
			}
		}
		t.logsWritten++
	}
}

func streamKey(t *task, c container) string {
	return c.LogGroup + "\x00" + c.LogPref + "/" + c.Name + "/" + taskID(t.arn)
}

// execute runs a task's Exec once it is due to start, writing its lines
// to the essential container's stream as they come.
func (s *Server) execute(t *task) {
	time.Sleep(t.outcome.PendingFor)
	var key string
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.mu.Lock()
	t.execStop = cancel
	if t.stoppedBy != "" {
		cancel()
	}
	for _, c := range t.containers {
		if c.Essent && c.LogGroup != "" {
			key = streamKey(t, c)
			if s.logs[key] == nil {
				s.logs[key] = []logEvent{}
			}
			break
		}
	}
	s.mu.Unlock()
	exit := t.outcome.Exec(ctx, func(line string) {
		if key == "" {
			return
		}
		s.mu.Lock()
		s.logs[key] = append(s.logs[key], logEvent{ts: s.now(), msg: line})
		s.mu.Unlock()
	})
	s.mu.Lock()
	t.execDone, t.execEnd, t.execExit = true, s.now(), exit
	if s.persist != "" {
		// The task's end is a change another process must see, even if
		// this one is killed the next moment.
		_ = s.saveLocked(s.persist)
	}
	s.mu.Unlock()
}

// execAgentStatus is the ExecuteCommandAgent's lastStatus: it starts
// after the task is RUNNING ("the agent ... starts after the task
// reaches RUNNING": PENDING until Timing.ExecAgentStart has passed).
func (s *Server) execAgentStatus(t *task, last string) string {
	status := containerStatus(last)
	if status != "RUNNING" {
		return status
	}
	startAt, _, _ := s.timeline(t)
	if s.now().Before(startAt.Add(s.timing.ExecAgentStart)) {
		return "PENDING"
	}
	return "RUNNING"
}

// taskSize is the task's cpu or memory: its task definition's task-level
// value (a Fargate task definition must have both).
func (s *Server) taskSize(t *task, key, fallback string) string {
	if td, err := s.lookupTaskDef(t.taskDef); err == nil {
		if v, ok := td.doc[key].(string); ok && v != "" {
			return v
		}
	}
	return fallback
}
