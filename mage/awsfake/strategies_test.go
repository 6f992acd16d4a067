package awsfake

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// stagesOf steps the clock until the service's current service deployment
// finishes (at most limit), returning each lifecycle stage in the order
// seen with the production weight it first had, and the final status.
func (c *client) stagesOf(limit time.Duration) (stages []string, weights map[string]float64, status string) {
	c.t.Helper()
	c.advance(TestTiming.ServiceUpdateVisible)
	arn := c.currentServiceDeployment("web")
	weights = map[string]float64{}
	step := 10 * time.Millisecond
	for elapsed := time.Duration(0); elapsed < limit; elapsed += step {
		sd := c.serviceDeployment(arn)
		status = sd["status"].(string)
		if stage, _ := sd["lifecycleStage"].(string); stage != "" && (len(stages) == 0 || stages[len(stages)-1] != stage) {
			stages = append(stages, stage)
			w, _ := sd["targetServiceRevision"].(map[string]any)["requestedProductionTrafficWeight"].(float64)
			weights[stage] = w
		}
		if status != "IN_PROGRESS" && status != "PENDING" {
			return stages, weights, status
		}
		c.advance(step)
	}
	return stages, weights, status
}

func (c *client) blueGreenWeb(extra string) {
	c.t.Helper()
	c.createWeb(2, `{"strategy":"BLUE_GREEN","bakeTimeInMinutes":1`+extra+`}`)
	c.advance(TestTiming.Rollout)
	if got := c.serviceDeployment(c.currentServiceDeployment("web"))["status"]; got != "SUCCESSFUL" {
		c.t.Fatalf("the first blue/green deployment is %v", got)
	}
}

// A BLUE_GREEN deployment goes through every stage the API reference
// lists after the scale-up, with production traffic at 0 until its shift
// and 100 after, and the old revision running until the clean-up.
func TestABlueGreenDeploymentGoesThroughItsStages(t *testing.T) {
	c := newClient(t)
	c.seed()
	c.blueGreenWeb("")
	c.ok("UpdateService", `{"cluster":"shop","service":"web","taskDefinition":"shop-web:2"}`)
	c.advance(TestTiming.Rollout + TestTiming.ServiceUpdateVisible + 4*TestTiming.TrafficShift)
	svc := c.service("web")
	if r := rows(svc); len(r) != 2 || r[1].Running != 2 {
		t.Errorf("during the traffic shifts: %+v, want the old deployment's 2 tasks still running", r)
	}
	c.advance(-(TestTiming.Rollout + 4*TestTiming.TrafficShift))
	stages, weights, status := c.stagesOf(10 * time.Second)
	want := []string{"SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT", "POST_TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME", "CLEAN_UP"}
	if !slices.Equal(stages, want) || status != "SUCCESSFUL" {
		t.Fatalf("stages %v ending %s, want %v ending SUCCESSFUL", stages, status, want)
	}
	if weights["POST_TEST_TRAFFIC_SHIFT"] != 0 || weights["POST_PRODUCTION_TRAFFIC_SHIFT"] != 100 || weights["BAKE_TIME"] != 100 {
		t.Errorf("production weights by stage %v: 0 before the shift, 100 after", weights)
	}
	if r := rows(c.service("web")); len(r) != 1 || r[0].Running != 2 || !strings.HasSuffix(c.service("web")["taskDefinition"].(string), "shop-web:2") {
		t.Errorf("after the clean-up: %+v, want only the new revision", r)
	}
}

