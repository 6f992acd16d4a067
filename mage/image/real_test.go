package image

import (
	"bytes"
	"context"
	"fmt"

	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// startRegistry runs Debian's docker-registry on a free loopback port for
// the test's lifetime.
func startRegistry(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		t.Fatal("docker-registry is not installed: .ci/run installs it (apt-get install docker-registry)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n", filepath.Join(dir, "data"), host)), 0o644)
	cmd := exec.Command(bin, "serve", cfg)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for i := 0; !Answering(context.Background(), host); i++ {
		if i > 100 {
			t.Fatalf("docker-registry did not answer on %s", host)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return host
}

// fixture copies testdata/rails and busybox into a build context.
func fixture(t testing.TB) string {
	t.Helper()
	if _, err := exec.LookPath("buildah"); err != nil {
		t.Fatal("buildah is not installed: .ci/run installs it (apt-get install buildah)")
	}
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

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestRealBuildahBuildPushSkipAndCache(t *testing.T) {
	ctx := context.Background()
	host := startRegistry(t)
	dir := fixture(t)
	reg := &Registry{Host: host}

	var out syncBuf
	p := Pipeline{Builder: freshBuilder(t), Registry: reg, Out: &out}
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

	// Same commit again, on a fresh machine: nothing is built.
	out = syncBuf{}
	p = Pipeline{Builder: freshBuilder(t), Registry: reg, Out: &out}
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
	out = syncBuf{}
	p = Pipeline{Builder: freshBuilder(t), Registry: reg, Out: &out}
	changed, err := p.Ensure(ctx, specs(dir, host, "c0ffee000002", 0, false))
	if err != nil {
		t.Fatalf("rebuild: %v\n%s", err, out.String())
	}
	if !changed[0].Built || changed[0].Digest == results[0].Digest {
		t.Errorf("app not rebuilt: %+v", changed[0])
	}
	log := out.String()
	gemsStep := strings.Index(log, "[app] [2/")
	if gemsStep < 0 || !strings.Contains(log[gemsStep:], "Cache pulled from remote") {
		t.Errorf("dependency stage not reused from the registry cache on fresh storage:\n%s", log)
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
