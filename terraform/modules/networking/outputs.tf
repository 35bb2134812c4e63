output "vpc_id" {
  description = "ID of the VPC."
  value       = scaleway_vpc.this.id
}

output "private_network_id" {
  description = "ID of the private network."
  value       = scaleway_vpc_private_network.this.id
}

output "private_network_cidr" {
  description = "IPv4 CIDR of the private network (used for TRUSTED_PROXIES behind the LB)."
  value       = var.private_network_cidr
}

output "api_security_group_id" {
  description = "Security group for the combined and API instances."
  value       = scaleway_instance_security_group.api.id
}

output "worker_security_group_id" {
  description = "Security group for worker and self-hosted Redis instances (outbound only)."
  value       = scaleway_instance_security_group.worker.id
}

output "public_gateway_ip" {
  description = "Public IP of the gateway, if any."
  value       = try(scaleway_vpc_public_gateway_ip.this[0].address, null)
}

output "bastion_public_ip" {
  description = "Public IP of the SSH bastion (the gateway's, or the bastion instance's), if any."
  value = var.enable_bastion ? (
    var.enable_public_gateway ? scaleway_vpc_public_gateway_ip.this[0].address : scaleway_instance_ip.bastion[0].address
  ) : null
}

output "ssh_jump" {
  description = "ssh -J argument that reaches the private hosts (user@ip:port), or null without a bastion."
  value = var.enable_bastion ? (
    var.enable_public_gateway ? "bastion@${scaleway_vpc_public_gateway_ip.this[0].address}:${var.bastion_port}" : "root@${scaleway_instance_ip.bastion[0].address}"
  ) : null
}

output "gateway_network_id" {
  description = "ID of the gateway network (null without a gateway): private-only hosts and node pools wait for it, as their egress goes through it."
  value       = try(scaleway_vpc_gateway_network.this[0].id, null)
}

output "api_port_forward_url" {
  description = "http://<gateway ip>:<app port> when the gateway forwards the API port, else null."
  value       = var.enable_public_gateway && var.enable_api_port_forward ? "http://${scaleway_vpc_public_gateway_ip.this[0].address}:${var.app_port}" : null
}

output "public_gateway_ip_address" {
  description = "Public IPv4 of the gateway (null without one): the API's address when the gateway forwards its port."
  value       = try(scaleway_vpc_public_gateway_ip.this[0].address, null)
}

output "load_balancer_enabled" {
  description = "Whether the load balancer exists."
  value       = var.enable_load_balancer
}

output "lb_ip" {
  description = "Public IP of the load balancer, if any."
  value       = try(scaleway_lb_ip.this[0].ip_address, null)
}

output "lb_hostname" {
  description = "HTTPS hostname served by the LB certificate, if any."
  value       = try("${replace(scaleway_lb_ip.this[0].ip_address, ".", "-")}.lb.${var.region}.scw.cloud", null)
}

# Known only once the certificate and the 443 frontend exist: what needs the
# HTTPS endpoint to answer (the bounce subscription) reads this one.
output "lb_https_hostname" {
  description = "The LB's HTTPS hostname, once its certificate and 443 frontend exist (null without the LB)."
  value       = try(scaleway_lb_certificate.this[0].letsencrypt[0].common_name, null)
  depends_on  = [scaleway_lb_frontend.https]
}

output "kubernetes_lb" {
  description = "Scenario 9: the Terraform-made LB handed to the cloud controller (zoned ids for the Service annotations), its IP and HTTPS hostname; null otherwise."
  value = var.enable_kubernetes_lb ? {
    id             = scaleway_lb.k8s[0].id
    certificate_id = scaleway_lb_certificate.k8s[0].id
    ip             = scaleway_lb_ip.k8s[0].ip_address
    hostname       = scaleway_lb_certificate.k8s[0].letsencrypt[0].common_name
  } : null
}

output "lb_backend_id" {
  description = "Zoned id (<zone>/<id>) of the API backend: scripts/roll takes each host out of it before stopping the app (null without the LB)."
  value       = try(scaleway_lb_backend.api[0].id, null)
}
