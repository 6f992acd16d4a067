# Every IAM policy of the rails-app module, as JSON documents built from
# names alone. The ARNs follow AWS's Service Authorization Reference; the
# tests evaluate these documents with an IAM simulator against every
# request the toolkit, terraform and EventBridge Scheduler make.

locals {
  name   = "${var.app}-${var.env}"
  prefix = "arn:${var.partition}"
  ecs    = "${local.prefix}:ecs:${var.region}:${var.account_id}"

  cluster_arn         = "${local.ecs}:cluster/${var.cluster_name}"
  task_definitions    = "${local.ecs}:task-definition/${local.name}-*"
  migrate_definitions = "${local.ecs}:task-definition/${local.name}-migrate:*"
  tasks               = "${local.ecs}:task/${var.cluster_name}/*"
  service_arns        = [for s in var.services : "${local.ecs}:service/${var.cluster_name}/${s}"]
  service_deployments = [for s in var.services : "${local.ecs}:service-deployment/${var.cluster_name}/${s}/*"]
  service_revisions   = [for s in var.services : "${local.ecs}:service-revision/${var.cluster_name}/${s}/*"]

  role_arn           = "${local.prefix}:iam::${var.account_id}:role"
  execution_role_arn = "${local.role_arn}/${local.name}-execution"
  task_role_arn      = "${local.role_arn}/${local.name}-task"
  scheduler_role_arn = "${local.role_arn}/${local.name}-scheduler"

  repository_arns = [for r in var.repositories : "${local.prefix}:ecr:${var.region}:${var.account_id}:repository/${r}"]
  # A log group's own ARN, and everything under it (its streams).
  log_group_arns = flatten([for g in var.log_groups : [
    "${local.prefix}:logs:${var.region}:${var.account_id}:log-group:${g}",
    "${local.prefix}:logs:${var.region}:${var.account_id}:log-group:${g}:*",
  ]])

  schedule_group_arn = "${local.prefix}:scheduler:${var.region}:${var.account_id}:schedule-group/${local.name}"
  # rails-app's rollback alarms (web 5xx and latency) and the role ECS
  # shifts a staged web deployment's traffic with.
  web_alarms_arn          = "${local.prefix}:cloudwatch:${var.region}:${var.account_id}:alarm:${local.name}-web-*"
  ecs_infrastructure_role = "${local.role_arn}/${local.name}-ecs-infrastructure"
  schedules_arn           = "${local.prefix}:scheduler:${var.region}:${var.account_id}:schedule/${local.name}/*"
  dead_letter_arn         = "${local.prefix}:sqs:${var.region}:${var.account_id}:${local.name}-schedule-dlq"

  # Creating a task definition, task or service WITH tags (terraform's
  # default_tags, the toolkit's RunTask tags, a schedule's tags) is also
  # an ecs:TagResource call, authorized by ecs:CreateAction.
  tag_on_create = {
    Sid      = "TagWhatItCreates"
    Effect   = "Allow"
    Action   = ["ecs:TagResource"]
    Resource = [local.task_definitions, local.tasks]
    Condition = {
      StringEquals = { "ecs:CreateAction" = ["RegisterTaskDefinition", "RunTask"] }
    }
  }

  # Shared by the deploy and the operator policies.
  find_running_tasks = {
    Sid       = "FindRunningTasks"
    Effect    = "Allow"
    Action    = ["ecs:ListTasks"]
    Resource  = "*" # its resource is the container instance, absent on Fargate
    Condition = { ArnEquals = { "ecs:cluster" = local.cluster_arn } }
  }
  read_logs = {
    Sid      = "ReadLogs"
    Effect   = "Allow"
    Action   = ["logs:GetLogEvents", "logs:FilterLogEvents", "logs:DescribeLogStreams"]
    Resource = local.log_group_arns
  }

  state_statements = var.state_bucket == "" ? [] : [
    {
      Sid      = "StateLockAndReleases"
      Effect   = "Allow"
      Action   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
      Resource = ["${local.prefix}:s3:::${var.state_bucket}/${var.env}/*"]
    },
    {
      Sid      = "StateBucketList"
      Effect   = "Allow"
      Action   = ["s3:ListBucket"]
      Resource = ["${local.prefix}:s3:::${var.state_bucket}"]
    },
  ]

  # A promotion reads the source environment's release history and pulls
  # its images, in the source's account: this identity side and the
  # source's resource policies below (promoted_by) must both allow it.
  promotion_statements = concat(
    var.promote_from == null ? [] : [{
      Sid      = "PromotionReadsSourceReleases"
      Effect   = "Allow"
      Action   = ["s3:GetObject"]
      Resource = ["${local.prefix}:s3:::${var.promote_from.state_bucket}/${var.promote_from.env}/deploykit/releases/*"]
    }],
    var.promote_from == null ? [] : [{
      Sid       = "PromotionListsSourceReleases"
      Effect    = "Allow"
      Action    = ["s3:ListBucket"]
      Resource  = ["${local.prefix}:s3:::${var.promote_from.state_bucket}"]
      Condition = { StringLike = { "s3:prefix" = ["${var.promote_from.env}/deploykit/releases/*"] } }
    }],
    var.promote_from == null ? [] : [{
      Sid      = "PromotionPullsSourceImages"
      Effect   = "Allow"
      Action   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
      Resource = [for r in var.promote_from.repositories : "${local.prefix}:ecr:${var.promote_from.region}:${var.promote_from.account_id}:repository/${r}"]
    }],
  )

  # The resource side, for the environments promoted from this one: a
  # statement for the state bucket's policy and one for each repository's.
  promotion_bucket = {
    Version = "2012-10-17"
    Statement = concat(
      length(var.promoted_by) == 0 ? [] : [{
        Sid       = "PromotedEnvironmentsReadReleases"
        Effect    = "Allow"
        Principal = { AWS = var.promoted_by }
        Action    = ["s3:GetObject"]
        Resource  = ["${local.prefix}:s3:::${var.state_bucket}/${var.env}/deploykit/releases/*"]
      }],
      length(var.promoted_by) == 0 ? [] : [{
        Sid       = "PromotedEnvironmentsListReleases"
        Effect    = "Allow"
        Principal = { AWS = var.promoted_by }
        Action    = ["s3:ListBucket"]
        Resource  = ["${local.prefix}:s3:::${var.state_bucket}"]
        Condition = { StringLike = { "s3:prefix" = ["${var.env}/deploykit/releases/*"] } }
      }],
    )
  }
  promotion_repository = {
    Version = "2012-10-17"
    Statement = length(var.promoted_by) == 0 ? [] : [
      {
        Sid       = "PromotedEnvironmentsPullImages"
        Effect    = "Allow"
        Principal = { AWS = var.promoted_by }
        Action    = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
      },
    ]
  }

  # For people (not CI): read what runs, its logs and the release history,
  # open a shell or a Rails console through ECS Exec (mage status, releases,
  # logs, exec, console), and prune old releases (mage prune), whose
  # DeregisterTaskDefinition cannot be scoped to this app and so stays out
  # of the CI role. ExecuteCommand is audited in CloudTrail; grant it to
  # whoever may run code in production.
  operator = {
    Version = "2012-10-17"
    Statement = concat(var.state_bucket == "" ? [] : [
      {
        Sid      = "ReadReleasesAndLock"
        Effect   = "Allow"
        Action   = ["s3:GetObject"]
        Resource = ["${local.prefix}:s3:::${var.state_bucket}/${var.env}/deploykit/*"]
      },
      {
        Sid      = "ListReleases"
        Effect   = "Allow"
        Action   = ["s3:ListBucket"]
        Resource = ["${local.prefix}:s3:::${var.state_bucket}"]
      },
      {
        # prune holds the deploy lock while it deletes.
        Sid      = "PruneTakesTheLock"
        Effect   = "Allow"
        Action   = ["s3:PutObject", "s3:DeleteObject"]
        Resource = ["${local.prefix}:s3:::${var.state_bucket}/${var.env}/deploykit/lock.json"]
      },
      ], [
      {
        Sid      = "ReadServices"
        Effect   = "Allow"
        Action   = ["ecs:DescribeServices"]
        Resource = local.service_arns
      },
      {
        Sid      = "ReadTaskDefinitions"
        Effect   = "Allow"
        Action   = ["ecs:DescribeTaskDefinition", "ecs:ListTaskDefinitions"]
        Resource = "*" # neither supports resource-level permissions
      },
      {
        Sid      = "EcrLogin"
        Effect   = "Allow"
        Action   = ["ecr:GetAuthorizationToken"]
        Resource = "*" # no resource-level permissions exist for this action
      },
      {
        # mage prune: list, read and delete old release images.
        Sid      = "PruneOldImages"
        Effect   = "Allow"
        Action   = ["ecr:ListImages", "ecr:DescribeImages", "ecr:BatchGetImage", "ecr:BatchDeleteImage"]
        Resource = local.repository_arns
      },
      {
        Sid      = "PruneOldRevisions"
        Effect   = "Allow"
        Action   = ["ecs:DeregisterTaskDefinition"]
        Resource = "*" # no resource-level permissions exist for this action
      },
      local.find_running_tasks,
      {
        Sid       = "ReadTasks"
        Effect    = "Allow"
        Action    = ["ecs:DescribeTasks"]
        Resource  = [local.tasks]
        Condition = { ArnEquals = { "ecs:cluster" = local.cluster_arn } }
      },
      {
        Sid      = "ExecIntoTasks"
        Effect   = "Allow"
        Action   = ["ecs:ExecuteCommand"]
        Resource = [local.cluster_arn, local.tasks]
      },
      local.read_logs,
    ])
  }

  deploy = {
    Version = "2012-10-17"
    Statement = concat(local.state_statements, local.promotion_statements, [
      {
        Sid      = "EcrLogin"
        Effect   = "Allow"
        Action   = ["ecr:GetAuthorizationToken"]
        Resource = "*" # no resource-level permissions exist for this action
      },
      {
        Sid    = "EcrPushAndCheck"
        Effect = "Allow"
        Action = [
          "ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:DescribeImages",
          "ecr:GetDownloadUrlForLayer", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart",
          "ecr:CompleteLayerUpload", "ecr:PutImage",
        ]
        Resource = local.repository_arns
      },
      {
        Sid      = "RegisterTaskDefinitions"
        Effect   = "Allow"
        Action   = ["ecs:RegisterTaskDefinition"]
        Resource = [local.task_definitions]
      },
      {
        Sid      = "ReadTaskDefinitions"
        Effect   = "Allow"
        Action   = ["ecs:DescribeTaskDefinition", "ecs:ListTaskDefinitions"]
        Resource = "*" # neither supports resource-level permissions
      },
      local.tag_on_create,
      {
        Sid       = "MigrationAndOneOffTasks"
        Effect    = "Allow"
        Action    = ["ecs:RunTask"]
        Resource  = [local.task_definitions]
        Condition = { ArnEquals = { "ecs:cluster" = local.cluster_arn } }
      },
      {
        Sid       = "WatchAndStopTasks"
        Effect    = "Allow"
        Action    = ["ecs:DescribeTasks", "ecs:StopTask"]
        Resource  = [local.tasks]
        Condition = { ArnEquals = { "ecs:cluster" = local.cluster_arn } }
      },
      local.find_running_tasks,
      {
        # Only to this app's task definitions: a service pointed at another
        # family would run that family's task role. Updates that name no
        # task definition (desired count, force new deployment) pass.
        Sid       = "UpdateServicesToOwnTaskDefinitions"
        Effect    = "Allow"
        Action    = ["ecs:UpdateService"]
        Resource  = local.service_arns
        Condition = { ArnLikeIfExists = { "ecs:task-definition" = local.task_definitions } }
      },
      {
        Sid      = "ReadServices"
        Effect   = "Allow"
        Action   = ["ecs:DescribeServices", "ecs:ListServiceDeployments", "ecs:DescribeServiceDeployments", "ecs:DescribeServiceRevisions"]
        Resource = concat(local.service_arns, local.service_deployments, local.service_revisions)
      },
      {
        # Ctrl-C or a timeout during a deploy's rollout, and `mage abort`,
        # roll the rollout back in flight; the gate hook and `mage
        # continue` answer a rollout paused at a lifecycle hook.
        Sid      = "DecideRolloutsInFlight"
        Effect   = "Allow"
        Action   = ["ecs:StopServiceDeployment", "ecs:ContinueServiceDeployment"]
        Resource = local.service_deployments
      },
      {
        Sid       = "PassOnlyTheTaskRoles"
        Effect    = "Allow"
        Action    = ["iam:PassRole"]
        Resource  = [local.execution_role_arn, local.task_role_arn]
        Condition = { StringEquals = { "iam:PassedToService" = "ecs-tasks.amazonaws.com" } }
      },
      {
        # A staged web deployment's UpdateService names the role ECS moves
        # the load balancer's traffic with.
        Sid       = "PassTheInfrastructureRole"
        Effect    = "Allow"
        Action    = ["iam:PassRole"]
        Resource  = [local.ecs_infrastructure_role]
        Condition = { StringEquals = { "iam:PassedToService" = "ecs.amazonaws.com" } }
      },
      local.read_logs,
      {
        Sid      = "Schedules"
        Effect   = "Allow"
        Action   = ["scheduler:GetSchedule", "scheduler:CreateSchedule", "scheduler:UpdateSchedule", "scheduler:DeleteSchedule"]
        Resource = [local.schedules_arn]
      },
      {
        Sid      = "ScheduleGroup"
        Effect   = "Allow"
        Action   = ["scheduler:GetScheduleGroup", "scheduler:ListTagsForResource"]
        Resource = [local.schedule_group_arn]
      },
      {
        Sid       = "PassSchedulerRole"
        Effect    = "Allow"
        Action    = ["iam:PassRole"]
        Resource  = [local.scheduler_role_arn]
        Condition = { StringEquals = { "iam:PassedToService" = "scheduler.amazonaws.com" } }
      },
      {
        # terraform plan refreshes every resource of the module; these are
        # read-only, each scoped to this environment's resources where the
        # action has a resource type. Changing anything but task
        # definitions, services and schedules goes through a human with
        # broader rights.
        Sid      = "TerraformRefreshClusterAndServiceTags"
        Effect   = "Allow"
        Action   = ["ecs:DescribeClusters", "ecs:ListTagsForResource"]
        Resource = concat([local.cluster_arn, local.task_definitions], local.service_arns)
      },
      {
        Sid      = "TerraformRefreshRepositories"
        Effect   = "Allow"
        Action   = ["ecr:DescribeRepositories", "ecr:GetLifecyclePolicy", "ecr:ListTagsForResource"]
        Resource = local.repository_arns
      },
      {
        Sid      = "TerraformRefreshLogGroups"
        Effect   = "Allow"
        Action   = ["logs:ListTagsForResource", "logs:ListTagsLogGroup"]
        Resource = local.log_group_arns
      },
      {
        Sid      = "TerraformRefreshRoles"
        Effect   = "Allow"
        Action   = ["iam:GetRole", "iam:GetRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies"]
        Resource = ["${local.role_arn}/${local.name}-*"]
      },
      {
        Sid      = "TerraformRefreshRollbackAlarms"
        Effect   = "Allow"
        Action   = ["cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource"]
        Resource = [local.web_alarms_arn]
      },
      {
        Sid      = "TerraformRefreshDeadLetterQueue"
        Effect   = "Allow"
        Action   = ["sqs:GetQueueAttributes", "sqs:ListQueueTags"]
        Resource = [local.dead_letter_arn]
      },
      {
        Sid    = "TerraformRefreshUnscopedReads"
        Effect = "Allow"
        Action = [
          "logs:DescribeLogGroups", "sts:GetCallerIdentity",
          "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeTargetGroups",
          "elasticloadbalancing:DescribeTags", "elasticloadbalancing:DescribeLoadBalancerAttributes",
          "elasticloadbalancing:DescribeTargetGroupAttributes",
        ]
        Resource = "*" # these actions have no resource type: "*" only
      },
    ])
  }

  # For people who apply infrastructure changes (mage tf:apply): everything
  # the deploy role may, plus creating, changing and removing this app's
  # services, roles and their policies, log groups, repositories, schedule
  # group and dead-letter queue, and tagging them. A release's plan that
  # needs any of it is refused before its apply, naming this role.
  infra = {
    Version = "2012-10-17"
    Statement = concat(local.deploy.Statement, [
      {
        Sid      = "ManageServices"
        Effect   = "Allow"
        Action   = ["ecs:CreateService", "ecs:DeleteService", "ecs:UpdateService", "ecs:TagResource", "ecs:UntagResource"]
        Resource = concat(local.service_arns, [local.cluster_arn, local.task_definitions])
      },
      {
        Sid      = "ManageRoles"
        Effect   = "Allow"
        Action   = ["iam:CreateRole", "iam:DeleteRole", "iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:TagRole", "iam:UntagRole"]
        Resource = ["${local.role_arn}/${local.name}-*"]
      },
      {
        Sid      = "ManageLogGroups"
        Effect   = "Allow"
        Action   = ["logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:PutRetentionPolicy", "logs:TagResource", "logs:UntagResource", "logs:TagLogGroup"]
        Resource = local.log_group_arns
      },
      {
        Sid      = "ManageRepositories"
        Effect   = "Allow"
        Action   = ["ecr:CreateRepository", "ecr:DeleteRepository", "ecr:PutLifecyclePolicy", "ecr:DeleteLifecyclePolicy", "ecr:SetRepositoryPolicy", "ecr:GetRepositoryPolicy", "ecr:TagResource", "ecr:UntagResource"]
        Resource = local.repository_arns
      },
      {
        Sid      = "ManageScheduleGroup"
        Effect   = "Allow"
        Action   = ["scheduler:CreateScheduleGroup", "scheduler:DeleteScheduleGroup", "scheduler:TagResource", "scheduler:UntagResource"]
        Resource = [local.schedule_group_arn]
      },
      {
        Sid      = "ManageRollbackAlarms"
        Effect   = "Allow"
        Action   = ["cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:TagResource", "cloudwatch:UntagResource"]
        Resource = [local.web_alarms_arn]
      },
      {
        Sid      = "ManageDeadLetterQueue"
        Effect   = "Allow"
        Action   = ["sqs:CreateQueue", "sqs:DeleteQueue", "sqs:SetQueueAttributes", "sqs:TagQueue", "sqs:UntagQueue"]
        Resource = [local.dead_letter_arn]
      },
    ])
  }

  scheduler = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "RunJobTasks"
        Effect    = "Allow"
        Action    = ["ecs:RunTask"]
        Resource  = [local.migrate_definitions] # schedules name the released revision
        Condition = { ArnEquals = { "ecs:cluster" = local.cluster_arn } }
      },
      {
        # Schedules pass tags to RunTask ({"deploykit:job" = NAME}).
        Sid       = "TagJobTasks"
        Effect    = "Allow"
        Action    = ["ecs:TagResource"]
        Resource  = [local.tasks]
        Condition = { StringEquals = { "ecs:CreateAction" = "RunTask" } }
      },
      {
        Sid       = "PassTaskRoles"
        Effect    = "Allow"
        Action    = ["iam:PassRole"]
        Resource  = [local.execution_role_arn, local.task_role_arn]
        Condition = { StringEquals = { "iam:PassedToService" = "ecs-tasks.amazonaws.com" } }
      },
      {
        Sid      = "DeadLetters"
        Effect   = "Allow"
        Action   = ["sqs:SendMessage"]
        Resource = [local.dead_letter_arn]
      },
    ]
  }

  execution = {
    Version = "2012-10-17"
    Statement = concat([
      {
        Sid      = "PullImages"
        Effect   = "Allow"
        Action   = ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]
        Resource = local.repository_arns
      },
      {
        Sid      = "EcrToken"
        Effect   = "Allow"
        Action   = ["ecr:GetAuthorizationToken"]
        Resource = "*" # this action has no resource-level permissions
      },
      {
        Sid      = "WriteLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = local.log_group_arns
      },
      ], length(var.secret_arns) == 0 ? [] : [{
        Sid      = "ReadSecrets"
        Effect   = "Allow"
        Action   = ["ssm:GetParameters", "secretsmanager:GetSecretValue"]
        Resource = var.secret_arns
    }])
  }

  # The Rails code's own rights start empty; ECS Exec (mage exec/console)
  # needs the SSM message channels. Grant the app's needs (S3, SES, ...)
  # in the rails-app module next to this.
  task = {
    Version = "2012-10-17"
    Statement = [{
      Sid    = "EcsExec"
      Effect = "Allow"
      Action = [
        "ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
        "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel",
      ]
      Resource = "*"
      }, {
      # The session's log (the cluster's execute_command_configuration).
      Sid      = "EcsExecSessionLog"
      Effect   = "Allow"
      Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
      Resource = ["${local.prefix}:logs:${var.region}:${var.account_id}:log-group:/ecs/${local.name}/exec:*"]
      }, {
      Sid      = "EcsExecFindSessionLog"
      Effect   = "Allow"
      Action   = ["logs:DescribeLogGroups"]
      Resource = "*" # no resource type: "*" only
    }]
  }

  ecs_tasks_assume = {
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Principal = { Service = "ecs-tasks.amazonaws.com" }
      Condition = { StringEquals = { "aws:SourceAccount" = var.account_id } }
    }]
  }

  scheduler_assume = {
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Principal = { Service = "scheduler.amazonaws.com" }
      Condition = { StringEquals = { "aws:SourceAccount" = var.account_id } }
    }]
  }
}
