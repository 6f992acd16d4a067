package release

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsecs "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/railsecs/deploykit/mage/ecs"
	"github.com/railsecs/deploykit/mage/image"
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
		release, _, err := d.takeLock(ctx, Lock{Env: d.Env.Name, Holder: d.Who, Action: "prune", Started: time.Now().UTC()}, opts.LockWait)
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
	history, err := History(ctx, d.Store)
	if err != nil {
		return rep, fmt.Errorf("the release history of %s: %w", d.Env.Name, err)
	}
	keep := func(tag, why string) {
		if tag != "" && rep.KeptTags[tag] == "" {
			rep.KeptTags[tag] = why
		}
	}
	if last := LastSucceeded(history); last != nil {
		keep(last.Tag, "live release")
		keep(last.Previous, "rollback target")
	}
	kept := 0
	for _, h := range history {
		if h.Result == "succeeded" && kept < opts.Keep {
			keep(h.Tag, fmt.Sprintf("one of the %d newest releases", opts.Keep))
			kept++
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
		if tag := image.TagOf(aws.ToString(c.Image)); tag != "" {
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

func (d *Deployer) pruneImages(ctx context.Context, history []Record, rep *PruneReport, dryRun bool) error {
	reg, _, err := connectRegistry(ctx, d.Config, d.Env, d.ECR, d.Out)
	if err != nil {
		return err
	}
	released := map[string]bool{}
	for _, h := range history {
		released[h.Tag] = true
	}
	for _, img := range d.Config.Images {
		repo := d.Env.Registry + "/" + img.Repository
		tags, err := reg.Tags(ctx, repo)
		if err != nil {
			return err
		}
		// Deleting is by digest, which takes every tag on it: a digest a
		// kept tag shares stays.
		keptDigests := map[string]bool{}
		doomed := map[string]string{} // tag -> digest
		for _, t := range tags {
			digest, err := reg.Digest(ctx, repo+":"+t)
			if err != nil {
				return err
			}
			switch {
			case rep.KeptTags[t] != "" || !released[t]:
				keptDigests[digest] = true
				if !released[t] && rep.KeptTags[t] == "" {
					rep.LeftUnknownTags = append(rep.LeftUnknownTags, repo+":"+t)
				}
			default:
				doomed[t] = digest
			}
		}
		for _, t := range slices.Sorted(maps.Keys(doomed)) {
			digest := doomed[t]
			if keptDigests[digest] {
				rep.KeptTags[t] = "shares its image with a kept tag"
				continue
			}
			ref := repo + ":" + t + "@" + digest
			if !dryRun {
				if err := d.deleteImage(ctx, reg, repo+"@"+digest); err != nil {
					return fmt.Errorf("%w (%d images deleted before it)", err, len(rep.DeletedImages))
				}
			}
			keptDigests[digest] = true // other doomed tags on it went with it
			rep.DeletedImages = append(rep.DeletedImages, ref)
		}
	}
	return nil
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
