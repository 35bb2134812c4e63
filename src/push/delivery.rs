//! The worker's side of push: a lease on the outbox row, everything checked
//! again (undone, read, blocked, settings, the actor gone), the payload
//! built, the provider's answer recorded.

use std::time::Duration;

use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use super::apns::{Apns, ApnsPush};
use super::fcm::Fcm;
use super::payload::Push;
use super::{Environment, PUSH_MAX_AGE, Provider, SendError, devices, unread_count};
use crate::config::PushConfig;
use crate::jobs::{Outcome, Transient};

/// Longer than one exchange with a provider (15 s) and the token fetch.
const SENDING_LEASE: Duration = Duration::from_secs(60);
/// The first retry waits this long, doubling per attempt up to [`BACKOFF_MAX`].
const BACKOFF_BASE: Duration = Duration::from_secs(30);
const BACKOFF_MAX: Duration = Duration::from_secs(30 * 60);

/// The providers this process can push through.
#[derive(Default)]
pub struct Pushers {
    apns: Option<Apns>,
    fcm: Option<Fcm>,
}

impl Pushers {
    pub fn new(config: Option<&PushConfig>) -> anyhow::Result<Self> {
        let Some(config) = config else {
            return Ok(Self::default());
        };
        let pushers = Self {
            apns: config.apns.as_ref().map(Apns::new).transpose()?,
            fcm: config.fcm.as_ref().map(Fcm::new).transpose()?,
        };
        if pushers.apns.is_none() && pushers.fcm.is_none() {
            tracing::info!("no push credentials: pushes are recorded and dropped unsent");
        }
        Ok(pushers)
    }
}

#[derive(sqlx::FromRow)]
struct Claimed {
    device_id: Uuid,
    notification_id: Uuid,
    recipient_id: Uuid,
    kind: String,
    collapse_key: Option<String>,
    generation: i32,
    attempts: i32,
    created_at: OffsetDateTime,
    provider: Provider,
    token: String,
    environment: Environment,
}

#[derive(sqlx::FromRow)]
struct Subject {
    notification_id: Uuid,
    post_id: Option<Uuid>,
    handle: String,
    total: i64,
}

fn count(provider: Provider, result: &'static str) {
    metrics::counter!("push_sent_total", "provider" => provider.as_str(), "result" => result)
        .increment(1);
}

/// Sends one outbox push: the worker's `send_push` job. Idempotent: a push
/// sent, settled, in back-off or held by another delivery is skipped.
pub async fn deliver(db: &PgPool, pushers: &Pushers, push_id: Uuid) -> Result<Outcome, Transient> {
    let Some(row) = claim(db, push_id).await? else {
        return Ok(Outcome::Skipped);
    };
    let outcome = deliver_claimed(db, pushers, push_id, &row).await;
    if outcome.is_err() {
        release(db, push_id).await;
    }
    outcome
}

async fn deliver_claimed(
    db: &PgPool,
    pushers: &Pushers,
    push_id: Uuid,
    row: &Claimed,
) -> Result<Outcome, Transient> {
    if OffsetDateTime::now_utc() - row.created_at > PUSH_MAX_AGE {
        return settle(db, push_id, "expired", "a day old").await;
    }
    let Some(subject) = subject(db, row).await? else {
        return settle(db, push_id, "dropped", "no longer due").await;
    };
    let push = Push {
        kind: row.kind.clone(),
        notification_id: subject.notification_id,
        post_id: subject.post_id,
        actor_handle: subject.handle,
        others: (subject.total - 1).max(0),
        badge: unread_count(db, row.recipient_id).await?,
        collapse_key: row.collapse_key.clone(),
    };
    let sent = match row.provider {
        Provider::Apns => match &pushers.apns {
            Some(apns) => {
                let payload = push.apns();
                apns.send(
                    db,
                    &ApnsPush {
                        environment: row.environment,
                        device_token: &row.token,
                        payload: &payload,
                        collapse_id: row.collapse_key.as_deref(),
                    },
                )
                .await
            }
            None => return unconfigured(db, push_id, row.provider).await,
        },
        Provider::Fcm => match &pushers.fcm {
            Some(fcm) => fcm.send(&push.fcm(&row.token)).await,
            None => return unconfigured(db, push_id, row.provider).await,
        },
    };
    match sent {
        Ok(()) => {
            count(row.provider, "sent");
            let marked = sqlx::query(
                "UPDATE push_outbox SET status = 'sent', sent_at = now(), attempts = attempts + 1,
                        last_error = NULL, sending_until = NULL
                 WHERE id = $1 AND status = 'pending' AND generation = $2",
            )
            .bind(push_id)
            .bind(row.generation)
            .execute(db)
            .await?
            .rows_affected();
            if marked == 0 {
                // A newer like joined it while it was sent: the sweep sends
                // that one, under the same collapse id.
                sqlx::query(
                    "UPDATE push_outbox SET sending_until = NULL, queued_at = NULL, attempts = attempts + 1
                     WHERE id = $1",
                )
                .bind(push_id)
                .execute(db)
                .await?;
            }
            tracing::info!(%push_id, provider = row.provider.as_str(), kind = %row.kind, "push sent");
            Ok(Outcome::Processed)
        }
        Err(SendError::Unregistered(reason)) => {
            count(row.provider, "unregistered");
            tracing::info!(%push_id, %reason, "the provider says the device is gone; removed");
            devices::remove(db, row.device_id).await?;
            Ok(Outcome::Failed {
                code: "push_device_unregistered",
            })
        }
        Err(SendError::Rejected(reason)) => {
            count(row.provider, "rejected");
            tracing::warn!(%push_id, %reason, "the provider refused a push for good");
            settle(db, push_id, "failed", &reason).await?;
            Ok(Outcome::Failed {
                code: "push_rejected",
            })
        }
        Err(SendError::Retry { reason, after }) => {
            count(row.provider, "retry");
            let exponent = u32::try_from(row.attempts).unwrap_or(0).min(10);
            let backoff = BACKOFF_BASE.saturating_mul(1 << exponent).min(BACKOFF_MAX);
            let wait = after.map_or(backoff, |after| after.max(backoff));
            tracing::warn!(%push_id, %reason, wait_secs = wait.as_secs(), "push not sent; retried later");
            let reason: String = reason.chars().take(500).collect();
            sqlx::query(
                "UPDATE push_outbox SET attempts = attempts + 1, last_error = $2, sending_until = NULL,
                        queued_at = NULL, next_attempt_at = now() + make_interval(secs => $3)
                 WHERE id = $1 AND status = 'pending'",
            )
            .bind(push_id)
            .bind(reason)
            .bind(wait.as_secs_f64())
            .execute(db)
            .await?;
            // Acknowledged: the row holds the back-off, and the sweep queues
            // it again once due (the queue's own redelivery cannot wait that long).
            Ok(Outcome::Skipped)
        }
    }
}

