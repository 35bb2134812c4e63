# Scenario 4: Upgrade to Managed Redis
# When: You need HA Redis, TLS, or don't want to manage Redis yourself.
# Cost delta: ~+€35/mo for RED1-micro (replaces self-hosted DEV1-S).

# cache module
enabled                 = true
use_managed_redis       = true
managed_redis_node_type = "RED1-micro" # or RED1-S, RED1-M
