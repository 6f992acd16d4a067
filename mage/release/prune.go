package release

import (
	"context"
	"fmt"
	"maps"
	"path"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsecs "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/railsecs/deploykit/mage/ecs"
	"github.com/railsecs/deploykit/mage/image"
	"github.com/railsecs/deploykit/mage/imageref"
	"github.com/railsecs/deploykit/mage/ledger"
)

// PruneOptions says how much history Prune keeps.
type PruneOptions struct {
	Keep     int // newest successful releases whose images and revisions stay
	DryRun   bool
	LockWait time.Duration
}

// PruneReport says what Prune kept and why, and what it removed (or, in a
// dry run, would remove).
type PruneReport struct {
	KeptTags        map[string]string // tag -> why
	DeletedImages   []string          // repository:tag@digest
	KeptRevisions   map[string]string // task definition ARN -> why
	Deregistered    []string          // task definition ARNs
	LeftUnknownTags []string          // tags no release recorded: never ours to delete
}

// Prune removes what old releases left behind: registry tags of releases
// older than the newest opts.Keep successful ones, and the task
// definition revisions that ran them (terraform keeps every revision with
// skip_destroy). It never removes what runs (any service deployment or
// running task), the live release, the release a rollback returns to, the
// newest revision of a family (terraform's and the schedules'), or a tag
// no release recorded. It holds the lock so no deploy runs meanwhile.
func (d *Deployer) Prune(ctx context.Context, taskDefs ecs.TaskDefinitionAPI, opts PruneOptions) (PruneReport, error) {
	rep := PruneReport{KeptTags: map[string]string{}, KeptRevisions: map[string]string{}}
	if opts.Keep < 1 {
		return rep, fmt.Errorf("-keep=%d: keep at least the live release (1)", opts.Keep)
	}
	if opts.DryRun {
		fmt.Fprintln(d.Out, "prune: dry run, nothing is removed")
	} else {
		release, _, err := d.takeLock(ctx, ledger.Lock{Env: d.Env.Name, Holder: d.Who, Action: "prune", Started: time.Now().UTC()}, opts.LockWait)
		if err != nil {
			return rep, err
		}
		defer release()
		if d.OnLocked != nil {
			if err := d.OnLocked(ctx); err != nil {
				return rep, err
			}
		}
	}
	history, err := ledger.History(ctx, d.Store)
	if err != nil {
		return rep, fmt.Errorf("the release history of %s: %w", d.Env.Name, err)
	}
	rep.KeptTags = RetainedTags(history, opts.Keep)
	keep := func(tag, why string) {
		if tag != "" && rep.KeptTags[tag] == "" {
			rep.KeptTags[tag] = why
		}
	}
	// A release whose migration ran but that failed later may still be
	// what a task runs; whatever runs is read from ECS below.
	inUse, families, err := d.revisionsInUse(ctx)
	if err != nil {
		return rep, err
	}
	revisionTags := map[string][]string{}
	for arn, why := range inUse {
		tags, err := d.revisionTags(ctx, arn)
		if err != nil {
			return rep, err
		}
		revisionTags[arn] = tags
		for _, t := range tags {
			keep(t, why)
		}
	}
	if err := d.pruneRevisions(ctx, taskDefs, families, inUse, revisionTags, &rep, opts.DryRun); err != nil {
		return rep, err
	}
	if err := d.pruneImages(ctx, history, &rep, opts.DryRun); err != nil {
		return rep, err
	}
	d.printPrune(rep, opts.DryRun)
	return rep, nil
}

// RetainedTags decides from the history alone which release tags prune
// keeps, and why: the live release, the release `rollback` would return to
// (rollback's own choice, so a same-commit redeploy cannot make them
// differ), the newest keep successful releases (distinct tags), and every image a kept
// release recorded (a rollback may have kept the live nginx image, whose
// tag is another release's).
func RetainedTags(history []ledger.Record, keep int) map[string]string {
	kept := map[string]string{}
	add := func(tag, why string) {
		if tag != "" && kept[tag] == "" {
			kept[tag] = why
		}
	}
	if choice, err := ChooseRollback(history, ""); err == nil {
		add(choice.Live.Tag, "live release")
		if !choice.Reapply {
			add(choice.Target.Tag, "rollback target")
		}
	} else if live := ledger.LastSucceeded(history); live != nil {
		add(live.Tag, "live release")
	}
	// Releases, not records: redeploying a tag does not push older ones out.
	var newest []string
	for _, h := range history {
		if h.Result == "succeeded" && len(newest) < keep && !slices.Contains(newest, h.Tag) {
			newest = append(newest, h.Tag)
			add(h.Tag, fmt.Sprintf("one of the %d newest releases", keep))
		}
	}
	for _, h := range history {
		if h.Result != "succeeded" || kept[h.Tag] == "" {
			continue
		}
		for _, name := range slices.Sorted(maps.Keys(h.Images)) {
			if ref, err := imageref.ParseRef(h.Images[name]); err == nil && ref.Tag != h.Tag {
				add(ref.Tag, fmt.Sprintf("kept release %s runs its %s image", h.Tag, name))
			}
		}
	}
	return kept
}

