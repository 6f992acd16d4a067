package targets

import (
	"strings"
	"testing"
)

func TestCheckArgs(t *testing.T) {
	cases := []struct {
		args []string
		bad  string
	}{
		{[]string{"deploy"}, ""},
		{[]string{"-v", "deploy", "-env=staging", "-dryrun"}, ""},
		{[]string{"deploy", "-env", "staging", "-lockwait", "10m"}, ""},
		{[]string{"deploy", "-dryrun", "status"}, ""},
		{[]string{"deploy", "staging"}, "staging"},
		{[]string{"deploy", "-dryrun", "staging"}, "staging"},
		{[]string{"Deploy", "-env=staging", "prod"}, "prod"},
	}
	for _, c := range cases {
		err := checkArgs(c.args, "deploy")
		switch {
		case c.bad == "" && err != nil:
			t.Errorf("%v: %v", c.args, err)
		case c.bad != "" && (err == nil || !strings.Contains(err.Error(), `"`+c.bad+`"`)):
			t.Errorf("%v: err = %v, want one naming %q", c.args, err, c.bad)
		}
	}
}
