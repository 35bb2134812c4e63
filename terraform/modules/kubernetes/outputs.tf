output "enabled" {
  description = "Whether the cluster exists."
  value       = var.enabled
}

output "cluster_id" {
  description = "ID of the Kapsule cluster (null when disabled)."
  value       = try(scaleway_k8s_cluster.this[0].id, null)
}

output "apiserver_url" {
  description = "URL of the cluster's API server (null when disabled)."
  value       = try(scaleway_k8s_cluster.this[0].apiserver_url, null)
}

output "kubeconfig" {
  description = "Kubeconfig file of the cluster, for kubectl (null when disabled)."
  value       = try(scaleway_k8s_cluster.this[0].kubeconfig[0].config_file, null)
  sensitive   = true
}

output "kubernetes_version" {
  description = "Kubernetes minor version the cluster runs; deploy/k8s is validated against it."
  value       = var.kubernetes_version
}

output "node_type" {
  description = "Commercial type of the pool's nodes."
  value       = var.node_type
}
