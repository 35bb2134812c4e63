output "metrics_source_url" {
  description = "Query URL of the custom metrics source (mimirtool --address for alert-rules.yaml)."
  value       = scaleway_cockpit_source.metrics.url
}

output "metrics_push_url" {
  description = "Push URL of the custom metrics source (Prometheus remote write base URL)."
  value       = scaleway_cockpit_source.metrics.push_url
}

output "metrics_push_token" {
  description = "Cockpit token allowed to write metrics."
  value       = scaleway_cockpit_token.push.secret_key
  sensitive   = true
}

output "rules_token" {
  description = "Cockpit token allowed to load alert rules (enable_alerts only)."
  value       = try(scaleway_cockpit_token.rules[0].secret_key, null)
  sensitive   = true
}

output "grafana_url" {
  description = "Cockpit Grafana URL."
  value       = scaleway_cockpit_grafana_user.ops.grafana_url
}

output "grafana_user_login" {
  description = "Grafana login."
  value       = scaleway_cockpit_grafana_user.ops.login
}

output "grafana_user_password" {
  description = "Grafana password."
  value       = scaleway_cockpit_grafana_user.ops.password
  sensitive   = true
}

output "alert_manager_url" {
  description = "Alert manager URL (enable_alerts only)."
  value       = try(scaleway_cockpit_alert_manager.this[0].alert_manager_url, null)
}

output "enabled_preconfigured_alert_ids" {
  description = "Preconfigured Cockpit alerts switched on."
  value       = local.preconfigured_alert_ids
}
