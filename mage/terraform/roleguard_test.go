package terraform

import (
	"encoding/json"
	"strings"
	"testing"

	tfjson "github.com/hashicorp/terraform-json"
)

// A plan as `terraform show -json` writes it, with one change of each kind
// a release's apply meets: what the deploy role may make passes; a service
// appearing (cron:generate), a role policy (a new secret), tags on a
// running service (default_tags) are refused before any apply, named.
func TestDeployRoleGuard(t *testing.T) {
	plan := planJSON(t, `{"format_version":"1.2","resource_changes":[
	  {"address":"module.app.aws_ecs_task_definition.web_app","mode":"managed","type":"aws_ecs_task_definition","change":{"actions":["create","delete"],"before":{},"after":{}}},
	  {"address":"module.app.aws_ecs_service.web_app","mode":"managed","type":"aws_ecs_service","change":{"actions":["update"],"before":{"task_definition":"a:1","tags_all":{"app":"shop"}},"after":{"task_definition":"a:2","tags_all":{"app":"shop"}}}},
	  {"address":"module.app.aws_scheduler_schedule.job[\"reports\"]","mode":"managed","type":"aws_scheduler_schedule","change":{"actions":["create"],"before":null,"after":{}}},
	  {"address":"terraform_data.task_definition[\"web_app\"]","mode":"managed","type":"terraform_data","change":{"actions":["create","delete"],"before":{},"after":{}}},
	  {"address":"data.aws_region.current","mode":"data","type":"aws_region","change":{"actions":["read"]}},
	  {"address":"module.app.aws_ecs_service.cron[0]","mode":"managed","type":"aws_ecs_service","change":{"actions":["create"],"before":null,"after":{}}},
	  {"address":"module.app.aws_iam_role_policy.execution","mode":"managed","type":"aws_iam_role_policy","change":{"actions":["update"],"before":{},"after":{}}},
	  {"address":"module.app.aws_ecs_service.sidekiq","mode":"managed","type":"aws_ecs_service","change":{"actions":["update"],"before":{"tags_all":{"app":"shop"}},"after":{"tags_all":{"app":"shop","team":"payments"}}}},
	  {"address":"module.app.aws_ecs_task_definition.sidekiq","mode":"managed","type":"aws_ecs_task_definition","change":{"actions":["update"],"before":{"tags":{}},"after":{"tags":{"a":"b"}}}},
	  {"address":"module.app.aws_ecs_service.web_app_old","mode":"managed","type":"aws_ecs_service","change":{"actions":["no-op"]}}
	]}`)
	err := GuardDeployRole("staging", DeployRoleChanges(plan))
	var re *RoleError
	if err == nil || !asRoleError(err, &re) {
		t.Fatalf("GuardDeployRole = %v", err)
	}
	var refused []string
	for _, c := range re.Refused {
		refused = append(refused, c.Address+" "+c.Action)
	}
	want := []string{"module.app.aws_ecs_service.cron[0] create", "module.app.aws_iam_role_policy.execution update",
		"module.app.aws_ecs_service.sidekiq update", "module.app.aws_ecs_task_definition.sidekiq update"}
	if strings.Join(refused, "|") != strings.Join(want, "|") {
		t.Errorf("refused %q, want %q", refused, want)
	}
	for _, s := range []string{"aws_ecs_service.cron[0] (create): creates a service", "changes a service's tags", "-role=infra", "tf:apply -env=staging"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("the refusal lacks %q:\n%v", s, err)
		}
	}
	// An image-only release passes.
	ok := planJSON(t, `{"format_version":"1.2","resource_changes":[
	  {"address":"module.app.aws_ecs_task_definition.web_app","mode":"managed","type":"aws_ecs_task_definition","change":{"actions":["create","delete"],"before":{},"after":{}}},
	  {"address":"module.app.aws_ecs_service.web_app","mode":"managed","type":"aws_ecs_service","change":{"actions":["update"],"before":{"task_definition":"a:1"},"after":{"task_definition":"a:2"}}}]}`)
	if err := GuardDeployRole("staging", DeployRoleChanges(ok)); err != nil {
		t.Errorf("an image-only plan refused: %v", err)
	}
}

func planJSON(t *testing.T, s string) *tfjson.Plan {
	t.Helper()
	var p tfjson.Plan
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		t.Fatal(err)
	}
	return &p
}

func asRoleError(err error, target **RoleError) bool {
	re, ok := err.(*RoleError)
	if ok {
		*target = re
	}
	return ok
}
