package ecs

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/railsecs/deploykit/mage/awsfake"
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

var lookback = 400 * time.Millisecond

// -follow prints each line once, none lost, though every poll reads a
// window that overlaps the last, until the context ends.
func TestServiceLogsFollowHasNoDuplicatesAndNoGaps(t *testing.T) {
	fake, _, client, _ := setup(t)
	settled(t, client, "web-app")
	// Two tasks at once for a while (a rollout), whose streams the double
	// makes readable with different lags: lines arrive out of time order.
	fake.SetRollout(func(string, string) awsfake.Rollout { return awsfake.Rollout{Takes: time.Second} })
	if _, err := client.UpdateService(context.Background(), &ecs.UpdateServiceInput{Cluster: aws.String("shop-sandbox"), Service: aws.String("web-app"), ForceNewDeployment: true}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	out := &testtools.Buffer{}
	err := ServiceLogs(ctx, client, logsClient(t, client), out, ServiceLogsOptions{Cluster: "shop-sandbox", Service: "web-app", Follow: true,
		Since: time.Minute, Poll: 100 * time.Millisecond, Lookback: lookback})
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
	total := 0
	for task, ns := range seen {
		for i := 1; i <= len(ns); i++ {
			if !ns[i] {
				t.Errorf("task %s: line %d missing (got %d lines)", task, i, len(ns))
			}
		}
		total += len(ns)
	}
	if len(seen) != 2 || total < 20 {
		t.Errorf("want the lines of the old and the new task, got %d lines from %d tasks", total, len(seen))
	}
}

// lateLogs answers FilterLogEvents from a list of events readable from a
// given poll on, honouring startTime, as CloudWatch does with a line that
// is ingested after later ones.
type lateLogs struct {
	polls  int
	events []lateEvent
}

type lateEvent struct {
	ts       int64
	id, msg  string
	fromPoll int
}

func (l *lateLogs) FilterLogEvents(_ context.Context, in *cloudwatchlogs.FilterLogEventsInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.FilterLogEventsOutput, error) {
	l.polls++
	out := &cloudwatchlogs.FilterLogEventsOutput{}
	for _, e := range l.events {
		if e.fromPoll <= l.polls && e.ts >= aws.ToInt64(in.StartTime) {
			out.Events = append(out.Events, logtypes.FilteredLogEvent{Timestamp: aws.Int64(e.ts), EventId: aws.String(e.id),
				Message: aws.String(e.msg), LogStreamName: aws.String("web/rails/0123456789abcdef")})
		}
	}
	return out, nil
}

// A line that becomes readable after later ones is printed by the next
// poll, once: each poll re-reads the lookback window and drops event IDs
// it has printed. Without enough lookback it would be lost, which this
// test also shows.
func TestServiceLogsFollowPicksUpLateLines(t *testing.T) {
	_, _, client, _ := setup(t)
	now := time.Now().UnixMilli()
	run := func(lookback time.Duration) string {
		logs := &lateLogs{events: []lateEvent{
			{now - 3000, "a", "first", 1},
			{now - 1000, "b", "third", 1},
			{now - 2000, "c", "second, ingested late", 2},
		}}
		ctx, cancel := context.WithTimeout(context.Background(), 250*time.Millisecond)
		defer cancel()
		out := &testtools.Buffer{}
		if err := ServiceLogs(ctx, client, logs, out, ServiceLogsOptions{Cluster: "shop-sandbox", Service: "web-app", Follow: true,
			Since: time.Minute, Poll: 50 * time.Millisecond, Lookback: lookback}); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	got := run(5 * time.Second)
	for _, msg := range []string{"first", "third", "second, ingested late"} {
		if n := strings.Count(got, "| "+msg+"\n"); n != 1 {
			t.Errorf("%q printed %d times, want once:\n%s", msg, n, got)
		}
	}
	if short := run(10 * time.Millisecond); strings.Contains(short, "second") {
		t.Errorf("with a 10 ms lookback the late line should be lost; the test cannot tell otherwise:\n%s", short)
	}
}
