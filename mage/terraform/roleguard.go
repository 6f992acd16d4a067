package terraform

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	tfjson "github.com/hashicorp/terraform-json"
)

// DeployRoleChange is one resource change of a plan, and whether the CI
// deploy role (terraform/modules/rails-app-iam's deploy policy) may make it.
type DeployRoleChange struct {
	Address string
	Action  string // create, update, delete, replace
	Why     string // why the deploy role may not, "" when it may
}

// DeployRoleChanges judges every change of the plan against what the deploy
// role may do: register task definitions (a new revision, with tags on
// create), update services (not their tags), create, update and delete
// schedules, and anything terraform_data (the sandbox's stand-ins). All
// else (a service created or removed, a role's policy, a tag on an
// existing resource, a log group) needs the infrastructure role.
func DeployRoleChanges(plan *tfjson.Plan) []DeployRoleChange {
	var out []DeployRoleChange
	for _, rc := range plan.ResourceChanges {
		if rc.Change == nil || rc.Mode != tfjson.ManagedResourceMode {
			continue
		}
		a := rc.Change.Actions
		var action string
		switch {
		case a.Replace():
			action = "replace"
		case a.Create():
			action = "create"
		case a.Update():
			action = "update"
		case a.Delete():
			action = "delete"
		default:
			continue
		}
		c := DeployRoleChange{Address: rc.Address, Action: action}
		switch rc.Type {
		case "terraform_data":
		case "aws_ecs_task_definition":
			// Revisions are immutable: a change is a new revision (the old
			// one kept by skip_destroy); in place only tags change.
			if action == "update" || action == "delete" {
				c.Why = "changes an existing task definition revision (its tags)"
			}
		case "aws_ecs_service":
			switch {
			case action != "update":
				c.Why = action + "s a service"
			case tagsChange(rc.Change):
				c.Why = "changes a service's tags (ecs:TagResource)"
			}
		case "aws_scheduler_schedule":
		default:
			c.Why = action + "s a " + rc.Type
		}
		out = append(out, c)
	}
	return out
}

func tagsChange(ch *tfjson.Change) bool {
	before, _ := ch.Before.(map[string]any)
	after, _ := ch.After.(map[string]any)
	unknownAfter, _ := ch.AfterUnknown.(map[string]any)
	for _, k := range []string{"tags", "tags_all"} {
		if !reflect.DeepEqual(before[k], after[k]) {
			if _, unknown := unknownAfter[k]; unknown && before[k] != nil {
				continue // recomputed from unchanged tags
			}
			return true
		}
	}
	return false
}

// RoleError lists the changes the deploy role may not make.
type RoleError struct {
	Env     string
	Refused []DeployRoleChange
}

func (e *RoleError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "refusing a plan the CI deploy role cannot apply (it may register task definitions, update services and schedules): applying it would fail halfway, after some changes:")
	refused := append([]DeployRoleChange(nil), e.Refused...)
	sort.Slice(refused, func(i, j int) bool { return refused[i].Address < refused[j].Address })
	for _, c := range refused {
		fmt.Fprintf(&b, "\n  %s (%s): %s", c.Address, c.Action, c.Why)
	}
	fmt.Fprintf(&b, "\napply these first with the infrastructure role (go run mage.go iam:policy -env=%s -role=infra prints its policy): go run mage.go tf:apply -env=%s; then deploy (or pass -force where your credentials may make them)", e.Env, e.Env)
	return b.String()
}

// GuardDeployRole refuses a plan with a change the deploy role may not make.
func GuardDeployRole(env string, changes []DeployRoleChange) error {
	var refused []DeployRoleChange
	for _, c := range changes {
		if c.Why != "" {
			refused = append(refused, c)
		}
	}
	if len(refused) == 0 {
		return nil
	}
	return &RoleError{Env: env, Refused: refused}
}
