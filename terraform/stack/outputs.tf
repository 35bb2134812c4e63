output "api_url" {
  description = "Base URL of the API: the instances' LB's HTTPS name, else the cluster's (scenario 9), else the gateway's forwarded port or the combined instance's IP."
  value = var.enable_load_balancer ? "https://${module.networking.lb_hostname}" : (
    var.enable_kubernetes ? "https://${module.networking.kubernetes_lb.hostname}" : (
      local.api_port_forward ? module.networking.api_port_forward_url : (
        module.compute.api_public_ip == null ? null : "http://${module.compute.api_public_ip}:8080"
      )
    )
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
  description = "Public IP of the SSH bastion (the gateway's), or null."
  value       = module.networking.bastion_public_ip
}

output "ssh_jump" {
  description = "ssh -J value reaching the hosts' private IPs (bastion@<gateway ip>:61000), or null without a bastion."
  value       = module.networking.ssh_jump
}

output "kubernetes_lb" {
  description = "Scenario 9: the LB handed to the cloud controller (id, certificate_id: the Service's annotations; ip, hostname), or null."
  value       = module.networking.kubernetes_lb
}

# Scenario 9: the image pull secret (type kubernetes.io/dockerconfigjson,
# name ciel-registry) with the read-only registry key.
output "kubernetes_registry_auth" {
  description = "Scenario 9: .dockerconfigjson of the Secret ciel-registry (the read-only registry key), or null."
  sensitive   = true
  value = var.enable_kubernetes ? jsonencode({
    auths = {
      (split("/", module.compute.registry_endpoint)[0]) = {
        username = "nologin"
        password = module.compute.registry_pull_secret_key
        auth     = base64encode("nologin:${module.compute.registry_pull_secret_key}")
      }
    }
  }) : null
}

output "lb_backend_id" {
  description = "The LB's API backend (<zone>/<id>), which scripts/roll drains each host from (LB_BACKEND); null without the LB."
  value       = module.networking.lb_backend_id
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
    # The queue's visibility timeout, the only extension Scaleway allows.
    WORKER_VISIBILITY_TIMEOUT_SECS = tostring(module.messaging.visibility_timeout_seconds)
    AWS_ACCESS_KEY_ID              = module.storage.s3_access_key
    AWS_SECRET_ACCESS_KEY          = module.storage.s3_secret_key
    PASETO_ACCESS_KEY              = module.secrets.paseto_access_key
    PASETO_REFRESH_KEY             = module.secrets.paseto_refresh_key
    PASETO_ACCESS_KEY_PREVIOUS     = var.paseto_access_key_previous == null ? "" : var.paseto_access_key_previous
    PASETO_REFRESH_KEY_PREVIOUS    = var.paseto_refresh_key_previous == null ? "" : var.paseto_refresh_key_previous
    # The API's alone (moderation); the pods and the scraper (alloy.yaml)
    # present METRICS_TOKEN at /metrics.
    ADMIN_TOKEN   = module.secrets.admin_token
    METRICS_TOKEN = module.secrets.metrics_token
    # With the CDN (empty without: the API then reads neither).
    CDN_PIPELINE_ID      = var.enable_cdn ? module.storage.cdn_pipeline_id : ""
    CDN_PURGE_SECRET_KEY = var.enable_cdn ? module.storage.cdn_purge_secret_key : ""
    SIGNUP_MODE          = var.signup_mode
    # The LB reaches the pods from the nodes (the private network) or the
    # pod network (Kapsule's default pod CIDR): who may set X-Forwarded-For.
    TRUSTED_PROXIES = "${module.networking.private_network_cidr},100.64.0.0/15"
    # The in-cluster Alloy (deploy/k8s/base/alloy.yaml) pushes to Cockpit.
    METRICS_PUSH_URL   = module.observability.metrics_push_url
    METRICS_PUSH_TOKEN = module.observability.metrics_push_token
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
    # The in-cluster worker's push credentials (empty: pushes dropped unsent).
    PUSH_APNS_KEY            = lookup(module.secrets.push_env, "PUSH_APNS_KEY", "")
    PUSH_APNS_KEY_ID         = lookup(module.secrets.push_env, "PUSH_APNS_KEY_ID", "")
    PUSH_APNS_TEAM_ID        = lookup(module.secrets.push_env, "PUSH_APNS_TEAM_ID", "")
    PUSH_APNS_TOPIC          = lookup(module.secrets.push_env, "PUSH_APNS_TOPIC", "")
    PUSH_FCM_SERVICE_ACCOUNT = lookup(module.secrets.push_env, "PUSH_FCM_SERVICE_ACCOUNT", "")
  }, module.database.database_read_url == null ? {} : { DATABASE_READ_URL = module.database.database_read_url }) : null
}