// CANARY holds the canary percentage for its bake time, then moves the
// rest; LINEAR moves a step every step bake time.
func TestCanaryAndLinearShiftProductionTrafficInSteps(t *testing.T) {
	for _, tc := range []struct {
		config string
		want   []float64
	}{
		{`{"strategy":"CANARY","bakeTimeInMinutes":1,"canaryConfiguration":{"canaryPercent":10,"canaryBakeTimeInMinutes":1}}`, []float64{10, 100}},
		{`{"strategy":"LINEAR","bakeTimeInMinutes":1,"linearConfiguration":{"stepPercent":25,"stepBakeTimeInMinutes":1}}`, []float64{25, 50, 75, 100}},
	} {
		c := newClient(t)
		c.seed()
		c.createWeb(2, tc.config)
		c.advance(TestTiming.Rollout)
		c.ok("UpdateService", `{"cluster":"shop","service":"web","taskDefinition":"shop-web:2"}`)
		c.advance(TestTiming.ServiceUpdateVisible)
		arn := c.currentServiceDeployment("web")
		var seen []float64
		for i := 0; i < 2000; i++ {
			sd := c.serviceDeployment(arn)
			if sd["status"] != "IN_PROGRESS" {
				break
			}
			if sd["lifecycleStage"] == "PRODUCTION_TRAFFIC_SHIFT" {
				w := sd["targetServiceRevision"].(map[string]any)["requestedProductionTrafficWeight"].(float64)
				if len(seen) == 0 || seen[len(seen)-1] != w {
					seen = append(seen, w)
					// What the sandbox's load balancer weighs its
					// targets by: the same split, over each side's tasks.
					newID := rows(c.service("web"))[0].ID
					var newShare, oldShare float64
					var newTasks int
					for _, task := range wantedTasks(c.fake, "") {
						if task.Deployment == newID {
							newShare += task.TrafficShare
							newTasks++
						} else {
							oldShare += task.TrafficShare
						}
					}
					if newTasks != 2 || math.Abs(newShare-w) > 0.001 || math.Abs(oldShare-(100-w)) > 0.001 {
						t.Errorf("%s at weight %v: the runtime sees shares %v (%d new tasks) and %v", tc.config, w, newShare, newTasks, oldShare)
					}
				}
			}
			c.advance(10 * time.Millisecond)
		}
		// The last step is 100 only for an instant on LINEAR's schedule
		// end; what matters is the steps before it.
		if len(seen) < len(tc.want)-1 || !slices.Equal(seen[:len(tc.want)-1], tc.want[:len(tc.want)-1]) {
			t.Errorf("%s: production weights during the shift %v, want %v", tc.config, seen, tc.want)
		}
	}
}

// A rollback during the bake time only moves traffic back: the old
// revision's tasks never stopped, so the service runs it again within a
// traffic shift, where a rolling rollout's rollback relaunches tasks.
func TestARollbackDuringBakeTimeTakesATrafficShift(t *testing.T) {
	c := newClient(t)
	c.seed()
	c.blueGreenWeb("")
	oldTasks := c.runningTasks("web")
	c.ok("UpdateService", `{"cluster":"shop","service":"web","taskDefinition":"shop-web:2"}`)
	c.advance(TestTiming.ServiceUpdateVisible)
	arn := c.currentServiceDeployment("web")
	for i := 0; i < 500 && c.serviceDeployment(arn)["lifecycleStage"] != "BAKE_TIME"; i++ {
		c.advance(10 * time.Millisecond)
	}
	if got := c.serviceDeployment(arn)["lifecycleStage"]; got != "BAKE_TIME" {
		t.Fatalf("never reached the bake time: %v", got)
	}
	if shares := oldShare(c.fake, oldTasks); shares != 0 {
		t.Errorf("in the bake time the old tasks take %v%% of production traffic, want 0", shares)
	}
	c.ok("StopServiceDeployment", fmt.Sprintf(`{"serviceDeploymentArn":%q,"stopType":"ROLLBACK"}`, arn))
	c.advance(time.Millisecond)
	if shares := oldShare(c.fake, oldTasks); shares != 100 {
		t.Errorf("as the rollback starts the old tasks take %v%% of production traffic, want all of it", shares)
	}
	c.advance(TestTiming.TrafficShift)
	if got := c.serviceDeployment(arn)["status"]; got != "ROLLBACK_SUCCESSFUL" {
		t.Errorf("a traffic shift after the stop: %v, want ROLLBACK_SUCCESSFUL", got)
	}
	if now := c.runningTasks("web"); strings.Join(now, " ") != strings.Join(oldTasks, " ") {
		t.Errorf("running after the rollback %v, want the old tasks %v", now, oldTasks)
	}
}

// oldShare is the share of production traffic, in percent, the given
// tasks take as a load balancer weighs the wanted tasks.
func oldShare(f *Server, arns []string) float64 {
	var old, all float64
	for _, t := range wantedTasks(f, "") {
		share := t.TrafficShare
		if share < 0 {
			share = 1 // an equal share
		}
		all += share
		if slices.Contains(arns, t.ARN) {
			old += share
		}
	}
	if all == 0 {
		return 0
	}
	return 100 * old / all
}

