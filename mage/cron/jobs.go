package cron

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	robfig "github.com/robfig/cron/v3"
)

// Task is one job as the scheduler runs it: an ECS task of the app image
// with a command override, on one or more Scheduler expressions.
type Task struct {
	Name        string   // unique, valid as a Scheduler schedule name
	Job         *Job     // where it came from
	Specs       []string // Unix cron specs (combined like Whenever's)
	Expressions []string // Scheduler cron(...) expressions
	Command     []string // container command override
	// LaunchesPerMonth is how many tasks it starts in 30 days.
	LaunchesPerMonth int
}

// Frequent reports a job that starts more than 8640 tasks a month (more
// often than every five minutes on average): each launch is a container
// start, so these are better in a long-running cron service.
func (t Task) Frequent() bool { return t.LaunchesPerMonth >= 8640 }

// ContainerCommand builds the command override for a job in the app
// container: no login shell and no cd (the image's WORKDIR is the app),
// output to the container's log instead of a file.
func (j *Job) ContainerCommand() []string {
	task := j.Task
	switch j.Type {
	case "runner":
		return []string{"bundle", "exec", "rails", "runner", task}
	case "rake":
		return []string{"bundle", "exec", "rake", task, "--silent"}
	case "script":
		return []string{"bundle", "exec", "script/" + task}
	case "command":
		return []string{"/bin/sh", "-c", task}
	}
	opts := j.options.with("path", ".").with("output", "")
	return []string{"/bin/sh", "-c", processTemplate(j.template, opts)}
}

var nameUnsafe = regexp.MustCompile(`[^0-9A-Za-z_.-]+`)

// Tasks turns the schedule into scheduler tasks: one per job, its entries
// combined as Whenever combines them, converted to Scheduler expressions.
func (s *Schedule) Tasks() ([]Task, error) {
	entries, err := s.Entries()
	if err != nil {
		return nil, err
	}
	byJob := map[*Job][]string{}
	for _, e := range entries {
		byJob[e.Job] = append(byJob[e.Job], e.Spec)
	}
	used := map[string]int{}
	var out []Task
	for _, job := range s.Jobs {
		specs := byJob[job]
		var regular, shortcut []string
		for _, sp := range specs {
			if strings.HasPrefix(sp, "@") {
				shortcut = append(shortcut, sp)
			} else {
				regular = append(regular, sp+" x")
			}
		}
		combined := shortcut
		for _, l := range combine(regular) {
			combined = append(combined, strings.TrimSuffix(l, " x"))
		}
		t := Task{Job: job, Specs: combined, Command: job.ContainerCommand()}
		for _, sp := range combined {
			exprs, err := EventBridge(sp)
			if err != nil {
				return nil, &SyntaxError{File: s.File, Line: job.Line, Msg: fmt.Sprintf("%s %q: %v", job.Type, job.Task, err)}
			}
			t.Expressions = append(t.Expressions, exprs...)
			if sched, err := unixParser.Parse(unixCompatible(sp)); err == nil {
				t.LaunchesPerMonth += countRuns(sched)
			}
		}
		base := strings.Trim(nameUnsafe.ReplaceAllString(job.Type+"-"+job.Task, "-"), "-")
		if len(base) > 56 {
			base = base[:56]
		}
		used[base]++
		t.Name = base
		if used[base] > 1 {
			t.Name = fmt.Sprintf("%s-%d", base, used[base])
		}
		out = append(out, t)
	}
	return out, nil
}

// unixParser reads five-field lines and @shortcuts, as cron does.
var unixParser = robfig.NewParser(robfig.Minute | robfig.Hour | robfig.Dom | robfig.Month | robfig.Dow | robfig.Descriptor)

// unixCompatible rewrites a day-of-week field that uses 7 for Sunday
// (valid for cron, refused by robfig's parser) as the list of days it means.
func unixCompatible(spec string) string {
	f := strings.Fields(spec)
	if len(f) != 5 || !strings.Contains(f[4], "7") {
		return spec
	}
	set, err := expand(f[4], 0, 7, days)
	if err != nil {
		return spec
	}
	var list []int
	for d := range set {
		list = append(list, d)
	}
	sort.Ints(list)
	parts := make([]string, len(list))
	for i, d := range list {
		parts[i] = fmt.Sprint(d)
	}
	f[4] = strings.Join(parts, ",")
	return strings.Join(f, " ")
}

