# Deploy configuration for the example Rails app: unicorn and sidekiq run
# the same "app" image, nginx serves the precompiled assets from its own.
# Reference: README.md, "Configuration".

app = "shop"

terraform {
  # "terraform", "tofu", a path, or leave unset to use whichever is on PATH
  # (DEPLOYKIT_TERRAFORM overrides this).
  binary = ""
}

build {
  builder          = "auto"             # auto: docker buildx when Docker runs, else buildah
  tag              = "short"            # image tag: 12 hex digits of the commit ("full" for 40)
  cache_repository = "shop/build-cache" # mutable repository for the layer cache
  write_cache_on   = ["main"]           # branches whose builds refresh the cache
  platforms        = ["linux/amd64"]    # what Fargate runs (X86_64); the task definitions agree
  # Build secrets, mounted only in the RUN steps that ask for them
  # (docker/Dockerfile's bundle install), never in a layer, argv or the log.
  secrets = {
    BUNDLE_GITHUB__COM = env("BUNDLE_GITHUB__COM", "")
  }
}

cron {
  # Whenever's schedule, run as EventBridge Scheduler tasks of the app image.
  schedule      = "examples/sandbox-app/config/schedule.rb"
  timezone      = "Asia/Tokyo"
  frequent_jobs = "service" # jobs more often than every 5 minutes run in one cron service
  # Inside the app's build context, so the image holds it; its path in the
  # image (app_root + the path from the context, default app_root /rails)
  # goes to terraform as cron_crontab_path with the schedules.
  service_crontab = "examples/sandbox-app/config/crontab.supercronic"
}

# The layout this file assumes in your app: deploy.hcl, magefile.go,
# mage.go, docker/ and terraform/ sit in the Rails root, beside Gemfile, so
# the build context "." is the Rails root and the image's /rails is a copy
# of it. In this repository only the sandbox has an app
# (examples/sandbox-app, set as its context below); a build that starts
# from a context without the files the Dockerfile copies (Gemfile...) is
# refused before it runs, naming the Dockerfile line.
image "app" {
  dockerfile = "docker/Dockerfile"
  target     = "app"
  context    = "." # the Rails root
  repository = "shop/app"
}

image "nginx" {
  dockerfile = "docker/Dockerfile"
  target     = "nginx"
  context    = "." # the Rails root
  repository = "shop/nginx"
}

environment "sandbox" {
  # Everything on this machine: the AWS double, a loopback registry and
  # local terraform state. No AWS account is needed.
  account  = "000000000000"
  region   = "us-east-1"
  cluster  = "shop-sandbox"
  registry = env("SANDBOX_REGISTRY", "127.0.0.1:5000")

  local   = true      # the AWS double, a loopback registry, state in .deploykit/sandbox
  builder = "buildah" # daemonless, as on this machine
  # MariaDB for the app's migrations, started (and kept running, like the
  # registry) by the sandbox; terraform/envs/sandbox passes the same URL
  # to the containers as DATABASE_URL.
  local_database = "mysql2://root@127.0.0.1:3307/shop_sandbox"
  # Redis for sidekiq, started and kept like MariaDB (REDIS_URL in the
  # terraform root is the same URL).
  local_redis = "redis://127.0.0.1:6379/0"
  # The sandbox runs the services' tasks as podman pods, web-app's behind
  # HAProxy standing in for the ALB and its target group: deploy ends with
  # the release serving at http://127.0.0.1:8080/.
  local_load_balancer {
    listen            = "127.0.0.1:8080"
    service           = "web-app"
    container         = "nginx" # the service's load_balancer block
    port              = 80
    health_check_path = "/up" # through nginx to unicorn and Rails
    # Quicker than an ALB's (30 s, 5 checks, 300 s delay) to keep a sandbox
    # deploy short; a drain still ends early once no request is in flight.
    health_check_interval = 2
    healthy_threshold     = 2
    unhealthy_threshold   = 2
    deregistration_delay  = 30
  }

  # The sandbox builds docker/Dockerfile itself for the example Rails app
  # (examples/sandbox-app, a Rails root). No registry here serves ruby: or
  # nginx: images, so the build starts from base images made from
  # Debian's packages (mage sandbox:base: mmdebstrap once per package
  # list, about a minute). In your app docker/ sits in the Rails root;
  # here the example app borrows the repository's nginx.conf.
  prepare = ["sh", "-c", "go run mage.go sandbox:base && mkdir -p examples/sandbox-app/docker && cp docker/nginx.conf examples/sandbox-app/docker/nginx.conf"]
  image "app" {
    context    = "examples/sandbox-app"
    build_args = { BASE_IMAGE = "localhost/deploykit/ruby:bookworm", GO_IMAGE = "localhost/deploykit/golang:host" }
  }
  image "nginx" {
    context    = "examples/sandbox-app"
    build_args = { BASE_IMAGE = "localhost/deploykit/ruby:bookworm", NGINX_IMAGE = "localhost/deploykit/nginx:bookworm" }
  }

  service "web-app" {
    containers = { nginx = "nginx", unicorn = "app" }
  }
  service "sidekiq" {
    containers = { sidekiq = "app" }
  }

  terraform {
    root = "terraform/envs/sandbox"
    # Beside the AWS double's state, so wiping .deploykit/ resets both.
    backend = { path = "../../../.deploykit/sandbox/terraform.tfstate" }
    tfvars  = "terraform/envs/sandbox/images.auto.tfvars"
    image_tags = {
      app   = "image_tags.app"
      nginx = "image_tags.nginx"
    }
  }

  migrate {
    task_definition = "shop-sandbox-migrate"
    container       = "rails"
    command         = ["bin/rails", "db:migrate"]
    network_from    = "web-app"
    paths           = ["examples/sandbox-app/db/migrate", "examples/sandbox-app/db/schema.rb"]
  }
}

