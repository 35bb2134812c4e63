output "smtp_url" {
  description = "SMTP_URL of the workers (smtps://project:key@host:2465), null when disabled."
  value       = local.smtp_url
  sensitive   = true
}

output "smtp_url_secret_id" {
  description = "Secret Manager id of SMTP_URL."
  value       = try(scaleway_secret.smtp_url[0].id, null)
}

output "domain_id" {
  description = "TEM domain id (the DNS module validates it once its records exist)."
  value       = try(scaleway_tem_domain.this[0].id, null)
}

output "spf_include" {
  description = "SPF mechanism TEM asks for (include:...), for the domain's TXT record."
  value       = try(scaleway_tem_domain.this[0].spf_config, null)
}

output "dkim_name" {
  description = "Name of the DKIM TXT record as TEM returns it: fully qualified, trailing dot (<id>._domainkey.<domain>.)."
  value       = try(scaleway_tem_domain.this[0].dkim_name, null)
}

output "dkim_value" {
  description = "Value of the DKIM TXT record (the public key)."
  value       = try(scaleway_tem_domain.this[0].dkim_config, null)
}

output "dmarc_name" {
  description = "Name of the DMARC TXT record as TEM returns it: fully qualified, trailing dot (_dmarc.<domain>.)."
  value       = try(scaleway_tem_domain.this[0].dmarc_name, null)
}

output "dmarc_value" {
  description = "Value of the DMARC TXT record."
  value       = try(scaleway_tem_domain.this[0].dmarc_config, null)
}

output "mx_target" {
  description = "MX host TEM asks for (its blackhole, which takes bounces)."
  value       = try(scaleway_tem_domain.this[0].mx_blackhole, null)
}

output "events_topic_arn" {
  description = "ARN of the topic TEM publishes bounces and complaints to; the API accepts messages of this topic only."
  value       = try(scaleway_mnq_sns_topic.events[0].arn, null)
}
