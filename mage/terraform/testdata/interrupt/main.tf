# A root whose apply runs long enough to be interrupted mid-way.
terraform {
  backend "local" {}
}

variable "marker" {
  type = string
}

resource "terraform_data" "slow" {
  input = var.marker

  provisioner "local-exec" {
    command = "echo provisioner-started; sleep 60"
  }
}
