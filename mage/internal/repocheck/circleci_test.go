package repocheck

import (
	"bytes"

	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/railsecs/deploykit/mage/internal/circleci"
	"github.com/railsecs/deploykit/mage/targets"

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
	validateSchema(t, data)
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
	calls := regexp.MustCompile(`(?:~/bin/mage|go run mage\.go)[ \t]+([a-z][a-z:]*)`).FindAllStringSubmatch(string(data), -1)
	if len(calls) < 3 {
		t.Fatalf("found only %d mage calls in config.yml", len(calls))
	}
	for _, c := range calls {
		if !strings.Contains(string(out), "  "+c[1]+" ") {
			t.Errorf("config.yml runs mage target %q, which mage -l does not list", c[1])
		}
	}
	// targets.Targets (which refuses stray words) lists exactly these.
	var listed []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "  ") && strings.TrimSpace(line) != "" {
			listed = append(listed, strings.Fields(line)[0])
		}
	}
	if strings.Join(listed, " ") != strings.Join(targets.Targets, " ") {
		t.Errorf("targets.Targets = %v\nmage -l lists %v", targets.Targets, listed)
	}
	if strings.Contains(string(data), "AWS_SECRET_ACCESS_KEY") {
		t.Error("config.yml uses long-lived AWS keys; use OIDC")
	}
}

// validateSchema checks config.yml against the CircleCI 2.1 schema kept in
// testdata (the structure the configuration reference documents).
func validateSchema(t *testing.T, configYAML []byte) {
	t.Helper()
	schemaFile, err := os.Open(filepath.Join("testdata", "circleci-config.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer schemaFile.Close()
	schemaDoc, err := jsonschema.UnmarshalJSON(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("circleci-config.schema.json", schemaDoc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile("circleci-config.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	asJSON, err := yaml.YAMLToJSON(configYAML)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(asJSON))
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(inst); err != nil {
		t.Errorf("config.yml does not validate against the CircleCI schema: %v", err)
	}
	// The schema is not a check that cannot fail: a typo'd key is refused.
	for _, typo := range [][2]string{{`"resource_class"`, `"resource-class"`}, {`"paths"`, `"path"`}, {`"steps"`, `"step"`}} {
		broken := bytes.Replace(asJSON, []byte(typo[0]), []byte(typo[1]), 1)
		bad, _ := jsonschema.UnmarshalJSON(bytes.NewReader(broken))
		if schema.Validate(bad) == nil {
			t.Errorf("the schema accepted %s misspelled as %s", typo[0], typo[1])
		}
	}
}

// The rules every run step keeps: it is scripts/setup, the mage compile (to
// a path outside the work tree, never cached), a mage target, or the OIDC
// credential hand-off; never deploy logic. A compiled magefile never
// outlives its sources: no cache holds one.
var allowedRunLines = []*regexp.Regexp{
	regexp.MustCompile(`^scripts/setup( (test|push|deploy|promote))?$`),
	regexp.MustCompile(`^go run mage\.go -compile ~/bin/mage$`),
	regexp.MustCompile(`^~/bin/mage [a-z][a-z:]*( -[a-z]+(=[^ ;&|$()` + "`" + `]+)?)*$`),
}

var oidcLines = []*regexp.Regexp{
	regexp.MustCompile(`^mkdir -p ~/\.aws$`),
	regexp.MustCompile(`^echo "\$CIRCLE_OIDC_TOKEN_V2" > ~/\.aws/oidc-token$`),
	regexp.MustCompile(`^chmod 600 ~/\.aws/oidc-token$`),
	regexp.MustCompile(`^echo "export AWS_[A-Z_]+=[^"]*" >> "\$BASH_ENV"$`),
}

func TestCircleCIRunStepsAreSetupOrMage(t *testing.T) {
	cfg, err := circleci.Load(filepath.Join(repo, ".circleci", "config.yml"))
	if err != nil {
		t.Fatal(err)
	}
	invocations := cfg.Invocations()
	if len(invocations) < 4 {
		t.Fatalf("workflows run %d jobs", len(invocations))
	}
	for _, inv := range invocations {
		steps, err := cfg.Steps(inv.Job, inv.Params)
		if err != nil {
			t.Fatalf("%s: %v", inv.Name, err)
		}
		for _, st := range steps {
			for _, p := range st.Paths {
				if strings.Contains(p, "mage") && st.Kind == "save_cache" {
					t.Errorf("%s: save_cache keeps %s: a cached mage binary can outlive its sources", inv.Name, p)
				}
			}
			if st.Kind != "run" {
				continue
			}
			rules := allowedRunLines
			if st.From == "aws-oidc" {
				rules = oidcLines
			}
			for _, line := range st.Lines() {
				if !matchesAny(rules, line) {
					t.Errorf("%s: step %q runs %q: run steps may only be scripts/setup, the mage compile or a mage target (put logic in a target)", inv.Name, st.Name, line)
				}
			}
		}
	}
}

// Production promotes the pipeline's own commit (the checkout's HEAD), not
// whatever staging deployed last: approving an older pipeline must not apply
// its terraform with newer images.
func TestProductionPromotesThePipelinesCommit(t *testing.T) {
	cfg, err := circleci.Load(filepath.Join(repo, ".circleci", "config.yml"))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, inv := range cfg.Invocations() {
		if inv.Name != "deploy-production" {
			continue
		}
		steps, err := cfg.Steps(inv.Job, inv.Params)
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range steps {
			for _, line := range st.Lines() {
				if strings.HasPrefix(line, "~/bin/mage ") && !strings.HasPrefix(line, "~/bin/mage -compile") {
					found = true
					if !strings.HasPrefix(line, "~/bin/mage promote ") || !strings.Contains(line, " -commit=HEAD") || !strings.Contains(line, "-env=production") {
						t.Errorf("deploy-production runs %q: it must promote this pipeline's commit (mage promote -env=production -commit=HEAD)", line)
					}
				}
			}
		}
	}
	if !found {
		t.Fatal("no deploy-production job runs mage")
	}
}

// The rules are not a check that cannot fail.
func TestCircleCIRulesRefuseLogic(t *testing.T) {
	for _, line := range []string{"./bin/mage deploy -env=staging", "terraform apply -auto-approve", "~/bin/mage deploy -env=$(cat env)", "sudo scripts/setup", "[ -x bin/mage ] || go run mage.go -compile ./bin/mage"} {
		if matchesAny(allowedRunLines, line) {
			t.Errorf("the rules accept %q", line)
		}
	}
}

func matchesAny(rules []*regexp.Regexp, line string) bool {
	for _, r := range rules {
		if r.MatchString(line) {
			return true
		}
	}
	return false
}
