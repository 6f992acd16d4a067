package cron

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/railsecs/deploykit/mage/appscan"
)

// RecurringTask is one task of Solid Queue's config/recurring.yml: Solid
// Queue's scheduler enqueues it itself, inside the app's job service, so
// nothing is generated for EventBridge.
type RecurringTask struct {
	Name     string
	Class    string `json:"class"`
	Command  string `json:"command"`
	Schedule string `json:"schedule"`
	Queue    string `json:"queue"`
	Priority *int   `json:"priority"`
	Args     any    `json:"args"`
}

var recurringKeys = []string{"class", "command", "schedule", "queue", "priority", "args"}

// ReadRecurring reads the tasks of railsEnv's section of a recurring.yml,
// sorted by name, and checks each as Solid Queue does before it runs
// them: a schedule, and a class or a command (not both). ERB tags are
// blanked: their values exist only at boot.
func ReadRecurring(path, railsEnv string) ([]RecurringTask, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc map[string]map[string]any
	if err := yaml.Unmarshal(appscan.BlankERB(data), &doc); err != nil {
		return nil, fmt.Errorf("%s: %w (want ENVIRONMENT: TASK: {class or command, schedule})", path, err)
	}
	section, ok := doc[railsEnv]
	if !ok {
		return nil, fmt.Errorf("%s has no %s section: Solid Queue would schedule nothing there", path, railsEnv)
	}
	var tasks []RecurringTask
	var problems []string
	for name, value := range section {
		task := RecurringTask{Name: name}
		fields, ok := value.(map[string]any)
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: %v is not a task (want class or command, and schedule)", name, value))
			continue
		}
		for key := range fields {
			if !slices.Contains(recurringKeys, key) {
				problems = append(problems, fmt.Sprintf("%s: unknown key %q (Solid Queue reads %s)", name, key, strings.Join(recurringKeys, ", ")))
			}
		}
		raw, _ := yaml.Marshal(fields)
		if err := yaml.Unmarshal(raw, &task); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		switch {
		case strings.TrimSpace(task.Schedule) == "":
			problems = append(problems, name+": no schedule")
		case task.Class == "" && task.Command == "":
			problems = append(problems, name+": neither class nor command")
		case task.Class != "" && task.Command != "":
			problems = append(problems, name+": both class and command (Solid Queue runs one)")
		}
		tasks = append(tasks, task)
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return nil, fmt.Errorf("%s, %s:\n  %s", path, railsEnv, strings.Join(problems, "\n  "))
	}
	slices.SortFunc(tasks, func(a, b RecurringTask) int { return strings.Compare(a.Name, b.Name) })
	return tasks, nil
}

// ListRecurring writes the tasks as cron:list shows them: what each runs,
// its schedule, and the next runs in loc of a schedule in cron syntax.
// Fugit's words ("every hour at minute 12") are Solid Queue's to read at
// boot; the toolkit has no Fugit, so it shows them as written.
func ListRecurring(out io.Writer, tasks []RecurringTask, loc *time.Location, now time.Time) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "TASK\tRUNS\tSCHEDULE\tNEXT RUNS (%s)\n", loc)
	for _, t := range tasks {
		runs := t.Command
		if t.Class != "" {
			runs = t.Class + ".perform_later"
		}
		next := "(Solid Queue reads these words at boot)"
		if times, err := NextRuns(t.Schedule, loc, now, 3); err == nil {
			var s []string
			for _, n := range times {
				s = append(s, n.Format("Mon 01-02 15:04"))
			}
			next = strings.Join(s, ", ")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.Name, runs, t.Schedule, next)
	}
	return tw.Flush()
}
