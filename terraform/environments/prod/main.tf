# prod: the seed's scenario 8 (production-ready, full split), with the image
# tag pinned here so that what runs is in version control. The modules are
# composed in terraform/stack.

terraform {
  required_version = ">= 1.9, < 2.0"

  required_providers {
    scaleway = {
      source  = "scaleway/scaleway"
      version = ">= 2.75, < 3.0"
    }
  }
}

provider "scaleway" {
  project_id = var.project_id
  region     = "fr-par"
  zone       = "fr-par-1"
}

module "stack" {
  source = "../../stack"

  environment = "prod"
  project_id  = var.project_id
  image_tag   = "latest"

  alert_contact_emails = var.alert_contact_emails

  # Scenario 8, value for value.
  enable_load_balancer        = true
  enable_bastion              = false
  enable_combined_mode        = false
  api_instance_count          = 2
  api_instance_type           = "DEV1-M"
  enable_serverless_worker    = true
  serverless_worker_max_scale = 10
  db_node_type                = "DB-PRO2-XXS"
  enable_ha                   = true
  volume_size_in_gb           = 20
  enabled                     = true
  use_managed_redis           = true
  managed_redis_node_type     = "RED1-micro"
  enable_cdn                  = true
  enable_alerts               = true
}
