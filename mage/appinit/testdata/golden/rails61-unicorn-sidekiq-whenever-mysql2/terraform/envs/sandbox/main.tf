# The sandbox root: the same variable interface as staging and production,
# built only from terraform's built-in terraform_data resource so init, plan
# and apply run offline with a local state file. Each terraform_data stands
# for the AWS resource named in its comment, carries the attributes the
# toolkit reads from a plan (family, container_definitions as JSON), and its
# local-exec provisioner makes the API call the AWS provider would make
# (RegisterTaskDefinition, UpdateService/CreateService) against the endpoint
# in AWS_ENDPOINT_URL_ECS: the toolkit's AWS double during `mage deploy`.
# Any change replaces the resource (triggers_replace) so the call runs again.

terraform {
  required_version = ">= 1.6"
  backend "local" {}
}

# The registry the images were pushed to: deploy.hcl's (SANDBOX_REGISTRY
# when set), which the toolkit passes as TF_VAR_sandbox_registry.
variable "sandbox_registry" {
  type    = string
  default = ""
}

locals {
  app      = "shop"
  env      = "sandbox"
  cluster  = "shop-sandbox"
  registry = coalesce(var.sandbox_registry, "127.0.0.1:5000")

  default_tags = { app = local.app, environment = local.env, managed_by = "terraform" }

  # The app's settings, as plain environment values: on AWS DATABASE_URL
  # and SECRET_KEY_BASE are secrets (SSM parameters); here they are the
  # sandbox's own and a key that protects nothing.
  app_environment = [
    { name = "DATABASE_URL", value = "mysql2://root@127.0.0.1:3307/shop_sandbox" }, # deploy.hcl's local_database
    { name = "REDIS_URL", value = "redis://127.0.0.1:6379/0" },                     # deploy.hcl's local_redis
    { name = "SECRET_KEY_BASE", value = "sandbox-only-not-a-secret" },
    { name = "RAILS_LOG_TO_STDOUT", value = "1" },
  ]

  app_image   = "${local.registry}/shop/app:${var.image_tags.app}"
  nginx_image = "${local.registry}/shop/nginx:${var.image_tags.nginx}"

  log = {
    for svc in local.log_streams : svc => {
      logDriver = "awslogs"
      options = merge({
        awslogs-group         = "/ecs/${local.app}-${local.env}/${svc}"
        awslogs-region        = "us-east-1"
        awslogs-stream-prefix = svc
      }, svc == "migrate" ? { mode = "blocking" } : {}) # as the reference module
    }
  }

  log_streams = ["web-app", "sidekiq", "migrate", "cron"]

  task_definitions = {
    # The containers as the reference module (terraform/modules/rails-app)
    # defines them: the sandbox runs each task as a podman pod, so the
    # commands, health checks, dependsOn and stop timeouts are really used.
    web_app = {
      family = "${local.app}-${local.env}-web-app"
      container_definitions = jsonencode([
        {
          name         = "nginx"
          image        = local.nginx_image
          essential    = true
          portMappings = [{ containerPort = 80 }]
          dependsOn    = [{ containerName = "unicorn", condition = "HEALTHY" }]
          stopTimeout  = 75
          healthCheck = {
            # The sandbox's nginx image has curl, not wget.
            command     = ["CMD-SHELL", "curl -fsS -o /dev/null http://127.0.0.1/nginx-health || exit 1"]
            interval    = 10
            timeout     = 5
            retries     = 3
            startPeriod = 10
          }
          logConfiguration = local.log["web-app"]
        },
        {
          name        = "unicorn"
          image       = local.app_image
          essential   = true
          command     = ["bundle", "exec", "unicorn", "-c", "config/unicorn.rb", "-p", "8080"]
          environment = concat(local.app_environment, [{ name = "PORT", value = "8080" }])
          stopTimeout = 75
          healthCheck = {
            command     = ["CMD-SHELL", "curl -fsS -o /dev/null http://127.0.0.1:8080/up || exit 1"]
            interval    = 10
            timeout     = 5
            retries     = 3
            startPeriod = 60
          }
          logConfiguration = local.log["web-app"]
        },
      ])
    }
    sidekiq = {
      family = "${local.app}-${local.env}-sidekiq"
      container_definitions = jsonencode([
        {
          name        = "sidekiq"
          image       = local.app_image
          essential   = true
          command     = ["bundle", "exec", "sidekiq"]
          environment = local.app_environment
          stopTimeout = 120
          healthCheck = {
            command     = ["CMD-SHELL", "tr '\\0' ' ' < /proc/1/cmdline | grep -q '^sidekiq ' || exit 1"]
            interval    = 10
            timeout     = 5
            retries     = 3
            startPeriod = 60
          }
          logConfiguration = local.log["sidekiq"]
        },
      ])
    }
    migrate = {
      family = "${local.app}-${local.env}-migrate"
      container_definitions = jsonencode([
        {
          name             = "rails"
          image            = local.app_image
          essential        = true
          command          = ["bin/rails", "db:migrate"]
          environment      = local.app_environment
          logConfiguration = local.log["migrate"]
        },
      ])
    }
  }

  # What ECS needs to call: POST / with X-Amz-Target, JSON 1.1.
  ecs_call = <<-EOT
    set -eu
    endpoint="$${AWS_ENDPOINT_URL_ECS:-$${AWS_ENDPOINT_URL:-}}"
    if [ -z "$endpoint" ]; then
      echo "the sandbox needs AWS_ENDPOINT_URL_ECS (mage deploy sets it to its AWS double)" >&2
      exit 1
    fi
    call() {
      curl -sS -f -o /dev/null -X POST "$endpoint/" \
        -H "X-Amz-Target: AmazonEC2ContainerServiceV20141113.$1" \
        -H "Content-Type: application/x-amz-json-1.1" --data "$2"
    }
    logs_endpoint="$${AWS_ENDPOINT_URL_CLOUDWATCH_LOGS:-$endpoint}"
    # CreateLogGroup, where one that already exists is what we wanted.
    create_log_group() {
      answer=$(curl -sS -X POST "$logs_endpoint/" \
        -H "X-Amz-Target: Logs_20140328.CreateLogGroup" \
        -H "Content-Type: application/x-amz-json-1.1" --data "{\"logGroupName\":\"$1\"}")
      case "$answer" in
        "{}" | *ResourceAlreadyExistsException*) ;;
        *) echo "CreateLogGroup $1: $answer" >&2; exit 1 ;;
      esac
    }
  EOT
}

