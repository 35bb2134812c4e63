locals {
  tags  = concat(var.tags, ["ciel", var.name_prefix])
  image = "${scaleway_registry_namespace.this.endpoint}/${var.image_name}:${var.image_tag}"

  registry_host = split("/", scaleway_registry_namespace.this.endpoint)[0]

  api_count = var.enable_combined_mode ? 0 : var.api_instance_count

  # Combined mode runs Redis next to the API unless a separate Redis is given.
  embedded_redis = var.enable_combined_mode && var.redis_host == null
  # The password is URL-encoded: a user-supplied one may hold @ : / or spaces.
  redis_url = local.embedded_redis ? "redis://:${urlencode(var.redis_password)}@redis:6379/" : (
    var.redis_host == null ? "" : "${var.redis_tls ? "rediss" : "redis"}://${var.redis_username == null ? "" : urlencode(var.redis_username)}:${urlencode(var.redis_password)}@${var.redis_host}:${var.redis_port}/"
  )

  http_addr = "0.0.0.0:8080"

  # Docker env files hold one line per variable, so a PEM goes in a file
  # mounted into the container, and the variable names it.
  redis_ca_cert_path   = "/etc/ciel/redis-ca.pem"
  sns_trust_chain_path = "/etc/ciel/sns-trust-chain.pem"
  api_pem_files = merge(
    var.redis_ca_cert != null ? { (local.redis_ca_cert_path) = var.redis_ca_cert } : {},
    local.mail_bounces ? { (local.sns_trust_chain_path) = var.sns_trust_chain_pem } : {},
  )

  # Bounces: the API serves /v1/mail/sns for this topic only, and trusts
  # signing certificates issued by Scaleway's Topics and Events CA. Keyed on
  # the PEM, a variable, since the topic's ARN is only known after its
  # creation: which files a host gets is then known at plan time.
  mail_bounces = var.sns_trust_chain_pem != null

  # Environment of the API (combined and API instances): every row of the
  # seed's mapping marked "API only" or "Both", plus the optional settings.
  api_env = merge({
    APP_MODE                 = "api"
    DATABASE_URL             = var.database_url
    REDIS_URL                = local.redis_url
    S3_ENDPOINT              = var.s3_endpoint
    S3_REGION                = var.region
    S3_BUCKET                = var.s3_bucket
    S3_PUBLIC_ENDPOINT       = var.s3_public_endpoint
    QUEUE_ENDPOINT           = var.queue_endpoint
    QUEUE_NAME               = var.queue_name
    QUEUE_DEAD_LETTER_NAME   = var.dlq_name
    QUEUE_ACCESS_KEY_ID      = var.queue_publish_access_key
    QUEUE_SECRET_ACCESS_KEY  = var.queue_publish_secret_key
    AWS_ACCESS_KEY_ID        = var.s3_access_key
    AWS_SECRET_ACCESS_KEY    = var.s3_secret_key
    PASETO_ACCESS_KEY        = var.paseto_access_key
    PASETO_REFRESH_KEY       = var.paseto_refresh_key
    HTTP_ADDR                = local.http_addr
    RUST_LOG                 = var.rust_log
    LOG_FORMAT               = var.log_format
    SIGNUP_MODE              = var.signup_mode
    ADMIN_TOKEN              = var.admin_token
    METRICS_TOKEN            = var.metrics_token
    DATABASE_MAX_CONNECTIONS = tostring(var.database_max_connections)
    }, var.behind_load_balancer ? { TRUSTED_PROXIES = var.private_network_cidr } : {},
    # With the CDN the API hands out CDN URLs, and refuses to start unless it
    # can purge what it deletes or withholds from the CDN's cache.
    var.enable_cdn ? { CDN_PIPELINE_ID = var.cdn_pipeline_id, CDN_PURGE_SECRET_KEY = var.cdn_purge_secret_key } : {},
    var.redis_ca_cert != null ? { REDIS_CA_CERT = local.redis_ca_cert_path } : {},
    local.mail_bounces ? { SNS_TOPIC_ARN = var.sns_topic_arn, SNS_TRUST_CHAIN = local.sns_trust_chain_path } : {},
    local.mail_bounces && var.sns_cert_url_prefix != null ? { SNS_CERT_URL_PREFIX = var.sns_cert_url_prefix } : {},
    var.database_read_url != null ? { DATABASE_READ_URL = var.database_read_url } : {},
    var.paseto_access_key_previous != null ? { PASETO_ACCESS_KEY_PREVIOUS = var.paseto_access_key_previous } : {},
  var.paseto_refresh_key_previous != null ? { PASETO_REFRESH_KEY_PREVIOUS = var.paseto_refresh_key_previous } : {})

  # Long-polling worker instances: DB + S3 + SQS receive credentials.
  worker_env = merge({
    APP_MODE                 = "worker"
    DATABASE_URL             = var.database_url
    S3_ENDPOINT              = var.s3_endpoint
    S3_REGION                = var.region
    S3_BUCKET                = var.s3_bucket
    AWS_ACCESS_KEY_ID        = var.s3_access_key
    AWS_SECRET_ACCESS_KEY    = var.s3_secret_key
    QUEUE_ENDPOINT           = var.queue_endpoint
    QUEUE_NAME               = var.queue_name
    QUEUE_DEAD_LETTER_NAME   = var.dlq_name
    QUEUE_ACCESS_KEY_ID      = var.queue_receive_access_key
    QUEUE_SECRET_ACCESS_KEY  = var.queue_receive_secret_key
    HTTP_ADDR                = local.http_addr
    RUST_LOG                 = var.rust_log
    LOG_FORMAT               = var.log_format
    WORKER_CONCURRENCY       = tostring(var.worker_concurrency)
    WORKER_MEMORY_BUDGET_MB  = tostring(var.worker_memory_budget_mb)
    DATABASE_MAX_CONNECTIONS = tostring(var.database_max_connections)
    # /metrics asks for it (no ADMIN_TOKEN on a worker: moderation is the API's).
    METRICS_TOKEN = var.metrics_token
    # The queue's own: Scaleway extends a message's visibility only by 0 or
    # that value, and the worker then leaves it out of its receives.
    WORKER_VISIBILITY_TIMEOUT_SECS = tostring(var.queue_visibility_timeout_seconds)
  }, local.mail_env, var.push_env)

  # Account mail: only the workers send it (the API queues send_mail jobs).
  mail_env = var.enable_mail ? {
    SMTP_URL          = var.smtp_url
    MAIL_FROM         = var.mail_from
    APP_LINK_BASE_URL = var.app_link_base_url
  } : {}
}

