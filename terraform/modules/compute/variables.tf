variable "name_prefix" {
  type        = string
  description = "Prefix for resource names, e.g. \"ciel-dev\"."
}

variable "project_id" {
  type        = string
  description = "Scaleway project ID (registry pull policy scope)."

  validation {
    condition     = can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", var.project_id))
    error_message = "project_id must be a UUID."
  }
}

variable "region" {
  type        = string
  description = "Scaleway region (registry, serverless container, S3_REGION)."
  default     = "fr-par"

  validation {
    condition     = contains(["fr-par", "nl-ams", "pl-waw"], var.region)
    error_message = "region must be one of fr-par, nl-ams, pl-waw."
  }
}

variable "zone" {
  type        = string
  description = "Scaleway zone of the instances."
  default     = "fr-par-1"

  validation {
    condition     = can(regex("^(fr-par|nl-ams|pl-waw)-[1-3]$", var.zone))
    error_message = "zone must look like fr-par-1."
  }
}

variable "tags" {
  type        = list(string)
  description = "Tags added to every taggable resource."
  default     = []
}

# ------------------------------------------------------------ Image/registry

variable "registry_namespace_name" {
  type        = string
  description = "Container registry namespace holding the ciel image (unique per region)."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{2,62}$", var.registry_namespace_name))
    error_message = "registry_namespace_name must be 3-63 lowercase letters, digits or dashes."
  }
}

variable "image_name" {
  type        = string
  description = "Repository name of the application image inside the registry namespace."
  default     = "ciel"
}

variable "image_tag" {
  type        = string
  description = "Tag of the application image to deploy (an immutable one: the git sha in CD)."
}

