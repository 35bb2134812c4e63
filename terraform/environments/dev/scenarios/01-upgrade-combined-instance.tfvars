# Scenario 1: Upgrade Combined Instance (more CPU/RAM)
# When: API response times degrade under load, Redis memory pressure.
# Cost delta: +€19/mo (DEV1-L is ~€38/mo vs DEV1-M at ~€19/mo)
combined_instance_type      = "DEV1-L" # was DEV1-M — 4 vCPU, 8GB
embedded_redis_maxmemory_mb = 1024     # was 512
