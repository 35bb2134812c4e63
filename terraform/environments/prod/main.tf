# prod: the seed's scenario 8 (production-ready, full split). The image tag
# is an input with no default: the deploy workflow passes the commit's sha,
# an immutable tag. The modules are composed in terraform/stack.

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

  environment = "prod"
  project_id  = var.project_id

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

  # Scenario 8, value for value.
  enable_load_balancer        = true
  enable_bastion              = var.enable_bastion # false, as scenario 8
  enable_combined_mode        = false
  api_instance_count          = 2
  api_instance_type           = "DEV1-M"
  enable_serverless_worker    = true
  serverless_worker_max_scale = 10
  db_node_type                = "DB-PRO2-XXS"
  enable_ha                   = true
  volume_size_in_gb           = 20
  enabled                     = true
  use_managed_redis           = true
  managed_redis_node_type     = "RED1-micro"
  enable_cdn                  = true
  enable_alerts               = true
}
