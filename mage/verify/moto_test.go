package verify

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/railsecs/deploykit/mage/internal/testaws"
	"github.com/railsecs/deploykit/mage/internal/testtools"
)

// broken names the one thing the account gets wrong ("" for none).
type broken string

const (
	ecsTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	ec2Trust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	// What ci_oidc in terraform/modules/rails-app writes.
	ciTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/oidc.circleci.com/org/0f1e2d3c"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"oidc.circleci.com/org/0f1e2d3c:aud":"0f1e2d3c"},"StringLike":{"oidc.circleci.com/org/0f1e2d3c:sub":"org/0f1e2d3c/project/9a8b7c6d/user/*"}}}]}`
	// Every project of the org may assume it.
	circleCIOrgWide = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/oidc.circleci.com/org/0f1e2d3c"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"oidc.circleci.com/org/0f1e2d3c:aud":"0f1e2d3c"}}}]}`
)

// account lays out, in moto_server, a staging account as the rails-app
// module makes it, with one thing broken, and returns a Verifier for it.
func account(t *testing.T, b broken) *Verifier {
	t.Helper()
	endpoint := testaws.Moto(t)
	ctx := context.Background()
	cfg := testaws.Config(endpoint)
	ecsCfg := testaws.Config(testaws.ECSTypeFixProxy(t, endpoint))
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	ec2c := ec2.NewFromConfig(cfg)
	vpc, err := ec2c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	var subnets []string
	for i, az := range []string{"us-east-1a", "us-east-1b"} {
		sn, err := ec2c.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, CidrBlock: aws.String([]string{"10.0.1.0/24", "10.0.2.0/24"}[i]), AvailabilityZone: aws.String(az)})
		if err != nil {
			t.Fatal(err)
		}
		subnets = append(subnets, aws.ToString(sn.Subnet.SubnetId))
	}
	sg, err := ec2c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("web"), Description: aws.String("web"), VpcId: vpc.Vpc.VpcId})
	if err != nil {
		t.Fatal(err)
	}

	elbc := elb.NewFromConfig(cfg)
	lb, err := elbc.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("shop-staging"), Subnets: subnets, SecurityGroups: []string{aws.ToString(sg.GroupId)}})
	if err != nil {
		t.Fatal(err)
	}
	tgType, health := elbtypes.TargetTypeEnumIp, "/nginx-health"
	if b == "instance target group" {
		tgType = elbtypes.TargetTypeEnumInstance
	}
	if b == "health check through Rails" {
		health = "/up"
	}
	tg, err := elbc.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: aws.String("shop-staging-web"), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(80),
		VpcId: vpc.Vpc.VpcId, TargetType: tgType, HealthCheckPath: aws.String(health)})
	if err != nil {
		t.Fatal(err)
	}
	tgArn := tg.TargetGroups[0].TargetGroupArn
	delay := "75" // longer than nginx.conf's proxy_read_timeout
	if b == "deregistration delay under the read timeout" {
		delay = "30"
	}
	must(elbc.ModifyTargetGroupAttributes(ctx, &elb.ModifyTargetGroupAttributesInput{TargetGroupArn: tgArn,
		Attributes: []elbtypes.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String(delay)}}}))
	if b != "no listener" {
		must(elbc.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: lb.LoadBalancers[0].LoadBalancerArn, Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(80),
			DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: tgArn}}}))
	}

	iamc := iam.NewFromConfig(cfg)
	roles := map[string]string{}
	for _, r := range []string{"shop-staging-execution", "shop-staging-task", "shop-staging-ci-deploy"} {
		trust := ecsTrust
		if b == "task role trusts another service" && r == "shop-staging-task" {
			trust = ec2Trust
		}
		if r == "shop-staging-ci-deploy" {
			trust = ciTrust
			switch b {
			case "CI role trusts the whole org":
				trust = circleCIOrgWide
			case "CI role trusts no CircleCI":
				trust = ecsTrust
			}
		}
		if b == "missing execution role" && r == "shop-staging-execution" {
			roles[r] = "arn:aws:iam::123456789012:role/" + r
			continue
		}
		out, err := iamc.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(r), AssumeRolePolicyDocument: aws.String(trust)})
		if err != nil {
			t.Fatal(err)
		}
		roles[r] = aws.ToString(out.Role.Arn)
	}

	ssmc := ssm.NewFromConfig(cfg)
	if b != "missing SSM parameter" {
		must(ssmc.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/shop/staging/SECRET_KEY_BASE"), Value: aws.String("not-printed-ever"), Type: "SecureString"}))
	}
	smc := secretsmanager.NewFromConfig(cfg)
	secret, err := smc.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("shop/staging/database"), SecretString: aws.String("mysql2://not-printed-ever")})
	if err != nil {
		t.Fatal(err)
	}
	logsc := cloudwatchlogs.NewFromConfig(cfg)
	if b != "missing log group" {
		must(logsc.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/ecs/shop-staging/web-app")}))
	}
	ecrc := ecr.NewFromConfig(cfg)
	for _, r := range []string{"shop/app", "shop/nginx"} {
		if b == "missing repository" && r == "shop/nginx" {
			continue
		}
		must(ecrc.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(r)}))
	}
	schedc := scheduler.NewFromConfig(cfg)
	if b != "missing schedule group" {
		must(schedc.CreateScheduleGroup(ctx, &scheduler.CreateScheduleGroupInput{Name: aws.String("shop-staging")}))
	}

	ecsc := ecs.NewFromConfig(ecsCfg)
	must(ecsc.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("shop-staging")}))
	secretRef := aws.ToString(secret.ARN)
	must(ecsc.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("shop-staging-web-app"), NetworkMode: ecstypes.NetworkModeAwsvpc, RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		Cpu: aws.String("512"), Memory: aws.String("1024"), ExecutionRoleArn: aws.String(roles["shop-staging-execution"]), TaskRoleArn: aws.String(roles["shop-staging-task"]),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name: aws.String("unicorn"), Image: aws.String("123456789012.dkr.ecr.us-east-1.amazonaws.com/shop/app:abc"), Essential: aws.Bool(true), Memory: aws.Int32(512),
			Secrets: []ecstypes.Secret{
				{Name: aws.String("SECRET_KEY_BASE"), ValueFrom: aws.String("arn:aws:ssm:us-east-1:123456789012:parameter/shop/staging/SECRET_KEY_BASE")},
				{Name: aws.String("DATABASE_URL"), ValueFrom: aws.String(secretRef)},
			},
			LogConfiguration: &ecstypes.LogConfiguration{LogDriver: ecstypes.LogDriverAwslogs, Options: map[string]string{
				"awslogs-group": "/ecs/shop-staging/web-app", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "web-app"}},
		}},
	}))
	must(ecsc.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster: aws.String("shop-staging"), ServiceName: aws.String("web-app"), TaskDefinition: aws.String("shop-staging-web-app"),
		DesiredCount: aws.Int32(1), LaunchType: ecstypes.LaunchTypeFargate,
		LoadBalancers:        []ecstypes.LoadBalancer{{TargetGroupArn: tgArn, ContainerName: aws.String("nginx"), ContainerPort: aws.Int32(80)}},
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{Subnets: subnets, SecurityGroups: []string{aws.ToString(sg.GroupId)}}},
	}))

	nginx, err := os.ReadFile(filepath.Join(testtools.RepoRoot(t), "docker", "nginx.conf"))
	if err != nil {
		t.Fatal(err)
	}
	v := &Verifier{
		ECS: ecsc, ELB: elbc, IAM: iamc, SSM: ssmc, Secrets: smc, Logs: logsc, ECR: ecrc, Scheduler: schedc,
		Cluster: "shop-staging", Services: []string{"web-app"}, Repositories: []string{"shop/app", "shop/nginx"},
		ScheduleGroup: "shop-staging", CIRole: roles["shop-staging-ci-deploy"], NginxConf: string(nginx),
	}
	switch b {
	case "missing cluster":
		v.Cluster = "shop-stagin"
	case "missing service":
		v.Services = append(v.Services, "sidekiq")
	case "missing CI role":
		v.CIRole = "arn:aws:iam::123456789012:role/shop-staging-deploy-typo"
	}
	return v
}

func TestVerifyPassesOnAWellConfiguredAccount(t *testing.T) {
	v := account(t, "")
	results := v.Run(context.Background())
	var out strings.Builder
	if !Write(&out, results) {
		t.Fatalf("a well-configured account failed verify:\n%s", out.String())
	}
	if len(results) < 12 || strings.Contains(out.String(), "not-printed-ever") {
		t.Errorf("verify output (%d checks):\n%s", len(results), out.String())
	}
	if cheap := v.Cheap(context.Background()); len(cheap) != 2 || !cheap[0].OK || !cheap[1].OK {
		t.Errorf("the preflight subset = %+v", cheap)
	}
}

// Each broken item fails its own check, with the fix, and nothing else.
func TestVerifyNamesEachBrokenItem(t *testing.T) {
	cases := map[broken][2]string{ // check name prefix, words of the fix
		"missing cluster":                             {"cluster shop-stagin", "fix cluster in deploy.hcl"},
		"missing service":                             {"service sidekiq", "create it with terraform"},
		"instance target group":                       {"target group of web-app", `target_type = "ip"`},
		"no listener":                                 {"target group of web-app listener", "add a listener"},
		"health check through Rails":                  {"target group of web-app health check", "location = /nginx-health"},
		"deregistration delay under the read timeout": {"target group of web-app deregistration delay", "deregistration_delay = 75"},
		"missing execution role":                      {"role shop-staging-execution", "create it"},
		"task role trusts another service":            {"role shop-staging-task", "ecs-tasks.amazonaws.com"},
		"missing SSM parameter":                       {"secret arn:aws:ssm:", "create the SSM parameter /shop/staging/SECRET_KEY_BASE"},
		"missing log group":                           {"log group /ecs/shop-staging/web-app", "aws_cloudwatch_log_group"},
		"missing repository":                          {"repository shop/nginx", "ecr.tf"},
		"missing schedule group":                      {"schedule group shop-staging", "aws_scheduler_schedule_group"},
		"missing CI role":                             {"CI role arn:aws:iam::123456789012:role/shop-staging-deploy-typo", "create it"},
		"CI role trusts the whole org":                {"CI role arn:aws:iam::123456789012:role/shop-staging-ci-deploy", ":sub (org/ORG_ID/project/PROJECT_ID/user/*)"},
		"CI role trusts no CircleCI":                  {"CI role arn:aws:iam::123456789012:role/shop-staging-ci-deploy", "sts:AssumeRoleWithWebIdentity"},
	}
	for b, want := range cases {
		t.Run(string(b), func(t *testing.T) {
			results := account(t, b).Run(context.Background())
			var failures []Result
			for _, r := range results {
				if !r.OK {
					failures = append(failures, r)
				}
			}
			var out strings.Builder
			Write(&out, results)
			if len(failures) != 1 || !strings.HasPrefix(failures[0].Name, want[0]) || !strings.Contains(failures[0].Fix, want[1]) {
				t.Fatalf("want exactly one failure %q with a fix about %q:\n%s", want[0], want[1], out.String())
			}
			if strings.Contains(out.String(), "not-printed-ever") {
				t.Errorf("a secret value was printed:\n%s", out.String())
			}
		})
	}
}

// Example output, for the record: go test -run TestVerifyPrintsOneLinePerCheck -v
func TestVerifyPrintsOneLinePerCheck(t *testing.T) {
	results := account(t, "health check through Rails").Run(context.Background())
	var out strings.Builder
	Write(&out, results)
	t.Log("\n" + out.String())
	if !strings.Contains(out.String(), "FAIL  target group of web-app health check: checks /up, which nginx passes to Rails") ||
		!strings.Contains(out.String(), "OK    cluster shop-staging: ACTIVE") {
		t.Errorf("output:\n%s", out.String())
	}
}
