# Scenario 3: Add Load Balancer + Multiple API Instances
# When: Single API instance can't handle request volume; you need horizontal
# scaling and zero-downtime deploys. API instances are registered with the LB backend.
# Cost delta: +€12/mo (LB) + per-instance cost.

# networking module. The seed says "LB-GP-S", which Scaleway does not
# provision (lb-s, lb-gp-m, lb-gp-l, lb-gp-xl); its +€12/mo is the price of
# the smallest type, LB-S, which is what it meant.
enable_load_balancer = true
lb_type              = "LB-S"

# compute module
enable_combined_mode = false
api_instance_count   = 2 # or 3, 4...
api_instance_type    = "DEV1-M"

# cache module
enabled           = true
use_managed_redis = false
