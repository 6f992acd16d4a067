# Deploy configuration for shop, written by deploykit's init from
# Gemfile.lock, config/database.yml, config/recurring.yml: Rails 8.0.1,
# puma behind Thruster, solid_queue, sqlite3, propshaft.
# Reference: docs/configuration.md in the toolkit.

app = "shop"

build {
  builder          = "auto" # docker buildx when Docker runs, else buildah
  tag              = "short"
  cache_repository = "shop/build-cache" # the layer cache: CI's builds reuse it
  write_cache_on   = ["main"]
  platforms        = ["linux/amd64"]
  # No nginx image: Thruster serves the assets from the app image, which
  # holds only its own release's. During a rolling deploy a page from the
  # new release may ask an old task for an asset it lacks (a 404); an
  # nginx image keeps earlier releases' assets (the unicorn/puma + nginx
  # stacks).
}

# Solid Queue's scheduler runs these tasks in the jobs service:
# nothing is generated for EventBridge. `mage cron:list` checks and lists
# them.
recurring {
  file = "config/recurring.yml"
}

image "app" {
  dockerfile = "docker/Dockerfile"
  target     = "app"
  context    = "."
  repository = "shop/app"
}

environment "sandbox" {
  # Everything on this machine: the AWS double, a loopback registry, the
  # services' tasks as podman pods behind HAProxy. No AWS account.
  account  = "000000000000"
  region   = "us-east-1"
  cluster  = "shop-sandbox"
  registry = env("SANDBOX_REGISTRY", "127.0.0.1:5000")
  local    = true
  builder  = "buildah"
  local_load_balancer {
    listen                = "127.0.0.1:8080"
    service               = "web-app"
    container             = "puma"
    port                  = 80
    health_check_path     = "/up"
    health_check_interval = 2
    healthy_threshold     = 2
    unhealthy_threshold   = 2
    deregistration_delay  = 30
  }
  # No registry here serves ruby: or nginx: images: the sandbox builds
  # from base images made from Debian's packages (mage sandbox:base).
  prepare = ["go", "run", "mage.go", "sandbox:base"]
  image "app" {
    build_args = { BASE_IMAGE = "localhost/deploykit/ruby:bookworm", GO_IMAGE = "localhost/deploykit/golang:host" }
  }

  service "web-app" {
    containers = { puma = "app" }
  }
  service "jobs" {
    containers = { jobs = "app" }
  }

  terraform {
    root    = "terraform/envs/sandbox"
    backend = { path = "../../../.deploykit/sandbox/terraform.tfstate" }
    tfvars  = "terraform/envs/sandbox/images.auto.tfvars"
    image_tags = {
      app = "image_tags.app"
    }
  }

  migrate {
    task_definition = "shop-sandbox-migrate"
    container       = "rails"
    command         = ["bin/rails", "db:prepare"]
    network_from    = "web-app"
    # Every database's migrations and schema (config/database.yml): a
    # change to any of them runs the migration task.
    paths = ["db/migrate", "db/schema.rb", "db/structure.sql", "db/cable_migrate", "db/cable_schema.rb", "db/cable_structure.sql", "db/cache_migrate", "db/cache_schema.rb", "db/cache_structure.sql", "db/queue_migrate", "db/queue_schema.rb", "db/queue_structure.sql"]
  }
}

environment "staging" {
  # Fill in the account, region and registry: init cannot know them.
  account  = "123456789012"
  region   = "us-east-1"
  cluster  = "shop-staging"
  registry = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
  builder  = "buildx"

  service "web-app" {
    containers = { puma = "app" }
  }
  service "jobs" {
    containers = { jobs = "app" }
  }

  terraform {
    root = "terraform/envs/staging"
    backend = {
      bucket       = "shop-terraform-state-123456789012"
      key          = "staging/terraform.tfstate"
      region       = "us-east-1"
      use_lockfile = "true"
    }
    tfvars = "terraform/envs/staging/images.auto.tfvars"
    image_tags = {
      app = "image_tags.app"
    }
  }

  migrate {
    task_definition = "shop-staging-migrate"
    container       = "rails"
    command         = ["bin/rails", "db:prepare"]
    network_from    = "web-app"
    # Every database's migrations and schema (config/database.yml): a
    # change to any of them runs the migration task.
    paths = ["db/migrate", "db/schema.rb", "db/structure.sql", "db/cable_migrate", "db/cable_schema.rb", "db/cable_structure.sql", "db/cache_migrate", "db/cache_schema.rb", "db/cache_structure.sql", "db/queue_migrate", "db/queue_schema.rb", "db/queue_structure.sql"]
  }
}

environment "production" {
  # Fill in the account, region and registry: init cannot know them.
  account  = "123456789012"
  region   = "us-east-1"
  cluster  = "shop-production"
  registry = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
  builder  = "buildx"
  # Production runs exactly what staging tested (mage promote).
  promote_from = "staging"

  service "web-app" {
    containers = { puma = "app" }
  }
  service "jobs" {
    containers = { jobs = "app" }
  }

  terraform {
    root = "terraform/envs/production"
    backend = {
      bucket       = "shop-terraform-state-123456789012"
      key          = "production/terraform.tfstate"
      region       = "us-east-1"
      use_lockfile = "true"
    }
    tfvars = "terraform/envs/production/images.auto.tfvars"
    image_tags = {
      app = "image_tags.app"
    }
  }

  migrate {
    task_definition = "shop-production-migrate"
    container       = "rails"
    command         = ["bin/rails", "db:prepare"]
    network_from    = "web-app"
    # Every database's migrations and schema (config/database.yml): a
    # change to any of them runs the migration task.
    paths = ["db/migrate", "db/schema.rb", "db/structure.sql", "db/cable_migrate", "db/cable_schema.rb", "db/cable_structure.sql", "db/cache_migrate", "db/cache_schema.rb", "db/cache_structure.sql", "db/queue_migrate", "db/queue_schema.rb", "db/queue_structure.sql"]
  }
}

