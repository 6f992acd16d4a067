package release

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/railsecs/deploykit/mage/imageref"
	"github.com/railsecs/deploykit/mage/internal/testtools"
	"github.com/railsecs/deploykit/mage/ledger"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	awsecs "github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/railsecs/deploykit/mage/awsfake"
	"github.com/railsecs/deploykit/mage/config"
	"github.com/railsecs/deploykit/mage/ecs"
	"github.com/railsecs/deploykit/mage/image"
	localsandbox "github.com/railsecs/deploykit/mage/sandbox"
	"github.com/railsecs/deploykit/mage/terraform"
)

var repoRoot, _ = filepath.Abs(filepath.Join("..", ".."))

func gitIn(t testing.TB, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

type sandbox struct {
	env   map[string]string
	repo  string
	fake  *awsfake.Server
	ecs   *awsecs.Client
	store ledger.DirStore
	out   *testtools.Buffer
	d     *Deployer
}

// newSandbox lays out a repository like this one (deploy.hcl, the sandbox
// terraform root, the sandbox app) in git, with the AWS double, a real
// docker-registry, buildah and tofu behind it.
func newSandbox(t testing.TB) *sandbox {
	t.Helper()
	for _, bin := range []string{"buildah", "docker-registry", "curl"} {
		testtools.Need(t, bin)
	}
	repo := t.TempDir()
	testtools.CopyTree(t, filepath.Join(repoRoot, "terraform", "envs", "sandbox"), filepath.Join(repo, "terraform", "envs", "sandbox"))
	testtools.StandInSandbox(t, repo)
	for _, f := range []string{".gitignore"} {
		data, _ := os.ReadFile(filepath.Join(repoRoot, f))
		os.WriteFile(filepath.Join(repo, f), data, 0o644)
	}
	gitIn(t, repo, "init", "-q", "-b", "main")
	gitIn(t, repo, "config", "user.email", "dev@example.com")
	gitIn(t, repo, "config", "user.name", "dev")
	gitIn(t, repo, "add", ".")
	gitIn(t, repo, "commit", "-qm", "sandbox")

	regHost := testtools.Registry(t)

	tofu := testtools.Tofu(t)
	env := map[string]string{"SANDBOX_REGISTRY": regHost, terraform.BinaryEnv: tofu, "CIRCLE_BRANCH": "main"}
	getenv := func(k string) string { return env[k] }
	cfg, err := config.Load(filepath.Join(repo, "deploy.hcl"), getenv)
	if err != nil {
		t.Fatal(err)
	}
	fake := awsfake.New()
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	awsCfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")}
	out := &testtools.Buffer{}
	sandboxEnv, err := cfg.Env("sandbox")
	if err != nil {
		t.Fatal(err)
	}
	ws, err := Open(context.Background(), cfg, sandboxEnv, out, getenv)
	if err != nil {
		t.Fatal(err)
	}
	ws.TF.Env = []string{"TF_CLI_CONFIG_FILE=/dev/null", "AWS_ENDPOINT_URL_ECS=" + srv.URL}
	store := ledger.DirStore{Dir: filepath.Join(repo, ".deploykit", "sandbox", "store")}
	client := awsecs.NewFromConfig(awsCfg)
	d := &Deployer{Config: cfg, Env: sandboxEnv, WS: ws, ECS: client, Logs: cloudwatchlogs.NewFromConfig(awsCfg),
		Store: store, Out: out, Getenv: getenv, Who: "alice@laptop", From: "laptop"}
	return &sandbox{env: env, repo: repo, fake: fake, ecs: client, store: store, out: out, d: d}
}

func (s *sandbox) commit(t testing.TB, file, content string) {
	t.Helper()
	p := filepath.Join(s.repo, file)
	os.MkdirAll(filepath.Dir(p), 0o755)
	os.WriteFile(p, []byte(content), 0o644)
	gitIn(t, s.repo, "add", ".")
	gitIn(t, s.repo, "commit", "-qm", "change "+file)
}

func (s *sandbox) serviceTag(t testing.TB, service string) string {
	t.Helper()
	ctx := context.Background()
	out, err := s.ecs.DescribeServices(ctx, &awsecs.DescribeServicesInput{Cluster: aws.String("shop-sandbox"), Services: []string{service}})
	if err != nil || len(out.Services) == 0 {
		return ""
	}
	td, err := s.ecs.DescribeTaskDefinition(ctx, &awsecs.DescribeTaskDefinitionInput{TaskDefinition: out.Services[0].TaskDefinition})
	if err != nil {
		t.Fatal(err)
	}
	return imageref.TagOf(aws.ToString(td.TaskDefinition.ContainerDefinitions[len(td.TaskDefinition.ContainerDefinitions)-1].Image))
}

func (s *sandbox) tfvars(t testing.TB) string {
	data, err := os.ReadFile(filepath.Join(s.repo, "terraform", "envs", "sandbox", "images.auto.tfvars"))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestSandboxDeployLifecycle(t *testing.T) {
	s := newSandbox(t)
	ctx := context.Background()
	origTfvars := s.tfvars(t)

	// Dry run: every check and the plan, nothing changed.
	if _, err := s.d.Deploy(ctx, Options{DryRun: true}); err != nil {
		t.Fatalf("dry run: %v\n%s", err, s.out)
	}
	if s.tfvars(t) != origTfvars {
		t.Error("dry run changed the tfvars")
	}
	if keys, _ := s.store.List(ctx, ""); len(keys) != 0 {
		t.Errorf("dry run left %v in the store", keys)
	}
	if s.serviceTag(t, "web-app") != "" {
		t.Error("dry run created services")
	}
	if !strings.Contains(s.out.String(), "would run: buildah") {
		t.Errorf("dry run did not print the build commands:\n%s", s.out)
	}

	// First deploy: builds, applies, migrates after (the task definition
	// does not exist before the first apply), records.
	s.out.Reset()
	rec, err := s.d.Deploy(ctx, Options{Timeout: time.Minute})
	if err != nil {
		t.Fatalf("deploy: %v\n%s", err, s.out)
	}
	first := rec.Tag
	if got := s.serviceTag(t, "web-app"); got != first {
		t.Errorf("web-app runs %q, want %q", got, first)
	}
	if !rec.Migrated || !strings.Contains(s.out.String(), "first deploy") {
		t.Errorf("first deploy did not migrate after the apply:\n%s", s.out)
	}
	// The tfvars pin each image to its digest: a moved tag cannot change
	// what runs.
	appRef, _ := imageref.ParseRef(rec.Images["app"])
	if appRef.Digest == "" || !strings.Contains(s.tfvars(t), `app   = "`+first+"@"+appRef.Digest+`"`) || !strings.Contains(s.tfvars(t), "# unicorn, sidekiq and the migrate task run this image") {
		t.Errorf("tfvars not rewritten in place with the digest %s:\n%s", appRef.Digest, s.tfvars(t))
	}

	// Same commit again: no build, no migration.
	s.out.Reset()
	if _, err := s.d.Deploy(ctx, Options{Timeout: time.Minute}); err != nil {
		t.Fatalf("redeploy: %v\n%s", err, s.out)
	}
	if strings.Count(s.out.String(), "already in the registry") != 2 || !strings.Contains(s.out.String(), "migration: skipped (the deployed release is this commit)") {
		t.Errorf("redeploy rebuilt or migrated:\n%s", s.out)
	}

	// Lock held by someone else: refused with the holder named; with
	// -lockwait it goes through once they let go.
	other := ledger.Lock{Env: "sandbox", Holder: "https://circleci.com/gh/shop/app/123", Commit: "abc", Action: "deploy", Started: time.Now()}
	release, err := ledger.AcquireLock(ctx, s.store, other, 0, s.out)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.d.Deploy(ctx, Options{})
	var locked *ledger.LockedError
	if !errors.As(err, &locked) || !strings.Contains(err.Error(), "circleci.com/gh/shop/app/123") {
		t.Fatalf("deploy under someone else's lock = %v", err)
	}
	if err := ledger.ReleaseLock(ctx, s.store, "alice@laptop", false); err == nil {
		t.Error("released someone else's lock without -force")
	}
	time.AfterFunc(time.Second, release)
	if _, err := s.d.Deploy(ctx, Options{LockWait: 20 * time.Second, Timeout: time.Minute}); err != nil {
		t.Fatalf("deploy with -lockwait: %v", err)
	}

	// A failing migration stops the deploy before the services switch.
	s.commit(t, "examples/sandbox-app/db/migrate/20261120000000_add_state.rb", "class AddState < ActiveRecord::Migration[8.0]; end\n")
	s.fake.Outcome = func(req awsfake.RunRequest) awsfake.Outcome {
		return awsfake.Outcome{PendingFor: 50 * time.Millisecond, RunFor: 200 * time.Millisecond, ExitCode: 1, Logs: []string{"Mysql2::Error: Table 'orders' already exists"}}
	}
	s.out.Reset()
	_, err = s.d.Deploy(ctx, Options{Timeout: time.Minute})
	var te *ecs.TaskError
	if !errors.As(err, &te) || te.ExitCode != 1 || !strings.Contains(err.Error(), "ran and exited 1: migrations it applied before failing stay applied") ||
		!strings.Contains(err.Error(), "terraform applied nothing") || !strings.Contains(err.Error(), "unicorn="+first) {
		t.Fatalf("failed migration = %v\n%s", err, s.out)
	}
	if s.serviceTag(t, "web-app") != first || !strings.Contains(s.tfvars(t), first) {
		t.Errorf("a failed migration changed services or tfvars")
	}
	s.fake.Outcome = nil

	// The circuit breaker rolls back the rollout: a failed deploy, with
	// the stopped reasons and the events shown.
	s.commit(t, "examples/sandbox-app/app/models/order.rb", "class Order < ApplicationRecord; def total; end; end\n")
	s.fake.SetRollout(func(service, td string) awsfake.Rollout {
		return awsfake.Rollout{Takes: 500 * time.Millisecond, Fail: true, FailedTasks: 3, StoppedReason: "Essential container in task exited"}
	})
	s.out.Reset()
	broken, err := s.d.Deploy(ctx, Options{Migrate: "never", Timeout: time.Minute})
	var re *ecs.RolloutError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "rolled it back") || !strings.Contains(err.Error(), "3x Essential container in task exited") ||
		!strings.Contains(err.Error(), "rolling back to deployment") {
		t.Fatalf("circuit-breaker rollback = %v\n%s", err, s.out)
	}
	// terraform applied the new tag: the tfvars keep it, so the next plan is
	// clean, and the report says what actually runs.
	if !strings.Contains(s.tfvars(t), broken.Tag) || !strings.Contains(err.Error(), "keeps "+broken.Tag+", which terraform applied") ||
		!strings.Contains(err.Error(), "terraform applied "+broken.Tag) || !broken.Applied {
		t.Errorf("after the failed rollout: tfvars\n%s\nreport %v", s.tfvars(t), err)
	}
	// Ctrl-C during a slow rollout, as soon as the wait begins (before ECS
	// shows the new service deployments), rolls it back in flight: ECS
	// returns the services to what ran, the record says so, the lock is
	// free.
	s.commit(t, "examples/sandbox-app/app/models/order.rb", "class Order < ApplicationRecord; def subtotal; end; end\n")
	s.fake.SetRollout(func(string, string) awsfake.Rollout { return awsfake.Rollout{Takes: time.Hour} })
	s.out.Reset()
	cctx, cancel := context.WithCancel(ctx)
	go func() {
		// The deploy builds first: on a loaded CI machine that alone
		// took a minute.
		for deadline := time.Now().Add(10 * time.Minute); time.Now().Before(deadline) && !strings.Contains(s.out.String(), "=== wait for services"); {
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
	}()
	slow, err := s.d.Deploy(cctx, Options{Migrate: "never", Timeout: time.Minute})
	cancel()
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "rolled back in flight with StopServiceDeployment ROLLBACK") || slow.Result != "interrupted" {
		t.Fatalf("a deploy interrupted during its rollout = %v (%s)\n%s", err, slow.Result, s.out)
	}
	if hist, _ := ledger.History(ctx, s.store); !strings.Contains(hist[0].Error, "rolled back in flight") {
		t.Errorf("the record does not say the rollout was rolled back: %q", hist[0].Error)
	}
	s.fake.SetRollout(nil)
	if err := ecs.WaitServices(ctx, s.ecs, "shop-sandbox", []string{"web-app", "sidekiq"}, first, io.Discard, ecs.WaitOptions{Timeout: time.Minute, Poll: 50 * time.Millisecond}); err != nil {
		t.Errorf("after the rollback in flight the services should run %s again: %v", first, err)
	}
	if _, err := ledger.ReadLock(ctx, s.store); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("lock left behind after an interrupted rollout: %v", err)
	}

	// Rollback: to the previous successful release.
	s.commit(t, "examples/sandbox-app/app/models/order.rb", "class Order < ApplicationRecord; def total_cents; end; end\n")
	second, err := s.d.Deploy(ctx, Options{Migrate: "never", Timeout: time.Minute})
	if err != nil {
		t.Fatalf("deploy of a second commit: %v\n%s", err, s.out)
	}
	s.out.Reset()
	rb, err := s.d.Rollback(ctx, Options{Timeout: time.Minute})
	if err != nil {
		t.Fatalf("rollback: %v\n%s", err, s.out)
	}
	if rb.Tag != first || s.serviceTag(t, "web-app") != first || s.serviceTag(t, "sidekiq") != first {
		t.Errorf("rollback from %s went to %s; services run %s", second.Tag, rb.Tag, s.serviceTag(t, "web-app"))
	}
	if strings.Contains(s.out.String(), "STEP") || strings.Contains(s.out.String(), "=== migrate") {
		t.Errorf("rollback built or migrated:\n%s", s.out)
	}
	hist, _ := ledger.History(ctx, s.store)
	if len(hist) < 5 || hist[0].Action != "rollback" || hist[0].Result != "succeeded" {
		t.Errorf("history = %+v", hist)
	}
	if _, err := ledger.ReadLock(ctx, s.store); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("lock left behind: %v", err)
	}
	// Every call of the lifecycle, the sandbox terraform's included, must be
	// allowed by the deploy policy a real environment would get.
	checkDeployPolicy(t, s)
}