environment "sandbox-production" {
  # A second local environment, "another account": its own double, its own
  # loopback registry and state. It never builds: it promotes by digest
  # what the sandbox verified, as production does with staging.
  account        = "000000000000"
  region         = "us-east-1"
  cluster        = "shop-sandbox-production"
  registry       = env("SANDBOX_PRODUCTION_REGISTRY", "127.0.0.1:5001")
  local          = true
  local_database = "mysql2://root@127.0.0.1:3308/shop_sandbox_production"
  local_redis    = "redis://127.0.0.1:6380/0"
  local_load_balancer {
    listen                = "127.0.0.1:8081"
    service               = "web-app"
    container             = "nginx"
    port                  = 80
    health_check_path     = "/up"
    health_check_interval = 2
    healthy_threshold     = 2
    unhealthy_threshold   = 2
    deregistration_delay  = 30
  }
  builder        = "buildah"
  promote_from   = "sandbox"

  service "web-app" {
    containers = { nginx = "nginx", unicorn = "app" }
  }
  service "sidekiq" {
    containers = { sidekiq = "app" }
  }

  terraform {
    root    = "terraform/envs/sandbox-production"
    backend = { path = "../../../.deploykit/sandbox-production/terraform.tfstate" }
    tfvars  = "terraform/envs/sandbox-production/images.auto.tfvars"
    image_tags = {
      app   = "image_tags.app"
      nginx = "image_tags.nginx"
    }
  }

  migrate {
    task_definition = "shop-sandbox-production-migrate"
    container       = "rails"
    command         = ["bin/rails", "db:migrate"]
    network_from    = "web-app"
    paths           = ["examples/sandbox-app/db/migrate", "examples/sandbox-app/db/schema.rb"]
  }
}

environment "staging" {
  account  = "123456789012"
  region   = "ap-northeast-1"
  cluster  = "shop-staging"
  registry = "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com"
  builder  = "buildx" # CircleCI's machine executor: Docker with buildx

  service "web-app" {
    containers = { nginx = "nginx", unicorn = "app" }
  }
  service "sidekiq" {
    containers = { sidekiq = "app" }
  }

  terraform {
    root = "terraform/envs/staging"
    backend = {
      bucket       = "shop-terraform-state-123456789012"
      key          = "staging/terraform.tfstate"
      region       = "ap-northeast-1"
      use_lockfile = "true"
    }
    tfvars = "terraform/envs/staging/images.auto.tfvars"
    image_tags = {
      app   = "image_tags.app"
      nginx = "image_tags.nginx"
    }
  }

  migrate {
    task_definition = "shop-staging-migrate"
    container       = "rails"
    command         = ["bundle", "exec", "rails", "db:migrate"]
    network_from    = "web-app"
  }
}

environment "production" {
  account  = "210987654321"
  region   = "ap-northeast-1"
  cluster  = "shop-production"
  registry = "210987654321.dkr.ecr.ap-northeast-1.amazonaws.com"
  builder  = "buildx" # only if a release must be built here; promotion builds nothing
  # Production runs exactly what staging tested: a deploy copies staging's
  # newest successful release by digest (mage promote), building nothing.
  promote_from = "staging"

  service "web-app" {
    containers = { nginx = "nginx", unicorn = "app" }
  }
  service "sidekiq" {
    containers = { sidekiq = "app" }
  }

  terraform {
    root = "terraform/envs/production"
    backend = {
      bucket       = "shop-terraform-state-210987654321"
      key          = "production/terraform.tfstate"
      region       = "ap-northeast-1"
      use_lockfile = "true"
    }
    tfvars = "terraform/envs/production/images.auto.tfvars"
    image_tags = {
      app   = "image_tags.app"
      nginx = "image_tags.nginx"
    }
  }

  migrate {
    task_definition = "shop-production-migrate"
    container       = "rails"
    command         = ["bundle", "exec", "rails", "db:migrate"]
    network_from    = "web-app"
  }
}
