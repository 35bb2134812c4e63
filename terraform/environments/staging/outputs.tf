# Everything the stack exposes is in `stack` (terraform output -json stack);
# the deploy workflow and the runbooks read these few with -raw.

output "stack" {
  description = "Everything the stack exposes: terraform output -json stack | jq -r .api_url"
  value       = module.stack
  sensitive   = true
}

output "api_url" {
  description = "Base URL of the API."
  value       = module.stack.api_url
}

output "registry_endpoint" {
  description = "Push the image here: docker push <registry_endpoint>/ciel:<image_tag>."
  value       = module.stack.registry_endpoint
}

output "bastion_public_ip" {
  description = "Public IP of the SSH bastion (the gateway's), or null."
  value       = module.stack.bastion_public_ip
}

output "ssh_jump" {
  description = "ssh -J value for the hosts' private IPs (bastion@<gateway ip>:61000); absent without a bastion."
  value       = module.stack.ssh_jump
}

output "lb_ip" {
  description = "Load balancer IP, if any."
  value       = module.stack.lb_ip
}
