resource "scaleway_mnq_sqs" "this" {
  region = var.region
}

# Terraform's own credentials, used only to create and configure the queues.
resource "scaleway_mnq_sqs_credentials" "manage" {
  name   = "${var.name_prefix}-sqs-terraform"
  region = scaleway_mnq_sqs.this.region

  permissions {
    can_manage  = true
    can_publish = false
    can_receive = false
  }
}

# The API only enqueues jobs.
resource "scaleway_mnq_sqs_credentials" "publish" {
  name   = "${var.name_prefix}-sqs-api"
  region = scaleway_mnq_sqs.this.region

  permissions {
    can_manage  = false
    can_publish = true
    can_receive = false
  }
}

# The SQS trigger of the serverless container and the worker instances only consume.
resource "scaleway_mnq_sqs_credentials" "receive" {
  name   = "${var.name_prefix}-sqs-worker"
  region = scaleway_mnq_sqs.this.region

  permissions {
    can_manage  = false
    can_publish = false
    can_receive = true
  }
}

resource "scaleway_mnq_sqs_queue" "dlq" {
  name                       = "${var.queue_name}-dlq"
  region                     = scaleway_mnq_sqs.this.region
  sqs_endpoint               = scaleway_mnq_sqs.this.endpoint
  access_key                 = scaleway_mnq_sqs_credentials.manage.access_key
  secret_key                 = scaleway_mnq_sqs_credentials.manage.secret_key
  message_max_age            = var.dlq_message_retention_seconds
  visibility_timeout_seconds = var.visibility_timeout_seconds
}

resource "scaleway_mnq_sqs_queue" "jobs" {
  name                       = var.queue_name
  region                     = scaleway_mnq_sqs.this.region
  sqs_endpoint               = scaleway_mnq_sqs.this.endpoint
  access_key                 = scaleway_mnq_sqs_credentials.manage.access_key
  secret_key                 = scaleway_mnq_sqs_credentials.manage.secret_key
  message_max_age            = var.message_retention_seconds
  visibility_timeout_seconds = var.visibility_timeout_seconds
  receive_wait_time_seconds  = var.receive_wait_time_seconds

  dead_letter_queue {
    id                = scaleway_mnq_sqs_queue.dlq.id
    max_receive_count = var.max_receive_count
  }
}