// TestInterruptMidMigration cancels a deploy while its migration runs: the
// task is stopped, the services and tfvars are untouched, the lock is free.
func TestInterruptMidMigration(t *testing.T) {
	s := newSandbox(t)
	ctx := context.Background()
	if _, err := s.d.Deploy(ctx, Options{Timeout: time.Minute}); err != nil {
		t.Fatalf("first deploy: %v\n%s", err, s.out)
	}
	first := s.serviceTag(t, "web-app")
	before := s.tfvars(t)
	s.commit(t, "examples/sandbox-app/db/migrate/20261121000000_slow.rb", "class Slow < ActiveRecord::Migration[8.0]; end\n")
	s.fake.Outcome = func(awsfake.RunRequest) awsfake.Outcome {
		return awsfake.Outcome{PendingFor: 50 * time.Millisecond, RunFor: time.Hour, Logs: []string{"== Slow: migrating"}}
	}
	s.out.Reset()
	cctx, cancel := context.WithCancel(ctx)
	go func() {
		for !strings.Contains(s.out.String(), "started task") {
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond)
		cancel()
	}()
	_, err := s.d.Deploy(cctx, Options{Timeout: time.Minute})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "was interrupted and stopped: migrations it completed stay applied") ||
		!strings.Contains(err.Error(), "unicorn="+first) || !strings.Contains(err.Error(), "interrupted at migrate") {
		t.Fatalf("interrupted deploy = %v\n%s", err, s.out)
	}
	if !strings.Contains(s.out.String(), "stopping task") {
		t.Errorf("the migration task was not stopped:\n%s", s.out)
	}
	list, _ := s.ecs.ListTasks(ctx, &awsecs.ListTasksInput{Cluster: aws.String("shop-sandbox"), StartedBy: aws.String(ecs.MigrateMarker)})
	if len(list.TaskArns) != 0 {
		t.Errorf("migration still running: %v", list.TaskArns)
	}
	if s.serviceTag(t, "web-app") != first || s.tfvars(t) != before {
		t.Error("an interrupted migration changed services or tfvars")
	}
	if _, err := ledger.ReadLock(ctx, s.store); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("lock left behind after Ctrl-C: %v", err)
	}
}

