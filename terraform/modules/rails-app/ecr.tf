# App and nginx images: immutable tags (a tag is a commit, forever), so a
# release can be rolled back to by tag. The build cache is a moving tag, so
# it lives in its own mutable repository.

resource "aws_ecr_repository" "app" {
  name                 = "${var.app}/app"
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }
}

resource "aws_ecr_repository" "nginx" {
  count                = local.nginx ? 1 : 0
  name                 = "${var.app}/nginx"
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }
}

moved {
  from = aws_ecr_repository.nginx
  to   = aws_ecr_repository.nginx[0]
}

moved {
  from = aws_ecr_lifecycle_policy.nginx
  to   = aws_ecr_lifecycle_policy.nginx[0]
}

resource "aws_ecr_repository" "cache" {
  name                 = "${var.app}/build-cache"
  image_tag_mutability = "MUTABLE"
}

locals {
  # Untagged layers go after a week. Release images (tagged with their
  # commit) never expire by count or age here: a "keep the newest N" rule
  # is how rollbacks break. `mage prune` removes releases no rollback can
  # reach (issue: retention), knowing which ones are live.
  release_lifecycle = jsonencode({
    rules = [
      {
        rulePriority = 1
        description  = "expire untagged images after 7 days"
        selection    = { tagStatus = "untagged", countType = "sinceImagePushed", countUnit = "days", countNumber = 7 }
        action       = { type = "expire" }
      },
    ]
  })
}

resource "aws_ecr_lifecycle_policy" "app" {
  repository = aws_ecr_repository.app.name
  policy     = local.release_lifecycle
}

resource "aws_ecr_lifecycle_policy" "nginx" {
  count      = local.nginx ? 1 : 0
  repository = aws_ecr_repository.nginx[0].name
  policy     = local.release_lifecycle
}

resource "aws_ecr_lifecycle_policy" "cache" {
  repository = aws_ecr_repository.cache.name
  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "the cache is rebuilt from main; drop stale layers"
      selection    = { tagStatus = "any", countType = "sinceImagePushed", countUnit = "days", countNumber = 14 }
      action       = { type = "expire" }
    }]
  })
}

# The environments that promote from this one pull its images by digest
# across accounts (their deploy roles' own policies allow their side).
resource "aws_ecr_repository_policy" "promoted_by" {
  for_each   = length(var.promoted_by) == 0 ? {} : merge({ app = aws_ecr_repository.app.name }, { for r in aws_ecr_repository.nginx : "nginx" => r.name })
  repository = each.value
  policy     = module.policies.promotion_repository_policy_json
}