variable "rust_log" {
  type        = string
  description = "RUST_LOG filter for every mode."
  default     = "info,tower_http=info"
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

variable "log_format" {
  type        = string
  description = "LOG_FORMAT of the application."
  default     = "json"

  validation {
    condition     = contains(["json", "text"], var.log_format)
    error_message = "log_format must be json or text."
  }
}

variable "database_max_connections" {
  type        = number
  description = "DATABASE_MAX_CONNECTIONS per API/worker process."
  default     = 10

  validation {
    condition     = var.database_max_connections >= 1 && var.database_max_connections <= 500
    error_message = "database_max_connections must be 1 to 500."
  }
}

# ------------------------------------------------------------- Networking

variable "private_network_id" {
  type        = string
  description = "Private network of the instances and the serverless container."
}

variable "private_network_cidr" {
  type        = string
  description = "CIDR of the private network (TRUSTED_PROXIES when behind the LB)."

  validation {
    condition     = can(cidrhost(var.private_network_cidr, 0))
    error_message = "private_network_cidr must be an IPv4 CIDR."
  }
}

variable "api_security_group_id" {
  type        = string
  description = "Security group of the combined and API instances."
}

variable "worker_security_group_id" {
  type        = string
  description = "Security group of the worker instances (outbound only)."
}

variable "enable_public_gateway" {
  type        = bool
  description = "The private network has the public gateway (and its default route): no host takes a public IP, the gateway forwards the API port."
  default     = true
}

variable "gateway_network_id" {
  type        = string
  description = "The gateway network (networking output), which hosts wait for: their egress goes through it. Null without a gateway."
  default     = null
}

variable "behind_load_balancer" {
  type        = bool
  description = "API instances sit behind the LB: no public IP, TRUSTED_PROXIES set to the private network."
  default     = false
}

# ------------------------------------------------------------ Combined mode

variable "enable_combined_mode" {
  type        = bool
  description = "Run the API and Redis 7 together on one instance."
  default     = true
}

variable "combined_instance_type" {
  type        = string
  description = "Commercial type of the combined instance."
  default     = "DEV1-M"

  validation {
    condition     = contains(["DEV1-S", "DEV1-M", "DEV1-L", "DEV1-XL", "GP1-XS", "GP1-S", "GP1-M", "PLAY2-MICRO", "PLAY2-SMALL", "PLAY2-MEDIUM", "PRO2-XXS", "PRO2-XS", "PRO2-S", "PRO2-M"], var.combined_instance_type)
    error_message = "combined_instance_type must be a DEV1-*, GP1-*, PLAY2-* or PRO2-* type."
  }
}

variable "embedded_redis_maxmemory_mb" {
  type        = number
  description = "maxmemory (MB) of the Redis embedded in the combined instance."
  default     = 512

  validation {
    condition     = var.embedded_redis_maxmemory_mb >= 64 && var.embedded_redis_maxmemory_mb <= 16384
    error_message = "embedded_redis_maxmemory_mb must be 64 to 16384."
  }
}

# ------------------------------------------------------- Split: API/worker

variable "api_instance_count" {
  type        = number
  description = "Number of API instances (split mode; ignored in combined mode)."
  default     = 0

  validation {
    condition     = var.api_instance_count >= 0 && var.api_instance_count <= 20 && floor(var.api_instance_count) == var.api_instance_count
    error_message = "api_instance_count must be a whole number from 0 to 20."
  }
}

variable "api_instance_type" {
  type        = string
  description = "Commercial type of the API instances."
  default     = "DEV1-S"

  validation {
    condition     = contains(["DEV1-S", "DEV1-M", "DEV1-L", "DEV1-XL", "GP1-XS", "GP1-S", "GP1-M", "PLAY2-MICRO", "PLAY2-SMALL", "PLAY2-MEDIUM", "PRO2-XXS", "PRO2-XS", "PRO2-S", "PRO2-M"], var.api_instance_type)
    error_message = "api_instance_type must be a DEV1-*, GP1-*, PLAY2-* or PRO2-* type."
  }
}

variable "worker_instance_count" {
  type        = number
  description = "Number of long-polling worker instances (APP_MODE=worker)."
  default     = 0

  validation {
    condition     = var.worker_instance_count >= 0 && var.worker_instance_count <= 20 && floor(var.worker_instance_count) == var.worker_instance_count
    error_message = "worker_instance_count must be a whole number from 0 to 20."
  }
}

variable "worker_memory_budget_mb" {
  type        = number
  description = "WORKER_MEMORY_BUDGET_MB of worker instances: MiB their jobs may use at once (DEV1-S has 2 GB)."
  default     = 1024

  validation {
    condition     = var.worker_memory_budget_mb >= 64
    error_message = "worker_memory_budget_mb must be at least 64."
  }
}

variable "worker_instance_type" {
  type        = string
  description = "Commercial type of the worker instances."
  default     = "DEV1-M"

  validation {
    condition     = contains(["DEV1-S", "DEV1-M", "DEV1-L", "DEV1-XL", "GP1-XS", "GP1-S", "GP1-M", "PLAY2-MICRO", "PLAY2-SMALL", "PLAY2-MEDIUM", "PRO2-XXS", "PRO2-XS", "PRO2-S", "PRO2-M"], var.worker_instance_type)
    error_message = "worker_instance_type must be a DEV1-*, GP1-*, PLAY2-* or PRO2-* type."
  }
}

variable "redis_image" {
  type        = string
  description = "Image of the combined instance's Redis, pinned (pulled through mirror.gcr.io)."
  default     = "redis:7.4.2-alpine"
}

variable "alloy_image" {
  type        = string
  description = "Grafana Alloy image of the API hosts' metrics agent, pinned."
  default     = "grafana/alloy:v1.5.1"
}

variable "redis_host" {
  type        = string
  description = "Host of the separate Redis (cache module output). Null: embedded Redis in combined mode."
  default     = null
}

variable "redis_port" {
  type        = number
  description = "Port of the separate Redis (cache module output)."
  default     = 6379
}

variable "redis_tls" {
  type        = bool
  description = "Use rediss:// (managed Redis)."
  default     = false
}

variable "redis_ca_cert" {
  type        = string
  description = "PEM certificate to trust for rediss:// (managed Redis's certificate output); null: the system roots."
  default     = null
}

variable "redis_username" {
  type        = string
  description = "ACL user of the separate Redis (managed Redis); null for password-only."
  default     = null
}

variable "redis_password" {
  type        = string
  description = "Redis password (embedded or separate)."
  sensitive   = true
}

# ------------------------------------------------------ Serverless worker

variable "enable_serverless_worker" {
  type        = bool
  description = "Run the media worker as a serverless container fed by an SQS trigger."
  default     = true
}

variable "serverless_worker_min_scale" {
  type        = number
  description = "Minimum serverless instances (0 = scale to zero)."
  default     = 0

  validation {
    condition     = var.serverless_worker_min_scale >= 0 && var.serverless_worker_min_scale <= 50
    error_message = "serverless_worker_min_scale must be 0 to 50."
  }
}

variable "serverless_worker_max_scale" {
  type        = number
  description = "Maximum serverless instances."
  default     = 3

  validation {
    condition     = var.serverless_worker_max_scale >= 1 && var.serverless_worker_max_scale <= 50
    error_message = "serverless_worker_max_scale must be 1 to 50."
  }
}

variable "serverless_worker_cpu" {
  type        = number
  description = "vCPU limit of the serverless worker in mvCPU (1000 = 1 vCPU)."
  default     = 1000

  validation {
    condition     = contains([70, 140, 280, 560, 1000, 1120, 1500, 2000, 2240, 3000, 4000, 6000], var.serverless_worker_cpu)
    error_message = "serverless_worker_cpu must be a Scaleway container vCPU size (70 ... 6000 mvCPU)."
  }
}

variable "serverless_worker_memory" {
  type        = number
  description = "Memory limit of the serverless worker in MB."
  default     = 512

  validation {
    condition     = contains([128, 256, 512, 1024, 2048, 3072, 4096, 6144, 8192], var.serverless_worker_memory)
    error_message = "serverless_worker_memory must be a Scaleway container memory size in MB (128 ... 8192; the documented maximum is 12228 MB)."
  }
}

variable "serverless_worker_timeout_seconds" {
  type        = number
  description = "Request timeout of the serverless worker. Must stay below the queue's visibility timeout."
  default     = 300

  validation {
    condition     = var.serverless_worker_timeout_seconds >= 10 && var.serverless_worker_timeout_seconds <= 900
    error_message = "serverless_worker_timeout_seconds must be 10 to 900."
  }
}

variable "worker_concurrency" {
  type        = number
  description = "WORKER_CONCURRENCY: jobs one serverless instance runs at once (2 suits 512 MB)."
  default     = 2

  validation {
    condition     = var.worker_concurrency >= 1 && var.worker_concurrency <= 64
    error_message = "worker_concurrency must be 1 to 64."
  }
}

# ------------------------------------------------------- App dependencies

variable "database_read_url" {
  type        = string
  description = "DATABASE_READ_URL of the API: the first read replica's private endpoint (database module output); null without replicas."
  default     = null
  sensitive   = true
}

variable "database_url" {
  type        = string
  description = "DATABASE_URL (database module output)."
  sensitive   = true
}

variable "s3_endpoint" {
  type        = string
  description = "S3_ENDPOINT (storage module output)."
}

variable "s3_bucket" {
  type        = string
  description = "S3_BUCKET (storage module output)."
}

variable "s3_public_endpoint" {
  type        = string
  description = "S3_PUBLIC_ENDPOINT (storage module output)."
}

variable "s3_access_key" {
  type        = string
  description = "AWS_ACCESS_KEY_ID for the bucket (storage module output)."
  sensitive   = true
}

variable "s3_secret_key" {
  type        = string
  description = "AWS_SECRET_ACCESS_KEY for the bucket (storage module output)."
  sensitive   = true
}

variable "queue_endpoint" {
  type        = string
  description = "QUEUE_ENDPOINT (messaging module output)."
}

variable "queue_name" {
  type        = string
  description = "QUEUE_NAME (messaging module output)."
}

variable "queue_url" {
  type        = string
  description = "URL of the jobs queue, for the SQS trigger."
}

variable "dlq_name" {
  type        = string
  description = "Name of the dead-letter queue (messaging module output): worker instances mark its jobs' media failed."
}

variable "dlq_url" {
  type        = string
  description = "URL of the dead-letter queue, for the second SQS trigger."
}

variable "queue_visibility_timeout_seconds" {
  type        = number
  description = "Visibility timeout of the jobs queue (messaging module output); checked against the trigger's worst case (3 x the container timeout + 60 s)."
}

variable "queue_publish_access_key" {
  type        = string
  description = "SQS publish access key for the API (QUEUE_ACCESS_KEY_ID)."
  sensitive   = true
}

variable "queue_publish_secret_key" {
  type        = string
  description = "SQS publish secret key for the API (QUEUE_SECRET_ACCESS_KEY)."
  sensitive   = true
}

variable "queue_receive_access_key" {
  type        = string
  description = "SQS receive access key for the trigger and worker instances."
  sensitive   = true
}

variable "queue_receive_secret_key" {
  type        = string
  description = "SQS receive secret key for the trigger and worker instances."
  sensitive   = true
}

variable "paseto_access_key" {
  type        = string
  description = "PASETO_ACCESS_KEY (secrets module output)."
  sensitive   = true
}

variable "paseto_refresh_key" {
  type        = string
  description = "PASETO_REFRESH_KEY (secrets module output)."
  sensitive   = true
}

variable "paseto_access_key_previous" {
  type        = string
  description = "PASETO_ACCESS_KEY_PREVIOUS during a rotation (docs/operations.md), else null."
  sensitive   = true
  default     = null
}

variable "paseto_refresh_key_previous" {
  type        = string
  description = "PASETO_REFRESH_KEY_PREVIOUS during a rotation (docs/operations.md), else null."
  sensitive   = true
  default     = null
}

variable "admin_token" {
  type        = string
  description = "ADMIN_TOKEN: the moderation routes, in the API's environment only (secrets module output)."
  sensitive   = true
}

variable "metrics_token" {
  type        = string
  description = "METRICS_TOKEN: bearer token of GET /metrics on the API, the workers and the serverless worker, and the Alloy agents' scrape token (secrets module output)."
  sensitive   = true
}

variable "enable_cdn" {
  type        = bool
  description = "The CDN is on (storage module): the API gets CDN_PIPELINE_ID and CDN_PURGE_SECRET_KEY, which it needs with S3_PUBLIC_ENDPOINT."
  default     = false
}

variable "cdn_pipeline_id" {
  type        = string
  description = "CDN_PIPELINE_ID: the Edge Services pipeline whose cache the API purges (storage module output); needed with enable_cdn."
  default     = null
}

variable "cdn_purge_secret_key" {
  type        = string
  description = "CDN_PURGE_SECRET_KEY: secret key allowed to create purge requests on that pipeline (storage module output); needed with enable_cdn."
  default     = null
  sensitive   = true
}

variable "metrics_push_url" {
  type        = string
  description = "Cockpit metrics push URL; when set, a Grafana Alloy agent ships /metrics from the API instances."
  default     = null
}

variable "metrics_push_token" {
  type        = string
  description = "Cockpit token with write_metrics, used by the Alloy agent."
  default     = null
  sensitive   = true
}

variable "enable_mail" {
  type        = bool
  description = "Give the workers (instances and serverless container) SMTP_URL, MAIL_FROM and APP_LINK_BASE_URL (mail module)."
  default     = false
}

variable "smtp_url" {
  type        = string
  description = "SMTP_URL of the account mail (mail module output)."
  default     = null
  sensitive   = true
}

variable "mail_from" {
  type        = string
  description = "MAIL_FROM, e.g. \"Ciel <no-reply@mail.example.com>\"."
  default     = null
}

variable "app_link_base_url" {
  type        = string
  description = "APP_LINK_BASE_URL: base of the links in the mails (the apps' universal/app links domain)."
  default     = null

  validation {
    condition     = var.app_link_base_url == null || can(regex("^https://[^?#]+$", var.app_link_base_url))
    error_message = "app_link_base_url must be an https:// URL without query or fragment."
  }
}

variable "sns_topic_arn" {
  type        = string
  description = "SNS_TOPIC_ARN of the API: the Topics and Events topic of TEM's bounce webhook (mail module's events_topic_arn); null: no /v1/mail/sns."
  default     = null
}

variable "sns_trust_chain_pem" {
  type        = string
  description = "PEM of Scaleway's Topics and Events CA (sns-trust-chain.pem), written to the API hosts and named by SNS_TRUST_CHAIN; needed with sns_topic_arn."
  default     = null

  validation {
    condition     = var.sns_trust_chain_pem == null || can(regex("-----BEGIN CERTIFICATE-----", var.sns_trust_chain_pem))
    error_message = "sns_trust_chain_pem must be PEM certificates (-----BEGIN CERTIFICATE-----)."
  }

  # Both or neither: the API refuses to start with a topic and no trust chain.
  validation {
    condition     = (var.sns_topic_arn == null) == (var.sns_trust_chain_pem == null)
    error_message = "sns_topic_arn and sns_trust_chain_pem go together: the API verifies every message of the topic against that CA."
  }
}

variable "sns_cert_url_prefix" {
  type        = string
  description = "SNS_CERT_URL_PREFIX: a SigningCertURL must start with it; null keeps the API's default (https://messaging.s3.fr-par.scw.cloud/)."
  default     = null

  validation {
    condition     = var.sns_cert_url_prefix == null || can(regex("^https://[^/?#]+/", var.sns_cert_url_prefix))
    error_message = "sns_cert_url_prefix must be an https:// URL prefix with a host and a path, e.g. https://messaging.s3.fr-par.scw.cloud/."
  }
}

variable "push_env" {
  type        = map(string)
  description = "PUSH_* variables of the workers (instances and serverless container): the secrets module's push_env. Empty: pushes are dropped unsent."
  default     = {}
  nullable    = false
  sensitive   = true
}
