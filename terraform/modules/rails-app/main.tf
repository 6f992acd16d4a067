# The app: web-app (nginx in front of unicorn, one awsvpc task, so nginx
# proxies to 127.0.0.1:8080), sidekiq from the same image, and the migrate
# task definition that `mage migrate` runs once per deploy.

data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  name = "${var.app}-${var.env}"

  app_image   = "${aws_ecr_repository.app.repository_url}:${var.image_tags.app}"
  nginx       = var.web.proxy == "nginx"
  nginx_image = local.nginx ? "${aws_ecr_repository.nginx[0].repository_url}:${var.image_tags.nginx}" : null
  # The container the target group sends to: nginx, or the app server
  # with Thruster in it.
  web_target_container = local.nginx ? "nginx" : var.web.server
  worker_name          = var.worker == null ? null : var.worker.name
  log_streams          = concat(["web-app"], var.worker == null ? [] : [var.worker.name], ["migrate", "cron"])

  rails_environment = [for k, v in merge({ RAILS_ENV = var.env, RAILS_LOG_TO_STDOUT = "1" }, var.rails_environment) : { name = k, value = v }]
  rails_secrets     = [for k, v in var.rails_secrets : { name = k, valueFrom = v }]

  cluster_arn = var.create_cluster ? aws_ecs_cluster.this[0].arn : data.aws_ecs_cluster.existing[0].arn

  # The awslogs stream is PREFIX/CONTAINER/TASK_ID: `mage migrate` reads it.
  # The migration's output is never dropped: mode "blocking" makes the
  # container wait for CloudWatch rather than lose lines from a full
  # buffer (ECS defaults to non-blocking). Serving containers keep the
  # default: a slow log endpoint must not stall requests.
  log_config = {
    for svc in local.log_streams : svc => {
      logDriver = "awslogs"
      options = merge({
        awslogs-group         = aws_cloudwatch_log_group.this[svc].name
        awslogs-region        = data.aws_region.current.region
        awslogs-stream-prefix = svc
      }, svc == "migrate" ? { mode = "blocking" } : {})
    }
  }

  # A staged web deployment (BLUE_GREEN, CANARY, LINEAR) shifts traffic
  # between two target groups.
  web_staged = var.web_deployment.strategy != "ROLLING"
  web_target_groups = concat([data.aws_lb_target_group.web.arn_suffix],
  [for tg in data.aws_lb_target_group.web_alternate : tg.arn_suffix])
  web_load_balancer = one([for arn in data.aws_lb_target_group.web.load_balancer_arns : regex("loadbalancer/(.+)$", arn)[0]])
  web_alarm_names   = [for alarm in aws_cloudwatch_metric_alarm.web : alarm.alarm_name]
}

resource "aws_ecs_cluster" "this" {
  count = var.create_cluster ? 1 : 0
  name  = var.cluster_name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }

  # Every ECS Exec session (mage exec / console) is logged: what was typed
  # and printed goes to its own log group, beside CloudTrail's record of
  # who opened it. The task role may write there (rails-app-iam).
  configuration {
    execute_command_configuration {
      logging = "OVERRIDE"
      log_configuration {
        cloud_watch_log_group_name = aws_cloudwatch_log_group.exec.name
      }
    }
  }
}

resource "aws_cloudwatch_log_group" "exec" {
  name              = "/ecs/${local.name}/exec"
  retention_in_days = var.log_retention_days
}

data "aws_ecs_cluster" "existing" {
  count        = var.create_cluster ? 0 : 1
  cluster_name = var.cluster_name
}

resource "aws_cloudwatch_log_group" "this" {
  for_each          = toset(local.log_streams)
  name              = "/ecs/${local.name}/${each.key}"
  retention_in_days = var.log_retention_days
}

# Task definitions keep their old revisions (skip_destroy): rollback
# re-points the services at an earlier revision's image tags, and the
# migrate task of an in-flight deploy must not disappear under it.

