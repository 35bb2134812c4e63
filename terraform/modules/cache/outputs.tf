output "enabled" {
  description = "Whether a separate Redis exists."
  value       = var.enabled
}

output "redis_host" {
  description = "Private IP of Redis (null when disabled)."
  value       = local.host
}

output "redis_port" {
  description = "Redis port (null when disabled)."
  value       = local.port
}

output "redis_tls" {
  description = "Whether clients must use TLS (managed Redis)."
  value       = local.managed
}

output "redis_ca_cert" {
  description = "PEM certificate that signs managed Redis's TLS (null for self-hosted: no TLS)."
  value       = local.managed ? try(scaleway_redis_cluster.this[0].certificate, null) : null
}

output "redis_username" {
  description = "ACL user name for managed Redis (null for self-hosted: password only)."
  value       = local.managed ? local.user_name : null
}

output "redis_url" {
  description = "REDIS_URL for the API (null when disabled)."
  value       = local.url
  sensitive   = true
}
