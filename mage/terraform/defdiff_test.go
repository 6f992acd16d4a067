package terraform

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	tfjson "github.com/hashicorp/terraform-json"
)

func taskDefChange(t *testing.T, before, after []map[string]any) *tfjson.ResourceChange {
	t.Helper()
	enc := func(defs []map[string]any) map[string]any {
		b, err := json.Marshal(defs)
		if err != nil {
			t.Fatal(err)
		}
		return map[string]any{"family": "shop-staging-web-app", "container_definitions": string(b)}
	}
	return &tfjson.ResourceChange{Address: "module.app.aws_ecs_task_definition.web_app", Mode: tfjson.ManagedResourceMode,
		Change: &tfjson.Change{Actions: tfjson.Actions{tfjson.ActionDelete, tfjson.ActionCreate}, Before: enc(before), After: enc(after)}}
}

func TestDefinitionDiff(t *testing.T) {
	env := func(kv ...string) []any {
		var out []any
		for i := 0; i < len(kv); i += 2 {
			out = append(out, map[string]any{"name": kv[i], "value": kv[i+1]})
		}
		return out
	}
	before := []map[string]any{{
		"name": "unicorn", "image": "r/app:aaa", "cpu": 256, "command": []any{"bundle", "exec", "unicorn"},
		"environment": env("RAILS_ENV", "production", "WEB_CONCURRENCY", "2"),
		"secrets":     []any{map[string]any{"name": "DATABASE_URL", "valueFrom": "arn:aws:ssm:us-east-1:1:parameter/shop/db"}},
	}, {"name": "nginx", "image": "r/nginx:aaa"}}
	after := []map[string]any{{
		"name": "unicorn", "image": "r/app:bbb", "cpu": 512, "command": []any{"bundle", "exec", "unicorn"},
		// reordered, one value changed, one added
		"environment": env("WEB_CONCURRENCY", "3", "RAILS_ENV", "production", "RAILS_MAX_THREADS", "5"),
		"secrets":     []any{map[string]any{"name": "DATABASE_URL", "valueFrom": "arn:aws:ssm:us-east-1:1:parameter/shop/db-v2"}},
	}, {"name": "nginx", "image": "r/nginx:bbb"}}
	s := Summarize(&tfjson.Plan{ResourceChanges: []*tfjson.ResourceChange{taskDefChange(t, before, after)}})
	if len(s.Definitions) != 1 || s.Definitions[0].Container != "unicorn" {
		t.Fatalf("definition changes = %+v, want unicorn only (nginx changed only its image)", s.Definitions)
	}
	want := []string{
		"- cpu = 256", "+ cpu = 512",
		`+ environment.RAILS_MAX_THREADS = "5"`,
		`- environment.WEB_CONCURRENCY = "2"`, `+ environment.WEB_CONCURRENCY = "3"`,
		`- secrets.DATABASE_URL = "arn:aws:ssm:us-east-1:1:parameter/shop/db"`, `+ secrets.DATABASE_URL = "arn:aws:ssm:us-east-1:1:parameter/shop/db-v2"`,
	}
	if got := strings.Join(s.Definitions[0].Lines, "\n"); got != strings.Join(want, "\n") {
		t.Errorf("diff:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	var buf bytes.Buffer
	s.Write(&buf)
	if !strings.Contains(buf.String(), "Container unicorn of module.app.aws_ecs_task_definition.web_app changes besides its image:\n  - cpu = 256") {
		t.Errorf("summary:\n%s", buf.String())
	}
	// An image-only change shows no definition diff.
	after[0] = map[string]any{}
	for k, v := range before[0] {
		after[0][k] = v
	}
	after[0]["image"] = "r/app:ccc"
	if s := Summarize(&tfjson.Plan{ResourceChanges: []*tfjson.ResourceChange{taskDefChange(t, before, after)}}); len(s.Definitions) != 0 {
		t.Errorf("image-only change listed %+v", s.Definitions)
	}
}
