variable "project_id" {
  type        = string
  description = "Scaleway project ID everything is created in (terraform.tfvars)."
}
