package awsfake

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

type taskDefinition struct {
	arn      string
	family   string
	revision int
	doc      map[string]any // as registered, plus the fields ECS adds
}

type container struct {
	Name     string
	Image    string
	Essent   bool
	LogGroup string
	LogPref  string
	Command  []string
}

// containers reads the task definition's containers as tasks run them.
func (td *taskDefinition) containers() []container {
	var out []container
	for _, d := range td.doc["containerDefinitions"].([]any) {
		m := d.(map[string]any)
		c := container{Name: fmt.Sprint(m["name"]), Image: fmt.Sprint(m["image"]), Essent: m["essential"] != false}
		if lc, ok := m["logConfiguration"].(map[string]any); ok && lc["logDriver"] == "awslogs" {
			opts, _ := lc["options"].(map[string]any)
			c.LogGroup, _ = opts["awslogs-group"].(string)
			c.LogPref, _ = opts["awslogs-stream-prefix"].(string)
		}
		if cmd, ok := m["command"].([]any); ok {
			for _, a := range cmd {
				c.Command = append(c.Command, fmt.Sprint(a))
			}
		}
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
	stoppedAt                                           time.Time
	logsWritten                                         int
	execDone                                            bool
	execEnd                                             time.Time
	execExit                                            int
	execStop                                            context.CancelFunc
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
	defs, _ := doc["containerDefinitions"].([]any)
	if len(defs) == 0 {
		return nil, clientErr("ClientException", "Container list cannot be empty.")
	}
	for _, d := range defs {
		m, _ := d.(map[string]any)
		if m["name"] == nil || m["image"] == nil {
			return nil, clientErr("ClientException", "Container.name and Container.image should not be null or empty.")
		}
		if _, ok := m["essential"]; !ok {
			m["essential"] = true // ECS's default
		}
	}
	rev := len(s.taskDefs[family]) + 1
	td := &taskDefinition{family: family, revision: rev, arn: s.arn("task-definition", family+":"+strconv.Itoa(rev)), doc: doc}
	doc["taskDefinitionArn"] = td.arn
	doc["revision"] = rev
	doc["status"] = "ACTIVE"
	doc["registeredAt"] = epoch(s.now())
	tags := doc["tags"]
	delete(doc, "tags")
	s.taskDefs[family] = append(s.taskDefs[family], td)
	return map[string]any{"taskDefinition": doc, "tags": orEmpty(tags)}, nil
}

func orEmpty(v any) any {
	if v == nil {
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
		return revs[len(revs)-1], nil
	}
	rev, err := strconv.Atoi(revStr)
	if err != nil || rev < 1 || rev > len(revs) {
		return nil, clientErr("ClientException", "Unable to describe task definition.")
	}
	return revs[rev-1], nil
}

func (s *Server) describeTaskDefinition(body []byte) (any, error) {
	var in struct {
		TaskDefinition string `json:"taskDefinition"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	td, err := s.lookupTaskDef(in.TaskDefinition)
	if err != nil {
		return nil, err
	}
	return map[string]any{"taskDefinition": td.doc, "tags": []any{}}, nil
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

func (s *Server) runTask(body []byte) (any, error) {
	var in struct {
		Cluster        string         `json:"cluster"`
		TaskDefinition string         `json:"taskDefinition"`
		Count          int            `json:"count"`
		StartedBy      string         `json:"startedBy"`
		Group          string         `json:"group"`
		LaunchType     string         `json:"launchType"`
		ClientToken    string         `json:"clientToken"`
		Overrides      map[string]any `json:"overrides"`
		Tags           []any          `json:"tags"`
		NetworkConfig  map[string]any `json:"networkConfiguration"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.TaskDefinition == "" {
		return nil, clientErr("InvalidParameterException", "TaskDefinition can not be blank.")
	}
	if len(in.StartedBy) > 128 {
		return nil, clientErr("InvalidParameterException", "startedBy must be at most 128 characters.")
	}
	if prev, ok := s.tokens[in.ClientToken]; ok && in.ClientToken != "" {
		return s.tasksOut(prev, nil), nil
	}
	td, err := s.lookupTaskDef(in.TaskDefinition)
	if err != nil {
		return nil, err
	}
	if td.doc["networkMode"] == "awsvpc" && in.NetworkConfig == nil {
		return nil, clientErr("InvalidParameterException", "Network Configuration must be provided when networkMode 'awsvpc' is specified.")
	}
	count := in.Count
	if count == 0 {
		count = 1
	}
	req := RunRequest{Cluster: clusterName(in.Cluster), TaskDefinition: td.arn, Family: td.family, StartedBy: in.StartedBy,
		Command: map[string][]string{}, Images: map[string]string{}}
	containers := td.containers()
	for _, c := range containers {
		req.Containers = append(req.Containers, c.Name)
		req.Images[c.Name] = c.Image
		if c.Essent && req.Essential == "" {
			req.Essential = c.Name
		}
		if c.Command != nil {
			req.Command[c.Name] = c.Command
		}
	}
	if co, ok := in.Overrides["containerOverrides"].([]any); ok {
		for _, o := range co {
			m, _ := o.(map[string]any)
			name, _ := m["name"].(string)
			if cmd, ok := m["command"].([]any); ok {
				req.Command[name] = nil
				for _, a := range cmd {
					req.Command[name] = append(req.Command[name], fmt.Sprint(a))
				}
			}
		}
	}
	outcome := Outcome{PendingFor: 200 * time.Millisecond, RunFor: 300 * time.Millisecond}
	if s.Outcome != nil {
		outcome = s.Outcome(req)
	}
	if len(outcome.Failures) > 0 {
		failures := make([]any, len(outcome.Failures))
		for i, f := range outcome.Failures {
			if f.Arn == "" {
				f.Arn = s.clusterArn(in.Cluster)
			}
			failures[i] = f
		}
		return map[string]any{"tasks": []any{}, "failures": failures}, nil
	}
	var arns []string
	for i := 0; i < count; i++ {
		s.seq++
		id := fmt.Sprintf("%032x", s.seq)
		t := &task{
			arn: s.arn("task", clusterName(in.Cluster)+"/"+id), cluster: s.clusterArn(in.Cluster), taskDef: td.arn,
			startedBy: in.StartedBy, group: in.Group, launchType: in.LaunchType, containers: containers,
			overrides: in.Overrides, tags: in.Tags, created: s.now(), outcome: outcome,
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
		s.tokens[in.ClientToken] = arns
	}
	return s.tasksOut(arns, nil), nil
}

type stopCause int

const (
	exited stopCause = iota
	failedToStart
	userStopped
)

// timeline says when a task starts running (if ever), when it stops and why.
func timeline(t *task) (startAt, stopAt time.Time, cause stopCause) {
	o := t.outcome
	startAt = t.created.Add(o.PendingFor)
	stopAt, cause = startAt.Add(o.RunFor), exited
	if o.Exec != nil {
		stopAt = startAt.Add(100 * 365 * 24 * time.Hour) // until Exec returns
		if t.execDone {
			stopAt = t.execEnd
		}
	}
	if o.FailToStart != "" {
		stopAt, cause = startAt, failedToStart
	}
	if t.stoppedBy != "" && t.stoppedAt.Before(stopAt) {
		stopAt, cause = t.stoppedAt, userStopped
	}
	return startAt, stopAt, cause
}

func (t *task) ran(startAt, stopAt time.Time, cause stopCause) bool {
	return cause != failedToStart && startAt.Before(stopAt)
}

// state computes a task's lifecycle at the current time and writes the log
// lines that are due.
func (s *Server) state(t *task) (last string, stopped bool) {
	now := s.now()
	startAt, stopAt, cause := timeline(t)
	if t.ran(startAt, stopAt, cause) && !now.Before(startAt) {
		s.emitLogs(t, now, startAt, stopAt)
	}
	switch {
	case !now.Before(stopAt):
		return "STOPPED", true
	case now.Before(t.created.Add(t.outcome.PendingFor / 2)):
		return "PROVISIONING", false
	case now.Before(startAt):
		return "PENDING", false
	}
	return "RUNNING", false
}

func taskID(arn string) string { return arn[strings.LastIndexByte(arn, '/')+1:] }

func (s *Server) taskDoc(t *task) map[string]any {
	last, stopped := s.state(t)
	startAt, stopAt, cause := timeline(t)
	doc := map[string]any{
		"taskArn": t.arn, "clusterArn": t.cluster, "taskDefinitionArn": t.taskDef,
		"lastStatus": last, "desiredStatus": "RUNNING", "createdAt": epoch(t.created),
		"group": t.group, "overrides": orEmptyMap(t.overrides), "tags": orEmpty(t.tags),
		"version": 1, "cpu": "256", "memory": "512",
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
			"taskArn":      t.arn, "name": c.Name, "image": c.Image, "lastStatus": last,
		}
		list[i] = containers[i]
	}
	doc["containers"] = list
	if t.ran(startAt, stopAt, cause) && !s.now().Before(startAt) {
		doc["startedAt"] = epoch(startAt)
	}
	if t.stoppedBy != "" {
		doc["desiredStatus"] = "STOPPED"
	}
	if !stopped {
		return doc
	}
	doc["desiredStatus"] = "STOPPED"
	doc["stoppedAt"] = epoch(stopAt)
	switch cause {
	case userStopped:
		doc["stopCode"] = "UserInitiated"
		doc["stoppedReason"] = t.stoppedBy
		if t.ran(startAt, stopAt, cause) {
			for _, c := range containers {
				c["exitCode"] = 143 // SIGTERM from StopTask
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
		for i, c := range containers {
			code := 0
			if t.containers[i].Essent {
				code = t.outcome.ExitCode
				if t.outcome.Exec != nil {
					code = t.execExit
				}
			}
			c["exitCode"] = code
		}
	}
	return doc
}

func orEmptyMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{"containerOverrides": []any{}}
	}
	return m
}

func (s *Server) tasksOut(arns []string, missing []string) map[string]any {
	tasks := []any{}
	for _, a := range arns {
		tasks = append(tasks, s.taskDoc(s.tasks[a]))
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
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if len(in.Tasks) == 0 {
		return nil, clientErr("InvalidParameterException", "Tasks cannot be empty.")
	}
	var found, missing []string
	for _, ref := range in.Tasks {
		arn := ref
		if !strings.HasPrefix(ref, "arn:") {
			arn = s.arn("task", clusterName(in.Cluster)+"/"+ref)
		}
		if _, ok := s.tasks[arn]; ok {
			found = append(found, arn)
		} else {
			missing = append(missing, arn)
		}
	}
	return s.tasksOut(found, missing), nil
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
	arn := in.Task
	if !strings.HasPrefix(arn, "arn:") {
		arn = s.arn("task", clusterName(in.Cluster)+"/"+arn)
	}
	t, ok := s.tasks[arn]
	if !ok {
		return nil, clientErr("InvalidParameterException", "The referenced task was not found.")
	}
	if _, stopped := s.state(t); !stopped && t.stoppedBy == "" {
		t.stoppedBy = in.Reason
		if t.stoppedBy == "" {
			t.stoppedBy = "Task stopped by user"
		}
		t.stoppedAt = s.now()
		if t.execStop != nil {
			t.execStop()
		}
	}
	return map[string]any{"task": s.taskDoc(t)}, nil
}

func (s *Server) listTasks(body []byte) (any, error) {
	var in struct {
		Cluster       string `json:"cluster"`
		StartedBy     string `json:"startedBy"`
		Family        string `json:"family"`
		ServiceName   string `json:"serviceName"`
		DesiredStatus string `json:"desiredStatus"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	want := in.DesiredStatus
	if want == "" {
		want = "RUNNING"
	}
	arns := []string{}
	for arn, t := range s.tasks {
		if t.cluster != s.clusterArn(in.Cluster) {
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
		_, stopped := s.state(t)
		desired := "RUNNING"
		if stopped || t.stoppedBy != "" {
			desired = "STOPPED"
		}
		if desired == want {
			arns = append(arns, arn)
		}
	}
	return map[string]any{"taskArns": arns}, nil
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
	s.mu.Unlock()
}
