package release

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/railsecs/deploykit/mage/atomicfile"
)

// finish restores the tfvars on failure, records the release, releases
// the lock, notifies, and prints the timing table.
func (r *run) finish(ctx context.Context, err error) (Record, error) {
	d := r.d
	r.rec.Duration = time.Since(r.rec.Started)
	if err != nil {
		// Restored even after an apply: the services did not reach the new
		// tag, and the next plan must not take it for what runs.
		if rerr := r.restoreTags(); rerr != nil {
			err = errors.Join(err, rerr)
		}
		what := r.rec.Action
		if r.rec.Tag != "" {
			what += " of " + r.rec.Tag
		}
		err = fmt.Errorf("%s to %s failed at %w\nnow live: %s", what, d.Env.Name, err, r.liveState())
		r.rec.Result, r.rec.Error = "failed", err.Error()
	} else {
		r.rec.Result = "succeeded"
		if r.opts.DryRun {
			r.rec.Result = "dry run"
		}
	}
	recorded := r.rec.Commit != "" && !r.opts.DryRun && r.releaseLock != nil
	if recorded {
		if serr := SaveRecord(context.WithoutCancel(ctx), d.Store, r.rec); serr != nil {
			fmt.Fprintf(d.Out, "WARNING: release not recorded: %v\n", serr)
		}
	}
	if r.releaseLock != nil {
		r.releaseLock()
	}
	if !r.opts.DryRun && r.rec.Commit != "" {
		notify(context.WithoutCancel(ctx), d, fmt.Sprintf("%s of %s to %s by %s %s after %s", r.rec.Action, r.rec.Tag, d.Env.Name, d.Who, r.rec.Result, r.rec.Duration.Round(time.Second)))
	}
	r.printTimings()
	if r.opts.JSONFile != "" {
		data, _ := json.MarshalIndent(struct {
			Record
			Stages map[string]float64 `json:"stage_seconds"`
		}{r.rec, r.stageSeconds()}, "", "  ")
		if werr := atomicfile.Write(r.opts.JSONFile, data, 0o644); werr != nil {
			fmt.Fprintf(d.Out, "WARNING: %v\n", werr)
		}
	}
	return r.rec, err
}

func (r *run) liveState() string {
	var parts []string
	if r.migrated {
		parts = append(parts, "the migration of "+r.rec.Tag+" was applied")
	} else {
		parts = append(parts, "no migration ran")
	}
	prev := r.prevTag
	if prev == "" {
		prev = "what they ran before"
	}
	if r.applied {
		parts = append(parts, "terraform applied "+r.rec.Tag+" but the services did not all reach it (see above; the circuit breaker rolls back to "+prev+")",
			r.d.Env.Terraform.Tfvars+" restored to its previous tags (the next apply re-registers them)")
	} else {
		parts = append(parts, "services still on "+prev, r.d.Env.Terraform.Tfvars+" unchanged")
	}
	return strings.Join(parts, "; ")
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
// a failing webhook never fails a deploy.
func notify(ctx context.Context, d *Deployer, text string) {
	url := d.Getenv("DEPLOYKIT_SLACK_WEBHOOK")
	if url == "" {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	body, _ := json.Marshal(map[string]string{"text": text})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		fmt.Fprintf(d.Out, "WARNING: notification not sent: bad webhook URL\n")
		return
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(d.Out, "WARNING: notification not sent: %v\n", redact(err.Error(), url))
		return
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		fmt.Fprintf(d.Out, "WARNING: notification not sent: webhook answered %s\n", resp.Status)
	}
}

// redact keeps the webhook's secret path out of messages.
func redact(msg, url string) string { return strings.ReplaceAll(msg, url, "<webhook>") }
