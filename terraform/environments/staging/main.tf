# staging: the same shape as dev (the stack's defaults are the seed's dev
# table) with production logging. The modules are composed in terraform/stack.

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

  environment = "staging"
  project_id  = var.project_id
}
