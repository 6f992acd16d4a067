terraform {
  required_version = ">= 1.6"
  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 6.x: data.aws_region's region attribute, ECS service deployments
      # (BLUE_GREEN from 6.4, LINEAR/CANARY from 6.21). A major upgrade is a
      # reviewed change, never a surprise.
      version = "~> 6.21"
    }
  }
}
