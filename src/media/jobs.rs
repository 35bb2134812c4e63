//! The state changes a media job makes (its message is `crate::jobs::Job`).

use sqlx::PgPool;
use uuid::Uuid;

use super::hashmatch;
use super::variants::{VariantFormat, VariantName};
use crate::error::Result;

/// The failure code of a media whose job reached the dead-letter queue, or
/// that the reconciler gave up on.
pub const ABANDONED: &str = "processing_abandoned";
pub const ABANDONED_MESSAGE: &str = "processing kept failing; upload the photo again";

/// A variant written to storage, to be recorded.
pub struct NewVariant {
    pub name: VariantName,
    pub format: VariantFormat,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
    pub key: String,
}

pub struct Finished {
    pub width: u32,
    pub height: u32,
    pub blurhash: String,
    pub pdq: ciel_imaging::Pdq,
    pub variants: Vec<NewVariant>,
}

/// What [`finish`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// Deleted (or failed) meanwhile: nothing recorded.
    Gone,
    Ready,
    /// Ready, but its hash is near one on the block list: held for review.
    Quarantined,
}

/// Marks the media as being processed, and answers the key of its
/// original. `None` when there is nothing to do: it is gone, ready, or
/// failed (a duplicate or late message), or still `pending`: its upload was
/// never completed, so no real job names it (the trigger endpoints are
/// unauthenticated; a forged message must not start, and then fail, a photo
/// whose file is still on its way).
pub async fn claim(db: &PgPool, media_id: Uuid) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "UPDATE media SET status = 'processing', attempts = attempts + 1, updated_at = now()
         WHERE id = $1 AND status IN ('queued', 'processing')
         RETURNING original_key",
    )
    .bind(media_id)
    .fetch_optional(db)
    .await?)
}

/// The original's key of a ready media (what reprocessing reads); `None`
/// when it is gone or not ready.
pub async fn ready_original(db: &PgPool, media_id: Uuid) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT original_key FROM media WHERE id = $1 AND status = 'ready'")
            .bind(media_id)
            .fetch_optional(db)
            .await?,
    )
}

/// Records the variants and the hash and marks the media ready, in one
/// transaction, quarantining it there when its hash is within
/// `match_distance` bits of the block list (so it is never usable in
/// between). Upserts keep a second run (redelivery, racing workers) from
/// adding rows.
pub async fn finish(
    db: &PgPool,
    media_id: Uuid,
    finished: &Finished,
    match_distance: u32,
) -> Result<Recorded> {
    let mut tx = db.begin().await?;
    let updated = sqlx::query(
        "UPDATE media SET status = 'ready', width = $2, height = $3, blurhash = $4,
                pdq = $5, pdq_quality = $6,
                error_code = NULL, error_message = NULL, updated_at = now()
         WHERE id = $1 AND status <> 'failed'",
    )
    .bind(media_id)
    .bind(finished.width as i32)
    .bind(finished.height as i32)
    .bind(&finished.blurhash)
    .bind(finished.pdq.hash.as_bytes().as_slice())
    .bind(i16::from(finished.pdq.quality))
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 0 {
        return Ok(Recorded::Gone);
    }
    let quarantined =
        hashmatch::quarantine_if_matching(&mut tx, media_id, &finished.pdq.hash, match_distance)
            .await?;
    let names: Vec<&str> = finished.variants.iter().map(|v| v.name.as_str()).collect();
    let formats: Vec<&str> = finished
        .variants
        .iter()
        .map(|v| v.format.as_str())
        .collect();
    let widths: Vec<i32> = finished.variants.iter().map(|v| v.width as i32).collect();
    let heights: Vec<i32> = finished.variants.iter().map(|v| v.height as i32).collect();
    let bytes: Vec<i64> = finished.variants.iter().map(|v| v.bytes as i64).collect();
    let keys: Vec<&str> = finished.variants.iter().map(|v| v.key.as_str()).collect();
    sqlx::query(
        "INSERT INTO media_variants (media_id, name, format, width, height, bytes, key)
         SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::int[], $5::int[], $6::bigint[], $7::text[])
         ON CONFLICT (media_id, name, format) DO UPDATE
         SET width = EXCLUDED.width, height = EXCLUDED.height, bytes = EXCLUDED.bytes, key = EXCLUDED.key",
    )
    .bind(media_id)
    .bind(&names)
    .bind(&formats)
    .bind(&widths)
    .bind(&heights)
    .bind(&bytes)
    .bind(&keys)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(if quarantined {
        Recorded::Quarantined
    } else {
        Recorded::Ready
    })
}

/// Marks the media failed for good, unless it already became ready.
pub async fn fail(db: &PgPool, media_id: Uuid, code: &str, message: &str) -> Result<()> {
    sqlx::query(
        "UPDATE media SET status = 'failed', error_code = $2, error_message = $3, updated_at = now()
         WHERE id = $1 AND status <> 'ready'",
    )
    .bind(media_id)
    .bind(code)
    .bind(message)
    .execute(db)
    .await?;
    Ok(())
}

/// Marks a media failed whose job the queue gave up on (it reached the
/// dead-letter queue). False when it had already settled, is gone, or is
/// still `pending` (no job was ever sent for it).
pub async fn abandon(db: &PgPool, media_id: Uuid, code: &str, message: &str) -> Result<bool> {
    let result = sqlx::query(
        "UPDATE media SET status = 'failed', error_code = $2, error_message = $3, updated_at = now()
         WHERE id = $1 AND status IN ('queued', 'processing')",
    )
    .bind(media_id)
    .bind(code)
    .bind(message)
    .execute(db)
    .await?;
    Ok(result.rows_affected() == 1)
}

const RECORDED_BODY_MAX_CHARS: usize = 4096;

/// Keeps a message that names no media, so poison is visible, not retried.
pub async fn record_unreadable(db: &PgPool, body: &str, code: &str, message: &str) -> Result<()> {
    let body: String = body.chars().take(RECORDED_BODY_MAX_CHARS).collect();
    sqlx::query(
        "INSERT INTO media_job_failures (body, error_code, error_message) VALUES ($1, $2, $3)",
    )
    .bind(body)
    .bind(code)
    .bind(message)
    .execute(db)
    .await?;
    Ok(())
}
