package appinit

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/railsecs/deploykit/mage/appscan"
	"github.com/railsecs/deploykit/mage/config"
	"github.com/railsecs/deploykit/mage/cron"
	"github.com/railsecs/deploykit/mage/iam"
	"github.com/railsecs/deploykit/mage/internal/testtools"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from what init renders")

// The stacks init is tested on, by the golden directory that holds what
// it writes for each. The Rails 6.1 apps are Debian's `rails new`; the
// 7.1 and 8 ones are layouts (Gemfile.lock, config files) whose gems
// cannot be installed here.
var fixtures = map[string]string{
	"rails61-unicorn-sidekiq-whenever-mysql2": "../../examples/sandbox-app",
	"rails61-puma-pg":                         "testdata/apps/rails61-puma-pg",
	"rails71-puma-nginx-sidekiq-trilogy":      "testdata/apps/rails71-puma-sidekiq",
	"rails8-puma-thruster-solid-queue":        "../appscan/testdata/rails8",
}

func render(t *testing.T, app string) ([]File, []string) {
	t.Helper()
	stack, err := appscan.Scan(app)
	if err != nil {
		t.Fatal(err)
	}
	files, notes, err := Render(Options{App: "shop", Stack: stack, ToolkitVersion: "v1.4.0", HealthRoute: routesUp(app)})
	if err != nil {
		t.Fatal(err)
	}
	return files, notes
}

