package awsfake

import (
	"os"
	"strings"
	"testing"

	"github.com/railsecs/deploykit/mage/internal/testtools"
)

func loadContract(t *testing.T) *Contract {
	t.Helper()
	testtools.Integration(t)
	dir, err := BotocoreData()
	if err != nil {
		if os.Getenv(testtools.RequireEnv) != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	c, err := LoadContract(dir)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The contract is not a check that cannot fail: each kind of violation is
// named with its operation and member.
func TestContractNamesEachViolation(t *testing.T) {
	c := loadContract(t)
	const ecs = "AmazonEC2ContainerServiceV20141113."
	cases := []struct {
		target, body string
		request      bool
		want         string
	}{
		{ecs + "RunTask", `{"tasks":[{"taskArn":"a","tags":null}]}`, false, "RunTask response.tasks[0].tags: null"},
		{ecs + "RunTask", `{"tasks":[{"taskArn":"a","lastStatus":7}]}`, false, "tasks[0].lastStatus: want a string"},
		{ecs + "DescribeServices", `{"services":[{"deployments":[{"rolloutState":"DONE"}]}]}`, false, `"DONE" is not one of`},
		{ecs + "DescribeTasks", `{"tasks":[{"exitCode":0}]}`, false, "member exitCode is not in Task"},
		{ecs + "RunTask", `{"cluster":"shop"}`, true, "required member taskDefinition is missing"},
		{ecs + "ListTasks", `{"maxResults":"10"}`, true, "maxResults: want an integer"},
		{ecs + "DescribeTasks", `{"tasks":[{"createdAt":"2026-11-25"}]}`, false, "createdAt: want epoch seconds"},
		{"Logs_20140328.GetLogEvents", `{"logGroupName":"g","logStreamName":"s","limit":0}`, true, "outside"},
	}
	for _, tc := range cases {
		var got []string
		if tc.request {
			got = c.CheckRequest(tc.target, []byte(tc.body))
		} else {
			got = c.CheckResponse(tc.target, []byte(tc.body))
		}
		if !strings.Contains(strings.Join(got, "\n"), tc.want) {
			t.Errorf("%s %s: violations %v, want one containing %q", tc.target, tc.body, got, tc.want)
		}
	}
	if v := c.CheckRequest(ecs+"RunTask", []byte(`{"cluster":"shop","taskDefinition":"f","count":1,"tags":[{"key":"k","value":"v"}]}`)); len(v) > 0 {
		t.Errorf("a valid RunTask request: %v", v)
	}
}

// A double in contract mode refuses to send what the model forbids.
func TestDoubleInContractModeFailsOnAViolation(t *testing.T) {
	c := newClient(t)
	c.fake.SetContract(loadContract(t))
	c.seed()
	c.fake.mu.Lock()
	c.fake.taskDefs["shop-migrate"][0].doc["cpu"] = 256 // a number where the model says string
	c.fake.mu.Unlock()
	status, typ, out := c.call("DescribeTaskDefinition", `{"taskDefinition":"shop-migrate"}`)
	if status != 500 || typ != "ContractViolation" || !strings.Contains(out["message"].(string), "taskDefinition.cpu: want a string") {
		t.Errorf("answer with a number cpu: %d %s %v", status, typ, out["message"])
	}
	if status, typ, _ := c.call("ListTasks", `{"cluster":"shop","maxResults":"2"}`); status != 400 || typ != "ValidationException" {
		t.Errorf("request with a string maxResults: %d %s", status, typ)
	}
}
