output "paseto_access_key" {
  description = "PASETO_ACCESS_KEY (base64 of 32 bytes)."
  value       = local.values["paseto-access-key"]
  sensitive   = true
}

output "paseto_refresh_key" {
  description = "PASETO_REFRESH_KEY (base64 of 32 bytes)."
  value       = local.values["paseto-refresh-key"]
  sensitive   = true
}

output "admin_token" {
  description = "ADMIN_TOKEN: the moderation routes; the API's alone."
  value       = local.values["admin-token"]
  sensitive   = true
}

output "metrics_token" {
  description = "METRICS_TOKEN: bearer token of GET /metrics (API, workers, serverless worker), held by the scrapers."
  value       = local.values["metrics-token"]
  sensitive   = true
}

output "db_admin_password" {
  description = "Password of the database admin user."
  value       = local.values["db-admin-password"]
  sensitive   = true
}

output "db_password" {
  description = "Password of the application database user."
  value       = local.values["db-password"]
  sensitive   = true
}

output "redis_password" {
  description = "Redis password."
  value       = local.values["redis-password"]
  sensitive   = true
}

output "secret_ids" {
  description = "Secret Manager IDs by secret name."
  value       = merge({ for k, s in scaleway_secret.this : k => s.id }, { for k, s in scaleway_secret.push : k => s.id })
}

output "push_env" {
  description = "The workers' PUSH_* variables (empty when no push credentials were given)."
  value       = { for name, value in local.push_values : local.push_env_names[name] => value }
  sensitive   = true
}
