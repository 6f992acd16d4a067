// Package verify checks an environment's AWS account before anything
// changes, one line per check with OK or FAIL and the fix: the cluster and
// services, the web target group (ip targets, behind a listener, health
// checked on a path nginx answers itself), the task roles, every secret
// reference, every awslogs group, the ECR repositories, the schedule group,
// and the role CI assumes. It only reads; secret values are never fetched.
package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// The small interfaces of the clients the checks read with.
type (
	ECSAPI interface {
		DescribeClusters(context.Context, *ecs.DescribeClustersInput, ...func(*ecs.Options)) (*ecs.DescribeClustersOutput, error)
		DescribeServices(context.Context, *ecs.DescribeServicesInput, ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
		DescribeTaskDefinition(context.Context, *ecs.DescribeTaskDefinitionInput, ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error)
	}
	ELBAPI interface {
		DescribeTargetGroups(context.Context, *elb.DescribeTargetGroupsInput, ...func(*elb.Options)) (*elb.DescribeTargetGroupsOutput, error)
		DescribeListeners(context.Context, *elb.DescribeListenersInput, ...func(*elb.Options)) (*elb.DescribeListenersOutput, error)
		DescribeRules(context.Context, *elb.DescribeRulesInput, ...func(*elb.Options)) (*elb.DescribeRulesOutput, error)
		DescribeTargetGroupAttributes(context.Context, *elb.DescribeTargetGroupAttributesInput, ...func(*elb.Options)) (*elb.DescribeTargetGroupAttributesOutput, error)
	}
	IAMAPI interface {
		GetRole(context.Context, *iam.GetRoleInput, ...func(*iam.Options)) (*iam.GetRoleOutput, error)
	}
	SSMAPI interface {
		GetParameters(context.Context, *ssm.GetParametersInput, ...func(*ssm.Options)) (*ssm.GetParametersOutput, error)
	}
	SecretsAPI interface {
		DescribeSecret(context.Context, *secretsmanager.DescribeSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
	}
	LogsAPI interface {
		DescribeLogGroups(context.Context, *cloudwatchlogs.DescribeLogGroupsInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogGroupsOutput, error)
	}
	ECRAPI interface {
		DescribeRepositories(context.Context, *ecr.DescribeRepositoriesInput, ...func(*ecr.Options)) (*ecr.DescribeRepositoriesOutput, error)
	}
	SchedulerAPI interface {
		GetScheduleGroup(context.Context, *scheduler.GetScheduleGroupInput, ...func(*scheduler.Options)) (*scheduler.GetScheduleGroupOutput, error)
	}
)

// Verifier holds what to check and the clients to check it with. A nil
// client skips its checks (ECR for a registry that is not ECR).
type Verifier struct {
	ECS       ECSAPI
	ELB       ELBAPI
	IAM       IAMAPI
	SSM       SSMAPI
	Secrets   SecretsAPI
	Logs      LogsAPI
	ECR       ECRAPI
	Scheduler SchedulerAPI

	Cluster       string
	Services      []string
	Repositories  []string // ECR repositories the images go to
	ScheduleGroup string   // "" when no schedules
	CIRole        string   // the role CI assumes, "" to skip
	// NginxConf is nginx.conf's text, to tell which paths nginx answers
	// itself (a health check that goes through to Rails fails whenever
	// Rails is slow, and the whole service is replaced).
	NginxConf string
}

// Result is one check.
type Result struct {
	Name   string
	OK     bool
	Detail string // what was found
	Fix    string // what to do when it failed
}

func (r Result) String() string {
	if r.OK {
		return "OK    " + r.Name + ": " + r.Detail
	}
	return "FAIL  " + r.Name + ": " + r.Detail + "\n      fix: " + r.Fix
}

// Write prints one line per result and reports whether all passed.
func Write(w io.Writer, results []Result) bool {
	ok := true
	for _, r := range results {
		fmt.Fprintln(w, r)
		ok = ok && r.OK
	}
	return ok
}

func pass(name, detail string) Result      { return Result{Name: name, OK: true, Detail: detail} }
func fail(name, detail, fix string) Result { return Result{Name: name, Detail: detail, Fix: fix} }
func failed(name string, err error, fix string) Result {
	return fail(name, err.Error(), fix)
}

// Cheap is the subset a deploy runs in its preflight: the cluster and the
// services exist.
func (v *Verifier) Cheap(ctx context.Context) []Result {
	results, _ := v.clusterAndServices(ctx)
	return results
}

// Run does every check.
func (v *Verifier) Run(ctx context.Context) []Result {
	results, services := v.clusterAndServices(ctx)
	defs := v.taskDefinitions(ctx, services, &results)
	results = append(results, v.targetGroups(ctx, services)...)
	results = append(results, v.roles(ctx, defs)...)
	results = append(results, v.secrets(ctx, defs)...)
	results = append(results, v.logGroups(ctx, defs)...)
	results = append(results, v.repositories(ctx)...)
	results = append(results, v.scheduleGroup(ctx)...)
	results = append(results, v.ciRole(ctx)...)
	return results
}

func (v *Verifier) clusterAndServices(ctx context.Context) ([]Result, []ecstypes.Service) {
	name := "cluster " + v.Cluster
	out, err := v.ECS.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{v.Cluster}})
	switch {
	case err != nil:
		return []Result{failed(name, err, "check the credentials and region of this environment")}, nil
	case len(out.Clusters) == 0 || aws.ToString(out.Clusters[0].Status) != "ACTIVE":
		return []Result{fail(name, "does not exist", "create it (terraform/modules/rails-app) or fix cluster in deploy.hcl")}, nil
	}
	results := []Result{pass(name, "ACTIVE")}
	var services []ecstypes.Service
	for start := 0; start < len(v.Services); start += 10 {
		batch := v.Services[start:min(start+10, len(v.Services))]
		got, err := v.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(v.Cluster), Services: batch})
		if err != nil {
			return append(results, failed("services", err, "check the deploy role's ecs:DescribeServices")), services
		}
		found := map[string]ecstypes.Service{}
		for _, s := range got.Services {
			found[aws.ToString(s.ServiceName)] = s
		}
		for _, n := range batch {
			s, ok := found[n]
			if !ok || aws.ToString(s.Status) != "ACTIVE" {
				results = append(results, fail("service "+n, "not found in "+v.Cluster, "create it with terraform, or fix the service name in deploy.hcl"))
				continue
			}
			services = append(services, s)
			results = append(results, pass("service "+n, fmt.Sprintf("ACTIVE, %d/%d running", s.RunningCount, s.DesiredCount)))
		}
	}
	return results, services
}

