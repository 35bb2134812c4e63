//! Photos that must stop being public while they are kept: the photos of a
//! taken-down post, every photo of a suspended or deleted account (until
//! its purge), and photos held for review or confirmed by hash matching
//! (`super::hashmatch`). Their variant objects move out of `variants/` (the prefix
//! presigned and CDN URLs point into, and the only one a CDN may read) to
//! `withheld/`, and the CDN is told to forget them; a reversed decision moves
//! them back. The URLs handed out before stop working as soon as the move is
//! done: the key they name is gone.
//!
//! Story photos are not moved: their variants already live out of the
//! public prefix, behind URLs that expire within half an hour
//! (`crate::social::stories::photos`), and reads stop showing them at once.
//!
//! `media.variants_withheld` records where the objects are; the wanted state
//! follows from the posts and the accounts. Decisions settle their photos at
//! once ([`settle`]), and the API's chores settle whatever that missed
//! ([`reconcile`]), so a storage outage delays a move, never loses it.

use std::time::Duration;

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::keys;
use crate::infra::cdn::{PURGE_BATCH, Purger};
use crate::infra::s3::{ObjectError, Storage};

/// Photos settled per chore run: a bound on one run's work.
pub const RECONCILE_BATCH: i64 = 200;
/// One advisory lock for every move: two instances never move the same
/// photo opposite ways at once.
const MOVES_LOCK: i64 = 0x63_69_65_6c_77_68; // "cielwh"
/// A purge that Edge Services kept refusing is dropped after this long.
const PURGE_GIVE_UP_AFTER: Duration = Duration::from_secs(24 * 3600);

/// Photos that should be withheld and are not, or the reverse.
const UNSETTLED_SQL: &str = "
    SELECT pm.media_id FROM posts p
      JOIN post_media pm ON pm.post_id = p.id
      JOIN media m ON m.id = pm.media_id
     WHERE p.taken_down_at IS NOT NULL AND NOT m.variants_withheld AND m.status = 'ready'
    UNION
    SELECT m.id FROM users u JOIN media m ON m.owner_id = u.id
     WHERE (u.suspended_at IS NOT NULL OR u.deleted_at IS NOT NULL)
       AND NOT m.variants_withheld AND m.status = 'ready' AND NOT m.variants_private
    UNION
    SELECT m.id FROM media_quarantine q JOIN media m ON m.id = q.media_id
     WHERE q.state <> 'released' AND NOT m.variants_withheld AND m.status = 'ready'
    UNION
    SELECT m.id FROM media m
     WHERE m.variants_withheld
       AND NOT EXISTS (SELECT 1 FROM post_media pm JOIN posts p ON p.id = pm.post_id
                        WHERE pm.media_id = m.id AND p.taken_down_at IS NOT NULL)
       AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = m.owner_id
                        AND (u.suspended_at IS NOT NULL OR u.deleted_at IS NOT NULL))
       AND NOT EXISTS (SELECT 1 FROM media_quarantine q
                        WHERE q.media_id = m.id AND q.state <> 'released')
    LIMIT $1";

/// Whether each photo should be withheld, and whether it is.
const STATE_SQL: &str = "
    SELECT m.id, m.variants_withheld,
           EXISTS (SELECT 1 FROM post_media pm JOIN posts p ON p.id = pm.post_id
                    WHERE pm.media_id = m.id AND p.taken_down_at IS NOT NULL)
           OR EXISTS (SELECT 1 FROM users u WHERE u.id = m.owner_id
                       AND (u.suspended_at IS NOT NULL OR u.deleted_at IS NOT NULL))
           OR EXISTS (SELECT 1 FROM media_quarantine q
                       WHERE q.media_id = m.id AND q.state <> 'released')
             AS should_withhold
      FROM media m WHERE m.id = ANY($1) AND m.status = 'ready' AND NOT m.variants_private";

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Settled {
    pub withheld: usize,
    pub restored: usize,
}

/// The photos of `post`, to settle after a decision about it.
pub async fn photos_of_post(db: &PgPool, post: Uuid) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar("SELECT media_id FROM post_media WHERE post_id = $1")
        .bind(post)
        .fetch_all(db)
        .await
}

/// Moves the variants of `media` to where the decisions about them say.
pub async fn settle(db: &PgPool, storage: &Storage, media: &[Uuid]) -> anyhow::Result<Settled> {
    let media = media.to_vec();
    let settled = exclusive(db, Wait::Yes, settle_locked(db, storage, &media)).await?;
    Ok(settled.unwrap_or_default())
}

