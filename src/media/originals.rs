//! Originals once processed: moved to a colder storage class, and read
//! back through a restore when that class needs one.
//!
//! Issue 30: a processed original is kept (reprocessing, a data export, a
//! legal hold) but almost never read, so the worker moves it to
//! `WORKER_ORIGINALS_CLASS` (default Glacier) as soon as its photo is
//! ready; the bucket's lifecycle rule (terraform/modules/storage) moves any
//! it missed after 90 days. Everything that reads an original goes through
//! [`read`]: from Glacier, the first read asks for a restore and records
//! the job that wanted it; [`check_restores`], a chore of every API
//! process, looks at each recorded restore on a widening schedule and
//! queues the job again once the original is readable.

use std::time::Duration;

use sqlx::PgPool;
use uuid::Uuid;

use crate::error::Result;
use crate::infra::queue::Queue;
use crate::infra::s3::{Fetched, ObjectError, Storage, StorageClass};
use crate::jobs::{Job, Transient, enqueue};

/// Days a restored copy stays readable before it goes back to Glacier:
/// the job that asked needs minutes, a later retry gets a second chance.
pub const RESTORE_DAYS: i32 = 2;

/// The first look at a restore, then each one twice as late, at most
/// [`MAX_CHECK_EVERY`] apart. Scaleway: "a few minutes to 24 hours for the
/// restore to start" (objects over 1 MB).
pub const FIRST_CHECK_AFTER: Duration = Duration::from_secs(5 * 60);
pub const MAX_CHECK_EVERY: Duration = Duration::from_secs(60 * 60);

/// Restores looked at per round, so that one round stays short.
const BATCH: i64 = 50;

/// The delay before the look at a restore after `checks` looks.
pub fn check_delay(checks: u32) -> Duration {
    FIRST_CHECK_AFTER
        .saturating_mul(1u32 << checks.min(16))
        .min(MAX_CHECK_EVERY)
}

/// What reading an original came to.
#[derive(Debug)]
pub enum Original {
    Bytes(Vec<u8>),
    /// Archived: a restore is under way, and `then` will be queued again
    /// once the original is readable.
    Restoring,
    /// No such object.
    Missing,
}

/// Reads the original of `media_id` at `key` for the job `then`. From a
/// class that needs a restore, asks for one (unless one runs already) and
/// records `then`, to be queued again by [`check_restores`].
pub async fn read(
    db: &PgPool,
    storage: &Storage,
    media_id: Uuid,
    key: &str,
    then: Job,
) -> std::result::Result<Original, Transient> {
    match storage.fetch(key).await {
        Ok(Fetched::Bytes(bytes)) => Ok(Original::Bytes(bytes)),
        Err(ObjectError::NotFound) => Ok(Original::Missing),
        Err(ObjectError::Unavailable(e)) => Err(Transient(e)),
        Ok(Fetched::Archived) => {
            // A HEAD first: a restore asked by someone else may be running.
            let state = match storage.state_of(key).await {
                Ok(state) => state,
                Err(ObjectError::NotFound) => return Ok(Original::Missing),
                Err(ObjectError::Unavailable(e)) => return Err(Transient(e)),
            };
            if state.restore.is_none() {
                match storage.restore(key, RESTORE_DAYS).await {
                    Ok(()) => {}
                    Err(ObjectError::NotFound) => return Ok(Original::Missing),
                    Err(ObjectError::Unavailable(e)) => return Err(Transient(e)),
                }
            }
            record_restore(db, media_id, then).await?;
            tracing::info!(%media_id, job = then.kind(), "original archived; restore requested, the job waits for it");
            metrics::counter!("media_original_restores_total").increment(1);
            Ok(Original::Restoring)
        }
    }
}

/// Records that `then` waits for the restore of `media_id`'s original. A
/// second wait for the same job keeps the first one's schedule.
pub async fn record_restore(db: &PgPool, media_id: Uuid, then: Job) -> Result<()> {
    sqlx::query(
        "INSERT INTO media_original_restores (media_id, job, next_check_at)
         VALUES ($1, $2, now() + make_interval(secs => $3))
         ON CONFLICT (media_id, job) DO NOTHING",
    )
    .bind(media_id)
    .bind(then.to_body())
    .bind(check_delay(0).as_secs_f64())
    .execute(db)
    .await?;
    Ok(())
}