// revisionsInUse maps each task definition a service deployment or a
// running task of the cluster uses to why it counts as used, and names
// the families the environment owns: its services' and its migration's.
func (d *Deployer) revisionsInUse(ctx context.Context) (map[string]string, []string, error) {
	used := map[string]string{}
	owned := map[string]bool{}
	if d.Env.Migrate != nil {
		owned[ecs.FamilyOf(d.Env.Migrate.TaskDefinition)] = true
	}
	services, _, err := ecs.DescribeServicesBatched(ctx, d.ECS, d.Env.Cluster, d.Env.ServiceNames())
	if err != nil {
		return nil, nil, err
	}
	for _, s := range services {
		for _, dep := range s.Deployments {
			used[aws.ToString(dep.TaskDefinition)] = "service " + aws.ToString(s.ServiceName) + " runs it"
			owned[ecs.FamilyOf(aws.ToString(dep.TaskDefinition))] = true
		}
	}
	arns, err := ecs.ListTaskArns(ctx, d.ECS, &awsecs.ListTasksInput{Cluster: aws.String(d.Env.Cluster), DesiredStatus: types.DesiredStatusRunning})
	if err != nil {
		return nil, nil, fmt.Errorf("list the running tasks of %s: %w", d.Env.Cluster, err)
	}
	tasks, err := ecs.DescribeTasksBatched(ctx, d.ECS, d.Env.Cluster, arns, false)
	if err != nil {
		return nil, nil, fmt.Errorf("describe the running tasks of %s: %w", d.Env.Cluster, err)
	}
	for _, t := range tasks {
		if arn := aws.ToString(t.TaskDefinitionArn); used[arn] == "" {
			used[arn] = "task " + aws.ToString(t.TaskArn) + " runs it"
		}
	}
	return used, slices.Sorted(maps.Keys(owned)), nil
}

// revisionTags returns the image tags a task definition's containers run.
func (d *Deployer) revisionTags(ctx context.Context, arn string) ([]string, error) {
	out, err := d.ECS.DescribeTaskDefinition(ctx, &awsecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(arn)})
	if err != nil {
		return nil, fmt.Errorf("describe task definition %s: %w", arn, err)
	}
	var tags []string
	for _, c := range out.TaskDefinition.ContainerDefinitions {
		if tag := imageref.TagOf(aws.ToString(c.Image)); tag != "" {
			tags = append(tags, tag)
		}
	}
	return tags, nil
}

func (d *Deployer) pruneRevisions(ctx context.Context, api ecs.TaskDefinitionAPI, families []string, inUse map[string]string, revisionTags map[string][]string, rep *PruneReport, dryRun bool) error {
	for _, family := range families {
		arns, err := ecs.ActiveRevisions(ctx, api, family)
		if err != nil {
			return err
		}
		for i, arn := range arns {
			why := inUse[arn]
			if why == "" && i == len(arns)-1 {
				// Terraform's (or a one-off's: the revision the schedules
				// and services name runs the live release, kept by its tag).
				why = "newest revision of " + family
			}
			if why == "" {
				tags, ok := revisionTags[arn]
				if !ok {
					if tags, err = d.revisionTags(ctx, arn); err != nil {
						return err
					}
				}
				for _, t := range tags {
					if rep.KeptTags[t] != "" {
						why = "runs kept release " + t
						break
					}
				}
			}
			if why != "" {
				rep.KeptRevisions[arn] = why
				continue
			}
			if !dryRun {
				if _, err := api.DeregisterTaskDefinition(ctx, &awsecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(arn)}); err != nil {
					return fmt.Errorf("deregister %s (%d deregistered before it): %w", arn, len(rep.Deregistered), err)
				}
			}
			rep.Deregistered = append(rep.Deregistered, arn)
		}
	}
	return nil
}

func (d *Deployer) pruneImages(ctx context.Context, history []ledger.Record, rep *PruneReport, dryRun bool) error {
	reg, _, err := connectRegistry(ctx, d.Config, d.Env, d.ECR, d.Out)
	if err != nil {
		return err
	}
	released := map[string]bool{}
	for _, h := range history {
		released[h.Tag] = true
	}
	repoDigests := map[string]map[string]string{} // repository -> tag -> digest
	var repos []string
	for _, img := range d.Config.Images {
		repo := d.Env.Registry + "/" + img.Repository
		tags, err := reg.Tags(ctx, repo)
		if err != nil {
			return err
		}
		digests := map[string]string{}
		for _, t := range tags {
			if digests[t], err = reg.Digest(ctx, repo+":"+t); err != nil {
				return err
			}
		}
		repos, repoDigests[repo] = append(repos, repo), digests
	}
	plans := planRepositoryDeletes(repoDigests, rep.KeptTags, released)
	for _, repo := range repos {
		plan := plans[repo]
		for _, t := range plan.unknown {
			rep.LeftUnknownTags = append(rep.LeftUnknownTags, repo+":"+t)
		}
		for _, t := range plan.doomed {
			digest := repoDigests[repo][t]
			ref := repo + ":" + t + "@" + digest
			if !dryRun {
				if err := d.deleteImage(ctx, reg, repo+"@"+digest); err != nil {
					return fmt.Errorf("%w (%d images deleted before it)", err, len(rep.DeletedImages))
				}
			}
			rep.DeletedImages = append(rep.DeletedImages, ref)
		}
	}
	return nil
}

