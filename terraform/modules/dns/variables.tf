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

variable "api_record" {
  type        = bool
  description = "Write the API's A record (known at plan time; false when nothing serves the API)."
  default     = true
}

variable "api_ip" {
  type        = string
  description = "IPv4 the API record points at: the LB's (instances' or scenario 9's), the gateway's when it forwards the API port, or the combined/API instance's."
  default     = null
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

variable "enable_mail_dns" {
  type        = bool
  description = "Write the sending domain's SPF, DKIM, MX and DMARC records and validate the TEM domain; needs the mail module."
  default     = false
}

variable "mail_subdomain" {
  type        = string
  description = "Sending domain relative to the zone (e.g. mail for mail.example.com; \"\" for the apex)."
  default     = "mail"

  validation {
    condition     = var.mail_subdomain == "" || can(regex("^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$", var.mail_subdomain))
    error_message = "mail_subdomain must be DNS labels such as mail, or \"\"."
  }
}

variable "mail_region" {
  type        = string
  description = "Region of the TEM domain."
  default     = "fr-par"
}

variable "mail_domain_id" {
  type        = string
  description = "TEM domain id (mail module domain_id)."
  default     = null
}

variable "mail_spf_include" {
  type        = string
  description = "SPF mechanism TEM asks for (mail module spf_include)."
  default     = null
}

variable "mail_dkim_name" {
  type        = string
  description = "DKIM record name as TEM returns it, fully qualified with a trailing dot (mail module dkim_name); used as is."
  default     = null
}

variable "mail_dkim_value" {
  type        = string
  description = "DKIM record value (mail module dkim_value)."
  default     = null
}

variable "mail_dmarc_name" {
  type        = string
  description = "DMARC record name as TEM returns it, fully qualified with a trailing dot (mail module dmarc_name); used as is."
  default     = null
}

variable "mail_dmarc_value" {
  type        = string
  description = "DMARC record value (mail module dmarc_value)."
  default     = null
}

variable "mail_mx_target" {
  type        = string
  description = "MX host for the sending domain (mail module mx_target)."
  default     = null
}