// BenchmarkDeployOverhead measures the toolkit's own time in a sandbox
// deploy whose images are already in the registry and whose AWS double
// answers at once: total wall time minus the time spent in terraform/tofu
// processes. It alternates between two commits that were deployed (and so
// built) before timing starts, so every deploy applies a real change.
//
//	go test ./mage/release -run '^$' -bench DeployOverhead -benchtime 6x
func BenchmarkDeployOverhead(b *testing.B) {
	s := newSandbox(b)
	ctx := context.Background()
	s.fake.SetRollout(func(string, string) awsfake.Rollout { return awsfake.Rollout{} })
	var shas []string
	for i := 0; i < 2; i++ {
		if i == 1 {
			s.commit(b, "examples/sandbox-app/app/models/order.rb", "class Order < ApplicationRecord; REV = 2; end\n")
		}
		if _, err := s.d.Deploy(ctx, Options{Timeout: time.Minute}); err != nil {
			b.Fatalf("warm-up deploy: %v\n%s", err, s.out)
		}
		out, _ := exec.Command("git", "-C", s.repo, "rev-parse", "HEAD").Output()
		shas = append(shas, strings.TrimSpace(string(out)))
	}
	var overhead, tf, total time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		gitIn(b, s.repo, "checkout", "-q", "-f", shas[i%2])
		s.out.Reset()
		s.d.WS.TF.Elapsed = 0
		b.StartTimer()
		start := time.Now()
		rec, err := s.d.Deploy(ctx, Options{Timeout: time.Minute})
		wall := time.Since(start)
		if err != nil {
			b.Fatalf("deploy: %v\n%s", err, s.out)
		}
		if strings.Contains(s.out.String(), "STEP") || rec.Migrated {
			b.Fatalf("deploy built or migrated; the benchmark needs images present:\n%s", s.out)
		}
		total += wall
		tf += s.d.WS.TF.Elapsed
		overhead += wall - s.d.WS.TF.Elapsed
	}
	n := time.Duration(b.N)
	b.ReportMetric((overhead / n).Seconds(), "s/overhead")
	b.ReportMetric((tf / n).Seconds(), "s/terraform")
	fmt.Printf("sandbox deploy with images present: wall %.2fs, terraform/tofu processes %.2fs, toolkit overhead %.3fs per deploy (%d deploys)\n",
		(total / n).Seconds(), (tf / n).Seconds(), (overhead / n).Seconds(), b.N)
}

