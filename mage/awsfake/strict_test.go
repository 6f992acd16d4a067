package awsfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// client speaks the JSON 1.1 wire protocol to a double, with the double's
// clock in the test's hands.
type client struct {
	t    *testing.T
	url  string
	fake *Server
	mu   sync.Mutex
	now  time.Time
}

func newClient(t *testing.T) *client {
	t.Helper()
	fake := New()
	c := &client{t: t, fake: fake, now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	fake.SetClock(func() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now })
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	c.url = srv.URL
	return c
}

func (c *client) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// call posts one operation and returns the HTTP status, the error type
// (empty on success) and the decoded answer.
func (c *client) call(target, body string) (int, string, map[string]any) {
	c.t.Helper()
	prefix := "AmazonEC2ContainerServiceV20141113."
	if strings.Contains(target, "Log") && !strings.Contains(target, "Task") {
		prefix = "Logs_20140328."
	}
	req, _ := http.NewRequest(http.MethodPost, c.url+"/", bytes.NewBufferString(body))
	req.Header.Set("X-Amz-Target", prefix+target)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		c.t.Fatalf("%s answered non-JSON: %s", target, data)
	}
	typ, _ := out["__type"].(string)
	return resp.StatusCode, typ, out
}

func (c *client) ok(target, body string) map[string]any {
	c.t.Helper()
	status, typ, out := c.call(target, body)
	if status != 200 {
		c.t.Fatalf("%s %s: %d %s %v", target, body, status, typ, out["message"])
	}
	return out
}

const network = `"networkConfiguration":{"awsvpcConfiguration":{"subnets":["subnet-1"]}}`

// seed makes a cluster, a log group and a Fargate task definition.
func (c *client) seed() {
	c.ok("CreateCluster", `{"clusterName":"shop"}`)
	c.ok("CreateLogGroup", `{"logGroupName":"/ecs/shop/migrate"}`)
	c.ok("RegisterTaskDefinition", `{"family":"shop-migrate","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"cpu":"256","memory":"512",
		"containerDefinitions":[{"name":"rails","image":"app:1","logConfiguration":{"logDriver":"awslogs","options":{"awslogs-group":"/ecs/shop/migrate","awslogs-stream-prefix":"migrate"}}}],
		"tags":[{"key":"app","value":"shop"}]}`)
}

func (c *client) runTask(extra string) string {
	c.t.Helper()
	out := c.ok("RunTask", `{"cluster":"shop","taskDefinition":"shop-migrate","launchType":"FARGATE",`+network+extra+`}`)
	return out["tasks"].([]any)[0].(map[string]any)["taskArn"].(string)
}

func (c *client) describe(arn, include string) (map[string]any, []any) {
	c.t.Helper()
	out := c.ok("DescribeTasks", fmt.Sprintf(`{"cluster":"shop","tasks":[%q]%s}`, arn, include))
	tasks := out["tasks"].([]any)
	if len(tasks) == 0 {
		return nil, out["failures"].([]any)
	}
	return tasks[0].(map[string]any), nil
}

func TestUnknownClusterIsClusterNotFound(t *testing.T) {
	c := newClient(t)
	c.seed()
	for _, call := range [][2]string{
		{"RunTask", `{"cluster":"nope","taskDefinition":"shop-migrate",` + network + `}`},
		{"ListTasks", `{"cluster":"nope"}`},
		{"DescribeTasks", `{"cluster":"nope","tasks":["x"]}`},
		{"StopTask", `{"cluster":"nope","task":"x"}`},
		{"CreateService", `{"cluster":"nope","serviceName":"web","taskDefinition":"shop-migrate",` + network + `}`},
		{"UpdateService", `{"cluster":"nope","service":"web","taskDefinition":"shop-migrate"}`},
		{"DescribeServices", `{"cluster":"nope","services":["web"]}`},
	} {
		if status, typ, _ := c.call(call[0], call[1]); status != 400 || typ != "ClusterNotFoundException" {
			t.Errorf("%s on an unknown cluster: %d %s, want 400 ClusterNotFoundException", call[0], status, typ)
		}
	}
}

