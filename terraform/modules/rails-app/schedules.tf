# Whenever's schedule.rb, generated into var.schedules by `mage cron:generate`:
# each job is an EventBridge Scheduler schedule that runs the migrate task
# definition's container ("rails") with the job's command, pinned to the
# revision the release applied.

resource "aws_scheduler_schedule_group" "this" {
  name = local.name
}

resource "aws_scheduler_schedule" "job" {
  for_each   = var.schedules
  name       = each.key
  group_name = aws_scheduler_schedule_group.this.name

  description                  = each.value.description
  schedule_expression          = each.value.expression
  schedule_expression_timezone = each.value.timezone

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = local.cluster_arn
    role_arn = aws_iam_role.scheduler.arn

    ecs_parameters {
      # The revision this release applied, never "the latest": every
      # `mage run` and `mage migrate` registers a revision with its own
      # checkout's image, and the schedules must not follow it.
      task_definition_arn = aws_ecs_task_definition.migrate.arn
      launch_type         = "FARGATE"
      task_count          = 1
      tags                = { "deploykit:job" = each.key }

      network_configuration {
        subnets          = var.vpc_subnet_ids
        security_groups  = var.security_group_ids
        assign_public_ip = false
      }
    }

    input = jsonencode({
      containerOverrides = [{ name = "rails", command = each.value.command }]
    })

    retry_policy {
      maximum_retry_attempts       = 2
      maximum_event_age_in_seconds = 3600
    }

    dead_letter_config {
      arn = aws_sqs_queue.schedule_dlq.arn
    }
  }
}

resource "aws_sqs_queue" "schedule_dlq" {
  name                      = "${local.name}-schedule-dlq"
  message_retention_seconds = 1209600
}
