package terraform

import (
	"bytes"
	"context"
	"net/http/httptest"

	"github.com/railsecs/deploykit/mage/internal/testtools"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/railsecs/deploykit/mage/awsfake"

	"github.com/railsecs/deploykit/mage/tfvars"
)

// binaries returns tofu (required: .ci/run builds it) and terraform when
// it is on PATH.
func binaries(t *testing.T) map[string]string {
	t.Helper()
	bins := map[string]string{"tofu": testtools.Tofu(t)}
	if p := testtools.Terraform(t); p != "" {
		bins["terraform"] = p
	}
	return bins
}

func copyRoot(t *testing.T, from string) string {
	t.Helper()
	dir := t.TempDir()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() || !(strings.HasSuffix(e.Name(), ".tf") || strings.HasSuffix(e.Name(), ".tfvars")) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestSandboxRootRealApply runs init, plan, show, apply and output for real
// on a copy of the sandbox root, then deploys a new tag through the tfvars
// editor and checks the plan summary and the guard.
func TestSandboxRootRealApply(t *testing.T) {
	for name, bin := range binaries(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			root := copyRoot(t, filepath.Join("..", "..", "terraform", "envs", "sandbox"))
			var out testtools.Buffer
			fake := awsfake.New()
			srv := httptest.NewServer(fake)
			defer srv.Close()
			r := &Runner{Bin: bin, Dir: root, Env: []string{"TF_CLI_CONFIG_FILE=/dev/null", "AWS_ENDPOINT_URL_ECS=" + srv.URL, "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS=" + srv.URL}, Stdout: &out, Stderr: &out}
			state := filepath.Join(root, "state", "terraform.tfstate")
			if err := r.Init(ctx, map[string]string{"path": state}); err != nil {
				t.Fatalf("init: %v\n%s", err, out.String())
			}
			tagsFile := filepath.Join(root, "images.auto.tfvars")
			appPath, _ := tfvars.ParsePath("image_tags.app")
			nginxPath, _ := tfvars.ParsePath("image_tags.nginx")
			for _, p := range []tfvars.Path{appPath, nginxPath} {
				if _, err := tfvars.SetFile(tagsFile, p, "1111111"); err != nil {
					t.Fatal(err)
				}
			}

			planFile := filepath.Join(t.TempDir(), "first.tfplan")
			changed, err := r.Plan(ctx, planFile, nil)
			if err != nil || !changed {
				t.Fatalf("first plan: changed=%v err=%v\n%s", changed, err, out.String())
			}
			plan, err := r.Show(ctx, planFile)
			if err != nil {
				t.Fatal(err)
			}
			s := Summarize(plan)
			if s.Add != 10 || s.Change != 0 || s.Destroy != 0 {
				t.Errorf("first plan summary = %+v, want 10 to add (the cluster, 4 log groups, 3 task definitions, 2 services)", s)
			}
			if len(s.Images) != 4 || s.Images[0].From != "" {
				t.Errorf("first plan images = %+v, want 4 new containers", s.Images)
			}
			if err := GuardImages(s, nil); err != nil {
				t.Errorf("guard refused new containers: %v", err)
			}
			if err := r.Apply(ctx, planFile); err != nil {
				t.Fatalf("apply: %v\n%s", err, out.String())
			}
			if _, err := os.Stat(state); err != nil {
				t.Fatalf("state not written at the backend path: %v", err)
			}
			assertOutputImages(t, r, "1111111")
			assertServiceImage(t, srv.URL, "web-app", "unicorn", "127.0.0.1:5000/shop/app:1111111")

			// Deploy a new app tag: only the app containers change.
			if _, err := tfvars.SetFile(tagsFile, appPath, "2222222"); err != nil {
				t.Fatal(err)
			}
			planFile = filepath.Join(t.TempDir(), "second.tfplan")
			if _, err := r.Plan(ctx, planFile, nil); err != nil {
				t.Fatal(err)
			}
			plan, err = r.Show(ctx, planFile)
			if err != nil {
				t.Fatal(err)
			}
			s = Summarize(plan)
			if s.Add != 5 || s.Destroy != 5 || s.Change != 0 {
				t.Errorf("second plan summary = %+v, want 5 replaced: the 3 task definitions sharing the app image and the 2 services", s)
			}
			var text bytes.Buffer
			s.Write(&text)
			for _, want := range []string{
				`terraform_data.task_definition["web_app"] unicorn: 127.0.0.1:5000/shop/app:1111111 -> 127.0.0.1:5000/shop/app:2222222`,
				`terraform_data.task_definition["sidekiq"] sidekiq: 127.0.0.1:5000/shop/app:1111111 -> 127.0.0.1:5000/shop/app:2222222`,
			} {
				if !strings.Contains(text.String(), want) {
					t.Errorf("summary lacks %q:\n%s", want, text.String())
				}
			}
			if strings.Contains(text.String(), "nginx:") {
				t.Errorf("summary shows an nginx change that the plan does not make:\n%s", text.String())
			}
			if err := GuardImages(s, []string{"2222222"}); err != nil {
				t.Errorf("guard refused the tag being deployed: %v", err)
			}
			var guard *GuardError
			if err := GuardImages(s, []string{"3333333"}); !errors.As(err, &guard) || len(guard.Unexpected) != 3 {
				t.Errorf("guard with another tag = %v, want 3 unexpected changes named", err)
			}
			if err := r.Apply(ctx, planFile); err != nil {
				t.Fatalf("second apply: %v\n%s", err, out.String())
			}
			assertOutputImagesApp(t, r, "2222222", "1111111")
			assertServiceImage(t, srv.URL, "web-app", "unicorn", "127.0.0.1:5000/shop/app:2222222")
			assertServiceImage(t, srv.URL, "sidekiq", "sidekiq", "127.0.0.1:5000/shop/app:2222222")
		})
	}
}

