//! The push outbox: rows written with their notification, queued by the
//! request that wrote them, and the sweep that queues again what is due.

use std::time::Duration;

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::PUSH_MAX_AGE;
use crate::error::Result;
use crate::infra::queue::Queue;
use crate::jobs::{self, Job};

/// Settled rows are kept this long (what was sent, for support), then pruned.
const SETTLED_KEPT: Duration = Duration::from_secs(7 * 24 * 3600);

/// Writes the pushes of a new notification, inside the transaction that
/// writes it: one per device of the recipient whose session is live, unless
/// the recipient's settings for `kind` leave the actor out. A like joins a
/// pending push of the same post to the same device (coalesced).
pub async fn write(
    tx: &mut PgConnection,
    notification_id: Uuid,
    recipient: Uuid,
    actor: Uuid,
    kind: &str,
    post_id: Option<Uuid>,
) -> Result<()> {
    let collapse_key = match (kind, post_id) {
        ("like", Some(post)) => Some(format!("like-{}", post.simple())),
        _ => None,
    };
    sqlx::query(
        "INSERT INTO push_outbox (id, device_id, notification_id, recipient_id, actor_id, kind, collapse_key)
         SELECT gen_random_uuid(), d.id, $1, $2, $3, $4, $5
         FROM push_devices d JOIN auth_sessions s ON s.id = d.session_id AND s.revoked_at IS NULL
         CROSS JOIN LATERAL (SELECT COALESCE(
             (SELECT audience FROM push_settings WHERE user_id = $2 AND kind = $4),
             'everyone') AS audience) setting
         WHERE d.user_id = $2
           AND setting.audience <> 'off'
           AND (setting.audience = 'everyone'
                OR EXISTS (SELECT 1 FROM follows WHERE follower_id = $2 AND followee_id = $3))
         ON CONFLICT (device_id, collapse_key) WHERE status = 'pending' AND collapse_key IS NOT NULL
         DO UPDATE SET notification_id = EXCLUDED.notification_id, actor_id = EXCLUDED.actor_id,
                       generation = push_outbox.generation + 1, queued_at = NULL",
    )
    .bind(notification_id)
    .bind(recipient)
    .bind(actor)
    .bind(kind)
    .bind(collapse_key)
    .execute(tx)
    .await?;
    Ok(())
}

/// Queues the send jobs of the pushes `actor`'s request just wrote, once
/// it has committed. Never fails the caller: what could not be queued is
/// queued by the sweep.
pub async fn queue_written_by(db: &PgPool, queue: &Queue, actor: Uuid) {
    let claimed: Result<Vec<Uuid>, sqlx::Error> = sqlx::query_scalar(
        "UPDATE push_outbox SET queued_at = now()
         WHERE id IN (
             SELECT id FROM push_outbox
             WHERE actor_id = $1 AND status = 'pending' AND queued_at IS NULL
               AND next_attempt_at IS NULL
             LIMIT 100 FOR UPDATE SKIP LOCKED)
         RETURNING id",
    )
    .bind(actor)
    .fetch_all(db)
    .await;
    let ids = match claimed {
        Ok(ids) => ids,
        Err(e) => {
            tracing::warn!(error = %e, "could not claim pushes to queue; the sweep will");
            return;
        }
    };
    for push_id in ids {
        if let Err(e) = jobs::enqueue(queue, Job::SendPush { push_id }).await {
            tracing::warn!(error = ?e, %push_id, "could not queue a push; the sweep will");
        }
    }
}

/// The sweep, run by the API every minute (tests call it directly): gives
/// up pushes older than a day, queues again those due (never queued and
/// written `retry_after` ago, queued `retry_after` ago and still pending,
/// or past their back-off), prunes settled rows after a week, and records
/// the age of the oldest unsent push. Returns how many it queued.
pub async fn requeue_pending(db: &PgPool, queue: &Queue, retry_after: Duration) -> Result<usize> {
    sqlx::query(
        "UPDATE push_outbox SET status = 'expired', last_error = COALESCE(last_error, 'a day old')
         WHERE status = 'pending' AND created_at < now() - make_interval(secs => $1)",
    )
    .bind(PUSH_MAX_AGE.as_secs_f64())
    .execute(db)
    .await?;
    sqlx::query(
        "DELETE FROM push_outbox
         WHERE status <> 'pending' AND created_at < now() - make_interval(secs => $1)",
    )
    .bind(SETTLED_KEPT.as_secs_f64())
    .execute(db)
    .await?;
    let due: Vec<Uuid> = sqlx::query_scalar(
        "UPDATE push_outbox SET queued_at = now()
         WHERE id IN (
             SELECT id FROM push_outbox
             WHERE status = 'pending'
               AND (sending_until IS NULL OR sending_until < now())
               AND CASE WHEN queued_at IS NOT NULL
                        THEN queued_at <= now() - make_interval(secs => $1)
                        ELSE COALESCE(next_attempt_at, created_at + make_interval(secs => $1)) <= now()
                   END
             ORDER BY created_at LIMIT 500 FOR UPDATE SKIP LOCKED)
         RETURNING id",
    )
    .bind(retry_after.as_secs_f64())
    .fetch_all(db)
    .await?;
    for push_id in &due {
        jobs::enqueue(queue, Job::SendPush { push_id: *push_id })
            .await
            .map_err(crate::error::Error::Internal)?;
    }
    let oldest: Option<f64> = sqlx::query_scalar(
        "SELECT EXTRACT(EPOCH FROM now() - min(created_at))::float8
         FROM push_outbox WHERE status = 'pending'",
    )
    .fetch_one(db)
    .await?;
    metrics::gauge!("push_oldest_unsent_seconds").set(oldest.unwrap_or(0.0));
    Ok(due.len())
}
