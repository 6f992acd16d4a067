package cron

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestEventBridgeGolden(t *testing.T) {
	golden := map[string][]string{
		"0 12 * * *":         {"cron(0 12 * * ? *)"},
		"30 4 1,15 * *":      {"cron(30 4 1,15 * ? *)"},
		"0 0 * * 0":          {"cron(0 0 ? * 1 *)"},
		"0 9 * * 1-5":        {"cron(0 9 ? * 2-6 *)"},
		"0 0 * * 6,0":        {"cron(0 0 ? * 1,7 *)"},
		"*/10 9-17 * * 1-5":  {"cron(0/10 9-17 ? * 2-6 *)"},
		"0 0 27-31 * *":      {"cron(0 0 27-31 * ? *)"},
		"0 0 1 1,4,7,10 *":   {"cron(0 0 1 1,4,7,10 ? *)"},
		"0 8 1 * 1":          {"cron(0 8 1 * ? *)", "cron(0 8 ? * 2 *)"},
		"15 3 * jan-mar sun": {"cron(15 3 ? JAN-MAR 1 *)"},
		"0 0 * * 7":          {"cron(0 0 ? * 1 *)"},
		"0 0 * * 5-7":        {"cron(0 0 ? * 1,6,7 *)"},
		"@daily":             {"cron(0 0 * * ? *)"},
		"@weekly":            {"cron(0 0 ? * 1 *)"},
		"@hourly":            {"cron(0 * * * ? *)"},
		"* * * * *":          {"cron(* * * * ? *)"},
		"0 */6 */2 * *":      {"cron(0 0/6 1/2 * ? *)"},
	}
	for spec, want := range golden {
		got, err := EventBridge(spec)
		if err != nil || strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("EventBridge(%q) = %q, %v; want %q", spec, got, err, want)
		}
	}
	for spec, why := range map[string]string{
		"@reboot":     "boots",
		"0 0 */2 * 1": "restricts day of month and day of week together",
		"0 0 1 * */2": "restricts day of month and day of week together",
		"61 * * * *":  "outside",
		"0 0 * * 8":   "outside",
		"0 0 * *":     "4 fields",
		"0 0 5-1 * *": "backwards",
	} {
		if _, err := EventBridge(spec); err == nil || !strings.Contains(err.Error(), why) {
			t.Errorf("EventBridge(%q) = %v, want an error about %q", spec, err, why)
		}
	}
}

// ebSchedule evaluates a Scheduler cron(...) expression: day of week 1-7
// from Sunday, "?" for no restriction, names, ranges, lists, a/b steps.
type ebSchedule struct {
	min, hour, dom, mon, dow, year map[int]bool
	domAny, dowAny                 bool
}

func parseEB(t *testing.T, expr string) ebSchedule {
	t.Helper()
	inner := strings.TrimSuffix(strings.TrimPrefix(expr, "cron("), ")")
	f := strings.Fields(inner)
	if len(f) != 6 {
		t.Fatalf("%s: %d fields", expr, len(f))
	}
	if (f[2] == "?") == (f[4] == "?") {
		t.Fatalf("%s: exactly one of day-of-month and day-of-week must be ?", expr)
	}
	field := func(s string, lo, hi int, names []string, base int) map[int]bool {
		if s == "?" {
			return nil
		}
		set := map[int]bool{}
		for _, part := range strings.Split(s, ",") {
			rng, step := part, 1
			if i := strings.IndexByte(part, '/'); i >= 0 {
				step, _ = strconv.Atoi(part[i+1:])
				rng = part[:i]
			}
			val := func(x string) int {
				if n, err := strconv.Atoi(x); err == nil {
					return n
				}
				for i, n := range names {
					if strings.EqualFold(n, x) {
						return i + base
					}
				}
				t.Fatalf("%s: bad value %q", expr, x)
				return 0
			}
			a, b := lo, hi
			switch {
			case rng == "*":
			case strings.Contains(rng, "-"):
				x, y, _ := strings.Cut(rng, "-")
				a, b = val(x), val(y)
			default:
				a = val(rng)
				b = a
				if step > 1 || strings.Contains(part, "/") {
					b = hi
				}
			}
			if a < lo || b > hi {
				t.Fatalf("%s: %q outside %d-%d", expr, part, lo, hi)
			}
			for v := a; v <= b; v += step {
				set[v] = true
			}
		}
		return set
	}
	s := ebSchedule{
		min: field(f[0], 0, 59, nil, 0), hour: field(f[1], 0, 23, nil, 0), dom: field(f[2], 1, 31, nil, 1),
		mon: field(f[3], 1, 12, months, 1), dow: field(f[4], 1, 7, days, 1), year: field(f[5], 1970, 2199, nil, 0),
	}
	s.domAny, s.dowAny = f[2] == "?", f[4] == "?"
	return s
}

