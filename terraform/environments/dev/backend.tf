# Remote state in Scaleway Object Storage through the S3 backend. Create the
# bucket once (terraform/README.md), and export a Scaleway API key as
# AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY before `terraform init`. A
# backend block takes no variables, so each environment states it whole.
terraform {
  backend "s3" {
    bucket = "ciel-terraform-state"
    key    = "dev/terraform.tfstate"
    region = "fr-par"

    endpoints = {
      s3 = "https://s3.fr-par.scw.cloud"
    }

    skip_credentials_validation = true
    skip_region_validation      = true
    skip_requesting_account_id  = true
    skip_metadata_api_check     = true
    skip_s3_checksum            = true
  }
}
