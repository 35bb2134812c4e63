resource "scaleway_domain_record" "api" {
  dns_zone = var.dns_zone
  name     = var.api_subdomain
  type     = "A"
  data     = var.api_ip
  ttl      = var.ttl
}

resource "scaleway_domain_record" "cdn" {
  count = var.enable_cdn_dns ? 1 : 0

  dns_zone = var.dns_zone
  name     = var.cdn_subdomain
  type     = "CNAME"
  data     = "${trimsuffix(var.cdn_target, ".")}."
  ttl      = var.ttl
}

# Surfaces a wiring mistake (CDN record without a CDN) as a warning.
check "records_have_targets" {
  assert {
    condition     = !var.enable_cdn_dns || var.cdn_target != null
    error_message = "enable_cdn_dns needs the CDN (enable_cdn = true) so cdn_target is known."
  }
}
