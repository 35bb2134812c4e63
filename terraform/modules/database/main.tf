resource "scaleway_rdb_instance" "this" {
  name               = "${var.name_prefix}-pg"
  region             = var.region
  engine             = "PostgreSQL-16"
  node_type          = var.db_node_type
  is_ha_cluster      = var.enable_ha
  volume_type        = var.volume_type
  volume_size_in_gb  = var.volume_size_in_gb
  user_name          = var.admin_user_name
  password           = var.admin_password
  encryption_at_rest = true
  settings           = var.settings
  tags               = concat(var.tags, ["ciel", var.name_prefix])

  disable_backup            = false
  backup_schedule_frequency = 24
  backup_schedule_retention = var.backup_retention_days
  backup_same_region        = false

  # Private network only: without a load_balancer block no public endpoint is created.
  private_network {
    pn_id       = var.private_network_id
    enable_ipam = true
  }
}

resource "scaleway_rdb_database" "ciel" {
  instance_id = scaleway_rdb_instance.this.id
  name        = var.database_name
  region      = var.region
}

resource "scaleway_rdb_user" "app" {
  instance_id = scaleway_rdb_instance.this.id
  name        = var.app_user_name
  password    = var.app_password
  is_admin    = false
  region      = var.region
}

# The application runs its own migrations (`ciel migrate`), so it needs DDL on
# its database: "all" on the ciel database only, nothing on other databases,
# and no admin role.
resource "scaleway_rdb_privilege" "app" {
  instance_id   = scaleway_rdb_instance.this.id
  user_name     = scaleway_rdb_user.app.name
  database_name = scaleway_rdb_database.ciel.name
  permission    = "all"
  region        = var.region
}

resource "scaleway_rdb_read_replica" "this" {
  count = var.read_replica_count

  instance_id = scaleway_rdb_instance.this.id
  region      = var.region
  same_zone   = false

  private_network {
    private_network_id = var.private_network_id
    enable_ipam        = true
  }
}

locals {
  host = scaleway_rdb_instance.this.private_network[0].ip
  port = scaleway_rdb_instance.this.private_network[0].port

  replica_host = try(scaleway_rdb_read_replica.this[0].private_network[0].ip, null)
  replica_port = try(scaleway_rdb_read_replica.this[0].private_network[0].port, null)
}