# What each kind of host runs at boot. templatefile() sees exactly these
# values; the tests render the template with them for every environment.
# The image is not among the host values: a host is replaced when its
# configuration changes, never for a new image, which scripts/roll deploys
# onto the running hosts one at a time (each drained first).
locals {
  app_template = "${path.module}/templates/app-cloud-init.yaml.tftpl"
  # Stands for the image in the render whose hash triggers a replacement.
  image_placeholder = "IMAGE"
  api_host_vars = {
    env                 = local.api_env
    registry_host       = local.registry_host
    registry_secret_key = scaleway_iam_api_key.registry_pull.secret_key
    publish_port        = true
    redis_password      = var.redis_password
    pem_files           = local.api_pem_files
    metrics_push_url    = var.metrics_push_url
    metrics_push_token  = var.metrics_push_token
    metrics_token       = var.metrics_token
    redis_image         = var.redis_image
    alloy_image         = var.alloy_image
  }
  combined_host_vars = merge(local.api_host_vars, {
    run_migrations     = true
    embedded_redis     = local.embedded_redis
    redis_maxmemory_mb = var.embedded_redis_maxmemory_mb
  })
  # Only the first API instance migrates.
  api_host_vars_each = [for i in range(local.api_count) : merge(local.api_host_vars, {
    run_migrations     = i == 0
    embedded_redis     = false
    redis_maxmemory_mb = 0
  })]
  worker_host_vars = merge(local.api_host_vars, {
    env                = local.worker_env
    run_migrations     = false
    publish_port       = false
    embedded_redis     = false
    redis_maxmemory_mb = 0
    pem_files          = {}
    metrics_push_url   = null
    metrics_push_token = null
  })

  combined_cloud_init = templatefile(local.app_template, merge(local.combined_host_vars, { image = local.image }))
  api_cloud_init      = [for i in range(local.api_count) : templatefile(local.app_template, merge(local.api_host_vars_each[i], { image = local.image }))]
  worker_cloud_init   = templatefile(local.app_template, merge(local.worker_host_vars, { image = local.image }))

  # What replaces a host: its configuration, rendered with a fixed image.
  combined_config_hash = sha256(templatefile(local.app_template, merge(local.combined_host_vars, { image = local.image_placeholder })))
  api_config_hash      = [for i in range(local.api_count) : sha256(templatefile(local.app_template, merge(local.api_host_vars_each[i], { image = local.image_placeholder })))]
  worker_config_hash   = sha256(templatefile(local.app_template, merge(local.worker_host_vars, { image = local.image_placeholder })))
}