func TestInputsAWSRejects(t *testing.T) {
	c := newClient(t)
	c.seed()
	ids := make([]string, 101)
	for i := range ids {
		ids[i] = fmt.Sprintf("%q", fmt.Sprint(i))
	}
	names := make([]string, 11)
	for i := range names {
		names[i] = fmt.Sprintf(`"s%d"`, i)
	}
	cases := []struct{ name, op, body, want string }{
		{"count 0", "RunTask", `{"cluster":"shop","taskDefinition":"shop-migrate","count":0,` + network + `}`, "InvalidParameterException"},
		{"count 11", "RunTask", `{"cluster":"shop","taskDefinition":"shop-migrate","count":11,` + network + `}`, "InvalidParameterException"},
		{"count -1", "RunTask", `{"cluster":"shop","taskDefinition":"shop-migrate","count":-1,` + network + `}`, "InvalidParameterException"},
		{"65-char clientToken", "RunTask", `{"cluster":"shop","taskDefinition":"shop-migrate","clientToken":"` + strings.Repeat("x", 65) + `",` + network + `}`, "InvalidParameterException"},
		{"override of an unknown container", "RunTask", `{"cluster":"shop","taskDefinition":"shop-migrate",` + network + `,"overrides":{"containerOverrides":[{"name":"unicorn","command":["x"]}]}}`, "InvalidParameterException"},
		{"101 tasks", "DescribeTasks", `{"cluster":"shop","tasks":[` + strings.Join(ids, ",") + `]}`, "InvalidParameterException"},
		{"11 services", "DescribeServices", `{"cluster":"shop","services":[` + strings.Join(names, ",") + `]}`, "InvalidParameterException"},
		{"Fargate without task cpu", "RegisterTaskDefinition", `{"family":"f","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"memory":"512","containerDefinitions":[{"name":"a","image":"b"}]}`, "ClientException"},
		{"Fargate without awsvpc", "RegisterTaskDefinition", `{"family":"f","networkMode":"bridge","requiresCompatibilities":["FARGATE"],"cpu":"256","memory":"512","containerDefinitions":[{"name":"a","image":"b"}]}`, "ClientException"},
		{"startedBy with another filter", "ListTasks", `{"cluster":"shop","startedBy":"me","desiredStatus":"RUNNING"}`, "InvalidParameterException"},
		{"maxResults 101", "ListTasks", `{"cluster":"shop","maxResults":101}`, "InvalidParameterException"},
		{"UpdateService of an unknown service", "UpdateService", `{"cluster":"shop","service":"nope"}`, "ServiceNotFoundException"},
		// Issue 29's leftovers, each as the API reference documents it:
		// ListTasks' errors include ServiceNotFoundException; "each tag key
		// must be unique". (An include value outside TaskField is
		// TestIncludeOutsideTheModel's.)
		{"ListTasks of an unknown service", "ListTasks", `{"cluster":"shop","serviceName":"nope"}`, "ServiceNotFoundException"},
		{"a duplicate tag key", "RunTask", `{"cluster":"shop","taskDefinition":"shop-migrate",` + network + `,"tags":[{"key":"a","value":"1"},{"key":"a","value":"2"}]}`, "InvalidParameterException"},
		{"an aws: tag key", "RunTask", `{"cluster":"shop","taskDefinition":"shop-migrate",` + network + `,"tags":[{"key":"aws:x","value":"1"}]}`, "InvalidParameterException"},
	}
	for _, tc := range cases {
		status, typ, out := c.call(tc.op, tc.body)
		if status != 400 || typ != tc.want {
			t.Errorf("%s: %d %s (%v), want 400 %s", tc.name, status, typ, out["message"], tc.want)
		}
	}
}

