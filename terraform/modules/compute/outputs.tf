output "registry_endpoint" {
  description = "Registry namespace endpoint: push the image to <endpoint>/ciel:<tag>."
  value       = scaleway_registry_namespace.this.endpoint
}

output "image" {
  description = "Full image reference deployed everywhere."
  value       = local.image
}

output "combined_public_ip" {
  description = "Public IP of the combined instance, if any."
  value       = try(scaleway_instance_ip.combined[0].address, null)
}

output "api_public_ips" {
  description = "Public IPs of the API instances (empty behind the LB)."
  value       = scaleway_instance_ip.api[*].address
}

output "api_public_ip" {
  description = "Public IP clients reach the API on when there is no LB (combined or first API instance)."
  value       = try(coalesce(try(scaleway_instance_ip.combined[0].address, null), try(scaleway_instance_ip.api[0].address, null)), null)
}

output "api_port_forward_ip" {
  description = "Private IPv4 of the host that serves the API without an LB (combined or first API instance), for the gateway's PAT rule; null if none."
  value = try([
    for s in concat(scaleway_instance_server.combined, scaleway_instance_server.api) :
    [for ip in s.private_ips : ip.address if !strcontains(ip.address, ":")][0]
  ][0], null)
}

output "api_private_ips" {
  description = "Private IPs of the instances serving the API (LB backend servers)."
  # IPAM lists a server's IPv6 address first: pick the IPv4 one, which the
  # LB backend and TRUSTED_PROXIES (the private network's IPv4 CIDR) expect.
  value = [
    for s in concat(scaleway_instance_server.combined, scaleway_instance_server.api) :
    [for ip in s.private_ips : ip.address if !strcontains(ip.address, ":")][0]
  ]
}

output "worker_instance_ids" {
  description = "IDs of the long-polling worker instances."
  value       = scaleway_instance_server.worker[*].id
}

output "serverless_container_id" {
  description = "ID of the serverless media processor, if any."
  value       = try(scaleway_container.media_processor[0].id, null)
}

output "serverless_container_timeout_seconds" {
  description = "Timeout of the serverless media processor."
  value       = var.serverless_worker_timeout_seconds
}

output "serverless_worker_concurrency" {
  description = "WORKER_CONCURRENCY of the serverless container (max_scale x this <= the trigger's 10 in-flight requests)."
  value       = local.serverless_concurrency
}

output "registry_pull_secret_key" {
  description = "Secret key of the read-only registry application (docker login -u nologin), for Kapsule's image pull secret."
  value       = scaleway_iam_api_key.registry_pull.secret_key
  sensitive   = true
}
