package release

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/railsecs/deploykit/mage/atomicfile"
	"github.com/railsecs/deploykit/mage/config"
	"github.com/railsecs/deploykit/mage/cron"
)

// CronTasks parses the configured schedule.rb into scheduler tasks.
func CronTasks(cfg *config.Config, getenv func(string) string) ([]cron.Task, error) {
	if cfg.Cron == nil {
		return nil, fmt.Errorf("%s has no cron block naming the schedule file", cfg.File)
	}
	path := cfg.Path(cfg.Cron.Schedule)
	s, err := cron.ParseFile(path, cron.ParseOptions{Root: filepath.Dir(filepath.Dir(path)), Getenv: getenv})
	if err != nil {
		return nil, err
	}
	return s.Tasks()
}

// SchedulesFile is where an environment's generated schedules go.
func SchedulesFile(cfg *config.Config, env *config.Environment) string {
	return filepath.Join(cfg.Path(env.Terraform.Root), "schedules.auto.tfvars.json")
}

// GenerateSchedules writes the environment's schedules.auto.tfvars.json
// from schedule.rb and reports each job. The cron service's crontab goes
// into the app image, so it is written only with writeCrontab (by
// cron:generate, for a commit); a deploy only warns when it is stale.
func GenerateSchedules(cfg *config.Config, env *config.Environment, getenv func(string) string, out io.Writer, writeCrontab bool) error {
	tasks, err := CronTasks(cfg, getenv)
	if err != nil {
		return err
	}
	mode := cfg.Cron.FrequentJobs
	if mode == "" {
		mode = "service"
	}
	gen, service := cron.Plan(tasks, cfg.Cron.Timezone, mode, cfg.Cron.ServiceJobs)
	if gen.CronService {
		if gen.CrontabPath, err = cfg.CrontabInImage(env); err != nil {
			return err
		}
	}
	inService := map[string]bool{}
	for _, t := range service {
		inService[t.Name] = true
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "JOB\tRUNS ON\tEXPRESSIONS\tLAUNCHES/30 DAYS")
	for _, t := range tasks {
		where := "scheduler"
		if inService[t.Name] {
			where = "cron service"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", t.Name, where, strings.Join(t.Expressions, " "), t.LaunchesPerMonth)
	}
	tw.Flush()
	for _, t := range tasks {
		if !t.Frequent() {
			continue
		}
		fmt.Fprintf(out, "note: %s would start %d tasks per 30 days on Scheduler (one container launch each); ", t.Name, t.LaunchesPerMonth)
		if inService[t.Name] {
			fmt.Fprintln(out, "it runs in the single-task cron service instead (frequent_jobs = \"service\")")
		} else {
			fmt.Fprintln(out, "set frequent_jobs = \"service\" in deploy.hcl to run it in one long-running cron service")
		}
	}
	data, _ := json.MarshalIndent(gen, "", "  ")
	path := SchedulesFile(cfg, env)
	if err := atomicfile.Write(path, append(data, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(out, "wrote %s (%d schedules)\n", path, len(gen.Schedules))
	if cfg.Cron.ServiceCrontab != "" {
		crontab := cfg.Path(cfg.Cron.ServiceCrontab)
		want := cron.ServiceCrontab(service)
		if !writeCrontab {
			if have, _ := os.ReadFile(crontab); string(have) != want {
				fmt.Fprintf(out, "WARNING: %s is not what schedule.rb gives: run `mage cron:generate` and commit it, so the image carries the current cron service jobs\n", cfg.Cron.ServiceCrontab)
			}
			return nil
		}
		if err := atomicfile.Write(crontab, []byte(want), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(out, "wrote %s (%d jobs for the cron service)\n", crontab, len(service))
	}
	return nil
}