func TestTagsOnlyWhenIncluded(t *testing.T) {
	c := newClient(t)
	c.seed()
	arn := c.runTask(`,"tags":[{"key":"deploykit:started-by","value":"alice"}]`)
	c.advance(time.Second)
	task, _ := c.describe(arn, "")
	if _, ok := task["tags"]; ok {
		t.Errorf("tags returned without include TAGS: %v", task["tags"])
	}
	task, _ = c.describe(arn, `,"include":["TAGS"]`)
	if tags, _ := task["tags"].([]any); len(tags) != 1 {
		t.Errorf("tags with include TAGS = %v", task["tags"])
	}
	td := c.ok("DescribeTaskDefinition", `{"taskDefinition":"shop-migrate"}`)
	if _, ok := td["tags"]; ok {
		t.Error("task definition tags returned without include TAGS")
	}
	td = c.ok("DescribeTaskDefinition", `{"taskDefinition":"shop-migrate","include":["TAGS"]}`)
	if tags, _ := td["tags"].([]any); len(tags) != 1 {
		t.Errorf("task definition tags with include = %v", td["tags"])
	}
}

func TestTasksAreEventuallyConsistentAndStopInPhases(t *testing.T) {
	c := newClient(t)
	c.seed()
	c.fake.Outcome = func(RunRequest) Outcome { return Outcome{PendingFor: time.Second, RunFor: time.Hour} }
	arn := c.runTask("")
	if task, failures := c.describe(arn, ""); task != nil || len(failures) != 1 || failures[0].(map[string]any)["reason"] != "MISSING" {
		t.Fatalf("a task just started: %v %v, want MISSING", task, failures)
	}
	if out := c.ok("ListTasks", `{"cluster":"shop"}`); len(out["taskArns"].([]any)) != 0 {
		t.Errorf("ListTasks shows a task just started: %v", out)
	}
	c.advance(2 * time.Second)
	if task, _ := c.describe(arn, ""); task == nil || task["lastStatus"] != "RUNNING" {
		t.Fatalf("after the lag: %v", task)
	}
	stop := c.ok("StopTask", fmt.Sprintf(`{"cluster":"shop","task":%q,"reason":"deploykit: interrupted"}`, arn))["task"].(map[string]any)
	if stop["lastStatus"] == "STOPPED" || stop["desiredStatus"] != "STOPPED" {
		t.Errorf("StopTask answered %v/%v: a task does not stop at once", stop["lastStatus"], stop["desiredStatus"])
	}
	var seen []string
	for i := 0; i < 10; i++ {
		task, _ := c.describe(arn, "")
		if s := task["lastStatus"].(string); len(seen) == 0 || seen[len(seen)-1] != s {
			seen = append(seen, s)
		}
		c.advance(TestTiming.StopPhase / 2)
	}
	if got := strings.Join(seen, " "); got != "DEACTIVATING STOPPING DEPROVISIONING STOPPED" {
		t.Errorf("stop lifecycle = %s", got)
	}
	task, _ := c.describe(arn, "")
	if code := task["containers"].([]any)[0].(map[string]any)["exitCode"]; code != 143.0 || task["stopCode"] != "UserInitiated" {
		t.Errorf("stopped task: exit %v, stopCode %v", code, task["stopCode"])
	}
}

