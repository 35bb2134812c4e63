//! `APP_MODE=worker` (and the dev process): long-polls the queue, runs up
//! to the concurrency limit of jobs, and deletes a message only once its job
//! is done or failed for good. Long jobs keep their message invisible, but
//! no longer than a job may take (`WORKER_REQUEST_TIMEOUT_SECS`); on
//! shutdown it stops receiving and finishes what it holds.

use std::future::Future;
use std::time::Duration;

use tokio::task::JoinSet;

use crate::infra::queue::{Queue, Received};
use crate::worker::Worker;

const BACKOFF_AFTER_ERROR: Duration = Duration::from_secs(2);

/// What a polled queue carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deliveries {
    Jobs,
    /// The jobs the queue gave up on.
    DeadLetters,
}

pub async fn run(
    worker: Worker,
    queue: Queue,
    deliveries: Deliveries,
    polls: Polls,
    shutdown: impl Future<Output = ()>,
) {
    let (visibility, receive_visibility) = visibility_for(&queue, polls.visibility).await;
    tokio::pin!(shutdown);
    let mut jobs = JoinSet::new();
    loop {
        let permits = worker.permits().clone();
        let free = permits.available_permits();
        if free == 0 && !jobs.is_empty() {
            tokio::select! {
                _ = &mut shutdown => break,
                _ = jobs.join_next() => continue,
            }
        }
        let receive = queue.receive_hidden_for(
            free.clamp(1, 10) as i32,
            polls.long_poll,
            receive_visibility,
        );
        tokio::pin!(receive);
        let (received, stopping) = tokio::select! {
            received = &mut receive => (received, false),
            // The poll is finished, not dropped: the queue would hand a
            // message that arrives meanwhile to the dead request and hide
            // it for a whole visibility timeout.
            _ = &mut shutdown => (receive.await, true),
        };
        if stopping {
            if let Ok(messages) = received {
                release(&queue, messages).await;
            }
            break;
        }
        match received {
            Ok(messages) => {
                for message in messages {
                    // Another poller of this worker (the dead letters') may
                    // have taken the slot counted before the receive: wait
                    // for one rather than leave a received message invisible
                    // until its visibility timeout runs out.
                    let permit = permits
                        .clone()
                        .acquire_owned()
                        .await
                        .expect("the job semaphore is never closed");
                    let (worker, queue) = (worker.clone(), queue.clone());
                    jobs.spawn(async move {
                        run_one(&worker, &queue, deliveries, message, visibility).await;
                        drop(permit);
                    });
                }
            }
            Err(e) => {
                tracing::warn!(error = ?e, ?deliveries, "could not receive media jobs");
                tokio::select! {
                    _ = &mut shutdown => break,
                    _ = tokio::time::sleep(BACKOFF_AFTER_ERROR) => {}
                }
            }
        }
        while jobs.try_join_next().is_some() {}
    }
    tracing::info!(
        in_flight = jobs.len(),
        "worker stopping; finishing in-flight jobs"
    );
    while jobs.join_next().await.is_some() {}
}

/// The visibility a job's message keeps, and what the receive asks for.
/// Scaleway Queues takes no VisibilityTimeout on ReceiveMessage and extends
/// only with 0 or the queue's own timeout (queues-support reference), so
/// when the configured value is the queue's (as Terraform sets it) the
/// receive leaves it out and extensions use exactly that value. Another
/// value (local SQS servers, the tests) is asked for explicitly.
async fn visibility_for(queue: &Queue, configured: Duration) -> (Duration, Option<Duration>) {
    match queue.visibility_timeout().await {
        Ok(own) if own == configured => (own, None),
        Ok(_) => (configured, Some(configured)),
        Err(e) => {
            tracing::warn!(error = ?e, "could not read the queue's visibility timeout");
            (configured, Some(configured))
        }
    }
}

/// How the poller asks the queue.
#[derive(Debug, Clone, Copy)]
pub struct Polls {
    /// How long one receive waits for messages (SQS allows up to 20 s).
    pub long_poll: Duration,
    /// How long a received message stays invisible; extended while its job runs.
    pub visibility: Duration,
}

/// Gives messages received while stopping back to the queue at once.
async fn release(queue: &Queue, messages: Vec<Received>) {
    for message in messages {
        if let Err(e) = queue
            .extend_visibility(&message.receipt_handle, Duration::ZERO)
            .await
        {
            tracing::warn!(error = ?e, "could not release a media job on shutdown");
        }
    }
}

async fn run_one(
    worker: &Worker,
    queue: &Queue,
    deliveries: Deliveries,
    message: Received,
    visibility: Duration,
) {
    let job = async {
        match deliveries {
            Deliveries::Jobs => worker.handle(&message.body).await,
            Deliveries::DeadLetters => worker.handle_dead_letter(&message.body).await,
        }
    };
    tokio::pin!(job);
    let extend_every = visibility / 2;
    let started = tokio::time::Instant::now();
    let give_up = started + worker.request_timeout();
    let mut extend = tokio::time::interval_at(started + extend_every, extend_every);
    let result = loop {
        tokio::select! {
            result = &mut job => break result,
            _ = extend.tick(), if tokio::time::Instant::now() < give_up => {
                if let Err(e) = queue.extend_visibility(&message.receipt_handle, visibility).await {
                    tracing::warn!(error = ?e, "could not extend a media job's visibility");
                }
            }
        }
    };
    match result {
        Ok(_) => {
            if let Err(e) = queue.delete(&message.receipt_handle).await {
                // The job is idempotent: a redelivery finds it done.
                tracing::warn!(error = ?e, "could not delete a finished media job");
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, receive_count = message.receive_count, "media job left for redelivery")
        }
    }
}
