//! Account deletion. `DELETE /v1/me` hides the account and ends its
//! sessions at once, then a queued job purges every row and object of it.
//! The purge is idempotent: objects go first, rows last, so a crash or a
//! redelivery at any point only repeats work.

use std::time::Duration;

use sqlx::PgPool;
use uuid::Uuid;

use super::feed::Timelines;
use crate::auth::{Auth, Revocation};
use crate::error::{Error, Result};
use crate::infra::queue::Queue;
use crate::infra::s3::Storage;
use crate::jobs::{self, Job};

/// A deleted account whose purge has not run after this long is queued
/// again (the first message was lost, or dead-lettered).
pub const PURGE_RETRY_AFTER: Duration = Duration::from_secs(10 * 60);

/// Hides the account, ends its sessions and queues its purge. The password
/// confirms that the owner, not a stolen phone, asks.
pub async fn delete(
    db: &PgPool,
    auth: &Auth,
    queue: &Queue,
    timelines: &Timelines,
    user: Uuid,
    session: Uuid,
    password: &str,
) -> Result<()> {
    auth.confirm_password(user, session, password).await?;
    let mut tx = db.begin().await?;
    sqlx::query("UPDATE users SET deleted_at = COALESCE(deleted_at, now()) WHERE id = $1")
        .bind(user)
        .execute(&mut *tx)
        .await?;
    let ended = auth
        .end_all_sessions(&mut tx, user, Revocation::AccountDeleted)
        .await?;
    tx.commit().await?;
    auth.publish_ended(&ended).await;
    timelines.invalidate(user).await;
    if let Err(e) = jobs::enqueue(queue, Job::PurgeAccount { user_id: user }).await {
        // The account is already invisible; the sweep queues the purge again.
        tracing::warn!(error = ?e, %user, "could not queue an account purge; the sweep will");
    }
    Ok(())
}

/// Queues again the purges of accounts deleted long ago and still there.
pub async fn requeue_stalled_purges(db: &PgPool, queue: &Queue) -> Result<usize> {
    let stalled: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM users WHERE deleted_at < now() - make_interval(secs => $1)
         ORDER BY deleted_at LIMIT 100",
    )
    .bind(PURGE_RETRY_AFTER.as_secs_f64())
    .fetch_all(db)
    .await?;
    for user_id in &stalled {
        jobs::enqueue(queue, Job::PurgeAccount { user_id: *user_id })
            .await
            .map_err(Error::Internal)?;
    }
    Ok(stalled.len())
}

/// What a purge found.
#[derive(Debug, PartialEq, Eq)]
pub enum Purge {
    Purged,
    /// Already purged, or never deleted: a live account is never purged,
    /// whatever a message says.
    NothingToDo,
}

/// Deletes every object and then every row of a deleted account.
pub async fn purge(db: &PgPool, storage: &Storage, user: Uuid) -> anyhow::Result<Purge> {
    let deleted: Option<bool> =
        sqlx::query_scalar("SELECT deleted_at IS NOT NULL FROM users WHERE id = $1")
            .bind(user)
            .fetch_optional(db)
            .await?;
    if deleted != Some(true) {
        return Ok(Purge::NothingToDo);
    }
    let media: Vec<(Uuid, String)> =
        sqlx::query_as("SELECT id, original_key FROM media WHERE owner_id = $1")
            .bind(user)
            .fetch_all(db)
            .await?;
    // Not while a move runs: it could copy a variant back after this.
    crate::media::withhold::exclusive(db, crate::media::withhold::Wait::Yes, async {
        Ok(crate::media::delete_objects(storage, &media).await?)
    })
    .await?;
    // Uploads put after their row was deleted have no row to find them by.
    for key in storage
        .list_keys(&crate::media::keys::originals_of(user))
        .await?
    {
        storage.delete(&key).await?;
    }
    let mut tx = db.begin().await?;
    // Reports about the account or its content name it by id only.
    sqlx::query(
        "DELETE FROM reports WHERE target_id = $1
            OR target_id IN (SELECT id FROM posts WHERE author_id = $1)
            OR target_id IN (SELECT id FROM comments WHERE author_id = $1)
            OR target_id IN (SELECT id FROM stories WHERE author_id = $1)",
    )
    .bind(user)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM users WHERE id = $1 AND deleted_at IS NOT NULL")
        .bind(user)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(%user, media = media.len(), "account purged");
    Ok(Purge::Purged)
}
