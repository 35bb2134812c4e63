variable "name_prefix" {
  type        = string
  description = "Prefix for resource names, e.g. \"ciel-dev\"."
}

variable "region" {
  type        = string
  description = "Scaleway region of the Cockpit resources."
  default     = "fr-par"

  validation {
    condition     = contains(["fr-par", "nl-ams", "pl-waw"], var.region)
    error_message = "region must be one of fr-par, nl-ams, pl-waw."
  }
}

variable "metrics_retention_days" {
  type        = number
  description = "Retention of the custom metrics source that receives the API's /metrics."
  default     = 31

  validation {
    condition     = var.metrics_retention_days >= 1 && var.metrics_retention_days <= 365
    error_message = "metrics_retention_days must be 1 to 365."
  }
}

variable "enable_alerts" {
  type        = bool
  description = "Enable the Cockpit alert manager, contact points and the preconfigured product alerts."
  default     = false
}

variable "alert_contact_emails" {
  type        = list(string)
  description = "E-mail addresses notified by the alert manager."
  default     = []

  validation {
    condition     = alltrue([for e in var.alert_contact_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "alert_contact_emails must be e-mail addresses."
  }
}

variable "preconfigured_alert_product_families" {
  type        = list(string)
  description = "Product families whose Scaleway preconfigured alerts are enabled (case-insensitive match on product_family or product_name). Queues and Serverless have none: queue depth is the app's ciel_queue_depth gauge."
  default     = ["instance", "rdb", "postgresql", "redis", "lb", "load balancer", "managed databases"]
}