/// The chore: settles up to [`RECONCILE_BATCH`] photos that a decision left
/// unsettled. Another instance's run in progress makes this one a no-op.
pub async fn reconcile(db: &PgPool, storage: &Storage) -> anyhow::Result<Settled> {
    let run = async {
        let candidates: Vec<Uuid> = sqlx::query_scalar(UNSETTLED_SQL)
            .bind(RECONCILE_BATCH)
            .fetch_all(db)
            .await?;
        settle_locked(db, storage, &candidates).await
    };
    Ok(exclusive(db, Wait::No, run).await?.unwrap_or_default())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    Yes,
    No,
}

/// Runs `work` while no photo is being moved, and none starts moving: the
/// moves, and the account purge's deletions (which a move would otherwise
/// race into leaving a copy behind). The lock is a transaction's, so it
/// goes with the transaction even if this future is dropped. With
/// [`Wait::No`], `None` when someone else holds it.
pub async fn exclusive<T>(
    db: &PgPool,
    wait: Wait,
    work: impl Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<Option<T>> {
    let started = std::time::Instant::now();
    let mut pause = LOCK_POLL_FIRST;
    let lock = loop {
        let mut lock = db.begin().await?;
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
            .bind(MOVES_LOCK)
            .fetch_one(&mut *lock)
            .await?;
        if got {
            break lock;
        }
        // Waiting inside PostgreSQL would hold a pooled connection per
        // waiter: enough waiters (a burst of takedowns or story posts)
        // would leave the holder none for its own work. So the waiter
        // gives its connection back and asks again a little later.
        drop(lock);
        if wait == Wait::No {
            return Ok(None);
        }
        if started.elapsed() > LOCK_WAIT_MAX {
            anyhow::bail!("photo moves stayed busy for {LOCK_WAIT_MAX:?}");
        }
        let jitter = rand::random::<u32>() % (pause.as_millis() as u32 + 1);
        tokio::time::sleep(pause + std::time::Duration::from_millis(u64::from(jitter))).await;
        pause = (pause * 2).min(LOCK_POLL_MAX);
    };
    let done = work.await;
    lock.commit().await?;
    done.map(Some)
}

/// How a waiter for the moves' lock polls: from the first pause, doubling
/// (with jitter) up to the longest, giving up after the whole wait.
const LOCK_POLL_FIRST: std::time::Duration = std::time::Duration::from_millis(5);
const LOCK_POLL_MAX: std::time::Duration = std::time::Duration::from_millis(100);
const LOCK_WAIT_MAX: std::time::Duration = std::time::Duration::from_secs(60);

async fn settle_locked(db: &PgPool, storage: &Storage, media: &[Uuid]) -> anyhow::Result<Settled> {
    let states: Vec<(Uuid, bool, bool)> =
        sqlx::query_as(STATE_SQL).bind(media).fetch_all(db).await?;
    let mut settled = Settled::default();
    for (id, withheld, should_withhold) in states {
        if withheld == should_withhold {
            continue;
        }
        let variants = variant_keys(db, id).await?;
        if should_withhold {
            withhold_one(db, storage, id, &variants).await?;
            settled.withheld += 1;
        } else {
            restore_one(db, storage, id, &variants).await?;
            settled.restored += 1;
        }
    }
    Ok(settled)
}

async fn variant_keys(db: &PgPool, media: Uuid) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("SELECT key FROM media_variants WHERE media_id = $1")
        .bind(media)
        .fetch_all(db)
        .await
}

/// Copy out, delete the public copies, then record it: a run cut short
/// anywhere is finished by the next one (a missing source means moved).
async fn withhold_one(
    db: &PgPool,
    storage: &Storage,
    media: Uuid,
    variants: &[String],
) -> anyhow::Result<()> {
    let out: Vec<(String, String)> = variants
        .iter()
        .map(|key| (key.clone(), keys::withheld(key)))
        .collect();
    move_objects(storage, &out).await?;
    let mut tx = db.begin().await?;
    sqlx::query("UPDATE media SET variants_withheld = true WHERE id = $1")
        .bind(media)
        .execute(&mut *tx)
        .await?;
    purge_from_cdn(&mut tx, &[media]).await?;
    tx.commit().await?;
    Ok(())
}

