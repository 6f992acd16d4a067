package awsfake

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// serviceView is one DescribeServices answer for a service of the shop
// cluster.
func (c *client) service(name string) map[string]any {
	c.t.Helper()
	out := c.ok("DescribeServices", fmt.Sprintf(`{"cluster":"shop","services":[%q]}`, name))
	return out["services"].([]any)[0].(map[string]any)
}

type deploymentRow struct {
	ID, Status, Rollout       string
	Running, Pending, Desired int
}

func rows(svc map[string]any) []deploymentRow {
	var out []deploymentRow
	for _, d := range svc["deployments"].([]any) {
		m := d.(map[string]any)
		out = append(out, deploymentRow{ID: m["id"].(string), Status: m["status"].(string), Rollout: m["rolloutState"].(string),
			Running: int(m["runningCount"].(float64)), Pending: int(m["pendingCount"].(float64)), Desired: int(m["desiredCount"].(float64))})
	}
	return out
}

func eventTexts(svc map[string]any) []string {
	var out []string
	for _, e := range svc["events"].([]any) {
		out = append(out, e.(map[string]any)["message"].(string))
	}
	return out
}

// createWeb registers shop-web:1 (app:1) and shop-web:2 (app:2) and
// creates service web on revision 1 with the deploymentConfiguration
// given as JSON.
func (c *client) createWeb(desired int, deploymentConfiguration string) {
	c.t.Helper()
	c.ok("RegisterTaskDefinition", `{"family":"shop-web","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"cpu":"256","memory":"512","containerDefinitions":[{"name":"web","image":"app:1"}]}`)
	c.ok("RegisterTaskDefinition", `{"family":"shop-web","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"cpu":"256","memory":"512","containerDefinitions":[{"name":"web","image":"app:2"}]}`)
	c.ok("CreateService", fmt.Sprintf(`{"cluster":"shop","serviceName":"web","taskDefinition":"shop-web:1","desiredCount":%d,`+network+
		`,"deploymentConfiguration":%s}`, desired, deploymentConfiguration))
}

// breaker is a deploymentConfiguration with the circuit breaker set.
func breaker(enable, rollback bool) string {
	return fmt.Sprintf(`{"deploymentCircuitBreaker":{"enable":%v,"rollback":%v}}`, enable, rollback)
}

// runningTasks lists the service's tasks whose lastStatus is RUNNING.
func (c *client) runningTasks(service string) []string {
	c.t.Helper()
	arns := c.ok("ListTasks", fmt.Sprintf(`{"cluster":"shop","serviceName":%q}`, service))["taskArns"].([]any)
	if len(arns) == 0 {
		return nil
	}
	var quoted []string
	for _, a := range arns {
		quoted = append(quoted, fmt.Sprintf("%q", a))
	}
	var out []string
	for _, t := range c.ok("DescribeTasks", `{"cluster":"shop","tasks":[`+strings.Join(quoted, ",")+`]}`)["tasks"].([]any) {
		m := t.(map[string]any)
		if m["lastStatus"] == "RUNNING" {
			out = append(out, m["taskArn"].(string))
		}
	}
	return out
}