resource "aws_ecs_task_definition" "web_app" {
  family = "${local.name}-web-app"

  lifecycle {
    precondition {
      condition     = var.image_tags.nginx != null || !local.nginx
      error_message = "image_tags.nginx is required: web.proxy is nginx, whose image serves the assets."
    }
  }

  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.web_cpu
  memory                   = var.web_memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn
  skip_destroy             = true

  # The images' platform (build.platforms in deploy.hcl): Fargate runs
  # X86_64 unless told otherwise, and an arm64 image dies there.
  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  container_definitions = jsonencode(concat(local.nginx ? [
    {
      name         = "nginx"
      image        = local.nginx_image
      essential    = true
      portMappings = [{ containerPort = 80, protocol = "tcp" }]
      dependsOn    = [{ containerName = var.web.server, condition = "HEALTHY" }]
      # Longer than nginx.conf's proxy_read_timeout (60 s): a request in
      # flight when the stop comes may finish. The nginx image's STOPSIGNAL
      # is SIGQUIT, nginx's graceful stop. (The default, 30 s, cut it.)
      stopTimeout = 75
      healthCheck = {
        command     = ["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1/nginx-health || exit 1"]
        interval    = 10
        timeout     = 5
        retries     = 3
        startPeriod = 10
      }
      logConfiguration = local.log_config["web-app"]
    }] : [], [
    merge({
      name      = var.web.server
      image     = local.app_image
      essential = true
      command   = var.web.command
      # PORT is where the config/puma.rb Rails generates listens; under
      # Thruster it stays unset (Thruster listens on 80 and proxies to
      # Puma on 3000). unicorn takes its port from the command.
      environment = concat(local.rails_environment, var.web.server == "puma" && local.nginx ? [{ name = "PORT", value = tostring(var.web.port) }] : [])
      secrets     = local.rails_secrets
      # ECS stops a service task after the target group drained it (its
      # deregistration delay, which mage verify checks is longer than
      # proxy_read_timeout): by then no request is in flight, so unicorn's
      # quick exit on SIGTERM cuts none; stopTimeout covers the rest.
      stopTimeout = 75
      healthCheck = {
        # /up is Rails 7.1's health route; older apps add one or set
        # rails_health_path.
        command     = ["CMD-SHELL", "curl -fsS http://127.0.0.1:${var.web.port}${var.rails_health_path} || exit 1"]
        interval    = 10
        timeout     = 5
        retries     = 3
        startPeriod = 60
      }
      logConfiguration = local.log_config["web-app"]
      }, local.nginx ? {} : {
      # Thruster: the target group reaches this container.
      portMappings = [{ containerPort = var.web.port, protocol = "tcp" }]
    }),
  ]))
}

# The worker's address stays "sidekiq" whatever it runs, so states from
# before the worker variable keep their resources.
moved {
  from = aws_ecs_task_definition.sidekiq
  to   = aws_ecs_task_definition.sidekiq[0]
}

moved {
  from = aws_ecs_service.sidekiq
  to   = aws_ecs_service.sidekiq[0]
}

resource "aws_ecs_task_definition" "sidekiq" {
  count                    = var.worker == null ? 0 : 1
  family                   = "${local.name}-${local.worker_name}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.sidekiq_cpu
  memory                   = var.sidekiq_memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn
  skip_destroy             = true

  # The images' platform (build.platforms in deploy.hcl): Fargate runs
  # X86_64 unless told otherwise, and an arm64 image dies there.
  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  container_definitions = jsonencode([
    merge({
      name        = local.worker_name
      image       = local.app_image
      essential   = true
      command     = var.worker.command
      environment = local.rails_environment
      secrets     = local.rails_secrets
      stopTimeout = 120 # let sidekiq finish or requeue jobs on SIGTERM
      # sidekiq retitles itself "sidekiq 6.4.1 app [0 of 5 busy]" once it
      # has booted, cut to the length of its original command line, so
      # worker.health_check's default matches the title's start, never
      # its "busy]" (a bare `bundle exec sidekiq` is too short to show
      # it): a sidekiq that cannot boot never turns HEALTHY, so its
      # rollout trips the circuit breaker (without a health check ECS
      # counts a task healthy once RUNNING).
      logConfiguration = local.log_config[local.worker_name]
      }, var.worker.health_check == "" ? {} : {
      healthCheck = {
        command     = ["CMD-SHELL", var.worker.health_check]
        interval    = 10
        timeout     = 5
        retries     = 3
        startPeriod = 60
      }
    }),
  ])
}

resource "aws_ecs_task_definition" "migrate" {
  family                   = "${local.name}-migrate"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.sidekiq_cpu
  memory                   = var.sidekiq_memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn
  skip_destroy             = true

  # The images' platform (build.platforms in deploy.hcl): Fargate runs
  # X86_64 unless told otherwise, and an arm64 image dies there.
  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  container_definitions = jsonencode([
    {
      name             = "rails"
      image            = local.app_image
      essential        = true
      command          = var.migrate_command
      environment      = local.rails_environment
      secrets          = local.rails_secrets
      logConfiguration = local.log_config["migrate"]
    },
  ])
}

# The existing load balancer and target group, looked up by name: the team
# switched traffic on an ALB that terraform here does not own.
data "aws_lb_target_group" "web" {
  name = var.target_group_name
}

# The staged strategies' second target group: ECS registers the new
# revision there and moves the listener rules' weights between the two.
data "aws_lb_target_group" "web_alternate" {
  count = local.web_staged ? 1 : 0
  name  = var.web_deployment.alternate_target_group_name
}

