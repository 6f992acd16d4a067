output "cluster_arn" {
  value = local.cluster_arn
}

output "service_names" {
  value = [aws_ecs_service.web_app.name, aws_ecs_service.sidekiq.name]
}

output "migrate_task_definition_family" {
  value = aws_ecs_task_definition.migrate.family
}

output "repository_urls" {
  value = {
    app   = aws_ecr_repository.app.repository_url
    nginx = aws_ecr_repository.nginx.repository_url
    cache = aws_ecr_repository.cache.repository_url
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

output "deploy_policy_json" {
  description = "Attach to the role CI assumes for deploys (see DEPLOY_POLICY.md)."
  value       = module.policies.deploy_policy_json
}

output "ci_deploy_role_arn" {
  description = "The role CircleCI assumes (when ci_oidc is set): put it in the context's STAGING_DEPLOY_ROLE_ARN / PRODUCTION_DEPLOY_ROLE_ARN."
  value       = var.ci_oidc == null ? null : aws_iam_role.ci_deploy[0].arn
}

output "promotion_bucket_policy_json" {
  description = "Add these statements to the state bucket's policy (the bucket is not this module's): the environments in promoted_by read this environment's release history across accounts."
  value       = module.policies.promotion_bucket_policy_json
}
