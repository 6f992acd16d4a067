package ecs

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/railsecs/deploykit/mage/imageref"
)

// Return is what stopping an environment's rollouts in flight would do
// for a rollback to a release.
type Return struct {
	// InFlight are the service deployments still rolling out.
	InFlight []InFlight
	// Why stopping them would not bring the release back ("" when it
	// would, or when nothing is in flight).
	Why string
}

// PlanReturn says whether StopServiceDeployment ROLLBACK returns an
// environment to a release (its images: "registry/repo:tag@digest"): it
// does when every service deployment in flight started from revisions
// running exactly those images, since ROLLBACK "rolls back to the
// previous service revision", and every other service runs them already.
func PlanReturn(ctx context.Context, api API, cluster string, services []string, images []string) (Return, error) {
	sds, names, err := currentServiceDeployments(ctx, api, cluster, services)
	if err != nil {
		return Return{}, err
	}
	var plan Return
	var whys []string
	for _, sd := range sds {
		arn, name := aws.ToString(sd.ServiceDeploymentArn), names[aws.ToString(sd.ServiceDeploymentArn)]
		switch sd.Status {
		case types.ServiceDeploymentStatusInProgress, types.ServiceDeploymentStatusPending:
			plan.InFlight = append(plan.InFlight, InFlight{Service: name, Arn: arn, Status: string(sd.Status), Stage: string(sd.LifecycleStage)})
			if len(sd.SourceServiceRevisions) == 0 {
				whys = append(whys, name+" has no revision to return to (its first deployment)")
			}
			for _, src := range sd.SourceServiceRevisions {
				if why, err := revisionRuns(ctx, api, aws.ToString(src.Arn), images); err != nil {
					return Return{}, err
				} else if why != "" {
					whys = append(whys, fmt.Sprintf("%s would return to a revision that %s", name, why))
				}
			}
		case types.ServiceDeploymentStatusSuccessful:
			if sd.TargetServiceRevision == nil {
				whys = append(whys, name+": its service deployment names no revision yet")
			} else if why, err := revisionRuns(ctx, api, aws.ToString(sd.TargetServiceRevision.Arn), images); err != nil {
				return Return{}, err
			} else if why != "" {
				whys = append(whys, fmt.Sprintf("%s finished its rollout and %s", name, why))
			}
		default:
			whys = append(whys, fmt.Sprintf("%s: service deployment %s is %s", name, ShortID(arn), sd.Status))
		}
	}
	if len(sds) < len(services) {
		whys = append(whys, fmt.Sprintf("%d of %d services name no service deployment", len(services)-len(sds), len(services)))
	}
	slices.Sort(whys)
	plan.Why = strings.Join(whys, "; ")
	return plan, nil
}

// revisionRuns says why a service revision does not run exactly the
// release's images: each container from one of the release's repositories
// must run its tag (and digest, where both are known), and at least one
// must. Repositories match by path, as the revision judge matches tags: a
// task definition may name the registry by another host (a pull-through
// cache, the sandbox's fixed port). "" when it does.
func revisionRuns(ctx context.Context, api API, arn string, images []string) (string, error) {
	out, err := api.DescribeServiceRevisions(ctx, &ecs.DescribeServiceRevisionsInput{ServiceRevisionArns: []string{arn}})
	if err != nil {
		return "", fmt.Errorf("describe service revision %s: %w", arn, err)
	}
	if len(out.ServiceRevisions) == 0 {
		return "is not readable yet", nil
	}
	want := map[string]imageref.Ref{}
	for _, img := range images {
		if ref, err := imageref.ParseRef(img); err == nil {
			want[ref.Repository] = ref
		}
	}
	matched := 0
	for _, c := range out.ServiceRevisions[0].ContainerImages {
		ref, err := imageref.ParseRef(aws.ToString(c.Image))
		if err != nil {
			continue
		}
		w, ok := want[ref.Repository]
		if !ok {
			continue
		}
		digest := cmp.Or(aws.ToString(c.ImageDigest), ref.Digest)
		if ref.Tag != w.Tag || (digest != "" && w.Digest != "" && digest != w.Digest) {
			return fmt.Sprintf("runs %s in container %s, not %s", imageref.Ref{Registry: ref.Registry, Repository: ref.Repository, Tag: ref.Tag, Digest: digest}, aws.ToString(c.ContainerName), w), nil
		}
		matched++
	}
	if matched == 0 {
		return "runs none of the release's images", nil
	}
	return "", nil
}

// StopInFlight rolls back the given service deployments
// (StopServiceDeployment ROLLBACK), saying what it did; an error names
// each it could not stop.
func StopInFlight(ctx context.Context, api API, inflight []InFlight, why string, out io.Writer) error {
	watches := map[string]*deploymentWatch{}
	for _, f := range inflight {
		if f.Status != string(types.ServiceDeploymentStatusInProgress) && f.Status != string(types.ServiceDeploymentStatusPending) {
			fmt.Fprintf(out, "%s: service deployment %s is %s already\n", f.Service, ShortID(f.Arn), f.Status)
			continue
		}
		watches[f.Service] = &deploymentWatch{arn: f.Arn, status: f.Status}
	}
	msg := RollBackInFlight(ctx, api, watches, why, func(line string) { fmt.Fprintln(out, line) })
	if strings.Contains(msg, "could not stop") {
		return errors.New(msg)
	}
	return nil
}
