package release

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/railsecs/deploykit/mage/ledger"
)

// historyGen makes release histories of the shapes a hostile user can
// make, with the registry they leave: each deploy pushes an app image of
// its own and an nginx image that is either its own or, when the assets
// did not change, the live one's digest under a new tag (registry-side
// reuse); a rollback may keep the live nginx image.
type historyGen struct {
	rng      *rand.Rand
	history  []ledger.Record // newest first, as ledger.History returns it
	clock    time.Time
	commits  int
	registry map[string]map[string]string // repository -> tag -> digest
}

func newHistoryGen(seed uint64) *historyGen {
	return &historyGen{
		rng:      rand.New(rand.NewPCG(seed, 7)),
		clock:    time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
		registry: map[string]map[string]string{"reg/app": {}, "reg/nginx": {}},
	}
}

func (g *historyGen) record(action, tag, result string, nginxTag string) {
	g.clock = g.clock.Add(time.Minute)
	r := ledger.Record{Action: action, Commit: tag + "0000", Tag: tag, Result: result, Started: g.clock,
		Images: map[string]string{
			"app":   fmt.Sprintf("reg/app:%s@%s", tag, g.registry["reg/app"][tag]),
			"nginx": fmt.Sprintf("reg/nginx:%s@%s", nginxTag, g.registry["reg/nginx"][nginxTag]),
		}}
	if live := ledger.LastSucceeded(g.history); live != nil {
		r.Previous = live.Tag
	}
	g.history = append([]ledger.Record{r}, g.history...)
}

// push puts tag's images in the registry (a build, or a promotion's copy).
func (g *historyGen) push(tag string) {
	if _, ok := g.registry["reg/app"][tag]; ok {
		return
	}
	g.registry["reg/app"][tag] = "sha256:app-" + tag
	live := ledger.LastSucceeded(g.history)
	if live != nil && g.rng.IntN(2) == 0 {
		g.registry["reg/nginx"][tag] = g.registry["reg/nginx"][live.Tag] // assets unchanged: same bytes
	} else {
		g.registry["reg/nginx"][tag] = "sha256:nginx-" + tag
	}
}

func (g *historyGen) step() {
	live := ledger.LastSucceeded(g.history)
	switch n := g.rng.IntN(10); {
	case n < 3 || live == nil: // a new commit
		g.commits++
		tag := fmt.Sprintf("c%03d", g.commits)
		g.push(tag)
		g.record([]string{"deploy", "promote"}[g.rng.IntN(2)], tag, "succeeded", tag)
	case n < 5: // the live commit again: a plain redeploy
		g.record("deploy", live.Tag, "succeeded", live.Tag)
	case n < 7: // a new commit that fails or is interrupted after its push
		g.commits++
		tag := fmt.Sprintf("c%03d", g.commits)
		g.push(tag)
		g.record("deploy", tag, []string{"failed", "interrupted"}[g.rng.IntN(2)], tag)
	case n < 8: // a redeploy of an older release
		var older []string
		for _, h := range g.history {
			if h.Result == "succeeded" {
				older = append(older, h.Tag)
			}
		}
		tag := older[g.rng.IntN(len(older))]
		g.record("deploy", tag, "succeeded", tag)
	default: // mage rollback
		choice, err := ChooseRollback(g.history, "")
		if err != nil {
			return
		}
		nginx := choice.Target.Tag
		if g.rng.IntN(2) == 0 {
			nginx = liveNginxTag(choice.Live) // kept: it serves both releases' assets
		}
		g.record("rollback", choice.Target.Tag, "succeeded", nginx)
	}
}

func liveNginxTag(r *ledger.Record) string {
	ref := r.Images["nginx"]
	for i := len("reg/nginx:"); i < len(ref); i++ {
		if ref[i] == '@' {
			return ref[len("reg/nginx:"):i]
		}
	}
	return r.Tag
}

