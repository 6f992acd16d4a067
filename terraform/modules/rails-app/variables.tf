variable "app" {
  description = "Application name, used as a prefix for every resource."
  type        = string
}

variable "env" {
  description = "Environment name (staging, production)."
  type        = string
}

variable "image_tags" {
  description = "Immutable tags of the app and nginx images (no nginx image when web.proxy is thruster). Written by `mage deploy` into the root's images.auto.tfvars."
  type = object({
    app   = string
    nginx = optional(string)
  })
}

variable "web" {
  description = "The web task's app server and what is in front of it. server names the app container (unicorn or puma); proxy nginx puts the nginx image in the task in front of it (the app listens on port, 8080), proxy thruster has no nginx image: Thruster runs in the app container on port 80 and serves the assets itself (`init` writes these from Gemfile.lock)."
  type = object({
    server  = optional(string, "unicorn")
    proxy   = optional(string, "nginx")
    command = optional(list(string), ["bundle", "exec", "unicorn", "-c", "config/unicorn.rb", "-p", "8080"])
    port    = optional(number, 8080)
  })
  default  = {}
  nullable = false

  validation {
    condition     = contains(["nginx", "thruster"], var.web.proxy) && contains(["unicorn", "puma"], var.web.server)
    error_message = "web.server is unicorn or puma, web.proxy nginx or thruster."
  }
  validation {
    condition     = var.web.proxy == "nginx" || var.web.port == 80
    error_message = "Under Thruster the app container is what the target group reaches: web.port must be 80 (Thruster's HTTP_PORT)."
  }
}

variable "worker" {
  description = "The worker service from the app image: sidekiq (the default) or Solid Queue's supervisor (name jobs, command [\"./bin/jobs\"], health_check \"\"); null for none. health_check is a CMD-SHELL command that passes once the worker has booted, \"\" for none."
  type = object({
    name         = optional(string, "sidekiq")
    command      = optional(list(string), ["bundle", "exec", "sidekiq", "-C", "config/sidekiq.yml"])
    health_check = optional(string, "tr '\\0' ' ' < /proc/1/cmdline | grep -q '^sidekiq ' || exit 1")
  })
  default = {}
}

variable "migrate_command" {
  description = "The migrate task's command: db:migrate, or db:prepare for several databases (it loads the schema into empty ones, such as Solid Queue's)."
  type        = list(string)
  default     = ["bundle", "exec", "rails", "db:migrate"]
}

variable "schedules" {
  description = "Scheduled jobs generated from config/schedule.rb by `mage cron:generate` (schedules.auto.tfvars.json)."
  type = map(object({
    expression  = string
    timezone    = string
    command     = list(string)
    description = optional(string, "")
  }))
  default = {}
}

variable "cluster_name" {
  description = "Name of the ECS cluster. Created unless create_cluster is false, in which case it must exist."
  type        = string
}

variable "create_cluster" {
  type    = bool
  default = true
}

variable "vpc_subnet_ids" {
  description = "Private subnets for the tasks (awsvpc)."
  type        = list(string)
}

variable "security_group_ids" {
  description = "Security groups for the tasks; the web group must accept the ALB on port 80."
  type        = list(string)
}

variable "target_group_name" {
  description = "Name of the EXISTING target group (type ip, port 80) that web-app registers with."
  type        = string
}

variable "web_desired_count" {
  type    = number
  default = 2
}

variable "sidekiq_desired_count" {
  type    = number
  default = 1
}

variable "web_cpu" {
  type    = number
  default = 1024
}

variable "web_memory" {
  type    = number
  default = 2048
}

variable "sidekiq_cpu" {
  type    = number
  default = 512
}

variable "sidekiq_memory" {
  type    = number
  default = 1024
}

variable "rails_environment" {
  description = "Plain environment variables for the Rails containers."
  type        = map(string)
  default     = {}
}

variable "rails_secrets" {
  description = "Environment variable name -> SSM parameter or Secrets Manager ARN, injected by ECS at start."
  type        = map(string)
  default     = {}
}

variable "log_retention_days" {
  type    = number
  default = 30
}

variable "state_bucket" {
  description = "S3 bucket holding terraform state, the deploy lock and the release history."
  type        = string
}

variable "cron_service" {
  description = "Run the jobs kept off Scheduler (too frequent) in a single-task cron service (supercronic). Written by `mage cron:generate`."
  type        = bool
  default     = false
}

variable "cron_crontab_path" {
  description = "Path of the generated supercronic crontab inside the app image."
  type        = string
  default     = "/rails/config/crontab.supercronic"
}

