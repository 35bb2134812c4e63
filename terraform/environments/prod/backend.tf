# Remote state: the shared settings are in ../backend.hcl
# (terraform init -backend-config=../backend.hcl).
terraform {
  backend "s3" {
    key = "prod/terraform.tfstate"
  }
}