// What init writes for each stack, file by file (go test -update
// rewrites the golden files after a reviewed change).
func TestGolden(t *testing.T) {
	for name, app := range fixtures {
		t.Run(name, func(t *testing.T) {
			files, notes := render(t, app)
			files = append(files, File{Path: "init-notes.txt", Content: []byte(strings.Join(notes, "\n") + "\n")})
			golden := filepath.Join("testdata", "golden", name)
			if *update {
				os.RemoveAll(golden)
				for _, f := range files {
					p := filepath.Join(golden, f.Path)
					os.MkdirAll(filepath.Dir(p), 0o755)
					if err := os.WriteFile(p, f.Content, 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			var want []string
			filepath.WalkDir(golden, func(p string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					rel, _ := filepath.Rel(golden, p)
					want = append(want, filepath.ToSlash(rel))
				}
				return nil
			})
			var got []string
			for _, f := range files {
				got = append(got, f.Path)
				g, err := os.ReadFile(filepath.Join(golden, f.Path))
				if err != nil {
					t.Errorf("%s: no golden file (go test -update writes it): %v", f.Path, err)
					continue
				}
				if !bytes.Equal(g, f.Content) {
					t.Errorf("%s differs from %s (go test -update rewrites it after review)", f.Path, filepath.Join(golden, f.Path))
				}
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("files written:\n got %q\nwant %q", got, want)
			}
		})
	}
}

// What each stack decides, said in words a reviewer can check against
// the stack's own conventions.
func TestStackDecisions(t *testing.T) {
	read := func(name, path string) string {
		t.Helper()
		files, _ := render(t, fixtures[name])
		for _, f := range files {
			if f.Path == path {
				return string(f.Content)
			}
		}
		return ""
	}
	cases := []struct {
		fixture, path string
		has, lacks    []string
	}{
		{"rails61-unicorn-sidekiq-whenever-mysql2", "docker/Dockerfile",
			[]string{`CMD ["bundle", "exec", "unicorn", "-c", "config/unicorn.rb", "-p", "8080"]`, "AS nginx", "AS supercronic", "default-mysql-client"}, nil},
		{"rails61-puma-pg", "docker/Dockerfile", []string{`CMD ["bundle", "exec", "puma", "-C", "config/puma.rb"]`, "postgresql-client", "libpq-dev", "AS nginx"},
			[]string{"supercronic", "mysql"}},
		{"rails61-puma-pg", "deploy.hcl", []string{`containers = { nginx = "nginx", puma = "app" }`}, []string{"local_database", "local_redis", "sidekiq", "cron {"}},
		{"rails71-puma-nginx-sidekiq-trilogy", "deploy.hcl", []string{`command         = ["bin/rails", "db:prepare"]`,
			`"db/analytics_migrate", "db/analytics_schema.rb"`, `local_database = "mysql2://`}, nil},
		{"rails8-puma-thruster-solid-queue", "deploy.hcl", []string{`containers = { puma = "app" }`, `service "jobs"`, `"db/queue_migrate"`, "db:prepare", "config/recurring.yml"},
			[]string{`image "nginx"`, "cron {"}},
		{"rails8-puma-thruster-solid-queue", "docker/Dockerfile", []string{`CMD ["./bin/thrust", "./bin/rails", "server"]`, "EXPOSE 80", "ARG RUBY_VERSION=3.4"},
			[]string{"AS nginx", "supercronic"}},
		{"rails8-puma-thruster-solid-queue", "terraform/envs/staging/main.tf", []string{`"thruster"`, `["./bin/jobs"]`}, []string{"REDIS_URL"}},
	}
	for _, c := range cases {
		text := read(c.fixture, c.path)
		for _, s := range c.has {
			if !strings.Contains(text, s) {
				t.Errorf("%s %s lacks %q", c.fixture, c.path, s)
			}
		}
		for _, s := range c.lacks {
			if strings.Contains(text, s) {
				t.Errorf("%s %s has %q", c.fixture, c.path, s)
			}
		}
	}
}

// materialize lays out the fixture app with init's files in a scratch
// directory, as a team's repository would be after init.
func materialize(t *testing.T, app string) string {
	t.Helper()
	dir := t.TempDir()
	testtools.CopyTree(t, app, dir)
	files, _ := render(t, app)
	// Over what the app has: the example app carries its own .dockerignore.
	if err := Write(dir, files, true, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// config:check reads every deploy.hcl init writes.
func TestDeployHCLLoads(t *testing.T) {
	for name, app := range fixtures {
		dir := materialize(t, app)
		cfg, err := config.Load(filepath.Join(dir, "deploy.hcl"), func(string) string { return "" })
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if r := cfg.Recurring; r != nil {
			if tasks, err := cron.ReadRecurring(cfg.Path(r.File), "production"); err != nil || len(tasks) == 0 {
				t.Errorf("%s: the recurring tasks deploy.hcl names: %v %v", name, tasks, err)
			}
		} else if name == "rails8-puma-thruster-solid-queue" {
			t.Errorf("%s: deploy.hcl has no recurring block", name)
		}
		if got := cfg.EnvNames(); !slices.Equal(got, []string{"production", "sandbox", "staging"}) && !slices.Equal(got, []string{"sandbox", "staging", "production"}) {
			t.Errorf("%s: environments %q", name, got)
		}
	}
}

// The sandbox root of every stack validates with OpenTofu: it has no
// provider, so it initializes offline.
func TestSandboxRootsValidate(t *testing.T) {
	tofu := testtools.Tofu(t)
	for name, app := range fixtures {
		dir := materialize(t, app)
		root := filepath.Join(dir, "terraform", "envs", "sandbox")
		for _, args := range [][]string{{"init", "-backend=false", "-input=false"}, {"validate"}, {"fmt", "-check", "-diff", "-recursive", "../.."}} {
			cmd := exec.Command(tofu, args...)
			cmd.Dir = root
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s: tofu %s: %v\n%s", name, strings.Join(args, " "), err, out)
			}
		}
	}
}

// A second init over an unchanged app writes nothing; one over a file the
// team changed shows the diff and writes nothing at all until -force.
func TestInitNeverOverwrites(t *testing.T) {
	app := fixtures["rails61-puma-pg"]
	dir := materialize(t, app)
	files, _ := render(t, app)
	var out bytes.Buffer
	if err := Write(dir, files, false, &out); err != nil || !strings.Contains(out.String(), "nothing to do") {
		t.Fatalf("second init: %v\n%s", err, out.String())
	}

	// go.mod after `go mod tidy` and the tfvars after a deploy are
	// theirs: init does not call them changed.
	os.WriteFile(filepath.Join(dir, "magefiles", "go.mod"), []byte("module shop/magefiles\n\nrequire github.com/railsecs/deploykit v1.5.0\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "terraform", "envs", "staging", "images.auto.tfvars"), []byte("image_tags = { app = \"abc\" }\n"), 0o644)
	out.Reset()
	if err := Write(dir, files, false, &out); err != nil || !strings.Contains(out.String(), "nothing to do") {
		t.Fatalf("init after go mod tidy and a deploy: %v\n%s", err, out.String())
	}

	dockerfile := filepath.Join(dir, "docker", "Dockerfile")
	mine := []byte("FROM scratch AS app\n")
	os.WriteFile(dockerfile, mine, 0o644)
	os.Remove(filepath.Join(dir, ".dockerignore"))
	out.Reset()
	err := Write(dir, files, false, &out)
	if !errors.Is(err, ErrDiffers) || !strings.Contains(err.Error(), "docker/Dockerfile") {
		t.Fatalf("init over a changed Dockerfile: %v", err)
	}
	if !strings.Contains(out.String(), "-FROM scratch AS app") || !strings.Contains(out.String(), "+# syntax=docker/dockerfile:1") {
		t.Errorf("no diff shown:\n%s", out.String())
	}
	if got, _ := os.ReadFile(dockerfile); !bytes.Equal(got, mine) {
		t.Error("the team's Dockerfile was overwritten without -force")
	}
	if _, err := os.Stat(filepath.Join(dir, ".dockerignore")); err == nil {
		t.Error("a refused init still created .dockerignore: it must write nothing")
	}

	out.Reset()
	if err := Write(dir, files, true, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "overwrote docker/Dockerfile") || !strings.Contains(out.String(), "created .dockerignore") {
		t.Errorf("-force:\n%s", out.String())
	}
}

func TestAppName(t *testing.T) {
	for dir, want := range map[string]string{"Shop": "shop", "my_shop app": "my-shop-app", "--x--": "x"} {
		if got := DefaultAppName(dir); got != want {
			t.Errorf("DefaultAppName(%q) = %q, want %q", dir, got, want)
		}
	}
	if _, _, err := Render(Options{App: "Shop_1"}); err == nil || !strings.Contains(err.Error(), `"Shop_1"`) {
		t.Errorf("bad name: %v", err)
	}
}

// The staging and production roots call the reference module with only
// the variables it declares, and set every one it requires: what `terraform
// validate` would say, which needs the AWS provider this machine cannot
// download.
func TestEnvRootsMatchTheModule(t *testing.T) {
	declared, required := moduleVariables(t, "../../terraform/modules/rails-app")
	for name, app := range fixtures {
		files, _ := render(t, app)
		for _, f := range files {
			if !strings.HasSuffix(f.Path, "/main.tf") || strings.Contains(f.Path, "/sandbox/") {
				continue
			}
			file, diags := hclsyntax.ParseConfig(f.Content, f.Path, hcl.InitialPos)
			if diags.HasErrors() {
				t.Fatalf("%s %s: %v", name, f.Path, diags)
			}
			var module *hclsyntax.Block
			for _, b := range file.Body.(*hclsyntax.Body).Blocks {
				if b.Type == "module" {
					module = b
				}
			}
			if module == nil {
				t.Fatalf("%s %s: no module block", name, f.Path)
			}
			for arg := range module.Body.Attributes {
				if arg != "source" && !declared[arg] {
					t.Errorf("%s %s: the module has no variable %q", name, f.Path, arg)
				}
			}
			for v := range required {
				if _, ok := module.Body.Attributes[v]; !ok {
					t.Errorf("%s %s: the module's required variable %q is not set", name, f.Path, v)
				}
			}
		}
	}
}

func moduleVariables(t *testing.T, dir string) (declared, required map[string]bool) {
	t.Helper()
	declared, required = map[string]bool{}, map[string]bool{}
	paths, _ := filepath.Glob(filepath.Join(dir, "*.tf"))
	for _, p := range paths {
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		file, diags := hclsyntax.ParseConfig(src, p, hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatalf("%s: %v", p, diags)
		}
		for _, b := range file.Body.(*hclsyntax.Body).Blocks {
			if b.Type == "variable" {
				declared[b.Labels[0]] = true
				if _, ok := b.Body.Attributes["default"]; !ok {
					required[b.Labels[0]] = true
				}
			}
		}
	}
	if len(declared) == 0 {
		t.Fatalf("no variables in %s", dir)
	}
	return declared, required
}

// iam:policy renders each stack's deploy policy in the app's repository,
// which holds no copy of the policy module: the services and repositories
// are the stack's.
func TestDeployPolicyRendersForEachStack(t *testing.T) {
	tofu := testtools.Tofu(t)
	want := map[string][]string{
		"rails61-unicorn-sidekiq-whenever-mysql2": {"service/shop-staging/sidekiq", "repository/shop/nginx", "service/shop-staging/cron"},
		"rails61-puma-pg":                         {"service/shop-staging/web-app", "repository/shop/nginx"},
		"rails71-puma-nginx-sidekiq-trilogy":      {"service/shop-staging/sidekiq", "repository/shop/nginx"},
		"rails8-puma-thruster-solid-queue":        {"service/shop-staging/jobs", "repository/shop/app"},
	}
	for name, app := range fixtures {
		dir := materialize(t, app)
		cfg, err := config.Load(filepath.Join(dir, "deploy.hcl"), func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		env, err := cfg.Env("staging")
		if err != nil {
			t.Fatal(err)
		}
		policies, err := iam.Render(context.Background(), tofu, dir, iam.InputsFor(cfg, env))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		deploy := string(policies["deploy"])
		for _, s := range want[name] {
			if !strings.Contains(deploy, s) {
				t.Errorf("%s: the deploy policy does not name %s:\n%s", name, s, deploy)
			}
		}
		if name == "rails8-puma-thruster-solid-queue" && strings.Contains(deploy, "shop/nginx") {
			t.Errorf("%s: the deploy policy names an nginx repository the stack has none of", name)
		}
	}
}
