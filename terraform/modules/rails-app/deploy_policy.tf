# The permissions a deploy role needs to run the mage targets against this
# environment: push images, run the migration, rewrite image tags and apply
# them, wait for the rollout, and keep the lock and release history next to
# the state. DEPLOY_POLICY.md explains each statement. Attach the output to
# the role CircleCI assumes through OIDC.

data "aws_iam_policy_document" "deploy" {
  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"] # no resource-level permissions exist for this action
  }

  statement {
    sid = "EcrPushAndCheck"
    actions = [
      "ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:DescribeImages",
      "ecr:GetDownloadUrlForLayer", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart",
      "ecr:CompleteLayerUpload", "ecr:PutImage",
    ]
    resources = [aws_ecr_repository.app.arn, aws_ecr_repository.nginx.arn, aws_ecr_repository.cache.arn]
  }

  statement {
    sid = "TaskDefinitions"
    # Register/Describe have no resource-level scoping in IAM.
    actions   = ["ecs:RegisterTaskDefinition", "ecs:DescribeTaskDefinition", "ecs:ListTaskDefinitions"]
    resources = ["*"]
  }

  statement {
    sid       = "MigrationAndOneOffTasks"
    actions   = ["ecs:RunTask"]
    resources = ["arn:aws:ecs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:task-definition/${local.name}-*"]
    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [local.cluster_arn]
    }
  }

  statement {
    sid       = "WatchAndStopTasks"
    actions   = ["ecs:DescribeTasks", "ecs:ListTasks", "ecs:StopTask", "ecs:TagResource"]
    resources = ["*"]
    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [local.cluster_arn]
    }
  }

  statement {
    sid       = "Services"
    actions   = ["ecs:UpdateService", "ecs:DescribeServices", "ecs:ListServiceDeployments", "ecs:DescribeServiceDeployments"]
    resources = [aws_ecs_service.web_app.id, aws_ecs_service.sidekiq.id]
  }

  statement {
    sid       = "PassOnlyTheTaskRoles"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.execution.arn, aws_iam_role.task.arn]
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }

  statement {
    sid       = "ReadLogs"
    actions   = ["logs:GetLogEvents", "logs:FilterLogEvents", "logs:DescribeLogStreams"]
    resources = [for g in aws_cloudwatch_log_group.this : "${g.arn}:*"]
  }

  statement {
    sid       = "Schedules"
    actions   = ["scheduler:GetSchedule", "scheduler:ListSchedules", "scheduler:CreateSchedule", "scheduler:UpdateSchedule", "scheduler:DeleteSchedule"]
    resources = ["arn:aws:scheduler:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:schedule/${aws_scheduler_schedule_group.this.name}/*"]
  }

  statement {
    sid       = "PassSchedulerRole"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.scheduler.arn]
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["scheduler.amazonaws.com"]
    }
  }

  statement {
    sid       = "StateLockAndReleases"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["arn:aws:s3:::${var.state_bucket}/${var.env}/*"]
  }

  statement {
    sid       = "StateBucketList"
    actions   = ["s3:ListBucket"]
    resources = ["arn:aws:s3:::${var.state_bucket}"]
  }

  statement {
    sid = "TerraformRefreshReads"
    # terraform plan refreshes every resource of the module; these are
    # read-only. Changing anything but task definitions, services and
    # schedules goes through a human with broader rights.
    actions = [
      "ecs:DescribeClusters", "ecr:DescribeRepositories", "ecr:GetLifecyclePolicy", "ecr:ListTagsForResource",
      "logs:DescribeLogGroups", "logs:ListTagsForResource", "iam:GetRole", "iam:GetRolePolicy",
      "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "elasticloadbalancing:Describe*",
      "scheduler:GetScheduleGroup", "sqs:GetQueueAttributes", "sqs:ListQueueTags", "sts:GetCallerIdentity",
      "ecs:ListTagsForResource",
    ]
    resources = ["*"]
  }
}
