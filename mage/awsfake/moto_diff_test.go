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
	"testing"
	"time"

	"github.com/railsecs/deploykit/mage/internal/testaws"
)

// motoGaps are the differences between moto_server 5.2.1 and the double
// that are moto's, not ours, each checked against AWS's API reference (and
// every key the double sends is also checked against botocore's model by
// the contract). Keys are answer paths, or "Operation step: error".
var motoGaps = map[string]string{
	".tags[].key":                                   "RegisterTaskDefinition's answer carries the tags it was given (API reference, RegisterTaskDefinition response); moto omits them",
	".tags[].value":                                 "as .tags[].key",
	".taskDefinition.registeredAt":                  "a documented TaskDefinition member moto does not set",
	".tasks[].cpu":                                  "Task.cpu is documented and set for Fargate tasks; moto omits it",
	".tasks[].memory":                               "Task.memory, as cpu",
	".tasks[].createdAt":                            "Task.createdAt is set on every task; moto omits it",
	".tasks[].version":                              "Task.version is set on every task; moto omits it",
	".tasks[].overrides.containerOverrides":         "Task.overrides echoes what RunTask was given, an empty list when none; moto leaves it out",
	".task.cpu":                                     "as .tasks[].cpu",
	".task.memory":                                  "as .tasks[].memory",
	".task.createdAt":                               "as .tasks[].createdAt",
	".task.version":                                 "as .tasks[].version",
	".task.overrides.containerOverrides":            "as .tasks[].overrides.containerOverrides",
	".task.stopCode":                                "a stopped task carries stopCode UserInitiated (API reference, Task.stopCode); moto omits it",
	".task.stoppingAt":                              "set when a task begins stopping; moto omits it",
	".task.executionStoppedAt":                      "set when the containers stopped; moto omits it",
	".tasks[].enableExecuteCommand":                 "Task.enableExecuteCommand is in every DescribeTasks answer (false unless ECS Exec was turned on); moto omits it",
	".task.enableExecuteCommand":                    "as .tasks[].enableExecuteCommand",
	".tasks[].containers[].runtimeId":               "Container.runtimeId is set once a container runs (the aws CLI's execute-command reads it); moto omits it",
	".task.containers[].runtimeId":                  "as .tasks[].containers[].runtimeId",
	".taskDefinition.deregisteredAt":                "a documented TaskDefinition member, set once a revision is deregistered; moto does not set it",
	"RunTask run inactive: error":                   "AWS (DeregisterTaskDefinition reference): an INACTIVE revision cannot run new tasks or create services; moto runs it",
	"RunTask count 11: error":                       "AWS: count is 1-10 (InvalidParameterException); moto starts 11 tasks",
	"ListTasks startedBy and another filter: error": "AWS: 'When you specify startedBy as the filter, it must be the only filter that you use'; moto does not enforce it",
}

type endpointCall struct{ url string }

func (e endpointCall) post(t *testing.T, target, body string) (int, map[string]any) {
	t.Helper()
	prefix, service := "AmazonEC2ContainerServiceV20141113.", "ecs"
	if strings.HasPrefix(target, "logs:") {
		prefix, service, target = "Logs_20140328.", "logs", strings.TrimPrefix(target, "logs:")
	}
	req, _ := http.NewRequest(http.MethodPost, e.url+"/", bytes.NewBufferString(body))
	req.Header.Set("X-Amz-Target", prefix+target)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDTEST/20261125/us-east-1/"+service+"/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(data, &out)
	return resp.StatusCode, out
}

// shapeOf flattens a JSON document into path -> JSON type.
func shapeOf(prefix string, v any, out map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			shapeOf(prefix+"."+k, val, out)
		}
	case []any:
		for _, e := range x {
			shapeOf(prefix+"[]", e, out)
		}
		if len(x) == 0 {
			out[prefix] = "list"
		}
	case string:
		out[prefix] = "string"
	case float64:
		out[prefix] = "number"
	case bool:
		out[prefix] = "bool"
	case nil:
		out[prefix] = "null"
	}
}

func errType(out map[string]any) string {
	typ, _ := out["__type"].(string)
	if i := strings.LastIndexByte(typ, '#'); i >= 0 {
		typ = typ[i+1:]
	}
	return typ
}