# Both target groups count: after a staged deployment the live revision
# is in whichever of them it went to. 5xx are the app's (not the load
# balancer's), summed over both; latency is the worse p99 of the two.
resource "aws_cloudwatch_metric_alarm" "web" {
  for_each = var.rollback_alarms.enabled ? {
    "5xx"     = { metric = "HTTPCode_Target_5XX_Count", stat = "Sum", expression = "SUM(METRICS())", periods = 1, threshold = var.rollback_alarms.target_5xx_per_minute, what = "5xx responses from the app per minute" }
    "latency" = { metric = "TargetResponseTime", stat = "p99", expression = "MAX(METRICS())", periods = 2, threshold = var.rollback_alarms.p99_latency_seconds, what = "p99 response time in seconds" }
  } : {}
  alarm_name          = "${local.name}-web-${each.key}"
  alarm_description   = "web-app's ${each.value.what}: rolls a web deployment back."
  comparison_operator = "GreaterThanThreshold"
  evaluation_periods  = each.value.periods
  threshold           = each.value.threshold
  treat_missing_data  = "notBreaching"

  metric_query {
    id          = "worst"
    expression  = each.value.expression
    label       = each.value.what
    return_data = true
  }

  dynamic "metric_query" {
    for_each = local.web_target_groups
    content {
      id = "tg${metric_query.key}"
      metric {
        namespace   = "AWS/ApplicationELB"
        metric_name = each.value.metric
        period      = 60
        stat        = each.value.stat
        dimensions  = { TargetGroup = metric_query.value, LoadBalancer = local.web_load_balancer }
      }
    }
  }
}

resource "aws_ecs_service" "web_app" {
  name            = "web-app"
  cluster         = local.cluster_arn
  task_definition = aws_ecs_task_definition.web_app.arn
  desired_count   = var.web_desired_count
  launch_type     = "FARGATE"

  # ECS Exec for mage exec / mage console (the task role has the
  # ssmmessages permissions the agent needs; rails-app-iam grants them).
  enable_execute_command = var.enable_execute_command

  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  health_check_grace_period_seconds  = 60

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  # ROLLING or a staged strategy (var.web_deployment). mage deploy waits
  # on the service deployment stage by stage; Ctrl-C, -timeout and mage
  # abort roll it back in flight, during the bake time by moving traffic
  # back.
  deployment_configuration {
    strategy             = var.web_deployment.strategy
    bake_time_in_minutes = local.web_staged ? var.web_deployment.bake_time_minutes : null

    dynamic "canary_configuration" {
      for_each = var.web_deployment.strategy == "CANARY" ? [1] : []
      content {
        canary_percent              = var.web_deployment.canary_percent
        canary_bake_time_in_minutes = var.web_deployment.canary_bake_time_minutes
      }
    }

    dynamic "linear_configuration" {
      for_each = var.web_deployment.strategy == "LINEAR" ? [1] : []
      content {
        step_percent              = var.web_deployment.linear_step_percent
        step_bake_time_in_minutes = var.web_deployment.linear_step_bake_time_minutes
      }
    }
  }

  # The 5xx and latency alarms fail and roll back a deployment that makes
  # the app worse, through its bake time; the breaker catches crashes.
  dynamic "alarms" {
    for_each = var.rollback_alarms.enabled ? [1] : []
    content {
      alarm_names = local.web_alarm_names
      enable      = true
      rollback    = true
    }
  }

  network_configuration {
    subnets          = var.vpc_subnet_ids
    security_groups  = var.security_group_ids
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = data.aws_lb_target_group.web.arn
    container_name   = local.web_target_container
    container_port   = 80

    dynamic "advanced_configuration" {
      for_each = local.web_staged ? [1] : []
      content {
        alternate_target_group_arn = data.aws_lb_target_group.web_alternate[0].arn
        production_listener_rule   = var.web_deployment.production_listener_rule_arn
        test_listener_rule         = var.web_deployment.test_listener_rule_arn
        role_arn                   = aws_iam_role.ecs_infrastructure[0].arn
      }
    }
  }

  # desired_count is terraform's: no autoscaling here. Adding an
  # aws_appautoscaling_target? Then ignore_changes = [desired_count].
}

resource "aws_ecs_service" "sidekiq" {
  count           = var.worker == null ? 0 : 1
  name            = local.worker_name
  cluster         = local.cluster_arn
  task_definition = aws_ecs_task_definition.sidekiq[0].arn
  desired_count   = var.sidekiq_desired_count
  launch_type     = "FARGATE"

  # ECS Exec for mage exec / mage console (the task role has the
  # ssmmessages permissions the agent needs; rails-app-iam grants them).
  enable_execute_command = var.enable_execute_command

  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.vpc_subnet_ids
    security_groups  = var.security_group_ids
    assign_public_ip = false
  }
}
