# sandbox-production is the sandbox's root (main.tf and variables.tf are
# links to ../sandbox) with other names: another "account" on this machine.
locals {
  env      = "sandbox-production"
  cluster  = "shop-sandbox-production"
  registry = coalesce(var.sandbox_registry, "127.0.0.1:5001")

  database_url = "mysql2://root@127.0.0.1:3308/shop_sandbox_production"
  redis_url    = "redis://127.0.0.1:6380/0"
}