func (s ebSchedule) fires(t time.Time) bool {
	if !s.min[t.Minute()] || !s.hour[t.Hour()] || !s.mon[int(t.Month())] || !s.year[t.Year()] {
		return false
	}
	if !s.domAny && !s.dom[t.Day()] {
		return false
	}
	if !s.dowAny && !s.dow[int(t.Weekday())+1] {
		return false
	}
	return true
}

// TestEventBridgeFiresWhenCronDoes checks, minute by minute over a leap
// year, that the Scheduler expressions fire at exactly the instants the
// Unix cron line fires (robfig/cron's standard parser is the reference).
func TestEventBridgeFiresWhenCronDoes(t *testing.T) {
	specs := map[string]bool{
		"0 8 1 * 1": true, "15 3 * jan-mar sun": true, "0 0 * * 5,6,0": true, "*/10 9-17 * * 1-5": true,
		"0 */6 */2 * *": true, "5 4 29 2 *": true, "0 12 1,15 * 0,6": true, "30 2 * * 0": true,
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "schedules", "*.rb"))
	for _, f := range files {
		src, _ := os.ReadFile(f)
		s, err := Parse(f, string(src), ParseOptions{Root: "/app"})
		if err != nil {
			continue
		}
		entries, err := s.Entries()
		if err != nil {
			continue
		}
		for _, e := range entries {
			if e.Spec != "@reboot" {
				specs[e.Spec] = true
			}
		}
	}
	if len(specs) < 40 {
		t.Fatalf("only %d distinct specs to check", len(specs))
	}
	start := time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)
	end := start.AddDate(1, 0, 0)
	for spec := range specs {
		exprs, err := EventBridge(spec)
		if err != nil {
			t.Errorf("%s: %v", spec, err)
			continue
		}
		unix, err := unixParser.Parse(spec)
		if err != nil {
			t.Fatalf("robfig cannot parse %q: %v", spec, err)
		}
		var ebs []ebSchedule
		for _, e := range exprs {
			ebs = append(ebs, parseEB(t, e))
		}
		next := unix.Next(start.Add(-time.Second))
		mismatches := 0
		for m := start; m.Before(end); m = m.Add(time.Minute) {
			cronFires := next.Equal(m)
			if cronFires {
				next = unix.Next(m)
			}
			ebFires := false
			for _, s := range ebs {
				ebFires = ebFires || s.fires(m)
			}
			if cronFires != ebFires {
				if mismatches < 3 {
					t.Errorf("%s -> %v: at %s cron fires=%v, Scheduler fires=%v", spec, exprs, m.Format(time.RFC3339), cronFires, ebFires)
				}
				mismatches++
			}
		}
		if mismatches > 0 {
			t.Errorf("%s: %d mismatching minutes", spec, mismatches)
		}
	}
	fmt.Fprintf(os.Stderr, "checked %d cron specs minute by minute over 2028\n", len(specs))
}
