package awsfake

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// "familyPrefix: The full family name to filter the ListTaskDefinitions
// results with" (API reference): shop-web does not list shop-web-worker.
func TestFamilyPrefixIsTheWholeFamily(t *testing.T) {
	c := newClient(t)
	c.seed()
	for _, fam := range []string{"shop-web", "shop-web-worker"} {
		c.ok("RegisterTaskDefinition", fmt.Sprintf(`{"family":%q,"containerDefinitions":[{"name":"x","image":"app:1"}]}`, fam))
	}
	arns := c.ok("ListTaskDefinitions", `{"familyPrefix":"shop-web"}`)["taskDefinitionArns"].([]any)
	if len(arns) != 1 || !strings.HasSuffix(arns[0].(string), "task-definition/shop-web:1") {
		t.Errorf("familyPrefix shop-web listed %v, want shop-web:1 only", arns)
	}
}

// putEvents writes events to a stream of the seed's log group, ingested
// long ago.
func (c *client) putEvents(stream string, at []time.Time, msgs ...string) {
	c.fake.mu.Lock()
	defer c.fake.mu.Unlock()
	key := "/ecs/shop/migrate\x00" + stream
	for i, m := range msgs {
		c.fake.logs[key] = append(c.fake.logs[key], logEvent{ts: at[i], msg: m})
	}
}

func messages(out map[string]any) string {
	var msgs []string
	for _, e := range out["events"].([]any) {
		msgs = append(msgs, e.(map[string]any)["message"].(string))
	}
	return strings.Join(msgs, " ")
}

// GetLogEvents: "Events with a timestamp equal to this time or later than
// this time are included" (startTime); "Events with a timestamp equal to
// or later than this time are not included" (endTime).
func TestGetLogEventsStartAndEndTimes(t *testing.T) {
	c := newClient(t)
	c.seed()
	base := c.now.Add(-time.Hour)
	c.putEvents("s/a/1", []time.Time{base, base.Add(time.Second), base.Add(2 * time.Second)}, "a", "b", "c")
	body := fmt.Sprintf(`{"logGroupName":"/ecs/shop/migrate","logStreamName":"s/a/1","startFromHead":true,"startTime":%d,"endTime":%d}`,
		base.Add(time.Second).UnixMilli(), base.Add(2*time.Second).UnixMilli())
	if got := messages(c.ok("GetLogEvents", body)); got != "b" {
		t.Errorf("[start, end) = %q, want b", got)
	}
	c.fake.SetContract(nil) // limit 0 is outside the model: the contract check would refuse it first
	if status, typ, _ := c.call("GetLogEvents", `{"logGroupName":"/ecs/shop/migrate","logStreamName":"s/a/1","limit":0}`); status != 400 || typ != "InvalidParameterException" {
		t.Errorf("limit 0: %d %s", status, typ)
	}
}

// DescribeLogStreams orders by name or by last event time, either way
// round, with the streams' timestamps; ordering by time refuses a prefix.
func TestDescribeLogStreamsOrderAndTimestamps(t *testing.T) {
	c := newClient(t)
	c.seed()
	base := c.now.Add(-time.Hour)
	c.putEvents("s/a/1", []time.Time{base.Add(3 * time.Second)}, "newest")
	c.putEvents("s/b/2", []time.Time{base}, "oldest")
	out := c.ok("DescribeLogStreams", `{"logGroupName":"/ecs/shop/migrate","orderBy":"LastEventTime","descending":true}`)
	streams := out["logStreams"].([]any)
	if len(streams) != 2 || streams[0].(map[string]any)["logStreamName"] != "s/a/1" {
		t.Fatalf("by last event time, newest first: %v", streams)
	}
	if ts := streams[0].(map[string]any)["lastEventTimestamp"]; ts != float64(base.Add(3*time.Second).UnixMilli()) {
		t.Errorf("lastEventTimestamp %v", ts)
	}
	out = c.ok("DescribeLogStreams", `{"logGroupName":"/ecs/shop/migrate","orderBy":"LastEventTime"}`)
	if first := out["logStreams"].([]any)[0].(map[string]any)["logStreamName"]; first != "s/b/2" {
		t.Errorf("by last event time, oldest first: %v", first)
	}
	if status, typ, _ := c.call("DescribeLogStreams", `{"logGroupName":"/ecs/shop/migrate","orderBy":"LastEventTime","logStreamNamePrefix":"s/"}`); status != 400 || typ != "InvalidParameterException" {
		t.Errorf("orderBy LastEventTime with a prefix: %d %s", status, typ)
	}
}

// The unstructured filter pattern syntax: all plain terms, any ?term, no
// -term; case sensitive.
func TestFilterPatternTerms(t *testing.T) {
	c := newClient(t)
	c.seed()
	base := c.now.Add(-time.Hour)
	at := []time.Time{base, base.Add(time.Second), base.Add(2 * time.Second), base.Add(3 * time.Second)}
	c.putEvents("s/a/1", at, "ERROR db timeout", "WARN slow request", "INFO ok", "ERROR Retry later")
	for pattern, want := range map[string]string{
		`ERROR`:          "ERROR db timeout ERROR Retry later",
		`?ERROR ?WARN`:   "ERROR db timeout WARN slow request ERROR Retry later",
		`ERROR -Retry`:   "ERROR db timeout",
		`"slow request"`: "WARN slow request",
		`error`:          "",
	} {
		body := fmt.Sprintf(`{"logGroupName":"/ecs/shop/migrate","filterPattern":%q}`, pattern)
		if got := messages(c.ok("FilterLogEvents", body)); got != want {
			t.Errorf("%s: %q, want %q", pattern, got, want)
		}
	}
}
