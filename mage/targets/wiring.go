package targets

import (
	"context"
	"fmt"
	"os"
	"os/user"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	awsecs "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/railsecs/deploykit/mage/config"
	"github.com/railsecs/deploykit/mage/image"
	"github.com/railsecs/deploykit/mage/ledger"
	"github.com/railsecs/deploykit/mage/release"
	"github.com/railsecs/deploykit/mage/sandbox"
)

// Wiring: which AWS configuration, store and runner each environment gets.
// Real environments get the SDK's default credentials and the S3 store
// next to the terraform state; the sandbox gets the in-process AWS double
// (its state kept in .deploykit/sandbox) whose one-off tasks run for real
// with buildah, and a directory store.

// session is one target's hold on one environment, built only as far as
// the target needs: the configuration, AWS (the sandbox's double), the
// ledger (lock, journal, release history) and the repair of what a killed
// run left, and the terraform workspace only for the targets that plan or
// apply. Read-only targets (releases, status, lock:*) and prune never look
// for terraform.
type session struct {
	c    console
	d    *release.Deployer // WS is nil until workspace
	aws  aws.Config
	stop func()
}

// session opens envName without terraform, repairing what a run that
// ended without cleaning up left behind.
func (c console) session(ctx context.Context, envName string) (*session, error) {
	cfg, env, err := c.loadEnv(envName)
	if err != nil {
		return nil, err
	}
	awsCfg, stop, reload, err := c.awsSetup(ctx, cfg, env)
	if err != nil {
		return nil, err
	}
	store, err := storeFor(cfg, env, awsCfg)
	if err != nil {
		stop()
		return nil, err
	}
	host, _ := os.Hostname()
	d := &release.Deployer{
		Config: cfg, Env: env, ECS: awsecs.NewFromConfig(awsCfg), Logs: cloudwatchlogs.NewFromConfig(awsCfg),
		Store: store, Out: c.out, Getenv: c.getenv, Terminal: c.terminal && c.getenv("CI") == "", Who: c.who(), From: host,
	}
	if u := c.getenv("CIRCLE_BUILD_URL"); u != "" {
		d.From = u
	}
	if image.IsECR(env.Registry) {
		d.ECR = ecr.NewFromConfig(awsCfg)
	}
	d.OnLocked = reload
	// A run that ended without cleaning up (SIGKILL, a second Ctrl-C, a
	// lost CI machine) left a journal: put things right before anything else.
	if did, err := d.Repair(ctx, false); err != nil {
		fmt.Fprintf(c.out, "WARNING: %v\n", err)
	} else if did != "" {
		fmt.Fprintf(c.out, "==> %s\n", did)
	}
	return &session{c: c, d: d, aws: awsCfg, stop: stop}, nil
}

// workspace adds the terraform workspace: finds terraform (or OpenTofu,
// building it when missing) and the environment's root.
func (s *session) workspace(ctx context.Context) (*release.Deployer, error) {
	if s.d.WS != nil {
		return s.d, nil
	}
	ws, err := release.Open(ctx, s.d.Config, s.d.Env, s.c.out, s.c.getenv)
	if err != nil {
		return nil, err
	}
	ws.TF.Env = append(ws.TF.Env, sandbox.EndpointEnv(s.aws)...)
	if s.d.Env.Local {
		// The sandbox's task definitions name the registry the images
		// are pushed to (SANDBOX_REGISTRY moves it).
		ws.TF.Env = append(ws.TF.Env, "TF_VAR_sandbox_registry="+s.d.Env.Registry)
	}
	s.d.WS = ws
	return s.d, nil
}

// deployer is a session with its workspace, for the targets that apply.
func (c console) deployer(ctx context.Context, envName string) (*release.Deployer, func(), error) {
	s, err := c.session(ctx, envName)
	if err != nil {
		return nil, nil, err
	}
	d, err := s.workspace(ctx)
	if err != nil {
		s.stop()
		return nil, nil, err
	}
	return d, s.stop, nil
}

func storeFor(cfg *config.Config, env *config.Environment, awsCfg aws.Config) (ledger.Store, error) {
	if env.Local {
		return ledger.DirStore{Dir: cfg.LocalDir(env.Name, "store")}, nil
	}
	bucket := env.Terraform.Backend["bucket"]
	if bucket == "" {
		return nil, fmt.Errorf("environment %s: the lock and release history live next to the terraform state, but terraform.backend has no bucket", env.Name)
	}
	return ledger.S3Store{API: s3.NewFromConfig(awsCfg), Bucket: bucket, Prefix: env.Name + "/deploykit/"}, nil
}

// who names the person or CI job starting something.
func (c console) who() string {
	if u := c.getenv("CIRCLE_BUILD_URL"); u != "" {
		return u
	}
	name := c.getenv("USER")
	if name == "" {
		if u, err := user.Current(); err == nil {
			name = u.Username
		} else {
			name = "unknown"
		}
	}
	host, _ := os.Hostname()
	return name + "@" + host
}

// awsConfig is the SDK configuration for an environment. The sandbox, when
// no endpoint is configured, gets the in-process AWS double, with its task
// definitions and services kept in .deploykit/sandbox between runs.
func (c console) awsConfig(ctx context.Context, cfg *config.Config, env *config.Environment) (aws.Config, func(), error) {
	awsCfg, stop, _, err := c.awsSetup(ctx, cfg, env)
	return awsCfg, stop, err
}

// awsSetup is awsConfig plus, for the sandbox, a function that reloads
// the double's saved state (called once the deploy lock is held).
func (c console) awsSetup(ctx context.Context, cfg *config.Config, env *config.Environment) (aws.Config, func(), func(context.Context) error, error) {
	if !sandbox.UsesDouble(env, c.getenv) {
		awsCfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(env.Region))
		if err != nil {
			return aws.Config{}, nil, nil, fmt.Errorf("AWS credentials for %s: %w", env.Name, err)
		}
		return awsCfg, func() {}, nil, nil
	}
	double, err := sandbox.Start(ctx, cfg, env, c.getenv, c.out)
	if err != nil {
		return aws.Config{}, nil, nil, err
	}
	return double.AWS, double.Stop, double.Reload, nil
}

// source is the environment a promotion reads from: its release history
// and its registry, with the same credentials (cross-account: the role
// needs read access to that state bucket and registry).
func (c console) source(ctx context.Context, cfg *config.Config, name string) (release.Source, error) {
	env, err := cfg.Env(name)
	if err != nil {
		return release.Source{}, err
	}
	var awsCfg aws.Config
	if !env.Local {
		if awsCfg, err = awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(env.Region)); err != nil {
			return release.Source{}, fmt.Errorf("AWS credentials for %s: %w", env.Name, err)
		}
	}
	store, err := storeFor(cfg, env, awsCfg)
	if err != nil {
		return release.Source{}, err
	}
	src := release.Source{Env: env, Store: store}
	if image.IsECR(env.Registry) {
		src.ECR = ecr.NewFromConfig(awsCfg)
	}
	return src, nil
}