func (v *Verifier) taskDefinitions(ctx context.Context, services []ecstypes.Service, results *[]Result) []*ecstypes.TaskDefinition {
	var defs []*ecstypes.TaskDefinition
	for _, s := range services {
		out, err := v.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: s.TaskDefinition})
		if err != nil {
			*results = append(*results, failed("task definition of "+aws.ToString(s.ServiceName), err, "check the deploy role's ecs:DescribeTaskDefinition"))
			continue
		}
		defs = append(defs, out.TaskDefinition)
	}
	return defs
}

var exactReturnRE = regexp.MustCompile(`location\s*=\s*(\S+)\s*\{([^}]*)\}`)

// nginxAnswers lists the paths nginx.conf answers with a return of its own.
func nginxAnswers(conf string) []string {
	var paths []string
	for _, m := range exactReturnRE.FindAllStringSubmatch(conf, -1) {
		if strings.Contains(m[2], "return") && !strings.Contains(m[2], "proxy_pass") {
			paths = append(paths, m[1])
		}
	}
	return paths
}

func (v *Verifier) targetGroups(ctx context.Context, services []ecstypes.Service) []Result {
	if v.ELB == nil {
		return nil
	}
	var results []Result
	for _, s := range services {
		for _, lb := range s.LoadBalancers {
			arn := aws.ToString(lb.TargetGroupArn)
			name := "target group of " + aws.ToString(s.ServiceName)
			out, err := v.ELB.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{TargetGroupArns: []string{arn}})
			if err != nil || len(out.TargetGroups) == 0 {
				results = append(results, fail(name, fmt.Sprintf("%s not found (%v)", arn, err), "create the target group, or fix the service's load balancer"))
				continue
			}
			tg := out.TargetGroups[0]
			if string(tg.TargetType) != "ip" {
				results = append(results, fail(name, fmt.Sprintf("%s has target type %s", aws.ToString(tg.TargetGroupName), tg.TargetType), "awsvpc tasks register by IP: recreate the target group with target_type = \"ip\""))
			} else {
				results = append(results, pass(name, aws.ToString(tg.TargetGroupName)+" targets ip"))
			}
			results = append(results, v.listenerFor(ctx, tg.TargetGroupArn, tg.LoadBalancerArns, name))
			results = append(results, v.drain(ctx, tg.TargetGroupArn, name))
			path := aws.ToString(tg.HealthCheckPath)
			answered := nginxAnswers(v.NginxConf)
			if contains(answered, path) {
				results = append(results, pass(name+" health check", path+" is answered by nginx itself"))
			} else {
				results = append(results, fail(name+" health check", fmt.Sprintf("checks %s, which nginx passes to Rails (nginx answers itself: %s)", path, strings.Join(answered, ", ")),
					"point the health check at a path nginx returns itself (location = /nginx-health in docker/nginx.conf): a slow Rails would fail it and get every task replaced"))
			}
		}
	}
	return results
}

