output "api_url" {
  description = "Base URL of the API."
  value = var.enable_load_balancer ? "https://${module.networking.lb_hostname}" : (
    module.compute.api_public_ip == null ? null : "http://${module.compute.api_public_ip}:8080"
  )
}

output "api_fqdn" {
  description = "DNS name of the API, when dns_zone is set."
  value       = try(module.dns[0].api_fqdn, null)
}

output "registry_endpoint" {
  description = "Push the image here: docker push <registry_endpoint>/ciel:<image_tag>."
  value       = module.compute.registry_endpoint
}

output "bastion_public_ip" {
  description = "SSH bastion (ssh root@<ip>, then the instances' private IPs)."
  value       = module.networking.bastion_public_ip
}

output "lb_ip" {
  description = "Load balancer IP, if any."
  value       = module.networking.lb_ip
}

output "bucket_name" {
  description = "Media bucket."
  value       = module.storage.bucket_name
}

output "s3_public_endpoint" {
  description = "Where clients fetch media from."
  value       = module.storage.s3_public_endpoint
}

output "cdn_hostname" {
  description = "CDN hostname, if enabled."
  value       = module.storage.cdn_hostname
}

output "queue_name" {
  description = "Media jobs queue."
  value       = module.messaging.queue_name
}

output "dlq_name" {
  description = "Dead-letter queue of the media jobs."
  value       = module.messaging.dlq_name
}

output "redis_host" {
  description = "Separate Redis host, if any."
  value       = module.cache.redis_host
}

output "grafana_url" {
  description = "Cockpit Grafana: log in with your Scaleway account (IAM; the project's Cockpit permissions decide the role)."
  value       = module.observability.grafana_url
}

output "database_url" {
  description = "DATABASE_URL of the application user (private network only)."
  value       = module.database.database_url
  sensitive   = true
}

output "metrics_source_url" {
  description = "Cockpit custom metrics source (mimirtool --address when loading alert-rules.yaml)."
  value       = module.observability.metrics_source_url
}

output "alert_rules_token" {
  description = "Cockpit token allowed to load alert rules (enable_alerts only)."
  value       = module.observability.rules_token
  sensitive   = true
}