# aws_ecs_cluster.this (CreateCluster is idempotent).
resource "terraform_data" "cluster" {
  input = local.cluster

  provisioner "local-exec" {
    interpreter = ["/bin/sh", "-c"]
    command     = "${local.ecs_call}\ncall CreateCluster \"$BODY\""
    environment = { BODY = jsonencode({ clusterName = local.cluster }) }
  }
}

# aws_cloudwatch_log_group.this: a task whose awslogs group is missing
# cannot start.
resource "terraform_data" "log_group" {
  for_each = toset(local.log_streams)
  input    = "/ecs/${local.app}-${local.env}/${each.key}"

  provisioner "local-exec" {
    interpreter = ["/bin/sh", "-c"]
    command     = "${local.ecs_call}\ncreate_log_group \"$GROUP\""
    environment = { GROUP = "/ecs/${local.app}-${local.env}/${each.key}" }
  }
}

# aws_ecs_task_definition.web_app / .sidekiq / .migrate (skip_destroy:
# nothing here deregisters old revisions).
resource "terraform_data" "task_definition" {
  for_each         = local.task_definitions
  input            = each.value
  triggers_replace = each.value

  provisioner "local-exec" {
    interpreter = ["/bin/sh", "-c"]
    command     = "${local.ecs_call}\ncall RegisterTaskDefinition \"$BODY\""
    environment = {
      BODY = jsonencode({
        family                  = each.value.family
        networkMode             = "awsvpc"
        requiresCompatibilities = ["FARGATE"]
        cpu                     = "256"
        memory                  = "512"
        executionRoleArn        = "arn:aws:iam::000000000000:role/${local.app}-${local.env}-execution"
        taskRoleArn             = "arn:aws:iam::000000000000:role/${local.app}-${local.env}-task"
        containerDefinitions    = jsondecode(each.value.container_definitions)
        # What the AWS provider sends with default_tags: a tagged create,
        # which IAM also authorizes as ecs:TagResource.
        tags = [for k, v in local.default_tags : { key = k, value = v }]
      })
    }
  }
}

