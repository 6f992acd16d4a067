// Package railsnew tests adoption end to end: a fresh `rails new` app
// (Debian's Rails 6.1), outside this repository, gets its files from
// `init`, is committed, and deploys to its own sandbox with the toolkit
// taken as a Go module, then serves through its load balancer.
package railsnew

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/railsecs/deploykit/mage/internal/testtools"
	"github.com/railsecs/deploykit/mage/targets"
)

type app struct {
	t   *testing.T
	dir string
	env []string
}

// run runs a command in the app and returns its output; it fails the
// test when the command fails.
func (a *app) run(name string, args ...string) string {
	a.t.Helper()
	out, err := a.try(name, args...)
	if err != nil {
		a.t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, testtools.Tail(out, 60))
	}
	return out
}

func (a *app) try(name string, args ...string) (string, error) {
	start := time.Now()
	cmd := exec.Command(name, args...)
	cmd.Dir, cmd.Env = a.dir, a.env
	out, err := cmd.CombinedOutput()
	a.t.Logf("%s %s: %s (%v)", name, strings.Join(args, " "), time.Since(start).Round(time.Second), err)
	return string(out), err
}

func (a *app) edit(file string, edit func(string) string) {
	a.t.Helper()
	p := filepath.Join(a.dir, file)
	data, err := os.ReadFile(p)
	if err != nil && !os.IsNotExist(err) {
		a.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(edit(string(data))), 0o644); err != nil {
		a.t.Fatal(err)
	}
}

// newApp is where `rails new` will make the app, with the environment
// its commands run in: the test's registry, git's identity.
func newApp(t *testing.T, tools ...string) *app {
	for _, bin := range append([]string{"rails", "bundle", "buildah", "mmdebstrap", "docker-registry"}, tools...) {
		testtools.Need(t, bin)
	}
	return &app{t: t, dir: filepath.Join(t.TempDir(), "shop"),
		env: append(os.Environ(), "SANDBOX_REGISTRY="+testtools.Registry(t), "CI=", "TF_CLI_CONFIG_FILE=/dev/null",
			"GIT_AUTHOR_NAME=dev", "GIT_AUTHOR_EMAIL=dev@example.com", "GIT_COMMITTER_NAME=dev", "GIT_COMMITTER_EMAIL=dev@example.com")}
}

// railsNew runs `rails new` as a team on Debian's Rails 6.1 would, with
// the database given, no JavaScript toolchain and none of the frameworks
// these apps leave out; gemfile edits the Gemfile. The development and
// test groups' gems are not installed here, and the lock is resolved from
// the installed gems (Debian's, as in the sandbox's base image).
func (a *app) railsNew(database string, gemfile func(string) string) {
	a.t.Helper()
	parent := &app{t: a.t, dir: filepath.Dir(a.dir), env: a.env}
	parent.run("rails", "new", "shop", "--skip-bundle", "--skip-javascript", "--skip-webpack-install", "--skip-spring", "--skip-listen",
		"--skip-test", "--skip-system-test", "--skip-action-mailbox", "--skip-action-text", "--skip-active-storage", "--skip-action-cable",
		"--skip-jbuilder", "--skip-turbolinks", "-d", database)
	a.edit("Gemfile", func(s string) string {
		return regexp.MustCompile(`(?s)group :development(, :test)? do\n.*?\nend\n`).ReplaceAllString(gemfile(s), "")
	})
	a.run("bundle", "lock", "--local")
}

// init runs init from this checkout in the app.
func (a *app) init(root string) string {
	a.t.Helper()
	return a.run("go", "-C", root, "run", "./cmd/init", "-dir", a.dir, "-replace", root)
}

