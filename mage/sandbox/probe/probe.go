// Package probe measures what users see during a deploy: several
// clients, each like a browser (its own cookies and connections),
// request a page and every digested asset it links, over and over, and
// one more keeps a slow request in flight, so every task stop has a
// request to cut if it cuts any. Every non-200 answer and every
// connection error counts.
package probe

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// Probe says what to request and how hard.
type Probe struct {
	URL     string        // the page, e.g. http://127.0.0.1:8080/
	Clients int           // browsers requesting the page and its assets (default 4)
	Slow    string        // a path that answers slowly ("" for none)
	Pause   time.Duration // between one client's page loads (default 50 ms)
	// MaxRequests bounds the run besides the context (default 100000).
	MaxRequests int
}

// Result counts what the clients got.
type Result struct {
	Requests, Failures, Asset404s int
	Pages, Assets, SlowRequests   int
	// Releases counts pages by the release they name (data-release).
	Releases map[string]int
	// Samples are the first failures, for the report, each with what
	// answered (the start of a non-200 body: HAProxy's 503 page says no
	// server was available; nginx's names the upstream).
	Samples []string
	// FirstFailure and LastFailure bound the failures in time.
	FirstFailure, LastFailure time.Time
}

func (r Result) String() string {
	var rel []string
	for k, v := range r.Releases {
		rel = append(rel, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(rel)
	line := fmt.Sprintf("%d requests (%d pages, %d assets, %d slow), %d failed, %d asset 404s; pages by release: %s",
		r.Requests, r.Pages, r.Assets, r.SlowRequests, r.Failures, r.Asset404s, strings.Join(rel, " "))
	if r.Failures > 0 {
		line += fmt.Sprintf("; failures from %s to %s", r.FirstFailure.Format("15:04:05.000"), r.LastFailure.Format("15:04:05.000"))
	}
	return line
}

var (
	assetRef   = regexp.MustCompile(`(?:href|src)="(/assets/[^"]+)"`)
	releaseRef = regexp.MustCompile(`data-release="([^"]*)"`)
	markup     = regexp.MustCompile(`<[^>]*>|\s+`)
)

// answered is the start of a failed answer's text, markup dropped.
func answered(body string) string {
	text := strings.TrimSpace(markup.ReplaceAllString(body, " "))
	if len(text) > 120 {
		text = text[:120] + "..."
	}
	return text
}

type tally struct {
	mu  sync.Mutex
	r   Result
	max int
}

func (t *tally) add(kind string, status int, err error, what, body string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.r.Requests++
	switch kind {
	case "page":
		t.r.Pages++
	case "asset":
		t.r.Assets++
	case "slow":
		t.r.SlowRequests++
	}
	if err == nil && status == http.StatusOK {
		return t.r.Requests < t.max
	}
	t.r.Failures++
	now := time.Now()
	if t.r.FirstFailure.IsZero() {
		t.r.FirstFailure = now
	}
	t.r.LastFailure = now
	if kind == "asset" && status == http.StatusNotFound {
		t.r.Asset404s++
	}
	if len(t.r.Samples) < 10 {
		at := now.Format("15:04:05.000")
		if err != nil {
			t.r.Samples = append(t.r.Samples, fmt.Sprintf("%s %s %s: %v", at, kind, what, err))
		} else {
			t.r.Samples = append(t.r.Samples, fmt.Sprintf("%s %s %s: %d %s", at, kind, what, status, answered(body)))
		}
	}
	return t.r.Requests < t.max
}

// Run requests until ctx ends or MaxRequests were made.
func Run(ctx context.Context, p Probe) Result {
	if p.Clients <= 0 {
		p.Clients = 4
	}
	if p.Pause == 0 {
		p.Pause = 50 * time.Millisecond
	}
	if p.MaxRequests == 0 {
		p.MaxRequests = 100000
	}
	t := &tally{r: Result{Releases: map[string]int{}}, max: p.MaxRequests}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	base := strings.TrimSuffix(p.URL, "/")
	var wg sync.WaitGroup
	for range p.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer cancel()
			c := browser()
			for ctx.Err() == nil {
				body, status, err := get(ctx, c, p.URL)
				if ctx.Err() != nil {
					return
				}
				more := t.add("page", status, err, p.URL, body)
				if m := releaseRef.FindStringSubmatch(body); m != nil && err == nil && status == 200 {
					t.mu.Lock()
					t.r.Releases[m[1]]++
					t.mu.Unlock()
				}
				for _, m := range assetRef.FindAllStringSubmatch(body, -1) {
					body, status, err := get(ctx, c, base+m[1])
					if ctx.Err() != nil {
						return
					}
					more = t.add("asset", status, err, m[1], body) && more
				}
				if !more {
					return
				}
				select {
				case <-ctx.Done():
				case <-time.After(p.Pause):
				}
			}
		}()
	}
	if p.Slow != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := browser()
			for ctx.Err() == nil {
				body, status, err := get(ctx, c, base+p.Slow)
				if ctx.Err() != nil {
					return
				}
				if !t.add("slow", status, err, p.Slow, body) {
					cancel()
				}
				if err != nil || status != http.StatusOK {
					select { // a failure answers at once: do not spin
					case <-ctx.Done():
					case <-time.After(p.Pause):
					}
				}
			}
		}()
	}
	wg.Wait()
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.r
}

// browser is one client: its own cookie jar and connection pool.
func browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 90 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
}

func get(ctx context.Context, c *http.Client, url string) (string, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", 0, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), resp.StatusCode, err
}