var proxyReadTimeoutRE = regexp.MustCompile(`proxy_read_timeout\s+(\d+)s?;`)

// drain checks the target group's deregistration delay: ECS stops a task
// only after the target group drained it, so the delay must outlast the
// longest request nginx waits for (proxy_read_timeout), or a request in
// flight is cut; far longer only slows every deploy (ALB's default is
// 300 s per task).
func (v *Verifier) drain(ctx context.Context, tgArn *string, name string) Result {
	name += " deregistration delay"
	out, err := v.ELB.DescribeTargetGroupAttributes(ctx, &elb.DescribeTargetGroupAttributesInput{TargetGroupArn: tgArn})
	if err != nil {
		return failed(name, err, "allow elasticloadbalancing:DescribeTargetGroupAttributes to whoever runs verify")
	}
	delay := 300 // the ALB default when the attribute is absent
	for _, a := range out.Attributes {
		if aws.ToString(a.Key) == "deregistration_delay.timeout_seconds" {
			delay, _ = strconv.Atoi(aws.ToString(a.Value))
		}
	}
	readTimeout := 60 // nginx's default
	if m := proxyReadTimeoutRE.FindStringSubmatch(v.NginxConf); m != nil {
		readTimeout, _ = strconv.Atoi(m[1])
	}
	switch {
	case delay < readTimeout:
		return fail(name, fmt.Sprintf("%d s, shorter than nginx's proxy_read_timeout (%d s): a request in flight when a task stops is cut", delay, readTimeout),
			fmt.Sprintf("set deregistration_delay = %d on the target group", readTimeout+15))
	case delay > 2*readTimeout+30:
		return pass(name, fmt.Sprintf("%d s (longer than the %d s a request can take: every old task waits that long; %d s is enough)", delay, readTimeout, readTimeout+15))
	}
	return pass(name, fmt.Sprintf("%d s, longer than nginx's proxy_read_timeout (%d s)", delay, readTimeout))
}

func (v *Verifier) listenerFor(ctx context.Context, tgArn *string, lbArns []string, name string) Result {
	for _, lbArn := range lbArns {
		ls, err := v.ELB.DescribeListeners(ctx, &elb.DescribeListenersInput{LoadBalancerArn: aws.String(lbArn)})
		if err != nil {
			return failed(name+" listener", err, "check the deploy role's elasticloadbalancing:DescribeListeners")
		}
		for _, l := range ls.Listeners {
			for _, a := range l.DefaultActions {
				if forwardsTo(a.TargetGroupArn, a.ForwardConfig, tgArn) {
					return pass(name+" listener", "port "+fmt.Sprint(aws.ToInt32(l.Port))+" forwards to it")
				}
			}
			rules, err := v.ELB.DescribeRules(ctx, &elb.DescribeRulesInput{ListenerArn: l.ListenerArn})
			if err != nil {
				continue
			}
			for _, r := range rules.Rules {
				for _, a := range r.Actions {
					if forwardsTo(a.TargetGroupArn, a.ForwardConfig, tgArn) {
						return pass(name+" listener", "a rule of port "+fmt.Sprint(aws.ToInt32(l.Port))+" forwards to it")
					}
				}
			}
		}
	}
	return fail(name+" listener", "no listener forwards to it", "add a listener (or a rule) on the load balancer that forwards to this target group")
}

func forwardsTo(direct *string, fc interface{}, tg *string) bool {
	if aws.ToString(direct) == aws.ToString(tg) {
		return true
	}
	data, _ := json.Marshal(fc)
	return strings.Contains(string(data), aws.ToString(tg))
}