/// Moves a processed original to `class` and records it. A failure is
/// only logged: the photo is ready either way, and the bucket's lifecycle
/// rule moves what the worker could not.
pub async fn move_to(
    db: &PgPool,
    storage: &Storage,
    media_id: Uuid,
    key: &str,
    class: StorageClass,
) -> Result<()> {
    match storage.set_class(key, class).await {
        Ok(()) => {}
        Err(ObjectError::NotFound) => return Ok(()),
        Err(ObjectError::Unavailable(e)) => {
            tracing::warn!(error = ?e, %media_id, class = class.as_str(), "could not move the original; the lifecycle rule will");
            return Ok(());
        }
    }
    sqlx::query("UPDATE media SET original_class = $2 WHERE id = $1")
        .bind(media_id)
        .bind(class.as_str())
        .execute(db)
        .await?;
    metrics::counter!("media_originals_moved_total", "class" => class.as_str()).increment(1);
    Ok(())
}

/// The class the original of `media_id` was last moved to.
pub async fn class_of(db: &PgPool, media_id: Uuid) -> Result<Option<StorageClass>> {
    let class: Option<String> =
        sqlx::query_scalar("SELECT original_class FROM media WHERE id = $1")
            .bind(media_id)
            .fetch_optional(db)
            .await?;
    Ok(class.and_then(|c| StorageClass::parse(&c)))
}

/// What one round of [`check_restores`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RestoreRound {
    /// Jobs queued again: their original is readable (or gone, which the
    /// job itself then reports).
    pub queued: Vec<Job>,
    /// Restores still running, looked at again later.
    pub waiting: u64,
}

/// One round over the restores due for a look: a HEAD of each original;
/// readable (or gone) queues its job again and forgets the restore; still
/// archived waits longer, and asks again if no restore runs (a copy
/// restored and expired before the job came, or a lost request). Each row
/// is leased before the look, so concurrent rounds of several API
/// processes do not look at the same restore.
pub async fn check_restores(db: &PgPool, storage: &Storage, queue: &Queue) -> Result<RestoreRound> {
    let due: Vec<(Uuid, String, i32, String)> = sqlx::query_as(
        "UPDATE media_original_restores r SET next_check_at = now() + make_interval(secs => $2)
         FROM media m
         WHERE m.id = r.media_id AND (r.media_id, r.job) IN (
             SELECT media_id, job FROM media_original_restores
             WHERE next_check_at <= now()
             ORDER BY next_check_at LIMIT $1
             FOR UPDATE SKIP LOCKED)
         RETURNING r.media_id, r.job, r.checks, m.original_key",
    )
    .bind(BATCH)
    .bind(MAX_CHECK_EVERY.as_secs_f64())
    .fetch_all(db)
    .await?;
    let mut round = RestoreRound::default();
    for (media_id, body, checks, key) in due {
        let Some(job) = Job::parse(&body) else {
            forget(db, media_id, &body).await?;
            continue;
        };
        let readable = match storage.state_of(&key).await {
            Ok(state) if state.readable() => true,
            Ok(state) => {
                if state.restore.is_none() {
                    match storage.restore(&key, RESTORE_DAYS).await {
                        Ok(()) | Err(ObjectError::NotFound) => {}
                        Err(ObjectError::Unavailable(e)) => {
                            tracing::warn!(error = ?e, %media_id, "could not ask for a restore again");
                        }
                    }
                }
                false
            }
            Err(ObjectError::NotFound) => true,
            Err(ObjectError::Unavailable(e)) => {
                tracing::warn!(error = ?e, %media_id, "could not look at a restore");
                false
            }
        };
        if readable {
            // Queued before forgotten: a crash in between queues it twice,
            // which every job survives.
            enqueue(queue, job).await?;
            forget(db, media_id, &body).await?;
            round.queued.push(job);
        } else {
            let checks = u32::try_from(checks).unwrap_or(0).saturating_add(1);
            sqlx::query(
                "UPDATE media_original_restores
                 SET checks = $3, next_check_at = now() + make_interval(secs => $4)
                 WHERE media_id = $1 AND job = $2",
            )
            .bind(media_id)
            .bind(&body)
            .bind(i32::try_from(checks).unwrap_or(i32::MAX))
            .bind(check_delay(checks).as_secs_f64())
            .execute(db)
            .await?;
            round.waiting += 1;
        }
    }
    if !round.queued.is_empty() {
        tracing::info!(
            queued = round.queued.len(),
            waiting = round.waiting,
            "restored originals: jobs queued again"
        );
    }
    Ok(round)
}

async fn forget(db: &PgPool, media_id: Uuid, body: &str) -> Result<()> {
    sqlx::query("DELETE FROM media_original_restores WHERE media_id = $1 AND job = $2")
        .bind(media_id)
        .bind(body)
        .execute(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_widen_from_five_minutes_to_an_hour() {
        let minutes: Vec<u64> = (0..6).map(|n| check_delay(n).as_secs() / 60).collect();
        assert_eq!(minutes, [5, 10, 20, 40, 60, 60]);
        assert_eq!(check_delay(u32::MAX), MAX_CHECK_EVERY);
    }
}
