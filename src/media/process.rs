//! Processing one photo: claim the media, fetch its original, reserve the
//! memory its decode will take, decode within its time limit, store the
//! variants and record them, then move the original to its cold class.
//! Every step is idempotent: a redelivered job finds the work done, or does
//! it again with the same keys. Reprocessing a ready photo does the same
//! from its original, which may have to be restored first.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use ciel_imaging::{ImageError, MAX_PIXELS, Processed, SourceFormat};
use sqlx::PgPool;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use uuid::Uuid;

use super::hashmatch;
use super::jobs::{self, ABANDONED, ABANDONED_MESSAGE, Finished, NewVariant, Recorded};
use super::keys;
use super::originals::{self, Original};
use crate::config::WorkerConfig;
use crate::infra::s3::{Storage, StorageClass};
use crate::jobs::{Job, Outcome, Transient};

/// Variants never change once written: their keys are derived from the
/// media id, and a new photo gets a new id.
const VARIANT_CACHE_CONTROL: &str = "public, max-age=31536000, immutable";

/// How much longer a HEIC/AVIF pixel takes than a JPEG one (see `time_limit_of`).
const HEIF_TIME_FACTOR: f64 = 4.0;

#[derive(Clone)]
pub struct Processor {
    db: PgPool,
    storage: Storage,
    /// One permit per MiB of the memory budget: a 48 MP progressive JPEG
    /// needs several times what a 12 MP one does, so a count alone would
    /// either waste the container or let two large photos overrun it.
    memory: Arc<Semaphore>,
    memory_budget_mb: u32,
    /// Processing time of a 50 MP photo; smaller ones get their share.
    job_time_limit: Duration,
    /// Where originals go once their photo is ready.
    originals_class: StorageClass,
    /// Largest PDQ distance to a block-list hash that quarantines a photo.
    match_distance: u32,
}

impl Processor {
    pub fn new(db: PgPool, storage: Storage, config: &WorkerConfig) -> Self {
        Self {
            db,
            storage,
            memory: Arc::new(Semaphore::new(config.memory_budget_mb as usize)),
            memory_budget_mb: config.memory_budget_mb,
            job_time_limit: config.job_time_limit,
            originals_class: config.originals_class,
            match_distance: config.pdq_match_distance,
        }
    }

    pub fn job_time_limit(&self) -> Duration {
        self.job_time_limit
    }

    /// The processing time limit of a photo of `width` x `height`: its
    /// share of the limit of the largest photo, by pixel count, and at least
    /// a tenth of it (the fixed costs of a small photo dominate).
    pub fn time_limit(&self, width: u32, height: u32) -> Duration {
        let share = (u64::from(width) * u64::from(height)) as f64 / MAX_PIXELS as f64;
        self.job_time_limit.mul_f64(share.clamp(0.1, 1.0))
    }

    /// [`Self::time_limit`] for a photo of this format. HEIC/AVIF have no
    /// shrink-on-load: libheif decodes every pixel (about four times a JPEG's
    /// DCT-scaled decode), so their share counts four times, never past the
    /// limit of the largest photo.
    pub fn time_limit_of(&self, format: SourceFormat, width: u32, height: u32) -> Duration {
        let limit = self.time_limit(width, height);
        match format {
            SourceFormat::Heic | SourceFormat::Avif => {
                limit.mul_f64(HEIF_TIME_FACTOR).min(self.job_time_limit)
            }
            _ => limit,
        }
    }

    /// Fails the photo of a job the dead-letter queue got: the queue
    /// delivered it its maximum number of times without a final outcome.
    pub async fn abandon(&self, media_id: Uuid) -> Result<Outcome, Transient> {
        let abandoned = jobs::abandon(&self.db, media_id, ABANDONED, ABANDONED_MESSAGE).await?;
        metrics::counter!("media_jobs_abandoned_total").increment(u64::from(abandoned));
        Ok(if abandoned {
            tracing::warn!(%media_id, "media job dead-lettered; media marked failed");
            Outcome::Failed { code: ABANDONED }
        } else {
            Outcome::Skipped
        })
    }

