package sandbox

import (
	"slices"
	"testing"
)

// The SSM agent splits a container session's command with google/shlex
// and runs it without a shell (amazon-ssm-agent,
// agent/session/shell/shell_unix.go); docs/targets.md's example must reach Ruby
// as one argument, as it does on ECS.
func TestExecSplitsLikeTheSSMAgent(t *testing.T) {
	for command, want := range map[string][]string{
		`bin/rails runner 'p User.count'`:        {"bin/rails", "runner", "p User.count"},
		`bin/rails runner "puts 'a b'"`:          {"bin/rails", "runner", "puts 'a b'"},
		`bundle exec rake orders:expire[30]`:     {"bundle", "exec", "rake", "orders:expire[30]"},
		"  bin/rails   console  ":                {"bin/rails", "console"},
		`echo $HOME`:                             {"echo", "$HOME"}, // no shell: nothing expands
		`bin/rails runner 'p 1' # not a comment`: {"bin/rails", "runner", "p 1"},
	} {
		got, err := SplitLikeSSMAgent(command)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("SplitLikeSSMAgent(%q) = %q, %v; want %q", command, got, err, want)
		}
	}
	for _, empty := range []string{"", "   ", "\t\n"} {
		if _, err := SplitLikeSSMAgent(empty); err == nil || err.Error() != "empty command" {
			t.Errorf("SplitLikeSSMAgent(%q) = %v, want empty command", empty, err)
		}
	}
	if _, err := SplitLikeSSMAgent(`bin/rails runner 'p 1`); err == nil {
		t.Error("an unclosed quote was accepted")
	}
}
