# Scenario 2: Split API and Redis to Separate Instances
# When: Redis and API compete for resources, or you want independent scaling.
# The environment wires module.cache.redis_host / redis_port into the compute module.
# Cost delta: ~+€6/mo (separate DEV1-S for Redis), but frees combined instance resources.

# compute module
enable_combined_mode = false
api_instance_count   = 1
api_instance_type    = "DEV1-S" # or DEV1-M

# cache module
enabled             = true
use_managed_redis   = false # Self-hosted Redis on DEV1-S
redis_instance_type = "DEV1-S"