func TestARailsNewAppDeploysAfterInit(t *testing.T) {
	a := newApp(t, "podman", "slirp4netns", "haproxy", "redis-server", "mariadbd")
	root := testtools.RepoRoot(t)

	// The team's stack: unicorn for puma, sidekiq, whenever.
	a.railsNew("mysql", func(s string) string {
		return strings.Replace(s, "gem 'puma', '~> 5.0'\n", "gem 'unicorn', '~> 6.0'\ngem 'sidekiq', '~> 6.4'\ngem 'whenever', '~> 1.0', require: false\n", 1)
	})
	unicorn, err := os.ReadFile(filepath.Join(root, "examples", "sandbox-app", "config", "unicorn.rb"))
	if err != nil {
		t.Fatal(err)
	}
	a.edit("config/unicorn.rb", func(string) string { return string(unicorn) })
	a.edit("config/schedule.rb", func(string) string {
		return "every 1.day, at: \"4:30 am\" do\n  runner \"Rails.logger.info(%q(nightly))\"\nend\n"
	})

	// init, with the toolkit from this checkout.
	initOut := a.init(root)
	for _, want := range []string{"Rails 6.1.7.10, unicorn, sidekiq, whenever, mysql2, sprockets", "created deploy.hcl", "created magefiles/go.mod",
		"created docker/Dockerfile", "created terraform/envs/sandbox/main.tf", "has no /up route"} {
		if !strings.Contains(initOut, want) {
			t.Errorf("init's output lacks %q:\n%s", want, initOut)
		}
	}
	// What init's note asks for: Rails 6.1 has no health route.
	a.edit("config/routes.rb", func(s string) string {
		return strings.Replace(s, "routes.draw do\n", "routes.draw do\n  get \"up\" => proc { [200, {}, [\"ok\"]] }\n", 1)
	})
	if out := a.init(root); !strings.Contains(out, "nothing to do") || strings.Contains(out, "/up") {
		t.Errorf("a second init:\n%s", out)
	}

	// Free ports, so this sandbox runs beside the others.
	lb, db, redis := testtools.FreePort(t), testtools.FreePort(t), testtools.FreePort(t)
	ports := func(s string) string {
		return strings.NewReplacer(`"127.0.0.1:8080"`, fmt.Sprintf(`"127.0.0.1:%d"`, lb), "127.0.0.1:3307/", fmt.Sprintf("127.0.0.1:%d/", db),
			"127.0.0.1:6379/", fmt.Sprintf("127.0.0.1:%d/", redis)).Replace(s)
	}
	a.edit("deploy.hcl", ports)
	a.edit("terraform/envs/sandbox/main.tf", ports)

	listed := a.run("go", "run", "mage.go", "-l")
	var names []string
	for _, line := range strings.Split(listed, "\n") {
		if strings.HasPrefix(line, "  ") && strings.TrimSpace(line) != "" {
			names = append(names, strings.Fields(line)[0])
		}
	}
	if strings.Join(names, " ") != strings.Join(targets.Targets, " ") {
		t.Errorf("the app's mage -l lists %v\nwant this repository's %v", names, targets.Targets)
	}
	a.run("go", "run", "mage.go", "config:check")
	a.run("go", "run", "mage.go", "cron:generate")
	a.run("git", "add", "-A")
	a.run("git", "commit", "-qm", "deploykit init")

	t.Cleanup(func() {
		out, _ := a.try("go", "run", "mage.go", "sandbox:down")
		t.Logf("sandbox:down:\n%s", testtools.Tail(out, 10))
	})
	out := a.run("go", "run", "mage.go", "deploy")
	url := fmt.Sprintf("http://127.0.0.1:%d", lb)
	if !strings.Contains(out, url) {
		t.Errorf("deploy did not print %s:\n%s", url, testtools.Tail(out, 15))
	}
	// What the deploy changed is the tags it wrote, for a pull request;
	// its working files (terraform's, the sandbox's) are ignored.
	if status, _ := a.try("git", "status", "--porcelain"); strings.TrimSpace(status) != "M terraform/envs/sandbox/images.auto.tfvars" {
		t.Errorf("after the deploy git status shows more than the tags it wrote:\n%s", status)
	}
	// Through HAProxy, nginx and unicorn to Rails; the static pages from
	// the nginx image.
	for path, want := range map[string]string{"/up": "ok", "/robots.txt": "robotstxt.org"} {
		if body := get(t, url+path); !strings.Contains(body, want) {
			t.Errorf("GET %s: %q, want %q in it", path, testtools.Tail(body, 5), want)
		}
	}
	// The next release, as a team makes it: a commit (with the tags the
	// last deploy wrote) and another deploy, which rolls the tasks over.
	a.edit("config/routes.rb", func(s string) string {
		return strings.Replace(s, "routes.draw do\n", "routes.draw do\n  get \"release\" => proc { [200, {}, [\"2\"]] }\n", 1)
	})
	a.run("git", "commit", "-qam", "release 2")
	a.run("go", "run", "mage.go", "deploy")
	if body := get(t, url+"/release"); body != "2" {
		t.Errorf("after the second deploy GET /release = %q, want 2", body)
	}
	status := a.run("go", "run", "mage.go", "status")
	for _, svc := range []string{"web-app", "sidekiq"} {
		if !strings.Contains(status, svc) {
			t.Errorf("mage status does not show %s:\n%s", svc, status)
		}
	}
}

// get returns the body of a 200 answer to GET url.
func get(t *testing.T, url string) string {
	t.Helper()
	client := http.Client{Timeout: 30 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Errorf("GET %s: %s\n%s", url, resp.Status, testtools.Tail(string(body), 10))
	}
	return string(body)
}

// The other stack `rails new` makes here: puma (behind nginx) and
// PostgreSQL. init's files build and push both images to the sandbox's
// registry; the sandbox runs MariaDB only, so nothing serves it.
func TestARailsNewPumaPostgresAppBuildsAfterInit(t *testing.T) {
	a := newApp(t)
	root := testtools.RepoRoot(t)
	a.railsNew("postgresql", func(s string) string { return s })
	out := a.init(root)
	for _, want := range []string{"Rails 6.1.7.10, puma, pg, sprockets", "created docker/nginx.conf", "the sandbox runs MariaDB only"} {
		if !strings.Contains(out, want) {
			t.Errorf("init's output lacks %q:\n%s", want, out)
		}
	}
	a.run("go", "run", "mage.go", "config:check")
	a.run("git", "add", "-A")
	a.run("git", "commit", "-qm", "deploykit init")
	push := a.run("go", "run", "mage.go", "push", "-env=sandbox")
	for _, image := range []string{"shop/app", "shop/nginx"} {
		if !strings.Contains(push, image) {
			t.Errorf("push did not push %s:\n%s", image, testtools.Tail(push, 20))
		}
	}
	// The image runs puma with the pg gem Gemfile.lock names.
	if !strings.Contains(readFile(t, filepath.Join(a.dir, "docker", "Dockerfile")), `CMD ["bundle", "exec", "puma", "-C", "config/puma.rb"]`) {
		t.Error("the Dockerfile does not start puma")
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
