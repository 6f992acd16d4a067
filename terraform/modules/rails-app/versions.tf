terraform {
  required_version = ">= 1.6"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.40" # a major upgrade is a reviewed change, never a surprise
    }
  }
}
