# What an operator sets in terraform.tfvars, then the scenario knobs: each
# is null unless a scenario (scenarios/*.tfvars) sets it, and null keeps the
# value main.tf gives (the seed's dev table) or the stack's default.

variable "project_id" {
  type        = string
  description = "Scaleway project ID everything is created in."
}

variable "image_tag" {
  type        = string
  description = "Tag of the ciel image to deploy: immutable (the deploy workflow passes the git sha with -var), never latest."

  validation {
    condition     = var.image_tag != "latest"
    error_message = "image_tag must be an immutable tag (the git sha), not latest: the serverless container redeploys only when the image reference changes."
  }
}

variable "bucket_name" {
  type        = string
  description = "Media bucket name (globally unique on Scaleway); null: ciel-media-<environment>. Set it when another project already holds that name."
  default     = null
}

variable "registry_namespace_name" {
  type        = string
  description = "Registry namespace (unique per region on Scaleway); null: ciel-<environment>."
  default     = null
}

variable "paseto_access_key" {
  type        = string
  description = "PASETO_ACCESS_KEY during and after a rotation (docs/operations.md); null keeps the generated key."
  default     = null
  sensitive   = true
}

variable "paseto_refresh_key" {
  type        = string
  description = "PASETO_REFRESH_KEY during and after a rotation; null keeps the generated key."
  default     = null
  sensitive   = true
}

variable "paseto_access_key_previous" {
  type        = string
  description = "PASETO_ACCESS_KEY_PREVIOUS during a rotation; null: none."
  default     = null
  sensitive   = true
}

variable "paseto_refresh_key_previous" {
  type        = string
  description = "PASETO_REFRESH_KEY_PREVIOUS during a rotation; null: none."
  default     = null
  sensitive   = true
}

variable "dns_zone" {
  type        = string
  description = "Scaleway-managed DNS zone (e.g. example.com); null: no DNS records."
  default     = null
}

variable "bastion_allowed_cidrs" {
  type        = list(string)
  description = "Public CIDRs allowed to SSH through the gateway's bastion."
  default     = ["0.0.0.0/0"]
}

variable "alert_contact_emails" {
  type        = list(string)
  description = "E-mail contact points of the alert manager."
  default     = []
}

variable "enable_mail" {
  type        = bool
  description = "Account mail through Transactional Email (needs dns_zone): the stack's enable_mail."
  default     = false
}

variable "enable_mail_bounces" {
  type        = bool
  description = "Bounces and complaints reach the API (needs enable_mail, mail_sns_trust_chain_pem and the load balancer): the stack's enable_mail_bounces."
  default     = false
}

variable "mail_sns_trust_chain_pem" {
  type        = string
  description = "PEM of Scaleway's Topics and Events CA (the stack's mail_sns_trust_chain_pem), e.g. TF_VAR_mail_sns_trust_chain_pem=\"$(curl -fsS https://messaging.s3.fr-par.scw.cloud/fr-par/sns/sns-trust-chain.pem)\"."
  default     = null
}

variable "mail_sns_cert_url_prefix" {
  type        = string
  description = "SNS_CERT_URL_PREFIX of the API (the stack's mail_sns_cert_url_prefix); null: https://."
  default     = null
}

variable "enable_load_balancer" {
  type        = bool
  description = "Scenario override, networking: load balancer in front of the API instances."
  default     = null
}

variable "lb_type" {
  type        = string
  description = "Scenario override, networking: load balancer type (LB-S, LB-GP-M, ...)."
  default     = null
}

variable "enable_bastion" {
  type        = bool
  description = "Scenario override, networking: SSH bastion (the public gateway's)."
  default     = null
}

variable "enable_public_gateway" {
  type        = bool
  description = "Scenario override, networking: public gateway (NAT for instances without a public IP)."
  default     = null
}

variable "db_node_type" {
  type        = string
  description = "Scenario override, database: managed PostgreSQL node type."
  default     = null
}

variable "enable_ha" {
  type        = bool
  description = "Scenario override, database: high-availability cluster."
  default     = null
}

variable "volume_size_in_gb" {
  type        = number
  description = "Scenario override, database: volume size in GB."
  default     = null
}

variable "read_replica_count" {
  type        = number
  description = "Scenario override, database: read replicas (DATABASE_READ_URL of the API)."
  default     = null
}

variable "enabled" {
  type        = bool
  description = "Scenario override, cache: separate Redis (the seed's name, so scenario files apply verbatim)."
  default     = null
}

