output "instance_id" {
  description = "ID of the RDB instance."
  value       = scaleway_rdb_instance.this.id
}

output "host" {
  description = "Private IP of the database endpoint."
  value       = local.host
}

output "port" {
  description = "Port of the private database endpoint."
  value       = local.port
}

output "database_name" {
  description = "Name of the application database."
  value       = scaleway_rdb_database.ciel.name
}

output "database_url" {
  description = "DATABASE_URL for the application user over the private network (TLS required)."
  value       = "postgres://${scaleway_rdb_user.app.name}:${urlencode(var.app_password)}@${local.host}:${local.port}/${scaleway_rdb_database.ciel.name}?sslmode=require"
  sensitive   = true
}

output "database_read_url" {
  description = "DATABASE_READ_URL: the first read replica's private endpoint, same user (null without replicas)."
  value = (var.read_replica_count == 0 ? null :
    "postgres://${scaleway_rdb_user.app.name}:${urlencode(var.app_password)}@${local.replica_host}:${local.replica_port}/${scaleway_rdb_database.ciel.name}?sslmode=require"
  )
  sensitive   = true
}

output "read_replica_ids" {
  description = "IDs of the read replicas."
  value       = scaleway_rdb_read_replica.this[*].id
}
