//! The media job handler, shared by the three ways a job arrives: the
//! serverless trigger's POST, the long-polling worker, and the dev process.
//!
//! Every outcome is either final (acknowledge the message) or transient
//! (leave it to the queue, which redelivers it and, after its max receive
//! count, moves it to the dead-letter queue).

pub mod poller;
pub mod serverless;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use ciel_imaging::{ImageError, MAX_PIXELS, Processed, SourceFormat};
use sqlx::PgPool;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use uuid::Uuid;

use crate::config::WorkerConfig;
use crate::infra::s3::{ObjectError, Storage};
use crate::media::jobs::{self, Finished, Job, NewVariant};
use crate::media::keys;

/// Variants never change once written: their keys are derived from the
/// media id, and a new photo gets a new id.
const VARIANT_CACHE_CONTROL: &str = "public, max-age=31536000, immutable";

/// How much longer a HEIC/AVIF pixel takes than a JPEG one (see `time_limit_of`).
const HEIF_TIME_FACTOR: f64 = 4.0;

/// The failure code of a media whose job reached the dead-letter queue.
pub const ABANDONED: &str = "processing_abandoned";

/// Time a job is given, beyond its processing limit, for its download and
/// its uploads.
pub const IO_ALLOWANCE: Duration = Duration::from_secs(30);

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

/// Why a delivered job was not run.
#[derive(Debug, thiserror::Error)]
pub enum NotRun {
    /// No slot freed up in time, or the process is stopping.
    #[error("no job slot became free in time")]
    Busy,
    #[error(transparent)]
    Transient(#[from] Transient),
}

#[derive(Clone)]
pub struct Worker {
    db: PgPool,
    storage: Storage,
    /// Bounds the jobs held at once; a delivery past it waits for a slot.
    permits: Arc<Semaphore>,
    concurrency: u32,
    /// One permit per MiB of the memory budget: a 48 MP progressive JPEG
    /// needs several times what a 12 MP one does, so a count alone would
    /// either waste the container or let two large photos overrun it.
    memory: Arc<Semaphore>,
    memory_budget_mb: u32,
    /// Processing time of a 50 MP photo; smaller ones get their share.
    job_time_limit: Duration,
    /// From a job's arrival to its answer, waiting included.
    request_timeout: Duration,
    stopping: Arc<watch::Sender<bool>>,
    /// Sends account mail (`send_mail` jobs).
    mailer: Option<Arc<crate::mail::Mailer>>,
}

impl Worker {
    pub fn new(db: PgPool, storage: Storage, config: &WorkerConfig) -> Self {
        let concurrency = u32::try_from(config.concurrency).unwrap_or(u32::MAX);
        Self {
            db,
            storage,
            permits: Arc::new(Semaphore::new(concurrency as usize)),
            concurrency,
            memory: Arc::new(Semaphore::new(config.memory_budget_mb as usize)),
            memory_budget_mb: config.memory_budget_mb,
            job_time_limit: config.job_time_limit,
            request_timeout: config.request_timeout,
            stopping: Arc::new(watch::channel(false).0),
            mailer: None,
        }
    }

    /// Gives the worker its mailer; without one, mail jobs stay pending.
    pub fn with_mailer(mut self, mailer: crate::mail::Mailer) -> Self {
        self.mailer = Some(Arc::new(mailer));
        self
    }

    pub fn permits(&self) -> &Arc<Semaphore> {
        &self.permits
    }

