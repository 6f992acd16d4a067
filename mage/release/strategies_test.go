package release

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/railsecs/deploykit/mage/awsfake"
	"github.com/railsecs/deploykit/mage/ecs"
)

// useStrategy makes the sandbox root's web service roll out as given
// (its web_deployment variable, as TF_VAR_ sets it).
func (s *sandbox) useStrategy(hcl string) {
	var env []string
	for _, e := range s.d.WS.TF.Env {
		if !strings.HasPrefix(e, "TF_VAR_web_deployment=") {
			env = append(env, e)
		}
	}
	s.d.WS.TF.Env = append(env, "TF_VAR_web_deployment="+hcl)
}

// TestStagedRolloutsInTheSandbox deploys the sandbox through ECS's staged
// strategies as the double models them: a BLUE_GREEN rollout shown stage
// by stage; Ctrl-C during its bake time, which only moves traffic back,
// timed against a rollback's apply and rolling rollout; an alarm that
// rolls a deployment back; a CANARY rollout whose gate refuses. Every call
// is then checked against the deploy policy with the IAM simulator.
func TestStagedRolloutsInTheSandbox(t *testing.T) {
	s := newSandbox(t)
	ctx := context.Background()
	timing := awsfake.TestTiming
	timing.TrafficShift, timing.Minute = 100*time.Millisecond, 300*time.Millisecond
	s.fake.SetTiming(timing)
	s.useStrategy(`{strategy="BLUE_GREEN",bake_time_minutes=2}`)
	first, err := s.d.Deploy(ctx, Options{Timeout: time.Minute})
	if err != nil {
		t.Fatalf("first deploy: %v\n%s", err, s.out)
	}

	// BLUE_GREEN, stage by stage.
	s.commit(t, "examples/sandbox-app/app/models/order.rb", "class Order < ApplicationRecord; def blue; end; end\n")
	s.out.Reset()
	second, err := s.d.Deploy(ctx, Options{Migrate: "never", Timeout: time.Minute, Poll: 20 * time.Millisecond})
	if err != nil {
		t.Fatalf("blue/green deploy: %v\n%s", err, s.out)
	}
	last := -1
	for _, stage := range []string{"SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME", "CLEAN_UP"} {
		j := strings.Index(s.out.String(), "IN_PROGRESS, stage "+stage)
		if j < 0 || j < last {
			t.Errorf("the deploy did not show %s after the stages before it:\n%s", stage, s.out)
		}
		last = j
	}

	// Ctrl-C during the bake time: ECS moves traffic back to the release
	// that ran; timed from the interrupt until the services run it.
	s.commit(t, "examples/sandbox-app/app/models/order.rb", "class Order < ApplicationRecord; def green; end; end\n")
	s.out.Reset()
	cctx, cancel := context.WithCancel(ctx)
	var interrupted time.Time
	go func() {
		// The deploy builds first: on a loaded CI machine that alone
		// took a minute.
		for deadline := time.Now().Add(10 * time.Minute); time.Now().Before(deadline) && !strings.Contains(s.out.String(), "stage BAKE_TIME"); {
			time.Sleep(5 * time.Millisecond)
		}
		interrupted = time.Now()
		cancel()
	}()
	_, err = s.d.Deploy(cctx, Options{Migrate: "never", Timeout: time.Minute, Poll: 20 * time.Millisecond})
	cancel()
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "rolled back in flight") {
		t.Fatalf("Ctrl-C during the bake time = %v\n%s", err, s.out)
	}
	if err := ecs.WaitServices(ctx, s.ecs, "shop-sandbox", []string{"web-app"}, second.Tag, io.Discard, ecs.WaitOptions{Poll: 5 * time.Millisecond, Timeout: time.Minute}); err != nil {
		t.Fatalf("after the rollback in flight: %v", err)
	}
	flip := time.Since(interrupted)

	// The same return by a rollback (an apply and a rolling rollout).
	s.useStrategy(`{strategy="ROLLING"}`)
	s.out.Reset()
	started := time.Now()
	if _, err := s.d.Rollback(ctx, Options{Timeout: time.Minute, Poll: 20 * time.Millisecond}); err != nil {
		t.Fatalf("rollback: %v\n%s", err, s.out)
	}
	rollback := time.Since(started)
	t.Logf("back to the previous release: Ctrl-C in the bake time %s, a rollback (apply + rolling rollout) %s", flip.Round(time.Millisecond), rollback.Round(time.Millisecond))
	if flip >= rollback {
		t.Errorf("moving traffic back took %s, no faster than a rollback's %s", flip, rollback)
	}
	if got := s.serviceTag(t, "web-app"); got != first.Tag {
		t.Fatalf("after the rollback web-app runs %s, want %s", got, first.Tag)
	}

	// An alarm in ALARM during the rollout rolls it back.
	s.useStrategy(`{strategy="BLUE_GREEN",bake_time_minutes=2}`)
	s.fake.SetAlarm("shop-sandbox-web-5xx", true)
	s.commit(t, "examples/sandbox-app/app/models/order.rb", "class Order < ApplicationRecord; def alarmed; end; end\n")
	s.out.Reset()
	_, err = s.d.Deploy(ctx, Options{Migrate: "never", Timeout: time.Minute, Poll: 20 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "ROLLBACK_SUCCESSFUL") || !strings.Contains(err.Error(), "shop-sandbox-web-5xx") {
		t.Fatalf("a deploy under an alarm = %v\n%s", err, s.out)
	}
	s.fake.SetAlarm("shop-sandbox-web-5xx", false)

	// CANARY with a gate that refuses: rolled back, the gate's word in the
	// error.
	gate := filepath.Join(s.repo, ".deploykit", "hooks", "gate")
	if err := os.MkdirAll(filepath.Dir(gate), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(gate, []byte("#!/bin/sh\necho \"smoke test of $DEPLOYKIT_SERVICE at $DEPLOYKIT_LIFECYCLE_STAGE: GET /up answered 500\"\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	gitIn(t, s.repo, "add", "-f", ".deploykit/hooks/gate")
	s.useStrategy(`{strategy="CANARY",bake_time_minutes=1,canary_percent=20,canary_bake_time_minutes=1,pause=true}`)
	s.commit(t, "examples/sandbox-app/app/models/order.rb", "class Order < ApplicationRecord; def canary; end; end\n")
	s.out.Reset()
	_, err = s.d.Deploy(ctx, Options{Migrate: "never", Timeout: time.Minute, Poll: 20 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "the gate refused") || !strings.Contains(s.out.String(), "GET /up answered 500") {
		t.Fatalf("a refused gate = %v\n%s", err, s.out)
	}
	if got := s.serviceTag(t, "web-app"); got != first.Tag {
		t.Errorf("after the refused gate web-app runs %s, want %s", got, first.Tag)
	}
	checkDeployPolicy(t, s)
}