/// Claims a pending push that is due, unless another delivery holds it.
async fn claim(db: &PgPool, push_id: Uuid) -> Result<Option<Claimed>, Transient> {
    Ok(sqlx::query_as(
        "WITH claimed AS (
             UPDATE push_outbox SET sending_until = now() + make_interval(secs => $2)
             WHERE id = $1 AND status = 'pending'
               AND (sending_until IS NULL OR sending_until < now())
               AND (next_attempt_at IS NULL OR next_attempt_at <= now())
             RETURNING device_id, notification_id, recipient_id, kind, collapse_key, generation,
                       attempts, created_at)
         SELECT c.*, d.provider, d.token, d.environment
         FROM claimed c JOIN push_devices d ON d.id = c.device_id",
    )
    .bind(push_id)
    .bind(SENDING_LEASE.as_secs_f64())
    .fetch_optional(db)
    .await?)
}

/// What the push tells of, if it is still due: the notification (for
/// coalesced likes, the newest like of the post still due) and how many
/// it stands for. None when it was undone, read, blocked, filtered out by
/// the settings, or its actor or post is gone.
async fn subject(db: &PgPool, row: &Claimed) -> Result<Option<Subject>, Transient> {
    Ok(sqlx::query_as(&format!(
        "WITH pushed AS (SELECT type, post_id FROM notifications WHERE id = $1),
              setting AS (SELECT COALESCE(
                  (SELECT audience FROM push_settings WHERE user_id = $2 AND kind = $3),
                  'everyone') AS audience)
         SELECT n.id AS notification_id, n.post_id, u.handle, count(*) OVER () AS total
         FROM notifications n JOIN users u ON u.id = n.actor_id, pushed, setting
         WHERE n.recipient_id = $2
           AND (CASE WHEN $4 THEN n.type = pushed.type AND n.post_id = pushed.post_id
                     ELSE n.id = $1 END)
           AND n.read_at IS NULL AND {}
           AND NOT EXISTS (SELECT 1 FROM blocks b
                           WHERE b.blocker_id = n.actor_id AND b.blocked_id = $2)
           AND setting.audience <> 'off'
           AND (setting.audience = 'everyone'
                OR EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = $2 AND f.followee_id = n.actor_id))
         ORDER BY n.id DESC LIMIT 1",
        super::badge::shown_to("$2")
    ))
    .bind(row.notification_id)
    .bind(row.recipient_id)
    .bind(&row.kind)
    .bind(row.collapse_key.is_some())
    .fetch_optional(db)
    .await?)
}

async fn unconfigured(
    db: &PgPool,
    push_id: Uuid,
    provider: Provider,
) -> Result<Outcome, Transient> {
    count(provider, "unconfigured");
    settle(
        db,
        push_id,
        "dropped",
        &format!("no {} credentials", provider.as_str()),
    )
    .await
}

async fn settle(
    db: &PgPool,
    push_id: Uuid,
    status: &str,
    reason: &str,
) -> Result<Outcome, Transient> {
    sqlx::query(
        "UPDATE push_outbox SET status = $2::push_status, last_error = COALESCE(last_error, $3),
                sending_until = NULL
         WHERE id = $1 AND status = 'pending'",
    )
    .bind(push_id)
    .bind(status)
    .bind(reason)
    .execute(db)
    .await?;
    Ok(Outcome::Skipped)
}

/// Lets a redelivery after a transient failure send at once; if this fails
/// too, the lease runs out by itself.
async fn release(db: &PgPool, push_id: Uuid) {
    if let Err(e) = sqlx::query("UPDATE push_outbox SET sending_until = NULL WHERE id = $1")
        .bind(push_id)
        .execute(db)
        .await
    {
        tracing::warn!(error = %e, %push_id, "could not release a push's sending lease");
    }
}