// "When StopTask is called on a task, the equivalent of docker stop is
// issued to the containers running in the task. This results in a SIGTERM
// value and a default 30-second timeout, after which the SIGKILL value is
// sent and the containers are forcibly stopped" (StopTask, API
// reference): no exit code in StopTask's answer; a container that outlives
// its stopTimeout exits 137 at the timeout, one that ends on the signal
// 143.
func TestStopTaskSignalsThenKillsAfterStopTimeout(t *testing.T) {
	for _, tc := range []struct {
		name      string
		takes     time.Duration
		wantCode  float64
		wantAfter time.Duration // from StopTask to the exit, after DEACTIVATING
	}{
		{"ends on the signal", 500 * time.Millisecond, 143, 500 * time.Millisecond},
		{"outlives stopTimeout", time.Minute, 137, 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t)
			c.seed()
			c.ok("RegisterTaskDefinition", `{"family":"shop-migrate","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"cpu":"256","memory":"512","containerDefinitions":[{"name":"rails","image":"app:2","stopTimeout":2}]}`)
			c.fake.Outcome = func(RunRequest) Outcome {
				return Outcome{PendingFor: time.Second, RunFor: time.Hour, StopTakes: tc.takes}
			}
			arn := c.runTask("")
			c.advance(2 * time.Second)
			stop := c.ok("StopTask", fmt.Sprintf(`{"cluster":"shop","task":%q}`, arn))["task"].(map[string]any)
			if code, ok := stop["containers"].([]any)[0].(map[string]any)["exitCode"]; ok {
				t.Errorf("StopTask's answer has exit code %v: the container has only just been asked to stop", code)
			}
			c.advance(TestTiming.StopPhase + tc.wantAfter - time.Millisecond)
			task, _ := c.describe(arn, "")
			if task["lastStatus"] != "STOPPING" {
				t.Errorf("just before the exit: %v, want STOPPING", task["lastStatus"])
			}
			if _, ok := task["containers"].([]any)[0].(map[string]any)["exitCode"]; ok {
				t.Errorf("exit code before the container exited")
			}
			c.advance(time.Millisecond)
			task, _ = c.describe(arn, "")
			if code := task["containers"].([]any)[0].(map[string]any)["exitCode"]; code != tc.wantCode {
				t.Errorf("exit code %v, want %v", code, tc.wantCode)
			}
			c.advance(TestTiming.StopPhase)
			if task, _ = c.describe(arn, ""); task["lastStatus"] != "STOPPED" {
				t.Errorf("after DEPROVISIONING: %v", task["lastStatus"])
			}
		})
	}
}

func TestMissingLogGroupFailsTheTaskAtStart(t *testing.T) {
	c := newClient(t)
	c.seed()
	c.ok("RegisterTaskDefinition", `{"family":"shop-other","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"cpu":"256","memory":"512",
		"containerDefinitions":[{"name":"rails","image":"app:1","logConfiguration":{"logDriver":"awslogs","options":{"awslogs-group":"/ecs/shop/none","awslogs-stream-prefix":"x"}}}]}`)
	out := c.ok("RunTask", `{"cluster":"shop","taskDefinition":"shop-other",`+network+`}`)
	arn := out["tasks"].([]any)[0].(map[string]any)["taskArn"].(string)
	c.advance(time.Minute)
	task, _ := c.describe(arn, "")
	if task["lastStatus"] != "STOPPED" || task["stopCode"] != "TaskFailedToStart" || !strings.Contains(task["stoppedReason"].(string), "log group does not exist") {
		t.Errorf("task with a missing log group: %v %v %v", task["lastStatus"], task["stopCode"], task["stoppedReason"])
	}
}

