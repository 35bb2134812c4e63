# Scenario 6: Scale Serverless Worker
# When: Media processing queue is backing up.
# Cost delta: Minimal — serverless billing is per-invocation. Higher max_scale
# just allows more concurrency.

# compute module
serverless_worker_cpu       = 2000 # was 1000 (2 vCPU)
serverless_worker_memory    = 1024 # was 512 (1GB)
serverless_worker_max_scale = 10   # was 3