// planRepositoryDeletes plans every repository at once. A release tag
// that one repository must keep (its image is shared with a kept tag) is
// kept in every repository, so that whatever prune reports as kept can
// still be rolled back to; kept gains those tags, with the reason.
func planRepositoryDeletes(repoDigests map[string]map[string]string, kept map[string]string, released map[string]bool) map[string]imageDeletes {
	for {
		plans := map[string]imageDeletes{}
		grew := false
		for _, repo := range slices.Sorted(maps.Keys(repoDigests)) { // the same reasons on every run
			plan := planImageDeletes(repoDigests[repo], kept, released)
			plans[repo] = plan
			for _, t := range plan.shared {
				if kept[t] == "" {
					kept[t] = "shares its " + path.Base(repo) + " image with a kept tag"
					grew = true
				}
			}
		}
		if !grew {
			return plans
		}
	}
}

// imageDeletes is what prune does to one repository's tags.
type imageDeletes struct {
	doomed  []string // one tag per digest to delete, which takes every tag on it
	shared  []string // released tags kept because a kept tag shares their digest
	unknown []string // tags no release recorded: never ours to delete
}

// planImageDeletes decides from each tag's digest which images go.
// Deleting is by digest, which takes every tag on it: a digest that a
// kept tag or a tag no release made shares stays.
func planImageDeletes(digests map[string]string, kept map[string]string, released map[string]bool) imageDeletes {
	var plan imageDeletes
	keptDigests := map[string]bool{}
	var candidates []string
	for _, t := range slices.Sorted(maps.Keys(digests)) {
		switch {
		case kept[t] != "":
			keptDigests[digests[t]] = true
		case !released[t]:
			keptDigests[digests[t]] = true
			plan.unknown = append(plan.unknown, t)
		default:
			candidates = append(candidates, t)
		}
	}
	gone := map[string]bool{}
	for _, t := range candidates {
		d := digests[t]
		switch {
		case keptDigests[d]:
			plan.shared = append(plan.shared, t)
		case !gone[d]:
			gone[d] = true
			plan.doomed = append(plan.doomed, t)
		}
	}
	return plan
}

// deleteImage deletes by digest: through ECR's API for ECR (it does not
// answer the registry protocol's DELETE), through the registry otherwise.
func (d *Deployer) deleteImage(ctx context.Context, reg *image.Registry, ref string) error {
	if !image.IsECR(d.Env.Registry) {
		return reg.DeleteManifest(ctx, ref)
	}
	api, ok := d.ECR.(image.ECRDeleteAPI)
	if !ok {
		return fmt.Errorf("delete %s: no ECR client that can delete images", ref)
	}
	return image.ECRDeleteDigest(ctx, api, ref)
}

func (d *Deployer) printPrune(rep PruneReport, dryRun bool) {
	verb := map[bool]string{true: "would delete", false: "deleted"}[dryRun]
	deregister := map[bool]string{true: "would deregister", false: "deregistered"}[dryRun]
	for _, t := range slices.Sorted(maps.Keys(rep.KeptTags)) {
		fmt.Fprintf(d.Out, "keep tag %s: %s\n", t, rep.KeptTags[t])
	}
	for _, u := range rep.LeftUnknownTags {
		fmt.Fprintf(d.Out, "leave %s: no release recorded it (not made by a deploy)\n", u)
	}
	for _, ref := range rep.DeletedImages {
		fmt.Fprintf(d.Out, "%s %s\n", verb, ref)
	}
	for _, a := range slices.Sorted(maps.Keys(rep.KeptRevisions)) {
		fmt.Fprintf(d.Out, "keep %s: %s\n", a, rep.KeptRevisions[a])
	}
	for _, a := range rep.Deregistered {
		fmt.Fprintf(d.Out, "%s %s\n", deregister, a)
	}
	fmt.Fprintf(d.Out, "prune %s: %s %d images, %s %d task definition revisions; kept %d tags and %d revisions\n",
		d.Env.Name, verb, len(rep.DeletedImages), deregister, len(rep.Deregistered), len(rep.KeptTags), len(rep.KeptRevisions))
}
