// Package iamsim evaluates IAM policies with a real IAM evaluator that we
// did not write: the npm package @cloud-copilot/iam-simulate, with AWS's
// service authorization data (which condition keys apply to which action
// and resource type). tools/iam holds it; scripts/setup installs it.
package iamsim

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/railsecs/deploykit/mage/internal/testtools"
)

// Policy is one identity policy document.
type Policy struct {
	Name   string          `json:"name"`
	Policy json.RawMessage `json:"policy"`
}

// Request is one authorization to evaluate.
type Request struct {
	Principal string            `json:"principal"`
	Action    string            `json:"action"`
	Resource  string            `json:"resource"`
	Account   string            `json:"account"`
	Context   map[string]string `json:"context,omitempty"`
	// ResourcePolicy is the resource's own policy (a bucket's, a
	// repository's), evaluated with the identity policies: a request across
	// accounts needs both to allow it.
	ResourcePolicy json.RawMessage `json:"resourcePolicy,omitempty"`
	// Why says where the request comes from, for failure messages.
	Why string `json:"-"`
}

// Result is the simulator's decision on one request.
type Result struct {
	Action   string `json:"action"`
	Resource string `json:"resource"`
	Result   string `json:"result"` // Allowed, ImplicitlyDenied, ExplicitlyDenied
	Errors   any    `json:"errors,omitempty"`
}

// Evaluate asks the simulator about every request, in order.
func Evaluate(t testing.TB, policies []Policy, requests []Request) []Result {
	t.Helper()
	node := testtools.Need(t, "node")
	dir := filepath.Join(testtools.RepoRoot(t), "tools", "iam")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@cloud-copilot", "iam-simulate")); err != nil {
		msg := "the IAM simulator is not installed: npm ci --prefix tools/iam (scripts/setup does it)"
		if os.Getenv(testtools.RequireEnv) != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	input, err := json.Marshal(map[string]any{"policies": policies, "requests": requests})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, filepath.Join(dir, "simulate.mjs"))
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(input)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("iam-simulate: %v\n%s", err, stderr.String())
	}
	var results []Result
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r Result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("iam-simulate printed %q: %v", sc.Text(), err)
		}
		results = append(results, r)
	}
	if len(results) != len(requests) {
		t.Fatalf("iam-simulate answered %d of %d requests\n%s", len(results), len(requests), stderr.String())
	}
	return results
}

// Denied lists, one line each, the requests the policies do not allow.
func Denied(t testing.TB, policies []Policy, requests []Request) []string {
	t.Helper()
	var denied []string
	for i, r := range Evaluate(t, policies, requests) {
		if r.Result == "Allowed" && r.Errors == nil {
			continue
		}
		req := requests[i]
		ctx := ""
		if len(req.Context) > 0 {
			data, _ := json.Marshal(req.Context)
			ctx = " " + string(data)
		}
		line := fmt.Sprintf("%s on %s%s: %s", req.Action, req.Resource, ctx, r.Result)
		if r.Errors != nil {
			line += fmt.Sprintf(" (errors: %v)", r.Errors)
		}
		if req.Why != "" {
			line += " [" + req.Why + "]"
		}
		denied = append(denied, line)
	}
	return denied
}

// Dedup drops requests identical in action, resource and context.
func Dedup(requests []Request) []Request {
	seen := map[string]bool{}
	var out []Request
	for _, r := range requests {
		ctx, _ := json.Marshal(r.Context)
		key := strings.Join([]string{r.Action, r.Resource, string(ctx)}, "\x00")
		if !seen[key] {
			seen[key] = true
			out = append(out, r)
		}
	}
	return out
}

// WithoutStatement returns the policy with the statement sid removed, to
// prove a check fails when a permission is missing.
func WithoutStatement(t testing.TB, policy json.RawMessage, sid string) json.RawMessage {
	t.Helper()
	var doc struct {
		Version   string           `json:"Version"`
		Statement []map[string]any `json:"Statement"`
	}
	if err := json.Unmarshal(policy, &doc); err != nil {
		t.Fatal(err)
	}
	kept := doc.Statement[:0]
	for _, s := range doc.Statement {
		if s["Sid"] != sid {
			kept = append(kept, s)
		}
	}
	if len(kept) == len(doc.Statement) {
		t.Fatalf("the policy has no statement %q", sid)
	}
	doc.Statement = kept
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