// TestSandboxTasksRunInTheImage: with buildah present, the sandbox's
// one-off tasks run their command inside the image that was built; the
// output is the task's log and the exit status its exit code.
func TestSandboxTasksRunInTheImage(t *testing.T) {
	s := newSandbox(t)
	ctx := context.Background()
	s.fake.Outcome = localsandbox.Outcome(image.Buildah{Insecure: true})
	rec, err := s.d.Deploy(ctx, Options{Timeout: time.Minute})
	if err != nil {
		t.Fatalf("deploy: %v\n%s", err, s.out)
	}
	if !rec.Migrated || !strings.Contains(s.out.String(), "| == 20261101000000_create_orders: migrating") {
		t.Fatalf("the migration did not run bin/rails db:migrate in the image:\n%s", s.out)
	}
	s.out.Reset()
	runner := &ecs.Runner{ECS: s.ecs, Logs: s.d.Logs, Out: s.out, PollStart: 100 * time.Millisecond}
	_, err = runner.Run(ctx, ecs.Spec{Cluster: "shop-sandbox", TaskDefinition: "shop-sandbox-migrate", Container: "rails",
		Command: []string{"/bin/sh", "-c", "echo checking orders; ls /rails/db/migrate; exit 3"}, NetworkFrom: "web-app", Marker: "test"}, ecs.RunOptions{})
	var te *ecs.TaskError
	if !errors.As(err, &te) || te.ExitCode != 3 {
		t.Fatalf("exit 3 in the image = %v\n%s", err, s.out)
	}
	if !strings.Contains(s.out.String(), "| checking orders") || !strings.Contains(s.out.String(), "| 20261101000000_create_orders.rb") {
		t.Errorf("the command's output is not the task's log:\n%s", s.out)
	}
}

