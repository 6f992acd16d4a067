package awsfake

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// serviceDeployment is DescribeServiceDeployments' answer for one ARN.
func (c *client) serviceDeployment(arn string) map[string]any {
	c.t.Helper()
	out := c.ok("DescribeServiceDeployments", fmt.Sprintf(`{"serviceDeploymentArns":[%q]}`, arn))
	sds := out["serviceDeployments"].([]any)
	if len(sds) != 1 {
		c.t.Fatalf("DescribeServiceDeployments %s: %v", arn, out)
	}
	return sds[0].(map[string]any)
}

// currentServiceDeployment is what DescribeServices names.
func (c *client) currentServiceDeployment(service string) string {
	c.t.Helper()
	arn, _ := c.service(service)["currentServiceDeployment"].(string)
	return arn
}

func (c *client) listedServiceDeployments(service string) []map[string]any {
	c.t.Helper()
	var out []map[string]any
	for _, b := range c.ok("ListServiceDeployments", fmt.Sprintf(`{"cluster":"shop","service":%q}`, service))["serviceDeployments"].([]any) {
		out = append(out, b.(map[string]any))
	}
	return out
}

// Every rollout is a service deployment (developer guide, "View service
// history using Amazon ECS service deployments"): the first one's target
// revision runs the service's images, it ends SUCCESSFUL, and an update
// makes a second whose source is the first's revision. DescribeServices
// names the newest only once it shows that deployment.
func TestEveryRolloutIsAServiceDeployment(t *testing.T) {
	c := newClient(t)
	c.seed()
	c.createWeb(2, breaker(true, true))
	first := c.currentServiceDeployment("web")
	if !strings.Contains(first, ":service-deployment/shop/web/") || !strings.HasPrefix(first, "arn:aws:ecs:") {
		t.Fatalf("currentServiceDeployment %q, want a service-deployment ARN of shop/web", first)
	}
	sd := c.serviceDeployment(first)
	if sd["status"] != "IN_PROGRESS" || sd["lifecycleStage"] != "SCALE_UP" {
		t.Errorf("the first rollout at its start: status %v, stage %v; want IN_PROGRESS, SCALE_UP", sd["status"], sd["lifecycleStage"])
	}
	cb := sd["deploymentCircuitBreaker"].(map[string]any)
	if cb["status"] != "MONITORING" || cb["threshold"].(float64) != 3 {
		t.Errorf("breaker %v, want MONITORING with threshold 3 (half of 2, at least 3)", cb)
	}
	c.advance(TestTiming.Rollout)
	sd = c.serviceDeployment(first)
	if sd["status"] != "SUCCESSFUL" || sd["finishedAt"] == nil {
		t.Errorf("after the rollout: %v, want SUCCESSFUL with finishedAt", sd["status"])
	}
	target := sd["targetServiceRevision"].(map[string]any)
	revs := c.ok("DescribeServiceRevisions", fmt.Sprintf(`{"serviceRevisionArns":[%q]}`, target["arn"]))["serviceRevisions"].([]any)
	if len(revs) != 1 {
		t.Fatalf("DescribeServiceRevisions %v: want the target revision", target["arn"])
	}
	images := revs[0].(map[string]any)["containerImages"].([]any)
	if len(images) != 1 || images[0].(map[string]any)["image"] != "app:1" {
		t.Errorf("the first revision's images %v, want web's app:1", images)
	}

	c.ok("UpdateService", `{"cluster":"shop","service":"web","taskDefinition":"shop-web:2"}`)
	if now := c.currentServiceDeployment("web"); now != first {
		t.Errorf("right after the update DescribeServices names %s: the service does not show the new deployment yet, so want %s", now, first)
	}
	if n := len(c.listedServiceDeployments("web")); n != 1 {
		t.Errorf("ListServiceDeployments right after the update lists %d, want the 1 it shows", n)
	}
	c.advance(TestTiming.ServiceUpdateVisible)
	second := c.currentServiceDeployment("web")
	if second == first || second == "" {
		t.Fatalf("after the update currentServiceDeployment is %q, want a new one", second)
	}
	sd = c.serviceDeployment(second)
	sources := sd["sourceServiceRevisions"].([]any)
	if len(sources) != 1 || sources[0].(map[string]any)["arn"] != target["arn"] || sources[0].(map[string]any)["runningTaskCount"].(float64) != 2 {
		t.Errorf("the update's sources %v, want the first revision with 2 running", sources)
	}
	c.advance(TestTiming.Rollout)
	if got := c.serviceDeployment(second)["status"]; got != "SUCCESSFUL" {
		t.Errorf("the update ends %v, want SUCCESSFUL", got)
	}
	listed := c.listedServiceDeployments("web")
	if len(listed) != 2 || listed[0]["serviceDeploymentArn"] != second || listed[1]["serviceDeploymentArn"] != first {
		t.Errorf("ListServiceDeployments %v, want the update then the first", listed)
	}
}

