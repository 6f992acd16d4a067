# No provider: the policies render offline (`tofu apply` of this module
# alone), so `mage iam:policy` can print them and the tests can evaluate
# them with an IAM simulator before anything reaches AWS.
terraform {
  required_version = ">= 1.6"
}