func countRuns(s robfig.Schedule) int {
	start := time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)
	end := start.AddDate(0, 0, 30)
	n := 0
	for t := s.Next(start.Add(-time.Second)); t.Before(end); t = s.Next(t) {
		n++
		if n > 50000 {
			break
		}
	}
	return n
}

// NextRuns lists the next n run times of a Unix spec in loc.
func NextRuns(spec string, loc *time.Location, from time.Time, n int) ([]time.Time, error) {
	sched, err := unixParser.Parse(unixCompatible(spec))
	if err != nil {
		return nil, err
	}
	var out []time.Time
	t := from.In(loc)
	for i := 0; i < n; i++ {
		t = sched.Next(t)
		if t.IsZero() {
			break
		}
		out = append(out, t)
	}
	return out, nil
}

// ScheduleVar is one entry of the terraform "schedules" variable.
type ScheduleVar struct {
	Expression  string   `json:"expression"`
	Timezone    string   `json:"timezone"`
	Command     []string `json:"command"`
	Description string   `json:"description"`
}

// Generated is the content of schedules.auto.tfvars.json.
type Generated struct {
	Schedules   map[string]ScheduleVar `json:"schedules"`
	CronService bool                   `json:"cron_service"`
	// CrontabPath is where the cron service's crontab is inside the app
	// image, so the service runs the file the image really holds.
	CrontabPath string `json:"cron_crontab_path,omitempty"`
}

// Plan splits tasks between Scheduler schedules and the cron service.
// mode "service" sends frequent jobs (and those named in serviceJobs) to
// the service; "scheduler" keeps every job on Scheduler.
func Plan(tasks []Task, timezone, mode string, serviceJobs []string) (Generated, []Task) {
	g := Generated{Schedules: map[string]ScheduleVar{}}
	named := map[string]bool{}
	for _, n := range serviceJobs {
		named[n] = true
	}
	var service []Task
	for _, t := range tasks {
		if named[t.Name] || (mode == "service" && t.Frequent()) {
			service = append(service, t)
			continue
		}
		for i, e := range t.Expressions {
			name := t.Name
			if len(t.Expressions) > 1 {
				name = fmt.Sprintf("%s-%d", t.Name, i+1)
			}
			g.Schedules[name] = ScheduleVar{Expression: e, Timezone: timezone, Command: t.Command,
				Description: Description(t.Job.Type, t.Job.Task, t.Job.Line)}
		}
	}
	g.CronService = len(service) > 0
	return g, service
}

// ServiceCrontab renders the cron service's crontab (supercronic reads
// standard five-field lines) for the jobs kept off Scheduler.
func ServiceCrontab(tasks []Task) string {
	var b strings.Builder
	b.WriteString("# Generated by `mage cron:generate` from config/schedule.rb: the jobs run\n")
	b.WriteString("# by the cron service (supercronic) instead of EventBridge Scheduler.\n")
	sort.SliceStable(tasks, func(i, j int) bool { return tasks[i].Job.Line < tasks[j].Job.Line })
	for _, t := range tasks {
		for _, sp := range t.Specs {
			fmt.Fprintf(&b, "%s %s\n", sp, shellJoin(t.Command))
		}
	}
	return b.String()
}

func shellJoin(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a != "" && !strings.ContainsAny(a, " \t\n'\"\\$`*?[]{}()<>|&;#~%") {
			out[i] = a
			continue
		}
		out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(out, " ")
}

// MaxDescription is EventBridge Scheduler's limit on a schedule's
// description (the AWS provider refuses longer ones at plan time).
const MaxDescription = 512

// Description says which schedule.rb job a schedule runs, cut to
// MaxDescription with a marker that keeps the line number readable.
func Description(jobType, task string, line int) string {
	d := fmt.Sprintf("%s %q (schedule.rb line %d)", jobType, task, line)
	if len(d) <= MaxDescription {
		return d
	}
	suffix := fmt.Sprintf("... (cut; schedule.rb line %d)", line)
	cut := MaxDescription - len(suffix)
	for cut > 0 && !utf8.RuneStart(d[cut]) {
		cut-- // never split a character
	}
	return d[:cut] + suffix
}
