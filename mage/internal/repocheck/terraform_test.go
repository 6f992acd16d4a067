// Package repocheck tests the repository's own infrastructure files: the
// terraform module and roots the targets drive.
package repocheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/railsecs/deploykit/mage/config"
	"github.com/railsecs/deploykit/mage/internal/testtools"
	"github.com/railsecs/deploykit/mage/tfvars"
)

var repo, _ = filepath.Abs(filepath.Join("..", "..", ".."))

func tofu(t *testing.T) string { return testtools.Tofu(t) }

// readRepo is a file of the repository, by its slash path from the root.
func readRepo(t *testing.T, rel string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repo, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestTerraformIsFormatted(t *testing.T) {
	bins := map[string]string{"tofu": tofu(t)}
	if p := testtools.Terraform(t); p != "" {
		bins["terraform"] = p
	}
	for name, bin := range bins {
		cmd := exec.Command(bin, "fmt", "-check", "-recursive", "-diff", filepath.Join(repo, "terraform"))
		cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE=/dev/null")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s fmt -check: %v\n%s", name, err, out)
		}
	}
}

// parseDir parses every .tf file of a directory.
func parseDir(t *testing.T, dir string) []*hclsyntax.Body {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no .tf files in %s: %v", dir, err)
	}
	var bodies []*hclsyntax.Body
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		file, diags := hclsyntax.ParseConfig(src, f, hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatalf("%s: %v", f, diags)
		}
		bodies = append(bodies, file.Body.(*hclsyntax.Body))
	}
	return bodies
}

var space = regexp.MustCompile(`\s+`)

// variableTypes returns each variable's type expression, whitespace removed.
func variableTypes(t *testing.T, dir string) map[string]string {
	t.Helper()
	types := map[string]string{}
	for _, body := range parseDir(t, dir) {
		src, _ := os.ReadFile(body.SrcRange.Filename)
		for _, b := range body.Blocks {
			if b.Type != "variable" {
				continue
			}
			typ := "any"
			if a, ok := b.Body.Attributes["type"]; ok {
				r := a.Expr.Range()
				typ = space.ReplaceAllString(string(src[r.Start.Byte:r.End.Byte]), "")
			}
			types[b.Labels[0]] = typ
		}
	}
	return types
}

