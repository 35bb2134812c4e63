# Scenario 8: Production-Ready (Full Split)
# When: Moving to production with 10K+ users.
# Estimated cost: ~€200-250/month

# networking
enable_load_balancer = true
enable_bastion       = false # or true for SSH debugging

# compute
enable_combined_mode        = false
api_instance_count          = 2
api_instance_type           = "DEV1-M"
enable_serverless_worker    = true
serverless_worker_max_scale = 10

# database
db_node_type      = "DB-PRO2-XXS"
enable_ha         = true
volume_size_in_gb = 20

# cache
enabled                 = true
use_managed_redis       = true
managed_redis_node_type = "RED1-micro"

# storage
enable_cdn = true

# observability
enable_alerts = true
