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
  description = "SSH bastion (ssh root@<ip>, then the instances' private IPs)."
  value       = module.stack.bastion_public_ip
}

output "lb_ip" {
  description = "Load balancer IP, if any."
  value       = module.stack.lb_ip
}
