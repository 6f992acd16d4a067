# The sandbox root: the same variable interface as staging and production,
# with only terraform's built-in terraform_data resource, so init, plan and
# apply run offline with a local state file. Each terraform_data stands for
# the AWS resource named in its comment and carries the same attributes the
# toolkit reads from a plan (family, container_definitions as JSON).

terraform {
  required_version = ">= 1.6"
  backend "local" {}
}

locals {
  app      = "shop"
  env      = "sandbox"
  registry = "127.0.0.1:5000"

  app_image   = "${local.registry}/shop/app:${var.image_tags.app}"
  nginx_image = "${local.registry}/shop/nginx:${var.image_tags.nginx}"
}

# aws_ecs_task_definition.web_app: nginx in front of unicorn in one task.
resource "terraform_data" "web_app_task_definition" {
  input = {
    family = "${local.app}-${local.env}-web-app"
    container_definitions = jsonencode([
      {
        name         = "nginx"
        image        = local.nginx_image
        essential    = true
        portMappings = [{ containerPort = 80 }]
      },
      {
        name      = "unicorn"
        image     = local.app_image
        essential = true
        command   = ["bundle", "exec", "unicorn", "-c", "config/unicorn.rb"]
      },
    ])
  }
}

# aws_ecs_task_definition.sidekiq: the app image with sidekiq's command.
resource "terraform_data" "sidekiq_task_definition" {
  input = {
    family = "${local.app}-${local.env}-sidekiq"
    container_definitions = jsonencode([
      {
        name      = "sidekiq"
        image     = local.app_image
        essential = true
        command   = ["bundle", "exec", "sidekiq", "-C", "config/sidekiq.yml"]
      },
    ])
  }
}

# aws_ecs_task_definition.migrate: run once per deploy by `mage migrate`.
resource "terraform_data" "migrate_task_definition" {
  input = {
    family = "${local.app}-${local.env}-migrate"
    container_definitions = jsonencode([
      {
        name      = "rails"
        image     = local.app_image
        essential = true
        command   = ["bundle", "exec", "rails", "db:migrate"]
      },
    ])
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
  value = [
    terraform_data.web_app_task_definition.output.family,
    terraform_data.sidekiq_task_definition.output.family,
    terraform_data.migrate_task_definition.output.family,
  ]
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
