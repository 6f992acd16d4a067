package image

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func sampleSpec() Spec {
	return Spec{
		Name: "app", Dockerfile: "docker/Dockerfile", Context: ".", Target: "app",
		Refs:      []string{"123.dkr.ecr.ap-northeast-1.amazonaws.com/shop/app:3f2c1e0abcde"},
		CacheFrom: "123.dkr.ecr.ap-northeast-1.amazonaws.com/shop/build-cache",
		CacheTo:   "123.dkr.ecr.ap-northeast-1.amazonaws.com/shop/build-cache",
		Labels:    map[string]string{"org.opencontainers.image.revision": "3f2c1e0"},
		Push:      true,
	}
}

func TestBuildahCommands(t *testing.T) {
	b := Buildah{Root: "/tmp/r", Driver: "vfs", AuthFile: "/tmp/auth/config.json"}
	cmds := b.Commands(sampleSpec())
	want := [][]string{
		{"buildah", "--root", "/tmp/r", "--storage-driver", "vfs", "build", "--isolation", "chroot", "--layers", "-f", "docker/Dockerfile",
			"--target", "app", "-t", "123.dkr.ecr.ap-northeast-1.amazonaws.com/shop/app:3f2c1e0abcde",
			"--label", "org.opencontainers.image.revision=3f2c1e0",
			"--cache-from", "123.dkr.ecr.ap-northeast-1.amazonaws.com/shop/build-cache",
			"--cache-to", "123.dkr.ecr.ap-northeast-1.amazonaws.com/shop/build-cache",
			"--authfile", "/tmp/auth/config.json", "."},
		{"buildah", "--root", "/tmp/r", "--storage-driver", "vfs", "push", "--authfile", "/tmp/auth/config.json",
			"123.dkr.ecr.ap-northeast-1.amazonaws.com/shop/app:3f2c1e0abcde", "docker://123.dkr.ecr.ap-northeast-1.amazonaws.com/shop/app:3f2c1e0abcde"},
	}
	if !reflect.DeepEqual(cmds, want) {
		t.Errorf("buildah commands:\n%q\nwant\n%q", cmds, want)
	}
	spec := sampleSpec()
	spec.Push, spec.CacheTo = false, ""
	if cmds := b.Commands(spec); len(cmds) != 1 || strings.Contains(strings.Join(cmds[0], " "), "--cache-to") {
		t.Errorf("no push, no cache write: %q", cmds)
	}
}

func TestBuildxCommands(t *testing.T) {
	x := Buildx{ConfigDir: "/tmp/auth"}
	got := x.Commands(sampleSpec())[0]
	want := []string{"docker", "buildx", "build", "--progress=plain", "-f", "docker/Dockerfile", "--target", "app",
		"-t", "123.dkr.ecr.ap-northeast-1.amazonaws.com/shop/app:3f2c1e0abcde",
		"--label", "org.opencontainers.image.revision=3f2c1e0",
		"--cache-from", "type=registry,ref=123.dkr.ecr.ap-northeast-1.amazonaws.com/shop/build-cache:app",
		"--cache-to", "type=registry,ref=123.dkr.ecr.ap-northeast-1.amazonaws.com/shop/build-cache:app,mode=max,image-manifest=true,oci-mediatypes=true",
		"--push", "."}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("buildx command:\n%q\nwant\n%q", got, want)
	}
	// A standalone buildx on a configured builder and a plain-HTTP
	// registry: the output and the cache say registry.insecure.
	x = Buildx{Bin: "/opt/bin/buildx", Builder: "ci", Insecure: true}
	got = x.Commands(sampleSpec())[0]
	joined := strings.Join(got, " ")
	for _, want := range []string{"/opt/bin/buildx build --progress=plain", "--builder ci",
		`--output type=image,"name=123.dkr.ecr.ap-northeast-1.amazonaws.com/shop/app:3f2c1e0abcde",push=true,registry.insecure=true`,
		"build-cache:app,registry.insecure=true", "oci-mediatypes=true,registry.insecure=true"} {
		if !strings.Contains(joined, want) {
			t.Errorf("standalone insecure buildx command lacks %q:\n%s", want, joined)
		}
	}
	for _, a := range got {
		if strings.Contains(a, "auth") || strings.Contains(a, "password") {
			t.Errorf("credentials reach argv: %q", a)
		}
	}
}

func TestDetectNamesWhatIsMissing(t *testing.T) {
	_, err := Detect(context.Background(), "buildah", Buildah{Bin: "/nonexistent/buildah"}, Buildx{})
	if err == nil || !strings.Contains(err.Error(), "apt-get install buildah") {
		t.Errorf("missing buildah: %v", err)
	}
	_, err = Detect(context.Background(), "auto", Buildah{Bin: "/nonexistent/buildah"}, Buildx{Bin: "/nonexistent/docker"})
	if err == nil || !strings.Contains(err.Error(), "no image builder") {
		t.Errorf("nothing installed: %v", err)
	}
	if _, err := Detect(context.Background(), "kaniko", Buildah{}, Buildx{}); err == nil {
		t.Error("unknown builder accepted")
	}
}

func TestCheckRefusesBadSpecs(t *testing.T) {
	dir := t.TempDir()
	df := filepath.Join(dir, "Dockerfile")
	os.WriteFile(df, []byte("FROM scratch AS base\nFROM base as app\n"), 0o644)
	if err := Check([]Spec{{Name: "app", Dockerfile: filepath.Join(dir, "nope"), Refs: []string{"r/a:t"}}}); err == nil || !strings.Contains(err.Error(), "nope: not found") {
		t.Errorf("missing Dockerfile: %v", err)
	}
	if err := Check([]Spec{{Name: "nginx", Dockerfile: df, Target: "nginx", Refs: []string{"r/a:t"}}}); err == nil || !strings.Contains(err.Error(), `build target "nginx" is not a stage`) {
		t.Errorf("unknown target: %v", err)
	}
	if err := Check([]Spec{{Name: "app", Dockerfile: df, Target: "app", Refs: []string{"r/a:latest"}}}); err == nil || !strings.Contains(err.Error(), "latest") {
		t.Errorf("latest: %v", err)
	}
	if err := Check([]Spec{{Name: "app", Dockerfile: df, Target: "APP", Refs: []string{"r/a:t"}}}); err != nil {
		t.Errorf("stage names are case-insensitive: %v", err)
	}
}

// buildah builds images of one Dockerfile and context one after another,
// so their shared stages (assets:precompile) run once; BuildKit shares
// them itself and builds concurrently.
func TestBuildGroups(t *testing.T) {
	specs := []Spec{
		{Name: "app", Dockerfile: "docker/Dockerfile", Context: "."},
		{Name: "nginx", Dockerfile: "docker/Dockerfile", Context: "."},
		{Name: "other", Dockerfile: "other/Dockerfile", Context: "other"},
	}
	if got := buildGroups(Buildah{}, specs, []int{0, 1, 2}); !reflect.DeepEqual(got, [][]int{{0, 1}, {2}}) {
		t.Errorf("buildah groups = %v", got)
	}
	if got := buildGroups(Buildx{}, specs, []int{0, 1, 2}); !reflect.DeepEqual(got, [][]int{{0}, {1}, {2}}) {
		t.Errorf("buildx groups = %v", got)
	}
}
