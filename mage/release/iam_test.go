package release

import (
	"context"
	"strings"
	"testing"

	"github.com/railsecs/deploykit/mage/awsfake"
	"github.com/railsecs/deploykit/mage/config"
	"github.com/railsecs/deploykit/mage/iam"
	"github.com/railsecs/deploykit/mage/internal/iamsim"
	"github.com/railsecs/deploykit/mage/internal/testtools"
)

// adminOnly are calls the sandbox makes that a real environment's deploy
// role never does: creating the services is the first apply of the
// infrastructure, reviewed and applied by someone with broader rights
// (terraform/modules/rails-app/DEPLOY_POLICY.md).
var adminOnly = map[string]string{
	"CreateService":  "the first apply creates the services",
	"CreateLogGroup": "log groups are terraform resources created with the infrastructure",
	"CreateCluster":  "the cluster is created with the infrastructure",
}

// deployPolicyDenials renders the environment's deploy policy and asks the
// IAM simulator about every authorization the double recorded.
func deployPolicyDenials(t *testing.T, cfg *config.Config, env *config.Environment, recorded []awsfake.AuthzRequest, without string) []string {
	return policyDenials(t, cfg, env, "deploy", recorded, without)
}

// policyDenials asks the IAM simulator about recorded under the role's
// policy (deploy, operator, ...), less the statement without.
func policyDenials(t *testing.T, cfg *config.Config, env *config.Environment, role string, recorded []awsfake.AuthzRequest, without string) []string {
	t.Helper()
	policies, err := iam.Render(context.Background(), testtools.Tofu(t), testtools.RepoRoot(t), iam.InputsFor(cfg, env))
	if err != nil {
		t.Fatal(err)
	}
	policy := policies[role]
	if without != "" {
		policy = iamsim.WithoutStatement(t, policy, without)
	}
	principal := "arn:aws:iam::" + env.Account + ":role/" + cfg.App + "-" + env.Name + "-" + role
	var reqs []iamsim.Request
	for _, a := range recorded {
		if _, skip := adminOnly[a.Operation]; skip {
			continue
		}
		reqs = append(reqs, iamsim.Request{Principal: principal, Action: a.Action, Resource: a.Resource, Account: env.Account, Context: a.Context, Why: a.Operation})
	}
	reqs = iamsim.Dedup(reqs)
	if len(reqs) < 3 {
		t.Fatalf("only %d distinct authorizations recorded: nothing ran?", len(reqs))
	}
	t.Logf("%d distinct authorizations checked against the %s %s policy", len(reqs), env.Name, role)
	return iamsim.Denied(t, []iamsim.Policy{{Name: role, Policy: policy}}, reqs)
}

// checkDeployPolicy fails naming every recorded call the deploy policy
// would deny, and proves the check can fail: without the statement that
// authorizes tagging on create, the same calls must be denied.
func checkDeployPolicy(t *testing.T, s *sandbox) {
	t.Helper()
	recorded := s.fake.Authorizations()
	if denied := deployPolicyDenials(t, s.d.Config, s.d.Env, recorded, ""); len(denied) > 0 {
		t.Errorf("the %s deploy policy denies %d call(s) the sandbox lifecycle made:\n  %s", s.d.Env.Name, len(denied), strings.Join(denied, "\n  "))
	}
	denied := deployPolicyDenials(t, s.d.Config, s.d.Env, recorded, "TagWhatItCreates")
	if len(denied) == 0 || !strings.Contains(strings.Join(denied, "\n"), "ecs:TagResource") {
		t.Errorf("removing the tag-on-create statement denied nothing: the check cannot fail (%v)", denied)
	}
}
