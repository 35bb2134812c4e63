# ------------------------------------------------------------------ Bucket

resource "scaleway_object_bucket" "media" {
  name          = var.bucket_name
  region        = var.region
  force_destroy = var.force_destroy
  tags          = merge(var.tags, { app = "ciel" })

  dynamic "cors_rule" {
    for_each = length(var.cors_allowed_origins) > 0 ? [1] : []
    content {
      allowed_origins = var.cors_allowed_origins
      allowed_methods = ["GET", "HEAD", "PUT"]
      allowed_headers = ["*"]
      expose_headers  = ["ETag"]
      max_age_seconds = 3600
    }
  }

  lifecycle_rule {
    id                                     = "abort-incomplete-multipart-uploads"
    enabled                                = true
    abort_incomplete_multipart_upload_days = var.abort_incomplete_multipart_upload_days
  }

  # Issue 30: the worker copies each original to Glacier (x-amz-storage-class)
  # as soon as its photo is ready; this rule is the second line, for the
  # originals it could not move (a failed copy, a photo that failed). A
  # transition rule cannot do the first line's job: Scaleway makes rules
  # created after 2026-02-18 (fr-par) wait 90 days before Glacier.
  lifecycle_rule {
    id      = "originals-to-glacier"
    enabled = var.originals_glacier_after_days > 0
    prefix  = "originals/"

    transition {
      days          = max(var.originals_glacier_after_days, 90)
      storage_class = "GLACIER"
    }
  }
}

# Explicitly private: originals are only ever read through presigned URLs.
resource "scaleway_object_bucket_acl" "media" {
  bucket = scaleway_object_bucket.media.id
  region = var.region
  acl    = "private"
}

# With the CDN, Edge Services fetches variants anonymously, so variants/ (and
# only variants/: originals keep their EXIF, location included) is readable
# by anyone. Their keys are immutable, so the API hands out plain CDN URLs.
# A Scaleway bucket policy denies every principal it does not name, so the
# project's own principals (Terraform, the media key) keep their IAM access.
resource "scaleway_object_bucket_policy" "public_variants" {
  count = var.enable_cdn ? 1 : 0

  bucket = scaleway_object_bucket.media.id
  region = var.region
  policy = jsonencode({
    Version = "2023-04-17"
    Id      = "ciel-media"
    Statement = [
      # The documented principal forms are user_id and application_id
      # (object-storage/api-cli/bucket-policy): the media key is named as
      # such, so it keeps its access even if project_id: (the provider's
      # docs' form) is not honoured (terraform/README.md, first apply).
      {
        Sid       = "MediaApplication"
        Effect    = "Allow"
        Principal = { SCW = "application_id:${scaleway_iam_application.media.id}" }
        Action    = ["*"]
        Resource  = [scaleway_object_bucket.media.name, "${scaleway_object_bucket.media.name}/*"]
      },
      {
        Sid       = "ProjectKeepsItsIamAccess"
        Effect    = "Allow"
        Principal = { SCW = "project_id:${var.project_id}" }
        Action    = ["*"]
        Resource  = [scaleway_object_bucket.media.name, "${scaleway_object_bucket.media.name}/*"]
      },
      {
        Sid       = "PublicVariants"
        Effect    = "Allow"
        Principal = "*"
        Action    = ["s3:GetObject"]
        Resource  = ["${scaleway_object_bucket.media.name}/variants/*"]
      },
    ]
  })
}

# ---------------------------------------------------- Least-privilege IAM
# An IAM application whose key can only read/write/delete objects in this
# project (no bucket creation/deletion, no other product). Scaleway IAM cannot
# narrow a permission set to one bucket: keep the project dedicated to Ciel.

resource "scaleway_iam_application" "media" {
  name        = "${var.name_prefix}-media"
  description = "Ciel API and workers: object read/write on ${var.bucket_name}"
}

resource "scaleway_iam_policy" "media" {
  name           = "${var.name_prefix}-media-objects"
  description    = "Object read/write/delete for the Ciel media bucket"
  application_id = scaleway_iam_application.media.id

  rule {
    project_ids          = [var.project_id]
    permission_set_names = ["ObjectStorageObjectsRead", "ObjectStorageObjectsWrite", "ObjectStorageObjectsDelete", "ObjectStorageBucketsRead"]
  }
}

