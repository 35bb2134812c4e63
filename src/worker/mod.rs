//! The job runner, shared by the three ways a job arrives: the serverless
//! trigger's POST, the long-polling worker, and the dev process. It holds
//! the slots and delivers each job to its module (media, mail, the purge).
//!
//! Every outcome is either final (acknowledge the message) or transient
//! (leave it to the queue, which redelivers it and, after its max receive
//! count, moves it to the dead-letter queue).

pub mod poller;

use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::PgPool;
use tokio::sync::{Semaphore, watch};

use crate::config::WorkerConfig;
use crate::infra::s3::Storage;
use crate::jobs::Job;
pub use crate::jobs::{Outcome, Transient};
use crate::media::jobs;
use crate::media::process::Processor;

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
    /// Processes the photos of media jobs.
    media: Processor,
    /// From a job's arrival to its answer, waiting included.
    request_timeout: Duration,
    stopping: Arc<watch::Sender<bool>>,
    /// Sends account mail (`send_mail` jobs).
    mailer: Option<Arc<crate::mail::Mailer>>,
    /// Sends pushes (`send_push` jobs); without credentials they are dropped.
    pushers: Arc<crate::push::Pushers>,
    /// Whether this process takes jobs with no time bound (data exports):
    /// the long-polling worker and the dev process, not the serverless
    /// trigger, whose request timeout would cut them.
    long_jobs: bool,
    /// Where exports queue their mail.
    queue: Option<crate::infra::queue::Queue>,
}

impl Worker {
    pub fn new(db: PgPool, storage: Storage, config: &WorkerConfig) -> Self {
        let concurrency = u32::try_from(config.concurrency).unwrap_or(u32::MAX);
        Self {
            media: Processor::new(db.clone(), storage.clone(), config),
            db,
            storage,
            permits: Arc::new(Semaphore::new(concurrency as usize)),
            concurrency,
            request_timeout: config.request_timeout,
            stopping: Arc::new(watch::channel(false).0),
            mailer: None,
            pushers: Arc::new(crate::push::Pushers::default()),
            long_jobs: false,
            queue: None,
        }
    }

    /// Lets this worker build data exports, which queue their mail on `queue`.
    pub fn with_long_jobs(mut self, queue: crate::infra::queue::Queue) -> Self {
        self.long_jobs = true;
        self.queue = Some(queue);
        self
    }

    /// Gives the worker its push providers.
    pub fn with_pushers(mut self, pushers: crate::push::Pushers) -> Self {
        self.pushers = Arc::new(pushers);
        self
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
            .saturating_sub(self.media.job_time_limit() + crate::config::IO_ALLOWANCE)
    }

    /// Handles one message body. The caller holds a permit.
    pub async fn handle(&self, body: &str) -> Result<Outcome, Transient> {
        self.handle_until(body, Instant::now() + self.wait_allowance())
            .await
    }

    /// Handles one message body, waiting for memory no later than `wait_until`.
    async fn handle_until(&self, body: &str, wait_until: Instant) -> Result<Outcome, Transient> {
        let started = Instant::now();
        let job = self.parse(body).await?;
        let kind = job.map_or("unreadable", Job::kind);
        let result = match job {
            None => Ok(Outcome::Unreadable),
            Some(job) => self.run(job, wait_until).await,
        };
        let outcome = match &result {
            Ok(outcome) => outcome.as_str(),
            Err(_) => "transient",
        };
        // The names predate mail and purge jobs; `kind` tells them apart.
        metrics::histogram!("media_job_duration_seconds", "kind" => kind, "outcome" => outcome)
            .record(started.elapsed().as_secs_f64());
        metrics::counter!("media_jobs_total", "kind" => kind, "outcome" => outcome).increment(1);
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
            Some(Job::Reprocess { media_id }) => {
                // The photo stays ready with the variants it has.
                tracing::warn!(%media_id, "reprocess job dead-lettered; the photo keeps its variants");
                return Ok(Outcome::Skipped);
            }
            Some(Job::SendPush { push_id }) => {
                // The push stays pending; the API's sweep queues it again.
                tracing::warn!(%push_id, "push job dead-lettered; it will be queued again");
                return Ok(Outcome::Skipped);
            }
            Some(Job::BuildExport { export_id }) => {
                // The export stays pending; the API's chores queue it again.
                tracing::warn!(%export_id, "export job dead-lettered; it will be queued again");
                return Ok(Outcome::Skipped);
            }
        };
        self.media.abandon(media_id).await
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

    async fn run(&self, job: Job, wait_until: Instant) -> Result<Outcome, Transient> {
        match job {
            Job::Media { media_id } => self.media.process(media_id, wait_until).await,
            Job::Reprocess { media_id } => self.media.reprocess(media_id, wait_until).await,
            Job::PurgeAccount { user_id } => {
                match crate::social::accounts::purge(&self.db, &self.storage, user_id).await? {
                    crate::social::accounts::Purge::Purged => Ok(Outcome::Processed),
                    crate::social::accounts::Purge::NothingToDo => Ok(Outcome::Skipped),
                    crate::social::accounts::Purge::Held => Ok(Outcome::Processed),
                }
            }
            Job::SendMail { mail_id } => match &self.mailer {
                Some(mailer) => crate::mail::deliver(&self.db, mailer, mail_id).await,
                None => Err(Transient(anyhow::anyhow!(
                    "this process has no mail settings; the mail stays pending"
                ))),
            },
            Job::SendPush { push_id } => {
                crate::push::deliver(&self.db, &self.pushers, push_id).await
            }
            Job::BuildExport { export_id } => match (&self.queue, self.long_jobs) {
                (Some(queue), true) => {
                    crate::social::export::build(&self.db, &self.storage, queue, export_id).await
                }
                _ => {
                    // Acknowledged: the export stays pending and the API's
                    // chores queue it again, for a long-polling worker.
                    tracing::info!(%export_id, "export job left to the long-polling worker");
                    Ok(Outcome::Skipped)
                }
            },
        }
    }
}
