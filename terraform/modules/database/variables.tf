variable "name_prefix" {
  type        = string
  description = "Prefix for resource names, e.g. \"ciel-dev\"."
}

variable "region" {
  type        = string
  description = "Scaleway region of the database."
  default     = "fr-par"

  validation {
    condition     = contains(["fr-par", "nl-ams", "pl-waw"], var.region)
    error_message = "region must be one of fr-par, nl-ams, pl-waw."
  }
}

variable "tags" {
  type        = list(string)
  description = "Tags added to the instance."
  default     = []
}

variable "private_network_id" {
  type        = string
  description = "Private network the database is attached to (no public endpoint)."
}

variable "db_node_type" {
  type        = string
  description = "Managed PostgreSQL node type."
  default     = "DB-DEV-S"

  validation {
    condition     = can(regex("^(DB-DEV-(S|M|L|XL)|DB-PLAY2-(PICO|NANO)|DB-PRO2-(XXS|XS|S|M|L)|DB-POP2-(2C-8G|4C-16G|8C-32G|16C-64G|32C-128G|HC-2C-4G|HC-4C-8G|HM-2C-16G|HM-4C-32G))$", var.db_node_type))
    error_message = "db_node_type must be a Scaleway RDB node type such as DB-DEV-S, DB-PLAY2-PICO or DB-PRO2-XXS."
  }
}

variable "enable_ha" {
  type        = bool
  description = "Run the database as a high-availability cluster (standby node)."
  default     = false
}

variable "volume_type" {
  type        = string
  description = "Storage type of the database volume."
  default     = "sbs_5k"

  validation {
    condition     = contains(["lssd", "bssd", "sbs_5k", "sbs_15k"], var.volume_type)
    error_message = "volume_type must be lssd, bssd, sbs_5k or sbs_15k."
  }
}

variable "volume_size_in_gb" {
  type        = number
  description = "Size of the database volume in GB (block storage)."
  default     = 10

  validation {
    condition     = var.volume_size_in_gb >= 5 && var.volume_size_in_gb <= 10000 && floor(var.volume_size_in_gb) == var.volume_size_in_gb
    error_message = "volume_size_in_gb must be a whole number between 5 and 10000."
  }
}

variable "read_replica_count" {
  type        = number
  description = "Number of read replicas (on the private network)."
  default     = 0

  validation {
    condition     = var.read_replica_count >= 0 && var.read_replica_count <= 3 && floor(var.read_replica_count) == var.read_replica_count
    error_message = "read_replica_count must be 0 to 3."
  }
}

variable "database_name" {
  type        = string
  description = "Name of the application database."
  default     = "ciel"
}

variable "admin_user_name" {
  type        = string
  description = "Name of the admin user created with the instance."
  default     = "ciel_admin"
}

variable "app_user_name" {
  type        = string
  description = "Name of the application user (owner of the ciel database only, no admin rights)."
  default     = "ciel_app"
}

variable "admin_password" {
  type        = string
  description = "Password of the admin user (from the secrets module)."
  sensitive   = true
}

variable "app_password" {
  type        = string
  description = "Password of the application user (from the secrets module). URL-safe characters only."
  sensitive   = true
}

variable "backup_retention_days" {
  type        = number
  description = "Days automatic daily backups are kept."
  default     = 7

  validation {
    condition     = var.backup_retention_days >= 1 && var.backup_retention_days <= 365
    error_message = "backup_retention_days must be 1 to 365."
  }
}

variable "settings" {
  type        = map(string)
  description = "PostgreSQL engine settings (e.g. max_connections, work_mem)."
  default     = {}
}
