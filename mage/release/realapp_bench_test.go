package release

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/railsecs/deploykit/mage/image"
	"github.com/railsecs/deploykit/mage/internal/testtools"
	localsandbox "github.com/railsecs/deploykit/mage/sandbox"
)

// BenchmarkRealAppChanges builds docker/Dockerfile for the example Rails
// app through the toolkit's own build (EnsureImages), with each builder,
// each build on fresh builder storage (a new CI machine) reading the
// registry's layer cache: cold, then a code-only change, an asset change
// (one partial of one of the app's stylesheets; then another with no
// Sprockets cache to hand, to show what it saves) and a Gemfile change, each
// deployed before the next (its images become the live ones). The app
// gets a generated asset set (DEPLOYKIT_BENCH_SECTIONS bundles of Sass
// and JavaScript, 16 by default) so precompile is real work. The base
// images come from a registry, as ruby: and nginx: images do in CI (their
// push is not timed; neither is a BuildKit daemon's start).
// Goals: code-only <= 0.08 x cold, asset change <= 0.5 x cold.
//
//	go test ./mage/release -run '^$' -bench RealAppChanges -benchtime 1x -timeout 60m
func BenchmarkRealAppChanges(b *testing.B) {
	testtools.Need(b, "buildah")
	sections := envInt("DEPLOYKIT_BENCH_SECTIONS", 16)
	for _, builder := range []string{"buildah", "buildx"} {
		b.Run(builder, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				realAppChanges(b, builder, sections)
			}
		})
	}
}

func envInt(name string, def int) int {
	var n int
	if _, err := fmt.Sscan(os.Getenv(name), &n); err == nil && n > 0 {
		return n
	}
	return def
}

// ranPrecompile matches what the precompile step prints when it runs
// (not its command line, which a log shows for a cached step too).
var ranPrecompile = regexp.MustCompile(`sprockets cache: (\d+) files from`)

type benchPhase struct {
	name  string
	took  time.Duration
	notes string
}

