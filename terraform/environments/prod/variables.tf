variable "project_id" {
  type        = string
  description = "Scaleway project ID everything is created in (terraform.tfvars)."
}

variable "alert_contact_emails" {
  type        = list(string)
  description = "E-mail addresses the alert manager notifies (prod has alerts on: set at least one)."
}

variable "image_tag" {
  type        = string
  description = "Tag of the ciel image to deploy: immutable (the deploy workflow passes the git sha with -var), never latest."

  validation {
    condition     = var.image_tag != "latest"
    error_message = "image_tag must be an immutable tag (the git sha), not latest: the serverless container redeploys only when the image reference changes."
  }
}

variable "bucket_name" {
  type        = string
  description = "Media bucket name (globally unique on Scaleway); null: ciel-media-<environment>. Set it when another project already holds that name."
  default     = null
}

variable "registry_namespace_name" {
  type        = string
  description = "Registry namespace (unique per region on Scaleway); null: ciel-<environment>."
  default     = null
}

variable "paseto_access_key" {
  type        = string
  description = "PASETO_ACCESS_KEY during and after a rotation (docs/operations.md); null keeps the generated key."
  default     = null
  sensitive   = true
}

variable "paseto_refresh_key" {
  type        = string
  description = "PASETO_REFRESH_KEY during and after a rotation; null keeps the generated key."
  default     = null
  sensitive   = true
}

variable "paseto_access_key_previous" {
  type        = string
  description = "PASETO_ACCESS_KEY_PREVIOUS during a rotation; null: none."
  default     = null
  sensitive   = true
}

variable "paseto_refresh_key_previous" {
  type        = string
  description = "PASETO_REFRESH_KEY_PREVIOUS during a rotation; null: none."
  default     = null
  sensitive   = true
}

variable "dns_zone" {
  type        = string
  description = "Scaleway-managed DNS zone (e.g. example.com); null: no DNS records and no mail."
  default     = null
}

variable "bastion_allowed_cidrs" {
  type        = list(string)
  description = "Public CIDRs allowed to SSH through the gateway's bastion."
  default     = ["0.0.0.0/0"]
}

variable "enable_mail" {
  type        = bool
  description = "Account mail through Transactional Email (needs dns_zone): the stack's enable_mail."
  default     = false
}

variable "enable_mail_bounces" {
  type        = bool
  description = "Bounces and complaints reach the API (needs enable_mail, mail_sns_trust_chain_pem and a load balancer): the stack's enable_mail_bounces."
  default     = false
}

variable "mail_sns_trust_chain_pem" {
  type        = string
  description = "PEM of Scaleway's Topics and Events CA (the stack's mail_sns_trust_chain_pem), e.g. TF_VAR_mail_sns_trust_chain_pem=\"$(curl -fsS https://messaging.s3.fr-par.scw.cloud/fr-par/sns/sns-trust-chain.pem)\"."
  default     = null
}

variable "mail_sns_cert_url_prefix" {
  type        = string
  description = "SNS_CERT_URL_PREFIX of the API (the stack's mail_sns_cert_url_prefix); null: https://."
  default     = null
}

variable "enable_bastion" {
  type        = bool
  description = "SSH through the gateway's bastion (scenario 8: off). The deploy workflow needs it on to roll the API hosts: set it in the TFVARS secret with bastion_allowed_cidrs."
  default     = false
}

variable "push_apns_key" {
  type        = string
  description = "Contents of Apple's .p8 key (the stack's push_apns_key), e.g. TF_VAR_push_apns_key=\"$(cat AuthKey_XXXXXXXXXX.p8)\". Null: no APNs push."
  default     = null
  sensitive   = true
}

variable "push_apns_key_id" {
  type        = string
  description = "The .p8 key's Key ID (the stack's push_apns_key_id)."
  default     = null
}

variable "push_apns_team_id" {
  type        = string
  description = "The Apple Developer Team ID (the stack's push_apns_team_id)."
  default     = null
}

variable "push_apns_topic" {
  type        = string
  description = "The iOS app's bundle id (the stack's push_apns_topic)."
  default     = null
}

variable "push_fcm_service_account" {
  type        = string
  description = "The Firebase service account's JSON key (the stack's push_fcm_service_account), e.g. TF_VAR_push_fcm_service_account=\"$(cat service-account.json)\". Null: no FCM push."
  default     = null
  sensitive   = true
}

variable "signup_mode" {
  type        = string
  description = "SIGNUP_MODE of the API: open, or invite (sign-up needs an invite code)."
  default     = "open"
  nullable    = false

  validation {
    condition     = contains(["open", "invite"], var.signup_mode)
    error_message = "signup_mode must be open or invite."
  }
}