async fn restore_one(
    db: &PgPool,
    storage: &Storage,
    media: Uuid,
    variants: &[String],
) -> anyhow::Result<()> {
    let back: Vec<(String, String)> = variants
        .iter()
        .map(|key| (keys::withheld(key), key.clone()))
        .collect();
    move_objects(storage, &back).await?;
    sqlx::query("UPDATE media SET variants_withheld = false WHERE id = $1")
        .bind(media)
        .execute(db)
        .await?;
    Ok(())
}

/// Every copy first, then the deletions of the sources: no moment where
/// an object is in neither place.
async fn move_objects(storage: &Storage, moves: &[(String, String)]) -> anyhow::Result<()> {
    for (from, to) in moves {
        copy_unless_moved(storage, from, to).await?;
    }
    for (from, _) in moves {
        storage.delete(from).await?;
    }
    Ok(())
}

async fn copy_unless_moved(storage: &Storage, from: &str, to: &str) -> anyhow::Result<()> {
    match storage.copy(from, to).await {
        Ok(()) | Err(ObjectError::NotFound) => Ok(()),
        Err(ObjectError::Unavailable(e)) => Err(e),
    }
}

/// Queues a CDN purge of every variant of `media`, in the caller's
/// transaction (the one that deletes or withholds them).
pub async fn purge_from_cdn(conn: &mut PgConnection, media: &[Uuid]) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO cdn_purges (path)
         SELECT '/' || key FROM media_variants WHERE media_id = ANY($1)",
    )
    .bind(media)
    .execute(conn)
    .await?;
    Ok(())
}

/// The chore that sends queued purges, a batch per request, retrying with
/// back-off. Without a CDN there is nothing to purge, and the rows go.
pub async fn send_purges(db: &PgPool, purger: Option<&Purger>) -> anyhow::Result<usize> {
    let Some(purger) = purger else {
        sqlx::query("DELETE FROM cdn_purges").execute(db).await?;
        return Ok(0);
    };
    let mut sent = 0;
    // A bound on one run; the next minute's run takes the rest.
    for _ in 0..20 {
        let mut tx = db.begin().await?;
        let due: Vec<(i64, String)> = sqlx::query_as(
            "SELECT id, path FROM cdn_purges WHERE next_attempt_at <= now()
             ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
        )
        .bind(PURGE_BATCH as i64)
        .fetch_all(&mut *tx)
        .await?;
        if due.is_empty() {
            break;
        }
        let (ids, paths): (Vec<i64>, Vec<String>) = due.into_iter().unzip();
        match purger.purge(&paths).await {
            Ok(()) => {
                sqlx::query("DELETE FROM cdn_purges WHERE id = ANY($1)")
                    .bind(&ids)
                    .execute(&mut *tx)
                    .await?;
                metrics::counter!("cdn_purges_total", "result" => "sent")
                    .increment(ids.len() as u64);
                sent += ids.len();
            }
            Err(e) => {
                tracing::warn!(error = %e, paths = ids.len(), "CDN purge failed; retrying later");
                metrics::counter!("cdn_purges_total", "result" => "failed")
                    .increment(ids.len() as u64);
                postpone(&mut tx, &ids, &e.to_string()).await?;
                tx.commit().await?;
                break;
            }
        }
        tx.commit().await?;
    }
    Ok(sent)
}

/// Back-off doubling from a minute to an hour; dropped (and logged) past
/// [`PURGE_GIVE_UP_AFTER`].
async fn postpone(tx: &mut PgConnection, ids: &[i64], error: &str) -> sqlx::Result<()> {
    let dropped = sqlx::query_scalar::<_, String>(
        "DELETE FROM cdn_purges WHERE id = ANY($1)
           AND requested_at < now() - make_interval(secs => $2)
         RETURNING path",
    )
    .bind(ids)
    .bind(PURGE_GIVE_UP_AFTER.as_secs_f64())
    .fetch_all(&mut *tx)
    .await?;
    if !dropped.is_empty() {
        tracing::error!(paths = ?dropped, "CDN purge given up after a day of failures");
        metrics::counter!("cdn_purges_total", "result" => "given_up")
            .increment(dropped.len() as u64);
    }
    sqlx::query(
        "UPDATE cdn_purges SET attempts = attempts + 1, last_error = $2,
                next_attempt_at = now() + make_interval(secs => LEAST(3600, 60 * power(2, attempts)))
         WHERE id = ANY($1)",
    )
    .bind(ids)
    .bind(error.chars().take(200).collect::<String>())
    .execute(tx)
    .await?;
    Ok(())
}
