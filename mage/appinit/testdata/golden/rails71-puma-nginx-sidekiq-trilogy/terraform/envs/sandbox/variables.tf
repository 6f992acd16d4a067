# The variables the deploy toolkit writes. Every environment root, the
# sandbox included, declares them identically so the tfvars edit and the
# plan guard behave the same everywhere.

variable "image_tags" {
  description = "Immutable image tags (git SHAs), pinned to their digests (TAG@sha256:...), for the app image (puma, sidekiq, migrate) and the nginx image. Rewritten by `mage deploy`."
  type = object({
    app   = string
    nginx = string
  })

  validation {
    condition = alltrue([
      for tag in values(var.image_tags) :
      split("@", tag)[0] != "latest" && can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}(@sha256:[a-f0-9]{64})?$", tag))
    ])
    error_message = "Image tags must be immutable tags in Docker's tag grammar, optionally pinned to their digest (TAG@sha256:...); \"latest\" is refused because it makes rollback impossible."
  }
}

variable "schedules" {
  description = "Scheduled jobs generated from config/schedule.rb by `mage cron:generate` into schedules.auto.tfvars.json."
  type = map(object({
    expression  = string
    timezone    = string
    command     = list(string)
    description = optional(string, "")
  }))
  default = {}
}

variable "cron_service" {
  description = "Run the jobs kept off Scheduler (too frequent) in a single-task cron service (supercronic). Written by `mage cron:generate`."
  type        = bool
  default     = false
}

variable "cron_crontab_path" {
  description = "Where the cron service's crontab is inside the app image. Written by `mage cron:generate` from deploy.hcl (the app image's build context)."
  type        = string
  default     = "/rails/config/crontab.supercronic"
}
