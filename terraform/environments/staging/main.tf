# staging: the same shape as dev (the stack's defaults are the seed's dev
# table) with production logging. The modules are composed in terraform/stack.

terraform {
  required_version = ">= 1.9, < 2.0"

  required_providers {
    scaleway = {
      source  = "scaleway/scaleway"
      version = ">= 2.75, < 3.0"
    }
  }
}

provider "scaleway" {
  project_id  = var.project_id
  signup_mode = var.signup_mode
  region      = "fr-par"
  zone        = "fr-par-1"
}

module "stack" {
  source = "../../stack"

  environment          = "staging"
  project_id           = var.project_id
  alert_contact_emails = var.alert_contact_emails

  image_tag                   = var.image_tag
  bucket_name                 = var.bucket_name
  registry_namespace_name     = var.registry_namespace_name
  paseto_access_key           = var.paseto_access_key
  paseto_refresh_key          = var.paseto_refresh_key
  paseto_access_key_previous  = var.paseto_access_key_previous
  paseto_refresh_key_previous = var.paseto_refresh_key_previous

  dns_zone                 = var.dns_zone
  bastion_allowed_cidrs    = var.bastion_allowed_cidrs
  enable_mail              = var.enable_mail
  enable_mail_bounces      = var.enable_mail_bounces
  mail_sns_trust_chain_pem = var.mail_sns_trust_chain_pem
  mail_sns_cert_url_prefix = var.mail_sns_cert_url_prefix

  # Push notifications: optional, stored in Secret Manager (README "Push notifications").
  push_apns_key            = var.push_apns_key
  push_apns_key_id         = var.push_apns_key_id
  push_apns_team_id        = var.push_apns_team_id
  push_apns_topic          = var.push_apns_topic
  push_fcm_service_account = var.push_fcm_service_account
}
