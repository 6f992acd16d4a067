package release

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/railsecs/deploykit/mage/atomicfile"
	"github.com/railsecs/deploykit/mage/ecs"
	"github.com/railsecs/deploykit/mage/ledger"
)

// finish puts the world in a consistent state and says what is live. On
// failure the cheap, critical steps come first (files, record, lock), as
// an interrupt leaves little time: mage gives targets 5 seconds.
func (r *run) finish(ctx context.Context, err error) (ledger.Record, error) {
	d := r.d
	r.rec.Duration = time.Since(r.rec.Started)
	bg := context.WithoutCancel(ctx)
	var kept string
	if err != nil {
		switch {
		case r.rec.Applied:
			// terraform applied the new tags: the tfvars say what its
			// state says, so the next plan is clean whatever the rollout did.
			kept = d.Env.Terraform.Tfvars + " keeps " + r.rec.Tag + ", which terraform applied"
		case r.returnedInFlight:
			kept = d.Env.Terraform.Tfvars + " names " + r.rec.Tag + ", which ECS was returning the services to (rolled back in flight)"
		default:
			if rerr := r.restoreTags(); rerr != nil {
				err = errors.Join(err, rerr)
			}
			kept = d.Env.Terraform.Tfvars + " restored (nothing was applied)"
		}
		r.rec.Result = "failed"
		if ctx.Err() != nil {
			r.rec.Result = "interrupted"
		}
	} else {
		r.rec.Result = "succeeded"
		if r.opts.DryRun {
			r.rec.Result = "dry run"
		}
	}
	if err != nil {
		r.rec.Error = err.Error()
	}
	recorded := r.rec.Commit != "" && !r.opts.DryRun && r.releaseLock != nil
	if recorded {
		sctx, cancel := context.WithTimeout(bg, 2*time.Second)
		if serr := ledger.SaveRecord(sctx, d.Store, r.rec); serr != nil {
			fmt.Fprintf(d.Out, "WARNING: release not recorded: %v\n", serr)
		}
		cancel()
	}
	if recorded {
		r.postHooks(ctx, err)
	}
	if r.releaseLock != nil {
		r.releaseLock()
		d.left.set(func(l *leftovers) { l.lock = "" })
	}
	if r.journal != nil {
		r.journal.done(bg)
		d.left.set(func(l *leftovers) { l.stage = "" })
	}
	if !r.opts.DryRun && r.rec.Commit != "" {
		notify(bg, d, fmt.Sprintf("%s of %s to %s by %s %s after %s", r.rec.Action, r.rec.Tag, d.Env.Name, d.Who, r.rec.Result, r.rec.Duration.Round(time.Second)))
	}
	if err != nil {
		what := r.rec.Action
		if r.rec.Tag != "" {
			what += " of " + r.rec.Tag
		}
		err = fmt.Errorf("%s to %s %s at %w\nnow live: %s", what, d.Env.Name, r.rec.Result, err, r.liveState(bg, kept))
		r.rec.Error = err.Error()
	}
	r.printTimings()
	if r.opts.JSONFile != "" {
		data, _ := json.MarshalIndent(struct {
			ledger.Record
			Stages map[string]float64 `json:"stage_seconds"`
		}{r.rec, r.stageSeconds()}, "", "  ")
		if werr := atomicfile.Write(r.opts.JSONFile, data, 0o644); werr != nil {
			fmt.Fprintf(d.Out, "WARNING: %v\n", werr)
		}
	}
	return r.rec, err
}

// liveState says what runs now, read from ECS rather than assumed: each
// service's task definition, image tags and rollout, the migration's
// outcome, and the tfvars.
func (r *run) liveState(ctx context.Context, tfvars string) string {
	var parts []string
	parts = append(parts, r.migrationTruth())
	if r.rec.Applied {
		parts = append(parts, "terraform applied "+r.rec.Tag)
	} else {
		parts = append(parts, "terraform applied nothing")
	}
	lctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	states, err := ecs.ServiceStates(lctx, r.d.ECS, r.d.Env.Cluster, r.d.Env.ServiceNames())
	if err != nil {
		parts = append(parts, "services: could not read them ("+err.Error()+"): check with mage status -env="+r.d.Env.Name)
	} else {
		for _, s := range states {
			parts = append(parts, describeState(s, r.rec.Tag))
		}
	}
	return strings.Join(append(parts, tfvars), "; ")
}

func describeState(s ecs.ServiceState, tag string) string {
	if s.Missing != "" {
		return s.Name + " is missing (" + s.Missing + ")"
	}
	var line string
	if s.Deployments > 1 {
		// The service's running tasks may all be an older deployment's:
		// say which runs what.
		line = fmt.Sprintf("%s has %d deployments (a rollout or rollback is still in progress): %s; the PRIMARY one's images: %s",
			s.Name, s.Deployments, s.Where(), s.ImageList())
	} else {
		line = fmt.Sprintf("%s runs %s (%s), %d/%d running, rollout %s", s.Name, ecs.ShortID(s.TaskDefinition), s.ImageList(), s.Running, s.Desired, s.Rollout)
	}
	if s.RolledBack {
		line += ", rolled back by the circuit breaker"
	}
	return line
}

