provider "aws" {
  region              = "ap-northeast-1"
  allowed_account_ids = ["210987654321"]

  default_tags {
    tags = {
      app         = "shop"
      environment = "production"
      managed_by  = "terraform"
    }
  }
}

module "app" {
  source = "../../modules/rails-app"

  app               = "shop"
  env               = "production"
  image_tags        = var.image_tags
  schedules         = var.schedules
  cron_service      = var.cron_service
  cron_crontab_path = var.cron_crontab_path

  # Promotes staging's releases: reads its history, pulls its images.
  promote_from = {
    account_id   = "123456789012"
    region       = "ap-northeast-1"
    env          = "staging"
    state_bucket = "shop-terraform-state-123456789012"
    repositories = ["shop/app", "shop/nginx"]
  }

  cluster_name       = "shop-production"
  vpc_subnet_ids     = ["subnet-0a1b2c3d4e5f6a7b8", "subnet-1a2b3c4d5e6f7a8b9"]
  security_group_ids = ["sg-0123456789abcdef0"]
  target_group_name  = "shop-production-web"
  state_bucket       = "shop-terraform-state-210987654321"

  web_desired_count = 4

  # nginx serves /assets. Leave RAILS_SERVE_STATIC_FILES unset: Rails'
  # generated production.rb turns static serving on when it is present at
  # all, "0" and "false" included.
  rails_environment = {}
  rails_secrets = {
    DATABASE_URL    = "arn:aws:ssm:ap-northeast-1:210987654321:parameter/shop/production/DATABASE_URL"
    SECRET_KEY_BASE = "arn:aws:ssm:ap-northeast-1:210987654321:parameter/shop/production/SECRET_KEY_BASE"
    REDIS_URL       = "arn:aws:ssm:ap-northeast-1:210987654321:parameter/shop/production/REDIS_URL"
  }
}

output "images" {
  value = module.app.images
}

output "deploy_policy_json" {
  value = module.app.deploy_policy_json
}
