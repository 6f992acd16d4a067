package ecs

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// RegisterWithImages registers a revision of family that differs from the
// latest one only in the images of the named containers, and returns its
// ARN. Containers not in images keep theirs.
func RegisterWithImages(ctx context.Context, api API, family string, images map[string]string) (string, error) {
	out, err := api.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(family), Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags}})
	if err != nil {
		return "", fmt.Errorf("describe task definition %s: %w", family, err)
	}
	td := out.TaskDefinition
	defs := make([]types.ContainerDefinition, len(td.ContainerDefinitions))
	copy(defs, td.ContainerDefinitions)
	found := map[string]bool{}
	for i := range defs {
		if img, ok := images[aws.ToString(defs[i].Name)]; ok {
			defs[i].Image = aws.String(img)
			found[aws.ToString(defs[i].Name)] = true
		}
	}
	for name := range images {
		if !found[name] {
			return "", fmt.Errorf("task definition %s has no container %q", aws.ToString(td.TaskDefinitionArn), name)
		}
	}
	in := &ecs.RegisterTaskDefinitionInput{
		Family:                  td.Family,
		ContainerDefinitions:    defs,
		Cpu:                     td.Cpu,
		Memory:                  td.Memory,
		ExecutionRoleArn:        td.ExecutionRoleArn,
		TaskRoleArn:             td.TaskRoleArn,
		NetworkMode:             td.NetworkMode,
		RequiresCompatibilities: td.RequiresCompatibilities,
		Volumes:                 td.Volumes,
		PlacementConstraints:    td.PlacementConstraints,
		RuntimePlatform:         td.RuntimePlatform,
		EphemeralStorage:        td.EphemeralStorage,
		PidMode:                 td.PidMode,
		IpcMode:                 td.IpcMode,
		ProxyConfiguration:      td.ProxyConfiguration,
		InferenceAccelerators:   td.InferenceAccelerators,
		EnableFaultInjection:    td.EnableFaultInjection,
	}
	if len(out.Tags) > 0 {
		in.Tags = out.Tags
	}
	reg, err := api.RegisterTaskDefinition(ctx, in)
	if err != nil {
		return "", fmt.Errorf("register task definition %s: %w", family, err)
	}
	return aws.ToString(reg.TaskDefinition.TaskDefinitionArn), nil
}

// TaskDefinitionExists reports whether family has a registered revision.
func TaskDefinitionExists(ctx context.Context, api API, family string) bool {
	_, err := api.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(family)})
	return err == nil
}

// TaskDefinitionAPI is what pruning old task definition revisions needs.
type TaskDefinitionAPI interface {
	ListTaskDefinitions(ctx context.Context, in *ecs.ListTaskDefinitionsInput, opts ...func(*ecs.Options)) (*ecs.ListTaskDefinitionsOutput, error)
	DeregisterTaskDefinition(ctx context.Context, in *ecs.DeregisterTaskDefinitionInput, opts ...func(*ecs.Options)) (*ecs.DeregisterTaskDefinitionOutput, error)
}

// ActiveRevisions lists the ACTIVE revisions of family, oldest first.
// The family prefix filter also matches longer family names, so those are
// dropped here.
func ActiveRevisions(ctx context.Context, api TaskDefinitionAPI, family string) ([]string, error) {
	var arns []string
	in := &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String(family), Status: types.TaskDefinitionStatusActive, Sort: types.SortOrderAsc}
	for {
		out, err := api.ListTaskDefinitions(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list the task definitions of %s: %w", family, err)
		}
		for _, arn := range out.TaskDefinitionArns {
			if FamilyOf(arn) == family {
				arns = append(arns, arn)
			}
		}
		if out.NextToken == nil {
			return arns, nil
		}
		in.NextToken = out.NextToken
	}
}

// FamilyOf returns the family of a task definition ARN or family:revision.
func FamilyOf(taskDef string) string {
	s := taskDef[strings.LastIndexByte(taskDef, '/')+1:]
	family, _, _ := strings.Cut(s, ":")
	return family
}
