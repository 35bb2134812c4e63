# Every value of the stack. The defaults are the seed's "Dev Environment
# Configuration"; variables with a default are not nullable, so an environment
# that passes null (an unset scenario override) gets the default.

variable "project_id" {
  type        = string
  description = "Scaleway project ID everything is created in."

  validation {
    condition     = can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", var.project_id))
    error_message = "project_id must be a UUID."
  }
}

variable "region" {
  type        = string
  description = "Scaleway region."
  default     = "fr-par"
  nullable    = false
}

variable "zone" {
  type        = string
  description = "Scaleway zone for zonal resources."
  default     = "fr-par-1"
  nullable    = false
}

variable "environment" {
  type        = string
  description = "Environment name, used in resource names (ciel-<environment>)."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,15}$", var.environment))
    error_message = "environment must be 2-16 lowercase letters, digits or dashes."
  }
}

variable "bucket_name" {
  type        = string
  description = "Media bucket name (globally unique). Null: ciel-media-<environment>."
  default     = null
}

variable "registry_namespace_name" {
  type        = string
  description = "Container registry namespace (unique per region). Null: ciel-<environment>."
  default     = null
}

variable "image_tag" {
  type        = string
  description = "Tag of the ciel image to deploy: an immutable one (CD passes the git sha). A new tag redeploys the serverless container and is rolled onto the hosts by scripts/roll; it replaces no host."
  nullable    = false
}

variable "paseto_access_key" {
  type        = string
  description = "secrets: PASETO_ACCESS_KEY (base64 of 32 bytes); null keeps the generated one. Set during a rotation (docs/operations.md)."
  default     = null
  sensitive   = true
}

variable "paseto_refresh_key" {
  type        = string
  description = "secrets: PASETO_REFRESH_KEY (base64 of 32 bytes); null keeps the generated one."
  default     = null
  sensitive   = true
}

variable "paseto_access_key_previous" {
  type        = string
  description = "compute: PASETO_ACCESS_KEY_PREVIOUS, still accepted during a rotation; null: none."
  default     = null
  sensitive   = true
}

variable "paseto_refresh_key_previous" {
  type        = string
  description = "compute: PASETO_REFRESH_KEY_PREVIOUS, still accepted during a rotation; null: none."
  default     = null
  sensitive   = true
}

variable "signup_mode" {
  type        = string
  description = "SIGNUP_MODE of the API: open, or invite (sign-up needs an invite code)."
  default     = "open"
  nullable    = false

  validation {
    condition     = contains(["open", "invite"], var.signup_mode)
    error_message = "signup_mode must be open or invite."
  }
}

variable "rust_log" {
  type        = string
  description = "RUST_LOG of every mode."
  default     = "info,tower_http=info"
  nullable    = false
}

variable "dns_zone" {
  type        = string
  description = "Scaleway-managed DNS zone (e.g. example.com); null: no DNS records."
  default     = null
}

variable "api_subdomain" {
  type        = string
  description = "Record name of the API in dns_zone."
  default     = "api"
  nullable    = false
}

variable "bastion_allowed_cidrs" {
  type        = list(string)
  description = "Public CIDRs allowed to SSH into the bastion."
  default     = ["0.0.0.0/0"]
  nullable    = false
}

variable "alert_contact_emails" {
  type        = list(string)
  description = "E-mail contact points of the alert manager."
  default     = []
  nullable    = false
}

variable "enable_load_balancer" {
  type        = bool
  description = "networking: load balancer in front of the API instances (HTTPS, /health check)."
  default     = false
  nullable    = false
}

variable "lb_type" {
  type        = string
  description = "networking: load balancer type (LB-S, LB-GP-M, LB-GP-L, LB-GP-XL)."
  default     = "LB-S"
  nullable    = false
}

variable "enable_bastion" {
  type        = bool
  description = "networking: SSH bastion instance."
  default     = true
  nullable    = false
}

variable "enable_public_gateway" {
  type        = bool
  description = "networking: public gateway VPC-GW-S (NAT for instances without public IP)."
  default     = true
  nullable    = false
}

variable "db_node_type" {
  type        = string
  description = "database: managed PostgreSQL node type."
  default     = "DB-DEV-S"
  nullable    = false
}

variable "enable_ha" {
  type        = bool
  description = "database: high-availability cluster."
  default     = false
  nullable    = false
}

variable "volume_size_in_gb" {
  type        = number
  description = "database: volume size in GB."
  default     = 10
  nullable    = false
}

variable "read_replica_count" {
  type        = number
  description = "database: number of read replicas."
  default     = 0
  nullable    = false
}

