locals {
  managed     = var.enabled && var.use_managed_redis
  self_hosted = var.enabled && !var.use_managed_redis
  tags        = concat(var.tags, ["ciel", var.name_prefix, "redis"])
  user_name   = "ciel"
}

# ----------------------------------------------------------- Managed Redis

resource "scaleway_redis_cluster" "this" {
  count = local.managed ? 1 : 0

  name         = "${var.name_prefix}-redis"
  zone         = var.zone
  version      = var.managed_redis_version
  node_type    = var.managed_redis_node_type
  user_name    = local.user_name
  password     = var.redis_password
  cluster_size = 1
  tls_enabled  = true
  tags         = local.tags

  settings = {
    "maxmemory-policy" = "allkeys-lru"
  }

  # IPAM assigns the service IP; no public endpoint.
  private_network {
    id = var.private_network_id
  }
}

# ------------------------------------------------------- Self-hosted Redis

resource "scaleway_instance_server" "redis" {
  count = local.self_hosted ? 1 : 0

  name              = "${var.name_prefix}-redis"
  type              = var.redis_instance_type
  image             = "ubuntu_noble"
  zone              = var.zone
  security_group_id = var.security_group_id
  tags              = local.tags

  # No public IP: reachable on the private network only; outbound goes
  # through the public gateway (default route pushed by IPAM).
  private_network {
    pn_id = var.private_network_id
  }

  cloud_init = templatefile("${path.module}/templates/redis-cloud-init.yaml.tftpl", {
    redis_password     = var.redis_password
    redis_maxmemory_mb = var.redis_maxmemory_mb
  })
}

locals {
  host = local.managed ? try(scaleway_redis_cluster.this[0].private_ips[0].address, null) : (
    local.self_hosted ? try(scaleway_instance_server.redis[0].private_ips[0].address, null) : null
  )
  port = var.enabled ? 6379 : null
  url = local.managed ? "rediss://${local.user_name}:${var.redis_password}@${coalesce(local.host, "pending")}:6379/" : (
    local.self_hosted ? "redis://:${var.redis_password}@${coalesce(local.host, "pending")}:6379/" : null
  )
}