// "When a service deployment is started, it begins in an IN_PROGRESS
// state. When the service reaches a steady state, the deployment
// transitions to a COMPLETED state" (API reference, Deployment); the
// tasks are launched together and are PENDING until they run.
func TestANewServiceFirstDeploymentStartsInProgressWithPendingTasks(t *testing.T) {
	c := newClient(t)
	c.seed()
	c.createWeb(2, breaker(true, true))
	c.advance(TestTiming.Rollout / 4)
	svc := c.service("web")
	r := rows(svc)
	if len(r) != 1 || r[0].Rollout != "IN_PROGRESS" || r[0].Running != 0 || r[0].Pending != 2 || svc["pendingCount"].(float64) != 2 {
		t.Fatalf("a quarter into the first rollout: %+v (service pendingCount %v), want IN_PROGRESS, 0 running, 2 pending", r, svc["pendingCount"])
	}
	started := regexp.MustCompile(`^\(service web\) has started 2 tasks: \(task [0-9a-f]{32}\) \(task [0-9a-f]{32}\)\.$`)
	if ev := eventTexts(svc); len(ev) != 1 || !started.MatchString(ev[0]) {
		t.Errorf("events at launch: %q, want one 'has started 2 tasks: (task ...) (task ...).'", ev)
	}
	c.advance(TestTiming.Rollout)
	svc = c.service("web")
	if r := rows(svc); len(r) != 1 || r[0].Rollout != "COMPLETED" || r[0].Running != 2 || r[0].Pending != 0 {
		t.Errorf("after the rollout: %+v, want COMPLETED 2 running", r)
	}
	if ev := eventTexts(svc); len(ev) == 0 || ev[0] != "(service web) has reached a steady state." {
		t.Errorf("newest event %q, want the steady state", ev)
	}
	if n := len(c.runningTasks("web")); n != 2 {
		t.Errorf("%d RUNNING tasks, want 2", n)
	}
}

// "When the deployment circuit breaker does not find a deployment that is
// in a COMPLETED state, the circuit breaker does not launch new tasks and
// the deployment is stalled" (developer guide, deployment circuit
// breaker): a new service's failing first deployment goes FAILED and
// stays so.
func TestAFailingFirstDeploymentHasNothingToRollBackTo(t *testing.T) {
	c := newClient(t)
	c.seed()
	c.fake.SetRollout(func(string, string) Rollout {
		return Rollout{Takes: time.Second, Fail: true, FailedTasks: 3, StoppedReason: "Essential container in task exited"}
	})
	c.createWeb(2, breaker(true, true))
	c.advance(time.Second + TestTiming.RollbackAfter + 5*TestTiming.Rollout)
	svc := c.service("web")
	r := rows(svc)
	if len(r) != 1 || r[0].Status != "PRIMARY" || r[0].Rollout != "FAILED" || r[0].Running != 0 {
		t.Fatalf("deployments %+v, want the first one PRIMARY and FAILED, nothing running", r)
	}
	for _, e := range eventTexts(svc) {
		if strings.Contains(e, "rolling back") {
			t.Errorf("a rollback with nothing to roll back to: %q", e)
		}
	}
	if n := len(c.runningTasks("web")); n != 0 {
		t.Errorf("%d tasks RUNNING in a stalled deployment", n)
	}
}

// "When the rollback starts, the deployment changes from a COMPLETED to
// IN_PROGRESS" (developer guide, deployment circuit breaker): the old
// deployment comes back with its ID, and its tasks, which the failing
// rollout never replaced, keep running throughout.
func TestARollbackIsTheOldDeploymentComingBack(t *testing.T) {
	c := newClient(t)
	c.seed()
	c.createWeb(2, breaker(true, true))
	c.advance(TestTiming.Rollout)
	old := rows(c.service("web"))[0]
	oldTasks := c.runningTasks("web")
	c.fake.SetRollout(func(string, string) Rollout { return Rollout{Takes: time.Second, Fail: true, FailedTasks: 3} })
	c.ok("UpdateService", `{"cluster":"shop","service":"web","taskDefinition":"shop-web:2"}`)
	step := 50 * time.Millisecond
	sawRollback := false
	for elapsed := time.Duration(0); elapsed < time.Second+TestTiming.RollbackAfter+2*TestTiming.Rollout; elapsed += step {
		c.advance(step)
		svc := c.service("web")
		if running := int(svc["runningCount"].(float64)); running < 2 {
			t.Fatalf("+%s: service runningCount %d: the healthy old tasks must keep running (minimumHealthyPercent 100)", elapsed, running)
		}
		ids := map[string]bool{}
		for _, d := range rows(svc) {
			ids[d.ID] = true
		}
		for _, e := range eventTexts(svc) {
			if m := regexp.MustCompile(`rolling back to deployment (\S+)\.$`).FindStringSubmatch(e); m != nil {
				sawRollback = true
				if m[1] != old.ID {
					t.Fatalf("rolling back to %s, want the old deployment %s", m[1], old.ID)
				}
			}
		}
		if r := rows(svc); sawRollback && len(r) > 1 {
			if r[0].ID != old.ID || r[0].Status != "PRIMARY" || r[0].Rollout != "IN_PROGRESS" {
				t.Fatalf("+%s during the rollback: %+v, want %s PRIMARY IN_PROGRESS first", elapsed, r, old.ID)
			}
		}
	}
	if !sawRollback {
		t.Fatal("the breaker never rolled back")
	}
	final := rows(c.service("web"))
	if len(final) != 1 || final[0].ID != old.ID || final[0].Rollout != "COMPLETED" || final[0].Running != 2 {
		t.Errorf("after the rollback: %+v, want only %s COMPLETED with 2 running", final, old.ID)
	}
	if now := c.runningTasks("web"); strings.Join(now, " ") != strings.Join(oldTasks, " ") {
		t.Errorf("running tasks after the rollback %v, want the same old tasks %v", now, oldTasks)
	}
}