// prune applies what prune decides to the generated registry.
func (g *historyGen) prune(keep int) (kept map[string]string, deleted int) {
	released := map[string]bool{}
	for _, h := range g.history {
		released[h.Tag] = true
	}
	kept = RetainedTags(g.history, keep)
	plans := planRepositoryDeletes(g.registry, kept, released)
	for repo, plan := range plans {
		for _, doomed := range plan.doomed {
			digest := g.registry[repo][doomed]
			for t, d := range g.registry[repo] {
				if d == digest {
					delete(g.registry[repo], t)
				}
			}
			deleted++
		}
	}
	return kept, deleted
}

// rollbackWorks says whether `mage rollback [-commit=want]` finds its
// target's images, as rollback's "images present" stage checks them.
func (g *historyGen) rollbackWorks(want string) error {
	choice, err := ChooseRollback(g.history, want)
	if err != nil {
		return err
	}
	for repo, tags := range g.registry {
		if _, ok := tags[choice.Target.Tag]; !ok {
			return fmt.Errorf("%s:%s is no longer in the registry", repo, choice.Target.Tag)
		}
	}
	return nil
}

// After `prune -keep=N` for any N >= 1, `rollback` and `rollback -commit`
// of every release prune reports as kept still find their images, over
// generated histories of every shape (same-commit redeploys, failed and
// interrupted records in between, promotions, rollbacks followed by
// deploys, shared nginx images).
func TestPruneKeepsEveryRollbackTargetOverGeneratedHistories(t *testing.T) {
	deletedSomewhere := 0
	for seed := range uint64(3000) {
		g := newHistoryGen(seed)
		steps := 2 + g.rng.IntN(14)
		for range steps {
			g.step()
		}
		if ledger.LastSucceeded(g.history) == nil {
			continue
		}
		keep := 1 + g.rng.IntN(3)
		kept, deleted := g.prune(keep)
		deletedSomewhere += deleted
		if err := g.rollbackWorks(""); err != nil && err.Error() != fmt.Sprintf("no successful release before %s to roll back to", ledger.LastSucceeded(g.history).Tag) {
			t.Fatalf("seed %d, prune -keep=%d: rollback fails: %v\nkept %v\n%s", seed, keep, err, kept, describeHistory(g.history))
		}
		for tag := range kept {
			if !g.succeeded(tag) {
				continue
			}
			if err := g.rollbackWorks(tag); err != nil {
				t.Fatalf("seed %d, prune -keep=%d reports %s kept (%s), but rollback -commit=%s fails: %v\n%s", seed, keep, tag, kept[tag], tag, err, describeHistory(g.history))
			}
		}
	}
	if deletedSomewhere == 0 {
		t.Fatal("prune deleted nothing in any history: the property proves nothing")
	}
}

func (g *historyGen) succeeded(tag string) bool {
	for _, h := range g.history {
		if h.Tag == tag && h.Result == "succeeded" {
			return true
		}
	}
	return false
}

func describeHistory(history []ledger.Record) string {
	var s string
	for i := len(history) - 1; i >= 0; i-- {
		h := history[i]
		s += fmt.Sprintf("  %s %s %s (nginx %s)\n", h.Action, h.Tag, h.Result, h.Images["nginx"])
	}
	return s
}

// The case the hostile run found: a plain redeploy of the live commit set
// the last record's previous tag to its own, and prune -keep=1 kept that
// instead of the release rollback returns to.
func TestPruneKeepsTheRollbackTargetAfterASameCommitRedeploy(t *testing.T) {
	at := func(m int) time.Time { return time.Date(2026, 12, 1, 0, m, 0, 0, time.UTC) }
	history := []ledger.Record{ // newest first
		{Action: "deploy", Tag: "bbb", Result: "succeeded", Previous: "bbb", Started: at(3)},
		{Action: "deploy", Tag: "bbb", Result: "succeeded", Previous: "aaa", Started: at(2)},
		{Action: "deploy", Tag: "aaa", Result: "succeeded", Started: at(1)},
	}
	kept := RetainedTags(history, 1)
	if kept["bbb"] != "live release" || kept["aaa"] != "rollback target" {
		t.Errorf("kept %v: want bbb live and aaa the rollback target", kept)
	}
	choice, err := ChooseRollback(history, "")
	if err != nil || choice.Target.Tag != "aaa" {
		t.Fatalf("rollback chooses %+v, %v", choice.Target, err)
	}
}