// assertServiceImage asks the double, as the toolkit would ask ECS, which
// image the service's task definition runs after terraform's apply.
func assertServiceImage(t *testing.T, endpoint, service, container, want string) {
	t.Helper()
	client := ecs.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")})
	ctx := context.Background()
	out, err := client.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("shop-sandbox"), Services: []string{service}})
	if err != nil || len(out.Services) != 1 {
		t.Fatalf("describe service %s: %v %+v", service, err, out)
	}
	td, err := client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: out.Services[0].TaskDefinition})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range td.TaskDefinition.ContainerDefinitions {
		if aws.ToString(c.Name) == container {
			if got := aws.ToString(c.Image); got != want {
				t.Errorf("service %s container %s runs %s, want %s", service, container, got, want)
			}
			return
		}
	}
	t.Errorf("service %s has no container %s", service, container)
}

func assertOutputImages(t *testing.T, r *Runner, tag string) {
	t.Helper()
	assertOutputImagesApp(t, r, tag, tag)
}

func assertOutputImagesApp(t *testing.T, r *Runner, appTag, nginxTag string) {
	t.Helper()
	outputs, err := r.Outputs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var images map[string]string
	if err := json.Unmarshal(outputs["images"], &images); err != nil {
		t.Fatalf("images output %s: %v", outputs["images"], err)
	}
	want := map[string]string{
		"nginx":   "127.0.0.1:5000/shop/nginx:" + nginxTag,
		"unicorn": "127.0.0.1:5000/shop/app:" + appTag,
		"sidekiq": "127.0.0.1:5000/shop/app:" + appTag,
		"rails":   "127.0.0.1:5000/shop/app:" + appTag,
	}
	for k, v := range want {
		if images[k] != v {
			t.Errorf("output images[%s] = %q, want %q", k, images[k], v)
		}
	}
}

// TestInterruptReleasesStateLock cancels an apply mid-provisioner and
// checks that terraform shut down gracefully: the call returns the
// context's error and the state lock is free for the next command.
func TestInterruptReleasesStateLock(t *testing.T) {
	for name, bin := range binaries(t) {
		t.Run(name, func(t *testing.T) {
			root := copyRoot(t, filepath.Join("testdata", "interrupt"))
			if err := os.WriteFile(filepath.Join(root, "terraform.tfvars"), []byte("marker = \"one\"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			var out testtools.Buffer
			r := &Runner{Bin: bin, Dir: root, Env: []string{"TF_CLI_CONFIG_FILE=/dev/null"}, Stdout: &out, Stderr: &out, WaitDelay: 30 * time.Second}
			bg := context.Background()
			if err := r.Init(bg, nil); err != nil {
				t.Fatal(err)
			}
			planFile := filepath.Join(root, "p.tfplan")
			if _, err := r.Plan(bg, planFile, nil); err != nil {
				t.Fatal(err)
			}

			ctx, cancel := context.WithCancel(bg)
			done := make(chan error, 1)
			go func() { done <- r.Apply(ctx, planFile) }()
			deadline := time.After(60 * time.Second)
			for !strings.Contains(out.String(), "provisioner-started") {
				select {
				case err := <-done:
					t.Fatalf("apply ended before the provisioner started: %v\n%s", err, out.String())
				case <-deadline:
					t.Fatalf("provisioner never started:\n%s", out.String())
				case <-time.After(50 * time.Millisecond):
				}
			}
			cancel()
			var err error
			select {
			case err = <-done:
			case <-deadline:
				t.Fatalf("apply did not stop after the interrupt:\n%s", out.String())
			}
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("apply error = %v, want context.Canceled", err)
			}
			if !strings.Contains(out.String(), "Interrupt received") {
				t.Errorf("terraform did not report a graceful interrupt:\n%s", out.String())
			}
			if strings.Contains(out.String(), "Two interrupts received") {
				t.Errorf("terraform got a second interrupt:\n%s", out.String())
			}
			// The lock is free: a plan that refuses to wait for it succeeds.
			if _, err := r.Run(bg, "plan", "-input=false", "-lock-timeout=0s", "-no-color"); err != nil {
				t.Fatalf("state still locked after the interrupt: %v", err)
			}
		})
	}
}
