package ecs

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/railsecs/deploykit/mage/internal/testtools"
)

func logsClient(t *testing.T, client *ecs.Client) *cloudwatchlogs.Client {
	return cloudwatchlogs.New(cloudwatchlogs.Options{Region: "us-east-1", BaseEndpoint: client.Options().BaseEndpoint, Credentials: client.Options().Credentials})
}

// healthLine matches the double's service log lines: "rails: GET /up 200
// (health check N)" prefixed with time, task and container.
var healthLine = regexp.MustCompile(`^(\S+) ([0-9a-f]{12}) rails \| rails: GET /up 200 \(health check (\d+)\)$`)

// The service's lines come from the streams its task definition names,
// each prefixed with time, task and container, in time order across
// tasks; -container and -grep narrow them.
func TestServiceLogs(t *testing.T) {
	_, _, client, _ := setup(t)
	ctx := context.Background()
	logs := logsClient(t, client)
	// A second deployment: old and new tasks both log for a while.
	if _, err := client.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("shop-sandbox"), Service: aws.String("web-app"), ForceNewDeployment: true}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(600 * time.Millisecond)
	out := &testtools.Buffer{}
	if err := ServiceLogs(ctx, client, logs, out, ServiceLogsOptions{Cluster: "shop-sandbox", Service: "web-app", Since: time.Minute}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	tasks := map[string]bool{}
	prev := ""
	for _, l := range lines {
		m := healthLine.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("unexpected line %q in\n%s", l, out)
		}
		if m[1] < prev {
			t.Errorf("not in time order: %s after %s", m[1], prev)
		}
		prev = m[1]
		tasks[m[2]] = true
	}
	if len(lines) < 5 || len(tasks) < 2 {
		t.Errorf("want lines of the old and the new task, got %d lines from %d tasks:\n%s", len(lines), len(tasks), out)
	}

	out.Reset()
	if err := ServiceLogs(ctx, client, logs, out, ServiceLogsOptions{Cluster: "shop-sandbox", Service: "web-app", Grep: regexp.MustCompile(`check 3\)$`)}); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "\n"); n < 1 || n != strings.Count(out.String(), "check 3)") {
		t.Errorf("-grep kept other lines:\n%s", out)
	}
	err := ServiceLogs(ctx, client, logs, out, ServiceLogsOptions{Cluster: "shop-sandbox", Service: "web-app", Container: "nginx"})
	if err == nil || !strings.Contains(err.Error(), `no container "nginx"`) || !strings.Contains(err.Error(), "rails") {
		t.Errorf("an unknown container: %v", err)
	}
	if err := ServiceLogs(ctx, client, logs, out, ServiceLogsOptions{Cluster: "shop-sandbox", Service: "nope"}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("an unknown service: %v", err)
	}
}

// -follow prints each line once, none lost, though every poll reads a
// window that overlaps the last, until the context ends.
func TestServiceLogsFollowHasNoDuplicatesAndNoGaps(t *testing.T) {
	_, _, client, _ := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	out := &testtools.Buffer{}
	err := ServiceLogs(ctx, client, logsClient(t, client), out, ServiceLogsOptions{Cluster: "shop-sandbox", Service: "web-app", Follow: true,
		Since: time.Minute, Poll: 100 * time.Millisecond, Lookback: 400 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]map[int]bool{}
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		m := healthLine.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("unexpected line %q", l)
		}
		n := 0
		for _, c := range m[3] {
			n = n*10 + int(c-'0')
		}
		if seen[m[2]] == nil {
			seen[m[2]] = map[int]bool{}
		}
		if seen[m[2]][n] {
			t.Errorf("line %d of task %s printed twice", n, m[2])
		}
		seen[m[2]][n] = true
	}
	for task, ns := range seen {
		for i := 1; i <= len(ns); i++ {
			if !ns[i] {
				t.Errorf("task %s: line %d missing (got %d lines)", task, i, len(ns))
			}
		}
		if len(ns) < 10 {
			t.Errorf("task %s: only %d lines in 1.5 s of following", task, len(ns))
		}
	}
}