// A failing rollout trips the breaker: its service deployment reads the
// failure count against the threshold, rolls back to the revision that
// ran, and ends ROLLBACK_SUCCESSFUL when the old tasks are steady.
func TestABreakerRollbackIsRecordedOnTheServiceDeployment(t *testing.T) {
	c := newClient(t)
	c.seed()
	c.createWeb(2, breaker(true, true))
	c.advance(TestTiming.Rollout)
	firstRev := c.serviceDeployment(c.currentServiceDeployment("web"))["targetServiceRevision"].(map[string]any)["arn"]
	c.fake.SetRollout(func(string, string) Rollout { return Rollout{Takes: time.Second, Fail: true, FailedTasks: 3} })
	c.ok("UpdateService", `{"cluster":"shop","service":"web","taskDefinition":"shop-web:2"}`)
	c.advance(TestTiming.ServiceUpdateVisible)
	arn := c.currentServiceDeployment("web")
	c.advance(time.Second + TestTiming.RollbackAfter + 2*TestTiming.Rollout)
	sd := c.serviceDeployment(arn)
	if sd["status"] != "ROLLBACK_SUCCESSFUL" {
		t.Fatalf("status %v (%v), want ROLLBACK_SUCCESSFUL", sd["status"], sd["statusReason"])
	}
	cb := sd["deploymentCircuitBreaker"].(map[string]any)
	if cb["status"] != "TRIGGERED" || cb["failureCount"].(float64) != 3 {
		t.Errorf("breaker %v, want TRIGGERED after 3 failures", cb)
	}
	rb, _ := sd["rollback"].(map[string]any)
	if rb == nil || rb["serviceRevisionArn"] != firstRev {
		t.Errorf("rollback %v, want one to %v", rb, firstRev)
	}
}

