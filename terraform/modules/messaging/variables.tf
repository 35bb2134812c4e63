variable "name_prefix" {
  type        = string
  description = "Prefix for credential names, e.g. \"ciel-dev\"."
}

variable "region" {
  type        = string
  description = "Scaleway region of the SQS service."
  default     = "fr-par"

  validation {
    condition     = contains(["fr-par", "nl-ams", "pl-waw"], var.region)
    error_message = "region must be one of fr-par, nl-ams, pl-waw."
  }
}

variable "queue_name" {
  type        = string
  description = "Name of the media jobs queue."
  default     = "ciel-media-jobs"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,75}$", var.queue_name))
    error_message = "queue_name must be 1-75 letters, digits, dashes or underscores."
  }
}

variable "message_retention_seconds" {
  type        = number
  description = "How long an unconsumed message is kept (SQS MessageRetentionPeriod)."
  default     = 345600

  validation {
    condition     = var.message_retention_seconds >= 60 && var.message_retention_seconds <= 1209600
    error_message = "message_retention_seconds must be 60 to 1209600 (14 days)."
  }
}

variable "dlq_message_retention_seconds" {
  type        = number
  description = "How long a dead-lettered message is kept for inspection."
  default     = 1209600

  validation {
    condition     = var.dlq_message_retention_seconds >= 60 && var.dlq_message_retention_seconds <= 1209600
    error_message = "dlq_message_retention_seconds must be 60 to 1209600 (14 days)."
  }
}

variable "visibility_timeout_seconds" {
  type        = number
  description = "Visibility timeout of the jobs queue. Must cover the SQS trigger's worst case (3 attempts x the container timeout + 60 s), or a job still being retried is delivered again."
  default     = 960

  validation {
    condition     = var.visibility_timeout_seconds >= 0 && var.visibility_timeout_seconds <= 43200
    error_message = "visibility_timeout_seconds must be 0 to 43200 (12 hours)."
  }
}

variable "receive_wait_time_seconds" {
  type        = number
  description = "Long-poll wait of ReceiveMessage (worker instances)."
  default     = 20

  validation {
    condition     = var.receive_wait_time_seconds >= 0 && var.receive_wait_time_seconds <= 20
    error_message = "receive_wait_time_seconds must be 0 to 20."
  }
}

variable "max_receive_count" {
  type        = number
  description = "Deliveries before a message moves to the dead-letter queue."
  default     = 5

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 1000
    error_message = "max_receive_count must be 1 to 1000."
  }
}
