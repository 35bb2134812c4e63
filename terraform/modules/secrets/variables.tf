variable "name_prefix" {
  type        = string
  description = "Prefix for secret names and paths, e.g. \"ciel-dev\"."
}

variable "region" {
  type        = string
  description = "Scaleway region of the Secret Manager entries."
  default     = "fr-par"

  validation {
    condition     = contains(["fr-par", "nl-ams", "pl-waw"], var.region)
    error_message = "region must be one of fr-par, nl-ams, pl-waw."
  }
}

variable "tags" {
  type        = list(string)
  description = "Tags added to every secret."
  default     = []
}

variable "db_admin_password" {
  type        = string
  description = "Password of the database admin user. Generated when null."
  default     = null
  sensitive   = true
}

variable "db_password" {
  type        = string
  description = "Password of the application database user (ciel_app). Generated when null."
  default     = null
  sensitive   = true
}

variable "redis_password" {
  type        = string
  description = "Redis password (embedded, self-hosted or managed). Generated when null."
  default     = null
  sensitive   = true
}

variable "admin_token" {
  type        = string
  description = "ADMIN_TOKEN: the moderation routes (X-Admin-Token), given to the API only. Generated when null."
  default     = null
  sensitive   = true
}

variable "metrics_token" {
  type        = string
  description = "METRICS_TOKEN: bearer token of GET /metrics in every mode, held by the scrapers. Generated when null."
  default     = null
  sensitive   = true
}

variable "paseto_access_key" {
  type        = string
  description = "PASETO_ACCESS_KEY (base64 of 32 bytes). Generated when null; set it to rotate (docs/operations.md)."
  default     = null
  sensitive   = true

  validation {
    condition     = var.paseto_access_key == null || try(length(base64decode(var.paseto_access_key)) == 32, false)
    error_message = "paseto_access_key must be the base64 of exactly 32 bytes."
  }
}

variable "paseto_refresh_key" {
  type        = string
  description = "PASETO_REFRESH_KEY (base64 of 32 bytes). Generated when null; set it to rotate (docs/operations.md)."
  default     = null
  sensitive   = true

  validation {
    condition     = var.paseto_refresh_key == null || try(length(base64decode(var.paseto_refresh_key)) == 32, false)
    error_message = "paseto_refresh_key must be the base64 of exactly 32 bytes."
  }
}

# Push notifications (issue 27). All optional: without them the workers
# drop pushes unsent. Each one given is stored in Secret Manager and handed
# to the workers (instances and serverless container) as PUSH_* variables.

variable "push_apns_key" {
  type        = string
  description = "PUSH_APNS_KEY: the contents of Apple's .p8 key (APNs token authentication). Null: no APNs push."
  default     = null
  sensitive   = true

  validation {
    condition     = var.push_apns_key == null || can(regex("-----BEGIN PRIVATE KEY-----", var.push_apns_key))
    error_message = "push_apns_key must be the contents of the .p8 file (-----BEGIN PRIVATE KEY-----)."
  }
}

variable "push_apns_key_id" {
  type        = string
  description = "PUSH_APNS_KEY_ID: the 10-character Key ID of push_apns_key."
  default     = null

  validation {
    condition     = var.push_apns_key_id == null || can(regex("^[A-Za-z0-9]{10}$", var.push_apns_key_id))
    error_message = "push_apns_key_id must be Apple's 10-character Key ID."
  }
}

variable "push_apns_team_id" {
  type        = string
  description = "PUSH_APNS_TEAM_ID: the 10-character Apple Developer Team ID."
  default     = null

  validation {
    condition     = var.push_apns_team_id == null || can(regex("^[A-Za-z0-9]{10}$", var.push_apns_team_id))
    error_message = "push_apns_team_id must be Apple's 10-character Team ID."
  }
}

variable "push_apns_topic" {
  type        = string
  description = "PUSH_APNS_TOPIC: the iOS app's bundle id, e.g. com.example.ciel."
  default     = null

  validation {
    condition     = var.push_apns_topic == null || can(regex("^[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)+$", var.push_apns_topic))
    error_message = "push_apns_topic must be a bundle id such as com.example.ciel."
  }
}

variable "push_fcm_service_account" {
  type        = string
  description = "PUSH_FCM_SERVICE_ACCOUNT: the Firebase service account's JSON key (role Firebase Cloud Messaging API Admin). Null: no FCM push."
  default     = null
  sensitive   = true

  validation {
    condition     = var.push_fcm_service_account == null || can(jsondecode(var.push_fcm_service_account).private_key)
    error_message = "push_fcm_service_account must be the service account's JSON key file (with private_key)."
  }
}