// TestApplyFailureAndNotifications: a failing apply restores the tfvars
// and says what is live; the webhook hears start, success and failure, and
// a webhook that fails never fails a deploy.
func TestApplyFailureAndNotifications(t *testing.T) {
	s := newSandbox(t)
	ctx := context.Background()
	var mu sync.Mutex
	var messages []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Text string }
		_ = json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		messages = append(messages, body.Text)
		mu.Unlock()
	}))
	defer hook.Close()
	s.env["DEPLOYKIT_SLACK_WEBHOOK"] = hook.URL
	if _, err := s.d.Deploy(ctx, Options{Timeout: time.Minute}); err != nil {
		t.Fatalf("deploy: %v\n%s", err, s.out)
	}
	first := s.serviceTag(t, "web-app")
	mu.Lock()
	if len(messages) != 2 || !strings.Contains(messages[0], "alice@laptop started deploying "+first) || !strings.Contains(messages[1], "succeeded") {
		t.Errorf("notifications = %q", messages)
	}
	mu.Unlock()

	// The apply fails: the double refuses RegisterTaskDefinition.
	s.commit(t, "examples/sandbox-app/app/models/order.rb", "class Order < ApplicationRecord; APPLY = :fails; end\n")
	before := s.tfvars(t)
	s.fake.Throttle("RegisterTaskDefinition", 1000)
	s.out.Reset()
	_, err := s.d.Deploy(ctx, Options{Migrate: "never", Timeout: time.Minute})
	if err == nil || !strings.Contains(err.Error(), "failed at apply") || !strings.Contains(err.Error(), "terraform applied nothing") ||
		!strings.Contains(err.Error(), "unicorn="+first) || !strings.Contains(err.Error(), "restored (nothing was applied)") {
		t.Fatalf("failed apply = %v\n%s", err, s.out)
	}
	if s.tfvars(t) != before || s.serviceTag(t, "web-app") != first {
		t.Error("a failed apply left the tfvars or the services changed")
	}
	mu.Lock()
	if last := messages[len(messages)-1]; !strings.Contains(last, "failed") {
		t.Errorf("no failure notification: %q", messages)
	}
	mu.Unlock()
	s.fake.Throttle("RegisterTaskDefinition", 0)

	// A webhook that answers 500 is only a warning.
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) }))
	defer broken.Close()
	s.env["DEPLOYKIT_SLACK_WEBHOOK"] = broken.URL
	s.out.Reset()
	if _, err := s.d.Deploy(ctx, Options{Migrate: "never", Timeout: time.Minute}); err != nil {
		t.Fatalf("deploy with a broken webhook: %v\n%s", err, s.out)
	}
	if !strings.Contains(s.out.String(), "not sent: webhook answered 500") {
		t.Errorf("no warning about the webhook:\n%s", s.out)
	}
}

