# Shared S3 backend settings of every environment (Scaleway Object Storage):
#   terraform init -backend-config=../backend.hcl
# Each environment's backend.tf adds only its state key. Create the bucket
# once (terraform/README.md), and export a Scaleway API key as
# AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY before `terraform init`.
bucket = "ciel-terraform-state"
region = "fr-par"

endpoints = {
  s3 = "https://s3.fr-par.scw.cloud"
}

skip_credentials_validation = true
skip_region_validation      = true
skip_requesting_account_id  = true
skip_metadata_api_check     = true
skip_s3_checksum            = true
