//! The SQS media-jobs queue (Scaleway MNQ in the cloud, any SQS server locally).

use std::time::Duration;

use anyhow::Context as _;
use aws_sdk_sqs::config::{BehaviorVersion, Region};
use aws_sdk_sqs::types::QueueAttributeName;
use tokio::sync::OnceCell;

use super::{Outage, outage};
use crate::config::QueueConfig;

#[derive(Clone)]
pub struct Queue {
    client: aws_sdk_sqs::Client,
    name: String,
    dead_letter_name: Option<String>,
    url: std::sync::Arc<OnceCell<String>>,
}

pub struct Received {
    pub body: String,
    pub receipt_handle: String,
    pub receive_count: u32,
}

impl Queue {
    pub fn new(config: &QueueConfig) -> Self {
        let credentials = super::sdk_credentials(&config.credentials);
        let sdk_config = aws_sdk_sqs::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(config.region.clone()))
            .endpoint_url(&config.endpoint)
            .credentials_provider(credentials)
            // Long polls hold the request for up to 20 s.
            .timeout_config(super::sdk_timeouts())
            .build();
        Self {
            client: aws_sdk_sqs::Client::from_conf(sdk_config),
            name: config.name.clone(),
            dead_letter_name: config.dead_letter_name.clone(),
            url: Default::default(),
        }
    }

    /// The dead-letter queue, when the configuration names one.
    pub fn dead_letters(&self) -> Option<Queue> {
        Some(Queue {
            client: self.client.clone(),
            name: self.dead_letter_name.clone()?,
            dead_letter_name: None,
            url: Default::default(),
        })
    }

    async fn url(&self) -> anyhow::Result<&str> {
        let url = self
            .url
            .get_or_try_init(|| async {
                let found = self
                    .client
                    .get_queue_url()
                    .queue_name(&self.name)
                    .send()
                    .await
                    .map_err(outage(Outage::QUEUE, "look up the queue"))?;
                found
                    .queue_url
                    .context("queue URL missing from GetQueueUrl")
            })
            .await?;
        Ok(url)
    }

    /// The queue's own visibility timeout: how long a received message stays
    /// hidden when the receiver does not say (as Scaleway's trigger).
    pub async fn visibility_timeout(&self) -> anyhow::Result<Duration> {
        let url = self.url().await?;
        let seconds = self
            .client
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::VisibilityTimeout)
            .send()
            .await
            .context("queue attributes")?
            .attributes
            .and_then(|mut a| a.remove(&QueueAttributeName::VisibilityTimeout))
            .context("the queue reports no visibility timeout")?;
        let seconds: u64 = seconds
            .parse()
            .with_context(|| format!("visibility timeout {seconds:?}"))?;
        Ok(Duration::from_secs(seconds))
    }

    pub async fn send(&self, body: String) -> anyhow::Result<()> {
        let url = self.url().await?;
        self.client
            .send_message()
            .queue_url(url)
            .message_body(body)
            .send()
            .await
            .map_err(outage(Outage::QUEUE, "send message"))?;
        Ok(())
    }

    pub async fn receive(
        &self,
        max: i32,
        wait: Duration,
        visibility: Duration,
    ) -> anyhow::Result<Vec<Received>> {
        self.receive_hidden_for(max, wait, Some(visibility)).await
    }

    /// Receives with `visibility`, or with the queue's own when `None`:
    /// Scaleway Queues does not support VisibilityTimeout on ReceiveMessage
    /// (queues-support reference), so there the parameter is left out.
    pub async fn receive_hidden_for(
        &self,
        max: i32,
        wait: Duration,
        visibility: Option<Duration>,
    ) -> anyhow::Result<Vec<Received>> {
        let url = self.url().await?;
        let output = self
            .client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(max)
            .wait_time_seconds(wait.as_secs() as i32)
            .set_visibility_timeout(visibility.map(|v| v.as_secs() as i32))
            .message_system_attribute_names(
                aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount,
            )
            .send()
            .await
            .map_err(outage(Outage::QUEUE, "receive messages"))?;
        Ok(output
            .messages
            .unwrap_or_default()
            .into_iter()
            .filter_map(|m| {
                let receive_count = m
                    .attributes()
                    .and_then(|a| a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(1);
                Some(Received {
                    body: m.body?,
                    receipt_handle: m.receipt_handle?,
                    receive_count,
                })
            })
            .collect())
    }

    pub async fn delete(&self, receipt_handle: &str) -> anyhow::Result<()> {
        let url = self.url().await?;
        self.client
            .delete_message()
            .queue_url(url)
            .receipt_handle(receipt_handle)
            .send()
            .await
            .map_err(outage(Outage::QUEUE, "delete message"))?;
        Ok(())
    }

    pub async fn extend_visibility(
        &self,
        receipt_handle: &str,
        visibility: Duration,
    ) -> anyhow::Result<()> {
        let url = self.url().await?;
        self.client
            .change_message_visibility()
            .queue_url(url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(visibility.as_secs() as i32)
            .send()
            .await
            .context("change message visibility")?;
        Ok(())
    }

    /// Messages waiting to be received (`ApproximateNumberOfMessages`).
    pub async fn approximate_depth(&self) -> anyhow::Result<u64> {
        let url = self.url().await?;
        let attributes = self
            .client
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .with_context(|| format!("attributes of queue {}", self.name))?
            .attributes
            .unwrap_or_default();
        attributes
            .get(&QueueAttributeName::ApproximateNumberOfMessages)
            .context("ApproximateNumberOfMessages missing")?
            .parse()
            .context("ApproximateNumberOfMessages is not a number")
    }

    /// Creates the queue and its dead-letter queue when missing (local
    /// development; Terraform owns them in the cloud).
    pub async fn ensure_exists(&self, max_receive_count: u32) -> anyhow::Result<()> {
        if self.url().await.is_ok() {
            return Ok(());
        }
        let dead_letter_name = self
            .dead_letter_name
            .as_deref()
            .context("no dead-letter queue is configured")?;
        let dlq_url = self
            .client
            .create_queue()
            .queue_name(dead_letter_name)
            .send()
            .await
            .context("create dead-letter queue")?
            .queue_url
            .context("dead-letter queue URL")?;
        let arn = self
            .client
            .get_queue_attributes()
            .queue_url(dlq_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .context("dead-letter queue ARN")?
            .attributes
            .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
            .context("dead-letter queue ARN missing")?;
        let redrive =
            serde_json::json!({ "deadLetterTargetArn": arn, "maxReceiveCount": max_receive_count });
        self.client
            .create_queue()
            .queue_name(&self.name)
            .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string())
            .send()
            .await
            .context("create queue")?;
        Ok(())
    }
}