// A deployment that fails while a rollback is IN_PROGRESS finds no
// COMPLETED deployment: it "does not launch new tasks and the deployment
// is stalled"; it neither rolls back again nor heals.
func TestADeploymentFailingDuringARollbackStalls(t *testing.T) {
	c := newClient(t)
	c.seed()
	c.createWeb(2, breaker(true, true))
	c.advance(TestTiming.Rollout)
	c.fake.SetRollout(func(string, string) Rollout {
		return Rollout{Takes: 200 * time.Millisecond, Fail: true, FailedTasks: 3}
	})
	c.ok("UpdateService", `{"cluster":"shop","service":"web","taskDefinition":"shop-web:2"}`)
	c.advance(TestTiming.ServiceUpdateVisible + 200*time.Millisecond + TestTiming.RollbackAfter + 10*time.Millisecond)
	if r := rows(c.service("web")); r[0].Rollout != "IN_PROGRESS" || len(r) != 2 {
		t.Fatalf("rollback should be under way: %+v", r)
	}
	c.ok("UpdateService", `{"cluster":"shop","service":"web","forceNewDeployment":true,"taskDefinition":"shop-web:2"}`)
	c.advance(TestTiming.ServiceUpdateVisible + 200*time.Millisecond + TestTiming.RollbackAfter + 5*TestTiming.Rollout)
	r := rows(c.service("web"))
	if r[0].Rollout != "FAILED" || r[0].Status != "PRIMARY" {
		t.Errorf("the deployment failing during the rollback: %+v, want it PRIMARY and FAILED (stalled)", r)
	}
	rollbacks := 0
	for _, e := range eventTexts(c.service("web")) {
		if strings.Contains(e, "rolling back") {
			rollbacks++
		}
	}
	if rollbacks != 1 {
		t.Errorf("%d rollbacks, want the first one only", rollbacks)
	}
}

// Without the breaker "the scheduler ... is unable to consistently start
// tasks successfully" is the event the troubleshooting guide names, and
// each launch is announced with "has started".
func TestWithoutABreakerTheSchedulerSaysItIsUnableToStartTasks(t *testing.T) {
	c := newClient(t)
	c.seed()
	c.createWeb(1, breaker(false, false))
	c.advance(TestTiming.Rollout)
	c.fake.SetRollout(func(string, string) Rollout { return Rollout{Takes: time.Second, Fail: true} })
	c.ok("UpdateService", `{"cluster":"shop","service":"web","taskDefinition":"shop-web:2"}`)
	c.advance(TestTiming.ServiceUpdateVisible + 5*TestTiming.FailedTaskEvery)
	ev := strings.Join(eventTexts(c.service("web")), "\n")
	if !strings.Contains(ev, "(service web) is unable to consistently start tasks successfully.") {
		t.Errorf("events:\n%s\nwant the 'unable to consistently start tasks' one", ev)
	}
	if n := strings.Count(ev, "has started 1 tasks"); n < unableAfter {
		t.Errorf("%d 'has started 1 tasks' events for failed launches, want at least %d", n, unableAfter)
	}
}

