output "queue_endpoint" {
  description = "QUEUE_ENDPOINT: the SQS endpoint of the region."
  value       = scaleway_mnq_sqs.this.endpoint
}

output "queue_name" {
  description = "QUEUE_NAME: name of the media jobs queue."
  value       = scaleway_mnq_sqs_queue.jobs.name
}

output "queue_url" {
  description = "URL of the media jobs queue (used by the SQS trigger)."
  value       = scaleway_mnq_sqs_queue.jobs.url
}

output "dlq_name" {
  description = "Name of the dead-letter queue."
  value       = scaleway_mnq_sqs_queue.dlq.name
}

output "dlq_url" {
  description = "URL of the dead-letter queue."
  value       = scaleway_mnq_sqs_queue.dlq.url
}

output "visibility_timeout_seconds" {
  description = "Visibility timeout of the jobs queue (the container timeout must stay below it)."
  value       = var.visibility_timeout_seconds
}

output "max_receive_count" {
  description = "Deliveries before a message is dead-lettered."
  value       = var.max_receive_count
}

output "publish_access_key" {
  description = "SQS access key with publish permission (API: QUEUE_ACCESS_KEY_ID)."
  value       = scaleway_mnq_sqs_credentials.publish.access_key
  sensitive   = true
}

output "publish_secret_key" {
  description = "SQS secret key with publish permission (API: QUEUE_SECRET_ACCESS_KEY)."
  value       = scaleway_mnq_sqs_credentials.publish.secret_key
  sensitive   = true
}

output "receive_access_key" {
  description = "SQS access key with receive permission (trigger and worker instances)."
  value       = scaleway_mnq_sqs_credentials.receive.access_key
  sensitive   = true
}

output "receive_secret_key" {
  description = "SQS secret key with receive permission (trigger and worker instances)."
  value       = scaleway_mnq_sqs_credentials.receive.secret_key
  sensitive   = true
}
