//! The job-handling modes' settings: slots, memory, time limits, and how
//! the two delivery paths (the serverless trigger and the long poll) meet
//! the queue.

use std::time::Duration;

use super::ConfigError;
use super::env::{Env, fractional_seconds};

/// Time allowed beyond the processing limit for a job's downloads and
/// uploads: the request timeout must leave at least this much.
pub const IO_ALLOWANCE: Duration = Duration::from_secs(30);

/// A storage class of Scaleway Object Storage: the `x-amz-storage-class`
/// values its PutObject documents (`STANDARD`, `ONEZONE_IA`, `GLACIER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageClass {
    Standard,
    OnezoneIa,
    Glacier,
}

impl StorageClass {
    pub fn as_str(self) -> &'static str {
        match self {
            StorageClass::Standard => "STANDARD",
            StorageClass::OnezoneIa => "ONEZONE_IA",
            StorageClass::Glacier => "GLACIER",
        }
    }

    pub fn parse(text: &str) -> Option<StorageClass> {
        match text {
            "STANDARD" => Some(StorageClass::Standard),
            "ONEZONE_IA" => Some(StorageClass::OnezoneIa),
            "GLACIER" => Some(StorageClass::Glacier),
            _ => None,
        }
    }

    /// Whether an object of this class must be restored before a GET.
    pub fn needs_restore(self) -> bool {
        self == StorageClass::Glacier
    }
}

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub concurrency: usize,
    /// Memory the jobs of this process may use at once, in MiB: each job
    /// reserves the imaging crate's estimate of its peak before decoding.
    pub memory_budget_mb: u32,
    pub trigger_path: String,
    /// Where a second trigger, on the dead-letter queue, POSTs.
    pub dead_letter_path: String,
    /// How long a received job stays invisible to other consumers; the
    /// long-polling worker extends it while a job runs.
    pub visibility_timeout: Duration,
    /// How long one receive of the long-polling worker waits for messages.
    pub long_poll: Duration,
    /// Processing time allowed to the largest photo accepted (50 MP); a
    /// smaller one gets its share by pixel count, at least a tenth of it.
    pub job_time_limit: Duration,
    /// The longest a job may take from its arrival to its answer, waiting
    /// for a slot included: the serverless container's timeout. The
    /// long-polling worker stops extending a message's visibility past it.
    pub request_timeout: Duration,
    /// The class an original moves to once its photo is ready
    /// (`WORKER_ORIGINALS_CLASS`, issue 30).
    pub originals_class: StorageClass,
    /// `PDQ_MATCH_DISTANCE`: a photo whose PDQ hash differs from one on the
    /// block list in at most this many of the 256 bits is quarantined
    /// (issue 29; Meta recommends 31).
    pub pdq_match_distance: u32,
}

/// Meta's recommended PDQ match threshold.
pub const DEFAULT_PDQ_MATCH_DISTANCE: u32 = 31;
/// Past this, unrelated photos start to match (two random hashes differ in
/// 128 bits, give or take 8).
pub const MAX_PDQ_MATCH_DISTANCE: u32 = 64;

pub(super) fn worker(env: &Env) -> Result<WorkerConfig, ConfigError> {
    let concurrency: usize = env.positive("WORKER_CONCURRENCY", 2)?;
    let memory_budget_mb: u32 = env.positive("WORKER_MEMORY_BUDGET_MB", 384)?;
    let trigger_path = env.path("WORKER_TRIGGER_PATH", "/")?;
    let dead_letter_path = env.path("WORKER_DEAD_LETTER_PATH", "/dead-letters")?;
    if dead_letter_path == trigger_path {
        return Err(ConfigError {
            var: "WORKER_DEAD_LETTER_PATH",
            problem: "must differ from WORKER_TRIGGER_PATH".into(),
        });
    }
    let job_time_limit = fractional_seconds(env, "WORKER_JOB_TIME_LIMIT_SECS", 30.0)?;
    let request_timeout = env.seconds("WORKER_REQUEST_TIMEOUT_SECS", 300)?;
    if request_timeout < job_time_limit + IO_ALLOWANCE {
        return Err(ConfigError {
            var: "WORKER_REQUEST_TIMEOUT_SECS",
            problem: format!(
                "must exceed WORKER_JOB_TIME_LIMIT_SECS by at least {} s (downloads and uploads)",
                IO_ALLOWANCE.as_secs()
            ),
        });
    }
    Ok(WorkerConfig {
        concurrency,
        memory_budget_mb,
        trigger_path,
        dead_letter_path,
        visibility_timeout: env.seconds("WORKER_VISIBILITY_TIMEOUT_SECS", 60)?,
        long_poll: long_poll(env)?,
        job_time_limit,
        request_timeout,
        originals_class: originals_class(env)?,
        pdq_match_distance: pdq_match_distance(env)?,
    })
}

/// `PDQ_MATCH_DISTANCE`: 0 to 64 bits, default 31.
fn pdq_match_distance(env: &Env) -> Result<u32, ConfigError> {
    let distance: u32 = env.parsed("PDQ_MATCH_DISTANCE", DEFAULT_PDQ_MATCH_DISTANCE)?;
    if distance > MAX_PDQ_MATCH_DISTANCE {
        return Err(ConfigError {
            var: "PDQ_MATCH_DISTANCE",
            problem: format!("must be at most {MAX_PDQ_MATCH_DISTANCE} (of 256 bits)"),
        });
    }
    Ok(distance)
}

/// `WORKER_ORIGINALS_CLASS`: GLACIER (default), ONEZONE_IA or STANDARD
/// (originals stay where the upload put them).
fn originals_class(env: &Env) -> Result<StorageClass, ConfigError> {
    match env.get("WORKER_ORIGINALS_CLASS") {
        None => Ok(StorageClass::Glacier),
        Some(text) => StorageClass::parse(&text).ok_or(ConfigError {
            var: "WORKER_ORIGINALS_CLASS",
            problem: "must be GLACIER, ONEZONE_IA or STANDARD".into(),
        }),
    }
}

/// 1 to 20 s: SQS's longest receive wait.
fn long_poll(env: &Env) -> Result<Duration, ConfigError> {
    let poll = env.seconds("WORKER_LONG_POLL_SECS", 20)?;
    if poll > Duration::from_secs(20) {
        return Err(ConfigError {
            var: "WORKER_LONG_POLL_SECS",
            problem: "must be at most 20 (SQS's longest wait)".into(),
        });
    }
    Ok(poll)
}
