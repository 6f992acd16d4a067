provider "aws" {
  region              = "ap-northeast-1"
  allowed_account_ids = ["123456789012"]

  default_tags {
    tags = {
      app         = "shop"
      environment = "staging"
      managed_by  = "terraform"
    }
  }
}

module "app" {
  source = "../../modules/rails-app"

  app               = "shop"
  env               = "staging"
  image_tags        = var.image_tags
  schedules         = var.schedules
  cron_service      = var.cron_service
  cron_crontab_path = var.cron_crontab_path

  # Production promotes from staging (its deploy role, in its account).
  promoted_by = ["arn:aws:iam::210987654321:role/shop-production-ci-deploy"]

  cluster_name       = "shop-staging"
  vpc_subnet_ids     = ["subnet-0a1b2c3d4e5f6a7b8", "subnet-1a2b3c4d5e6f7a8b9"]
  security_group_ids = ["sg-0123456789abcdef0"]
  target_group_name  = "shop-staging-web"
  state_bucket       = "shop-terraform-state-123456789012"

  web_desired_count = 1

  # nginx serves /assets. Leave RAILS_SERVE_STATIC_FILES unset: Rails'
  # generated production.rb turns static serving on when it is present at
  # all, "0" and "false" included.
  rails_environment = {}
  rails_secrets = {
    DATABASE_URL    = "arn:aws:ssm:ap-northeast-1:123456789012:parameter/shop/staging/DATABASE_URL"
    SECRET_KEY_BASE = "arn:aws:ssm:ap-northeast-1:123456789012:parameter/shop/staging/SECRET_KEY_BASE"
    REDIS_URL       = "arn:aws:ssm:ap-northeast-1:123456789012:parameter/shop/staging/REDIS_URL"
  }
}

output "images" {
  value = module.app.images
}

output "deploy_policy_json" {
  value = module.app.deploy_policy_json
}
