package image

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/railsecs/deploykit/mage/internal/testtools"
)

// loginRegistry puts HTTP basic auth in front of a real registry, as a
// registry that needs a login (ECR) does: requests without the user's
// password get 401 and a Basic challenge. It counts the pushes it let
// through.
func loginRegistry(t *testing.T, backend, user, password string) (host string, pushes *atomic.Int64) {
	t.Helper()
	target, _ := url.Parse("http://" + backend)
	proxy := httputil.NewSingleHostReverseProxy(target)
	pushes = new(atomic.Int64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != user || p != password {
			w.Header().Set("WWW-Authenticate", `Basic realm="registry"`)
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`))
			return
		}
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") {
			pushes.Add(1)
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), pushes
}

// A push that logs in, as CI runs it: the builder is the one `scripts/setup
// push` creates, kept where buildx keeps builders for this user (nothing
// sets BUILDX_CONFIG), and the build hands buildx the registry login
// through a DOCKER_CONFIG of its own. buildx looks builders up under
// DOCKER_CONFIG, so before loginEnv every such push answered `no builder
// "deploykit" found`.
func TestBuildxPushThatLogsInUsesTheSetupBuilder(t *testing.T) {
	backend := testtools.Registry(t)
	host, pushes := loginRegistry(t, backend, "AWS", "token-not-in-argv")
	buildx, sock := testtools.BuildKitDaemon(t, host)

	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("DOCKER_CONFIG", "")
	t.Setenv("BUILDX_CONFIG", "")
	testtools.CreateRemoteBuilder(t, buildx, DefaultBuilder, sock)
	if _, err := os.Stat(filepath.Join(home, ".docker", "buildx", "instances", DefaultBuilder)); err != nil {
		t.Fatalf("the setup builder is not where buildx keeps this user's builders: %v", err)
	}

	ctxDir := t.TempDir()
	os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), []byte("FROM scratch\nCOPY hello /hello\n"), 0o644)
	os.WriteFile(filepath.Join(ctxDir, "hello"), []byte("hello\n"), 0o644)
	loginDir := t.TempDir()
	if _, err := (Credentials{Host: host, Username: "AWS", Password: "token-not-in-argv"}).WriteAuthFile(loginDir); err != nil {
		t.Fatal(err)
	}

	var out testtools.Buffer
	x := Buildx{Bin: buildx, Builder: DefaultBuilder, ConfigDir: loginDir, Insecure: true, Out: &out}
	ref := host + "/shop/app:c0ffee000001"
	spec := Spec{Name: "app", Dockerfile: filepath.Join(ctxDir, "Dockerfile"), Context: ctxDir, Refs: []string{ref}, Push: true, Platforms: []string{"linux/amd64"}}
	if err := x.Build(context.Background(), spec); err != nil {
		t.Fatalf("push that logs in: %v\n%s", err, out.String())
	}
	if pushes.Load() == 0 {
		t.Errorf("no manifest reached the registry with the login:\n%s", out.String())
	}
	if d, err := (&Registry{Host: backend}).Digest(context.Background(), backend+"/shop/app:c0ffee000001"); err != nil || !strings.HasPrefix(d, "sha256:") {
		t.Errorf("pushed image not in the registry: %q, %v", d, err)
	}
	if slices.ContainsFunc(x.BuildArgs(spec), func(a string) bool { return strings.Contains(a, "token-not-in-argv") }) {
		t.Error("the registry password reached argv")
	}

	// Without the login the same registry refuses the push: the login above
	// is what let it through.
	out.Reset()
	x.ConfigDir = ""
	spec.Refs = []string{host + "/shop/app:c0ffee000002"}
	if err := x.Build(context.Background(), spec); err == nil {
		t.Errorf("a push without the login went through:\n%s", out.String())
	}
}

// loginEnv keeps buildx's builders, docker's contexts and the current
// context where the user's own config directory has them.
func TestLoginEnvKeepsBuildersAndContexts(t *testing.T) {
	user := t.TempDir()
	os.MkdirAll(filepath.Join(user, "contexts", "meta"), 0o755)
	os.WriteFile(filepath.Join(user, "config.json"), []byte(`{"currentContext":"colima","credsStore":"desktop"}`), 0o600)
	login := t.TempDir()
	env := map[string]string{"DOCKER_CONFIG": user}
	got, err := loginEnv(login, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"DOCKER_CONFIG=" + login, "BUILDX_CONFIG=" + filepath.Join(user, "buildx"), "DOCKER_CONTEXT=colima"}
	if !slices.Equal(got, want) {
		t.Errorf("loginEnv = %q, want %q", got, want)
	}
	if dest, err := os.Readlink(filepath.Join(login, "contexts")); err != nil || dest != filepath.Join(user, "contexts") {
		t.Errorf("contexts link = %q, %v", dest, err)
	}

	// BUILDX_CONFIG and DOCKER_HOST set by the user win; HOME is the default.
	env = map[string]string{"HOME": "/home/ci", "BUILDX_CONFIG": "/opt/buildx", "DOCKER_HOST": "tcp://127.0.0.1:2375"}
	got, err = loginEnv(t.TempDir(), func(k string) string { return env[k] })
	if err != nil || !slices.Contains(got, "BUILDX_CONFIG=/opt/buildx") || len(got) != 2 {
		t.Errorf("loginEnv with BUILDX_CONFIG and DOCKER_HOST = %q, %v", got, err)
	}
	env = map[string]string{"HOME": "/home/ci"}
	if got, _ = loginEnv(t.TempDir(), func(k string) string { return env[k] }); !slices.Contains(got, "BUILDX_CONFIG=/home/ci/.docker/buildx") {
		t.Errorf("loginEnv from HOME = %q", got)
	}
}
