variable "dns_zone" {
  type        = string
  description = "DNS zone managed in Scaleway Domains and DNS (e.g. example.com)."

  validation {
    condition     = can(regex("^([a-z0-9-]+\\.)+[a-z]{2,}$", var.dns_zone))
    error_message = "dns_zone must be a domain name such as example.com."
  }
}

variable "api_subdomain" {
  type        = string
  description = "Record name of the API (\"\" for the zone apex)."
  default     = "api"
}

variable "api_ip" {
  type        = string
  description = "IPv4 the API record points at: the LB IP, or the combined/API instance IP without a LB."
}

variable "ttl" {
  type        = number
  description = "TTL of the records in seconds."
  default     = 300

  validation {
    condition     = var.ttl >= 60 && var.ttl <= 86400
    error_message = "ttl must be 60 to 86400."
  }
}

variable "enable_cdn_dns" {
  type        = bool
  description = "Create the CDN record (cdn_subdomain CNAME to the Edge Services hostname); needs the CDN (enable_cdn)."
  default     = false
}

variable "cdn_subdomain" {
  type        = string
  description = "Record name of the CDN (e.g. media)."
  default     = "media"

  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9-]*[a-z0-9])?$", var.cdn_subdomain))
    error_message = "cdn_subdomain must be a single DNS label."
  }
}

variable "cdn_target" {
  type        = string
  description = "Edge Services hostname the CDN record points at (storage module cdn_default_hostname)."
  default     = null
}
