package release

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/railsecs/deploykit/mage/image"
)

// digested is the name the stand-in precompile gives a CSS file, as
// Sprockets and Propshaft do: name-DIGEST.css.
func digested(css string) string {
	sum := sha256.Sum256([]byte(css))
	return "application-" + hex.EncodeToString(sum[:])[:16] + ".css"
}

// serveImage runs busybox httpd inside an image (the sandbox's nginx
// stand-in) on a free loopback port until the test ends, and returns the
// base URL.
func serveImage(t *testing.T, ref string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		b := image.Buildah{Insecure: true}
		_, _ = b.Run(ctx, ref, fmt.Sprintf("deploykit-serve-%d", time.Now().UnixNano()),
			[]string{"/bin/httpd", "-f", "-p", addr, "-h", "/usr/share/nginx/html"}, func(string) {})
	}()
	url := "http://" + addr
	for deadline := time.Now().Add(30 * time.Second); ; {
		if resp, err := http.Get(url + "/"); err == nil {
			resp.Body.Close()
			return url
		}
		if time.Now().After(deadline) {
			t.Fatalf("httpd in %s did not answer on %s", ref, addr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func status(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Assets across releases: a code-only change runs no precompile and
// reuses the live nginx image by digest, registry-side; a CSS change
// builds an nginx image that serves the new digested file and the
// previous release's, so pages rendered by old and new unicorns both
// find theirs during the rollout.
func TestAssetsSurviveRollingDeploys(t *testing.T) {
	s := newSandbox(t)
	ctx := context.Background()
	cssA := "body { font-family: sans-serif; }\n"
	first, err := s.d.Deploy(ctx, Options{Timeout: time.Minute})
	if err != nil {
		t.Fatalf("first deploy: %v\n%s", err, s.out)
	}

	s.commit(t, "examples/sandbox-app/app/models/order.rb", "class Order; def total; end; end\n")
	s.out.Reset()
	codeOnly, err := s.d.Deploy(ctx, Options{Timeout: time.Minute})
	if err != nil {
		t.Fatalf("code-only deploy: %v\n%s", err, s.out)
	}
	log := s.out.String()
	step := strings.Index(log, "RUN bin/rails assets:precompile")
	if step < 0 || !strings.Contains(log[step:min(step+400, len(log))], "Using cache") || strings.Contains(log, "Writing public/assets/") {
		t.Errorf("a code-only change ran the precompile:\n%s", log)
	}
	if !strings.Contains(log, "nginx: org.railsecs.deploykit.asset-inputs unchanged since "+first.Images["nginx"]) || strings.Contains(log, "[nginx]") {
		t.Errorf("the nginx image was built, not reused:\n%s", log)
	}
	digestOf := func(pinned string) string { return pinned[strings.Index(pinned, "@")+1:] }
	if digestOf(codeOnly.Images["nginx"]) != digestOf(first.Images["nginx"]) || !strings.Contains(codeOnly.Images["nginx"], ":"+codeOnly.Tag+"@") {
		t.Errorf("nginx of the code-only release = %s, want %s's digest under the new tag", codeOnly.Images["nginx"], first.Images["nginx"])
	}

	cssB := "body { font-family: serif; color: #222; }\n"
	s.commit(t, "examples/sandbox-app/app/assets/application.css", cssB)
	s.out.Reset()
	third, err := s.d.Deploy(ctx, Options{Timeout: time.Minute})
	if err != nil {
		t.Fatalf("asset change deploy: %v\n%s", err, s.out)
	}
	if !strings.Contains(s.out.String(), "kept the assets of 1 earlier release(s)") {
		t.Errorf("no bridging in the nginx build:\n%s", s.out)
	}
	url := serveImage(t, third.Images["nginx"])
	for _, css := range []string{cssA, cssB} {
		if code := status(t, url+"/assets/"+digested(css)); code != 200 {
			t.Errorf("GET /assets/%s from the new nginx image: %d, want 200", digested(css), code)
		}
	}
	if code := status(t, url+"/assets/application-0000000000000000.css"); code != 404 {
		t.Errorf("an asset no release had: %d, want 404 (the check can fail)", code)
	}

	// Rolling back to the code-only release: the app goes back, nginx
	// stays on the live image, which serves both releases' assets.
	s.out.Reset()
	back, err := s.d.Rollback(ctx, Options{Timeout: time.Minute})
	if err != nil {
		t.Fatalf("rollback: %v\n%s", err, s.out)
	}
	if back.Tag != codeOnly.Tag || back.Images["nginx"] != third.Images["nginx"] || !strings.Contains(s.out.String(), "nginx: keeping the live image") {
		t.Errorf("rollback to %s recorded nginx %s, want the live %s kept:\n%s", back.Tag, back.Images["nginx"], third.Images["nginx"], s.out)
	}
	if got := s.serviceTag(t, "web-app"); got != codeOnly.Tag {
		t.Errorf("unicorn runs %s after the rollback, want %s", got, codeOnly.Tag)
	}
	if !strings.Contains(s.tfvars(t), digestOf(third.Images["nginx"])) {
		t.Errorf("the tfvars lost the kept nginx image:\n%s", s.tfvars(t))
	}
}
