variable "enabled" {
  type        = bool
  description = "Create the Transactional Email domain, its SMTP credentials and secret. Without it, workers get no SMTP_URL and account mails stay pending."
  default     = false
}

variable "name_prefix" {
  type        = string
  description = "Prefix of resource names, e.g. \"ciel-dev\"."
}

variable "project_id" {
  type        = string
  description = "Scaleway project of the environment: the TEM domain, the SMTP key's only scope."

  validation {
    condition     = can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", var.project_id))
    error_message = "project_id must be a Scaleway project UUID."
  }
}

variable "region" {
  type        = string
  description = "Scaleway region of Transactional Email and Topics and Events (TEM runs in fr-par)."
  default     = "fr-par"

  validation {
    condition     = contains(["fr-par"], var.region)
    error_message = "Transactional Email is offered in fr-par only."
  }
}

variable "tags" {
  type        = list(string)
  description = "Tags added to the IAM application and the secret."
  default     = []
}

variable "sending_domain" {
  type        = string
  description = "Domain the mails come from (MAIL_FROM's domain), e.g. mail.example.com; a name in the DNS module's zone."
  default     = null

  validation {
    condition     = var.sending_domain == null || can(regex("^([a-z0-9-]+\\.)+[a-z]{2,}$", var.sending_domain))
    error_message = "sending_domain must be a domain name such as mail.example.com."
  }
}

variable "bounce_endpoint" {
  type        = string
  description = "HTTPS URL of the API's SNS endpoint (https://api.example.com/v1/mail/sns); null leaves bounces unsubscribed."
  default     = null

  validation {
    condition     = var.bounce_endpoint == null || can(regex("^https://[^/]+/v1/mail/sns$", var.bounce_endpoint))
    error_message = "bounce_endpoint must be https://<api host>/v1/mail/sns."
  }
}

variable "webhook_event_types" {
  type        = list(string)
  description = "TEM events published to the topic: the ones that make an address undeliverable."
  default     = ["email_mailbox_not_found", "email_spam", "email_blocklisted"]

  validation {
    condition = length(var.webhook_event_types) > 0 && alltrue([for e in var.webhook_event_types : contains([
      "email_queued", "email_dropped", "email_deferred", "email_delivered", "email_spam",
      "email_mailbox_not_found", "email_blocklisted", "blocklist_created",
    ], e)])
    error_message = "webhook_event_types must be TEM webhook event types (email_mailbox_not_found, email_spam, ...)."
  }
}

variable "ready_url" {
  type        = string
  description = "https://<bounce endpoint's host>/ready: the subscription is created once it answers (null without bounces)."
  default     = null
}