    /// How long a job may keep its message: the long-polling worker stops
    /// extending its visibility after this.
    pub fn request_timeout(&self) -> Duration {
        self.request_timeout
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

    /// Runs a job delivered by a request (the serverless trigger), waiting
    /// for a free slot until the time left allows no more. The job runs on a
    /// task of its own that holds the slot and the memory it reserved until
    /// it really ends, decode included, even if the request goes away.
    pub async fn run_detached(&self, body: String) -> Result<Outcome, NotRun> {
        let wait_until = tokio::time::Instant::now() + self.wait_allowance();
        let waiting = metrics::gauge!("media_jobs_waiting_for_slot");
        waiting.increment(1.0);
        let mut stopping = self.stopping.subscribe();
        let permit = tokio::select! {
            permit = tokio::time::timeout_at(wait_until, self.permits.clone().acquire_owned()) => permit.ok().and_then(Result::ok),
            _ = stopping.wait_for(|stop| *stop) => None,
        };
        waiting.decrement(1.0);
        let Some(permit) = permit else {
            return Err(NotRun::Busy);
        };
        let worker = self.clone();
        let job = tokio::spawn(async move {
            let result = worker.handle_until(&body, wait_until.into_std()).await;
            drop(permit);
            result
        });
        match job.await {
            Ok(result) => Ok(result?),
            Err(e) => Err(Transient(anyhow::Error::new(e).context("media job task")).into()),
        }
    }

    /// Stops taking new jobs and waits, at most `bound`, for the running
    /// ones (and their decodes) to end. True when none is left.
    pub async fn drain(&self, bound: Duration) -> bool {
        self.stopping.send_replace(true);
        let all = tokio::time::timeout(bound, self.permits.acquire_many(self.concurrency)).await;
        let drained = matches!(all, Ok(Ok(_)));
        if !drained {
            let in_flight = self.concurrency as usize - self.permits.available_permits();
            tracing::warn!(in_flight, "stopping with media jobs still running");
        }
        drained
    }

    /// The longest a job may wait for a slot or for memory: what is left of
    /// the request timeout once its processing and I/O are set aside.
    fn wait_allowance(&self) -> Duration {
        self.request_timeout
            .saturating_sub(self.job_time_limit + IO_ALLOWANCE)
    }

    /// Handles one message body. The caller holds a permit.
    pub async fn handle(&self, body: &str) -> Result<Outcome, Transient> {
        self.handle_until(body, Instant::now() + self.wait_allowance())
            .await
    }

    /// Handles one message body, waiting for memory no later than `wait_until`.
    async fn handle_until(&self, body: &str, wait_until: Instant) -> Result<Outcome, Transient> {
        let started = Instant::now();
        let result = self.handle_inner(body, wait_until).await;
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
            Some(Job::SendMail { mail_id }) => {
                // The mail stays pending; the API's sweep queues it again.
                tracing::warn!(%mail_id, "mail job dead-lettered; it will be queued again");
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

    async fn handle_inner(&self, body: &str, wait_until: Instant) -> Result<Outcome, Transient> {
        match self.parse(body).await? {
            None => Ok(Outcome::Unreadable),
            Some(Job::Media { media_id }) => self.process_media(media_id, wait_until).await,
            Some(Job::PurgeAccount { user_id }) => {
                match crate::social::accounts::purge(&self.db, &self.storage, user_id).await? {
                    crate::social::accounts::Purge::Purged => Ok(Outcome::Processed),
                    crate::social::accounts::Purge::NothingToDo => Ok(Outcome::Skipped),
                }
            }
            Some(Job::SendMail { mail_id }) => match &self.mailer {
                Some(mailer) => crate::mail::deliver(&self.db, mailer, mail_id).await,
                None => Err(Transient(anyhow::anyhow!(
                    "this process has no mail settings; the mail stays pending"
                ))),
            },
        }
    }

    async fn process_media(
        &self,
        media_id: Uuid,
        wait_until: Instant,
    ) -> Result<Outcome, Transient> {
        let Some(media) = crate::media::find(&self.db, media_id).await? else {
            return Ok(Outcome::Skipped);
        };
        // Only a completed upload has a job: a message naming a media still
        // pending (its upload not completed) is forged or stale.
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
        // A header the probe cannot read has no trustworthy memory estimate:
        // the photo fails before anything is decoded.
        let probe = match ciel_imaging::probe(&original) {
            Ok(probe) => probe,
            Err(e) => return self.fail(media_id, e.code(), &e.to_string()).await,
        };
        // Held until the variants are stored: their bytes count too.
        let _memory = self
            .reserve_memory(media_id, probe.peak_memory_bytes, wait_until)
            .await?;
        let deadline = Instant::now() + self.time_limit_of(probe.format, probe.width, probe.height);
        let processed = match process_off_thread(original, deadline).await? {
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
