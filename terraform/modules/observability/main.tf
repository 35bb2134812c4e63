# Cockpit is active in every project; these resources add a custom metrics
# source for the API's Prometheus /metrics, a push token, the Grafana URL and,
# with enable_alerts, the alert manager and its contact points.

resource "scaleway_cockpit_source" "metrics" {
  name           = "${var.name_prefix}-app-metrics"
  type           = "metrics"
  region         = var.region
  retention_days = var.metrics_retention_days
}

resource "scaleway_cockpit_token" "push" {
  name   = "${var.name_prefix}-metrics-push"
  region = var.region

  scopes {
    write_metrics       = true
    query_metrics       = false
    write_logs          = false
    setup_metrics_rules = false
  }
}

# Used by an operator to load alert-rules.yaml (see README).
resource "scaleway_cockpit_token" "rules" {
  count = var.enable_alerts ? 1 : 0

  name   = "${var.name_prefix}-alert-rules"
  region = var.region

  scopes {
    write_metrics       = false
    write_logs          = false
    query_metrics       = true
    setup_alerts        = true
    setup_metrics_rules = true
  }
}

# Grafana access goes through Scaleway IAM (the Grafana-user resource is
# deprecated and being removed): people log in with their Scaleway account,
# with the Cockpit permissions their IAM policy gives them.
data "scaleway_cockpit_grafana" "this" {}

data "scaleway_cockpit_preconfigured_alert" "all" {
  count = var.enable_alerts ? 1 : 0

  region = var.region
}

locals {
  families = [for f in var.preconfigured_alert_product_families : lower(f)]
  preconfigured_alert_ids = var.enable_alerts ? [
    for a in data.scaleway_cockpit_preconfigured_alert.all[0].alerts : a.preconfigured_rule_id
    if contains(local.families, lower(a.product_family)) || contains(local.families, lower(a.product_name))
  ] : []
}

resource "scaleway_cockpit_alert_manager" "this" {
  count = var.enable_alerts ? 1 : 0

  region                  = var.region
  preconfigured_alert_ids = local.preconfigured_alert_ids

  dynamic "contact_points" {
    for_each = var.alert_contact_emails
    content {
      email = contact_points.value
    }
  }
}
