output "api_url" {
  description = "Base URL of the API."
  value = var.enable_load_balancer ? "https://${module.networking.lb_hostname}" : (
    module.compute.api_public_ip == null ? null : "http://${module.compute.api_public_ip}:8080"
  )
}

output "api_fqdn" {
  description = "DNS name of the API, when dns_zone is set."
  value       = try(module.dns[0].api_fqdn, null)
}

output "registry_endpoint" {
  description = "Push the image here: docker push <registry_endpoint>/ciel:<image_tag>."
  value       = module.compute.registry_endpoint
}

output "bastion_public_ip" {
  description = "SSH bastion (ssh root@<ip>, then the instances' private IPs)."
  value       = module.networking.bastion_public_ip
}

output "lb_ip" {
  description = "Load balancer IP, if any."
  value       = module.networking.lb_ip
}

output "bucket_name" {
  description = "Media bucket."
  value       = module.storage.bucket_name
}

output "s3_public_endpoint" {
  description = "Where clients fetch media from."
  value       = module.storage.s3_public_endpoint
}

output "cdn_hostname" {
  description = "CDN hostname, if enabled."
  value       = module.storage.cdn_hostname
}

output "queue_name" {
  description = "Media jobs queue."
  value       = module.messaging.queue_name
}

output "dlq_name" {
  description = "Dead-letter queue of the media jobs."
  value       = module.messaging.dlq_name
}

output "redis_host" {
  description = "Separate Redis host, if any."
  value       = module.cache.redis_host
}

output "grafana_url" {
  description = "Cockpit Grafana: log in with your Scaleway account (IAM; the project's Cockpit permissions decide the role)."
  value       = module.observability.grafana_url
}

output "database_url" {
  description = "DATABASE_URL of the application user (private network only)."
  value       = module.database.database_url
  sensitive   = true
}

output "metrics_source_url" {
  description = "Cockpit custom metrics source (mimirtool --address when loading alert-rules.yaml)."
  value       = module.observability.metrics_source_url
}

output "alert_rules_token" {
  description = "Cockpit token allowed to load alert rules (enable_alerts only)."
  value       = module.observability.rules_token
  sensitive   = true
}

output "kubernetes_kubeconfig" {
  description = "Kubeconfig of the Kapsule cluster (scenario 9; null otherwise)."
  value       = module.kubernetes.kubeconfig
  sensitive   = true
}

# Scenario 9: every value deploy/k8s's Secret `ciel-env` holds, by key (the
# manifests read each with secretKeyRef). terraform/README.md, scenario 9:
#   terraform output -json stack | jq '{apiVersion: "v1", kind: "Secret",
#     metadata: {name: "ciel-env", namespace: "ciel"}, stringData: .kubernetes_env}' | kubectl apply -f -
output "kubernetes_env" {
  description = "Keys and values of the Kubernetes Secret ciel-env (scenario 9; null otherwise)."
  sensitive   = true
  value = var.enable_kubernetes ? merge({
    DATABASE_URL            = module.database.database_url
    S3_ENDPOINT             = module.storage.s3_endpoint
    S3_REGION               = var.region
    S3_BUCKET               = module.storage.bucket_name
    S3_PUBLIC_ENDPOINT      = module.storage.s3_public_endpoint == null ? "" : module.storage.s3_public_endpoint
    QUEUE_ENDPOINT          = module.messaging.queue_endpoint
    QUEUE_NAME              = module.messaging.queue_name
    QUEUE_DEAD_LETTER_NAME  = module.messaging.dlq_name
    QUEUE_ACCESS_KEY_ID     = module.messaging.publish_access_key
    QUEUE_SECRET_ACCESS_KEY = module.messaging.publish_secret_key
    # The optional in-cluster worker (deploy/k8s/components/worker) receives.
    QUEUE_RECEIVE_ACCESS_KEY_ID     = module.messaging.receive_access_key
    QUEUE_RECEIVE_SECRET_ACCESS_KEY = module.messaging.receive_secret_key
    AWS_ACCESS_KEY_ID               = module.storage.s3_access_key
    AWS_SECRET_ACCESS_KEY           = module.storage.s3_secret_key
    PASETO_ACCESS_KEY               = module.secrets.paseto_access_key
    PASETO_REFRESH_KEY              = module.secrets.paseto_refresh_key
    ADMIN_TOKEN                     = module.secrets.admin_token
    # The in-cluster Redis (deploy/k8s/base/redis.yaml) or the managed one.
    REDIS_PASSWORD = module.secrets.redis_password
    REDIS_URL = module.cache.enabled ? module.cache.redis_url : (
      "redis://:${urlencode(module.secrets.redis_password)}@redis:6379/"
    )
    # The managed Redis's certificate (deploy/k8s/components/managed-redis).
    # Not coalesce(x, ""): Terraform's coalesce fails when every argument is
    # null or empty. An empty value is an unset variable to the app.
    REDIS_CA_PEM = module.cache.redis_ca_cert == null ? "" : module.cache.redis_ca_cert
    # Bounces (enable_mail_bounces): empty leaves /v1/mail/sns off.
    SNS_TOPIC_ARN       = local.mail_bounces ? module.mail.events_topic_arn : ""
    SNS_TRUST_CHAIN_PEM = local.mail_bounces ? var.mail_sns_trust_chain_pem : ""
    SNS_CERT_URL_PREFIX = local.mail_bounces && var.mail_sns_cert_url_prefix != null ? var.mail_sns_cert_url_prefix : ""
    # The in-cluster worker's account mail (empty: mail off).
    SMTP_URL          = local.mail_enabled ? module.mail.smtp_url : ""
    MAIL_FROM         = local.mail_enabled ? local.mail_from : ""
    APP_LINK_BASE_URL = local.mail_enabled ? local.app_link_base_url : ""
  }, module.database.database_read_url == null ? {} : { DATABASE_READ_URL = module.database.database_read_url }) : null
}
