package targets

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/railsecs/deploykit/mage/internal/testtools"
	"github.com/railsecs/deploykit/mage/terraform"
)

// testRepo lays out a repository with deploy.hcl and a copy of the sandbox
// root, and returns a console that reads it.
func testRepo(t *testing.T) (console, *bytes.Buffer, string) {
	t.Helper()
	repo := t.TempDir()
	src, _ := filepath.Abs(filepath.Join("..", ".."))
	root := filepath.Join(repo, "terraform", "envs", "sandbox")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"main.tf", "variables.tf", "images.auto.tfvars"} {
		data, err := os.ReadFile(filepath.Join(src, "terraform", "envs", "sandbox", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	testtools.StandInSandbox(t, repo) // deploy.hcl without the sandbox's MariaDB
	tofu := testtools.Tofu(t)
	env := map[string]string{
		ConfigFileEnv:       filepath.Join(repo, "deploy.hcl"),
		terraform.BinaryEnv: tofu,
	}
	t.Setenv("TF_CLI_CONFIG_FILE", "/dev/null")
	var out bytes.Buffer
	return console{out: &out, in: strings.NewReader(""), getenv: func(k string) string { return env[k] }}, &out, root
}

func TestTfApplyGuardAndConfirmation(t *testing.T) {
	c, out, root := testRepo(t)
	ctx := context.Background()
	tfvarsFile := filepath.Join(root, "images.auto.tfvars")
	state := filepath.Join(root, "..", "..", "..", ".deploykit", "sandbox", "terraform.tfstate")

	if err := c.tfApply(ctx, "sandbox", nil, false, false); err != errNeedsYes {
		t.Fatalf("apply without a terminal or -yes = %v, want errNeedsYes", err)
	}
	if _, err := os.Stat(state); err == nil {
		t.Fatal("state written although nothing was confirmed")
	}
	if err := c.tfApply(ctx, "sandbox", nil, false, true); err != nil {
		t.Fatalf("first apply: %v\n%s", err, out)
	}
	if _, err := os.Stat(state); err != nil {
		t.Fatalf("no state after apply: %v", err)
	}

	out.Reset()
	if err := c.tfvarsSet(tfvarsFile, "image_tags.app", "abc1234"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `image_tags.app: "`) || !strings.Contains(out.String(), `" -> "abc1234"`) {
		t.Errorf("tfvars:set output = %q", out)
	}

	err := c.tfApply(ctx, "sandbox", nil, false, true)
	if err == nil || !strings.Contains(err.Error(), `terraform_data.task_definition["web_app"] unicorn`) {
		t.Fatalf("apply of an unannounced image change = %v, want the guard to name the resource", err)
	}
	other := "fffffff"
	if err := c.tfApply(ctx, "sandbox", &other, false, true); err == nil {
		t.Fatal("apply deploying another tag than the plan's was accepted")
	}

	// On a terminal, anything but "yes" applies nothing.
	c.terminal = true
	c.in = strings.NewReader("y\n")
	tag := "abc1234"
	if err := c.tfApply(ctx, "sandbox", &tag, false, false); err == nil || !strings.Contains(err.Error(), "not confirmed") {
		t.Fatalf("answer 'y' = %v, want not confirmed", err)
	}
	c.in = strings.NewReader("yes\n")
	out.Reset()
	if err := c.tfApply(ctx, "sandbox", &tag, false, false); err != nil {
		t.Fatalf("confirmed apply: %v\n%s", err, out)
	}
	if !strings.Contains(out.String(), "Apply complete") {
		t.Errorf("no apply output streamed:\n%s", out)
	}
	out.Reset()
	if err := c.tfApply(ctx, "sandbox", &tag, false, true); err != nil || !strings.Contains(out.String(), "No changes") {
		t.Fatalf("re-apply = %v\n%s", err, out)
	}
}

func TestBadInputs(t *testing.T) {
	c, _, root := testRepo(t)
	ctx := context.Background()
	latest := "latest"
	if err := c.tfPlan(ctx, "sandbox", &latest, false); err == nil || !strings.Contains(err.Error(), "latest") {
		t.Errorf("-tag=latest = %v", err)
	}
	if err := c.tfPlan(ctx, "prod", nil, false); err == nil || !strings.Contains(err.Error(), `environment "prod" is not defined`) {
		t.Errorf("unknown env = %v", err)
	}
	if err := c.tfvarsSet(filepath.Join(root, "images.auto.tfvars"), "image tags", "x"); err == nil {
		t.Error("bad path accepted")
	}
	if err := c.tfvarsSet(filepath.Join(root, "missing.tfvars"), "a", "x"); err == nil || !strings.Contains(err.Error(), "missing.tfvars") {
		t.Errorf("missing file = %v", err)
	}
}

// TestMageListsTargets runs the zero-install entry point for real.
func TestMageListsTargets(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the magefile")
	}
	cmd := exec.Command("go", "run", "mage.go", "-l")
	cmd.Dir = filepath.Join("..", "..")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go run mage.go -l: %v\n%s", err, out)
	}
	for _, target := range []string{"tfvars:set", "tf:plan", "tf:apply", "config:check"} {
		if !strings.Contains(string(out), "  "+target+" ") {
			t.Errorf("mage -l does not list %s:\n%s", target, out)
		}
	}
}
