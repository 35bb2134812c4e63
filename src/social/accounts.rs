//! Account deletion. `DELETE /v1/me` hides the account and ends its
//! sessions at once, then a queued job purges every row and object of it.
//! The purge is idempotent: objects go first, rows last, so a crash or a
//! redelivery at any point only repeats work.

use std::time::Duration;

use sqlx::PgPool;
use uuid::Uuid;

use super::feed::Timelines;
use super::holds;
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
           AND NOT EXISTS (SELECT 1 FROM legal_holds h WHERE h.owner_id = users.id
                           AND h.released_at IS NULL)
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
    /// Legal holds keep part or all of it: the rest is deleted, the account
    /// row stays (deleted, so invisible) until the holds end, when the
    /// chores purge again.
    Held,
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
    let kept = holds::kept_of(db, user).await?;
    if kept.account {
        tracing::info!(%user, "account under a legal hold: nothing purged until it ends");
        return Ok(Purge::Held);
    }
    let media: Vec<(Uuid, String)> = sqlx::query_as(
        "SELECT id, original_key FROM media WHERE owner_id = $1 AND NOT (id = ANY($2))",
    )
    .bind(user)
    .bind(&kept.media)
    .fetch_all(db)
    .await?;
    // Not while a move runs: it could copy a variant back after this.
    crate::media::withhold::exclusive(db, crate::media::withhold::Wait::Yes, async {
        Ok(crate::media::delete_objects(storage, &media).await?)
    })
    .await?;
    // Uploads put after their row was deleted have no row to find them by.
    let kept_keys: Vec<String> = kept
        .media
        .iter()
        .map(|id| crate::media::keys::original(user, *id))
        .collect();
    for key in storage
        .list_keys(&crate::media::keys::originals_of(user))
        .await?
    {
        if !kept_keys.contains(&key) {
            storage.delete(&key).await?;
        }
    }
    for key in storage
        .list_keys(&crate::social::export::prefix_of(user))
        .await?
    {
        storage.delete(&key).await?;
    }
    let mut tx = db.begin().await?;
    // Reports about the account or its content name it by id only. Those
    // about held posts, and about a held account's owner, stay as evidence.
    sqlx::query(
        "DELETE FROM reports WHERE NOT (target_id = ANY($2)) AND NOT ($3 AND target_id = $1) AND (
            target_id = $1
            OR target_id IN (SELECT id FROM posts WHERE author_id = $1)
            OR target_id IN (SELECT id FROM comments WHERE author_id = $1)
            OR target_id IN (SELECT id FROM stories WHERE author_id = $1))",
    )
    .bind(user)
    .bind(&kept.posts)
    .bind(kept.anything())
    .execute(&mut *tx)
    .await?;
    if kept.anything() {
        purge_around(&mut tx, user, &kept).await?;
        tx.commit().await?;
        tracing::info!(%user, posts = kept.posts.len(), media = kept.media.len(), "account purged but for what legal holds keep");
        return Ok(Purge::Held);
    }
    sqlx::query("DELETE FROM users WHERE id = $1 AND deleted_at IS NOT NULL")
        .bind(user)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(%user, media = media.len(), "account purged");
    Ok(Purge::Purged)
}

/// Deletes every row of the account but its `users` row and what `kept`
/// names: each table referring to `users` with `ON DELETE CASCADE` (read
/// from the catalogue, so a table added later is not forgotten), then the
/// posts and photos no hold keeps.
async fn purge_around(
    tx: &mut sqlx::PgConnection,
    user: Uuid,
    kept: &holds::Kept,
) -> anyhow::Result<()> {
    let references: Vec<(String, String)> = sqlx::query_as(
        "SELECT quote_ident(n.nspname) || '.' || quote_ident(t.relname), quote_ident(a.attname)
         FROM pg_constraint c
         JOIN pg_class t ON t.oid = c.conrelid
         JOIN pg_namespace n ON n.oid = t.relnamespace
         JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
         WHERE c.contype = 'f' AND c.confrelid = 'users'::regclass AND c.confdeltype = 'c'
           AND cardinality(c.conkey) = 1 AND t.relname NOT IN ('posts', 'media')
         ORDER BY t.relname, a.attname",
    )
    .fetch_all(&mut *tx)
    .await?;
    for (table, column) in references {
        // Names from the catalogue, quoted by PostgreSQL: not user input.
        sqlx::query(&format!("DELETE FROM {table} WHERE {column} = $1"))
            .bind(user)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("DELETE FROM posts WHERE author_id = $1 AND NOT (id = ANY($2))")
        .bind(user)
        .bind(&kept.posts)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM media WHERE owner_id = $1 AND NOT (id = ANY($2))")
        .bind(user)
        .bind(&kept.media)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// The chore: ends the holds whose time is up, then deletes what ended
/// holds kept and nothing else keeps: the rest of a deleted account (its
/// purge runs again), and posts their authors deleted while held. Returns
/// how many holds ended.
pub async fn end_legal_holds(db: &PgPool, storage: &Storage) -> anyhow::Result<usize> {
    let ended: Vec<Uuid> = sqlx::query_scalar(
        "UPDATE legal_holds SET released_at = expires_at
         WHERE released_at IS NULL AND expires_at <= now() RETURNING owner_id",
    )
    .fetch_all(db)
    .await?;
    // Accounts deleted while held: purge again what no hold keeps now.
    let owners: Vec<Uuid> = sqlx::query_scalar(&format!(
        "SELECT u.id FROM users u WHERE u.deleted_at IS NOT NULL
           AND EXISTS (SELECT 1 FROM legal_holds h WHERE h.owner_id = u.id AND h.released_at IS NOT NULL)
           AND NOT EXISTS (SELECT 1 FROM legal_holds h WHERE h.owner_id = u.id AND {})
         LIMIT 20",
        holds::ACTIVE
    ))
    .fetch_all(db)
    .await?;
    for owner in owners {
        purge(db, storage, owner).await?;
    }
    // Posts deleted by their authors while held.
    let posts: Vec<Uuid> = sqlx::query_scalar("SELECT post_id FROM legal_hold_deletions LIMIT 100")
        .fetch_all(db)
        .await?;
    for post in posts {
        if holds::keeps_post(db, post).await? {
            continue;
        }
        crate::social::posts::erase(db, storage, post).await?;
        sqlx::query("DELETE FROM legal_hold_deletions WHERE post_id = $1")
            .bind(post)
            .execute(db)
            .await?;
    }
    Ok(ended.len())
}
