output "api_fqdn" {
  description = "FQDN of the API record, if any."
  value       = try(scaleway_domain_record.api[0].fqdn, null)
}

output "cdn_fqdn" {
  description = "FQDN of the CDN record, if any."
  value       = try(scaleway_domain_record.cdn[0].fqdn, null)
}

output "mail_domain_validated" {
  description = "Whether TEM validated the sending domain, null without mail DNS."
  value       = try(scaleway_tem_domain_validation.mail[0].validated, null)
}