variable "cpu_architecture" {
  description = "X86_64 or ARM64: the platform the images are built for (build.platforms in deploy.hcl: linux/amd64 or linux/arm64)."
  type        = string
  default     = "X86_64"
  validation {
    condition     = contains(["X86_64", "ARM64"], var.cpu_architecture)
    error_message = "cpu_architecture must be X86_64 or ARM64."
  }
}

variable "ci_oidc" {
  description = "Optional: make the role CircleCI assumes with OIDC, with the deploy policy. provider_arn is the account's oidc.circleci.com/org/ORG_ID provider; only jobs of project_id may assume it."
  type = object({
    provider_arn = string
    org_id       = string
    project_id   = string
  })
  default = null
}

variable "enable_execute_command" {
  description = "ECS Exec on the services, for mage exec and mage console. Audited through CloudTrail (ExecuteCommand); turn off where no shell may be opened."
  type        = bool
  default     = true
}

variable "rails_health_path" {
  description = "The path unicorn's container health check asks for: /up is Rails 7.1's health route; a Rails 7.0 or older app adds a route (get \"up\" => proc { [200, {}, [\"ok\"]] }) or names another path that answers 200 without a session or the database."
  type        = string
  default     = "/up"
  validation {
    condition     = startswith(var.rails_health_path, "/")
    error_message = "rails_health_path starts with /."
  }
}

variable "promote_from" {
  description = "The environment this one promotes releases from (deploy.hcl's promote_from), in its own account: the deploy role may then read its release history and pull its images. null: none."
  type = object({
    account_id   = string
    region       = string
    env          = string
    state_bucket = string
    repositories = list(string)
  })
  default = null
}

variable "promoted_by" {
  description = "The deploy role ARNs of the environments that promote from this one (in other accounts): this module gives them pull access in the app and nginx repositories' policies, and outputs the statements the state bucket's policy needs (promotion_bucket_policy_json)."
  type        = list(string)
  default     = []
}

variable "web_deployment" {
  description = "How web-app rolls out. ROLLING: ECS's rolling update. BLUE_GREEN, CANARY, LINEAR: ECS-native staged deployments (AWS provider 6.4, LINEAR/CANARY 6.21): the new revision gets the test listener rule first, then production traffic (all at once, canary_percent for canary_bake_time_minutes then the rest, or linear_step_percent every linear_step_bake_time_minutes), and the old revision keeps running bake_time_minutes more, so a rollback until then (mage abort, an alarm, Ctrl-C) only moves traffic back. The staged strategies need the EXISTING alternate target group and the production and test listener rules (the ALB is not this module's). Asset bridging holds under each: the nginx image of every release carries the assets of the live one."
  type = object({
    strategy                      = optional(string, "ROLLING")
    bake_time_minutes             = optional(number, 10)
    canary_percent                = optional(number, 10)
    canary_bake_time_minutes      = optional(number, 5)
    linear_step_percent           = optional(number, 25)
    linear_step_bake_time_minutes = optional(number, 2)
    alternate_target_group_name   = optional(string, "")
    production_listener_rule_arn  = optional(string, "")
    test_listener_rule_arn        = optional(string, "")
  })
  default = {}
  validation {
    condition     = contains(["ROLLING", "BLUE_GREEN", "CANARY", "LINEAR"], var.web_deployment.strategy)
    error_message = "web_deployment.strategy is ROLLING, BLUE_GREEN, CANARY or LINEAR."
  }
  validation {
    condition     = var.web_deployment.strategy == "ROLLING" || (var.web_deployment.alternate_target_group_name != "" && var.web_deployment.production_listener_rule_arn != "" && var.web_deployment.test_listener_rule_arn != "")
    error_message = "A staged web_deployment (BLUE_GREEN, CANARY, LINEAR) needs alternate_target_group_name, production_listener_rule_arn and test_listener_rule_arn: ECS shifts traffic between the two target groups through those rules, and the gate hook smoke-tests through the test one."
  }
  validation {
    condition     = var.web_deployment.canary_percent > 0 && var.web_deployment.canary_percent <= 100 && var.web_deployment.linear_step_percent > 0 && var.web_deployment.linear_step_percent <= 100
    error_message = "canary_percent and linear_step_percent are above 0 and at most 100."
  }
}

variable "rollback_alarms" {
  description = "Alarms on web-app's target groups that roll a web deployment back when they fire during it, its bake time included: 5xx responses from the app per minute, and p99 response time. enabled = false leaves rollback to the circuit breaker (crashing tasks) alone."
  type = object({
    enabled               = optional(bool, true)
    target_5xx_per_minute = optional(number, 10)
    p99_latency_seconds   = optional(number, 2)
  })
  default = {}
}