// A PAUSE hook stops the deployment at its stage until
// ContinueServiceDeployment; ROLLBACK there rolls it back; a hook left
// alone takes its timeout action.
func TestAPauseHookWaitsForContinue(t *testing.T) {
	hook := `,"lifecycleHooks":[{"targetType":"PAUSE","lifecycleStages":["POST_TEST_TRAFFIC_SHIFT"],"timeoutConfiguration":{"timeoutInMinutes":5,"action":"ROLLBACK"}}]`
	for _, answer := range []string{"CONTINUE", "ROLLBACK", "timeout"} {
		c := newClient(t)
		c.seed()
		c.blueGreenWeb(hook)
		c.ok("UpdateService", `{"cluster":"shop","service":"web","taskDefinition":"shop-web:2"}`)
		c.advance(TestTiming.ServiceUpdateVisible + TestTiming.Rollout + 10*TestTiming.TrafficShift)
		arn := c.currentServiceDeployment("web")
		sd := c.serviceDeployment(arn)
		hooks, _ := sd["lifecycleHookDetails"].([]any)
		if sd["lifecycleStage"] != "POST_TEST_TRAFFIC_SHIFT" || len(hooks) != 1 || hooks[0].(map[string]any)["status"] != "AWAITING_ACTION" {
			t.Fatalf("%s: at the hook: stage %v, hooks %v; want paused at POST_TEST_TRAFFIC_SHIFT", answer, sd["lifecycleStage"], hooks)
		}
		if w := sd["targetServiceRevision"].(map[string]any)["requestedTestTrafficWeight"]; w != 100.0 {
			t.Errorf("%s: paused with test traffic %v, want 100 (the gate tests through the test listener)", answer, w)
		}
		id := hooks[0].(map[string]any)["hookId"].(string)
		want := map[string]string{"CONTINUE": "SUCCESSFUL", "ROLLBACK": "ROLLBACK_SUCCESSFUL", "timeout": "ROLLBACK_SUCCESSFUL"}[answer]
		if answer == "timeout" {
			c.advance(5*TestTiming.Minute + TestTiming.TrafficShift)
		} else {
			c.ok("ContinueServiceDeployment", fmt.Sprintf(`{"serviceDeploymentArn":%q,"hookId":%q,"action":%q}`, arn, id, answer))
		}
		c.advance(2*TestTiming.Minute + 10*TestTiming.TrafficShift)
		if got := c.serviceDeployment(arn)["status"]; got != want {
			t.Errorf("%s: the deployment ends %v, want %s", answer, got, want)
		}
	}
}

// Alarms in ALARM during the deployment (the bake time included) fail
// it; with the alarms' rollback on, it rolls back and names them.
func TestAnAlarmDuringTheBakeTimeRollsBack(t *testing.T) {
	c := newClient(t)
	c.seed()
	c.blueGreenWeb(`,"alarms":{"alarmNames":["shop-web-5xx","shop-web-latency"],"enable":true,"rollback":true}`)
	c.ok("UpdateService", `{"cluster":"shop","service":"web","taskDefinition":"shop-web:2"}`)
	c.advance(TestTiming.ServiceUpdateVisible)
	arn := c.currentServiceDeployment("web")
	for i := 0; i < 500 && c.serviceDeployment(arn)["lifecycleStage"] != "BAKE_TIME"; i++ {
		c.advance(10 * time.Millisecond)
	}
	c.fake.SetAlarm("shop-web-5xx", true)
	c.service("web") // the double sees the alarm when next looked at
	c.advance(TestTiming.TrafficShift)
	sd := c.serviceDeployment(arn)
	alarms := sd["alarms"].(map[string]any)
	if sd["status"] != "ROLLBACK_SUCCESSFUL" || alarms["status"] != "TRIGGERED" || fmt.Sprint(alarms["triggeredAlarmNames"]) != "[shop-web-5xx]" {
		t.Errorf("after the alarm: %v, alarms %v; want ROLLBACK_SUCCESSFUL with shop-web-5xx triggered", sd["status"], alarms)
	}
}

// The double refuses what it does not model, and what ECS refuses.
func TestStrategyConfigurationIsChecked(t *testing.T) {
	c := newClient(t)
	c.seed()
	c.ok("RegisterTaskDefinition", `{"family":"shop-web","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"cpu":"256","memory":"512","containerDefinitions":[{"name":"web","image":"app:1"}]}`)
	for config, want := range map[string]string{
		`{"strategy":"BLUE_GREEN"}`:                   "bakeTimeInMinutes is required",
		`{"strategy":"CANARY","bakeTimeInMinutes":1}`: "canaryPercent",
		`{"strategy":"ROLLING","lifecycleHooks":[{"targetType":"PAUSE","lifecycleStages":["POST_SCALE_UP"]}]}`:                               "need the BLUE_GREEN",
		`{"strategy":"BLUE_GREEN","bakeTimeInMinutes":1,"lifecycleHooks":[{"targetType":"AWS_LAMBDA","lifecycleStages":["POST_SCALE_UP"]}]}`: "runs no Lambda",
	} {
		status, typ, out := c.call("CreateService", `{"cluster":"shop","serviceName":"web","taskDefinition":"shop-web:1","desiredCount":1,`+network+`,"deploymentConfiguration":`+config+`}`)
		if status != 400 || typ != "InvalidParameterException" || !strings.Contains(fmt.Sprint(out["message"]), want) {
			t.Errorf("%s: %d %s %v, want an InvalidParameterException saying %q", config, status, typ, out["message"], want)
		}
	}
}
