package targets

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	awsecs "github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/railsecs/deploykit/mage/cron"
	"github.com/railsecs/deploykit/mage/ecs"
	"github.com/railsecs/deploykit/mage/release"
)

// CronCrontab prints the crontab whenever would print for a schedule file.
func CronCrontab(ctx context.Context, file string) error {
	c := osConsole()
	root, _ := os.Getwd()
	s, err := cron.ParseFile(file, cron.ParseOptions{Root: root, Getenv: c.getenv})
	if err != nil {
		return err
	}
	out, err := s.Crontab()
	if err != nil {
		return err
	}
	fmt.Fprint(c.out, out)
	return nil
}

// CronGenerate writes the environment's schedules.auto.tfvars.json (and the cron service's crontab).
func CronGenerate(ctx context.Context, env *string) error {
	c := osConsole()
	cfg, e, err := c.loadEnv(envName(env))
	if err != nil {
		return err
	}
	return release.GenerateSchedules(cfg, e, c.getenv, c.out, true)
}

// CronList shows the schedules with their next runs in the configured zone.
func CronList(ctx context.Context, env *string) error {
	c := osConsole()
	cfg, _, err := c.loadEnv(envName(env))
	if err != nil {
		return err
	}
	if r := cfg.Recurring; r != nil {
		tasks, err := cron.ReadRecurring(cfg.Path(r.File), cmp.Or(r.RailsEnv, "production"))
		if err != nil {
			return err
		}
		loc, err := time.LoadLocation(cmp.Or(r.Timezone, "Etc/UTC"))
		if err != nil {
			return fmt.Errorf("%s: recurring timezone: %w", cfg.File, err)
		}
		fmt.Fprintf(c.out, "%s (Solid Queue's scheduler runs these in the job service):\n", r.File)
		if err := cron.ListRecurring(c.out, tasks, loc, time.Now()); err != nil || cfg.Cron == nil {
			return err
		}
		fmt.Fprintln(c.out)
	}
	tasks, err := release.CronTasks(cfg, c.getenv)
	if err != nil {
		return err
	}
	loc, err := time.LoadLocation(cfg.Cron.Timezone)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "JOB\tEXPRESSIONS\tNEXT RUNS (%s)\n", cfg.Cron.Timezone)
	now := time.Now()
	for _, t := range tasks {
		var runs []string
		for _, sp := range t.Specs {
			next, err := cron.NextRuns(sp, loc, now, 3)
			if err != nil {
				runs = append(runs, sp+" (at boot)")
				continue
			}
			for _, n := range next {
				runs = append(runs, n.Format("Mon 01-02 15:04"))
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", t.Name, strings.Join(t.Expressions, " "), strings.Join(runs, ", "))
	}
	return tw.Flush()
}

// CronRun runs one job now as a one-off task and waits for it.
func CronRun(ctx context.Context, job string, env *string, timeout *time.Duration) error {
	c := osConsole()
	cfg, e, err := c.loadEnv(envName(env))
	if err != nil {
		return err
	}
	tasks, err := release.CronTasks(cfg, c.getenv)
	if err != nil {
		return err
	}
	var task *cron.Task
	var names []string
	for i := range tasks {
		names = append(names, tasks[i].Name)
		if tasks[i].Name == job {
			task = &tasks[i]
		}
	}
	if task == nil {
		return fmt.Errorf("no job %q in %s (jobs: %s)", job, cfg.Cron.Schedule, strings.Join(names, ", "))
	}
	awsCfg, stop, err := c.awsConfig(ctx, cfg, e)
	if err != nil {
		return err
	}
	defer stop()
	runner := &ecs.Runner{ECS: awsecs.NewFromConfig(awsCfg), Out: c.out}
	opts := ecs.RunOptions{}
	if timeout != nil {
		opts.Timeout = *timeout
	}
	fmt.Fprintf(c.out, "==> %s: %s\n", task.Name, strings.Join(task.Command, " "))
	_, err = release.RunOneOff(ctx, runner, cfg, e, release.OneOff{Command: task.Command, Marker: "deploykit-cron", Who: c.who()}, opts)
	return err
}
