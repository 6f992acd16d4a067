package release

import (
	"context"
	"fmt"

	awstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/railsecs/deploykit/mage/config"
	"github.com/railsecs/deploykit/mage/ecs"
	"github.com/railsecs/deploykit/mage/imageref"
)

// OneOff is a task run from an environment's migrate task definition: the
// migration itself, a `mage run` command, or a cron job run by hand.
type OneOff struct {
	// Command overrides the container's command; nil means the migration
	// (migrate.command), which is refused while another one runs.
	Command []string
	Marker  string // startedBy; the migration always uses ecs.MigrateMarker
	// Tag registers a revision running this image (tag, or tag@digest:
	// exactly the release's bytes) first; none runs the task definition's
	// latest revision as it is.
	Tag imageref.Pin
	Who string
}

// MigrateImageRef is the image reference of pin for the migrate container.
func MigrateImageRef(cfg *config.Config, env *config.Environment, pin imageref.Pin) (string, error) {
	img, ok := cfg.Image(env.Migrate.ImageName())
	if !ok {
		return "", fmt.Errorf("migrate image %q is not declared in %s", env.Migrate.ImageName(), cfg.File)
	}
	return imageref.Ref{Registry: env.Registry, Repository: img.Repository}.At(pin).String(), nil
}

// RunOneOff starts the task on runner and, unless opts.Detach, waits for it.
func RunOneOff(ctx context.Context, runner *ecs.Runner, cfg *config.Config, env *config.Environment, o OneOff, opts ecs.RunOptions) (string, error) {
	m := env.Migrate
	if m == nil {
		return "", fmt.Errorf("environment %s has no migrate block in %s: it names the task definition one-off tasks use", env.Name, cfg.File)
	}
	command, marker := o.Command, o.Marker
	if command == nil {
		command, marker = m.Command, ecs.MigrateMarker
		if err := ecs.CheckNoneRunning(ctx, runner.ECS, env.Cluster, marker); err != nil {
			return "", err
		}
	}
	taskDef := m.TaskDefinition
	if o.Tag.Tag != "" {
		ref, err := MigrateImageRef(cfg, env, o.Tag)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(runner.Out, "==> registering %s with image %s\n", taskDef, ref)
		if taskDef, err = ecs.RegisterWithImages(ctx, runner.ECS, taskDef, map[string]string{m.Container: ref}); err != nil {
			return "", err
		}
	}
	return runner.Run(ctx, ecs.Spec{
		Cluster: env.Cluster, TaskDefinition: taskDef, Container: m.Container, Command: command,
		NetworkFrom: m.NetworkFrom, Network: ecs.NetworkOf(m.Subnets, m.SecurityGroups, m.AssignPublicIP),
		LaunchType: awstypes.LaunchType(m.LaunchType), Marker: marker, Who: o.Who, Commit: o.Tag.Tag,
	}, opts)
}
