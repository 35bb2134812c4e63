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
  description = "Public IP of the SSH bastion, if any."
  value       = try(scaleway_instance_ip.bastion[0].address, null)
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
