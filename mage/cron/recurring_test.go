package cron

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeRecurring(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "recurring.yml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// The Rails 8 generator's recurring.yml, and a task of each kind: read
// and listed, with next runs for cron syntax and Fugit's words as written.
func TestRecurringListsTheTasks(t *testing.T) {
	p := writeRecurring(t, `production:
  clear_solid_queue_finished_jobs:
    command: "SolidQueue::Job.clear_finished_in_batches(sleep_between_batches: 0.3)"
    schedule: every hour at minute 12
  nightly_report:
    class: NightlyReportJob
    args: [ 42, { status: "active" } ]
    queue: reports
    schedule: "30 4 * * *"
  token: <%= ENV["X"] %>
development:
  noisy:
    class: NoisyJob
    schedule: every second
`)
	tasks, err := ReadRecurring(p, "production")
	if err == nil || !strings.Contains(err.Error(), "token") {
		t.Fatalf("a task that is not a mapping: %v", err)
	}
	p = writeRecurring(t, strings.Replace(readText(t, p), "  token: <%= ENV[\"X\"] %>\n", "", 1))
	if tasks, err = ReadRecurring(p, "production"); err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 2 || tasks[0].Name != "clear_solid_queue_finished_jobs" || tasks[1].Class != "NightlyReportJob" || tasks[1].Queue != "reports" {
		t.Fatalf("tasks: %+v", tasks)
	}
	var out bytes.Buffer
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	if err := ListRecurring(&out, tasks, time.UTC, now); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"NightlyReportJob.perform_later", "Sat 12-05 04:30, Sun 12-06 04:30, Mon 12-07 04:30",
		"every hour at minute 12", "(Solid Queue reads these words at boot)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("cron:list lacks %q:\n%s", want, out.String())
		}
	}
}

// What Solid Queue would refuse is refused here, naming the file and task.
func TestRecurringRefusesWhatSolidQueueWould(t *testing.T) {
	for text, want := range map[string]string{
		"production:\n  a:\n    class: A\n":                                  "a: no schedule",
		"production:\n  a:\n    schedule: every day\n":                       "a: neither class nor command",
		"production:\n  a:\n    class: A\n    command: x\n    schedule: x\n": "a: both class and command",
		"production:\n  a:\n    class: A\n    schedul: every day\n":          `unknown key "schedul"`,
		"staging:\n  a:\n    class: A\n    schedule: every day\n":            "no production section",
		"production: [1\n": "recurring.yml",
	} {
		_, err := ReadRecurring(writeRecurring(t, text), "production")
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "recurring.yml") {
			t.Errorf("%q: %v, want %q", text, err, want)
		}
	}
}

func readText(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
