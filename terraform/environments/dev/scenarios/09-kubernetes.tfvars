# Scenario 9: Kubernetes Migration (50K+ users)
# When: You need rolling deployments, autoscaling, and service mesh capabilities.
# Kapsule's control plane is free (mutualised); the API and Redis move into
# pods (deploy/k8s) on an autoscaled pool of DEV1-L (or GP1-S) nodes. The
# database, storage, messaging, secrets and the serverless worker stay as
# they are. Migration from scenario 8 without downtime: terraform/README.md.
# Cost delta: the nodes (2x DEV1-L at the minimum) + the Service's LB-S,
# minus the API instances (scripts/cost dev 9).

# kubernetes module
enable_kubernetes    = true
kubernetes_node_type = "DEV1-L" # or GP1-S
kubernetes_min_nodes = 2
kubernetes_max_nodes = 4

# compute module: the API leaves the instances
enable_combined_mode = false
api_instance_count   = 0
