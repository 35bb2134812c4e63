variable "project_id" {
  type        = string
  description = "Scaleway project ID everything is created in (terraform.tfvars)."
}

variable "alert_contact_emails" {
  type        = list(string)
  description = "E-mail addresses the alert manager notifies (prod has alerts on: set at least one)."
}