# How each service rolls out, as the reference module's web_deployment
# and rollback_alarms configure it (sidekiq has no load balancer: ROLLING).
# TF_VAR_web_deployment='{strategy="BLUE_GREEN"}' shows a staged rollout
# in the sandbox; the double runs its stages on SandboxTiming, a "minute"
# of bake time lasting seconds.
locals {
  web_staged = var.web_deployment.strategy != "ROLLING"
  deployment_configuration = {
    "web-app" = merge({
      deploymentCircuitBreaker = { enable = true, rollback = true }
      maximumPercent           = 200
      minimumHealthyPercent    = 100
      strategy                 = var.web_deployment.strategy
      alarms                   = { alarmNames = ["${local.app}-${local.env}-web-5xx", "${local.app}-${local.env}-web-latency"], enable = true, rollback = true }
      }, local.web_staged ? { bakeTimeInMinutes = var.web_deployment.bake_time_minutes } : {},
      var.web_deployment.strategy == "CANARY" ? { canaryConfiguration = { canaryPercent = var.web_deployment.canary_percent, canaryBakeTimeInMinutes = var.web_deployment.canary_bake_time_minutes } } : {},
      var.web_deployment.strategy == "LINEAR" ? { linearConfiguration = { stepPercent = var.web_deployment.linear_step_percent, stepBakeTimeInMinutes = var.web_deployment.linear_step_bake_time_minutes } } : {},
      # The gate: a PAUSE hook once the test listener serves the new
      # release, answered by .deploykit/hooks/gate or mage continue/abort.
      { lifecycleHooks = var.web_deployment.pause ? [{ targetType = "PAUSE", lifecycleStages = ["POST_TEST_TRAFFIC_SHIFT"], timeoutConfiguration = { timeoutInMinutes = 30, action = "ROLLBACK" } }] : [] },
    )
    "sidekiq" = {
      deploymentCircuitBreaker = { enable = true, rollback = true }
      maximumPercent           = 200
      minimumHealthyPercent    = 100
    }
  }
}

variable "web_deployment" {
  description = "As the reference module's: ROLLING, BLUE_GREEN, CANARY or LINEAR, with its bake times (the sandbox has no load balancer rules to name); pause = true adds a PAUSE lifecycle hook after the test traffic shift, which the reference module leaves out (see its web_deployment)."
  type = object({
    strategy                      = optional(string, "ROLLING")
    bake_time_minutes             = optional(number, 1)
    canary_percent                = optional(number, 10)
    canary_bake_time_minutes      = optional(number, 1)
    linear_step_percent           = optional(number, 25)
    linear_step_bake_time_minutes = optional(number, 1)
    pause                         = optional(bool, false)
  })
  default = {}
}

# aws_ecs_service.web_app / .sidekiq, with the circuit breaker's rollback.
resource "terraform_data" "service" {
  for_each = {
    "web-app" = "web_app"
    "sidekiq" = "sidekiq"
  }
  input            = { name = each.key, task_definition = local.task_definitions[each.value] }
  triggers_replace = local.task_definitions[each.value]
  depends_on       = [terraform_data.task_definition, terraform_data.cluster, terraform_data.log_group]

  provisioner "local-exec" {
    interpreter = ["/bin/sh", "-c"]
    command     = "${local.ecs_call}\ncall UpdateService \"$UPDATE\" 2>/dev/null || call CreateService \"$CREATE\""
    environment = {
      UPDATE = jsonencode({ cluster = local.cluster, service = each.key, taskDefinition = local.task_definitions[each.value].family, enableExecuteCommand = true,
      deploymentConfiguration = local.deployment_configuration[each.key] })
      CREATE = jsonencode({
        cluster              = local.cluster
        serviceName          = each.key
        taskDefinition       = local.task_definitions[each.value].family
        desiredCount         = 2
        launchType           = "FARGATE"
        enableExecuteCommand = true # mage exec / mage console
        networkConfiguration = {
          awsvpcConfiguration = { subnets = ["subnet-sandbox"], securityGroups = ["sg-sandbox"], assignPublicIp = "DISABLED" }
        }
        deploymentConfiguration = local.deployment_configuration[each.key]
      })
    }
  }
}

# aws_scheduler_schedule.job: one per generated schedule.
resource "terraform_data" "schedule" {
  for_each = var.schedules
  input = {
    expression = each.value.expression
    timezone   = each.value.timezone
    command    = each.value.command
    image      = local.app_image
  }
}

output "images" {
  description = "The image each container runs after this apply."
  value = {
    nginx   = local.nginx_image
    unicorn = local.app_image
    sidekiq = local.app_image
    rails   = local.app_image
  }
}

output "task_definition_families" {
  value = [for k in sort(keys(local.task_definitions)) : terraform_data.task_definition[k].output.family]
}

# aws_ecs_service.cron: the single-task cron service, when jobs need it.
resource "terraform_data" "cron_service" {
  count = var.cron_service ? 1 : 0
  input = { image = local.app_image, command = ["supercronic", var.cron_crontab_path] }
}