    pub async fn process(&self, media_id: Uuid, wait_until: Instant) -> Result<Outcome, Transient> {
        // Only a completed upload has a job: a message naming a media still
        // pending (its upload not completed) is forged or stale.
        let Some(original_key) = jobs::claim(&self.db, media_id).await? else {
            return Ok(Outcome::Skipped);
        };
        // Fresh uploads are in Standard; only one the lifecycle rule moved
        // (90 days) needs a restore, and the reconciler's bound still holds.
        let then = Job::Media { media_id };
        let original =
            match originals::read(&self.db, &self.storage, media_id, &original_key, then).await? {
                Original::Bytes(bytes) => bytes,
                Original::Restoring => return Ok(Outcome::Waiting),
                Original::Missing => {
                    return self
                        .fail(media_id, "original_missing", "the uploaded file is gone")
                        .await;
                }
            };
        let stored = match self
            .derive_and_store(media_id, original, wait_until)
            .await?
        {
            Ok(stored) => stored,
            Err(e) => return self.fail(media_id, e.code(), &e.to_string()).await,
        };
        self.record(media_id, &original_key, stored, "media processed")
            .await
    }

    /// Derives the variants of a ready photo again from its original (the
    /// variant set changed, a decoder was fixed). The photo stays ready,
    /// served by its current variants, until the new ones replace them
    /// (same keys, rows upserted). An original in Glacier is restored
    /// first: the job then waits (`Outcome::Waiting`) and comes back once
    /// it is readable. A failure leaves the photo as it was.
    pub async fn reprocess(
        &self,
        media_id: Uuid,
        wait_until: Instant,
    ) -> Result<Outcome, Transient> {
        let Some(original_key) = jobs::ready_original(&self.db, media_id).await? else {
            return Ok(Outcome::Skipped);
        };
        let then = Job::Reprocess { media_id };
        let original =
            match originals::read(&self.db, &self.storage, media_id, &original_key, then).await? {
                Original::Bytes(bytes) => bytes,
                Original::Restoring => return Ok(Outcome::Waiting),
                Original::Missing => {
                    tracing::warn!(%media_id, "cannot reprocess: the original is gone");
                    return Ok(Outcome::Failed {
                        code: "original_missing",
                    });
                }
            };
        match self
            .derive_and_store(media_id, original, wait_until)
            .await?
        {
            Ok(stored) => {
                self.record(media_id, &original_key, stored, "media reprocessed")
                    .await
            }
            Err(e) => {
                tracing::warn!(%media_id, code = e.code(), error = %e, "cannot reprocess; the photo keeps its variants");
                Ok(Outcome::Failed { code: e.code() })
            }
        }
    }

    /// Probes, reserves memory, decodes within the time limit and stores
    /// the variants. The inner error is the photo's (permanent) failure.
    async fn derive_and_store(
        &self,
        media_id: Uuid,
        original: Vec<u8>,
        wait_until: Instant,
    ) -> Result<Result<Stored, ImageError>, Transient> {
        // A header the probe cannot read has no trustworthy memory estimate:
        // the photo fails before anything is decoded.
        let probe = match ciel_imaging::probe(&original) {
            Ok(probe) => probe,
            Err(e) => return Ok(Err(e)),
        };
        // Held until the variants are recorded: their bytes count too.
        let memory = self
            .reserve_memory(media_id, probe.peak_memory_bytes, wait_until)
            .await?;
        let deadline = Instant::now() + self.time_limit_of(probe.format, probe.width, probe.height);
        let processed = match process_off_thread(original, deadline).await? {
            Ok(processed) => processed,
            Err(e) => return Ok(Err(e)),
        };
        let finished = self.store_variants(media_id, processed).await?;
        Ok(Ok(Stored { finished, memory }))
    }