variable "use_managed_redis" {
  type        = bool
  description = "Scenario override, cache: managed Redis cluster instead of a self-hosted instance."
  default     = null
}

variable "managed_redis_node_type" {
  type        = string
  description = "Scenario override, cache: managed Redis node type."
  default     = null
}

variable "redis_instance_type" {
  type        = string
  description = "Scenario override, cache: self-hosted Redis instance type."
  default     = null
}

variable "enable_combined_mode" {
  type        = bool
  description = "Scenario override, compute: API + Redis on one instance."
  default     = null
}

variable "combined_instance_type" {
  type        = string
  description = "Scenario override, compute: combined instance type."
  default     = null
}

variable "embedded_redis_maxmemory_mb" {
  type        = number
  description = "Scenario override, compute: maxmemory (MB) of the combined instance's Redis."
  default     = null
}

variable "api_instance_count" {
  type        = number
  description = "Scenario override, compute: API instances in split mode."
  default     = null
}

variable "api_instance_type" {
  type        = string
  description = "Scenario override, compute: API instance type."
  default     = null
}

variable "worker_instance_count" {
  type        = number
  description = "Scenario override, compute: long-polling worker instances."
  default     = null
}

variable "enable_serverless_worker" {
  type        = bool
  description = "Scenario override, compute: serverless media worker fed by the SQS trigger."
  default     = null
}

variable "serverless_worker_min_scale" {
  type        = number
  description = "Scenario override, compute: serverless worker minimum instances."
  default     = null
}

variable "serverless_worker_max_scale" {
  type        = number
  description = "Scenario override, compute: serverless worker maximum instances."
  default     = null
}

variable "serverless_worker_cpu" {
  type        = number
  description = "Scenario override, compute: serverless worker vCPU in mvCPU."
  default     = null
}

variable "serverless_worker_memory" {
  type        = number
  description = "Scenario override, compute: serverless worker memory in MB."
  default     = null
}

variable "serverless_worker_timeout_seconds" {
  type        = number
  description = "Scenario override, compute: serverless worker request timeout."
  default     = null
}

variable "enable_cdn" {
  type        = bool
  description = "Scenario override, storage: Edge Services CDN for the variants."
  default     = null
}

variable "cors_allowed_origins" {
  type        = list(string)
  description = "Scenario override, storage: origins allowed by the bucket CORS rule."
  default     = null
}

variable "enable_cdn_dns" {
  type        = bool
  description = "Scenario override, dns: CNAME <cdn_subdomain>.<dns_zone> to the CDN."
  default     = null
}

variable "cdn_subdomain" {
  type        = string
  description = "Scenario override, dns: record name of the CDN."
  default     = null
}

variable "enable_alerts" {
  type        = bool
  description = "Scenario override, observability: alert manager and preconfigured alerts."
  default     = null
}

variable "enable_kubernetes" {
  type        = bool
  description = "Scenario override, kubernetes: Kapsule cluster for the API and Redis (scenario 9)."
  default     = null
}

variable "kubernetes_node_type" {
  type        = string
  description = "Scenario override, kubernetes: node type of the autoscaled pool (DEV1-L or GP1-S)."
  default     = null
}

variable "kubernetes_min_nodes" {
  type        = number
  description = "Scenario override, kubernetes: smallest size of the autoscaled pool."
  default     = null
}

variable "kubernetes_max_nodes" {
  type        = number
  description = "Scenario override, kubernetes: largest size of the autoscaled pool."
  default     = null
}

variable "push_apns_key" {
  type        = string
  description = "Contents of Apple's .p8 key (the stack's push_apns_key), e.g. TF_VAR_push_apns_key=\"$(cat AuthKey_XXXXXXXXXX.p8)\". Null: no APNs push."
  default     = null
  sensitive   = true
}

variable "push_apns_key_id" {
  type        = string
  description = "The .p8 key's Key ID (the stack's push_apns_key_id)."
  default     = null
}

variable "push_apns_team_id" {
  type        = string
  description = "The Apple Developer Team ID (the stack's push_apns_team_id)."
  default     = null
}

variable "push_apns_topic" {
  type        = string
  description = "The iOS app's bundle id (the stack's push_apns_topic)."
  default     = null
}

variable "push_fcm_service_account" {
  type        = string
  description = "The Firebase service account's JSON key (the stack's push_fcm_service_account), e.g. TF_VAR_push_fcm_service_account=\"$(cat service-account.json)\". Null: no FCM push."
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
