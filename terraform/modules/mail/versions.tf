terraform {
  required_version = ">= 1.9, < 2.0"

  required_providers {
    scaleway = {
      source  = "scaleway/scaleway"
      version = ">= 2.75, < 3.0"
    }
  }
}
