variable "name_prefix" {
  type        = string
  description = "Prefix for IAM and CDN resource names, e.g. \"ciel-dev\"."
}

variable "project_id" {
  type        = string
  description = "Scaleway project ID the IAM policy is scoped to."

  validation {
    condition     = can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", var.project_id))
    error_message = "project_id must be a UUID."
  }
}

variable "region" {
  type        = string
  description = "Scaleway region of the bucket (S3_REGION)."
  default     = "fr-par"

  validation {
    condition     = contains(["fr-par", "nl-ams", "pl-waw"], var.region)
    error_message = "region must be one of fr-par, nl-ams, pl-waw."
  }
}

variable "bucket_name" {
  type        = string
  description = "Name of the media bucket (globally unique)."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be 3-63 lowercase letters, digits, dots or dashes."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags (key/value) added to the bucket."
  default     = {}
}

variable "force_destroy" {
  type        = bool
  description = "Allow terraform destroy to delete a non-empty bucket (dev only)."
  default     = false
}

variable "cors_allowed_origins" {
  type        = list(string)
  description = "Origins allowed to PUT/GET the bucket directly (presigned uploads from web clients). Empty: no CORS rule."
  default     = []

  validation {
    condition     = alltrue([for o in var.cors_allowed_origins : o == "*" || can(regex("^https?://", o))])
    error_message = "cors_allowed_origins entries must be \"*\" or start with http:// or https://."
  }
}

variable "abort_incomplete_multipart_upload_days" {
  type        = number
  description = "Days after which incomplete multipart uploads are aborted (their parts are billed until then)."
  default     = 1

  validation {
    condition     = var.abort_incomplete_multipart_upload_days >= 1
    error_message = "abort_incomplete_multipart_upload_days must be at least 1."
  }
}

variable "originals_glacier_after_days" {
  type        = number
  description = "Days after which an original still in Standard (one the worker could not move to Glacier when its photo became ready) transitions to Glacier; 0 disables the rule. Scaleway requires at least 90 for rules created after 2026-02-18 in fr-par (30 for One Zone)."
  default     = 90

  validation {
    condition     = var.originals_glacier_after_days == 0 || var.originals_glacier_after_days >= 90
    error_message = "originals_glacier_after_days must be 0 (no rule) or at least 90 (Scaleway's minimum before a transition to Glacier)."
  }
}

variable "enable_cdn" {
  type        = bool
  description = "Serve the bucket through Scaleway Edge Services (CDN)."
  default     = false
}

variable "edge_services_plan" {
  type        = string
  description = "Edge Services plan subscribed when the CDN is enabled."
  default     = "starter"

  validation {
    condition     = contains(["starter", "professional", "advanced"], var.edge_services_plan)
    error_message = "edge_services_plan must be starter, professional or advanced."
  }
}

variable "cdn_fqdn" {
  type        = string
  description = "Custom domain served by the CDN (e.g. media.example.com). Null: use the Edge Services default hostname."
  default     = null
}

variable "cdn_cache_ttl_seconds" {
  type        = number
  description = "Fallback cache TTL of the CDN when the origin sends no Cache-Control."
  default     = 86400

  validation {
    condition     = var.cdn_cache_ttl_seconds >= 0
    error_message = "cdn_cache_ttl_seconds must be positive."
  }
}