// TestDoubleAgreesWithMoto runs one call sequence against moto_server (a
// third-party emulator) and the double, and compares status codes, error
// types, and the keys and JSON types of every answer: each key the double
// sends must be one moto sends too, with the same type.
func TestDoubleAgreesWithMoto(t *testing.T) {
	moto := testaws.Moto(t)
	subnet, sg := testaws.Network(t, moto)
	fake := New()
	fake.Outcome = func(RunRequest) Outcome { return Outcome{PendingFor: time.Second, RunFor: time.Hour} }
	srv := httptest.NewServer(fake)
	defer srv.Close()
	ends := map[string]endpointCall{"moto": {moto}, "double": {srv.URL}}

	netcfg := fmt.Sprintf(`"networkConfiguration":{"awsvpcConfiguration":{"subnets":[%q],"securityGroups":[%q]}}`, subnet, sg)
	taskArns := map[string]string{}
	register := func(string) string {
		return `{"family":"shop-migrate","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"cpu":"256","memory":"512",
				"containerDefinitions":[{"name":"rails","image":"app:1","essential":true,"memory":512,"logConfiguration":{"logDriver":"awslogs","options":{"awslogs-group":"/ecs/shop/migrate","awslogs-region":"us-east-1","awslogs-stream-prefix":"migrate"}}}],
				"tags":[{"key":"app","value":"shop"}]}`
	}
	steps := []struct {
		name, target string
		body         func(who string) string
	}{
		{"unknown cluster", "DescribeTasks", func(string) string { return `{"cluster":"nope","tasks":["x"]}` }},
		{"create cluster", "CreateCluster", func(string) string { return `{"clusterName":"shop"}` }},
		{"create log group", "logs:CreateLogGroup", func(string) string { return `{"logGroupName":"/ecs/shop/migrate"}` }},
		{"register", "RegisterTaskDefinition", register},
		{"describe definition", "DescribeTaskDefinition", func(string) string { return `{"taskDefinition":"shop-migrate"}` }},
		{"describe definition with tags", "DescribeTaskDefinition", func(string) string { return `{"taskDefinition":"shop-migrate","include":["TAGS"]}` }},
		{"unknown definition", "DescribeTaskDefinition", func(string) string { return `{"taskDefinition":"nope"}` }},
		{"run", "RunTask", func(string) string {
			return `{"cluster":"shop","taskDefinition":"shop-migrate","launchType":"FARGATE","startedBy":"deploykit-migrate",` + netcfg +
				`,"tags":[{"key":"deploykit:started-by","value":"alice"}]}`
		}},
		{"describe task", "DescribeTasks", func(who string) string {
			return fmt.Sprintf(`{"cluster":"shop","tasks":[%q],"include":["TAGS"]}`, taskArns[who])
		}},
		{"list by startedBy", "ListTasks", func(string) string { return `{"cluster":"shop","startedBy":"deploykit-migrate"}` }},
		{"filter logs", "logs:FilterLogEvents", func(string) string {
			return `{"logGroupName":"/ecs/shop/migrate","logStreamNamePrefix":"migrate/rails/","startTime":0}`
		}},
		{"filter logs of a missing group", "logs:FilterLogEvents", func(string) string { return `{"logGroupName":"/ecs/nope"}` }},
		{"stop", "StopTask", func(who string) string {
			return fmt.Sprintf(`{"cluster":"shop","task":%q,"reason":"deploykit: interrupted"}`, taskArns[who])
		}},
		{"list stopped", "ListTasks", func(string) string { return `{"cluster":"shop","desiredStatus":"STOPPED"}` }},
		{"describe clusters", "DescribeClusters", func(string) string { return `{"clusters":["shop","nope"]}` }},
		{"register again", "RegisterTaskDefinition", register},
		{"list definitions", "ListTaskDefinitions", func(string) string { return `{"familyPrefix":"shop-migrate","sort":"DESC"}` }},
		{"deregister", "DeregisterTaskDefinition", func(string) string { return `{"taskDefinition":"shop-migrate:1"}` }},
		{"deregister a family", "DeregisterTaskDefinition", func(string) string { return `{"taskDefinition":"shop-migrate"}` }},
		{"list inactive", "ListTaskDefinitions", func(string) string { return `{"familyPrefix":"shop-migrate","status":"INACTIVE"}` }},
		{"describe inactive", "DescribeTaskDefinition", func(string) string { return `{"taskDefinition":"shop-migrate:1"}` }},
		{"run inactive", "RunTask", func(string) string {
			return `{"cluster":"shop","taskDefinition":"shop-migrate:1","launchType":"FARGATE",` + netcfg + `}`
		}},
		{"count 11", "RunTask", func(string) string {
			return `{"cluster":"shop","taskDefinition":"shop-migrate","launchType":"FARGATE","count":11,` + netcfg + `}`
		}},
		{"startedBy and another filter", "ListTasks", func(string) string { return `{"cluster":"shop","startedBy":"x","desiredStatus":"RUNNING"}` }},
	}
	for _, st := range steps {
		answers := map[string]map[string]any{}
		statuses := map[string]int{}
		for who, e := range ends {
			statuses[who], answers[who] = e.post(t, st.target, st.body(who))
			if st.target == "RunTask" && statuses[who] == 200 && st.name == "run" {
				taskArns[who] = answers[who]["tasks"].([]any)[0].(map[string]any)["taskArn"].(string)
				time.Sleep(100 * time.Millisecond) // past the double's visibility lag
			}
		}
		key := st.target + " " + st.name
		if statuses["moto"] != statuses["double"] || errType(answers["moto"]) != errType(answers["double"]) {
			if why, ok := motoGaps[key+": error"]; ok {
				t.Logf("%s: known moto gap: %s", key, why)
				continue
			}
			t.Errorf("%s: moto %d %s, double %d %s", key, statuses["moto"], errType(answers["moto"]), statuses["double"], errType(answers["double"]))
			continue
		}
		if statuses["double"] != 200 {
			continue
		}
		motoShape, doubleShape := map[string]string{}, map[string]string{}
		shapeOf("", answers["moto"], motoShape)
		shapeOf("", answers["double"], doubleShape)
		var paths []string
		for p := range doubleShape {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		for _, p := range paths {
			mt, ok := motoShape[p]
			if ok && (mt == doubleShape[p] || mt == "list" || doubleShape[p] == "list") {
				continue
			}
			if why, known := motoGaps[p]; known {
				t.Logf("%s %s: known moto gap: %s", key, p, why)
				continue
			}
			if !ok {
				t.Errorf("%s: the double sends %s (%s), moto does not", key, p, doubleShape[p])
			} else {
				t.Errorf("%s: %s is %s in the double, %s in moto", key, p, doubleShape[p], mt)
			}
		}
	}
}
