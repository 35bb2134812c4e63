variable "name_prefix" {
  type        = string
  description = "Prefix for every resource name, e.g. \"ciel-dev\"."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.name_prefix))
    error_message = "name_prefix must be lowercase letters, digits and dashes (2-31 chars)."
  }
}

variable "region" {
  type        = string
  description = "Scaleway region (fr-par, nl-ams, pl-waw)."
  default     = "fr-par"

  validation {
    condition     = contains(["fr-par", "nl-ams", "pl-waw"], var.region)
    error_message = "region must be one of fr-par, nl-ams, pl-waw."
  }
}

variable "zone" {
  type        = string
  description = "Scaleway zone for zonal resources (gateway, bastion, load balancer)."
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

variable "private_network_cidr" {
  type        = string
  description = "IPv4 CIDR of the private network shared by instances, database, Redis, load balancer and serverless container."
  default     = "172.16.0.0/22"

  validation {
    condition     = can(cidrhost(var.private_network_cidr, 0)) && can(regex("^(10\\.|172\\.(1[6-9]|2[0-9]|3[01])\\.|192\\.168\\.)", var.private_network_cidr))
    error_message = "private_network_cidr must be a valid RFC 1918 IPv4 CIDR."
  }
}

variable "app_port" {
  type        = number
  description = "Port the Ciel API listens on (HTTP_ADDR 0.0.0.0:8080)."
  default     = 8080

  validation {
    condition     = var.app_port >= 1 && var.app_port <= 65535
    error_message = "app_port must be a TCP port."
  }
}

variable "enable_public_gateway" {
  type        = bool
  description = "Create a public gateway (NAT + default route) so instances without a public IP can reach the internet."
  default     = true
}

variable "public_gateway_type" {
  type        = string
  description = "Public gateway offer."
  default     = "VPC-GW-S"

  validation {
    condition     = contains(["VPC-GW-S", "VPC-GW-M", "VPC-GW-L", "VPC-GW-XL"], var.public_gateway_type)
    error_message = "public_gateway_type must be VPC-GW-S, VPC-GW-M, VPC-GW-L or VPC-GW-XL."
  }
}

variable "enable_bastion" {
  type        = bool
  description = "SSH access for operators and the deploy workflow: the public gateway's SSH bastion (bastion@<gateway ip>:bastion_port); without a gateway, a small bastion instance with a public IP."
  default     = true
}

variable "bastion_instance_type" {
  type        = string
  description = "Commercial type of the bastion instance (only without a public gateway)."
  default     = "DEV1-S"

  validation {
    condition     = contains(["STARDUST1-S", "DEV1-S", "DEV1-M"], var.bastion_instance_type)
    error_message = "bastion_instance_type must be STARDUST1-S, DEV1-S or DEV1-M."
  }
}

variable "bastion_allowed_cidrs" {
  type        = list(string)
  description = "Public CIDRs allowed to SSH into the bastion."
  default     = ["0.0.0.0/0"]

  validation {
    condition     = alltrue([for c in var.bastion_allowed_cidrs : can(cidrhost(c, 0))])
    error_message = "bastion_allowed_cidrs must be IPv4 CIDRs."
  }
}

variable "api_public_ingress_cidrs" {
  type        = list(string)
  description = "Public CIDRs allowed to reach the API port directly when there is no load balancer."
  default     = ["0.0.0.0/0"]

  validation {
    condition     = alltrue([for c in var.api_public_ingress_cidrs : can(cidrhost(c, 0))])
    error_message = "api_public_ingress_cidrs must be IPv4 CIDRs."
  }
}

variable "enable_load_balancer" {
  type        = bool
  description = "Create a load balancer in front of the API instances (HTTPS frontend, health check on /health)."
  default     = false
}

variable "lb_type" {
  type        = string
  description = "Load balancer offer."
  default     = "LB-S"

  validation {
    condition     = contains(["LB-S", "LB-GP-M", "LB-GP-L", "LB-GP-XL"], upper(var.lb_type))
    error_message = "lb_type must be one of LB-S, LB-GP-M, LB-GP-L, LB-GP-XL (the types Scaleway provisions; LB-GP-S is not one)."
  }
}

variable "lb_backend_server_ips" {
  type        = list(string)
  description = "Private IPs of the API instances registered in the load balancer backend (module.compute.api_private_ips)."
  default     = []
}

variable "lb_certificate_extra_domains" {
  type        = list(string)
  description = "Extra names (e.g. api.example.com) added to the Let's Encrypt certificate. Their DNS must already point at the LB IP."
  default     = []
}

variable "bastion_port" {
  type        = number
  description = "Port of the public gateway's SSH bastion."
  default     = 61000

  validation {
    condition     = var.bastion_port >= 1024 && var.bastion_port <= 59999 || var.bastion_port == 61000
    error_message = "bastion_port must be 1024-59999 or the default 61000 (the provider's validation, vpcgw/public_gateway.go)."
  }
}

variable "enable_api_port_forward" {
  type        = bool
  description = "Forward app_port of the gateway's IP to api_port_forward_ip (the API host when there is no load balancer). Known at plan time, unlike the IP."
  default     = false
}

variable "api_port_forward_ip" {
  type        = string
  description = "Private IPv4 of the host that serves the API without a load balancer (null: none)."
  default     = null
}

variable "enable_kubernetes_lb" {
  type        = bool
  description = "Scenario 9: a load balancer, its IP and a Let's Encrypt certificate made here, with no frontend or backend, handed to Kapsule's cloud controller (Service annotations)."
  default     = false
}
