package lb

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/railsecs/deploykit/mage/internal/testtools"
)

func target(t *testing.T, name string, slow time.Duration) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(slow)
		}
		fmt.Fprint(w, name)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func get(url string) (string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return string(b), fmt.Errorf("%s: %s", url, resp.Status)
	}
	return string(b), err
}

// Targets join when registered, a drained one finishes the request it
// holds and takes no new ones, and a deregistered one is gone: what the
// sandbox's deploys do to tasks, as ECS does to an ALB's targets.
func TestTargetsRegisterDrainAndDeregister(t *testing.T) {
	testtools.Need(t, "haproxy")
	ctx := context.Background()
	h := HAProxy{Dir: t.TempDir(), Listen: freeAddr(t), HealthPath: "/", Interval: time.Second, Healthy: 2, Unhealthy: 2}
	if started, err := h.Start(ctx); err != nil || !started {
		t.Fatalf("Start = %v, %v", started, err)
	}
	t.Cleanup(func() { _, _ = h.Stop() })
	if again, err := h.Start(ctx); err != nil || again {
		t.Fatalf("a second Start = %v, %v; want the running one reused", again, err)
	}
	oldT, newT := target(t, "old", 2*time.Second), target(t, "new", 0)
	url := "http://" + h.Listen
	if err := h.Register(ctx, "old", strings.TrimPrefix(oldT.URL, "http://"), EqualWeight); err != nil {
		t.Fatal(err)
	}
	if body, err := get(url + "/"); err != nil || body != "old" {
		t.Fatalf("GET / = %q, %v; want old", body, err)
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	if resp, err := browser.Get(url + "/"); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	if err := h.Register(ctx, "new", strings.TrimPrefix(newT.URL, "http://"), EqualWeight); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for range 10 {
		body, err := get(url + "/")
		if err != nil {
			t.Fatal(err)
		}
		seen[body]++
	}
	if seen["old"] == 0 || seen["new"] == 0 {
		t.Fatalf("round robin over two targets answered %v", seen)
	}
	// Weight 0 (a blue/green deployment before its production traffic
	// shift) takes a target out of the rotation; weights split the rest.
	if err := h.SetWeight(ctx, "new", 0); err != nil {
		t.Fatal(err)
	}
	if servers, err := h.Servers(ctx); err != nil || len(servers) != 2 || servers[0].Weight+servers[1].Weight != EqualWeight {
		t.Fatalf("Servers after SetWeight(new, 0) = %+v, %v", servers, err)
	}
	for range 10 {
		if body, err := get(url + "/"); err != nil || body != "old" {
			t.Fatalf("with new at weight 0 GET / = %q, %v; want old only", body, err)
		}
	}
	if err := h.SetWeight(ctx, "old", Weight(75)); err != nil {
		t.Fatal(err)
	}
	if err := h.SetWeight(ctx, "new", Weight(25)); err != nil {
		t.Fatal(err)
	}
	seen = map[string]int{}
	for range 40 {
		body, err := get(url + "/")
		if err != nil {
			t.Fatal(err)
		}
		seen[body]++
	}
	if seen["old"] != 30 || seen["new"] != 10 {
		t.Errorf("weights 75/25 split 40 requests %v, want 30 and 10", seen)
	}
	for _, name := range []string{"old", "new"} {
		if err := h.SetWeight(ctx, name, EqualWeight); err != nil {
			t.Fatal(err)
		}
	}
	// A client with cookies stays on one target: its first page came from
	// old (the only target then).
	first := "old"
	for range 6 {
		resp, err := browser.Get(url + "/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != first {
			t.Fatalf("a client with the sticky cookie went from %s to %s", first, b)
		}
	}
	// A slow request in flight on old, then old drains.
	var wg sync.WaitGroup
	var slowBody string
	var slowErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 10 { // round robin: retry until old holds it
			slowBody, slowErr = get(url + "/slow")
			if slowBody == "old" || slowErr != nil {
				return
			}
		}
	}()
	time.Sleep(500 * time.Millisecond)
	if registered, err := h.Drain(ctx, "old"); err != nil || !registered {
		t.Fatalf("Drain(old) = %v, %v", registered, err)
	}
	if registered, err := h.Drain(ctx, "never-added"); err != nil || registered {
		t.Fatalf("Drain of a target never registered = %v, %v; want false, nil", registered, err)
	}
	for range 10 {
		if body, err := get(url + "/"); err != nil || body != "new" {
			t.Fatalf("after drain GET / = %q, %v; want new only", body, err)
		}
	}
	// The sticky client moves off a drained target, as off a
	// deregistering ALB target.
	{
		resp, err := browser.Get(url + "/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "new" {
			t.Fatalf("the sticky client of the drained target got %q, want new", b)
		}
	}
	servers, err := h.Servers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var drained bool
	for _, s := range servers {
		drained = drained || s.Name == "old" && s.Drain
	}
	if !drained {
		t.Fatalf("servers %+v: old is not draining", servers)
	}
	wg.Wait()
	if slowErr != nil || slowBody != "old" {
		t.Fatalf("the request in flight on the drained target: %q, %v", slowBody, slowErr)
	}
	if err := h.Deregister(ctx, "old"); err != nil {
		t.Fatal(err)
	}
	servers, _ = h.Servers(ctx)
	if len(servers) != 1 || servers[0].Name != "new" || !servers[0].Up {
		t.Fatalf("after deregistering old: %+v", servers)
	}
	pid, err := h.Stop()
	if err != nil || pid == 0 {
		t.Fatalf("Stop = %d, %v", pid, err)
	}
	if _, err := get(url + "/"); err == nil {
		t.Fatal("the load balancer still answers after Stop")
	}
}