resource "scaleway_iam_api_key" "media" {
  application_id     = scaleway_iam_application.media.id
  description        = "Ciel media bucket access (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)"
  default_project_id = var.project_id
}

# ------------------------------------------------------ CDN (Edge Services)

resource "scaleway_edge_services_plan" "this" {
  count = var.enable_cdn ? 1 : 0

  name = var.edge_services_plan
}

resource "scaleway_edge_services_pipeline" "media" {
  count = var.enable_cdn ? 1 : 0

  name        = "${var.name_prefix}-media"
  description = "CDN in front of ${var.bucket_name}"

  depends_on = [scaleway_edge_services_plan.this]
}

resource "scaleway_edge_services_backend_stage" "media" {
  count = var.enable_cdn ? 1 : 0

  pipeline_id = scaleway_edge_services_pipeline.media[0].id

  s3_backend_config {
    bucket_name   = scaleway_object_bucket.media.name
    bucket_region = var.region
    is_website    = false
  }
}

resource "scaleway_edge_services_cache_stage" "media" {
  count = var.enable_cdn ? 1 : 0

  pipeline_id      = scaleway_edge_services_pipeline.media[0].id
  backend_stage_id = scaleway_edge_services_backend_stage.media[0].id
  fallback_ttl     = var.cdn_cache_ttl_seconds
}

resource "scaleway_edge_services_tls_stage" "media" {
  count = var.enable_cdn ? 1 : 0

  pipeline_id         = scaleway_edge_services_pipeline.media[0].id
  cache_stage_id      = scaleway_edge_services_cache_stage.media[0].id
  managed_certificate = true
}

resource "scaleway_edge_services_dns_stage" "media" {
  count = var.enable_cdn ? 1 : 0

  pipeline_id  = scaleway_edge_services_pipeline.media[0].id
  tls_stage_id = scaleway_edge_services_tls_stage.media[0].id
  fqdns        = var.cdn_fqdn == null ? null : [var.cdn_fqdn]
}

resource "scaleway_edge_services_head_stage" "media" {
  count = var.enable_cdn ? 1 : 0

  pipeline_id   = scaleway_edge_services_pipeline.media[0].id
  head_stage_id = scaleway_edge_services_dns_stage.media[0].id
}

locals {
  s3_endpoint     = "https://s3.${var.region}.scw.cloud"
  cdn_hostname    = var.enable_cdn ? coalesce(var.cdn_fqdn, try(scaleway_edge_services_dns_stage.media[0].default_fqdn, null)) : null
}

# ------------------------------------------------- CDN purge (Edge Services)
# The API purges deleted and withheld variants from the CDN's cache (POST
# /edge-services/v1beta1/purge-requests with this key's secret as
# X-Auth-Token): a CDN copy would otherwise outlive the object by its max-age.
# Its own application, so the media key gets no Edge Services right and this
# one no Object Storage right. Scaleway's permission-set reference lists only
# EdgeServicesFullAccess and EdgeServicesReadOnly for Edge Services, and a
# purge request is a write, so it is the full set, on this project only
# (terraform/README.md, first-apply checklist: a narrower set, if Scaleway
# adds one).

resource "scaleway_iam_application" "cdn_purge" {
  count = var.enable_cdn ? 1 : 0

  name        = "${var.name_prefix}-cdn-purge"
  description = "Ciel API: purge deleted and withheld variants from the Edge Services cache"
}

resource "scaleway_iam_policy" "cdn_purge" {
  count = var.enable_cdn ? 1 : 0

  name           = "${var.name_prefix}-cdn-purge"
  description    = "Create Edge Services purge requests, in the environment's project only"
  application_id = scaleway_iam_application.cdn_purge[0].id

  rule {
    project_ids          = [var.project_id]
    permission_set_names = ["EdgeServicesFullAccess"]
  }
}

resource "scaleway_iam_api_key" "cdn_purge" {
  count = var.enable_cdn ? 1 : 0

  application_id     = scaleway_iam_application.cdn_purge[0].id
  description        = "CDN_PURGE_SECRET_KEY of the Ciel API"
  default_project_id = var.project_id
}
