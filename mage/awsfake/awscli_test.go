package awsfake

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/railsecs/deploykit/mage/internal/testtools"
)

// TestRealAWSCLIParsesEveryOperation drives the double with the real aws
// CLI (botocore's own parsers and validators) for every operation it
// implements: a response the CLI cannot parse fails the test.
func TestRealAWSCLIParsesEveryOperation(t *testing.T) {
	cli := testtools.Need(t, "aws")
	fake := New()
	fake.Outcome = func(RunRequest) Outcome {
		return Outcome{PendingFor: 10 * time.Millisecond, RunFor: 50 * time.Millisecond, ExitCode: 2, Logs: []string{"hello from the task"}}
	}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	home := t.TempDir()
	run := func(args ...string) map[string]any {
		t.Helper()
		cmd := exec.Command(cli, append([]string{"--endpoint-url", srv.URL, "--region", "us-east-1", "--output", "json"}, args...)...)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=AKIDTEST", "AWS_SECRET_ACCESS_KEY=secret",
			"AWS_CONFIG_FILE="+filepath.Join(home, "config"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "credentials"),
			"AWS_PAGER=", "AWS_RETRY_MODE=standard", "AWS_MAX_ATTEMPTS=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		var v map[string]any
		if len(strings.TrimSpace(string(out))) > 0 {
			if err := json.Unmarshal(out, &v); err != nil {
				t.Fatalf("aws %s printed non-JSON: %s", strings.Join(args, " "), out)
			}
		}
		return v
	}
	run("ecs", "create-cluster", "--cluster-name", "shop")
	run("logs", "create-log-group", "--log-group-name", "/ecs/shop/migrate")
	containers := `[{"name":"rails","image":"127.0.0.1:5000/shop/app:abc","essential":true,"logConfiguration":{"logDriver":"awslogs","options":{"awslogs-group":"/ecs/shop/migrate","awslogs-region":"us-east-1","awslogs-stream-prefix":"migrate"}}}]`
	td := run("ecs", "register-task-definition", "--family", "shop-migrate", "--network-mode", "awsvpc", "--requires-compatibilities", "FARGATE", "--cpu", "256", "--memory", "512", "--container-definitions", containers)
	arn := td["taskDefinition"].(map[string]any)["taskDefinitionArn"].(string)
	run("ecs", "describe-task-definition", "--task-definition", "shop-migrate:1")
	netcfg := "awsvpcConfiguration={subnets=[subnet-1],securityGroups=[sg-1],assignPublicIp=DISABLED}"
	run("ecs", "create-service", "--cluster", "shop", "--service-name", "web-app", "--task-definition", arn, "--desired-count", "1", "--launch-type", "FARGATE", "--network-configuration", netcfg)
	run("ecs", "update-service", "--cluster", "shop", "--service", "web-app", "--task-definition", "shop-migrate")
	svc := run("ecs", "describe-services", "--cluster", "shop", "--services", "web-app", "missing")
	listed := run("ecs", "list-service-deployments", "--cluster", "shop", "--service", "web-app")["serviceDeployments"].([]any)
	if len(listed) == 0 {
		t.Fatal("list-service-deployments lists none after a create and an update")
	}
	sdArn := listed[0].(map[string]any)["serviceDeploymentArn"].(string)
	sd := run("ecs", "describe-service-deployments", "--service-deployment-arns", sdArn)["serviceDeployments"].([]any)[0].(map[string]any)
	run("ecs", "describe-service-revisions", "--service-revision-arns", sd["targetServiceRevision"].(map[string]any)["arn"].(string))
	if sd["status"] == "IN_PROGRESS" {
		run("ecs", "stop-service-deployment", "--service-deployment-arn", sdArn, "--stop-type", "ROLLBACK")
	}
	if len(svc["failures"].([]any)) != 1 {
		t.Errorf("describe-services failures = %v", svc["failures"])
	}
	rt := run("ecs", "run-task", "--cluster", "shop", "--task-definition", "shop-migrate", "--launch-type", "FARGATE", "--started-by", "deploykit-migrate",
		"--network-configuration", netcfg, "--overrides", `{"containerOverrides":[{"name":"rails","command":["bundle","exec","rails","db:migrate"]}]}`,
		"--tags", "key=deploykit:started-by,value=alice@laptop")
	task := rt["tasks"].([]any)[0].(map[string]any)["taskArn"].(string)
	run("ecs", "list-tasks", "--cluster", "shop", "--started-by", "deploykit-migrate")
	run("ecs", "wait", "tasks-stopped", "--cluster", "shop", "--tasks", task)
	dt := run("ecs", "describe-tasks", "--cluster", "shop", "--tasks", task, "--include", "TAGS")
	got := dt["tasks"].([]any)[0].(map[string]any)
	if got["lastStatus"] != "STOPPED" || got["containers"].([]any)[0].(map[string]any)["exitCode"] != 2.0 {
		t.Errorf("describe-tasks after the waiter: %v", got)
	}
	rt2 := run("ecs", "run-task", "--cluster", "shop", "--task-definition", "shop-migrate", "--launch-type", "FARGATE", "--network-configuration", netcfg)
	fake.Outcome = nil
	run("ecs", "stop-task", "--cluster", "shop", "--task", rt2["tasks"].([]any)[0].(map[string]any)["taskArn"].(string), "--reason", "deploykit: interrupted")
	id := task[strings.LastIndexByte(task, '/')+1:]
	ev := run("logs", "get-log-events", "--log-group-name", "/ecs/shop/migrate", "--log-stream-name", "migrate/rails/"+id, "--start-from-head")
	if evs := ev["events"].([]any); len(evs) != 1 || evs[0].(map[string]any)["message"] != "hello from the task" {
		t.Errorf("get-log-events = %v", ev)
	}
	run("logs", "describe-log-streams", "--log-group-name", "/ecs/shop/migrate")
	tok := run("ecr", "get-authorization-token")
	if data := tok["authorizationData"].([]any); len(data) != 1 || data[0].(map[string]any)["authorizationToken"] == "" {
		t.Errorf("get-authorization-token = %v", tok)
	}
	run("logs", "create-log-group", "--log-group-name", "/ecs/shop/other")
	run("logs", "describe-log-groups", "--log-group-name-prefix", "/ecs/shop/")
	run("ecs", "describe-clusters", "--clusters", "shop")

	// Errors come back typed: the CLI names the exception.
	cmd := exec.Command(cli, "--endpoint-url", srv.URL, "--region", "us-east-1", "ecs", "describe-task-definition", "--task-definition", "nope")
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=AKIDTEST", "AWS_SECRET_ACCESS_KEY=secret", "AWS_CONFIG_FILE="+filepath.Join(home, "config"))
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "ClientException") {
		t.Errorf("error response: %v %s", err, out)
	}
}