func realAppChanges(b *testing.B, builder string, sections int) {
	ctx := context.Background()
	b.StopTimer()
	repo, cfg, env, vars := realAppRepo(b)
	app := filepath.Join(repo, "examples", "sandbox-app")
	generateAssets(b, app, sections)
	if builder == "buildx" {
		// `# syntax=docker/dockerfile:1` makes BuildKit fetch its frontend
		// from Docker Hub, which this machine cannot reach: the built-in
		// Dockerfile frontend builds it here.
		dockerfile := filepath.Join(repo, "docker", "Dockerfile")
		data, err := os.ReadFile(dockerfile)
		if err != nil {
			b.Fatal(err)
		}
		_, rest, _ := strings.Cut(string(data), "\n")
		if !strings.HasPrefix(string(data), "# syntax=") {
			rest = string(data)
		}
		os.WriteFile(dockerfile, []byte(rest), 0o644)
	}
	commitAll(b, repo, "a bigger asset set")

	// The base images, from the registry the builds push to (as the
	// sandbox keeps them).
	host := env.Registry
	bb := localsandbox.DefaultBaseBuilder(io.Discard)
	bb.Registry = host
	if err := bb.Ensure(ctx, localsandbox.Bases); err != nil {
		b.Fatal(err)
	}
	bases := map[string]string{}
	for _, base := range localsandbox.Bases {
		bases[base.Name] = localsandbox.InRegistry(host, base.Name)
	}
	for _, img := range env.Images {
		for k, v := range img.BuildArgs {
			if remote, ok := bases[v]; ok {
				img.BuildArgs[k] = remote
			}
		}
	}
	env.Builder = builder

	var live map[string]string
	var phases []benchPhase
	phase := func(name string) (time.Duration, string, []image.Result) {
		getenv := func(k string) string { return vars[k] }
		switch builder {
		case "buildah":
			// Fresh storage through containers/storage's own setting.
			dir := b.TempDir()
			conf := filepath.Join(dir, "storage.conf")
			os.WriteFile(conf, []byte(fmt.Sprintf("[storage]\ndriver = \"overlay\"\ngraphroot = %q\nrunroot = %q\n", filepath.Join(dir, "root"), filepath.Join(dir, "run"))), 0o644)
			b.Setenv("CONTAINERS_STORAGE_CONF", conf)
		case "buildx":
			bin, name := testtools.BuildKit(b, host)
			cfg.Build.BuildxBuilder = name
			getenv = func(k string) string {
				if k == "DEPLOYKIT_BUILDX" {
					return bin
				}
				return vars[k]
			}
		}
		commit, err := CurrentCommit(ctx, cfg, false)
		if err != nil {
			b.Fatal(err)
		}
		out := &testtools.Buffer{}
		start := time.Now()
		images, err := EnsureImages(ctx, cfg, ImageOptions{Env: env, Commit: commit, Getenv: getenv, Out: out, Live: live})
		took := time.Since(start)
		if err != nil {
			b.Fatalf("%s (%s): %v\n%s", name, builder, err, out)
		}
		live = map[string]string{}
		for _, r := range images.Results {
			live[r.Name] = r.Pinned()
		}
		phases = append(phases, benchPhase{name: name, took: took})
		fmt.Printf("%s, %s: %.1fs\n", builder, name, took.Seconds())
		return took, out.String(), images.Results
	}

	cold, _, _ := phase("cold")
	appendTo(b, filepath.Join(app, "app", "models", "order.rb"), "# a code-only change\n")
	commitAll(b, repo, "code")
	code, codeLog, codeImages := phase("code-only change")
	partial := filepath.Join(app, "app", "assets", "stylesheets", "bench", fmt.Sprintf("s%d", min(3, sections-1)), "_part2.scss")
	appendTo(b, partial, ".changed { color: #2e7d32; }\n")
	commitAll(b, repo, "asset")
	asset, assetLog, _ := phase("asset change")
	// The same kind of change with nothing for precompile to reuse: what
	// the Sprockets cache saves.
	reg := &image.Registry{Host: host}
	labels, err := reg.Labels(ctx, live["nginx"], "linux/amd64")
	if err != nil {
		b.Fatal(err)
	}
	cacheImage := host + "/shop/build-cache:" + image.SprocketsCacheTag(labels[image.AssetInputsLabel])
	digest, err := reg.Digest(ctx, cacheImage)
	if err != nil || digest == "" {
		b.Fatalf("the asset change left no Sprockets cache at %s (%v)", cacheImage, err)
	}
	if err := reg.DeleteManifest(ctx, host+"/shop/build-cache@"+digest); err != nil {
		b.Fatal(err)
	}
	appendTo(b, filepath.Join(app, "app", "assets", "stylesheets", "bench", fmt.Sprintf("s%d", min(5, sections-1)), "_part4.scss"), ".changed { color: #1565c0; }\n")
	commitAll(b, repo, "asset, no cache")
	phase("asset change, no Sprockets cache")
	appendTo(b, filepath.Join(app, "Gemfile"), "# a Gemfile change\n")
	commitAll(b, repo, "gemfile")
	gemfile, _, _ := phase("Gemfile change")

	for _, r := range codeImages {
		if r.Name == "nginx" && (r.Built || r.ReusedFrom == "") {
			b.Errorf("the code-only change built the nginx image: %+v", r)
		}
	}
	// The precompile step prints this line only when it runs.
	if ranPrecompile.MatchString(codeLog) {
		b.Errorf("the code-only change ran precompile:\n%s", codeLog)
	}
	if m := ranPrecompile.FindStringSubmatch(assetLog); m == nil || m[1] == "0" {
		b.Errorf("the asset change's precompile was not handed the live release's Sprockets cache:\n%s", assetLog)
	}
	b.ReportMetric(cold.Seconds(), "s/cold")
	b.ReportMetric(code.Seconds()/cold.Seconds(), "code-only/cold")
	b.ReportMetric(asset.Seconds()/cold.Seconds(), "asset/cold")
	b.ReportMetric(gemfile.Seconds()/cold.Seconds(), "gemfile/cold")
	fmt.Printf("\nreal app, %s, %d asset bundles, fresh builder storage per build, registry layer cache:\n", builder, sections)
	fmt.Printf("| %-32s | %8s | %9s | %s |\n", "change", "seconds", "x cold", "goal")
	goals := map[string]string{"code-only change": "<= 0.08", "asset change": "<= 0.5"}
	for _, p := range phases {
		fmt.Printf("| %-32s | %8.1f | %9.3f | %s |\n", p.name, p.took.Seconds(), p.took.Seconds()/cold.Seconds(), goals[p.name])
	}
}

