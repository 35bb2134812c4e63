# Passwords: URL-safe specials only, so they can be embedded in DATABASE_URL /
# REDIS_URL and env files without escaping, while meeting Scaleway's policy
# (upper, lower, digit and special character).
resource "random_password" "db_admin" {
  count = var.db_admin_password == null ? 1 : 0

  length           = 32
  special          = true
  override_special = "-_."
  min_upper        = 1
  min_lower        = 1
  min_numeric      = 1
  min_special      = 1
}

resource "random_password" "db_app" {
  count = var.db_password == null ? 1 : 0

  length           = 32
  special          = true
  override_special = "-_."
  min_upper        = 1
  min_lower        = 1
  min_numeric      = 1
  min_special      = 1
}

resource "random_password" "redis" {
  count = var.redis_password == null ? 1 : 0

  length           = 32
  special          = true
  override_special = "-_."
  min_upper        = 1
  min_lower        = 1
  min_numeric      = 1
  min_special      = 1
}

resource "random_password" "admin_token" {
  count = var.admin_token == null ? 1 : 0

  length  = 48
  special = false
}

# The scrapers' credential for /metrics (API, workers, serverless worker):
# never the admin token, which stays with the API alone.
resource "random_password" "metrics_token" {
  count = var.metrics_token == null ? 1 : 0

  length  = 48
  special = false
}

# PASETO v4.local keys: exactly 32 random bytes, base64 (standard alphabet).
resource "random_bytes" "paseto_access" {
  length = 32
}

resource "random_bytes" "paseto_refresh" {
  length = 32
}

locals {
  values = {
    # A key given as an input wins, so a rotation made in the tfvars is what
    # every host and Secret Manager get, and no later apply reverts it.
    "paseto-access-key"  = coalesce(var.paseto_access_key, random_bytes.paseto_access.base64)
    "paseto-refresh-key" = coalesce(var.paseto_refresh_key, random_bytes.paseto_refresh.base64)
    "admin-token"        = coalesce(var.admin_token, try(random_password.admin_token[0].result, null))
    "metrics-token"      = coalesce(var.metrics_token, try(random_password.metrics_token[0].result, null))
    "db-admin-password"  = coalesce(var.db_admin_password, try(random_password.db_admin[0].result, null))
    "db-password"        = coalesce(var.db_password, try(random_password.db_app[0].result, null))
    "redis-password"     = coalesce(var.redis_password, try(random_password.redis[0].result, null))
  }
  descriptions = {
    "paseto-access-key"  = "PASETO_ACCESS_KEY: base64 of 32 random bytes"
    "paseto-refresh-key" = "PASETO_REFRESH_KEY: base64 of 32 random bytes"
    "admin-token"        = "ADMIN_TOKEN: the moderation routes (X-Admin-Token), the API only"
    "metrics-token"      = "METRICS_TOKEN: bearer token of GET /metrics in every mode, held by the scrapers"
    "db-admin-password"  = "PostgreSQL admin user password"
    "db-password"        = "PostgreSQL application user (ciel_app) password"
    "redis-password"     = "Redis password"
  }
}

resource "scaleway_secret" "this" {
  for_each = local.descriptions

  name        = each.key
  path        = "/${var.name_prefix}"
  description = each.value
  region      = var.region
  tags        = concat(var.tags, ["ciel", var.name_prefix])
}

resource "scaleway_secret_version" "this" {
  for_each = local.descriptions

  secret_id   = scaleway_secret.this[each.key].id
  region      = var.region
  data        = local.values[each.key]
  description = "managed by terraform"
}

# Push credentials: only those given. Whether each is set is not secret,
# its value is.
locals {
  push_apns = nonsensitive(var.push_apns_key != null)
  push_fcm  = nonsensitive(var.push_fcm_service_account != null)
  push_values = merge(local.push_apns ? {
    "push-apns-key"     = var.push_apns_key
    "push-apns-key-id"  = var.push_apns_key_id
    "push-apns-team-id" = var.push_apns_team_id
    "push-apns-topic"   = var.push_apns_topic
    } : {}, local.push_fcm ? {
    "push-fcm-service-account" = var.push_fcm_service_account
  } : {})
  push_env_names = {
    "push-apns-key"            = "PUSH_APNS_KEY"
    "push-apns-key-id"         = "PUSH_APNS_KEY_ID"
    "push-apns-team-id"        = "PUSH_APNS_TEAM_ID"
    "push-apns-topic"          = "PUSH_APNS_TOPIC"
    "push-fcm-service-account" = "PUSH_FCM_SERVICE_ACCOUNT"
  }
  push_names = { for name in concat(
    local.push_apns ? ["push-apns-key", "push-apns-key-id", "push-apns-team-id", "push-apns-topic"] : [],
    local.push_fcm ? ["push-fcm-service-account"] : [],
  ) : name => name }
}

resource "scaleway_secret" "push" {
  for_each = local.push_names

  name        = each.key
  path        = "/${var.name_prefix}"
  description = "${local.push_env_names[each.key]}: push notification credentials"
  region      = var.region
  tags        = concat(var.tags, ["ciel", var.name_prefix, "push"])

  lifecycle {
    precondition {
      condition     = !local.push_apns || (var.push_apns_key_id != null && var.push_apns_team_id != null && var.push_apns_topic != null)
      error_message = "push_apns_key needs push_apns_key_id, push_apns_team_id and push_apns_topic."
    }
  }
}

resource "scaleway_secret_version" "push" {
  for_each = local.push_names

  secret_id   = scaleway_secret.push[each.key].id
  region      = var.region
  data        = local.push_values[each.key]
  description = "managed by terraform"
}