// migrationTruth says whether a migration task ran and how it ended.
func (r *run) migrationTruth() string {
	if r.rec.MigrationTask == "" {
		if r.migrationErr != nil {
			return "the migration task did not start (" + firstLine(r.migrationErr.Error()) + "): nothing was migrated"
		}
		return "no migration ran"
	}
	id := ecs.ShortID(r.rec.MigrationTask)
	var te *ecs.TaskError
	switch {
	case r.migrationErr == nil:
		return "migration task " + id + " of " + r.rec.Tag + " succeeded: its migrations are applied"
	case errors.As(r.migrationErr, &te) && te.ExitCode >= 0 && te.StopCode != "UserInitiated":
		return fmt.Sprintf("migration task %s ran and exited %d: migrations it applied before failing stay applied (DDL is not rolled back)", id, te.ExitCode)
	case errors.Is(r.migrationErr, context.Canceled) || errors.Is(r.migrationErr, context.DeadlineExceeded) || strings.Contains(r.migrationErr.Error(), "was stopped"):
		return "migration task " + id + " was interrupted and stopped: migrations it completed stay applied (DDL is not rolled back)"
	default:
		return "migration task " + id + " ran and failed (" + firstLine(r.migrationErr.Error()) + "): migrations it applied stay applied"
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func (r *run) printTimings() {
	fmt.Fprintln(r.d.Out)
	tw := tabwriter.NewWriter(r.d.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STAGE\tTOOK")
	for _, t := range r.timings {
		fmt.Fprintf(tw, "%s\t%s\n", t.name, t.took.Round(10*time.Millisecond))
	}
	fmt.Fprintf(tw, "total\t%s\n", time.Since(r.rec.Started).Round(10*time.Millisecond))
	tw.Flush()
}

func (r *run) stageSeconds() map[string]float64 {
	m := map[string]float64{}
	for _, t := range r.timings {
		m[t.name] = t.took.Seconds()
	}
	return m
}

// notify posts to a Slack-compatible webhook (DEPLOYKIT_SLACK_WEBHOOK);
// a failing webhook never fails a deploy. The URL's path is the secret:
// messages name only the host, never the URL, whatever form it takes.
func notify(ctx context.Context, d *Deployer, text string) {
	raw := d.Getenv("DEPLOYKIT_SLACK_WEBHOOK")
	if raw == "" {
		return
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		fmt.Fprintf(d.Out, "WARNING: notification not sent: DEPLOYKIT_SLACK_WEBHOOK is not an http(s) URL\n")
		return
	}
	host := u.Hostname()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second) // never a deploy's bottleneck, nor an interrupt's
	defer cancel()
	body, _ := json.Marshal(map[string]string{"text": text})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		fmt.Fprintf(d.Out, "WARNING: notification to %s not sent: bad webhook URL\n", host)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		// *url.Error renders the URL: keep only what went wrong.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		fmt.Fprintf(d.Out, "WARNING: notification to %s not sent: %v\n", host, scrub(err.Error(), u))
		return
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		fmt.Fprintf(d.Out, "WARNING: notification to %s not sent: webhook answered %s\n", host, resp.Status)
	}
}

// scrub removes the URL's path, query and credentials from a message, in
// case an inner error quotes them.
func scrub(msg string, u *url.URL) string {
	for _, secret := range []string{u.String(), u.EscapedPath(), u.Path, u.RawQuery, u.User.String()} {
		if len(secret) > 1 {
			msg = strings.ReplaceAll(msg, secret, "<redacted>")
		}
	}
	return msg
}

// postHooks run under the lock, after the release is recorded; they only
// warn. An interrupted run skips them: mage gives it seconds to clean up.
func (r *run) postHooks(ctx context.Context, err error) {
	name := HookPostDeploy
	switch {
	case err != nil && ctx.Err() != nil:
		if _, ok := r.hook(HookOnFailure); ok {
			fmt.Fprintf(r.d.Out, "WARNING: hook %s not run: interrupted\n", HookOnFailure)
		}
		return
	case err != nil:
		name = HookOnFailure
	case r.rec.Action == "rollback":
		name = HookPostRollback
	}
	var extra []string
	if err != nil {
		extra = append(extra, "DEPLOYKIT_RESULT="+r.rec.Result)
	} else {
		extra = append(extra, "DEPLOYKIT_RESULT=succeeded")
	}
	if herr := r.runHook(ctx, name, extra...); herr != nil {
		fmt.Fprintf(r.d.Out, "WARNING: %v (the %s itself %s)\n", herr, r.rec.Action, r.rec.Result)
	}
}
