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
