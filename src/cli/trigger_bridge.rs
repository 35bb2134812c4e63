//! `ciel trigger-bridge`: Scaleway's SQS trigger, for places without
//! Scaleway (the compose stack, the tests). It reads one queue and POSTs
//! each message body to one URL, with the semantics Scaleway documents:
//!
//! - a status >= 300 (or no answer) is retried, three attempts in all;
//! - at most [`MAX_IN_FLIGHT`] requests are in flight;
//! - a 2xx deletes the message.
//!
//! What Scaleway does after the third failure is not documented. By default
//! the bridge leaves the message alone, so the queue makes it visible again
//! after its visibility timeout and, past the redrive policy's maximum
//! receive count, moves it to the dead-letter queue (where a second bridge,
//! like the second trigger in the cloud, POSTs it to `/dead-letters`).
//! `TRIGGER_ON_GIVE_UP=delete` plays the worst case instead: the message is
//! gone, and only the API's reconciler brings the photo back.
//!
//! Like the trigger, the bridge does not extend a message's visibility:
//! keep the queue's visibility timeout above three attempts (Terraform sets
//! it above the container's timeout for the same reason). Stopping the
//! bridge abandons its pending long poll: a message that poll still takes
//! comes back after the visibility timeout, one receive count spent.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

use crate::app::Stop;
use crate::config::{OnGiveUp, TriggerBridgeConfig};
use crate::infra::queue::{Queue, Received};

/// Scaleway: "a maximum of 10 in-flight requests" per trigger.
pub const MAX_IN_FLIGHT: usize = 10;
/// Scaleway: a status >= 300 is "retried up to three times".
pub const ATTEMPTS: u32 = 3;
/// The serverless container's timeout in Terraform: a request is given as
/// long as the container may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);
const LONG_POLL: Duration = Duration::from_secs(20);
const BACKOFF_AFTER_ERROR: Duration = Duration::from_secs(2);

/// How one message's delivery ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// A 2xx on attempt `n`; the message is deleted.
    Delivered { attempt: u32 },
    /// Every attempt failed; the message is left to the queue.
    GaveUp,
}

pub struct TriggerBridge {
    queue: Queue,
    client: reqwest::Client,
    target: Arc<str>,
    retry_delay: Duration,
    on_give_up: OnGiveUp,
    visibility: Duration,
    listener: TcpListener,
}

