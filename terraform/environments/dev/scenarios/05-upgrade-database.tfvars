# Scenario 5: Upgrade Database
# When: DB connections maxed out, query latency increasing, need HA.
# Cost delta: ~+€63/mo for DB-PRO2-XXS with HA.

# database module
db_node_type       = "DB-PRO2-XXS" # was DB-DEV-S
enable_ha          = true
volume_size_in_gb  = 20
read_replica_count = 1 # optional read replica
