# Scenario 7: Enable CDN for Media
# When: Media requests are high, want to reduce S3 egress and improve latency.
# Cost delta: not given by the seed (Edge Services plan + egress; see terraform/README.md).
# The CDN record needs dns_zone to be set (terraform.tfvars).

# storage module
enable_cdn           = true
cors_allowed_origins = ["https://yourdomain.com"]

# dns module (if using DNS)
enable_cdn_dns = true
cdn_subdomain  = "media"
