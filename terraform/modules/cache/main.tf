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

  # volatile-lru: only keys with a TTL are evicted, so revocations (stored
  # without one) survive memory pressure; see README.md.
  settings = {
    "maxmemory-policy" = "volatile-lru"
  }

  # IPAM assigns the service IP; no public endpoint.
  private_network {
    id = var.private_network_id
  }
}

# ------------------------------------------------------- Self-hosted Redis

# Replaced when its cloud-init changes (the provider reads cloud-init only at
# create): Redis keeps nothing on disk, so nothing is lost but the cache.
resource "terraform_data" "redis_cloud_init" {
  count = local.self_hosted ? 1 : 0

  input = sha256(local.redis_cloud_init)
}

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

  user_data = {
    "cloud-init" = local.redis_cloud_init
  }

  lifecycle {
    replace_triggered_by = [terraform_data.redis_cloud_init[count.index]]
  }

  # cloud-init's one-shot apt install needs the gateway's NAT in place.
  depends_on = [terraform_data.gateway_network]
}

resource "terraform_data" "gateway_network" {
  input = var.gateway_network_id
}

locals {
  redis_cloud_init = templatefile("${path.module}/templates/redis-cloud-init.yaml.tftpl", {
    redis_password     = var.redis_password
    redis_maxmemory_mb = var.redis_maxmemory_mb
    redis_image        = var.redis_image
  })

  # IPAM lists an instance's IPv6 address first: Redis binds IPv4 and a URL
  # would need brackets, so take the IPv4 one. The cluster's IPs are IPv4 only.
  ipv4 = {
    cluster  = try([for ip in scaleway_redis_cluster.this[0].private_ips : ip.address if !strcontains(ip.address, ":")][0], null)
    instance = try([for ip in scaleway_instance_server.redis[0].private_ips : ip.address if !strcontains(ip.address, ":")][0], null)
  }
  host = local.managed ? local.ipv4.cluster : (local.self_hosted ? local.ipv4.instance : null)
  port = var.enabled ? 6379 : null
  url = local.managed ? "rediss://${local.user_name}:${urlencode(var.redis_password)}@${coalesce(local.host, "pending")}:6379/" : (
    local.self_hosted ? "redis://:${urlencode(var.redis_password)}@${coalesce(local.host, "pending")}:6379/" : null
  )
}
