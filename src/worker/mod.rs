//! The media job handler, shared by the three ways a job arrives: the
//! serverless trigger's POST, the long-polling worker, and the dev process.
//!
//! Every outcome is either final (acknowledge the message) or transient
//! (leave it to the queue, which redelivers it and, after its max receive
//! count, moves it to the dead-letter queue).

pub mod poller;
pub mod serverless;

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use ciel_imaging::{ImageError, Processed};
use sqlx::PgPool;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use uuid::Uuid;

use crate::config::WorkerConfig;
use crate::infra::s3::{ObjectError, Storage};
use crate::media::jobs::{self, Finished, Job, NewVariant};
use crate::media::keys;

/// Variants never change once written: their keys are derived from the
/// media id, and a new photo gets a new id.
const VARIANT_CACHE_CONTROL: &str = "public, max-age=31536000, immutable";

/// The failure code of a media whose job reached the dead-letter queue.
pub const ABANDONED: &str = "processing_abandoned";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Processed,
    /// The photo cannot be processed; the media is marked failed.
    Failed {
        code: &'static str,
    },
    /// Nothing to do: a duplicate, a late message, or a deleted media.
    Skipped,
    /// The message names no media; it is recorded and dropped.
    Unreadable,
}

impl Outcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Processed => "processed",
            Outcome::Failed { .. } => "failed",
            Outcome::Skipped => "skipped",
            Outcome::Unreadable => "unreadable",
        }
    }
}