func (v *Verifier) roles(ctx context.Context, defs []*ecstypes.TaskDefinition) []Result {
	if v.IAM == nil {
		return nil
	}
	seen := map[string]bool{}
	var results []Result
	for _, td := range defs {
		for _, arn := range []string{aws.ToString(td.ExecutionRoleArn), aws.ToString(td.TaskRoleArn)} {
			if arn == "" || seen[arn] {
				continue
			}
			seen[arn] = true
			name := "role " + arn[strings.LastIndexByte(arn, '/')+1:]
			out, err := v.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(arn[strings.LastIndexByte(arn, '/')+1:])})
			if err != nil {
				results = append(results, fail(name, "not found ("+err.Error()+")", "create it (terraform/modules/rails-app/iam.tf)"))
				continue
			}
			doc, _ := url.QueryUnescape(aws.ToString(out.Role.AssumeRolePolicyDocument))
			if !strings.Contains(doc, "ecs-tasks.amazonaws.com") {
				results = append(results, fail(name, "does not trust ecs-tasks.amazonaws.com", "let the ecs-tasks.amazonaws.com service assume it (its trust policy)"))
				continue
			}
			results = append(results, pass(name, "exists and trusts ecs-tasks.amazonaws.com"))
		}
	}
	return results
}

func (v *Verifier) secrets(ctx context.Context, defs []*ecstypes.TaskDefinition) []Result {
	if v.SSM == nil || v.Secrets == nil {
		return nil
	}
	refs := map[string]bool{}
	for _, td := range defs {
		for _, c := range td.ContainerDefinitions {
			for _, s := range c.Secrets {
				refs[aws.ToString(s.ValueFrom)] = true
			}
		}
	}
	var results []Result
	for _, ref := range sortedKeys(refs) {
		name := "secret " + ref
		if strings.Contains(ref, ":secretsmanager:") {
			id := ref
			// valueFrom may add :json-key:version-stage:version-id
			if parts := strings.Split(ref, ":"); len(parts) > 7 {
				id = strings.Join(parts[:7], ":")
			}
			if _, err := v.Secrets.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(id)}); err != nil {
				results = append(results, fail(name, "does not resolve", "create the secret in Secrets Manager, or fix rails_secrets"))
				continue
			}
			results = append(results, pass(name, "exists (value not read)"))
			continue
		}
		param := ref
		if i := strings.Index(ref, ":parameter"); i >= 0 {
			param = ref[i+len(":parameter"):]
		}
		out, err := v.SSM.GetParameters(ctx, &ssm.GetParametersInput{Names: []string{param}})
		if err != nil || len(out.InvalidParameters) > 0 || len(out.Parameters) == 0 {
			results = append(results, fail(name, "does not resolve", "create the SSM parameter "+param+", or fix rails_secrets"))
			continue
		}
		results = append(results, pass(name, "exists (value not printed)"))
	}
	return results
}

func (v *Verifier) logGroups(ctx context.Context, defs []*ecstypes.TaskDefinition) []Result {
	if v.Logs == nil {
		return nil
	}
	groups := map[string]bool{}
	for _, td := range defs {
		for _, c := range td.ContainerDefinitions {
			if lc := c.LogConfiguration; lc != nil && lc.LogDriver == ecstypes.LogDriverAwslogs {
				groups[lc.Options["awslogs-group"]] = true
			}
		}
	}
	var results []Result
	for _, g := range sortedKeys(groups) {
		out, err := v.Logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(g)})
		found := false
		if err == nil {
			for _, lg := range out.LogGroups {
				found = found || aws.ToString(lg.LogGroupName) == g
			}
		}
		if !found {
			results = append(results, fail("log group "+g, "does not exist: tasks logging to it fail to start", "create it (aws_cloudwatch_log_group in the module)"))
			continue
		}
		results = append(results, pass("log group "+g, "exists"))
	}
	return results
}

func (v *Verifier) repositories(ctx context.Context) []Result {
	if v.ECR == nil {
		return nil
	}
	var results []Result
	for _, r := range v.Repositories {
		if _, err := v.ECR.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{r}}); err != nil {
			results = append(results, fail("repository "+r, "does not exist", "create it (terraform/modules/rails-app/ecr.tf)"))
			continue
		}
		results = append(results, pass("repository "+r, "exists"))
	}
	return results
}

