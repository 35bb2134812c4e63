# The composition of the nine modules, shared by every environment. An
# environment (environments/<name>/main.tf) holds only its backend, the
# provider and one call of this module with its values; a scaling scenario is
# a tfvars file in environments/dev/scenarios.

locals {
  name_prefix = "ciel-${var.environment}"
  tags        = ["env:${var.environment}"]
}

# Instances without a public IP (LB-backed API, workers, self-hosted Redis)
# reach the internet (registry, S3, SQS) only through the public gateway.
check "private_instances_have_egress" {
  assert {
    condition = var.enable_public_gateway || !(
      var.enable_load_balancer || var.worker_instance_count > 0 || (var.enabled && !var.use_managed_redis) || var.enable_kubernetes
    )
    error_message = "enable_public_gateway = false leaves instances (and Kubernetes nodes) without a public IP with no internet access (image pulls, S3, SQS)."
  }
}

module "secrets" {
  source = "../modules/secrets"

  name_prefix = local.name_prefix
  region      = var.region
  tags        = local.tags

  paseto_access_key  = var.paseto_access_key
  paseto_refresh_key = var.paseto_refresh_key

  push_apns_key            = var.push_apns_key
  push_apns_key_id         = var.push_apns_key_id
  push_apns_team_id        = var.push_apns_team_id
  push_apns_topic          = var.push_apns_topic
  push_fcm_service_account = var.push_fcm_service_account
}

module "networking" {
  source = "../modules/networking"

  name_prefix           = local.name_prefix
  region                = var.region
  zone                  = var.zone
  tags                  = local.tags
  enable_public_gateway = var.enable_public_gateway
  enable_bastion        = var.enable_bastion
  bastion_allowed_cidrs = var.bastion_allowed_cidrs
  enable_load_balancer  = var.enable_load_balancer
  lb_type               = var.lb_type
  lb_backend_server_ips = module.compute.api_private_ips

  # Without an LB (and off Kapsule), the gateway forwards the API port to
  # the one host that serves it.
  enable_api_port_forward = local.api_port_forward
  api_port_forward_ip     = module.compute.api_port_forward_ip
  enable_kubernetes_lb    = var.enable_kubernetes
}

locals {
  api_port_forward = var.enable_public_gateway && !var.enable_load_balancer && (var.enable_combined_mode || var.api_instance_count > 0)
  # Known at plan time: whether some address serves the API (the DNS
  # record's count cannot wait for the address itself).
  api_reachable = var.enable_load_balancer || var.enable_kubernetes || var.enable_combined_mode || var.api_instance_count > 0
  # The instances' LB while it exists (scenario 9's migration keeps it
  # serving until the cluster does), then the cluster's.
  api_ip = var.enable_load_balancer ? module.networking.lb_ip : (
    var.enable_kubernetes ? module.networking.kubernetes_lb.ip : (
      local.api_port_forward ? module.networking.public_gateway_ip_address : module.compute.api_public_ip
    )
  )
  # The HTTPS name that answers once its certificate and frontend exist.
  https_hostname = var.enable_load_balancer ? module.networking.lb_https_hostname : (
    var.enable_kubernetes ? module.networking.kubernetes_lb.hostname : null
  )
}

# Without an LB, clients reach one host: more API instances would be idle.
check "one_api_host_without_a_load_balancer" {
  assert {
    condition     = var.enable_load_balancer || var.enable_kubernetes || var.api_instance_count <= 1
    error_message = "api_instance_count > 1 without enable_load_balancer: only the first API instance is reachable."
  }
}

check "cdn_record_needs_a_zone" {
  assert {
    condition     = !var.enable_cdn_dns || var.dns_zone != null
    error_message = "enable_cdn_dns does nothing without dns_zone: no media record is written."
  }
}

module "database" {
  source = "../modules/database"

  name_prefix        = local.name_prefix
  region             = var.region
  tags               = local.tags
  private_network_id = module.networking.private_network_id
  db_node_type       = var.db_node_type
  enable_ha          = var.enable_ha
  volume_size_in_gb  = var.volume_size_in_gb
  read_replica_count = var.read_replica_count
  admin_password     = module.secrets.db_admin_password
  app_password       = module.secrets.db_password
}

module "cache" {
  source = "../modules/cache"

