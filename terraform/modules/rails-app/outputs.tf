output "cluster_arn" {
  value = local.cluster_arn
}

output "service_names" {
  value = concat([aws_ecs_service.web_app.name], [for s in aws_ecs_service.sidekiq : s.name])
}

output "migrate_task_definition_family" {
  value = aws_ecs_task_definition.migrate.family
}

output "repository_urls" {
  value = {
    app   = aws_ecr_repository.app.repository_url
    nginx = one([for r in aws_ecr_repository.nginx : r.repository_url])
    cache = aws_ecr_repository.cache.repository_url
  }
}

output "images" {
  description = "The image each container runs after this apply."
  value = merge(
    local.nginx ? { nginx = local.nginx_image } : {},
    { (var.web.server) = local.app_image, rails = local.app_image },
    var.worker == null ? {} : { (var.worker.name) = local.app_image },
  )
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
