# The roles of the app. Their policies are rendered by ../rails-app-iam,
# a module without a provider, so the same JSON can be printed by
# `mage iam:policy` and checked by the tests with an IAM simulator.

data "aws_partition" "current" {}

module "policies" {
  source = "../rails-app-iam"

  app          = var.app
  env          = var.env
  account_id   = data.aws_caller_identity.current.account_id
  region       = data.aws_region.current.region
  partition    = data.aws_partition.current.partition
  cluster_name = var.cluster_name
  services     = concat(["web-app"], [for s in aws_ecs_service.sidekiq : s.name], var.cron_service ? ["cron"] : [])
  repositories = concat([aws_ecr_repository.app.name], [for r in aws_ecr_repository.nginx : r.name], [aws_ecr_repository.cache.name])
  log_groups   = [for g in aws_cloudwatch_log_group.this : g.name]
  state_bucket = var.state_bucket
  secret_arns  = values(var.rails_secrets)
  promote_from = var.promote_from
  promoted_by  = var.promoted_by
}

# Execution role: what ECS itself needs to start the containers.
resource "aws_iam_role" "execution" {
  name               = "${local.name}-execution"
  assume_role_policy = module.policies.ecs_tasks_assume_policy_json
}

resource "aws_iam_role_policy" "execution" {
  role   = aws_iam_role.execution.id
  policy = module.policies.execution_policy_json
}

# Task role: what the Rails code may do (ECS Exec's message channels to
# start with); grant the app's own needs (S3 uploads, SES, ...) here.
resource "aws_iam_role" "task" {
  name               = "${local.name}-task"
  assume_role_policy = module.policies.ecs_tasks_assume_policy_json
}

resource "aws_iam_role_policy" "task" {
  role   = aws_iam_role.task.id
  policy = module.policies.task_policy_json
}

# Infrastructure role of a staged web deployment: ECS moves the listener
# rules' weights and the target groups' registrations with it
# (AmazonECSInfrastructureRolePolicyForLoadBalancers, AWS-managed).
resource "aws_iam_role" "ecs_infrastructure" {
  count = local.web_staged ? 1 : 0
  name  = "${local.name}-ecs-infrastructure"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ecs.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy_attachment" "ecs_infrastructure" {
  count      = local.web_staged ? 1 : 0
  role       = aws_iam_role.ecs_infrastructure[0].name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers"
}

# Scheduler role: EventBridge Scheduler starts the scheduled job tasks.
resource "aws_iam_role" "scheduler" {
  name               = "${local.name}-scheduler"
  assume_role_policy = module.policies.scheduler_assume_policy_json
}

resource "aws_iam_role_policy" "scheduler" {
  role   = aws_iam_role.scheduler.id
  policy = module.policies.scheduler_policy_json
}

# Optional: the role CircleCI assumes through OIDC, with the deploy policy.
# Trust is limited to this organization's tokens (aud) for one project's
# jobs (sub); without ci_oidc, create the role yourself with the JSON that
# `go run mage.go iam:policy -env=ENV` prints.
resource "aws_iam_role" "ci_deploy" {
  count = var.ci_oidc == null ? 0 : 1
  name  = "${local.name}-ci-deploy"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRoleWithWebIdentity"
      Principal = { Federated = var.ci_oidc.provider_arn }
      Condition = {
        StringEquals = { "oidc.circleci.com/org/${var.ci_oidc.org_id}:aud" = var.ci_oidc.org_id }
        StringLike   = { "oidc.circleci.com/org/${var.ci_oidc.org_id}:sub" = "org/${var.ci_oidc.org_id}/project/${var.ci_oidc.project_id}/user/*" }
      }
    }]
  })
}

resource "aws_iam_role_policy" "ci_deploy" {
  count  = var.ci_oidc == null ? 0 : 1
  role   = aws_iam_role.ci_deploy[0].id
  policy = module.policies.deploy_policy_json
}