variable "enabled" {
  type        = bool
  description = "cache: separate Redis (seed name, so the scenario files apply verbatim). False: Redis runs on the combined instance."
  default     = false
  nullable    = false
}

variable "use_managed_redis" {
  type        = bool
  description = "cache: managed Redis cluster instead of a self-hosted instance."
  default     = false
  nullable    = false
}

variable "managed_redis_node_type" {
  type        = string
  description = "cache: managed Redis node type."
  default     = "RED1-micro"
  nullable    = false
}

variable "redis_instance_type" {
  type        = string
  description = "cache: self-hosted Redis instance type."
  default     = "DEV1-S"
  nullable    = false
}

variable "enable_combined_mode" {
  type        = bool
  description = "compute: API + Redis 7 on one instance."
  default     = true
  nullable    = false
}

variable "combined_instance_type" {
  type        = string
  description = "compute: combined instance type."
  default     = "DEV1-M"
  nullable    = false
}

variable "embedded_redis_maxmemory_mb" {
  type        = number
  description = "compute: maxmemory (MB) of the Redis on the combined instance."
  default     = 512
  nullable    = false
}

variable "api_instance_count" {
  type        = number
  description = "compute: API instances in split mode."
  default     = 0
  nullable    = false
}

variable "api_instance_type" {
  type        = string
  description = "compute: API instance type."
  default     = "DEV1-S"
  nullable    = false
}

variable "worker_instance_count" {
  type        = number
  description = "compute: long-polling worker instances (APP_MODE=worker)."
  default     = 0
  nullable    = false
}

variable "worker_instance_type" {
  type        = string
  description = "compute: worker instance type."
  default     = "DEV1-M"
  nullable    = false
}

variable "enable_serverless_worker" {
  type        = bool
  description = "compute: serverless media worker fed by the SQS trigger."
  default     = true
  nullable    = false
}

variable "serverless_worker_min_scale" {
  type        = number
  description = "compute: serverless worker minimum instances (0 = scale to zero)."
  default     = 0
  nullable    = false
}

variable "serverless_worker_max_scale" {
  type        = number
  description = "compute: serverless worker maximum instances."
  default     = 3
  nullable    = false
}

variable "serverless_worker_cpu" {
  type        = number
  description = "compute: serverless worker vCPU in mvCPU."
  default     = 1000
  nullable    = false
}

variable "serverless_worker_memory" {
  type        = number
  description = "compute: serverless worker memory in MB."
  default     = 512
  nullable    = false
}

variable "serverless_worker_timeout_seconds" {
  type        = number
  description = "compute: serverless worker request timeout (below the queue visibility timeout)."
  default     = 300
  nullable    = false
}

variable "worker_concurrency" {
  type        = number
  description = "compute: WORKER_CONCURRENCY per serverless instance."
  default     = 2
  nullable    = false
}

variable "queue_visibility_timeout_seconds" {
  type        = number
  description = "messaging: visibility timeout of the jobs queue (3 trigger attempts x the container timeout + 60 s)."
  default     = 960
  nullable    = false
}

variable "queue_message_retention_seconds" {
  type        = number
  description = "messaging: retention of unconsumed jobs."
  default     = 345600
  nullable    = false
}

variable "queue_receive_wait_time_seconds" {
  type        = number
  description = "messaging: long-poll wait of ReceiveMessage."
  default     = 20
  nullable    = false
}

variable "queue_max_receive_count" {
  type        = number
  description = "messaging: deliveries before a job is dead-lettered."
  default     = 5
  nullable    = false
}

variable "enable_cdn" {
  type        = bool
  description = "storage: Edge Services CDN in front of the bucket."
  default     = false
  nullable    = false
}

variable "cors_allowed_origins" {
  type        = list(string)
  description = "storage: origins allowed by the bucket CORS rule."
  default     = []
  nullable    = false
}

variable "enable_cdn_dns" {
  type        = bool
  description = "dns: CNAME <cdn_subdomain>.<dns_zone> to the CDN (needs dns_zone and enable_cdn)."
  default     = false
  nullable    = false
}

variable "cdn_subdomain" {
  type        = string
  description = "dns: record name of the CDN."
  default     = "media"
  nullable    = false
}

variable "enable_alerts" {
  type        = bool
  description = "observability: alert manager, contact points and preconfigured alerts."
  default     = false
  nullable    = false
}

variable "enable_kubernetes" {
  type        = bool
  description = "kubernetes: Kapsule cluster and autoscaled pool for the API and Redis (scenario 9)."
  default     = false
  nullable    = false
}

