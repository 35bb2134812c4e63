//! The outbox the API writes account mails to, and the sweep that queues
//! again what the queue lost.

use std::time::Duration;

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{MAIL_MAX_AGE, NewMail};
use crate::error::Result;
use crate::infra::queue::Queue;
use crate::jobs::{self, Job};

/// Inserts a mail into the outbox (inside the caller's transaction);
/// queue it with [`queue_mail`] once that has committed.
pub async fn insert(db: &mut PgConnection, mail: NewMail<'_>) -> Result<Uuid> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO mail_outbox (id, user_id, kind, recipient, new_email)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(mail.user_id)
    .bind(mail.kind)
    .bind(mail.recipient)
    .bind(mail.new_email)
    .execute(db)
    .await?;
    Ok(id)
}

/// Writes the mail stating a moderation decision to its user's address
/// (inside the caller's transaction). `None` when the account is gone.
pub async fn insert_decision_mail(
    db: &mut PgConnection,
    user_id: Uuid,
    decision_id: Uuid,
) -> Result<Option<Uuid>> {
    Ok(sqlx::query_scalar(
        "INSERT INTO mail_outbox (id, user_id, kind, recipient, decision_id)
         SELECT $1, id, 'moderation_decision', email, $3 FROM users
          WHERE id = $2 AND deleted_at IS NULL
         RETURNING id",
    )
    .bind(Uuid::now_v7())
    .bind(user_id)
    .bind(decision_id)
    .fetch_optional(db)
    .await?)
}

/// Queues the send job of a mail. Never fails the caller: a mail that
/// could not be queued is queued by the sweep.
pub async fn queue_mail(db: &PgPool, queue: &Queue, mail_id: Uuid) {
    match jobs::enqueue(queue, Job::SendMail { mail_id }).await {
        Ok(()) => {
            if let Err(e) = sqlx::query("UPDATE mail_outbox SET queued_at = now() WHERE id = $1")
                .bind(mail_id)
                .execute(db)
                .await
            {
                tracing::warn!(error = %e, %mail_id, "could not record a queued mail");
            }
        }
        Err(e) => tracing::warn!(error = ?e, %mail_id, "could not queue a mail; the sweep will"),
    }
}

/// Inserts and queues one mail outside any other change.
pub async fn send_later(db: &PgPool, queue: &Queue, mail: NewMail<'_>) -> Result<Uuid> {
    let mut conn = db.acquire().await?;
    let id = insert(&mut conn, mail).await?;
    drop(conn);
    queue_mail(db, queue, id).await;
    Ok(id)
}

/// Queues again the mails still pending whose job was queued `retry_after`
/// ago, or never queued though written that long ago (the job was lost,
/// dead-lettered, or the mail server was down through its retries), and
/// gives up those older than a day. A mail just written is left to the
/// request that wrote it, which queues it itself. The API
/// runs it every minute; tests call it directly.
pub async fn requeue_pending(db: &PgPool, queue: &Queue, retry_after: Duration) -> Result<usize> {
    sqlx::query(
        "UPDATE mail_outbox SET status = 'expired'
         WHERE status = 'pending' AND created_at < now() - make_interval(secs => $1)",
    )
    .bind(MAIL_MAX_AGE.as_secs_f64())
    .execute(db)
    .await?;
    let due: Vec<Uuid> = sqlx::query_scalar(
        "UPDATE mail_outbox SET queued_at = now()
         WHERE id IN (
             SELECT id FROM mail_outbox
             WHERE status = 'pending'
               AND COALESCE(queued_at, created_at) <= now() - make_interval(secs => $1)
             ORDER BY created_at LIMIT 100 FOR UPDATE SKIP LOCKED)
         RETURNING id",
    )
    .bind(retry_after.as_secs_f64())
    .fetch_all(db)
    .await?;
    for mail_id in &due {
        jobs::enqueue(queue, Job::SendMail { mail_id: *mail_id })
            .await
            .map_err(crate::error::Error::Internal)?;
    }
    Ok(due.len())
}

/// Whether an address bounced or complained.
pub async fn is_suppressed(db: &PgPool, address: &str) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM mail_suppressions WHERE address = lower($1))",
    )
    .bind(address.trim())
    .fetch_one(db)
    .await?)
}