func TestPagination(t *testing.T) {
	c := newClient(t)
	c.seed()
	c.fake.Outcome = func(RunRequest) Outcome { return Outcome{PendingFor: time.Second, RunFor: time.Hour} }
	want := map[string]bool{}
	for i := 0; i < 5; i++ {
		want[c.runTask("")] = true
	}
	c.advance(time.Second)
	got, token, pages := map[string]bool{}, "", 0
	for {
		body := `{"cluster":"shop","maxResults":2`
		if token != "" {
			body += fmt.Sprintf(`,"nextToken":%q`, token)
		}
		out := c.ok("ListTasks", body+"}")
		pages++
		for _, a := range out["taskArns"].([]any) {
			got[a.(string)] = true
		}
		token, _ = out["nextToken"].(string)
		if token == "" {
			break
		}
	}
	if pages != 3 || len(got) != 5 {
		t.Errorf("ListTasks by 2: %d pages, %d tasks; want 3 pages, 5 tasks", pages, len(got))
	}
	for a := range want {
		if !got[a] {
			t.Errorf("task %s never listed", a)
		}
	}
	// Logs: read backward from the end.
	c.fake.mu.Lock()
	key := "/ecs/shop/migrate\x00migrate/rails/x"
	for i := 0; i < 5; i++ {
		c.fake.logs[key] = append(c.fake.logs[key], logEvent{ts: c.now.Add(-time.Minute), msg: fmt.Sprint(i)}) // ingested long ago
	}
	c.fake.mu.Unlock()
	out := c.ok("GetLogEvents", `{"logGroupName":"/ecs/shop/migrate","logStreamName":"migrate/rails/x","limit":2}`)
	back := out["nextBackwardToken"].(string)
	older := c.ok("GetLogEvents", fmt.Sprintf(`{"logGroupName":"/ecs/shop/migrate","logStreamName":"migrate/rails/x","limit":2,"nextToken":%q}`, back))
	var msgs []string
	for _, e := range append(older["events"].([]any), out["events"].([]any)...) {
		msgs = append(msgs, e.(map[string]any)["message"].(string))
	}
	if strings.Join(msgs, "") != "1234" {
		t.Errorf("newest page then the one before = %v", msgs)
	}
	streams := c.ok("DescribeLogStreams", `{"logGroupName":"/ecs/shop/migrate","limit":1}`)
	if _, ok := streams["nextToken"]; !ok && len(streams["logStreams"].([]any)) < 1 {
		t.Errorf("DescribeLogStreams: %v", streams)
	}
}

// deploymentView is what DescribeServices shows of a service's deployments.
func (c *client) deployments(svc string) []string {
	c.t.Helper()
	out := c.ok("DescribeServices", fmt.Sprintf(`{"cluster":"shop","services":[%q]}`, svc))
	var view []string
	for _, d := range out["services"].([]any)[0].(map[string]any)["deployments"].([]any) {
		m := d.(map[string]any)
		td := m["taskDefinition"].(string)
		view = append(view, fmt.Sprintf("%s:%s:%s", m["status"], td[strings.LastIndexByte(td, ':')+1:], m["rolloutState"]))
	}
	sort.Strings(view)
	return view
}

func TestServicesAreEventuallyConsistentAndBreakersBehaveAsDocumented(t *testing.T) {
	for _, tc := range []struct {
		name             string
		enable, rollback bool
		want             [][]string // views after: update, +lag, +failure, +rollback, +rollback done
	}{
		{"breaker with rollback", true, true, [][]string{
			{"PRIMARY:1:COMPLETED"},
			{"ACTIVE:1:COMPLETED", "PRIMARY:2:IN_PROGRESS"},
			{"ACTIVE:1:COMPLETED", "PRIMARY:2:FAILED"},
			{"ACTIVE:2:FAILED", "PRIMARY:1:IN_PROGRESS"},
			{"PRIMARY:1:COMPLETED"},
		}},
		{"breaker without rollback", true, false, [][]string{
			{"PRIMARY:1:COMPLETED"},
			{"ACTIVE:1:COMPLETED", "PRIMARY:2:IN_PROGRESS"},
			{"ACTIVE:1:COMPLETED", "PRIMARY:2:FAILED"},
			{"ACTIVE:1:COMPLETED", "PRIMARY:2:FAILED"},
			{"ACTIVE:1:COMPLETED", "PRIMARY:2:FAILED"},
		}},
		{"no breaker: tasks keep failing", false, false, [][]string{
			{"PRIMARY:1:COMPLETED"},
			{"ACTIVE:1:COMPLETED", "PRIMARY:2:IN_PROGRESS"},
			{"ACTIVE:1:COMPLETED", "PRIMARY:2:IN_PROGRESS"},
			{"ACTIVE:1:COMPLETED", "PRIMARY:2:IN_PROGRESS"},
			{"ACTIVE:1:COMPLETED", "PRIMARY:2:IN_PROGRESS"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t)
			c.seed()
			c.ok("RegisterTaskDefinition", `{"family":"shop-migrate","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"cpu":"256","memory":"512","containerDefinitions":[{"name":"rails","image":"app:2"}]}`)
			c.ok("CreateService", fmt.Sprintf(`{"cluster":"shop","serviceName":"web","taskDefinition":"shop-migrate:1","desiredCount":2,`+network+
				`,"deploymentConfiguration":{"deploymentCircuitBreaker":{"enable":%v,"rollback":%v}}}`, tc.enable, tc.rollback))
			if got := c.deployments("web"); strings.Join(got, " ") != "PRIMARY:1:IN_PROGRESS" {
				t.Errorf("a new service's first deployment: %v, want it IN_PROGRESS", got)
			}
			c.advance(TestTiming.Rollout)
			c.fake.SetRollout(func(string, string) Rollout { return Rollout{Takes: time.Second, Fail: true, FailedTasks: 2} })
			c.ok("UpdateService", `{"cluster":"shop","service":"web","taskDefinition":"shop-migrate:2"}`)
			steps := []time.Duration{0, TestTiming.ServiceUpdateVisible, time.Second, TestTiming.RollbackAfter, TestTiming.Rollout}
			for i, d := range steps {
				c.advance(d)
				if got := c.deployments("web"); strings.Join(got, " ") != strings.Join(tc.want[i], " ") {
					t.Errorf("step %d (+%s): %v, want %v", i, d, got, tc.want[i])
				}
			}
			out := c.ok("DescribeServices", `{"cluster":"shop","services":["web"]}`)
			dep := out["services"].([]any)[0].(map[string]any)["deployments"].([]any)
			failed := 0.0
			for _, d := range dep {
				failed += d.(map[string]any)["failedTasks"].(float64)
			}
			if !tc.enable && failed < 3 {
				t.Errorf("without a breaker failed tasks should keep growing, got %v", failed)
			}
		})
	}
}