// After the first release, the preflight refuses a deploy to an
// environment whose configured service does not exist (a typo in
// deploy.hcl, a service deleted by hand), before taking the lock.
func TestPreflightRefusesAMissingService(t *testing.T) {
	s := newSandbox(t)
	ctx := context.Background()
	if _, err := s.d.Deploy(ctx, Options{Timeout: time.Minute}); err != nil {
		t.Fatalf("first deploy: %v\n%s", err, s.out)
	}
	env := *s.d.Env
	env.Services = append(append([]*config.Service{}, env.Services...), &config.Service{Name: "ghost"})
	s.d.Env = &env
	before := s.tfvars(t)
	s.out.Reset()
	_, err := s.d.Deploy(ctx, Options{Timeout: time.Minute})
	if err == nil || !strings.Contains(err.Error(), "failed at preflight") || !strings.Contains(err.Error(), "service ghost: not found in shop-sandbox") {
		t.Fatalf("deploy with a missing service = %v\n%s", err, s.out)
	}
	if s.tfvars(t) != before {
		t.Error("the refused deploy changed the tfvars")
	}
	if _, err := ledger.ReadLock(ctx, s.store); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("lock after the refusal: %v", err)
	}
}

// -wait=stable waits for our deployment and nothing else; -wait=none
// returns once the apply is done, with the services still rolling out.
func TestDeployWaitModes(t *testing.T) {
	s := newSandbox(t)
	ctx := context.Background()
	if _, err := s.d.Deploy(ctx, Options{Wait: ecs.UntilStable, Timeout: time.Minute}); err != nil {
		t.Fatalf("deploy -wait=stable: %v\n%s", err, s.out)
	}
	if !strings.Contains(s.out.String(), "web-app: done 2/2") {
		t.Errorf("the stable wait did not end with every service done:\n%s", s.out)
	}
	s.commit(t, "examples/sandbox-app/app/models/order.rb", "class Order; end\n")
	s.fake.SetRollout(func(string, string) awsfake.Rollout { return awsfake.Rollout{Takes: 3 * time.Second} })
	// The double's clock stands still until the test moves it: the rollout
	// cannot finish before deploy returns, however slow this machine is.
	var mu sync.Mutex
	clock := time.Now()
	s.fake.SetClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return clock })
	defer s.fake.SetClock(nil)
	s.out.Reset()
	rec, err := s.d.Deploy(ctx, Options{Wait: WaitNone, Migrate: "never"})
	if err != nil {
		t.Fatalf("deploy -wait=none: %v\n%s", err, s.out)
	}
	if !strings.Contains(s.out.String(), "not waiting for the rollout (-wait=none)") || strings.Contains(s.out.String(), "wait for services") {
		t.Errorf("-wait=none still waited:\n%s", s.out)
	}
	svc, err := s.ecs.DescribeServices(ctx, &awsecs.DescribeServicesInput{Cluster: aws.String("shop-sandbox"), Services: []string{"web-app"}})
	if err != nil {
		t.Fatal(err)
	}
	if d := svc.Services[0].Deployments; len(d) == 0 || d[0].RolloutState == "COMPLETED" && len(d) == 1 && s.serviceTag(t, "web-app") == rec.Tag {
		t.Errorf("the rollout had finished before deploy returned: %+v", d)
	}
	// Time moves on and the rollout deploy left behind completes.
	mu.Lock()
	clock = clock.Add(time.Minute)
	mu.Unlock()
	svc, err = s.ecs.DescribeServices(ctx, &awsecs.DescribeServicesInput{Cluster: aws.String("shop-sandbox"), Services: []string{"web-app"}})
	if err != nil {
		t.Fatal(err)
	}
	if d := svc.Services[0].Deployments; len(d) != 1 || d[0].RolloutState != "COMPLETED" || s.serviceTag(t, "web-app") != rec.Tag {
		t.Errorf("a minute later the rollout of %s has not completed: %+v", rec.Tag, d)
	}
}

// The sandbox deployed through real BuildKit (buildx with a remote
// builder) instead of buildah: built, pushed with digests, deployed.
func TestSandboxDeployWithRealBuildKit(t *testing.T) {
	s := newSandbox(t)
	bin, builder := testtools.BuildKit(t, s.env["SANDBOX_REGISTRY"])
	s.env["DEPLOYKIT_BUILDX"] = bin
	s.d.Config.Build.BuildxBuilder = builder
	s.d.Env.Builder = "buildx"
	rec, err := s.d.Deploy(context.Background(), Options{Timeout: time.Minute})
	if err != nil {
		t.Fatalf("deploy with buildx: %v\n%s", err, s.out)
	}
	if !strings.Contains(s.out.String(), "builder: buildx (builder "+builder+")") || !strings.Contains(s.out.String(), "[app] #") {
		t.Errorf("not built by BuildKit:\n%s", s.out)
	}
	for name, ref := range rec.Images {
		if !strings.Contains(ref, "@sha256:") {
			t.Errorf("image %s recorded without a digest: %s", name, ref)
		}
	}
	if got := s.serviceTag(t, "web-app"); got != rec.Tag {
		t.Errorf("web-app runs %s, want %s", got, rec.Tag)
	}
}
