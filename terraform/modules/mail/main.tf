# Transactional Email (TEM) for the account mails: the sending domain, an
# IAM application whose only right is sending mail over SMTP, and its
# SMTP_URL in Secret Manager. The DNS module writes the domain's SPF, DKIM,
# MX and DMARC records and then asks TEM to validate it. Bounces and
# complaints go to a Topics and Events (SNS) topic whose HTTPS subscription
# is the API's /v1/mail/sns.

locals {
  tags = concat(var.tags, ["ciel", var.name_prefix])
  # The SMTP user is the project id; the password is the key's secret. Both
  # URL-encoded: the URL is read by the binary's SMTP client as is.
  # Port 2465, TEM's alternative TLS port: Scaleway blocks outgoing 25, 465
  # and 587 from Instances (and through Public Gateways) unless SMTP is
  # enabled on the security group or gateway, so 465 would time out.
  smtp_url = var.enabled ? format(
    "smtps://%s:%s@%s:%d",
    urlencode(scaleway_tem_domain.this[0].smtps_auth_user),
    urlencode(scaleway_iam_api_key.smtp[0].secret_key),
    scaleway_tem_domain.this[0].smtp_host,
    scaleway_tem_domain.this[0].smtps_port_alternative,
  ) : null
  bounces = var.enabled && var.bounce_endpoint != null
}

resource "scaleway_tem_domain" "this" {
  count = var.enabled ? 1 : 0

  name       = var.sending_domain
  accept_tos = true
  region     = var.region
  project_id = var.project_id
}

resource "scaleway_iam_application" "smtp" {
  count = var.enabled ? 1 : 0

  name        = "${var.name_prefix}-mail"
  description = "Ciel workers sending account mail through Transactional Email (SMTP only)"
  tags        = local.tags
}

# Sending over SMTP in this project, nothing else.
resource "scaleway_iam_policy" "smtp" {
  count = var.enabled ? 1 : 0

  name           = "${var.name_prefix}-mail-smtp"
  description    = "Send mail through Transactional Email over SMTP, in the environment's project only"
  application_id = scaleway_iam_application.smtp[0].id
  tags           = local.tags

  rule {
    project_ids          = [var.project_id]
    permission_set_names = ["TransactionalEmailEmailSmtpCreate"]
  }
}

resource "scaleway_iam_api_key" "smtp" {
  count = var.enabled ? 1 : 0

  application_id     = scaleway_iam_application.smtp[0].id
  default_project_id = var.project_id
  description        = "SMTP password of ${var.name_prefix}'s account mail"
}

resource "scaleway_secret" "smtp_url" {
  count = var.enabled ? 1 : 0

  name        = "smtp-url"
  path        = "/${var.name_prefix}"
  description = "SMTP_URL: Transactional Email over SMTPS with the mail application's key"
  region      = var.region
  tags        = local.tags
}

resource "scaleway_secret_version" "smtp_url" {
  count = var.enabled ? 1 : 0

  secret_id   = scaleway_secret.smtp_url[0].id
  region      = var.region
  data        = local.smtp_url
  description = "managed by terraform"
}

# ------------------------------------------------- Bounces and complaints

resource "scaleway_mnq_sns" "this" {
  count = local.bounces ? 1 : 0

  region     = var.region
  project_id = var.project_id
}

resource "scaleway_mnq_sns_credentials" "manage" {
  count = local.bounces ? 1 : 0

  name       = "${var.name_prefix}-mail-events"
  region     = var.region
  project_id = scaleway_mnq_sns.this[0].project_id

  permissions {
    can_manage  = true
    can_publish = true
    can_receive = false
  }
}

resource "scaleway_mnq_sns_topic" "events" {
  count = local.bounces ? 1 : 0

  name       = "${var.name_prefix}-mail-events"
  region     = var.region
  project_id = scaleway_mnq_sns.this[0].project_id
  access_key = scaleway_mnq_sns_credentials.manage[0].access_key
  secret_key = scaleway_mnq_sns_credentials.manage[0].secret_key
}

# Topics and Events sends its one SubscriptionConfirmation when the
# subscription is created, and the provider does not wait for it
# (mnq/sns_topic_subscription.go): the endpoint must answer by then. This
# waits, from the machine running terraform, for the API's /ready behind the
# HTTPS frontend (up to 20 minutes: a first boot installs Docker).
resource "terraform_data" "api_ready" {
  count = local.bounces ? 1 : 0

  input = var.ready_url

  provisioner "local-exec" {
    command = "for i in $(seq 1 120); do curl -fsS --max-time 5 -o /dev/null \"$READY_URL\" && exit 0; sleep 10; done; echo \"$READY_URL never answered\" >&2; exit 1"
    environment = {
      READY_URL = var.ready_url
    }
  }
}

# The API confirms the subscription itself (it fetches the SubscribeURL of
# the signed SubscriptionConfirmation message). A subscription left Pending
# is retried with terraform apply -replace (terraform/README.md).
resource "scaleway_mnq_sns_topic_subscription" "api" {
  count = local.bounces ? 1 : 0

  region     = var.region
  project_id = scaleway_mnq_sns.this[0].project_id
  access_key = scaleway_mnq_sns_credentials.manage[0].access_key
  secret_key = scaleway_mnq_sns_credentials.manage[0].secret_key
  topic_id   = scaleway_mnq_sns_topic.events[0].id
  protocol   = "https"
  endpoint   = var.bounce_endpoint

  depends_on = [terraform_data.api_ready]
}

resource "scaleway_tem_webhook" "events" {
  count = local.bounces ? 1 : 0

  name        = "${var.name_prefix}-bounces"
  domain_id   = scaleway_tem_domain.this[0].id
  region      = var.region
  project_id  = var.project_id
  event_types = var.webhook_event_types
  sns_arn     = scaleway_mnq_sns_topic.events[0].arn
}
