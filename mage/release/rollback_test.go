package release

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/railsecs/deploykit/mage/ledger"
)

func TestChooseRollback(t *testing.T) {
	at := func(h int) time.Time { return time.Date(2026, 11, 25, h, 0, 0, 0, time.UTC) }
	rec := func(h int, tag, result string) ledger.Record {
		return ledger.Record{Tag: tag, Commit: tag + "00000000", Result: result, Started: at(h)}
	}
	// History is newest first, as History returns it.
	cases := []struct {
		name       string
		history    []ledger.Record
		want       string
		live, to   string
		reapply    bool
		errContain string
		noRelease  bool
	}{
		{name: "empty", noRelease: true},
		{name: "only failures", history: []ledger.Record{rec(2, "b", "failed"), rec(1, "a", "failed")}, noRelease: true},
		{name: "previous tag", history: []ledger.Record{rec(3, "c", "succeeded"), rec(2, "b", "succeeded"), rec(1, "a", "succeeded")}, live: "c", to: "b"},
		{name: "skips failed and same tag", history: []ledger.Record{rec(4, "c", "succeeded"), rec(3, "x", "failed"), rec(2, "c", "succeeded"), rec(1, "a", "succeeded")}, live: "c", to: "a"},
		{name: "live is the newest success, not the newest record", history: []ledger.Record{rec(3, "d", "failed"), rec(2, "b", "succeeded"), rec(1, "a", "succeeded")}, live: "b", to: "a"},
		{name: "named by tag", history: []ledger.Record{rec(3, "c", "succeeded"), rec(2, "b", "succeeded"), rec(1, "a", "succeeded")}, want: "a", live: "c", to: "a"},
		{name: "named by commit prefix", history: []ledger.Record{rec(2, "b", "succeeded"), rec(1, "a", "succeeded")}, want: "a0000", live: "b", to: "a"},
		{name: "named but only failed", history: []ledger.Record{rec(2, "b", "succeeded"), rec(1, "a", "failed")}, want: "a", errContain: `matches "a"`},
		{name: "same tag only: re-apply", history: []ledger.Record{rec(2, "a", "succeeded"), rec(1, "a", "succeeded")}, live: "a", to: "a", reapply: true},
		{name: "a single release", history: []ledger.Record{rec(1, "a", "succeeded")}, errContain: "before a"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ChooseRollback(c.history, c.want)
			switch {
			case c.noRelease:
				if !errors.Is(err, ErrNoRelease) {
					t.Fatalf("err = %v, want ErrNoRelease", err)
				}
				return
			case c.errContain != "":
				if err == nil || !strings.Contains(err.Error(), c.errContain) {
					t.Fatalf("err = %v, want one containing %q", err, c.errContain)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			if got.Live.Tag != c.live || got.Target.Tag != c.to || got.Reapply != c.reapply {
				t.Errorf("live %s -> %s (reapply %v), want %s -> %s (reapply %v)", got.Live.Tag, got.Target.Tag, got.Reapply, c.live, c.to, c.reapply)
			}
			if got.Target == got.Live {
				t.Error("the target is the live record itself")
			}
		})
	}
}