variable "kubernetes_node_type" {
  type        = string
  description = "kubernetes: node type of the autoscaled pool (DEV1-L or GP1-S)."
  default     = "DEV1-L"
  nullable    = false
}

variable "kubernetes_min_nodes" {
  type        = number
  description = "kubernetes: smallest size of the autoscaled pool."
  default     = 2
  nullable    = false
}

variable "kubernetes_max_nodes" {
  type        = number
  description = "kubernetes: largest size of the autoscaled pool."
  default     = 4
  nullable    = false
}

variable "enable_mail" {
  type        = bool
  description = "mail: Transactional Email domain <mail_subdomain>.<dns_zone>, SMTP key with TEM rights only, its DNS records; needs dns_zone."
  default     = false
  nullable    = false
}

variable "mail_subdomain" {
  type        = string
  description = "mail: sending domain relative to dns_zone (\"\" for the apex)."
  default     = "mail"
  nullable    = false
}

variable "mail_from_name" {
  type        = string
  description = "mail: display name of MAIL_FROM (no-reply@<sending domain>)."
  default     = "Ciel"
  nullable    = false
}

variable "app_link_base_url" {
  type        = string
  description = "mail: APP_LINK_BASE_URL, the https base of the links in the mails (default https://<api>.<dns_zone>/app)."
  default     = null
}

variable "enable_mail_bounces" {
  type        = bool
  description = "mail: TEM bounce/complaint webhook to a Topics and Events topic, subscribed by https://<the load balancer's hostname>/v1/mail/sns; the API hosts and pods get SNS_TOPIC_ARN and SNS_TRUST_CHAIN (a file written from mail_sns_trust_chain_pem). Needs enable_mail and enable_load_balancer."
  default     = false
  nullable    = false

  validation {
    condition     = !var.enable_mail_bounces || var.mail_sns_trust_chain_pem != null
    error_message = "enable_mail_bounces needs mail_sns_trust_chain_pem: the PEM at https://messaging.s3.fr-par.scw.cloud/fr-par/sns/sns-trust-chain.pem (terraform/modules/mail/README.md)."
  }

  # The subscription is HTTPS: only a load balancer with its certificate
  # serves it (the instances' LB, or scenario 9's); the combined instance
  # answers plain HTTP.
  validation {
    condition     = !var.enable_mail_bounces || var.enable_load_balancer || var.enable_kubernetes
    error_message = "enable_mail_bounces needs enable_load_balancer or enable_kubernetes: Topics and Events posts to an HTTPS endpoint, and only a load balancer with its certificate serves one."
  }
}

variable "mail_sns_trust_chain_pem" {
  type        = string
  description = "mail: PEM of Scaleway's Topics and Events CA for fr-par (https://messaging.s3.fr-par.scw.cloud/fr-par/sns/sns-trust-chain.pem, valid until 2032), which must have issued every SigningCertURL certificate; written to the API as SNS_TRUST_CHAIN. E.g. TF_VAR_mail_sns_trust_chain_pem=\"$(curl -fsS <that URL>)\"."
  default     = null

  validation {
    condition     = var.mail_sns_trust_chain_pem == null || can(regex("-----BEGIN CERTIFICATE-----", var.mail_sns_trust_chain_pem))
    error_message = "mail_sns_trust_chain_pem must be PEM certificates (-----BEGIN CERTIFICATE-----)."
  }
}

variable "mail_sns_cert_url_prefix" {
  type        = string
  description = "mail: SNS_CERT_URL_PREFIX, what every SigningCertURL must start with; null keeps the API's default, https://messaging.s3.fr-par.scw.cloud/ (the bucket of the documented trust chain; terraform/modules/mail/README.md)."
  default     = null
}

variable "push_apns_key" {
  type        = string
  description = "push: contents of Apple's .p8 key (APNs token authentication); stored in Secret Manager and given to the workers as PUSH_APNS_KEY. Null: no APNs push."
  default     = null
  sensitive   = true
}

variable "push_apns_key_id" {
  type        = string
  description = "push: the .p8 key's 10-character Key ID (PUSH_APNS_KEY_ID)."
  default     = null
}

variable "push_apns_team_id" {
  type        = string
  description = "push: the Apple Developer Team ID (PUSH_APNS_TEAM_ID)."
  default     = null
}

variable "push_apns_topic" {
  type        = string
  description = "push: the iOS app's bundle id (PUSH_APNS_TOPIC)."
  default     = null
}

variable "push_fcm_service_account" {
  type        = string
  description = "push: the Firebase service account's JSON key (PUSH_FCM_SERVICE_ACCOUNT). Null: no FCM push."
  default     = null
  sensitive   = true
}