  name_prefix             = local.name_prefix
  zone                    = var.zone
  tags                    = local.tags
  enabled                 = var.enabled
  use_managed_redis       = var.use_managed_redis
  managed_redis_node_type = var.managed_redis_node_type
  redis_instance_type     = var.redis_instance_type
  private_network_id      = module.networking.private_network_id
  security_group_id       = module.networking.worker_security_group_id
  redis_password          = module.secrets.redis_password
  gateway_network_id      = module.networking.gateway_network_id
}

module "storage" {
  source = "../modules/storage"

  name_prefix          = local.name_prefix
  project_id           = var.project_id
  region               = var.region
  bucket_name          = coalesce(var.bucket_name, "ciel-media-${var.environment}")
  force_destroy        = var.environment == "dev"
  cors_allowed_origins = var.cors_allowed_origins
  enable_cdn           = var.enable_cdn
  cdn_fqdn             = var.dns_zone != null && var.enable_cdn_dns ? "${var.cdn_subdomain}.${var.dns_zone}" : null
}

module "messaging" {
  source = "../modules/messaging"

  name_prefix                = local.name_prefix
  region                     = var.region
  visibility_timeout_seconds = var.queue_visibility_timeout_seconds
  message_retention_seconds  = var.queue_message_retention_seconds
  receive_wait_time_seconds  = var.queue_receive_wait_time_seconds
  max_receive_count          = var.queue_max_receive_count
}

module "observability" {
  source = "../modules/observability"

  name_prefix          = local.name_prefix
  region               = var.region
  enable_alerts        = var.enable_alerts
  alert_contact_emails = var.alert_contact_emails
}

locals {
  mail_enabled   = var.enable_mail && var.dns_zone != null
  mail_bounces   = local.mail_enabled && var.enable_mail_bounces
  sending_domain = var.dns_zone == null ? null : (var.mail_subdomain == "" ? var.dns_zone : "${var.mail_subdomain}.${var.dns_zone}")
  api_host       = var.dns_zone == null ? null : (var.api_subdomain == "" ? var.dns_zone : "${var.api_subdomain}.${var.dns_zone}")
  # What every worker that sends mail gets (instances, container, pods).
  mail_from         = local.mail_enabled ? "${var.mail_from_name} <no-reply@${local.sending_domain}>" : null
  app_link_base_url = local.mail_enabled ? coalesce(var.app_link_base_url, "https://${local.api_host}/app") : null
}

module "mail" {
  source = "../modules/mail"

  enabled        = local.mail_enabled
  name_prefix    = local.name_prefix
  project_id     = var.project_id
  region         = "fr-par" # Transactional Email's only region
  tags           = local.tags
  sending_domain = local.sending_domain
  # The LB's own name: its certificate covers it whatever DNS says. Read
  # from the certificate and frontend, so the subscription comes after them
  # (and after /ready answers there: the mail module waits for it).
  bounce_endpoint = local.mail_bounces ? "https://${local.https_hostname}/v1/mail/sns" : null
  ready_url       = local.mail_bounces ? "https://${local.https_hostname}/ready" : null
}

module "compute" {
  source = "../modules/compute"

  name_prefix             = local.name_prefix
  project_id              = var.project_id
  region                  = var.region
  zone                    = var.zone
  tags                    = local.tags
  registry_namespace_name = coalesce(var.registry_namespace_name, local.name_prefix)
  image_tag               = var.image_tag
  rust_log                = var.rust_log
  signup_mode             = var.signup_mode

  private_network_id       = module.networking.private_network_id
  private_network_cidr     = module.networking.private_network_cidr
  api_security_group_id    = module.networking.api_security_group_id
  worker_security_group_id = module.networking.worker_security_group_id
  behind_load_balancer     = var.enable_load_balancer
  enable_public_gateway    = var.enable_public_gateway
  gateway_network_id       = module.networking.gateway_network_id

  enable_combined_mode        = var.enable_combined_mode
  combined_instance_type      = var.combined_instance_type
  embedded_redis_maxmemory_mb = var.embedded_redis_maxmemory_mb
  api_instance_count          = var.api_instance_count
  api_instance_type           = var.api_instance_type
  worker_instance_count       = var.worker_instance_count
  worker_instance_type        = var.worker_instance_type

  # Split modes: the separate Redis from the cache module (scenario 2 onwards).
  redis_host     = module.cache.redis_host
  redis_port     = coalesce(module.cache.redis_port, 6379)
  redis_tls      = module.cache.redis_tls
  redis_ca_cert  = module.cache.redis_ca_cert
  redis_username = module.cache.redis_username
  redis_password = module.secrets.redis_password