// TestToolkitVariablesDeclaredEverywhere: every variable the toolkit writes
// (image tags, schedules) is declared in each environment root and the
// module with the same type, and the tfvars files carry exactly the paths
// deploy.hcl names.
func TestToolkitVariablesDeclaredEverywhere(t *testing.T) {
	cfg, err := config.Load(filepath.Join(repo, config.DefaultFile), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	written := []string{"image_tags", "schedules", "cron_service"}
	module := variableTypes(t, filepath.Join(repo, "terraform", "modules", "rails-app"))
	for _, env := range cfg.Environments {
		root := cfg.Path(env.Terraform.Root)
		types := variableTypes(t, root)
		for _, v := range written {
			if types[v] == "" {
				t.Errorf("%s does not declare variable %q", env.Terraform.Root, v)
				continue
			}
			// A root may require what the module leaves optional: the nginx
			// tag, which stacks without an nginx image (Thruster) lack.
			if types[v] != module[v] && types[v] != strings.ReplaceAll(module[v], "optional(string)", "string") {
				t.Errorf("%s: variable %q has type %s, the module has %s", env.Terraform.Root, v, types[v], module[v])
			}
		}
		paths, err := env.TagPaths()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range paths {
			if _, ok := types[p.Path.Name]; !ok {
				t.Errorf("%s: tag path %s names an undeclared variable", env.Name, p.Path)
			}
			_, ok, err := tfvars.GetFile(cfg.Path(env.Terraform.Tfvars), p.Path)
			if err != nil || !ok {
				t.Errorf("%s: %s has no string at %s (%v)", env.Name, env.Terraform.Tfvars, p.Path, err)
				continue
			}
			if !strings.Contains(types[p.Path.Name], p.Path.Key+"=string") {
				t.Errorf("%s: variable %s has no string attribute %q: %s", env.Name, p.Path.Name, p.Path.Key, types[p.Path.Name])
			}
		}
		if _, err := os.Stat(filepath.Join(root, "schedules.auto.tfvars.json")); err != nil {
			t.Errorf("%s: the generated schedules file is missing: %v", env.Name, err)
		}
	}
}

// TestModuleSafetyNets checks the settings whose absence breaks rollback or
// hides failed rollouts.
func TestModuleSafetyNets(t *testing.T) {
	dir := filepath.Join(repo, "terraform", "modules", "rails-app")
	taskDefs, services := 0, 0
	for _, body := range parseDir(t, dir) {
		for _, b := range body.Blocks {
			if b.Type != "resource" {
				continue
			}
			addr := b.Labels[0] + "." + b.Labels[1]
			switch b.Labels[0] {
			case "aws_ecs_task_definition":
				taskDefs++
				a, ok := b.Body.Attributes["skip_destroy"]
				if v, _ := exprValue(a, ok); v != "true" {
					t.Errorf("%s lacks skip_destroy = true: terraform would deregister old revisions and rollback breaks", addr)
				}
				platform := false
				for _, inner := range b.Body.Blocks {
					platform = platform || inner.Type == "runtime_platform"
				}
				if !platform {
					t.Errorf("%s has no runtime_platform: Fargate would assume X86_64 whatever the images are", addr)
				}
			case "aws_ecs_service":
				services++
				for _, inner := range b.Body.Blocks {
					if inner.Type == "lifecycle" {
						if _, ok := inner.Body.Attributes["ignore_changes"]; ok {
							t.Errorf("%s ignores changes (desired_count?) but nothing else (no autoscaling) owns them: changes would be silently dropped", addr)
						}
					}
				}
				var cb *hclsyntax.Block
				for _, inner := range b.Body.Blocks {
					if inner.Type == "deployment_circuit_breaker" {
						cb = inner
					}
				}
				if cb == nil {
					t.Errorf("%s has no deployment_circuit_breaker", addr)
					continue
				}
				for _, attr := range []string{"enable", "rollback"} {
					a, ok := cb.Body.Attributes[attr]
					if v, _ := exprValue(a, ok); v != "true" {
						t.Errorf("%s: deployment_circuit_breaker.%s is not true", addr, attr)
					}
				}
			case "aws_ecr_repository":
				a, ok := b.Body.Attributes["image_tag_mutability"]
				v, _ := exprValue(a, ok)
				if strings.Contains(b.Labels[1], "cache") != (v == "MUTABLE") {
					t.Errorf("%s: image_tag_mutability = %q (release repositories IMMUTABLE, the cache MUTABLE)", addr, v)
				}
			}
		}
	}
	if taskDefs != 4 || services != 3 {
		t.Errorf("found %d task definitions and %d services, want web-app, sidekiq, migrate, cron and 3 services", taskDefs, services)
	}
}

// Nothing is downloaded into an image unchecked: no ADD of a URL (what
// the supercronic download was); supercronic comes from its Go module with
// a pinned hash.
func TestDockerfileDownloadsNothingUnchecked(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repo, "docker", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && strings.EqualFold(f[0], "ADD") && strings.Contains(line, "://") {
			t.Errorf("docker/Dockerfile:%d: ADD of a URL, unchecked: %s", i+1, line)
		}
	}
	if !strings.Contains(string(data), "SUPERCRONIC_H1=h1:") {
		t.Error("docker/Dockerfile: supercronic's module hash is not pinned")
	}
}

// The app image keeps the gems' bootsnap cache the gems stage builds.
func TestDockerfileKeepsTheBootsnapCache(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repo, "docker", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	src := string(data)
	app := src[strings.Index(src, "AS app"):]
	if strings.Contains(src, "bootsnap precompile --gemfile") && !strings.Contains(app, "COPY --from=gems /rails/tmp/cache/bootsnap") {
		t.Error("docker/Dockerfile: the gems stage precompiles bootsnap's cache but the app stage does not copy it")
	}
}

// The release repositories' lifecycle policy never expires a tagged image:
// every tag is a release someone may roll back to.
func TestLifecycleNeverExpiresReleases(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repo, "terraform", "modules", "rails-app", "ecr.tf"))
	if err != nil {
		t.Fatal(err)
	}
	src := string(data)
	release := src[strings.Index(src, "release_lifecycle"):strings.Index(src, `resource "aws_ecr_lifecycle_policy" "app"`)]
	if strings.Contains(release, `tagStatus = "any"`) || strings.Contains(release, `tagStatus = "tagged"`) {
		t.Error("ecr.tf: the release lifecycle policy expires tagged images, which breaks rollbacks")
	}
}

