package repocheck

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/railsecs/deploykit/mage/internal/testtools"
)

// docker/nginx.conf served by a real nginx (Debian's nginx-light, the
// version family the nginx image runs), on loopback: the health check
// answers by itself, a digested asset comes with exactly one
// Cache-Control header, a missing asset is a 404 (never Rails), and
// everything else reaches unicorn (here a stand-in on loopback).
func TestNginxConfServesAssetsOnceCachedAndProxiesTheRest(t *testing.T) {
	bin := testtools.Need(t, "nginx")
	root := testtools.RepoRoot(t)
	conf, err := os.ReadFile(filepath.Join(root, "docker", "nginx.conf"))
	if err != nil {
		t.Fatal(err)
	}
	unicorn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "rails %s", r.URL.Path)
	}))
	defer unicorn.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()

	dir := t.TempDir()
	html := filepath.Join(dir, "html")
	os.MkdirAll(filepath.Join(html, "assets"), 0o755)
	os.WriteFile(filepath.Join(html, "assets", "application-0123456789abcdef.css"), []byte("body{color:red}"), 0o644)
	// Only what must differ on a test machine: the listen address, the
	// document root and unicorn's address.
	site := strings.NewReplacer(
		"listen 80 default_server;", fmt.Sprintf("listen 127.0.0.1:%d default_server;", port),
		"root /usr/share/nginx/html;", "root "+html+";",
		"server 127.0.0.1:8080", "server "+strings.TrimPrefix(unicorn.URL, "http://"),
	).Replace(string(conf))
	if site == string(conf) || !strings.Contains(site, fmt.Sprint(port)) {
		t.Fatal("docker/nginx.conf no longer has the lines this test adapts")
	}
	os.WriteFile(filepath.Join(dir, "site.conf"), []byte(site), 0o644)
	user := "" // as root, workers would run as nobody, who cannot read the test's 0700 directories
	if os.Geteuid() == 0 {
		user = "user root;"
	}
	main := fmt.Sprintf(`daemon off;
%[2]s
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events {}
http {
  access_log off;
  client_body_temp_path %[1]s/body; proxy_temp_path %[1]s/proxy; fastcgi_temp_path %[1]s/fcgi;
  uwsgi_temp_path %[1]s/uwsgi; scgi_temp_path %[1]s/scgi;
  include %[1]s/site.conf;
}
`, dir, user)
	os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(main), 0o644)
	cmd := exec.Command(bin, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"))
	out := &testtools.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // master and workers stop together
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); cmd.Wait() }()
	client := &http.Client{Timeout: 5 * time.Second}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	for i := 0; ; i++ {
		if resp, err := client.Get(base + "/nginx-health"); err == nil {
			resp.Body.Close()
			break
		}
		if i > 100 {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx did not answer: %s\n%s", out, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	get := func(path string) *http.Response {
		t.Helper()
		resp, err := client.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if r := get("/nginx-health"); r.StatusCode != 200 {
		t.Errorf("/nginx-health = %d", r.StatusCode)
	}
	asset := get("/assets/application-0123456789abcdef.css")
	if asset.StatusCode != 200 {
		t.Fatalf("asset = %d", asset.StatusCode)
	}
	if cc := asset.Header.Values("Cache-Control"); len(cc) != 1 || !strings.Contains(cc[0], "immutable") || !strings.Contains(cc[0], "max-age=31536000") {
		t.Errorf("the asset's Cache-Control headers = %q: want exactly one, immutable, a year", cc)
	}
	if r := get("/assets/application-missing.css"); r.StatusCode != 404 {
		t.Errorf("a missing asset = %d, want 404 from nginx (not Rails)", r.StatusCode)
	}
	if r := get("/orders/1"); r.StatusCode != 200 {
		t.Errorf("/orders/1 through nginx = %d, want unicorn's 200", r.StatusCode)
	}
}
