package release

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/railsecs/deploykit/mage/awsfake"
	"github.com/railsecs/deploykit/mage/ledger"
)

// TestRollbackWhileARolloutIsInFlight: a rollback while a deploy's rollout
// still runs stops it (StopServiceDeployment ROLLBACK) instead of applying,
// and the tfvars then name the release ECS returned to; when stopping
// would not bring back the release asked for, it applies as before.
func TestRollbackWhileARolloutIsInFlight(t *testing.T) {
	s := newSandbox(t)
	ctx := context.Background()
	first, err := s.d.Deploy(ctx, Options{Timeout: time.Minute})
	if err != nil {
		t.Fatalf("first deploy: %v\n%s", err, s.out)
	}
	// Rollouts that take a while, so -wait=none leaves them in flight.
	timing := awsfake.TestTiming
	timing.Rollout = 15 * time.Second
	s.fake.SetTiming(timing)
	s.commit(t, "examples/sandbox-app/app/models/order.rb", "class Order < ApplicationRecord; def second; end; end\n")
	second, err := s.d.Deploy(ctx, Options{Migrate: "never", Wait: WaitNone})
	if err != nil {
		t.Fatalf("deploy -wait=none: %v\n%s", err, s.out)
	}

	s.out.Reset()
	if _, err := s.d.Rollback(ctx, Options{DryRun: true}); err != nil {
		t.Fatalf("rollback -dryrun in flight: %v\n%s", err, s.out)
	}
	if !strings.Contains(s.out.String(), "dry run: would stop them with StopServiceDeployment ROLLBACK") || !strings.Contains(s.tfvars(t), second.Tag) {
		t.Fatalf("rollback -dryrun in flight did not say what it would do, or changed the tfvars:\n%s\n%s", s.out, s.tfvars(t))
	}

	s.out.Reset()
	started := time.Now()
	rec, err := s.d.Rollback(ctx, Options{Timeout: time.Minute, Poll: 20 * time.Millisecond})
	if err != nil {
		t.Fatalf("rollback in flight: %v\n%s", err, s.out)
	}
	took := time.Since(started)
	out := s.out.String()
	if !strings.Contains(out, "rolling back in flight instead of an apply") || !strings.Contains(out, "rollback: rolled back in flight with StopServiceDeployment ROLLBACK: sidekiq") ||
		strings.Contains(out, "=== apply") || strings.Contains(out, "=== plan") {
		t.Fatalf("the rollback did not stop the rollouts in flight, or applied:\n%s", out)
	}
	t.Logf("what the rollback printed:\n%s", out)
	t.Logf("rollback in flight: back on %s after %s (a rolling rollout here takes %s)", first.Tag, took.Round(time.Millisecond), timing.Rollout)
	for _, svc := range []string{"web-app", "sidekiq"} {
		if got := s.serviceTag(t, svc); got != first.Tag {
			t.Errorf("after the rollback in flight %s runs %s, want %s", svc, got, first.Tag)
		}
	}
	if tfvars := s.tfvars(t); !strings.Contains(tfvars, first.Tag) || strings.Contains(tfvars, second.Tag) {
		t.Errorf("the tfvars do not name what runs (%s):\n%s", first.Tag, tfvars)
	}
	if hist, _ := ledger.History(ctx, s.store); rec.Result != "succeeded" || rec.Applied || hist[0].Action != "rollback" || hist[0].Tag != first.Tag {
		t.Errorf("recorded %+v (newest %+v), want a succeeded rollback to %s that applied nothing", rec, hist[0], first.Tag)
	}

	// Back to the second release while a third rolls out: stopping it
	// would return to the first, so the rollback applies.
	s.commit(t, "examples/sandbox-app/app/models/order.rb", "class Order < ApplicationRecord; def third; end; end\n")
	if _, err := s.d.Deploy(ctx, Options{Migrate: "never", Wait: WaitNone}); err != nil {
		t.Fatalf("third deploy -wait=none: %v\n%s", err, s.out)
	}
	s.fake.SetTiming(awsfake.TestTiming)
	s.out.Reset()
	if _, err := s.d.Rollback(ctx, Options{Target: second.Tag, Timeout: time.Minute, Poll: 20 * time.Millisecond}); err != nil {
		t.Fatalf("rollback to %s: %v\n%s", second.Tag, err, s.out)
	}
	if out := s.out.String(); !strings.Contains(out, "rolling back with an apply, which supersedes it") || !strings.Contains(out, "=== apply") {
		t.Fatalf("a rollback that stopping cannot do did not apply:\n%s", out)
	}
	if got := s.serviceTag(t, "web-app"); got != second.Tag {
		t.Errorf("after the rollback to %s web-app runs %s", second.Tag, got)
	}
	checkDeployPolicy(t, s)
}
