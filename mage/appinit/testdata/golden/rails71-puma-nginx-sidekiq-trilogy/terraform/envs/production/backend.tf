# State in S3 with S3-native locking (use_lockfile). Bucket, key and region
# come from deploy.hcl (environment "production" > terraform > backend) through
# `terraform init -backend-config`.
terraform {
  required_version = ">= 1.10"
  backend "s3" {}
}