# ---------------------------------------------------------------- Registry

resource "scaleway_registry_namespace" "this" {
  name        = var.registry_namespace_name
  description = "Ciel application images"
  region      = var.region
  is_public   = false
}

# Instances pull the private image with a read-only registry key.
resource "scaleway_iam_application" "registry_pull" {
  name        = "${var.name_prefix}-registry-pull"
  description = "Ciel instances: pull images from ${var.registry_namespace_name}"
}

resource "scaleway_iam_policy" "registry_pull" {
  name           = "${var.name_prefix}-registry-pull"
  description    = "Read-only access to the container registry"
  application_id = scaleway_iam_application.registry_pull.id

  rule {
    project_ids          = [var.project_id]
    permission_set_names = ["ContainerRegistryReadOnly"]
  }
}

resource "scaleway_iam_api_key" "registry_pull" {
  application_id     = scaleway_iam_application.registry_pull.id
  description        = "docker login on Ciel instances"
  default_project_id = var.project_id
}

# -------------------------------------------------------- Combined instance

# Hosts boot into cloud-init's one-shot `apt install docker.io`, which needs
# the gateway's NAT in place (a module-level depends_on would make a cycle
# with the LB, which takes the hosts' IPs).
resource "terraform_data" "gateway_network" {
  input = var.gateway_network_id
}

# A public IP only without the gateway: with it, the gateway's default route
# would carry the replies away from that IP (the gateway forwards the port).
resource "scaleway_instance_ip" "combined" {
  count = var.enable_combined_mode && !var.behind_load_balancer && !var.enable_public_gateway ? 1 : 0

  zone = var.zone
  tags = local.tags
}

# The provider reads `cloud_init` only at create and updates `user_data` in
# place without re-running it, so an instance is replaced whenever its
# configuration changes (nothing but the embedded Redis, a cache, lives on
# it). user_data's later changes are ignored: they are image changes, which
# scripts/roll deploys, or configuration changes, which the hash replaces.
resource "terraform_data" "combined_cloud_init" {
  count = var.enable_combined_mode ? 1 : 0

  input = local.combined_config_hash
}

resource "scaleway_instance_server" "combined" {
  count = var.enable_combined_mode ? 1 : 0

  name              = "${var.name_prefix}-combined"
  type              = var.combined_instance_type
  image             = "ubuntu_noble"
  zone              = var.zone
  ip_id             = try(scaleway_instance_ip.combined[0].id, null)
  security_group_id = var.api_security_group_id
  tags              = concat(local.tags, ["api", "combined"])

  private_network {
    pn_id = var.private_network_id
  }

  user_data = {
    "cloud-init" = local.combined_cloud_init
  }

  lifecycle {
    replace_triggered_by = [terraform_data.combined_cloud_init[count.index]]
    ignore_changes       = [user_data]
  }

  depends_on = [terraform_data.gateway_network]
}

