package sandbox

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/railsecs/deploykit/mage/awsfake"
	"github.com/railsecs/deploykit/mage/config"
	"github.com/railsecs/deploykit/mage/image"
	"github.com/railsecs/deploykit/mage/sandbox/lb"
)

// UsesDouble says whether env runs on the in-process AWS double: a local
// environment, unless AWS_ENDPOINT_URL points it at another endpoint (a
// `sandbox:serve` of its own, moto).
func UsesDouble(env *config.Environment, getenv func(string) string) bool {
	return env.Local && getenv("AWS_ENDPOINT_URL") == ""
}

// StatePath is where a local environment's double keeps its state.
func StatePath(cfg *config.Config, envName string) string {
	return filepath.Join(cfg.LocalDir(envName), "aws-double.json")
}

// Switches are the SANDBOX_* variables that reach the app's tasks:
// SANDBOX_FAIL=1 fails db:migrate, SANDBOX_MIGRATE_SECONDS=N makes it slow.
var Switches = []string{"SANDBOX_FAIL", "SANDBOX_MIGRATE_SECONDS"}

// Double is a local environment's AWS: the double, serving on loopback,
// with its state loaded from and saved to the checkout.
type Double struct {
	// AWS points the SDK (and, through EndpointEnv, terraform) at it.
	AWS   aws.Config
	fake  *awsfake.Server
	state string
	close func() error
	out   io.Writer
	// runtime runs the services' tasks as pods (nil: they are the
	// double's model); reconciling once this process holds the lock.
	runtime     *Runtime
	reconciling bool
}

// Start loads env's double from its saved state and serves it on a
// loopback port. Its one-off tasks run their command in the built image
// with buildah (when installed); what a killed run's tasks left in
// buildah's storage is removed first. SANDBOX_ROLLOUT_FAIL=1 makes every
// rollout fail (the breaker rolls back); SANDBOX_ALARM=NAME puts an
// alarm in ALARM; DEPLOYKIT_SANDBOX_TIMING=fast
// gives it the tests' timing.
func Start(ctx context.Context, cfg *config.Config, env *config.Environment, getenv func(string) string, out io.Writer) (*Double, error) {
	fake := awsfake.New()
	fake.SetTiming(awsfake.SandboxTiming) // AWS's lags and lifecycles, in seconds
	if getenv("DEPLOYKIT_SANDBOX_TIMING") == "fast" {
		fake.SetTiming(awsfake.TestTiming) // for tests that drive the compiled magefile
	}
	state := StatePath(cfg, env.Name)
	if err := os.MkdirAll(filepath.Dir(state), 0o755); err != nil {
		return nil, err
	}
	if err := fake.Load(state); err != nil {
		return nil, err
	}
	fake.PersistTo(state)
	if env.LocalDatabase != "" {
		db, err := ParseDatabase(cfg, env.LocalDatabase)
		if err != nil {
			return nil, err
		}
		if err := db.Start(ctx, out); err != nil {
			return nil, err
		}
	}
	if env.LocalRedis != "" {
		rd, err := ParseRedis(cfg, env.LocalRedis)
		if err != nil {
			return nil, err
		}
		if err := rd.Start(ctx, out); err != nil {
			return nil, err
		}
	}
	var runEnv []string
	for _, name := range Switches {
		if v := getenv(name); v != "" {
			runEnv = append(runEnv, name+"="+v)
		}
	}
	var rolloutEnv []string
	if v := getenv("SANDBOX_ROLLOUT_FAIL"); v != "" {
		rolloutEnv = []string{"SANDBOX_ROLLOUT_FAIL=" + v}
	}
	runtime, err := NewRuntime(cfg, env, fake, rolloutEnv, out)
	if err != nil {
		return nil, err
	}
	switch {
	case runtime != nil:
		// The tasks really run: a rollout completes when its pods are
		// healthy and fails when they crash (SANDBOX_ROLLOUT_FAIL makes
		// the app raise while it boots). Takes only bounds it.
		fake.SetRollout(func(string, string) awsfake.Rollout {
			return awsfake.Rollout{Takes: 15 * time.Minute, Gated: true}
		})
		runtime.PumpLogs()
	case rolloutEnv != nil:
		// To see a failing rollout without real tasks: the new tasks keep
		// exiting, the circuit breaker marks the deployment FAILED and
		// rolls back.
		fake.SetRollout(func(string, string) awsfake.Rollout {
			return awsfake.Rollout{Takes: 6 * time.Second, Fail: true, FailedTasks: 3, StoppedReason: "Essential container in task exited"}
		})
	}
	// SANDBOX_ALARM=NAME[,NAME]: those CloudWatch alarms are in ALARM, so
	// a deployment that monitors them (the web service's 5xx and latency
	// alarms, as the reference module's rollback_alarms) fails and rolls
	// back.
	for _, name := range strings.Split(getenv("SANDBOX_ALARM"), ",") {
		if name = strings.TrimSpace(name); name != "" {
			fake.SetAlarm(name, true)
			fmt.Fprintf(out, "sandbox: alarm %s is in ALARM (SANDBOX_ALARM)\n", name)
		}
	}
	buildah := image.Buildah{Insecure: true, Driver: getenv("DEPLOYKIT_BUILDAH_DRIVER"), RunEnv: runEnv}
	Reap(ctx, buildah, out)
	fake.Outcome = Outcome(buildah)
	url, srv, err := fake.Listen("127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "sandbox: AWS double at %s (state in %s)\n", url, state)
	return &Double{
		AWS: aws.Config{
			Region:       env.Region,
			Credentials:  credentials.NewStaticCredentialsProvider("sandbox", "sandbox", ""),
			BaseEndpoint: aws.String(url),
		},
		fake: fake, state: state, close: srv.Close, out: out, runtime: runtime,
	}, nil
}

// URL is where the sandbox serves the release (its load balancer), or ""
// when its tasks do not really run.
func (d *Double) URL() string {
	if d.runtime == nil {
		return ""
	}
	return d.runtime.URL()
}

// Reload replaces the double's state with what is saved (what another
// command saved meanwhile): called once the deploy lock is held.
func (d *Double) Reload(ctx context.Context) error {
	if err := d.fake.Reload(d.state); err != nil {
		return err
	}
	if d.runtime != nil && !d.reconciling {
		// Only the lock holder starts and stops tasks: two processes
		// would start the same task twice.
		if err := d.runtime.Reconcile(ctx); err != nil {
			return err
		}
		d.reconciling = true
	}
	return nil
}

// Stop stops serving and saves the state when a call changed it; a
// read-only command never overwrites what another one saved.
func (d *Double) Stop() {
	if d.runtime != nil {
		d.runtime.Close(d.reconciling)
	}
	_ = d.close()
	if !d.fake.Changed() {
		return
	}
	if err := d.fake.Save(d.state); err != nil {
		fmt.Fprintf(d.out, "WARNING: sandbox state not saved: %v\n", err)
	}
}

// EndpointEnv points terraform's AWS calls at the configured endpoint
// (the sandbox's double); nothing for real environments.
func EndpointEnv(awsCfg aws.Config) []string {
	if awsCfg.BaseEndpoint == nil {
		return nil
	}
	return []string{"AWS_ENDPOINT_URL_ECS=" + *awsCfg.BaseEndpoint, "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS=" + *awsCfg.BaseEndpoint}
}

// Serve serves env's double on addr (a free loopback port when empty),
// printing its URL first, until ctx ends or Ctrl-C.
func Serve(ctx context.Context, cfg *config.Config, env *config.Environment, addr string, out io.Writer) error {
	fake := awsfake.New()
	fake.SetTiming(awsfake.SandboxTiming)
	if err := fake.Load(StatePath(cfg, env.Name)); err != nil {
		return err
	}
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	url, srv, err := fake.Listen(addr)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, url)
	fmt.Fprintf(out, "serving ECS and CloudWatch Logs for %s; use AWS_ENDPOINT_URL=%s; Ctrl-C stops\n", env.Name, url)
	ctx, cancel := signal.NotifyContext(ctx, os.Interrupt)
	defer cancel()
	<-ctx.Done()
	return srv.Close()
}