  enable_serverless_worker          = var.enable_serverless_worker
  serverless_worker_min_scale       = var.serverless_worker_min_scale
  serverless_worker_max_scale       = var.serverless_worker_max_scale
  serverless_worker_cpu             = var.serverless_worker_cpu
  serverless_worker_memory          = var.serverless_worker_memory
  serverless_worker_timeout_seconds = var.serverless_worker_timeout_seconds
  worker_concurrency                = var.worker_concurrency

  database_url                     = module.database.database_url
  database_read_url                = module.database.database_read_url
  s3_endpoint                      = module.storage.s3_endpoint
  s3_bucket                        = module.storage.bucket_name
  s3_public_endpoint               = module.storage.s3_public_endpoint
  s3_access_key                    = module.storage.s3_access_key
  s3_secret_key                    = module.storage.s3_secret_key
  queue_endpoint                   = module.messaging.queue_endpoint
  queue_name                       = module.messaging.queue_name
  queue_url                        = module.messaging.queue_url
  dlq_name                         = module.messaging.dlq_name
  dlq_url                          = module.messaging.dlq_url
  queue_visibility_timeout_seconds = module.messaging.visibility_timeout_seconds
  queue_publish_access_key         = module.messaging.publish_access_key
  queue_publish_secret_key         = module.messaging.publish_secret_key
  queue_receive_access_key         = module.messaging.receive_access_key
  queue_receive_secret_key         = module.messaging.receive_secret_key
  paseto_access_key                = module.secrets.paseto_access_key
  paseto_refresh_key               = module.secrets.paseto_refresh_key
  paseto_access_key_previous       = var.paseto_access_key_previous
  paseto_refresh_key_previous      = var.paseto_refresh_key_previous
  admin_token                      = module.secrets.admin_token
  metrics_token                    = module.secrets.metrics_token
  metrics_push_url                 = module.observability.metrics_push_url
  metrics_push_token               = module.observability.metrics_push_token

  # Push credentials, for every worker path (instances, serverless container).
  push_env = module.secrets.push_env

  enable_mail       = local.mail_enabled
  smtp_url          = module.mail.smtp_url
  mail_from         = local.mail_from
  app_link_base_url = local.app_link_base_url

  # Bounces reach the API, which checks each message against Scaleway's CA.
  sns_topic_arn       = local.mail_bounces ? module.mail.events_topic_arn : null
  sns_trust_chain_pem = local.mail_bounces ? var.mail_sns_trust_chain_pem : null
  sns_cert_url_prefix = local.mail_bounces ? var.mail_sns_cert_url_prefix : null

  # With the CDN, the API purges what it deletes or withholds from its cache.
  enable_cdn           = var.enable_cdn
  cdn_pipeline_id      = module.storage.cdn_pipeline_id
  cdn_purge_secret_key = module.storage.cdn_purge_secret_key
}

module "dns" {
  source = "../modules/dns"
  count  = var.dns_zone == null ? 0 : 1

  dns_zone       = var.dns_zone
  api_subdomain  = var.api_subdomain
  api_record     = local.api_reachable
  api_ip         = local.api_ip
  enable_cdn_dns = var.enable_cdn_dns && var.enable_cdn
  cdn_subdomain  = var.cdn_subdomain
  cdn_target     = module.storage.cdn_default_hostname

  enable_mail_dns  = local.mail_enabled
  mail_subdomain   = var.mail_subdomain
  mail_domain_id   = module.mail.domain_id
  mail_spf_include = module.mail.spf_include
  mail_dkim_name   = module.mail.dkim_name
  mail_dkim_value  = module.mail.dkim_value
  mail_dmarc_name  = module.mail.dmarc_name
  mail_dmarc_value = module.mail.dmarc_value
  mail_mx_target   = module.mail.mx_target
}

# Scenario 9: the API and Redis on Kapsule (deploy/k8s). The cluster joins
# the private network, so the pods reach the database like the instances.
module "kubernetes" {
  source = "../modules/kubernetes"

  name_prefix        = local.name_prefix
  region             = var.region
  zone               = var.zone
  tags               = local.tags
  enabled            = var.enable_kubernetes
  private_network_id = module.networking.private_network_id
  gateway_network_id = module.networking.gateway_network_id
  node_type          = var.kubernetes_node_type
  min_nodes          = var.kubernetes_min_nodes
  max_nodes          = var.kubernetes_max_nodes
}
