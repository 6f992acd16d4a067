package repocheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestCircleCICallsOnlyExistingTargets parses .circleci/config.yml and
// checks its shape (version 2.1, jobs, a workflow whose production deploy
// waits for an approval) and that every mage target it runs is listed by
// `go run mage.go -l`.
func TestCircleCICallsOnlyExistingTargets(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repo, ".circleci", "config.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Version   any                       `json:"version"`
		Executors map[string]any            `json:"executors"`
		Commands  map[string]any            `json:"commands"`
		Jobs      map[string]map[string]any `json:"jobs"`
		Workflows map[string]struct {
			Jobs []any `json:"jobs"`
		} `json:"workflows"`
	}
	if err := yaml.UnmarshalStrict(data, &cfg); err != nil {
		t.Fatalf("config.yml: %v", err)
	}
	if v, _ := cfg.Version.(float64); v != 2.1 {
		t.Errorf("version = %v, want 2.1", cfg.Version)
	}
	approval := false
	for _, wf := range cfg.Workflows {
		for _, j := range wf.Jobs {
			if m, ok := j.(map[string]any); ok {
				for _, v := range m {
					if vm, ok := v.(map[string]any); ok && vm["type"] == "approval" {
						approval = true
					}
				}
			}
		}
	}
	if !approval {
		t.Error("no approval hold in the workflows")
	}

	list := exec.Command("go", "run", "mage.go", "-l")
	list.Dir = repo
	out, err := list.CombinedOutput()
	if err != nil {
		t.Fatalf("go run mage.go -l: %v\n%s", err, out)
	}
	calls := regexp.MustCompile(`(?:\./bin/mage|go run mage\.go)\s+([a-z][a-z:]*)`).FindAllStringSubmatch(string(data), -1)
	if len(calls) < 3 {
		t.Fatalf("found only %d mage calls in config.yml", len(calls))
	}
	for _, c := range calls {
		if !strings.Contains(string(out), "  "+c[1]+" ") {
			t.Errorf("config.yml runs mage target %q, which mage -l does not list", c[1])
		}
	}
	if strings.Contains(string(data), "AWS_SECRET_ACCESS_KEY") {
		t.Error("config.yml uses long-lived AWS keys; use OIDC")
	}
}
