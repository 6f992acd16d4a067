package cron

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGeneratedSchedulesMatchWhenever writes schedule files from random
// combinations of the pieces real files use and compares our crontab with
// the real whenever's, file by file. The seed is fixed so a failure can be
// replayed; DEPLOYKIT_CRON_SEED picks another.
func TestGeneratedSchedulesMatchWhenever(t *testing.T) {
	seed := uint64(20261125)
	if s := os.Getenv("DEPLOYKIT_CRON_SEED"); s != "" {
		fmt.Sscan(s, &seed)
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	frequencies := []string{
		"1.minute", "5.minutes", "7.minutes", "13.minutes", "30.minutes", "45.minutes",
		"1.hour", "2.hours", "5.hours", "12.hours", "17.hours",
		"1.day", "2.days", "3.days", "1.week", "16.days",
		"1.month", "2.months", "4.months", "7.months", "1.year",
		":hour", ":day", ":week", ":month", ":year", ":monday", ":sunday", ":weekday", ":weekend",
		`"friday"`, `"tuesday, thursday"`, "[:monday, :friday]", `"30 4 * * 1-5"`, `"*/15 * * * *"`,
		":daily", ":hourly", ":reboot",
	}
	ats := map[string][]string{
		"minute":  {"", ", at: 3", ", at: 0"},
		"hour":    {"", ", at: 15", ", at: [5, 35]", ", at: 10..12", ", at: \"3:45 am\""},
		"day":     {"", ", at: \"4:30 am\"", ", at: \"4:30\"", ", at: \"noon\"", ", at: \"midnight\"", ", at: [\"6:00 am\", \"6:00 pm\"]", ", at: \"1:15 am, 2:15 am\"", ", at: 3", ", at: 9..11", ", at: \"11:59 pm\""},
		"month":   {"", ", at: 15", ", at: \"February 23rd at 2am\"", ", at: \"5pm\"", ", at: 1..3", ", at: \"3/15 4:30 am\""},
		"year":    {"", ", at: 5", ", at: \"January 1st 3:00am\"", ", at: \"5pm\""},
		"dayname": {"", ", at: \"9:00 am\"", ", at: \"1:30 pm\"", ", at: [\"8:00 am\", \"8:30 am\"]"},
		"none":    {""},
	}
	kind := func(f string) string {
		switch {
		case strings.Contains(f, "minute"):
			return "minute"
		case strings.Contains(f, "hour") && !strings.Contains(f, "hourly"):
			return "hour"
		case strings.Contains(f, "day") && !strings.Contains(f, "daily") && !strings.Contains(f, "monday") && !strings.Contains(f, "sunday") && !strings.Contains(f, "weekday") && !strings.Contains(f, "weekend"), strings.Contains(f, "week") && !strings.Contains(f, "weekday") && !strings.Contains(f, "weekend"):
			return "day"
		case strings.Contains(f, "month"):
			return "month"
		case strings.Contains(f, "year"):
			return "year"
		case strings.HasPrefix(f, ":daily"), strings.HasPrefix(f, ":hourly"), strings.HasPrefix(f, ":reboot"), strings.Contains(f, "*"):
			return "none"
		}
		return "dayname"
	}
	jobs := []string{
		`runner "Report.deliver"`, `rake "cache:clear"`, `command "echo hi"`, `script "cleanup.sh"`,
		`runner "Mailer.send('x', force: true)"`, `rake "orders:expire[30]"`, `command "echo 100%"`,
		`runner "A.b", output: nil`, `rake "x:y", output: { error: "log/err.log" }`, `command "z", mailto: "ops@example.com"`,
	}
	headers := []string{"", `set :output, "log/cron.log"` + "\n", "set :environment, :staging\n", `env :PATH, "/usr/bin:/bin"` + "\n",
		`set :job_template, nil` + "\n", `job_type :awesome, ":task --level :level"` + "\n"}

	root := railsRoot(t, true, true)
	compared := 0
	for i := 0; i < 30; i++ {
		var b strings.Builder
		b.WriteString(pick(headers...))
		for blocks := 1 + rng.IntN(4); blocks > 0; blocks-- {
			f := frequencies[rng.IntN(len(frequencies))]
			at := ats[kind(f)][rng.IntN(len(ats[kind(f)]))]
			opts := ""
			if rng.IntN(5) == 0 {
				opts = `, mailto: "team@example.com"`
			}
			fmt.Fprintf(&b, "every %s%s%s do\n", f, at, opts)
			for n := 1 + rng.IntN(3); n > 0; n-- {
				fmt.Fprintf(&b, "  %s\n", jobs[rng.IntN(len(jobs))])
			}
			b.WriteString("end\n\n")
		}
		src := b.String()
		sched := filepath.Join(root, fmt.Sprintf("gen%02d.rb", i))
		os.WriteFile(sched, []byte(src), 0o644)
		want, werr := whenever(t, root, sched)
		s, err := Parse(sched, src, ParseOptions{Root: root})
		var got string
		if err == nil {
			got, err = s.Crontab()
		}
		switch {
		case werr != nil && err != nil:
			continue // both refuse (e.g. an :at with a shortcut)
		case werr != nil:
			t.Errorf("seed %d file %d: whenever refused but we produced:\n%s\n--- schedule\n%s\n--- whenever\n%s", seed, i, got, src, want)
		case err != nil:
			t.Errorf("seed %d file %d: we refused what whenever accepts: %v\n--- schedule\n%s", seed, i, err, src)
		case got != want:
			t.Errorf("seed %d file %d: crontab differs\n--- schedule\n%s\n--- ours\n%s\n--- whenever\n%s", seed, i, src, got, want)
		default:
			compared++
		}
	}
	if compared < 20 {
		t.Errorf("only %d of 30 generated files were accepted by both: the generator needs fixing", compared)
	}
	t.Logf("seed %d: %d generated schedules identical to whenever's output", seed, compared)
}