// A successful rollout ends with the old tasks stopped and said so:
// "has stopped N running tasks: (task ...)".
func TestARolloutStopsTheOldTasksWithAnEvent(t *testing.T) {
	c := newClient(t)
	c.seed()
	c.createWeb(2, breaker(true, true))
	c.advance(TestTiming.Rollout)
	old := c.runningTasks("web")
	c.ok("UpdateService", `{"cluster":"shop","service":"web","taskDefinition":"shop-web:2"}`)
	c.advance(TestTiming.ServiceUpdateVisible + TestTiming.Rollout)
	ev := strings.Join(eventTexts(c.service("web")), "\n")
	for _, arn := range old {
		if !strings.Contains(ev, "has stopped 2 running tasks") || !strings.Contains(ev, "(task "+taskID(arn)+")") {
			t.Errorf("events:\n%s\nwant 'has stopped 2 running tasks' naming %s", ev, taskID(arn))
		}
	}
}

// "maximumPercent ... the upper limit on the number of your service's
// tasks that are allowed in the RUNNING or PENDING state during a
// deployment"; "minimumHealthyPercent ... the lower limit on the number
// of your service's tasks that must remain in the RUNNING state" (API
// reference, DeploymentConfiguration): with 4 tasks, 100 and 50 percent,
// the rollout stops 2 old tasks and starts 2 new, then the other 2; never
// more than 4 tasks, never fewer than 2 running.
func TestARolloutGoesInBatchesTheDeploymentConfigurationAllows(t *testing.T) {
	c := newClient(t)
	c.seed()
	c.createWeb(4, `{"maximumPercent":100,"minimumHealthyPercent":50}`)
	c.advance(TestTiming.Rollout)
	svc := c.service("web")
	if cfg := svc["deploymentConfiguration"].(map[string]any); cfg["maximumPercent"] != 100.0 || cfg["minimumHealthyPercent"] != 50.0 {
		t.Errorf("deploymentConfiguration %v, want the percents given", cfg)
	}
	c.ok("UpdateService", `{"cluster":"shop","service":"web","taskDefinition":"shop-web:2"}`)
	var news []int
	step := TestTiming.Rollout / 6
	for elapsed := time.Duration(0); elapsed < 4*TestTiming.Rollout; elapsed += step {
		c.advance(step)
		total, running := 0, 0
		r := rows(c.service("web"))
		for _, d := range r {
			total += d.Running + d.Pending
			running += d.Running
		}
		if total > 4 || running < 2 {
			t.Fatalf("+%s: %d tasks running or pending, %d running: %+v; want at most 4 and at least 2", elapsed, total, running, r)
		}
		if len(news) == 0 || news[len(news)-1] != r[0].Running {
			news = append(news, r[0].Running)
		}
		if listed := len(c.runningTasks("web")); listed != running {
			t.Fatalf("+%s: %d tasks RUNNING in DescribeTasks, the deployments count %d", elapsed, listed, running)
		}
	}
	if fmt.Sprint(news) != "[0 2 4]" {
		t.Errorf("the new deployment's running count went %v, want [0 2 4] (two batches of two)", news)
	}
	ev := strings.Join(eventTexts(c.service("web")), "\n")
	if strings.Count(ev, "has stopped 2 running tasks.") != 2 || strings.Count(ev, "has started 2 tasks.") != 2 {
		t.Errorf("events:\n%s\nwant two batches stopping and starting 2 tasks", ev)
	}
}
