# Scenario 9: a Kapsule cluster (free mutualised control plane) on the
# private network, and one autoscaled pool. The API and Redis run on it from
# deploy/k8s; the database, storage, messaging, secrets and the serverless
# worker stay as they are.

locals {
  enabled = var.enabled ? 1 : 0
}

resource "scaleway_k8s_cluster" "this" {
  count = local.enabled

  name    = "${var.name_prefix}-k8s"
  region  = var.region
  version = var.kubernetes_version
  # Cilium: the CNI that enforces deploy/k8s's NetworkPolicies.
  cni                = "cilium"
  private_network_id = var.private_network_id
  tags               = var.tags
  # The Service's load balancer and the Redis volume are created by the
  # cluster (CCM, CSI): delete them with it, so nothing is left billing.
  delete_additional_resources = true

  autoscaler_config {
    disable_scale_down               = false
    scale_down_delay_after_add       = "10m"
    scale_down_unneeded_time         = "10m"
    scale_down_utilization_threshold = 0.5
    expander                         = "least_waste"
    balance_similar_node_groups      = true
    ignore_daemonsets_utilization    = true
  }

  auto_upgrade {
    enable                        = true
    maintenance_window_day        = "sunday"
    maintenance_window_start_hour = 3
  }
}

resource "scaleway_k8s_pool" "app" {
  count = local.enabled

  cluster_id  = scaleway_k8s_cluster.this[0].id
  name        = "${var.name_prefix}-app"
  zone        = var.zone
  node_type   = var.node_type
  size        = var.min_nodes
  min_size    = var.min_nodes
  max_size    = var.max_nodes
  autoscaling = true
  autohealing = true
  # Nodes reach the internet through the public gateway, like the instances.
  public_ip_disabled = true
  tags               = var.tags

  # One node at a time, a new one first: the API's PodDisruptionBudget
  # keeps a pod up, and capacity never drops during an upgrade.
  upgrade_policy {
    max_surge       = 1
    max_unavailable = 0
  }

  # Nodes without a public IP need the gateway's NAT to join the cluster.
  depends_on = [terraform_data.gateway_network]
}

resource "terraform_data" "gateway_network" {
  input = var.gateway_network_id
}