// generateAssets gives the app sections bundles of Sass (ten partials of
// mixins and loops each) and JavaScript (ten files each), each bundle its
// own precompiled asset, as a larger app's admin, storefront and mailer
// bundles are: an asset change recompiles the bundle it touches.
func generateAssets(t testing.TB, app string, sections int) {
	var manifest strings.Builder
	manifest.WriteString("Rails.application.config.assets.precompile += %w(")
	for s := range sections {
		css := filepath.Join(app, "app", "assets", "stylesheets", "bench", fmt.Sprintf("s%d", s))
		js := filepath.Join(app, "app", "assets", "javascripts", "bench", fmt.Sprintf("s%d", s))
		os.MkdirAll(css, 0o755)
		os.MkdirAll(js, 0o755)
		var imports strings.Builder
		for p := range 10 {
			var scss, script strings.Builder
			for i := range 40 {
				fmt.Fprintf(&scss, "@mixin m%d_%d_%d($c) { color: darken($c, %d%%); background: lighten($c, %d%%); }\n", s, p, i, i%30, (i*7)%30)
				fmt.Fprintf(&scss, ".b%d-%d-%d { @include m%d_%d_%d(#e91e63); @for $k from 1 through 12 { &.w#{$k} { width: percentage($k / 12); margin: #{$k * 2}px; } } }\n", s, p, i, s, p, i)
			}
			for i := range 60 {
				fmt.Fprintf(&script, "function s%dp%df%d(items) {\n  var total = 0;\n  for (var i = 0; i < items.length; i++) { if (items[i] && items[i].price > %d) { total += items[i].price * %d; } }\n  return { name: \"s%dp%df%d\", total: total };\n}\n", s, p, i, i, i+1, s, p, i)
			}
			os.WriteFile(filepath.Join(css, fmt.Sprintf("_part%d.scss", p)), []byte(scss.String()), 0o644)
			os.WriteFile(filepath.Join(js, fmt.Sprintf("part%d.js", p)), []byte(script.String()), 0o644)
			fmt.Fprintf(&imports, "@import \"bench/s%d/part%d\";\n", s, p)
		}
		os.WriteFile(filepath.Join(app, "app", "assets", "stylesheets", fmt.Sprintf("section%d.scss", s)), []byte(imports.String()), 0o644)
		os.WriteFile(filepath.Join(app, "app", "assets", "javascripts", fmt.Sprintf("section%d.js", s)), []byte(fmt.Sprintf("//= require_tree ./bench/s%d\n", s)), 0o644)
		fmt.Fprintf(&manifest, " section%d.css section%d.js", s, s)
	}
	manifest.WriteString(" )\n")
	appendTo(t, filepath.Join(app, "config", "initializers", "assets.rb"), manifest.String())
}

func appendTo(t testing.TB, path, text string) {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

func commitAll(t testing.TB, repo, msg string) {
	gitIn(t, repo, "add", "-A")
	gitIn(t, repo, "-c", "user.name=dev", "-c", "user.email=dev@example.com", "commit", "-qm", msg)
}
