output "metrics_source_url" {
  description = "Query URL of the custom metrics source (mimirtool --address for alert-rules.yaml)."
  value       = scaleway_cockpit_source.metrics.url
}

output "metrics_push_url" {
  description = "Push URL of the custom metrics source: the full Prometheus remote-write URL (the provider already appends /api/v1/push)."
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
  description = "Cockpit Grafana URL (log in with a Scaleway account: IAM)."
  value       = data.scaleway_cockpit_grafana.this.grafana_url
}

output "alert_manager_url" {
  description = "Alert manager URL (enable_alerts only)."
  value       = try(scaleway_cockpit_alert_manager.this[0].alert_manager_url, null)
}

output "enabled_preconfigured_alert_ids" {
  description = "Preconfigured Cockpit alerts switched on."
  value       = local.preconfigured_alert_ids
}
