# shop in staging: the toolkit's reference module, at the version the
# deploy targets' go.mod requires. Fill in the account, region, network
# and target group: init cannot know them.
provider "aws" {
  region              = "us-east-1"
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
  source = "git::https://github.com/railsecs/deploykit.git//terraform/modules/rails-app?ref=v1.4.0"

  app               = "shop"
  env               = "staging"
  image_tags        = var.image_tags
  schedules         = var.schedules
  cron_service      = var.cron_service
  cron_crontab_path = var.cron_crontab_path

  # The stack init read in Gemfile.lock.
  web = {
    server  = "unicorn"
    proxy   = "nginx"
    command = ["bundle", "exec", "unicorn", "-c", "config/unicorn.rb", "-p", "8080"]
    port    = 8080
  }
  worker = {
    name         = "sidekiq"
    command      = ["bundle", "exec", "sidekiq"]
    health_check = "tr '\\0' ' ' < /proc/1/cmdline | grep -q '^sidekiq ' || exit 1"
  }
  migrate_command   = ["bin/rails", "db:migrate"]
  rails_health_path = "/up"

  cluster_name       = "shop-staging"
  vpc_subnet_ids     = ["subnet-REPLACE-ME"]
  security_group_ids = ["sg-REPLACE-ME"]
  target_group_name  = "shop-staging-web"
  state_bucket       = "shop-terraform-state-123456789012"

  rails_environment = {}
  rails_secrets = {
    DATABASE_URL    = "arn:aws:ssm:us-east-1:123456789012:parameter/shop/staging/DATABASE_URL"
    SECRET_KEY_BASE = "arn:aws:ssm:us-east-1:123456789012:parameter/shop/staging/SECRET_KEY_BASE"
    REDIS_URL       = "arn:aws:ssm:us-east-1:123456789012:parameter/shop/staging/REDIS_URL"
  }
}

output "images" {
  value = module.app.images
}

output "deploy_policy_json" {
  value = module.app.deploy_policy_json
}
