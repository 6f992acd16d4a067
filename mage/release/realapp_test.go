package release

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/railsecs/deploykit/mage/config"
	"github.com/railsecs/deploykit/mage/image"
	"github.com/railsecs/deploykit/mage/internal/testtools"
	localsandbox "github.com/railsecs/deploykit/mage/sandbox"
)

// realAppRepo lays out a repository with the example Rails app, the
// shipped docker/Dockerfile and deploy.hcl as they are, in git.
func realAppRepo(t testing.TB) (string, *config.Config, *config.Environment, map[string]string) {
	t.Helper()
	for _, bin := range []string{"buildah", "mmdebstrap", "docker-registry"} {
		testtools.Need(t, bin)
	}
	repo := t.TempDir()
	testtools.CopyTree(t, filepath.Join(repoRoot, "examples", "sandbox-app"), filepath.Join(repo, "examples", "sandbox-app"))
	testtools.CopyTree(t, filepath.Join(repoRoot, "docker"), filepath.Join(repo, "docker"))
	for _, f := range []string{"deploy.hcl", ".gitignore"} {
		data, err := os.ReadFile(filepath.Join(repoRoot, f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(repo, f), data, 0o644)
	}
	for _, dir := range []string{"docker", "public/assets", "log", "tmp"} {
		os.RemoveAll(filepath.Join(repo, "examples", "sandbox-app", dir)) // what an earlier sandbox run left
	}
	gitIn(t, repo, "init", "-q", "-b", "main")
	gitIn(t, repo, "-c", "user.name=dev", "-c", "user.email=dev@example.com", "add", ".")
	gitIn(t, repo, "-c", "user.name=dev", "-c", "user.email=dev@example.com", "commit", "-qm", "app")
	env := map[string]string{"SANDBOX_REGISTRY": testtools.Registry(t), "CIRCLE_BRANCH": "main"}
	cfg, err := config.Load(filepath.Join(repo, "deploy.hcl"), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	sandboxEnv, err := cfg.Env("sandbox")
	if err != nil {
		t.Fatal(err)
	}
	// The base images come from the toolkit here (its prepare step runs
	// `go run mage.go sandbox:base`, which this copy has no module for);
	// the rest of the prepare step is the configured one.
	if err := localsandbox.DefaultBaseBuilder(io.Discard).Ensure(context.Background(), localsandbox.Bases); err != nil {
		t.Fatal(err)
	}
	prep := strings.Join(sandboxEnv.Prepare, " ")
	if _, rest, ok := strings.Cut(prep, "sandbox:base && "); ok {
		sandboxEnv.Prepare = []string{"sh", "-c", rest}
	} else {
		t.Fatalf("the sandbox's prepare step no longer makes the base images first: %q", prep)
	}
	return repo, cfg, sandboxEnv, env
}

// inImage runs a shell command in an image of local storage and returns
// its output.
func inImage(t *testing.T, ref string, env []string, script string) string {
	t.Helper()
	from, err := exec.Command("buildah", "from", "--pull=never", ref).Output()
	if err != nil {
		t.Fatalf("buildah from %s: %v", ref, err)
	}
	c := strings.TrimSpace(string(from))
	defer exec.Command("buildah", "rm", c).Run()
	run := []string{"run"}
	for _, e := range env {
		run = append(run, "--env", e)
	}
	out, err := exec.Command("buildah", append(run, c, "--", "sh", "-c", script)...).CombinedOutput()
	if err != nil {
		t.Fatalf("in %s: %s: %v\n%s", ref, script, err, out)
	}
	return string(out)
}

// The shipped docker/Dockerfile builds a real Rails 6.1 app (unicorn,
// sidekiq, mysql2, Sass and terser precompile) through the toolkit's own
// build, with the build arguments the sandbox passes; with its default
// arguments it reaches for the ruby: image a real app uses, which this
// machine cannot pull, so the defaults stay the real ones.
func TestTheShippedDockerfileBuildsTheExampleRailsApp(t *testing.T) {
	repo, cfg, sandboxEnv, env := realAppRepo(t)
	ctx := context.Background()
	commit, err := CurrentCommit(ctx, cfg, false)
	if err != nil {
		t.Fatal(err)
	}

	// Default arguments: the first FROM is the real one.
	defaults := *sandboxEnv
	defaults.Images = nil
	for _, img := range sandboxEnv.Images {
		o := *img
		o.BuildArgs = nil
		defaults.Images = append(defaults.Images, &o)
	}
	out := &testtools.Buffer{}
	_, err = EnsureImages(ctx, cfg, ImageOptions{Env: &defaults, Commit: commit, Getenv: func(k string) string { return env[k] }, Out: out})
	if err == nil || !strings.Contains(out.String(), "ruby:3.4-slim") {
		t.Fatalf("docker/Dockerfile with its default arguments should stop at FROM ruby:3.4-slim (no registry here serves it): %v\n%s", err, out)
	}

	out.Reset()
	images, err := EnsureImages(ctx, cfg, ImageOptions{Env: sandboxEnv, Commit: commit, Getenv: func(k string) string { return env[k] }, Out: out})
	if err != nil {
		t.Fatalf("the sandbox's build of docker/Dockerfile: %v\n%s", err, out)
	}
	refs := map[string]string{}
	for _, r := range images.Results {
		refs[r.Name] = r.Ref
	}
	for _, want := range []string{"bundle exec bootsnap precompile --gemfile", "assets:precompile", "go install github.com/aptible/supercronic"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the build log has no %q step", want)
		}
	}

	// The app image: runs as rails (uid 1000) with jemalloc, holds the
	// gems' bootsnap cache, supercronic, and the asset manifest, so the
	// asset helpers emit the digested paths nginx serves.
	app := inImage(t, refs["app"], []string{"SECRET_KEY_BASE=test-only"}, `id -u; echo "$LD_PRELOAD"; ls tmp/cache/bootsnap; command -v supercronic; `+
		`bin/rails runner 'puts ActionController::Base.helpers.asset_path("application.css"), ActionController::Base.helpers.asset_path("application.js")'`)
	for _, want := range []string{"1000\n", "libjemalloc.so.2\n", "compile-cache", "/usr/local/bin/supercronic\n"} {
		if !strings.Contains(app, want) {
			t.Errorf("app image: no %q in\n%s", want, app)
		}
	}
	digested := regexp.MustCompile(`/assets/application-[0-9a-f]{64}\.(css|js)`).FindAllString(app, -1)
	if len(digested) != 2 {
		t.Fatalf("app image: asset helpers should name two digested assets, got %q in\n%s", digested, app)
	}

	// The nginx image serves exactly those files, its stop signal is
	// nginx's graceful one, and docker/nginx.conf is its server.
	nginx := inImage(t, refs["nginx"], nil, "ls /usr/share/nginx/html/assets; nginx -t 2>&1; cat /etc/nginx/conf.d/default.conf | head -3")
	for _, path := range digested {
		if !strings.Contains(nginx, strings.TrimPrefix(path, "/assets/")+"\n") {
			t.Errorf("nginx image lacks %s:\n%s", path, nginx)
		}
	}
	if !strings.Contains(nginx, "test is successful") {
		t.Errorf("nginx -t in the nginx image:\n%s", nginx)
	}
	sig, err := exec.Command("buildah", "inspect", "--format", "{{.OCIv1.Config.StopSignal}}", refs["nginx"]).Output()
	if err != nil || strings.TrimSpace(string(sig)) != "SIGQUIT" {
		t.Errorf("nginx image stop signal %q (%v), want SIGQUIT", sig, err)
	}

	assetChangeReusesTheSprocketsCache(t, repo, cfg, sandboxEnv, env, images.Results)
}

// An asset change is precompiled with the Sprockets cache the live
// release's precompile left (pushed to the layer-cache repository), and
// the changed stylesheet is compiled anew even though the file kept its
// modification time, which Sprockets memoizes digests by.
func assetChangeReusesTheSprocketsCache(t *testing.T, repo string, cfg *config.Config, sandboxEnv *config.Environment, env map[string]string, first []image.Result) {
	ctx := context.Background()
	live := map[string]string{}
	for _, r := range first {
		live[r.Name] = r.Pinned()
	}
	reg := &image.Registry{Host: sandboxEnv.Registry}
	labels, err := reg.Labels(ctx, live["nginx"], "linux/amd64")
	if err != nil {
		t.Fatal(err)
	}
	if labels[image.SprocketsCacheLabel] != "none" {
		t.Errorf("the first release's precompile was handed the cache %q, want none", labels[image.SprocketsCacheLabel])
	}
	left := sandboxEnv.Registry + "/shop/build-cache:" + image.SprocketsCacheTag(labels[image.AssetInputsLabel])
	if digest, err := reg.Digest(ctx, left); err != nil || digest == "" {
		t.Fatalf("the first build left no Sprockets cache at %s (%q, %v)", left, digest, err)
	}

	palette := filepath.Join(repo, "examples", "sandbox-app", "app", "assets", "stylesheets", "_palette.scss")
	info, err := os.Stat(palette)
	if err != nil {
		t.Fatal(err)
	}
	// Unique per run: buildah's layer cache (its storage outlives the test)
	// would otherwise reuse an earlier run's precompile step, which then
	// prints nothing.
	os.WriteFile(palette, []byte(fmt.Sprintf("$ink: #1f2933;\n$accent: #2e7d32;\n// run %d\n", time.Now().UnixNano())), 0o644)
	os.Chtimes(palette, info.ModTime(), info.ModTime())
	gitIn(t, repo, "-c", "user.name=dev", "-c", "user.email=dev@example.com", "commit", "-qam", "green accent")
	commit, err := CurrentCommit(ctx, cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	out := &testtools.Buffer{}
	images, err := EnsureImages(ctx, cfg, ImageOptions{Env: sandboxEnv, Commit: commit, Getenv: func(k string) string { return env[k] }, Out: out, Live: live})
	if err != nil {
		t.Fatalf("the asset change's build: %v\n%s", err, out)
	}
	if m := regexp.MustCompile(`sprockets cache: (\d+) files from the live release`).FindStringSubmatch(out.String()); m == nil || m[1] == "0" {
		t.Errorf("the asset change's precompile was not handed the live release's Sprockets cache (%q):\n%s", m, out)
	}
	var nginx string
	for _, r := range images.Results {
		if r.Name == sprocketsCacheImage {
			t.Errorf("the Sprockets cache image is reported as one of the release's images")
		}
		if r.Name == "nginx" {
			nginx = r.Ref
		}
	}
	css := inImage(t, nginx, nil, "zcat /usr/share/nginx/html/assets/application-*.css.gz | sort -u")
	if !strings.Contains(css, "#2e7d32") {
		t.Errorf("the changed accent colour is not in the new release's stylesheets (compiled from a stale cache?):\n%s", css)
	}
	if !strings.Contains(css, "#c2185b") {
		t.Errorf("the nginx image no longer bridges the live release's stylesheet:\n%s", css)
	}
}

// A Gemfile with a `path:` gem and a `gemspec` builds with the shipped
// docker/Dockerfile: the gems stage gets them through the deps-src
// context, so bundle finds them without the rest of the app.
func TestTheShippedDockerfileBuildsAGemfileWithPathGems(t *testing.T) {
	repo, cfg, sandboxEnv, env := realAppRepo(t)
	app := filepath.Join(repo, "examples", "sandbox-app")
	files := map[string]string{
		"vendor/gems/shop_money/shop_money.gemspec": `Gem::Specification.new do |s|
  s.name = "shop_money"
  s.version = "0.1.0"
  s.summary = "money for the shop"
  s.authors = ["shop"]
  s.files = ["lib/shop_money.rb"]
end
`,
		"vendor/gems/shop_money/lib/shop_money.rb": "module ShopMoney\n  VERSION = \"0.1.0\"\nend\n",
		"shop.gemspec": `Gem::Specification.new do |s|
  s.name = "shop"
  s.version = "1.2.3"
  s.summary = "the shop itself"
  s.authors = ["shop"]
end
`,
	}
	testtools.WriteFiles(t, app, files)
	appendTo(t, filepath.Join(app, "Gemfile"), "gemspec\ngem \"shop_money\", path: \"vendor/gems/shop_money\"\n")
	lock, err := os.ReadFile(filepath.Join(app, "Gemfile.lock"))
	if err != nil {
		t.Fatal(err)
	}
	// What `bundle lock` writes for them (bundler 2.3).
	locked := "PATH\n  remote: .\n  specs:\n    shop (1.2.3)\n\nPATH\n  remote: vendor/gems/shop_money\n  specs:\n    shop_money (0.1.0)\n\n" +
		strings.Replace(string(lock), "DEPENDENCIES\n", "DEPENDENCIES\n  shop!\n  shop_money!\n", 1)
	os.WriteFile(filepath.Join(app, "Gemfile.lock"), []byte(locked), 0o644)
	refs, log := buildCommitted(t, repo, cfg, sandboxEnv, env, "path gems")
	if strings.Contains(log, "Setting up build-essential") {
		t.Errorf("the gems stage installed compilers: bundle check did not find the path gems\n%s", log)
	}
	got := inImage(t, refs["app"], []string{"SECRET_KEY_BASE=test-only"}, `bin/rails runner 'puts ShopMoney::VERSION, Gem.loaded_specs["shop"].version'`)
	if !strings.Contains(got, "0.1.0\n1.2.3\n") {
		t.Errorf("the app image does not load the path gems:\n%s", got)
	}
}

// buildCommitted commits what changed in repo and builds the sandbox's
// images of that commit; it returns their refs by name and the build log.
func buildCommitted(t *testing.T, repo string, cfg *config.Config, sandboxEnv *config.Environment, env map[string]string, msg string) (map[string]string, string) {
	t.Helper()
	commitAll(t, repo, msg)
	ctx := context.Background()
	commit, err := CurrentCommit(ctx, cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	out := &testtools.Buffer{}
	images, err := EnsureImages(ctx, cfg, ImageOptions{Env: sandboxEnv, Commit: commit, Getenv: func(k string) string { return env[k] }, Out: out})
	if err != nil {
		t.Fatalf("build of %q: %v\n%s", msg, err, out)
	}
	refs := map[string]string{}
	for _, r := range images.Results {
		refs[r.Name] = r.Ref
	}
	return refs, out.String()
}

// A jsbundling-style app (a package.json whose build script precompile
// runs first, as jsbundling-rails makes it) builds with the shipped
// docker/Dockerfile: Node and the locked packages are installed in the
// gems stage from the deps-src context, and the bundle the script writes
// is precompiled, digested and served by the nginx image.
func TestTheShippedDockerfileBuildsAJSBundlingApp(t *testing.T) {
	repo, cfg, sandboxEnv, env := realAppRepo(t)
	app := filepath.Join(repo, "examples", "sandbox-app")
	files := map[string]string{
		"package.json": `{
  "name": "shop",
  "private": true,
  "scripts": { "build": "node bin/build-js" }
}
`,
		// What `npm install` writes for a package without dependencies.
		"package-lock.json": `{
  "name": "shop",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "": {
      "name": "shop"
    }
  }
}
`,
		"bin/build-js": `const fs = require("fs");
const src = fs.readdirSync("app/javascript").sort().map((f) => fs.readFileSync("app/javascript/" + f, "utf8"));
fs.writeFileSync("app/assets/builds/bundle.js", "// built by node " + process.version + "\n" + src.join("\n"));
`,
		"app/javascript/checkout.js":   "window.checkoutReady = true;\n",
		"app/assets/builds/.keep":      "",
		"lib/tasks/javascript.rake":    "namespace :javascript do\n  task :build do\n    system(\"npm run build\", exception: true)\n  end\nend\nRake::Task[\"assets:precompile\"].enhance([\"javascript:build\"])\n",
		"config/initializers/build.rb": "Rails.application.config.assets.precompile += %w( bundle.js )\n",
	}
	testtools.WriteFiles(t, app, files)
	// The rake task is an asset input here (jsbundling-rails is a gem).
	cfg.Build.AssetInputs = append(append([]string{}, cfg.BuildOrDefault().AssetInputs...), "lib/tasks")
	refs, _ := buildCommitted(t, repo, cfg, sandboxEnv, env, "jsbundling")
	js := inImage(t, refs["nginx"], nil, "cat /usr/share/nginx/html/assets/bundle-*.js")
	if !strings.Contains(js, "checkoutReady") {
		t.Errorf("the nginx image does not serve the bundle the build script wrote:\n%s", js)
	}
	if got := inImage(t, refs["app"], nil, "ls node_modules 2>&1; true"); !strings.Contains(got, "No such file") {
		t.Errorf("the app image carries node_modules:\n%s", got)
	}
}