// Down stops the sandbox registries this checkout started; with wipe it
// also deletes every local environment's state: the double's, terraform's,
// the lock and history, saved plans and the registries' images.
func Down(cfg *config.Config, wipe bool, out io.Writer) error {
	regRoot := cfg.LocalDir("registry")
	dirs, _ := filepath.Glob(filepath.Join(regRoot, "*"))
	stopped := 0
	for _, dir := range dirs {
		pid, err := image.StopLocalRegistry(dir)
		if err != nil {
			return err
		}
		if pid != 0 {
			stopped++
			fmt.Fprintf(out, "sandbox: stopped docker-registry (pid %d, %s)\n", pid, dir)
		}
	}
	if stopped == 0 {
		fmt.Fprintln(out, "sandbox: no docker-registry of this checkout is running")
	}
	for _, env := range cfg.Environments {
		if !env.Local || env.LocalDatabase == "" {
			continue
		}
		db, err := ParseDatabase(cfg, env.LocalDatabase)
		if err != nil {
			return err
		}
		pid, err := db.Stop()
		if err != nil {
			return err
		}
		if pid != 0 {
			fmt.Fprintf(out, "sandbox: stopped MariaDB (pid %d, %s)\n", pid, db.Dir)
		}
	}
	for _, env := range cfg.Environments {
		if !env.Local {
			continue
		}
		if env.LocalRedis != "" {
			rd, err := ParseRedis(cfg, env.LocalRedis)
			if err != nil {
				return err
			}
			pid, err := rd.Stop()
			if err != nil {
				return err
			}
			if pid != 0 {
				fmt.Fprintf(out, "sandbox: stopped Redis (pid %d, %s)\n", pid, rd.Dir)
			}
		}
		if env.LocalLoadBalancer != nil {
			h := lb.HAProxy{Dir: cfg.LocalDir(env.Name, "haproxy")}
			pid, err := h.Stop()
			if err != nil {
				return err
			}
			if pid != 0 {
				fmt.Fprintf(out, "sandbox: stopped HAProxy (pid %d, %s)\n", pid, env.LocalLoadBalancer.Listen)
			}
			if err := StopPods(context.Background(), cfg.LocalDir(env.Name, "runtime"), out); err != nil {
				return err
			}
		}
	}
	if !wipe {
		return nil
	}
	wiped := []string{regRoot, cfg.LocalDir("mariadb"), cfg.LocalDir("redis")}
	for _, env := range cfg.Environments {
		if env.Local {
			wiped = append(wiped, cfg.LocalDir(env.Name))
		}
	}
	for _, dir := range wiped {
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("wipe %s: %w", dir, err)
		}
		fmt.Fprintf(out, "sandbox: removed %s\n", dir)
	}
	return nil
}
