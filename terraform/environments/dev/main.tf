# dev: the seed's "Dev Environment Configuration". The modules are composed in
# terraform/stack; this file holds the provider and dev's values. A scenario
# (scenarios/*.tfvars) sets the variable of the same name (variables.tf).

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

  environment           = "dev"
  project_id            = var.project_id
  rust_log              = "debug,tower_http=debug"
  dns_zone              = var.dns_zone
  bastion_allowed_cidrs = var.bastion_allowed_cidrs
  alert_contact_emails  = var.alert_contact_emails

  image_tag                   = var.image_tag
  bucket_name                 = var.bucket_name
  registry_namespace_name     = var.registry_namespace_name
  paseto_access_key           = var.paseto_access_key
  paseto_refresh_key          = var.paseto_refresh_key
  paseto_access_key_previous  = var.paseto_access_key_previous
  paseto_refresh_key_previous = var.paseto_refresh_key_previous

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

  # The seed's dev table, value for value (a scenario's value wins).
  enable_load_balancer        = coalesce(var.enable_load_balancer, false)
  enable_bastion              = coalesce(var.enable_bastion, true)
  enable_public_gateway       = coalesce(var.enable_public_gateway, true)
  db_node_type                = coalesce(var.db_node_type, "DB-DEV-S")
  enable_ha                   = coalesce(var.enable_ha, false)
  enabled                     = coalesce(var.enabled, false) # cache: Redis runs on the combined instance
  enable_combined_mode        = coalesce(var.enable_combined_mode, true)
  combined_instance_type      = coalesce(var.combined_instance_type, "DEV1-M")
  api_instance_count          = coalesce(var.api_instance_count, 0)
  worker_instance_count       = coalesce(var.worker_instance_count, 0)
  enable_serverless_worker    = coalesce(var.enable_serverless_worker, true)
  serverless_worker_min_scale = coalesce(var.serverless_worker_min_scale, 0) # scale to zero
  serverless_worker_max_scale = coalesce(var.serverless_worker_max_scale, 3)
  enable_cdn                  = coalesce(var.enable_cdn, false)
  enable_alerts               = coalesce(var.enable_alerts, false)

  # Set only by scenarios; null keeps the stack's default.
  lb_type                           = var.lb_type
  volume_size_in_gb                 = var.volume_size_in_gb
  read_replica_count                = var.read_replica_count
  use_managed_redis                 = var.use_managed_redis
  managed_redis_node_type           = var.managed_redis_node_type
  redis_instance_type               = var.redis_instance_type
  embedded_redis_maxmemory_mb       = var.embedded_redis_maxmemory_mb
  api_instance_type                 = var.api_instance_type
  serverless_worker_cpu             = var.serverless_worker_cpu
  serverless_worker_memory          = var.serverless_worker_memory
  serverless_worker_timeout_seconds = var.serverless_worker_timeout_seconds
  cors_allowed_origins              = var.cors_allowed_origins
  enable_cdn_dns                    = var.enable_cdn_dns
  cdn_subdomain                     = var.cdn_subdomain
  enable_kubernetes                 = var.enable_kubernetes
  kubernetes_node_type              = var.kubernetes_node_type
  kubernetes_min_nodes              = var.kubernetes_min_nodes
  kubernetes_max_nodes              = var.kubernetes_max_nodes
}
