variable "app" {
  description = "Application name (lower case), the prefix of every resource name."
  type        = string
}

variable "env" {
  description = "Environment name: staging, production, sandbox."
  type        = string
}

variable "account_id" {
  description = "The 12-digit AWS account the environment runs in."
  type        = string
  validation {
    condition     = can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id must be 12 digits."
  }
}

variable "region" {
  type = string
}

variable "partition" {
  type    = string
  default = "aws"
}

variable "cluster_name" {
  type = string
}

variable "services" {
  description = "Every ECS service a deploy updates and waits for (web-app, sidekiq, and cron when enabled)."
  type        = list(string)
}

variable "repositories" {
  description = "ECR repository names: the images a deploy pushes and the build cache."
  type        = list(string)
}

variable "log_groups" {
  description = "The awslogs groups of the app's containers."
  type        = list(string)
}

variable "state_bucket" {
  description = "S3 bucket of the terraform state; the deploy lock and release history live under ENV/ in it. Empty for local state (the sandbox)."
  type        = string
  default     = ""
}

variable "secret_arns" {
  description = "SSM parameters and Secrets Manager secrets ECS injects into the Rails containers."
  type        = list(string)
  default     = []
}

variable "promote_from" {
  description = "The environment this one promotes releases from (deploy.hcl's promote_from), in its own account: its release history and images are read across accounts. null: none."
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
  description = "The role ARNs of the environments that promote from this one (their deploy roles): the state bucket's and the repositories' policies let them read this environment's release history and pull its images."
  type        = list(string)
  default     = []
}
