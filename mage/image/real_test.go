package image

import (
	"context"
	"fmt"

	"github.com/railsecs/deploykit/mage/internal/testtools"

	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// fixture copies testdata/rails and busybox into a build context.
func fixture(t testing.TB) string {
	t.Helper()
	testtools.Need(t, "buildah")
	dir := t.TempDir()
	src := filepath.Join("testdata", "rails")
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(dir, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatal("busybox-static is not installed: .ci/run installs it")
	}
	os.WriteFile(filepath.Join(dir, "busybox"), bb, 0o755)
	return dir
}

func specs(ctxDir, host, tag string, gemsSeconds int, writeCache bool) []Spec {
	os.WriteFile(filepath.Join(ctxDir, "gems-seconds"), []byte(fmt.Sprint(gemsSeconds)), 0o644)
	var out []Spec
	for _, name := range []string{"app", "nginx"} {
		s := Spec{
			Name: name, Dockerfile: filepath.Join(ctxDir, "Dockerfile"), Context: ctxDir, Target: name,
			Refs:      []string{host + "/shop/" + name + ":" + tag},
			CacheFrom: host + "/shop/build-cache",
			Labels:    map[string]string{"org.opencontainers.image.revision": tag},
			Push:      true,
			Platforms: []string{"linux/amd64"},
		}
		if writeCache {
			s.CacheTo = s.CacheFrom
		}
		out = append(out, s)
	}
	return out
}

// freshBuilder has storage of its own, as a new CI machine does.
func freshBuilder(t testing.TB) Buildah {
	dir := t.TempDir()
	return Buildah{Root: filepath.Join(dir, "root"), RunRoot: filepath.Join(dir, "run"), Driver: "overlay", Insecure: true}
}

// realBuilder is one builder the real tests run: how to get it on fresh
// storage (a new CI machine), and how its log says a step of the app
// image's build (given by its text) was not run but reused from a cache.
type realBuilder struct {
	name       string
	fresh      func(t testing.TB, registry string) Builder
	stepReused func(log, step string) bool
}

// cacheUsed: the dependency stage (bundle install) came from the cache.
func (rb realBuilder) cacheUsed(log string) bool {
	return rb.stepReused(log, "cp Gemfile.lock /usr/local/bundle/installed")
}

// buildahReused: buildah follows a step it did not run with "Using cache"
// (local storage) or "Cache pulled from remote" (the registry cache).
func buildahReused(log, step string) bool {
	lines := strings.Split(log, "\n")
	for i, l := range lines {
		if !strings.HasPrefix(l, "[app] ") || !strings.Contains(l, "STEP") || !strings.Contains(l, step) {
			continue
		}
		for _, next := range lines[i+1:] {
			if strings.HasPrefix(next, "[app] ") {
				return strings.Contains(next, "Using cache") || strings.Contains(next, "Cache pulled from remote")
			}
		}
	}
	return false
}

var buildkitStep = regexp.MustCompile(`(?m)^\[app\] #(\d+) \[[a-z]+ \d+/\d+\] RUN (.*)$`)

// buildkitReused: BuildKit shows a step it took from the cache as CACHED,
// or, when a later step needs its files, as the cached layers extracted;
// a step that ran shows neither.
func buildkitReused(log, step string) bool {
	for _, m := range buildkitStep.FindAllStringSubmatch(log, -1) {
		if strings.Contains(m[2], step) {
			return strings.Contains(log, "[app] #"+m[1]+" CACHED\n") || strings.Contains(log, "[app] #"+m[1]+" extracting sha256:")
		}
	}
	return false
}

var realBuilders = []realBuilder{
	{"buildah", func(t testing.TB, _ string) Builder { return freshBuilder(t) }, buildahReused},
	{"buildx", func(t testing.TB, registry string) Builder {
		bin, builder := testtools.BuildKit(t, registry)
		return Buildx{Bin: bin, Builder: builder, Insecure: true}
	}, buildkitReused},
}

// Both builders for real, each on fresh storage per run: build and push
// with digests, skip what the registry holds, reuse the dependency layers
// from the registry cache, and refuse an image of the wrong platform.
func TestRealBuildersBuildPushSkipAndCache(t *testing.T) {
	for _, rb := range realBuilders {
		t.Run(rb.name, func(t *testing.T) { realBuilderScenario(t, rb) })
	}
}

func realBuilderScenario(t *testing.T, rb realBuilder) {
	ctx := context.Background()
	host := testtools.Registry(t)
	dir := fixture(t)
	reg := &Registry{Host: host}

	var out testtools.Buffer
	p := Pipeline{Builder: rb.fresh(t, host), Registry: reg, Out: &out}
	results, err := p.Ensure(ctx, specs(dir, host, "c0ffee000001", 0, true))
	if err != nil {
		t.Fatalf("first build: %v\n%s", err, out.String())
	}
	for _, r := range results {
		if !r.Built || !strings.HasPrefix(r.Digest, "sha256:") {
			t.Errorf("first build result %+v", r)
		}
		if d, _ := reg.Digest(ctx, r.Ref); d != r.Digest {
			t.Errorf("%s: registry digest %s, reported %s", r.Ref, d, r.Digest)
		}
	}
	if !strings.Contains(out.String(), "[app] ") || !strings.Contains(out.String(), "[nginx] ") {
		t.Errorf("build output not labelled per image:\n%s", out.String())
	}
	if rb.cacheUsed(out.String()) {
		t.Errorf("the cache check sees a reuse in the cold build, so it proves nothing:\n%s", out.String())
	}

	// Same commit again, on a fresh machine: nothing is built.
	out.Reset()
	p = Pipeline{Builder: rb.fresh(t, host), Registry: reg, Out: &out}
	again, err := p.Ensure(ctx, specs(dir, host, "c0ffee000001", 0, true))
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range again {
		if r.Built || r.Digest != results[i].Digest {
			t.Errorf("second run rebuilt or changed %s: %+v", r.Name, r)
		}
	}
	if strings.Count(out.String(), "already in the registry") != 2 || strings.Contains(out.String(), "STEP") {
		t.Errorf("second run output:\n%s", out.String())
	}

	// App code changes; a fresh builder reuses the dependency layers from
	// the registry cache.
	os.WriteFile(filepath.Join(dir, "app", "order.rb"), []byte("class Order; def total; end; end\n"), 0o644)
	out.Reset()
	p = Pipeline{Builder: rb.fresh(t, host), Registry: reg, Out: &out}
	changed, err := p.Ensure(ctx, specs(dir, host, "c0ffee000002", 0, false))
	if err != nil {
		t.Fatalf("rebuild: %v\n%s", err, out.String())
	}
	if !changed[0].Built || changed[0].Digest == results[0].Digest {
		t.Errorf("app not rebuilt: %+v", changed[0])
	}
	if log := out.String(); !rb.cacheUsed(log) {
		t.Errorf("dependency stage not reused from the registry cache on fresh storage:\n%s", log)
	}

	// The registry reports each image's platform, and an image built for
	// another platform than the environment asks for is refused, named.
	if pl, err := reg.Platforms(ctx, results[0].Ref); err != nil || len(pl) != 1 || pl[0] != "linux/amd64" {
		t.Errorf("platforms of %s = %v, %v", results[0].Ref, pl, err)
	}
	wrong := specs(dir, host, "c0ffee000001", 0, false)
	for i := range wrong {
		wrong[i].Platforms = []string{"linux/arm64"}
	}
	out.Reset()
	p = Pipeline{Builder: rb.fresh(t, host), Registry: reg, Out: &out}
	if _, err := p.Ensure(ctx, wrong); err == nil || !strings.Contains(err.Error(), "runs on linux/amd64, not linux/arm64") {
		t.Errorf("an amd64 image for an arm64 environment: %v", err)
	}
}

func TestRegistryErrorsSayWhatToFix(t *testing.T) {
	ctx := context.Background()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := ln.Addr().String()
	ln.Close()
	_, err := (&Registry{Host: closed}).Digest(ctx, closed+"/shop/app:abc")
	if err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("unreachable registry: %v", err)
	}
	srv := newDenyingRegistry(t)
	_, err = (&Registry{Host: srv}).Digest(ctx, srv+"/shop/app:abc")
	if err == nil || !strings.Contains(err.Error(), "refused our credentials") {
		t.Errorf("auth refused: %v", err)
	}
}
