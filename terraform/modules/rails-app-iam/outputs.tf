output "deploy_policy_json" {
  description = "Attach to the role CI assumes for deploys (see ../rails-app/DEPLOY_POLICY.md)."
  value       = jsonencode(local.deploy)
}

output "operator_policy_json" {
  description = "For people: read services, tasks and logs, and ECS Exec (mage status, logs, exec, console). Not for CI."
  value       = jsonencode(local.operator)
}

output "infra_policy_json" {
  description = "For people who apply infrastructure changes (mage tf:apply): the deploy policy plus managing this app's services, roles, log groups, repositories, schedule group and queue. Not for CI."
  value       = jsonencode(local.infra)
}

output "scheduler_policy_json" {
  description = "The role EventBridge Scheduler assumes to start the scheduled job tasks."
  value       = jsonencode(local.scheduler)
}

output "execution_policy_json" {
  description = "The task execution role: what ECS needs to pull images, write logs and inject secrets."
  value       = jsonencode(local.execution)
}

output "task_policy_json" {
  description = "The task role: what the Rails code itself may call."
  value       = jsonencode(local.task)
}

output "ecs_tasks_assume_policy_json" {
  value = jsonencode(local.ecs_tasks_assume)
}

output "scheduler_assume_policy_json" {
  value = jsonencode(local.scheduler_assume)
}

output "role_arns" {
  description = "The ARNs the policies expect the roles to have (the rails-app module creates them with these names)."
  value = {
    execution = local.execution_role_arn
    task      = local.task_role_arn
    scheduler = local.scheduler_role_arn
  }
}

output "promotion_bucket_policy_json" {
  description = "Statements for this environment's state bucket policy: the environments promoted from it (promoted_by) read its release history across accounts. Empty without promoted_by."
  value       = jsonencode(local.promotion_bucket)
}

output "promotion_repository_policy_json" {
  description = "The repository policy for this environment's repositories: the environments promoted from it pull its images across accounts. Empty without promoted_by."
  value       = jsonencode(local.promotion_repository)
}
