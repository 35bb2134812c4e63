# Counted on a plan-time flag: the address itself is known only after apply.
resource "scaleway_domain_record" "api" {
  count = var.api_record ? 1 : 0

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

# ------------------------------------------ Transactional Email (mail module)

locals {
  mail_dns = var.enable_mail_dns ? 1 : 0
}

resource "scaleway_domain_record" "mail_spf" {
  count = local.mail_dns

  dns_zone = var.dns_zone
  name     = var.mail_subdomain
  type     = "TXT"
  data     = "v=spf1 ${var.mail_spf_include} -all"
  ttl      = var.ttl
}

resource "scaleway_domain_record" "mail_dkim" {
  count = local.mail_dns

  dns_zone = var.dns_zone
  # TEM returns the fully qualified name (<id>._domainkey.<domain>.); the
  # provider strips ".<zone>." itself (domain/helpers.go normalizeRecordName).
  name     = var.mail_dkim_name
  type     = "TXT"
  data     = var.mail_dkim_value
  ttl      = var.ttl
}

# Bounces come back through TEM's blackhole MX.
resource "scaleway_domain_record" "mail_mx" {
  count = local.mail_dns

  dns_zone = var.dns_zone
  name     = var.mail_subdomain
  type     = "MX"
  data     = "${trimsuffix(coalesce(var.mail_mx_target, "blackhole.tem.scaleway.com"), ".")}."
  priority = 10
  ttl      = var.ttl
}

resource "scaleway_domain_record" "mail_dmarc" {
  count = local.mail_dns

  dns_zone = var.dns_zone
  name     = var.mail_dmarc_name
  type     = "TXT"
  data     = var.mail_dmarc_value
  ttl      = var.ttl
}

# TEM checks the records once they exist.
resource "scaleway_tem_domain_validation" "mail" {
  count = local.mail_dns

  domain_id = var.mail_domain_id
  region    = var.mail_region
  timeout   = 600

  depends_on = [
    scaleway_domain_record.mail_spf,
    scaleway_domain_record.mail_dkim,
    scaleway_domain_record.mail_mx,
    scaleway_domain_record.mail_dmarc,
  ]
}

check "api_record_has_an_address" {
  assert {
    condition     = !var.api_record || var.api_ip != null
    error_message = "api_record is on but nothing gave the API an address."
  }
}

check "mail_records_have_values" {
  assert {
    condition     = !var.enable_mail_dns || (var.mail_domain_id != null && var.mail_spf_include != null && var.mail_dkim_name != null && var.mail_dmarc_name != null)
    error_message = "enable_mail_dns needs the mail module (enable_mail = true) so the TEM domain's values are known."
  }
}