    /// Records stored variants and marks the photo ready, then moves its
    /// original to the cold class.
    async fn record(
        &self,
        media_id: Uuid,
        original_key: &str,
        stored: Stored,
        what: &'static str,
    ) -> Result<Outcome, Transient> {
        let Stored { finished, memory } = stored;
        match jobs::finish(&self.db, media_id, &finished, self.match_distance).await? {
            Recorded::Gone => {
                // Deleted (or failed) while we worked: leave no orphans behind.
                for variant in &finished.variants {
                    self.storage.delete(&variant.key).await?;
                }
                return Ok(Outcome::Skipped);
            }
            Recorded::Quarantined => {
                tracing::warn!(%media_id, pdq = %finished.pdq.hash, "photo matches the hash block list; held for review");
                metrics::counter!("media_quarantined_total").increment(1);
                // Its variants leave the public prefix now (the chores would within a minute).
                hashmatch::settle(&self.db, &self.storage, media_id).await;
            }
            Recorded::Ready => {}
        }
        tracing::info!(%media_id, variants = finished.variants.len(), "{what}");
        drop(memory);
        if self.originals_class != StorageClass::Standard
            && originals::class_of(&self.db, media_id).await? != Some(self.originals_class)
        {
            // The photo is ready: a failure here is logged, not retried
            // (the bucket's lifecycle rule moves what the worker missed).
            if let Err(e) = originals::move_to(
                &self.db,
                &self.storage,
                media_id,
                original_key,
                self.originals_class,
            )
            .await
            {
                tracing::warn!(error = ?e, %media_id, "could not record the original's move");
            }
        }
        Ok(Outcome::Processed)
    }

    /// Waits until the estimated peak of processing fits in the budget. An
    /// estimate above the whole budget takes all of it: the photo then runs
    /// alone, the best this process can do. Waiting past `wait_until` is a
    /// transient failure: the job is delivered again later.
    async fn reserve_memory(
        &self,
        media_id: Uuid,
        estimate: u64,
        wait_until: Instant,
    ) -> Result<OwnedSemaphorePermit, Transient> {
        let needed_mb = estimate.div_ceil(1 << 20);
        if needed_mb > u64::from(self.memory_budget_mb) {
            tracing::warn!(%media_id, needed_mb, budget_mb = self.memory_budget_mb, "media job needs more than the memory budget; running it alone");
        }
        let reserved = needed_mb.clamp(1, u64::from(self.memory_budget_mb)) as u32;
        let waiting = metrics::gauge!("media_jobs_waiting_for_memory");
        waiting.increment(1.0);
        let permit = tokio::time::timeout_at(
            wait_until.into(),
            self.memory.clone().acquire_many_owned(reserved),
        )
        .await;
        waiting.decrement(1.0);
        match permit {
            Ok(permit) => Ok(permit.expect("the memory semaphore is never closed")),
            Err(_) => Err(Transient(anyhow::anyhow!(
                "the memory budget stayed taken; the job will come again"
            ))),
        }
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
                name: variant.name.into(),
                format: variant.format.into(),
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
            pdq: processed.pdq,
            variants,
        })
    }
}

/// Variants written to storage, not yet recorded, and the memory their
/// job reserved (released once they are).
struct Stored {
    finished: Finished,
    memory: OwnedSemaphorePermit,
}

/// Decoding is CPU-bound: keep it off the async threads. It stops by itself
/// at `deadline` (`processing_timed_out`). A decoder that panics on a file
/// would panic on every retry, so that file has failed.
async fn process_off_thread(
    original: Vec<u8>,
    deadline: Instant,
) -> Result<Result<Processed, ImageError>, Transient> {
    let task = move || ciel_imaging::process_within(&original, deadline);
    match tokio::task::spawn_blocking(task).await {
        Ok(result) => Ok(result),
        Err(e) if e.is_panic() => Ok(Err(ImageError::Corrupt(
            "the decoder could not read this file".into(),
        ))),
        Err(e) => Err(Transient(anyhow::Error::new(e).context("image task"))),
    }
}
