variable "name_prefix" {
  type        = string
  description = "Prefix for resource names, e.g. \"ciel-dev\"."
}

variable "zone" {
  type        = string
  description = "Scaleway zone of the Redis instance or cluster."
  default     = "fr-par-1"

  validation {
    condition     = can(regex("^(fr-par|nl-ams|pl-waw)-[1-3]$", var.zone))
    error_message = "zone must look like fr-par-1."
  }
}

variable "tags" {
  type        = list(string)
  description = "Tags added to every resource."
  default     = []
}

variable "enabled" {
  type        = bool
  description = "Create a separate Redis. False in combined mode (Redis runs on the combined instance)."
  default     = false
}

variable "use_managed_redis" {
  type        = bool
  description = "True: Scaleway Managed Redis cluster (TLS, private network). False: self-hosted Redis 7 on an instance."
  default     = false
}

variable "managed_redis_node_type" {
  type        = string
  description = "Node type of the managed Redis cluster."
  default     = "RED1-micro"

  validation {
    condition     = contains(["RED1-micro", "RED1-XS", "RED1-S", "RED1-M", "RED1-L", "RED1-XL", "RED1-2XL"], var.managed_redis_node_type)
    error_message = "managed_redis_node_type must be a RED1-* node type (RED1-micro, RED1-XS, RED1-S, RED1-M, RED1-L, RED1-XL, RED1-2XL)."
  }
}

variable "managed_redis_version" {
  type        = string
  description = "Redis version of the managed cluster: one Scaleway offers today (scw redis version list)."
  default     = "8.6.3"

  validation {
    condition     = can(regex("^[78]\\.[0-9]+\\.[0-9]+$", var.managed_redis_version))
    error_message = "managed_redis_version must be a Redis 7 or 8 version such as 8.6.3 (see scw redis version list)."
  }
}

variable "redis_instance_type" {
  type        = string
  description = "Commercial type of the self-hosted Redis instance."
  default     = "DEV1-S"

  validation {
    condition     = contains(["DEV1-S", "DEV1-M", "DEV1-L", "DEV1-XL", "GP1-XS", "GP1-S", "PLAY2-NANO", "PLAY2-MICRO", "PRO2-XXS", "PRO2-XS"], var.redis_instance_type)
    error_message = "redis_instance_type must be one of DEV1-S, DEV1-M, DEV1-L, DEV1-XL, GP1-XS, GP1-S, PLAY2-NANO, PLAY2-MICRO, PRO2-XXS, PRO2-XS."
  }
}

variable "redis_maxmemory_mb" {
  type        = number
  description = "maxmemory of the self-hosted Redis in MB (volatile-lru eviction, no persistence)."
  default     = 1024

  validation {
    condition     = var.redis_maxmemory_mb >= 64 && var.redis_maxmemory_mb <= 65536
    error_message = "redis_maxmemory_mb must be 64 to 65536."
  }
}

variable "redis_image" {
  type        = string
  description = "Redis image of the self-hosted instance, pinned (pulled through mirror.gcr.io)."
  default     = "redis:7.4.2-alpine"
}

variable "private_network_id" {
  type        = string
  description = "Private network Redis is reachable on."
}

variable "security_group_id" {
  type        = string
  description = "Security group for the self-hosted Redis instance (no public inbound)."
}

variable "redis_password" {
  type        = string
  description = "Redis password (from the secrets module)."
  sensitive   = true
}

variable "gateway_network_id" {
  type        = string
  description = "The gateway network (networking output) the self-hosted Redis waits for: its egress goes through it. Null without a gateway."
  default     = null
}
