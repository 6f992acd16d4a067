package targets

import (
	"reflect"
	"strings"
	"testing"
)

func TestSplitCommand(t *testing.T) {
	good := map[string][]string{
		`bin/rails runner 'Report.deliver_all'`: {"bin/rails", "runner", "Report.deliver_all"},
		`bundle exec rake "orders:expire[30]"`:  {"bundle", "exec", "rake", "orders:expire[30]"},
		`echo 'a $b'   c\ d`:                    {"echo", "a $b", "c d"},
		`bundle exec rails runner "puts 1 + 1"`: {"bundle", "exec", "rails", "runner", "puts 1 + 1"},
	}
	for in, want := range good {
		got, err := splitCommand(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("splitCommand(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := map[string]string{
		`echo $HOME`:         "$HOME",
		`echo "$(whoami)"`:   "substitution",
		`echo 'unterminated`: "command",
		`   `:                "empty command",
	}
	for in, want := range bad {
		if _, err := splitCommand(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("splitCommand(%q) = %v, want an error containing %q", in, err, want)
		}
	}
}

// exec ” is refused here, with run's message, before any AWS call (a
// bogus environment name proves nothing was loaded).
func TestEmptyExecRefusedLikeRun(t *testing.T) {
	env := "no-such-environment"
	for _, command := range []string{"", "   ", "\t"} {
		_, runErr := splitCommand(command)
		execErr := Exec(t.Context(), command, ExecFlags{Env: &env})
		if runErr == nil || execErr == nil || execErr.Error() != runErr.Error() {
			t.Errorf("exec %q = %v; run %q = %v: want the same refusal", command, execErr, command, runErr)
		}
	}
}
