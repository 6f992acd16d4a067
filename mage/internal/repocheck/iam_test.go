package repocheck

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/railsecs/deploykit/mage/config"
	"github.com/railsecs/deploykit/mage/iam"
	"github.com/railsecs/deploykit/mage/internal/iamsim"
)

// call is one authorization, reviewed by hand against the AWS provider's
// behaviour and the Service Authorization Reference. Resource and context
// values use ${region}, ${account}, ${cluster}, ${name} (APP-ENV), ${env}
// and ${bucket}.
type call struct {
	who, action, resource string
	context               map[string]string
}

// terraformCalls is what terraform plan (refresh) and an apply of new
// image tags and schedules call with the deploy role, per resource type
// of terraform/modules/rails-app, plus the S3 backend and the toolkit's
// lock and release history in the state bucket.
var terraformCalls = []call{
	{"data.aws_caller_identity", "sts:GetCallerIdentity", "*", nil},
	{"aws_ecs_cluster (read)", "ecs:DescribeClusters", "arn:aws:ecs:${region}:${account}:cluster/${cluster}", nil},
	{"aws_cloudwatch_log_group (read)", "logs:DescribeLogGroups", "*", nil}, // no resource type: "*" only
	{"aws_cloudwatch_log_group (tags)", "logs:ListTagsForResource", "arn:aws:logs:${region}:${account}:log-group:/ecs/${name}/web-app", nil},
	{"aws_ecs_task_definition (read)", "ecs:DescribeTaskDefinition", "*", nil},
	{"aws_ecs_task_definition (new revision)", "ecs:RegisterTaskDefinition", "arn:aws:ecs:${region}:${account}:task-definition/${name}-web-app:7", nil},
	{"aws_ecs_task_definition (default_tags)", "ecs:TagResource", "arn:aws:ecs:${region}:${account}:task-definition/${name}-web-app:7", map[string]string{"ecs:CreateAction": "RegisterTaskDefinition"}},
	{"aws_ecs_task_definition (execution role)", "iam:PassRole", "arn:aws:iam::${account}:role/${name}-execution", map[string]string{"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
	{"aws_ecs_task_definition (task role)", "iam:PassRole", "arn:aws:iam::${account}:role/${name}-task", map[string]string{"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
	{"aws_ecs_service.web_app (read)", "ecs:DescribeServices", "arn:aws:ecs:${region}:${account}:service/${cluster}/web-app", map[string]string{"ecs:cluster": "arn:aws:ecs:${region}:${account}:cluster/${cluster}"}},
	{"aws_ecs_service.web_app (update)", "ecs:UpdateService", "arn:aws:ecs:${region}:${account}:service/${cluster}/web-app", map[string]string{"ecs:cluster": "arn:aws:ecs:${region}:${account}:cluster/${cluster}", "ecs:task-definition": "arn:aws:ecs:${region}:${account}:task-definition/${name}-web-app:8"}},
	{"aws_ecs_service.sidekiq (update)", "ecs:UpdateService", "arn:aws:ecs:${region}:${account}:service/${cluster}/sidekiq", map[string]string{"ecs:cluster": "arn:aws:ecs:${region}:${account}:cluster/${cluster}", "ecs:task-definition": "arn:aws:ecs:${region}:${account}:task-definition/${name}-sidekiq:8"}},
	{"aws_ecs_service.cron (update)", "ecs:UpdateService", "arn:aws:ecs:${region}:${account}:service/${cluster}/cron", map[string]string{"ecs:cluster": "arn:aws:ecs:${region}:${account}:cluster/${cluster}", "ecs:task-definition": "arn:aws:ecs:${region}:${account}:task-definition/${name}-cron:8"}},
	{"aws_ecs_service.web_app (desired count only)", "ecs:UpdateService", "arn:aws:ecs:${region}:${account}:service/${cluster}/web-app", map[string]string{"ecs:cluster": "arn:aws:ecs:${region}:${account}:cluster/${cluster}"}},
	{"aws_ecs_service (tags)", "ecs:ListTagsForResource", "arn:aws:ecs:${region}:${account}:service/${cluster}/web-app", nil},
	{"data.aws_lb", "elasticloadbalancing:DescribeLoadBalancers", "*", nil},
	{"data.aws_lb (tags)", "elasticloadbalancing:DescribeTags", "*", nil},
	{"data.aws_lb_target_group", "elasticloadbalancing:DescribeTargetGroups", "*", nil},
	{"aws_ecr_repository (read)", "ecr:DescribeRepositories", "arn:aws:ecr:${region}:${account}:repository/shop/app", nil},
	{"aws_ecr_repository (tags)", "ecr:ListTagsForResource", "arn:aws:ecr:${region}:${account}:repository/shop/nginx", nil},
	{"aws_ecr_lifecycle_policy (read)", "ecr:GetLifecyclePolicy", "arn:aws:ecr:${region}:${account}:repository/shop/build-cache", nil},
	{"aws_iam_role (read)", "iam:GetRole", "arn:aws:iam::${account}:role/${name}-scheduler", nil},
	{"aws_iam_role (inline policies)", "iam:ListRolePolicies", "arn:aws:iam::${account}:role/${name}-execution", nil},
	{"aws_iam_role (attached policies)", "iam:ListAttachedRolePolicies", "arn:aws:iam::${account}:role/${name}-task", nil},
	{"aws_iam_role_policy (read)", "iam:GetRolePolicy", "arn:aws:iam::${account}:role/${name}-task", nil},
	{"aws_scheduler_schedule_group (read)", "scheduler:GetScheduleGroup", "arn:aws:scheduler:${region}:${account}:schedule-group/${name}", nil},
	{"aws_scheduler_schedule_group (tags)", "scheduler:ListTagsForResource", "arn:aws:scheduler:${region}:${account}:schedule-group/${name}", nil},
	{"aws_scheduler_schedule (read)", "scheduler:GetSchedule", "arn:aws:scheduler:${region}:${account}:schedule/${name}/reports-daily", nil},
	{"aws_scheduler_schedule (create)", "scheduler:CreateSchedule", "arn:aws:scheduler:${region}:${account}:schedule/${name}/reports-daily", nil},
	{"aws_scheduler_schedule (update)", "scheduler:UpdateSchedule", "arn:aws:scheduler:${region}:${account}:schedule/${name}/reports-daily", nil},
	{"aws_scheduler_schedule (delete)", "scheduler:DeleteSchedule", "arn:aws:scheduler:${region}:${account}:schedule/${name}/reports-daily", nil},
	{"aws_scheduler_schedule (role)", "iam:PassRole", "arn:aws:iam::${account}:role/${name}-scheduler", map[string]string{"iam:PassedToService": "scheduler.amazonaws.com"}},
	{"aws_cloudwatch_metric_alarm (read)", "cloudwatch:DescribeAlarms", "arn:aws:cloudwatch:${region}:${account}:alarm:${name}-web-5xx", nil},
	{"aws_cloudwatch_metric_alarm (tags)", "cloudwatch:ListTagsForResource", "arn:aws:cloudwatch:${region}:${account}:alarm:${name}-web-latency", nil},
	{"aws_ecs_service.web_app (staged: infrastructure role)", "iam:PassRole", "arn:aws:iam::${account}:role/${name}-ecs-infrastructure", map[string]string{"iam:PassedToService": "ecs.amazonaws.com"}},
	{"aws_sqs_queue (read)", "sqs:GetQueueAttributes", "arn:aws:sqs:${region}:${account}:${name}-schedule-dlq", nil},
	{"aws_sqs_queue (tags)", "sqs:ListQueueTags", "arn:aws:sqs:${region}:${account}:${name}-schedule-dlq", nil},
	{"S3 backend (list)", "s3:ListBucket", "arn:aws:s3:::${bucket}", nil},
	{"S3 backend (state)", "s3:GetObject", "arn:aws:s3:::${bucket}/${env}/terraform.tfstate", nil},
	{"S3 backend (state)", "s3:PutObject", "arn:aws:s3:::${bucket}/${env}/terraform.tfstate", nil},
	{"S3 backend (use_lockfile)", "s3:PutObject", "arn:aws:s3:::${bucket}/${env}/terraform.tfstate.tflock", nil},
	{"S3 backend (use_lockfile)", "s3:DeleteObject", "arn:aws:s3:::${bucket}/${env}/terraform.tfstate.tflock", nil},
	{"deploy lock", "s3:PutObject", "arn:aws:s3:::${bucket}/${env}/deploykit/lock.json", nil},
	{"release history", "s3:GetObject", "arn:aws:s3:::${bucket}/${env}/deploykit/releases/2026-11-25T10-00-00Z.json", nil},
}

// schedulerCalls is what EventBridge Scheduler does with the scheduler role
// for one job: RunTask of the migrate task definition revision the release
// applied (schedules are pinned to it), tagging the task it creates,
// passing the task roles, and the dead letter on failure.
var schedulerCalls = []call{
	{"schedule target (revision)", "ecs:RunTask", "arn:aws:ecs:${region}:${account}:task-definition/${name}-migrate:12", map[string]string{"ecs:cluster": "arn:aws:ecs:${region}:${account}:cluster/${cluster}"}},
	{"schedule tags", "ecs:TagResource", "arn:aws:ecs:${region}:${account}:task/${cluster}/0123456789abcdef0123456789abcdef", map[string]string{"ecs:CreateAction": "RunTask"}},
	{"execution role", "iam:PassRole", "arn:aws:iam::${account}:role/${name}-execution", map[string]string{"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
	{"task role", "iam:PassRole", "arn:aws:iam::${account}:role/${name}-task", map[string]string{"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
	{"dead letter", "sqs:SendMessage", "arn:aws:sqs:${region}:${account}:${name}-schedule-dlq", nil},
}

func stagingPolicies(t *testing.T) (iam.Policies, *config.Environment, func(string) string) {
	t.Helper()
	cfg, err := config.Load(repo+"/deploy.hcl", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	env, err := cfg.Env("staging")
	if err != nil {
		t.Fatal(err)
	}
	policies, err := iam.Render(context.Background(), tofu(t), repo, iam.InputsFor(cfg, env))
	if err != nil {
		t.Fatal(err)
	}
	expand := strings.NewReplacer("${region}", env.Region, "${account}", env.Account, "${cluster}", env.Cluster,
		"${name}", cfg.App+"-"+env.Name, "${env}", env.Name, "${bucket}", env.Terraform.Backend["bucket"]).Replace
	return policies, env, expand
}

func requests(env *config.Environment, role string, calls []call, expand func(string) string) []iamsim.Request {
	var reqs []iamsim.Request
	for _, c := range calls {
		ctx := map[string]string{}
		for k, v := range c.context {
			ctx[k] = expand(v)
		}
		reqs = append(reqs, iamsim.Request{
			Principal: "arn:aws:iam::" + env.Account + ":role/" + role, Action: c.action,
			Resource: expand(c.resource), Account: env.Account, Context: ctx, Why: c.who,
		})
	}
	return reqs
}

func TestDeployPolicyAllowsWhatTerraformCalls(t *testing.T) {
	policies, env, expand := stagingPolicies(t)
	reqs := requests(env, "shop-staging-deploy", terraformCalls, expand)
	if denied := iamsim.Denied(t, []iamsim.Policy{{Name: "deploy", Policy: policies["deploy"]}}, reqs); len(denied) > 0 {
		t.Errorf("the staging deploy policy denies what terraform calls:\n  %s", strings.Join(denied, "\n  "))
	}
}

func TestSchedulerPolicyAllowsWhatSchedulerCalls(t *testing.T) {
	policies, env, expand := stagingPolicies(t)
	reqs := requests(env, "shop-staging-scheduler", schedulerCalls, expand)
	if denied := iamsim.Denied(t, []iamsim.Policy{{Name: "scheduler", Policy: policies["scheduler"]}}, reqs); len(denied) > 0 {
		t.Errorf("the staging scheduler policy denies what EventBridge Scheduler calls:\n  %s", strings.Join(denied, "\n  "))
	}
	// The check can fail: the scheduler role without its TagJobTasks
	// statement is denied the tagged RunTask, as it was before it had one.
	broken := iamsim.WithoutStatement(t, policies["scheduler"], "TagJobTasks")
	denied := iamsim.Denied(t, []iamsim.Policy{{Name: "scheduler", Policy: broken}}, reqs)
	if len(denied) != 1 || !strings.Contains(denied[0], "ecs:TagResource") {
		t.Errorf("without TagJobTasks the simulator should deny exactly the tagging; denied: %v", denied)
	}
}

// The policies must also refuse what they should: another cluster, another
// app's task definitions, a role passed to another service.
func TestDeployPolicyRefusesOutsideItsEnvironment(t *testing.T) {
	policies, env, expand := stagingPolicies(t)
	outside := []call{
		{"another cluster", "ecs:RunTask", "arn:aws:ecs:${region}:${account}:task-definition/${name}-migrate:3", map[string]string{"ecs:cluster": "arn:aws:ecs:${region}:${account}:cluster/other"}},
		{"another app", "ecs:RunTask", "arn:aws:ecs:${region}:${account}:task-definition/billing-staging-migrate:3", map[string]string{"ecs:cluster": "arn:aws:ecs:${region}:${account}:cluster/${cluster}"}},
		{"a service pointed at another app's task definition", "ecs:UpdateService", "arn:aws:ecs:${region}:${account}:service/${cluster}/web-app", map[string]string{"ecs:cluster": "arn:aws:ecs:${region}:${account}:cluster/${cluster}", "ecs:task-definition": "arn:aws:ecs:${region}:${account}:task-definition/billing-staging-web-app:3"}},
		{"another service", "ecs:UpdateService", "arn:aws:ecs:${region}:${account}:service/${cluster}/admin", map[string]string{"ecs:cluster": "arn:aws:ecs:${region}:${account}:cluster/${cluster}"}},
		{"role to lambda", "iam:PassRole", "arn:aws:iam::${account}:role/${name}-task", map[string]string{"iam:PassedToService": "lambda.amazonaws.com"}},
		{"tag an existing task definition", "ecs:TagResource", "arn:aws:ecs:${region}:${account}:task-definition/${name}-web-app:7", nil},
		{"production state", "s3:PutObject", "arn:aws:s3:::${bucket}/production/terraform.tfstate", nil},
		{"delete a repository", "ecr:DeleteRepository", "arn:aws:ecr:${region}:${account}:repository/shop/app", nil},
		{"read another app's role", "iam:GetRole", "arn:aws:iam::${account}:role/billing-staging-task", nil},
		{"read another app's repository", "ecr:DescribeRepositories", "arn:aws:ecr:${region}:${account}:repository/billing/app", nil},
		{"read another cluster", "ecs:DescribeClusters", "arn:aws:ecs:${region}:${account}:cluster/other", nil},
		{"prune another app's images", "ecr:BatchDeleteImage", "arn:aws:ecr:${region}:${account}:repository/billing/app", nil},
	}
	reqs := requests(env, "shop-staging-deploy", outside, expand)
	denied := iamsim.Denied(t, []iamsim.Policy{{Name: "deploy", Policy: policies["deploy"]}}, reqs)
	if len(denied) != len(outside) {
		t.Errorf("the deploy policy allows %d of %d calls outside its environment; denied only:\n  %s", len(outside)-len(denied), len(outside), strings.Join(denied, "\n  "))
	}
}

// pruneCalls is what mage prune calls besides the reads every operator
// target makes: the lock, the registry (ECR's API), the revisions.
var pruneCalls = []call{
	{"prune's lock", "s3:PutObject", "arn:aws:s3:::${bucket}/${env}/deploykit/lock.json", nil},
	{"prune's lock (release)", "s3:DeleteObject", "arn:aws:s3:::${bucket}/${env}/deploykit/lock.json", nil},
	{"release history", "s3:GetObject", "arn:aws:s3:::${bucket}/${env}/deploykit/releases/2026-11-25T10-00-00Z.json", nil},
	{"registry login", "ecr:GetAuthorizationToken", "*", nil},
	{"list a repository's tags", "ecr:ListImages", "arn:aws:ecr:${region}:${account}:repository/shop/app", nil},
	{"read a tag's digest", "ecr:BatchGetImage", "arn:aws:ecr:${region}:${account}:repository/shop/nginx", nil},
	{"delete an old image", "ecr:BatchDeleteImage", "arn:aws:ecr:${region}:${account}:repository/shop/app", nil},
	{"list revisions", "ecs:ListTaskDefinitions", "*", nil},
	{"deregister an old revision", "ecs:DeregisterTaskDefinition", "*", nil},
}

// Prune belongs to people, not to CI: the operator policy allows every
// call it makes, and the CI deploy policy can no longer delete images or
// deregister revisions (DeregisterTaskDefinition cannot be scoped to this
// app's families).
func TestPruneIsTheOperatorsNotCIs(t *testing.T) {
	policies, env, expand := stagingPolicies(t)
	operator := []iamsim.Policy{{Name: "operator", Policy: policies["operator"]}}
	if denied := iamsim.Denied(t, operator, requests(env, "shop-staging-operator", pruneCalls, expand)); len(denied) > 0 {
		t.Errorf("the operator policy denies what prune calls:\n  %s", strings.Join(denied, "\n  "))
	}
	deploy := []iamsim.Policy{{Name: "deploy", Policy: policies["deploy"]}}
	denied := strings.Join(iamsim.Denied(t, deploy, requests(env, "shop-staging-deploy", pruneCalls, expand)), "\n")
	for _, action := range []string{"ecr:BatchDeleteImage", "ecs:DeregisterTaskDefinition"} {
		if !strings.Contains(denied, action) {
			t.Errorf("the CI deploy policy still allows %s", action)
		}
	}
}

// infraCalls is what an apply of the changes a release refuses calls: the
// cron service appearing or going (cron:generate), a new secret's role
// policy, default_tags on running resources, a log group.
var infraCalls = []call{
	{"aws_ecs_service.cron (create)", "ecs:CreateService", "arn:aws:ecs:${region}:${account}:service/${cluster}/cron", map[string]string{"ecs:cluster": "arn:aws:ecs:${region}:${account}:cluster/${cluster}"}},
	{"aws_ecs_service.cron (destroy)", "ecs:DeleteService", "arn:aws:ecs:${region}:${account}:service/${cluster}/cron", map[string]string{"ecs:cluster": "arn:aws:ecs:${region}:${account}:cluster/${cluster}"}},
	{"aws_iam_role_policy.execution (a new secret)", "iam:PutRolePolicy", "arn:aws:iam::${account}:role/${name}-execution", nil},
	{"default_tags on a service", "ecs:TagResource", "arn:aws:ecs:${region}:${account}:service/${cluster}/web-app", nil},
	{"aws_cloudwatch_log_group (create)", "logs:CreateLogGroup", "arn:aws:logs:${region}:${account}:log-group:/ecs/${name}/cron", nil},
	{"aws_ecr_repository (tags)", "ecr:TagResource", "arn:aws:ecr:${region}:${account}:repository/shop/app", nil},
}

// A release's plan that needs any of infraCalls is refused before its
// apply (terraform.GuardDeployRole): the deploy role would fail on them
// halfway. The infra role (iam:policy -role=infra) may make them, and
// everything the deploy role may, within this app only.
func TestInfraRoleMakesWhatTheDeployRoleMayNot(t *testing.T) {
	policies, env, expand := stagingPolicies(t)
	infra := []iamsim.Policy{{Name: "infra", Policy: policies["infra"]}}
	if denied := iamsim.Denied(t, infra, requests(env, "shop-staging-infra", append(infraCalls, terraformCalls...), expand)); len(denied) > 0 {
		t.Errorf("the infra policy denies:\n  %s", strings.Join(denied, "\n  "))
	}
	deploy := []iamsim.Policy{{Name: "deploy", Policy: policies["deploy"]}}
	if denied := iamsim.Denied(t, deploy, requests(env, "shop-staging-deploy", infraCalls, expand)); len(denied) != len(infraCalls) {
		t.Errorf("the deploy policy allows %d of the %d infrastructure calls; denied only:\n  %s", len(infraCalls)-len(denied), len(infraCalls), strings.Join(denied, "\n  "))
	}
	outside := []call{
		{"another app's role", "iam:PutRolePolicy", "arn:aws:iam::${account}:role/billing-staging-task", nil},
		{"another cluster's service", "ecs:DeleteService", "arn:aws:ecs:${region}:${account}:service/other/web-app", map[string]string{"ecs:cluster": "arn:aws:ecs:${region}:${account}:cluster/other"}},
	}
	if denied := iamsim.Denied(t, infra, requests(env, "shop-staging-infra", outside, expand)); len(denied) != len(outside) {
		t.Errorf("the infra policy reaches outside its app: denied only %v", denied)
	}
}

// Promotion across accounts, as IAM decides a request from production's
// deploy role on staging's bucket and repositories: the identity side
// (production's deploy policy) and the resource side (staging's bucket and
// repository policies, from promoted_by) each allow exactly the release
// history and the image pulls, and neither alone is enough.
func TestPromotionAcrossAccounts(t *testing.T) {
	cfg, err := config.Load(repo+"/deploy.hcl", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	staging, _ := cfg.Env("staging")
	production, _ := cfg.Env("production")
	render := func(env *config.Environment) iam.Policies {
		p, err := iam.Render(context.Background(), tofu(t), repo, iam.InputsFor(cfg, env))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	src, dst := render(staging), render(production)
	principal := iam.DeployRoleARN(cfg, production)
	bucket := staging.Terraform.Backend["bucket"]
	releases := "arn:aws:s3:::" + bucket + "/staging/deploykit/releases/20261201T000000.000000000Z-c0ffee000001.json"
	repository := "arn:aws:ecr:" + staging.Region + ":" + staging.Account + ":repository/shop/app"
	req := func(action, resource string, resourcePolicy []byte, ctx map[string]string) iamsim.Request {
		return iamsim.Request{Principal: principal, Action: action, Resource: resource, Account: staging.Account, Context: ctx, ResourcePolicy: resourcePolicy}
	}
	identity := []iamsim.Policy{{Name: "deploy", Policy: dst["deploy"]}}
	allowed := []iamsim.Request{
		req("s3:GetObject", releases, src["promotion-bucket"], nil),
		req("s3:ListBucket", "arn:aws:s3:::"+bucket, src["promotion-bucket"], map[string]string{"s3:prefix": "staging/deploykit/releases/"}),
		req("ecr:BatchGetImage", repository, src["promotion-repository"], nil),
		req("ecr:GetDownloadUrlForLayer", repository, src["promotion-repository"], nil),
		req("ecr:BatchCheckLayerAvailability", repository, src["promotion-repository"], nil),
	}
	if denied := iamsim.Denied(t, identity, allowed); len(denied) > 0 {
		t.Errorf("production cannot promote from staging:\n  %s", strings.Join(denied, "\n  "))
	}
	// Neither side alone, nothing beyond the releases, nobody else.
	var noResource []iamsim.Request
	for _, r := range allowed {
		r.ResourcePolicy = nil
		noResource = append(noResource, r)
	}
	if denied := iamsim.Denied(t, identity, noResource); len(denied) != len(noResource) {
		t.Errorf("without staging's resource policies %d of %d requests pass: the check proves nothing", len(noResource)-len(denied), len(noResource))
	}
	noIdentity := []iamsim.Policy{{Name: "deploy", Policy: iamsim.WithoutStatement(t, iamsim.WithoutStatement(t, dst["deploy"], "PromotionReadsSourceReleases"), "PromotionPullsSourceImages")}}
	if denied := iamsim.Denied(t, noIdentity, []iamsim.Request{allowed[0], allowed[2]}); len(denied) != 2 {
		t.Errorf("without production's promotion statements the reads pass (denied %v)", denied)
	}
	beyond := []iamsim.Request{
		req("s3:GetObject", "arn:aws:s3:::"+bucket+"/staging/terraform.tfstate", src["promotion-bucket"], nil),
		req("s3:PutObject", releases, src["promotion-bucket"], nil),
		req("ecr:PutImage", repository, src["promotion-repository"], nil),
	}
	other := req("s3:GetObject", releases, src["promotion-bucket"], nil)
	other.Principal = "arn:aws:iam::210987654321:role/someone-else"
	beyond = append(beyond, other)
	if denied := iamsim.Denied(t, identity, beyond); len(denied) != len(beyond) {
		t.Errorf("promotion reaches beyond the release history and image pulls: denied only\n  %s", strings.Join(denied, "\n  "))
	}
	// The env roots give the modules what deploy.hcl implies.
	stagingRoot, _ := os.ReadFile(filepath.Join(repo, "terraform", "envs", "staging", "main.tf"))
	if !strings.Contains(string(stagingRoot), `promoted_by = ["`+principal+`"]`) {
		t.Errorf("terraform/envs/staging does not name %s in promoted_by", principal)
	}
	productionRoot, _ := os.ReadFile(filepath.Join(repo, "terraform", "envs", "production", "main.tf"))
	for _, want := range []string{`account_id   = "` + staging.Account + `"`, `state_bucket = "` + bucket + `"`, `env          = "staging"`} {
		if !strings.Contains(string(productionRoot), want) {
			t.Errorf("terraform/envs/production's promote_from lacks %s", want)
		}
	}
}

// serviceDeploymentCalls: waiting on a rollout's service deployment and
// rolling it back in flight (Ctrl-C, -timeout, mage abort).
var serviceDeploymentCalls = []call{
	{"wait: find it", "ecs:ListServiceDeployments", "arn:aws:ecs:${region}:${account}:service/${cluster}/web-app", nil},
	{"wait: follow it", "ecs:DescribeServiceDeployments", "arn:aws:ecs:${region}:${account}:service-deployment/${cluster}/web-app/r9i43YFjvgF_xlg7m2eJ1r", nil},
	{"wait: its images", "ecs:DescribeServiceRevisions", "arn:aws:ecs:${region}:${account}:service-revision/${cluster}/sidekiq/4980306466373577095", nil},
	{"roll back in flight", "ecs:StopServiceDeployment", "arn:aws:ecs:${region}:${account}:service-deployment/${cluster}/web-app/r9i43YFjvgF_xlg7m2eJ1r", nil},
	{"the gate's answer", "ecs:ContinueServiceDeployment", "arn:aws:ecs:${region}:${account}:service-deployment/${cluster}/web-app/r9i43YFjvgF_xlg7m2eJ1r", nil},
}

// The deploy role may follow and stop its own services' deployments, and
// no other cluster's: the same calls on another cluster are all denied.
func TestDeployPolicyCoversServiceDeploymentsOfItsOwnServicesOnly(t *testing.T) {
	policies, env, expand := stagingPolicies(t)
	deploy := []iamsim.Policy{{Name: "deploy", Policy: policies["deploy"]}}
	reqs := requests(env, "shop-staging-deploy", serviceDeploymentCalls, expand)
	if denied := iamsim.Denied(t, deploy, reqs); len(denied) > 0 {
		t.Errorf("the staging deploy policy denies the service deployment calls:\n  %s", strings.Join(denied, "\n  "))
	}
	other := strings.NewReplacer("${cluster}", "billing-production").Replace
	elsewhere := requests(env, "shop-staging-deploy", serviceDeploymentCalls, func(s string) string { return expand(other(s)) })
	if denied := iamsim.Denied(t, deploy, elsewhere); len(denied) != len(elsewhere) {
		t.Errorf("on another cluster's services %d of %d calls are denied, want all:\n  %s", len(denied), len(elsewhere), strings.Join(denied, "\n  "))
	}
}
