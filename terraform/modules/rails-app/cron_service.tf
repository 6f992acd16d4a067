# The cron service: one task running supercronic on the crontab that
# `mage cron:generate` writes for jobs too frequent for a task launch each
# (every minute = 43,200 launches a month). Desired count 1, no overlap on
# deploys (maximum 100%), so a job never runs twice at once.

resource "aws_ecs_task_definition" "cron" {
  count                    = var.cron_service ? 1 : 0
  family                   = "${local.name}-cron"
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
      name             = "cron"
      image            = local.app_image
      essential        = true
      command          = ["supercronic", "-passthrough-logs", var.cron_crontab_path]
      environment      = local.rails_environment
      secrets          = local.rails_secrets
      stopTimeout      = 120 # Fargate's most: supercronic waits for running jobs on SIGTERM
      logConfiguration = local.log_config["cron"]
    },
  ])
}

resource "aws_ecs_service" "cron" {
  count           = var.cron_service ? 1 : 0
  name            = "cron"
  cluster         = local.cluster_arn
  task_definition = aws_ecs_task_definition.cron[0].arn
  desired_count   = 1
  launch_type     = "FARGATE"

  # ECS Exec for mage exec / mage console (the task role has the
  # ssmmessages permissions the agent needs; rails-app-iam grants them).
  enable_execute_command = var.enable_execute_command

  deployment_minimum_healthy_percent = 0
  deployment_maximum_percent         = 100

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