func (v *Verifier) scheduleGroup(ctx context.Context) []Result {
	if v.ScheduleGroup == "" || v.Scheduler == nil {
		return nil
	}
	name := "schedule group " + v.ScheduleGroup
	if _, err := v.Scheduler.GetScheduleGroup(ctx, &scheduler.GetScheduleGroupInput{Name: aws.String(v.ScheduleGroup)}); err != nil {
		return []Result{fail(name, "does not exist", "create it (aws_scheduler_schedule_group in the module) before the schedules deploy")}
	}
	return []Result{pass(name, "exists")}
}

// ciRole reads the CI role's trust policy, since CI never calls
// sts:AssumeRole: a CircleCI job exchanges its OIDC token with
// AssumeRoleWithWebIdentity, which only the trust policy decides (and which
// this caller cannot try without a CircleCI token). The role must trust a
// CircleCI OIDC provider for that action, for the org's audience, and only
// for one project's jobs (the sub, or the project-id claim).
func (v *Verifier) ciRole(ctx context.Context) []Result {
	if v.CIRole == "" || v.IAM == nil {
		return nil
	}
	name := "CI role " + v.CIRole
	roleName := v.CIRole[strings.LastIndexByte(v.CIRole, '/')+1:]
	out, err := v.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(roleName)})
	if err != nil {
		var missing *iamtypes.NoSuchEntityException
		if errors.As(err, &missing) {
			return []Result{fail(name, "the role does not exist", "create it (ci_oidc in the module, or by hand with `mage iam:policy`), and check the ARN in deploy.hcl")}
		}
		return []Result{fail(name, "cannot be read ("+err.Error()+")", "allow iam:GetRole to whoever runs verify")}
	}
	doc, _ := url.QueryUnescape(aws.ToString(out.Role.AssumeRolePolicyDocument))
	if why := circleCITrust(doc); why != "" {
		return []Result{fail(name, why, "its trust policy must allow sts:AssumeRoleWithWebIdentity to the oidc.circleci.com/org/ORG_ID provider with conditions on :aud (the org ID) and :sub (org/ORG_ID/project/PROJECT_ID/user/*), as ci_oidc in terraform/modules/rails-app writes it")}
	}
	return []Result{pass(name, "trusts CircleCI's OIDC provider for one project's jobs")}
}

// circleCITrust says what is wrong with a trust policy for CircleCI's OIDC
// federation ("" when nothing is).
func circleCITrust(doc string) string {
	var policy struct {
		Statement []struct {
			Effect    string
			Action    any
			Principal struct{ Federated any }
			Condition map[string]map[string]any
		}
	}
	if err := json.Unmarshal([]byte(doc), &policy); err != nil {
		return "its trust policy is not JSON (" + err.Error() + ")"
	}
	anyOf := func(v any, match func(string) bool) bool {
		switch x := v.(type) {
		case string:
			return match(x)
		case []any:
			for _, e := range x {
				if s, ok := e.(string); ok && match(s) {
					return true
				}
			}
		}
		return false
	}
	sawCircleCI := false
	for _, st := range policy.Statement {
		if st.Effect != "Allow" || !anyOf(st.Principal.Federated, func(s string) bool { return strings.Contains(s, ":oidc-provider/oidc.circleci.com/org/") }) {
			continue
		}
		sawCircleCI = true
		if !anyOf(st.Action, func(s string) bool { return s == "sts:AssumeRoleWithWebIdentity" }) {
			continue
		}
		aud, project := false, false
		for _, keys := range st.Condition {
			for k := range keys {
				aud = aud || strings.HasSuffix(k, ":aud")
				project = project || strings.HasSuffix(k, ":sub") || strings.HasSuffix(k, ":oidc.circleci.com/project-id")
			}
		}
		switch {
		case !aud:
			return "trusts CircleCI without a condition on the token's audience (:aud)"
		case !project:
			return "trusts every CircleCI project of the org: no condition on :sub or the project-id claim"
		}
		return ""
	}
	if sawCircleCI {
		return "trusts CircleCI's OIDC provider, but not for sts:AssumeRoleWithWebIdentity"
	}
	return "does not trust CircleCI's OIDC provider (oidc.circleci.com/org/ORG_ID), so no CircleCI job can assume it"
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		if k != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}