// RunTask's clientToken makes a retry idempotent ("an identifier that you
// provide to ensure the idempotency of the request"): the same request
// returns the same task; the token with other parameters is a
// ConflictException, not a second task. A task reports its task
// definition's cpu and memory.
func TestClientTokenIdempotencyAndTaskSize(t *testing.T) {
	c := newClient(t)
	c.seed()
	first := c.runTask(`,"clientToken":"deploy-42"`)
	if again := c.runTask(`,"clientToken":"deploy-42"`); again != first {
		t.Errorf("the same request with the same token started %s, not %s", again, first)
	}
	status, typ, _ := c.call("RunTask", `{"cluster":"shop","taskDefinition":"shop-migrate","launchType":"FARGATE",`+network+`,"clientToken":"deploy-42","startedBy":"someone-else"}`)
	if status != 400 || typ != "ConflictException" {
		t.Errorf("the token with other parameters: %d %s", status, typ)
	}
	c.ok("RegisterTaskDefinition", `{"family":"shop-big","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"cpu":"1024","memory":"2048",
		"containerDefinitions":[{"name":"rails","image":"app:1"}]}`)
	out := c.ok("RunTask", `{"cluster":"shop","taskDefinition":"shop-big","launchType":"FARGATE",`+network+`}`)
	big := out["tasks"].([]any)[0].(map[string]any)["taskArn"].(string)
	c.advance(time.Second)
	task, _ := c.describe(big, "")
	if task["cpu"] != "1024" || task["memory"] != "2048" {
		t.Errorf("task size %v/%v, want the task definition's 1024/2048", task["cpu"], task["memory"])
	}
}

// An include value outside TaskField (its only value is TAGS) is refused
// by the double itself. The contract check (mage test) would refuse the
// request before the double sees it and count a model violation, so this
// double checks nothing against the model.
func TestIncludeOutsideTheModel(t *testing.T) {
	c := newClient(t)
	c.fake.SetContract(nil)
	c.seed()
	if status, typ, _ := c.call("DescribeTasks", `{"cluster":"shop","tasks":["x"],"include":["LOGS"]}`); status != 400 || typ != "InvalidParameterException" {
		t.Errorf("include LOGS: %d %s", status, typ)
	}
}