# ------------------------------------------------------------ API instances

resource "scaleway_instance_ip" "api" {
  count = var.behind_load_balancer || var.enable_public_gateway ? 0 : local.api_count

  zone = var.zone
  tags = local.tags
}

resource "terraform_data" "api_cloud_init" {
  count = local.api_count

  input = local.api_config_hash[count.index]
}

resource "scaleway_instance_server" "api" {
  count = local.api_count

  name              = "${var.name_prefix}-api-${count.index + 1}"
  type              = var.api_instance_type
  image             = "ubuntu_noble"
  zone              = var.zone
  ip_id             = try(scaleway_instance_ip.api[count.index].id, null)
  security_group_id = var.api_security_group_id
  tags              = concat(local.tags, ["api"])

  private_network {
    pn_id = var.private_network_id
  }

  user_data = {
    "cloud-init" = local.api_cloud_init[count.index]
  }

  lifecycle {
    replace_triggered_by = [terraform_data.api_cloud_init[count.index]]
    ignore_changes       = [user_data]
    # Behind the LB, the successor joins the backend before the old host
    # goes (scripts/roll --replace takes them one at a time).
    create_before_destroy = true

    precondition {
      condition     = var.redis_host != null
      error_message = "Split mode (enable_combined_mode = false) needs a separate Redis: set enabled = true (cache module) so redis_host/redis_port are wired."
    }
  }

  depends_on = [terraform_data.gateway_network]
}

# --------------------------------------------------------- Worker instances

resource "terraform_data" "worker_cloud_init" {
  count = var.worker_instance_count

  input = local.worker_config_hash
}

resource "scaleway_instance_server" "worker" {
  count = var.worker_instance_count

  name              = "${var.name_prefix}-worker-${count.index + 1}"
  type              = var.worker_instance_type
  image             = "ubuntu_noble"
  zone              = var.zone
  security_group_id = var.worker_security_group_id
  tags              = concat(local.tags, ["worker"])

  # No public IP: outbound through the public gateway.
  private_network {
    pn_id = var.private_network_id
  }

  user_data = {
    "cloud-init" = local.worker_cloud_init
  }

  lifecycle {
    replace_triggered_by = [terraform_data.worker_cloud_init[count.index]]
    ignore_changes       = [user_data]
  }

  # No public IP: cloud-init's apt install needs the gateway's NAT.
  depends_on = [terraform_data.gateway_network]
}

# -------------------------------------------------------- Serverless worker

locals {
  # The SQS trigger POSTs a message up to 3 times while the container answers
  # >= 300, and keeps at most 10 requests in flight (Scaleway's documented
  # limits). Concurrency per instance is chosen so that max_scale instances
  # together take the trigger's 10 requests, never more than WORKER_CONCURRENCY.
  trigger_attempts       = 3
  trigger_margin_seconds = 60
  trigger_max_in_flight  = 10
  serverless_concurrency = max(1, min(var.worker_concurrency, floor(local.trigger_max_in_flight / var.serverless_worker_max_scale)))
}

resource "scaleway_container_namespace" "this" {
  count = var.enable_serverless_worker ? 1 : 0

  name        = "${var.name_prefix}-workers"
  description = "Ciel serverless media processing"
  region      = var.region
  tags        = local.tags
}

