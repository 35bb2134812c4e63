//! Uploads that never complete, and originals that no row names.
//!
//! An upload is a row (`pending`) and a presigned PUT URL that works for
//! [`UPLOAD_URL_LIFETIME`](super::UPLOAD_URL_LIFETIME). The sweeper, run by
//! every API process (idempotent, so overlapping runs only repeat work):
//! - turns uploads still `pending` [`PENDING_UPLOAD_TTL`] after they began
//!   into tombstones (row gone, key kept);
//! - deletes the object of every tombstone whose URL can no longer write
//!   it, then the tombstone. Deleting the object first means a crash only
//!   repeats the work.
//!
//! `DELETE /v1/media/{id}` leaves a tombstone too while the URL may still
//! work, so a PUT after the DELETE is swept as well. The bucket's lifecycle
//! rule on `originals/` is a second line (see the README).

use std::time::Duration;

use sqlx::PgPool;

use crate::infra::s3::Storage;

/// An upload not completed this long after it began is given up.
pub const PENDING_UPLOAD_TTL: Duration = Duration::from_secs(60 * 60);
/// When a presigned PUT can no longer write: its lifetime plus a minute for
/// clocks that disagree.
pub const URL_DEAD_AFTER: Duration = Duration::from_secs(super::UPLOAD_URL_LIFETIME.as_secs() + 60);
/// Rows handled per statement; the next run takes the rest.
const BATCH: i64 = 500;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    /// Uploads given up.
    pub expired_uploads: u64,
    /// Objects deleted (or found already gone).
    pub objects: u64,
}

pub async fn run(db: &PgPool, storage: &Storage) -> anyhow::Result<Swept> {
    let expired = sqlx::query(
        "WITH gone AS (
             DELETE FROM media WHERE id IN (
                 SELECT id FROM media WHERE status = 'pending'
                 AND created_at < now() - make_interval(secs => $1)
                 ORDER BY created_at LIMIT $3 FOR UPDATE SKIP LOCKED)
             AND status = 'pending'
             RETURNING original_key, created_at)
         INSERT INTO media_object_tombstones (key, purge_after)
         SELECT original_key, GREATEST(now(), created_at + make_interval(secs => $2)) FROM gone
         ON CONFLICT (key) DO NOTHING",
    )
    .bind(PENDING_UPLOAD_TTL.as_secs_f64())
    .bind(URL_DEAD_AFTER.as_secs_f64())
    .bind(BATCH)
    .execute(db)
    .await?
    .rows_affected();
    let due: Vec<String> = sqlx::query_scalar(
        "SELECT key FROM media_object_tombstones WHERE purge_after <= now()
         ORDER BY purge_after LIMIT $1",
    )
    .bind(BATCH)
    .fetch_all(db)
    .await?;
    for key in &due {
        storage.delete(key).await?;
    }
    sqlx::query("DELETE FROM media_object_tombstones WHERE key = ANY($1) AND purge_after <= now()")
        .bind(&due)
        .execute(db)
        .await?;
    if expired > 0 || !due.is_empty() {
        tracing::info!(
            expired_uploads = expired,
            objects = due.len(),
            "swept abandoned uploads"
        );
    }
    Ok(Swept {
        expired_uploads: expired,
        objects: due.len() as u64,
    })
}