// StopServiceDeployment with ROLLBACK works without the breaker's
// rollback option: the healthy rollout stops, the old revision comes back
// (its tasks never stopped: minimumHealthyPercent 100), and the service
// deployment ends ROLLBACK_SUCCESSFUL. A finished one cannot be stopped.
func TestStoppingAServiceDeploymentRollsItBack(t *testing.T) {
	c := newClient(t)
	c.seed()
	c.createWeb(2, breaker(false, false))
	c.advance(TestTiming.Rollout)
	first := c.currentServiceDeployment("web")
	oldTasks := c.runningTasks("web")
	c.fake.SetRollout(func(string, string) Rollout { return Rollout{Takes: time.Hour} })
	c.ok("UpdateService", `{"cluster":"shop","service":"web","taskDefinition":"shop-web:2"}`)
	c.advance(TestTiming.ServiceUpdateVisible + time.Second)
	arn := c.currentServiceDeployment("web")
	if got := c.serviceDeployment(arn)["status"]; got != "IN_PROGRESS" {
		t.Fatalf("the slow rollout is %v, want IN_PROGRESS", got)
	}
	out := c.ok("StopServiceDeployment", fmt.Sprintf(`{"serviceDeploymentArn":%q,"stopType":"ROLLBACK"}`, arn))
	if out["serviceDeploymentArn"] != arn {
		t.Errorf("StopServiceDeployment answered %v", out)
	}
	if got := c.serviceDeployment(arn)["status"]; got != "ROLLBACK_IN_PROGRESS" {
		t.Errorf("right after the stop: %v, want ROLLBACK_IN_PROGRESS", got)
	}
	// Asking again while it rolls back is no error.
	c.ok("StopServiceDeployment", fmt.Sprintf(`{"serviceDeploymentArn":%q,"stopType":"ROLLBACK"}`, arn))
	c.advance(2 * TestTiming.Rollout)
	sd := c.serviceDeployment(arn)
	if sd["status"] != "ROLLBACK_SUCCESSFUL" {
		t.Errorf("after the rollback: %v, want ROLLBACK_SUCCESSFUL", sd["status"])
	}
	svc := c.service("web")
	if r := rows(svc); len(r) != 1 || r[0].Rollout != "COMPLETED" || !strings.HasSuffix(svc["taskDefinition"].(string), "shop-web:1") {
		t.Errorf("after the rollback the service runs %v %+v, want shop-web:1 alone, COMPLETED", svc["taskDefinition"], r)
	}
	if now := c.runningTasks("web"); strings.Join(now, " ") != strings.Join(oldTasks, " ") {
		t.Errorf("running tasks %v, want the old ones %v", now, oldTasks)
	}
	status, _, body := c.call("StopServiceDeployment", fmt.Sprintf(`{"serviceDeploymentArn":%q}`, first))
	if status != 400 || body["__type"] != "ConflictException" {
		t.Errorf("stopping the finished first deployment: %d %v, want a ConflictException", status, body)
	}
	status, _, body = c.call("StopServiceDeployment", `{"serviceDeploymentArn":"arn:aws:ecs:us-east-1:000000000000:service-deployment/shop/web/nope"}`)
	if status != 400 || body["__type"] != "ServiceDeploymentNotFoundException" {
		t.Errorf("stopping an unknown deployment: %d %v, want ServiceDeploymentNotFoundException", status, body)
	}
}

// A pinned image's digest is the revision's; an unpinned one's comes from
// the resolver the sandbox sets (its registry), as ECS resolves tags.
func TestARevisionCarriesItsImagesDigests(t *testing.T) {
	c := newClient(t)
	c.seed()
	digest := "sha256:" + strings.Repeat("ab", 32)
	c.fake.SetImageDigests(func(image string) string {
		if image == "app:1" {
			return digest
		}
		return ""
	})
	c.ok("RegisterTaskDefinition", `{"family":"shop-web","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"cpu":"256","memory":"512","containerDefinitions":[{"name":"web","image":"app:1"},{"name":"nginx","image":"nginx:1@sha256:`+strings.Repeat("cd", 32)+`"}]}`)
	c.ok("CreateService", `{"cluster":"shop","serviceName":"web","taskDefinition":"shop-web:1","desiredCount":1,`+network+`}`)
	rev := c.serviceDeployment(c.currentServiceDeployment("web"))["targetServiceRevision"].(map[string]any)["arn"]
	images := c.ok("DescribeServiceRevisions", fmt.Sprintf(`{"serviceRevisionArns":[%q]}`, rev))["serviceRevisions"].([]any)[0].(map[string]any)["containerImages"].([]any)
	got := map[string]any{}
	for _, i := range images {
		m := i.(map[string]any)
		got[m["containerName"].(string)] = m["imageDigest"]
	}
	if got["web"] != digest || got["nginx"] != "sha256:"+strings.Repeat("cd", 32) {
		t.Errorf("digests %v, want web's resolved and nginx's pinned", got)
	}
}