resource "scaleway_container" "media_processor" {
  count = var.enable_serverless_worker ? 1 : 0

  name               = "media-processor"
  description        = "Ciel media worker (APP_MODE=serverless-worker), fed by the SQS trigger"
  namespace_id       = scaleway_container_namespace.this[0].id
  region             = var.region
  image              = local.image
  port               = 8080
  protocol           = "http1"
  privacy            = "private"
  cpu_limit          = var.serverless_worker_cpu
  memory_limit_bytes = var.serverless_worker_memory * 1000 * 1000
  min_scale          = var.serverless_worker_min_scale
  max_scale          = var.serverless_worker_max_scale
  timeout            = var.serverless_worker_timeout_seconds
  private_network_id = var.private_network_id
  tags               = local.tags

  # Three quarters of the container's memory for images; the rest is the process.
  environment_variables = merge({
    APP_MODE                = "serverless-worker"
    RUST_LOG                = var.rust_log
    LOG_FORMAT              = var.log_format
    HTTP_ADDR               = local.http_addr
    WORKER_CONCURRENCY      = tostring(local.serverless_concurrency)
    WORKER_MEMORY_BUDGET_MB = tostring(floor(var.serverless_worker_memory * 3 / 4))
    # The job's whole life, waiting for a slot included, ends with the request.
    WORKER_REQUEST_TIMEOUT_SECS = tostring(var.serverless_worker_timeout_seconds)
    }, var.enable_mail ? {
    MAIL_FROM         = var.mail_from
    APP_LINK_BASE_URL = var.app_link_base_url
  } : {})

  # DB + S3 (and /metrics' token) only: no REDIS_URL, QUEUE_*, PASETO_* or
  # ADMIN_TOKEN in serverless-worker mode. Push credentials (PUSH_*) first:
  # nothing of theirs can shadow the rest.
  secret_environment_variables = merge(var.push_env, {
    METRICS_TOKEN         = var.metrics_token
    DATABASE_URL          = var.database_url
    S3_ENDPOINT           = var.s3_endpoint
    S3_REGION             = var.region
    S3_BUCKET             = var.s3_bucket
    AWS_ACCESS_KEY_ID     = var.s3_access_key
    AWS_SECRET_ACCESS_KEY = var.s3_secret_key
  }, var.enable_mail ? { SMTP_URL = var.smtp_url } : {})

  # A new instance starts once WORKER_CONCURRENCY jobs are in flight.
  scaling_option {
    concurrent_requests_threshold = local.serverless_concurrency
  }

  liveness_probe {
    failure_threshold = 3
    interval          = "10s"
    timeout           = "5s"

    http {
      path = "/health"
    }
  }

  lifecycle {
    precondition {
      condition     = local.trigger_attempts * var.serverless_worker_timeout_seconds + local.trigger_margin_seconds <= var.queue_visibility_timeout_seconds
      error_message = "The queue's visibility timeout must cover the SQS trigger's worst case: 3 attempts x serverless_worker_timeout_seconds + 60 s, or a job still being retried is delivered again."
    }
  }
}

resource "scaleway_container_trigger" "media_jobs" {
  count = var.enable_serverless_worker ? 1 : 0

  name         = "${var.name_prefix}-media-jobs"
  description  = "POST every ciel-media-jobs message body to the media processor"
  container_id = scaleway_container.media_processor[0].id
  region       = var.region

  sqs {
    endpoint   = var.queue_endpoint
    queue_url  = var.queue_url
    access_key = var.queue_receive_access_key
    secret_key = var.queue_receive_secret_key
    region     = var.region
  }

  destination_config {
    http_method = "post"
    http_path   = "/"
  }
}

# Jobs the queue gave up on (max receive count reached) come back here, so
# their photos are marked failed instead of staying `processing`.
resource "scaleway_container_trigger" "media_dead_letters" {
  count = var.enable_serverless_worker ? 1 : 0

  name         = "${var.name_prefix}-media-dead-letters"
  description  = "POST every dead-lettered media job to the media processor's /dead-letters"
  container_id = scaleway_container.media_processor[0].id
  region       = var.region

  sqs {
    endpoint   = var.queue_endpoint
    queue_url  = var.dlq_url
    access_key = var.queue_receive_access_key
    secret_key = var.queue_receive_secret_key
    region     = var.region
  }

  destination_config {
    http_method = "post"
    http_path   = "/dead-letters"
  }
}
