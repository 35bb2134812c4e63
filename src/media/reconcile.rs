//! No photo stays unfinished, whatever the queue does. A media `queued` or
//! `processing` for longer than any job may take has lost its job: the
//! message vanished, the trigger gave up after its retries, or every
//! delivery died with its worker. The reconciler queues it again, a bounded
//! number of times, then fails it. It depends on neither the dead-letter
//! queue nor the trigger's retry policy, which stay as faster paths.

use sqlx::PgPool;
use uuid::Uuid;

use crate::config::ReconcileConfig;
use crate::error::Result;
use crate::infra::queue::Queue;
use crate::jobs::{self, Job};

/// One reconciler at a time across the API instances: the transaction-level
/// advisory lock of this key ("cielreco").
const LOCK_KEY: i64 = 0x6369_656c_7265_636f;

/// Media handled per round, so that one round stays one short transaction.
const BATCH: i64 = 100;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Round {
    pub requeued: Vec<Uuid>,
    pub abandoned: u64,
}

/// One round. `None` when another instance holds the lock.
pub async fn run_once(
    db: &PgPool,
    queue: &Queue,
    config: &ReconcileConfig,
) -> Result<Option<Round>> {
    let stuck_secs = config.stuck_after.as_secs_f64();
    let mut tx = db.begin().await?;
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
        .bind(LOCK_KEY)
        .fetch_one(&mut *tx)
        .await?;
    if !locked {
        return Ok(None);
    }
    let abandoned = sqlx::query(
        "UPDATE media SET status = 'failed', error_code = $3, error_message = $4, updated_at = now()
         WHERE status IN ('queued', 'processing')
           AND updated_at < now() - make_interval(secs => $1)
           AND requeues >= $2",
    )
    .bind(stuck_secs)
    .bind(config.max_requeues as i32)
    .bind(super::jobs::ABANDONED)
    .bind(super::jobs::ABANDONED_MESSAGE)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    // The clock restarts with each requeue, so a media gets a whole
    // deadline per attempt.
    let requeued: Vec<Uuid> = sqlx::query_scalar(
        "UPDATE media SET requeues = requeues + 1, updated_at = now()
         WHERE id IN (SELECT id FROM media
                      WHERE status IN ('queued', 'processing')
                        AND updated_at < now() - make_interval(secs => $1)
                        AND requeues < $2
                      ORDER BY updated_at LIMIT $3
                      FOR UPDATE SKIP LOCKED)
         RETURNING id",
    )
    .bind(stuck_secs)
    .bind(config.max_requeues as i32)
    .bind(BATCH)
    .fetch_all(&mut *tx)
    .await?;
    // Committed before sending: a worker that gets the message at once
    // must find the media as the round left it.
    tx.commit().await?;
    for media_id in &requeued {
        let job = Job::Media {
            media_id: *media_id,
        };
        if let Err(e) = jobs::enqueue(queue, job).await {
            // Still stuck: the next round after the deadline tries again.
            tracing::warn!(error = ?e, %media_id, "could not queue a stuck media again");
        }
    }
    if abandoned > 0 || !requeued.is_empty() {
        tracing::warn!(
            requeued = requeued.len(),
            abandoned,
            "reconciled stuck media"
        );
    }
    metrics::counter!("media_requeued_total").increment(requeued.len() as u64);
    metrics::counter!("media_jobs_abandoned_total").increment(abandoned);
    Ok(Some(Round {
        requeued,
        abandoned,
    }))
}

/// Runs rounds every `config.every` until `alive` says the process is gone.
pub async fn run(
    db: PgPool,
    queue: Queue,
    config: ReconcileConfig,
    mut alive: impl FnMut() -> bool,
) {
    let mut every = tokio::time::interval(config.every);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if !alive() {
            break;
        }
        if let Err(e) = run_once(&db, &queue, &config).await {
            tracing::warn!(error = %e, "could not reconcile stuck media");
        }
    }
}
