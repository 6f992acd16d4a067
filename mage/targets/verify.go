package targets

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	awsecs "github.com/aws/aws-sdk-go-v2/service/ecs"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/railsecs/deploykit/mage/image"
	"github.com/railsecs/deploykit/mage/verify"
)

// Verify checks an environment's account before anything changes.
func Verify(ctx context.Context, env *string) error {
	return osConsole().verify(ctx, envName(env))
}

func (c console) verify(ctx context.Context, envName string) error {
	cfg, env, err := c.loadEnv(envName)
	if err != nil {
		return err
	}
	awsCfg, stop, err := c.awsConfig(ctx, cfg, env)
	if err != nil {
		return err
	}
	defer stop()
	nginx, _ := os.ReadFile(filepath.Join(cfg.Dir, "docker", "nginx.conf"))
	v := &verify.Verifier{
		ECS: awsecs.NewFromConfig(awsCfg), Logs: cloudwatchlogs.NewFromConfig(awsCfg),
		Cluster: env.Cluster, Services: env.ServiceNames(), CIRole: env.CIRole, NginxConf: string(nginx),
	}
	if !env.Local {
		// The sandbox's double serves ECS and Logs only.
		v.ELB, v.IAM, v.SSM = elb.NewFromConfig(awsCfg), iam.NewFromConfig(awsCfg), ssm.NewFromConfig(awsCfg)
		v.Secrets, v.Scheduler = secretsmanager.NewFromConfig(awsCfg), scheduler.NewFromConfig(awsCfg)
		if cfg.Cron != nil {
			v.ScheduleGroup = cfg.App + "-" + env.Name
		}
	}
	if image.IsECR(env.Registry) {
		v.ECR = ecr.NewFromConfig(awsCfg)
		for _, img := range cfg.Images {
			v.Repositories = append(v.Repositories, img.Repository)
		}
	}
	fmt.Fprintf(c.out, "==> verify %s (cluster %s, region %s): read-only\n", env.Name, env.Cluster, env.Region)
	if !verify.Write(c.out, v.Run(ctx)) {
		return errors.New("verify found problems: see FAIL above")
	}
	return nil
}