impl TriggerBridge {
    /// Looks up the queue (so a wrong name stops start-up) and binds the
    /// `/health` listener.
    pub async fn build(config: TriggerBridgeConfig) -> anyhow::Result<Self> {
        let queue = Queue::new(&config.queue);
        let visibility = queue
            .visibility_timeout()
            .await
            .with_context(|| format!("queue {}", config.queue.name))?;
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .build()
            .context("HTTP client")?;
        let listener = TcpListener::bind(config.http_addr)
            .await
            .with_context(|| format!("bind {}", config.http_addr))?;
        Ok(Self {
            queue,
            client,
            target: config.target.into(),
            retry_delay: config.retry_delay,
            on_give_up: config.on_give_up,
            visibility,
            listener,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Delivers until `shutdown` resolves, then finishes the deliveries in
    /// flight (their attempts included) and returns.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let stop = Stop::on(shutdown);
        tracing::info!(
            addr = %self.local_addr(),
            target = %self.target,
            visibility_secs = self.visibility.as_secs(),
            "trigger bridge delivering"
        );
        let router = Router::new().route("/health", get(crate::http::ops::health));
        let server = axum::serve(self.listener, router)
            .with_graceful_shutdown(stop.stopped())
            .into_future();
        let deliver = Deliverer {
            queue: self.queue,
            client: self.client,
            target: self.target,
            retry_delay: self.retry_delay,
            on_give_up: self.on_give_up,
            visibility: self.visibility,
        };
        let (served, ()) = tokio::join!(server, deliver.run(stop.stopped()));
        served.context("serve /health")?;
        tracing::info!("trigger bridge stopped");
        Ok(())
    }
}

#[derive(Clone)]
struct Deliverer {
    queue: Queue,
    client: reqwest::Client,
    target: Arc<str>,
    retry_delay: Duration,
    on_give_up: OnGiveUp,
    visibility: Duration,
}

impl Deliverer {
    async fn run(self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
        let mut deliveries = JoinSet::new();
        loop {
            // Receive only as many messages as can be sent at once: the
            // others stay on the queue for another consumer.
            let first = tokio::select! {
                _ = &mut shutdown => break,
                permit = in_flight.clone().acquire_owned() => permit.expect("never closed"),
            };
            let mut permits: Vec<OwnedSemaphorePermit> = vec![first];
            while let Ok(permit) = in_flight.clone().try_acquire_owned() {
                permits.push(permit);
            }
            let received = tokio::select! {
                _ = &mut shutdown => break,
                received = self.queue.receive(permits.len() as i32, LONG_POLL, self.visibility) => received,
            };
            match received {
                Ok(messages) => {
                    for message in messages {
                        let Some(permit) = permits.pop() else { break };
                        let deliverer = self.clone();
                        deliveries.spawn(async move {
                            deliverer.deliver(message).await;
                            drop(permit);
                        });
                    }
                }
                Err(e) => {
                    drop(permits);
                    tracing::warn!(error = ?e, "could not receive from the queue");
                    tokio::select! {
                        _ = &mut shutdown => break,
                        _ = tokio::time::sleep(BACKOFF_AFTER_ERROR) => {}
                    }
                }
            }
            while deliveries.try_join_next().is_some() {}
        }
        tracing::info!(
            in_flight = deliveries.len(),
            "trigger bridge stopping; finishing deliveries in flight"
        );
        while deliveries.join_next().await.is_some() {}
    }

    async fn deliver(&self, message: Received) -> Delivery {
        let delivery =
            post_with_retries(&self.client, &self.target, &message.body, self.retry_delay).await;
        match delivery {
            Delivery::Delivered { .. } => {
                if let Err(e) = self.queue.delete(&message.receipt_handle).await {
                    // Redelivered later; the worker's jobs are idempotent.
                    tracing::warn!(error = ?e, "could not delete a delivered message");
                }
            }
            Delivery::GaveUp if self.on_give_up == OnGiveUp::Delete => {
                tracing::warn!(
                    "every attempt failed; the message is deleted (TRIGGER_ON_GIVE_UP=delete)"
                );
                if let Err(e) = self.queue.delete(&message.receipt_handle).await {
                    tracing::warn!(error = ?e, "could not delete a message given up on");
                }
            }
            Delivery::GaveUp => tracing::warn!(
                receive_count = message.receive_count,
                "every attempt failed; the message is left to the queue (redelivery, then its dead-letter queue)"
            ),
        }
        delivery
    }
}

/// POSTs `body` to `target` until a status below 300, at most [`ATTEMPTS`]
/// times, waiting `retry_delay` times the attempt number in between.
pub async fn post_with_retries(
    client: &reqwest::Client,
    target: &str,
    body: &str,
    retry_delay: Duration,
) -> Delivery {
    for attempt in 1..=ATTEMPTS {
        match client.post(target).body(body.to_owned()).send().await {
            Ok(response) if response.status().as_u16() < 300 => {
                return Delivery::Delivered { attempt };
            }
            Ok(response) => {
                tracing::info!(
                    attempt,
                    status = response.status().as_u16(),
                    "trigger target refused the message"
                )
            }
            Err(e) => {
                tracing::info!(attempt, error = %e, "trigger target did not answer")
            }
        }
        if attempt < ATTEMPTS {
            tokio::time::sleep(retry_delay * attempt).await;
        }
    }
    Delivery::GaveUp
}
