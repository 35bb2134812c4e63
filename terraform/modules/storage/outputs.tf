output "bucket_name" {
  description = "S3_BUCKET: name of the media bucket."
  value       = scaleway_object_bucket.media.name
}

output "bucket_region" {
  description = "S3_REGION: region of the media bucket."
  value       = var.region
}

output "s3_endpoint" {
  description = "S3_ENDPOINT: regional S3 API endpoint."
  value       = local.s3_endpoint
}

output "s3_public_endpoint" {
  description = "S3_PUBLIC_ENDPOINT: the CDN's base URL, from which the API hands out plain variant URLs; empty without the CDN (presigned GETs: the bucket is private)."
  value       = var.enable_cdn ? "https://${local.cdn_hostname}" : ""
}

output "s3_access_key" {
  description = "AWS_ACCESS_KEY_ID of the media IAM application."
  value       = scaleway_iam_api_key.media.access_key
  sensitive   = true
}

output "s3_secret_key" {
  description = "AWS_SECRET_ACCESS_KEY of the media IAM application."
  value       = scaleway_iam_api_key.media.secret_key
  sensitive   = true
}

output "cdn_enabled" {
  description = "Whether the Edge Services pipeline exists."
  value       = var.enable_cdn
}

output "cdn_default_hostname" {
  description = "Edge Services hostname of the pipeline: the CNAME target for a custom CDN domain."
  value       = try(scaleway_edge_services_dns_stage.media[0].default_fqdn, null)
}

output "cdn_hostname" {
  description = "Hostname clients use for media through the CDN (custom or default)."
  value       = local.cdn_hostname
}

output "cdn_pipeline_id" {
  description = "CDN_PIPELINE_ID: the Edge Services pipeline whose cache the API purges; null without the CDN."
  value       = try(scaleway_edge_services_pipeline.media[0].id, null)
}

output "cdn_purge_secret_key" {
  description = "CDN_PURGE_SECRET_KEY: secret key of the purge-only IAM application; null without the CDN."
  value       = try(scaleway_iam_api_key.cdn_purge[0].secret_key, null)
  sensitive   = true
}