/// A failure that may pass (storage or database unavailable): retry later.
#[derive(Debug, thiserror::Error)]
#[error("transient failure: {0:#}")]
pub struct Transient(#[from] pub anyhow::Error);

impl From<crate::error::Error> for Transient {
    fn from(e: crate::error::Error) -> Self {
        Transient(anyhow::Error::new(e))
    }
}

#[derive(Clone)]
pub struct Worker {
    db: PgPool,
    storage: Storage,
    /// Bounds the jobs held at once; past it, the trigger gets a 429.
    permits: Arc<Semaphore>,
    /// One permit per MiB of the memory budget: a 48 MP progressive JPEG
    /// needs several times what a 12 MP one does, so a count alone would
    /// either waste the container or let two large photos overrun it.
    memory: Arc<Semaphore>,
    memory_budget_mb: u32,
}

impl Worker {
    pub fn new(db: PgPool, storage: Storage, config: &WorkerConfig) -> Self {
        Self {
            db,
            storage,
            permits: Arc::new(Semaphore::new(config.concurrency)),
            memory: Arc::new(Semaphore::new(config.memory_budget_mb as usize)),
            memory_budget_mb: config.memory_budget_mb,
        }
    }

    pub fn permits(&self) -> &Arc<Semaphore> {
        &self.permits
    }

    /// Handles one message body. The caller holds a permit.
    pub async fn handle(&self, body: &str) -> Result<Outcome, Transient> {
        let started = Instant::now();
        let result = self.handle_inner(body).await;
        let outcome = match &result {
            Ok(outcome) => outcome.as_str(),
            Err(_) => "transient",
        };
        metrics::histogram!("media_job_duration_seconds", "outcome" => outcome)
            .record(started.elapsed().as_secs_f64());
        metrics::counter!("media_jobs_total", "outcome" => outcome).increment(1);
        result
    }

    /// Handles a message of the dead-letter queue: the queue delivered the
    /// job its maximum number of times without a final outcome, so the
    /// photo is failed rather than left `processing` for ever.
    pub async fn handle_dead_letter(&self, body: &str) -> Result<Outcome, Transient> {
        let media_id = match self.parse(body).await? {
            None => return Ok(Outcome::Unreadable),
            Some(Job::Media { media_id }) => media_id,
            Some(Job::PurgeAccount { user_id }) => {
                // The account stays hidden; the API's sweep queues the purge again.
                tracing::error!(%user_id, "account purge dead-lettered; it will be queued again");
                return Ok(Outcome::Skipped);
            }
        };
        let abandoned = jobs::abandon(
            &self.db,
            media_id,
            ABANDONED,
            "processing kept failing; upload the photo again",
        )
        .await?;
        metrics::counter!("media_jobs_abandoned_total").increment(u64::from(abandoned));
        Ok(if abandoned {
            tracing::warn!(%media_id, "media job dead-lettered; media marked failed");
            Outcome::Failed { code: ABANDONED }
        } else {
            Outcome::Skipped
        })
    }

    /// `None` for a body that names no job, once it is recorded.
    async fn parse(&self, body: &str) -> Result<Option<Job>, Transient> {
        let message = Job::parse(body);
        if message.is_none() {
            tracing::warn!("unreadable media job message; recorded and dropped");
            jobs::record_unreadable(
                &self.db,
                body,
                "unreadable_message",
                "the body is not a media job",
            )
            .await?;
        }
        Ok(message)
    }

    async fn handle_inner(&self, body: &str) -> Result<Outcome, Transient> {
        match self.parse(body).await? {
            None => Ok(Outcome::Unreadable),
            Some(Job::Media { media_id }) => self.process_media(media_id).await,
            Some(Job::PurgeAccount { user_id }) => {
                match crate::social::accounts::purge(&self.db, &self.storage, user_id).await? {
                    crate::social::accounts::Purge::Purged => Ok(Outcome::Processed),
                    crate::social::accounts::Purge::NothingToDo => Ok(Outcome::Skipped),
                }
            }
        }
    }

    async fn process_media(&self, media_id: Uuid) -> Result<Outcome, Transient> {
        let Some(media) = crate::media::find(&self.db, media_id).await? else {
            return Ok(Outcome::Skipped);
        };
        if !jobs::claim(&self.db, media_id).await? {
            return Ok(Outcome::Skipped);
        }
        let original = match self.storage.get(&media.original_key).await {
            Ok(bytes) => bytes,
            Err(ObjectError::NotFound) => {
                return self
                    .fail(media_id, "original_missing", "the uploaded file is gone")
                    .await;
            }
            Err(ObjectError::Unavailable(e)) => return Err(Transient(e)),
        };
        // Held until the variants are stored: their bytes count too.
        let _memory = self.reserve_memory(media_id, &original).await;
        let processed = match process_off_thread(original).await? {
            Ok(processed) => processed,
            Err(e) => return self.fail(media_id, e.code(), &e.to_string()).await,
        };
        let finished = self.store_variants(media_id, processed).await?;
        if jobs::finish(&self.db, media_id, &finished).await? {
            tracing::info!(%media_id, variants = finished.variants.len(), "media processed");
            Ok(Outcome::Processed)
        } else {
            // Deleted (or failed) while we worked: leave no orphans behind.
            for variant in &finished.variants {
                self.storage.delete(&variant.key).await?;
            }
            Ok(Outcome::Skipped)
        }
    }

    /// Waits until the estimated peak of processing `original` fits in the
    /// budget. An estimate above the whole budget takes all of it: the
    /// photo then runs alone, the best this process can do.
    async fn reserve_memory(&self, media_id: Uuid, original: &[u8]) -> OwnedSemaphorePermit {
        let estimate = ciel_imaging::probe(original)
            .map(|probe| probe.peak_memory_bytes)
            // Unreadable headers fail at once, before any pixel buffer.
            .unwrap_or(original.len() as u64);
        let needed_mb = estimate.div_ceil(1 << 20);
        if needed_mb > u64::from(self.memory_budget_mb) {
            tracing::warn!(%media_id, needed_mb, budget_mb = self.memory_budget_mb, "media job needs more than the memory budget; running it alone");
        }
        let reserved = needed_mb.clamp(1, u64::from(self.memory_budget_mb)) as u32;
        let waiting = metrics::gauge!("media_jobs_waiting_for_memory");
        waiting.increment(1.0);
        let permit = self
            .memory
            .clone()
            .acquire_many_owned(reserved)
            .await
            .expect("the memory semaphore is never closed");
        waiting.decrement(1.0);
        permit
    }

    async fn fail(
        &self,
        media_id: Uuid,
        code: &'static str,
        message: &str,
    ) -> Result<Outcome, Transient> {
        tracing::info!(%media_id, code, message, "media cannot be processed");
        jobs::fail(&self.db, media_id, code, message).await?;
        Ok(Outcome::Failed { code })
    }

    async fn store_variants(
        &self,
        media_id: Uuid,
        processed: Processed,
    ) -> Result<Finished, Transient> {
        let mut uploads = tokio::task::JoinSet::new();
        let mut variants = Vec::with_capacity(processed.variants.len());
        for variant in processed.variants {
            let key = keys::variant(media_id, variant.name, variant.format);
            variants.push(NewVariant {
                name: variant.name.as_str(),
                format: variant.format.as_str(),
                width: variant.width,
                height: variant.height,
                bytes: variant.bytes.len() as u64,
                key: key.clone(),
            });
            let storage = self.storage.clone();
            uploads.spawn(async move {
                storage
                    .put(
                        &key,
                        variant.bytes,
                        variant.format.mime(),
                        VARIANT_CACHE_CONTROL,
                    )
                    .await
            });
        }
        while let Some(result) = uploads.join_next().await {
            result.context("variant upload task")??;
        }
        Ok(Finished {
            width: processed.width,
            height: processed.height,
            blurhash: processed.blurhash,
            variants,
        })
    }
}

/// Decoding is CPU-bound: keep it off the async threads. A decoder that
/// panics on a file would panic on every retry, so that file has failed.
async fn process_off_thread(original: Vec<u8>) -> Result<Result<Processed, ImageError>, Transient> {
    match tokio::task::spawn_blocking(move || ciel_imaging::process(&original)).await {
        Ok(result) => Ok(result),
        Err(e) if e.is_panic() => Ok(Err(ImageError::Corrupt(
            "the decoder could not read this file".into(),
        ))),
        Err(e) => Err(Transient(anyhow::Error::new(e).context("image task"))),
    }
}