// Schedules run the revision the release applied, never the family's
// latest: one-off tasks register revisions with other images.
func TestSchedulesArePinnedToTheReleasedRevision(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repo, "terraform", "modules", "rails-app", "schedules.tf"))
	if err != nil {
		t.Fatal(err)
	}
	src := string(data)
	if !strings.Contains(src, "task_definition_arn = aws_ecs_task_definition.migrate.arn\n") || strings.Contains(src, "arn_without_revision") {
		t.Error("schedules.tf: the schedules' task_definition_arn must be aws_ecs_task_definition.migrate.arn (the released revision), not the family")
	}
}

func exprValue(a *hclsyntax.Attribute, ok bool) (string, bool) {
	if !ok {
		return "", false
	}
	v, diags := a.Expr.Value(nil)
	if diags.HasErrors() {
		return "", false
	}
	switch {
	case v.Type().FriendlyName() == "bool":
		if v.True() {
			return "true", true
		}
		return "false", true
	case v.Type().FriendlyName() == "string":
		return v.AsString(), true
	}
	return "", false
}

// blockPath finds a nested block by type (a dynamic block by its label).
func blockPath(b *hclsyntax.Block, path ...string) *hclsyntax.Block {
	for _, want := range path {
		var next *hclsyntax.Block
		for _, inner := range b.Body.Blocks {
			if inner.Type == want || inner.Type == "dynamic" && len(inner.Labels) == 1 && inner.Labels[0] == want {
				next = inner
			}
		}
		if next == nil {
			return nil
		}
		b = next
	}
	return b
}

// The web service rolls out by the strategy its variable names (the
// staged ones with the alternate target group, the listener rules and
// the infrastructure role), rolls back on its alarms, and the migration
// task's log driver blocks rather than drop lines.
func TestWebServiceRollsOutByTheChosenStrategy(t *testing.T) {
	dir := filepath.Join(repo, "terraform", "modules", "rails-app")
	var web *hclsyntax.Block
	for _, body := range parseDir(t, dir) {
		for _, b := range body.Blocks {
			if b.Type == "resource" && b.Labels[0] == "aws_ecs_service" && b.Labels[1] == "web_app" {
				web = b
			}
		}
	}
	if web == nil {
		t.Fatal("no aws_ecs_service.web_app")
	}
	src := readRepo(t, "terraform/modules/rails-app/main.tf")
	text := func(b *hclsyntax.Block, attr string) string {
		if b == nil {
			return ""
		}
		if b.Type == "dynamic" {
			b = blockPath(b, "content")
		}
		a, ok := b.Body.Attributes[attr]
		if !ok {
			return ""
		}
		r := a.Expr.Range()
		return string(src[r.Start.Byte:r.End.Byte])
	}
	for _, c := range []struct {
		path      []string
		attr, has string
	}{
		{[]string{"deployment_configuration"}, "strategy", "var.web_deployment.strategy"},
		{[]string{"deployment_configuration"}, "bake_time_in_minutes", "var.web_deployment.bake_time_minutes"},
		{[]string{"deployment_configuration", "canary_configuration"}, "canary_percent", "var.web_deployment.canary_percent"},
		{[]string{"deployment_configuration", "linear_configuration"}, "step_percent", "var.web_deployment.linear_step_percent"},
		{[]string{"alarms"}, "rollback", "true"},
		{[]string{"alarms"}, "alarm_names", "local.web_alarm_names"},
		{[]string{"load_balancer", "advanced_configuration"}, "alternate_target_group_arn", "web_alternate"},
		{[]string{"load_balancer", "advanced_configuration"}, "test_listener_rule", "var.web_deployment.test_listener_rule_arn"},
		{[]string{"load_balancer", "advanced_configuration"}, "role_arn", "aws_iam_role.ecs_infrastructure"},
	} {
		if got := text(blockPath(web, c.path...), c.attr); !strings.Contains(got, c.has) {
			t.Errorf("web_app %s.%s = %q, want it to use %s", strings.Join(c.path, "."), c.attr, got, c.has)
		}
	}
	if !regexp.MustCompile(`svc == "migrate" \? \{ mode = "blocking" \}`).MatchString(src) {
		t.Error("the migrate task's awslogs options lack mode = \"blocking\": a burst of migration output could be dropped")
	}
	vars := readRepo(t, "terraform/modules/rails-app/variables.tf")
	for _, want := range []string{`contains(["ROLLING", "BLUE_GREEN", "CANARY", "LINEAR"], var.web_deployment.strategy)`, "test_listener_rule_arn != \"\""} {
		if !strings.Contains(vars, want) {
			t.Errorf("variables.tf: web_deployment lacks the validation %s", want)
		}
	}
}
