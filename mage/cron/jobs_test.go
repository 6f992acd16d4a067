package cron

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

const shopSchedule = `set :output, "log/cron.log"
job_type :sidekiq_job, "cd :path && :environment_variable=:environment bundle exec rails runner ':task.perform_async' :output"

every 1.minute do
  runner "Inventory.sync_pending"
end

every 1.day, at: ["2:30 am", "2:30 pm"] do
  rake "sitemap:refresh"
end

every "0 8 1 * 1" do
  command "echo first-or-monday"
end

every :weekday, at: "9:00 am" do
  script "remind.sh"
  sidekiq_job "NightlyJob"
end
`

func TestTasksForScheduler(t *testing.T) {
	s, err := Parse("schedule.rb", shopSchedule, ParseOptions{Root: "/app"})
	if err != nil {
		t.Fatal(err)
	}
	tasks, err := s.Tasks()
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name  string
		exprs []string
		cmd   []string
	}{
		{"runner-Inventory.sync_pending", []string{"cron(* * * * ? *)"}, []string{"bundle", "exec", "rails", "runner", "Inventory.sync_pending"}},
		{"rake-sitemap-refresh", []string{"cron(30 2,14 * * ? *)"}, []string{"bundle", "exec", "rake", "sitemap:refresh", "--silent"}},
		{"command-echo-first-or-monday", []string{"cron(0 8 1 * ? *)", "cron(0 8 ? * 2 *)"}, []string{"/bin/sh", "-c", "echo first-or-monday"}},
		{"script-remind.sh", []string{"cron(0 9 ? * 2-6 *)"}, []string{"bundle", "exec", "script/remind.sh"}},
		{"sidekiq_job-NightlyJob", []string{"cron(0 9 ? * 2-6 *)"}, []string{"/bin/sh", "-c", "cd . && RAILS_ENV=production bundle exec rails runner 'NightlyJob.perform_async'"}},
	}
	if len(tasks) != len(want) {
		t.Fatalf("%d tasks, want %d", len(tasks), len(want))
	}
	for i, w := range want {
		got := tasks[i]
		if got.Name != w.name || !reflect.DeepEqual(got.Expressions, w.exprs) || !reflect.DeepEqual(got.Command, w.cmd) {
			t.Errorf("task %d = %s %q %q\nwant %s %q %q", i, got.Name, got.Expressions, got.Command, w.name, w.exprs, w.cmd)
		}
	}
	if !tasks[0].Frequent() || tasks[0].LaunchesPerMonth != 43200 || tasks[1].Frequent() {
		t.Errorf("launches: %d %d", tasks[0].LaunchesPerMonth, tasks[1].LaunchesPerMonth)
	}

	gen, service := Plan(tasks, "Asia/Tokyo", "service", []string{"script-remind.sh"})
	if len(service) != 2 || !gen.CronService {
		t.Errorf("service jobs = %d, cron_service = %v", len(service), gen.CronService)
	}
	if _, ok := gen.Schedules["runner-Inventory.sync_pending"]; ok {
		t.Error("the every-minute job stayed on Scheduler in service mode")
	}
	if gen.Schedules["command-echo-first-or-monday-2"].Expression != "cron(0 8 ? * 2 *)" || gen.Schedules["rake-sitemap-refresh"].Timezone != "Asia/Tokyo" {
		t.Errorf("schedules = %+v", gen.Schedules)
	}
	crontab := ServiceCrontab(service)
	if !strings.Contains(crontab, "* * * * * bundle exec rails runner Inventory.sync_pending\n") || !strings.Contains(crontab, "0 9 * * 1-5 bundle exec script/remind.sh\n") {
		t.Errorf("service crontab:\n%s", crontab)
	}
	all, none := Plan(tasks, "UTC", "scheduler", nil)
	if len(none) != 0 || all.CronService || len(all.Schedules) != 6 {
		t.Errorf("scheduler mode: %d service jobs, %d schedules", len(none), len(all.Schedules))
	}
}

func TestRebootIsRefusedForScheduler(t *testing.T) {
	s, err := Parse("schedule.rb", "every :reboot do\n  rake 'cache:clear'\nend\n", ParseOptions{Root: "/app"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Tasks(); err == nil || !strings.Contains(err.Error(), "schedule.rb:2:") || !strings.Contains(err.Error(), "boots") {
		t.Errorf("@reboot for Scheduler = %v", err)
	}
}

func TestSundayAsSevenCountsLaunches(t *testing.T) {
	if got := unixCompatible("0 0 * * 5-7"); got != "0 0 * * 0,5,6" {
		t.Errorf("unixCompatible = %q", got)
	}
	if got := unixCompatible("17 7 * * 1-5"); got != "17 7 * * 1-5" {
		t.Errorf("a 7 outside day of week was rewritten: %q", got)
	}
	s, err := Parse("schedule.rb", "every '0 3 * * 7' do\n  rake 'weekly:sunday'\nend\n", ParseOptions{Root: "/app"})
	if err != nil {
		t.Fatal(err)
	}
	tasks, err := s.Tasks()
	if err != nil {
		t.Fatal(err)
	}
	if n := tasks[0].LaunchesPerMonth; n < 4 || n > 5 {
		t.Errorf("every Sunday launches %d times in 30 days", n)
	}
}

func TestDescriptionFitsScheduler(t *testing.T) {
	short := Description("rake", "sitemap:refresh", 7)
	if short != `rake "sitemap:refresh" (schedule.rb line 7)` {
		t.Errorf("short description = %q", short)
	}
	long := Description("runner", "Reports::Daily.deliver(\""+strings.Repeat("é", 400)+"\")", 42)
	if len(long) > MaxDescription || !utf8.ValidString(long) || !strings.HasSuffix(long, "... (cut; schedule.rb line 42)") {
		t.Errorf("long description: %d bytes, valid %v: %q", len(long), utf8.ValidString(long), long)
	}
}
