variable "name_prefix" {
  type        = string
  description = "Prefix for resource names, e.g. \"ciel-dev\"."
}

variable "region" {
  type        = string
  description = "Scaleway region of the Kapsule cluster."
  default     = "fr-par"

  validation {
    condition     = contains(["fr-par", "nl-ams", "pl-waw"], var.region)
    error_message = "region must be fr-par, nl-ams or pl-waw."
  }
}

variable "zone" {
  type        = string
  description = "Scaleway zone of the node pool."
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
  description = "Create the Kapsule cluster and its pool (scenario 9)."
  default     = false
}

variable "private_network_id" {
  type        = string
  description = "Private network the cluster's nodes join (the database and the managed Redis are on it)."
}

variable "kubernetes_version" {
  type        = string
  description = "Kubernetes minor version of the cluster (scw k8s version list); deploy/k8s is validated against its schemas."
  default     = "1.34"

  validation {
    condition     = can(regex("^1\\.[0-9]+$", var.kubernetes_version))
    error_message = "kubernetes_version must be a minor version such as 1.34 (Kapsule follows the patch releases)."
  }
}

variable "node_type" {
  type        = string
  description = "Commercial type of the autoscaled pool's nodes: the seed's GP1-S or DEV1-L."
  default     = "DEV1-L"

  validation {
    condition     = contains(["DEV1-L", "GP1-S"], var.node_type)
    error_message = "node_type must be DEV1-L or GP1-S (the seed's scenario 9)."
  }
}

variable "min_nodes" {
  type        = number
  description = "Smallest size of the autoscaled pool: two nodes keep the API up while one is replaced."
  default     = 2

  validation {
    condition     = var.min_nodes >= 2 && var.min_nodes == floor(var.min_nodes)
    error_message = "min_nodes must be a whole number, at least 2 (the PodDisruptionBudget keeps one API pod up during node upgrades)."
  }
}

variable "max_nodes" {
  type        = number
  description = "Largest size of the autoscaled pool."
  default     = 4

  validation {
    condition     = var.max_nodes >= 2 && var.max_nodes <= 20 && var.max_nodes == floor(var.max_nodes)
    error_message = "max_nodes must be a whole number between 2 and 20."
  }
}

variable "gateway_network_id" {
  type        = string
  description = "The gateway network (networking output) the pool waits for: nodes without public IPs reach the internet through it (provider docs, k8s_pool public_ip_disabled). Null without a gateway."
  default     = null
}
