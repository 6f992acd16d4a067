package ecs

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/railsecs/deploykit/mage/imageref"
)

// MaxDescribeServices is DescribeServices' limit of services per call.
const MaxDescribeServices = 10

// ServiceState is what one service runs now.
type ServiceState struct {
	Name           string
	TaskDefinition string // ARN
	// Images maps each container of the task definition to its image.
	Images           []ContainerImage
	Running, Desired int32
	Rollout          string // rolloutState of the newest deployment
	Missing          string // why DescribeServices did not return it
	Deployments      int    // more than one: a rollout or rollback is going on
	RolledBack       bool   // the circuit breaker rolled back a deployment
	// Each deployment with its own counts, PRIMARY first: while there are
	// several, the service's running tasks may all be an older one's.
	Split []DeploymentState
}

// DeploymentState is one deployment of a service.
type DeploymentState struct {
	ID, Status, TaskDefinition, Rollout string
	Running, Desired, Failed            int32
}

// Where says, when a service has several deployments, which task
// definitions its running tasks belong to: "shop-web:2 (PRIMARY, FAILED)
// 0/2 running, 3 failed; shop-web:1 (ACTIVE) 2 running". "" for one.
func (s ServiceState) Where() string {
	if len(s.Split) < 2 {
		return ""
	}
	var parts []string
	for _, d := range s.Split {
		p := fmt.Sprintf("%s (%s, %s) %d/%d running", ShortID(d.TaskDefinition), d.Status, d.Rollout, d.Running, d.Desired)
		if d.Failed > 0 {
			p += fmt.Sprintf(", %d failed", d.Failed)
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "; ")
}

// ContainerImage is one container's image reference.
type ContainerImage struct{ Container, Image string }

// ImageList shows the containers' images briefly:
// "nginx=shop/nginx:abc@sha256:1234…,unicorn=…".
func (s ServiceState) ImageList() string {
	parts := make([]string, 0, len(s.Images))
	for _, ci := range s.Images {
		shown := ci.Image
		if ref, err := imageref.ParseRef(ci.Image); err == nil {
			shown = ref.Short()
		}
		parts = append(parts, ci.Container+"="+shown)
	}
	return strings.Join(parts, ",")
}

// DescribeServicesBatched describes any number of services, ten per call
// as the API allows, and returns the services and failures of every batch.
func DescribeServicesBatched(ctx context.Context, api API, cluster string, names []string) ([]types.Service, []types.Failure, error) {
	var services []types.Service
	var failures []types.Failure
	for start := 0; start < len(names); start += MaxDescribeServices {
		batch := names[start:min(start+MaxDescribeServices, len(names))]
		out, err := api.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: batch})
		var missing *types.ClusterNotFoundException
		if errors.As(err, &missing) {
			return nil, nil, fmt.Errorf("cluster %s does not exist (nothing deployed yet, or deploy.hcl names the wrong cluster): %w", cluster, err)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("describe services %v in %s: %w", batch, cluster, err)
		}
		services = append(services, out.Services...)
		failures = append(failures, out.Failures...)
	}
	return services, failures, nil
}

// ServiceStates reads what each named service runs: task definition, the
// images of its containers, counts and rollout state.
func ServiceStates(ctx context.Context, api API, cluster string, names []string) ([]ServiceState, error) {
	services, failures, err := DescribeServicesBatched(ctx, api, cluster, names)
	if err != nil {
		return nil, err
	}
	var states []ServiceState
	for _, svc := range services {
		s := ServiceState{
			Name: aws.ToString(svc.ServiceName), TaskDefinition: aws.ToString(svc.TaskDefinition),
			Running: svc.RunningCount, Desired: svc.DesiredCount,
		}
		if len(svc.Deployments) > 0 {
			s.Rollout = string(svc.Deployments[0].RolloutState)
		}
		s.Deployments = len(svc.Deployments)
		for _, d := range svc.Deployments {
			s.Split = append(s.Split, DeploymentState{ID: aws.ToString(d.Id), Status: aws.ToString(d.Status), TaskDefinition: aws.ToString(d.TaskDefinition),
				Rollout: string(d.RolloutState), Running: d.RunningCount, Desired: d.DesiredCount, Failed: d.FailedTasks})
		}
		for _, d := range svc.Deployments {
			if d.RolloutState == types.DeploymentRolloutStateFailed {
				s.RolledBack = s.RolledBack || aws.ToString(d.Status) != "PRIMARY"
			}
		}
		td, err := api.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: svc.TaskDefinition})
		if err != nil {
			return nil, fmt.Errorf("describe task definition %s of %s: %w", s.TaskDefinition, s.Name, err)
		}
		for _, cd := range td.TaskDefinition.ContainerDefinitions {
			s.Images = append(s.Images, ContainerImage{Container: aws.ToString(cd.Name), Image: aws.ToString(cd.Image)})
		}
		states = append(states, s)
	}
	for _, f := range failures {
		states = append(states, ServiceState{Name: ShortID(aws.ToString(f.Arn)), Missing: aws.ToString(f.Reason)})
	}
	return states, nil
}
