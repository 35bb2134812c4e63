//! Story photos are never on a long-lived public URL. When a photo becomes
//! a story's, its variants move out of `variants/` (the prefix a CDN may
//! serve) to `stories/`, which only presigned URLs reach, and those live
//! at most [`URL_LIFETIME`]. `media.variants_private` records the move; the
//! story's creation makes it at once and the API's chores finish one that
//! storage refused.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::error::Result;
use crate::infra::s3::{ObjectError, Storage};
use crate::media::keys;
use crate::media::variants::{VariantFormat, VariantName};
use crate::media::withhold;
use crate::social::render::{MediaView, VariantView};

/// URLs are signed from the start of the current window and live two, so
/// one handed out works for at least one window and at most two.
pub const URL_WINDOW: Duration = Duration::from_secs(15 * 60);
/// The longest a story photo URL handed out keeps working.
pub const URL_LIFETIME: Duration = Duration::from_secs(2 * 15 * 60);
/// Photos moved per chore run.
const MOVE_BATCH: i64 = 100;

/// The start of the signing window `now` falls in.
pub fn window_start(now: SystemTime) -> SystemTime {
    let secs = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    UNIX_EPOCH + Duration::from_secs(secs - secs % URL_WINDOW.as_secs())
}

/// A presigned GET of a story photo's object, as handed out at `now`.
pub async fn url_at(storage: &Storage, key: &str, now: SystemTime) -> anyhow::Result<String> {
    storage
        .presign_get_from(key, window_start(now), URL_LIFETIME)
        .await
}

#[derive(sqlx::FromRow)]
struct VariantRow {
    media_id: Uuid,
    media_width: i32,
    media_height: i32,
    blurhash: Option<String>,
    private: bool,
    alt_text: Option<String>,
    name: VariantName,
    format: VariantFormat,
    width: i32,
    height: i32,
    key: String,
}

/// The ready photos among `ids`, with short-lived URLs to wherever their
/// variants are now (only `names`, when given).
pub async fn views(
    conn: &mut PgConnection,
    storage: &Storage,
    ids: &[Uuid],
    names: Option<&[VariantName]>,
) -> Result<HashMap<Uuid, MediaView>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = sqlx::query_as::<_, VariantRow>(
        "SELECT m.id AS media_id, m.width AS media_width, m.height AS media_height, m.blurhash,
                m.variants_private AS private, m.alt_text, v.name, v.format, v.width, v.height, v.key
         FROM media m JOIN media_variants v ON v.media_id = m.id
         WHERE m.id = ANY($1) AND m.status = 'ready'
         ORDER BY m.id, v.width, v.format",
    )
    .bind(ids)
    .fetch_all(conn)
    .await?;
    let now = SystemTime::now();
    let mut views: HashMap<Uuid, MediaView> = HashMap::new();
    for row in rows {
        if names.is_some_and(|names| !names.contains(&row.name)) {
            continue;
        }
        let key = if row.private {
            keys::story(&row.key)
        } else {
            row.key
        };
        let url = url_at(storage, &key, now).await?;
        views
            .entry(row.media_id)
            .or_insert_with(|| MediaView {
                id: row.media_id,
                width: row.media_width,
                height: row.media_height,
                blurhash: row.blurhash,
                alt_text: row.alt_text,
                variants: Vec::new(),
            })
            .variants
            .push(VariantView {
                name: row.name,
                format: row.format,
                width: row.width,
                height: row.height,
                url,
            });
    }
    Ok(views)
}

/// Moves a story photo's variants to the private prefix: every copy, then
/// the public copies' deletion, then the record and the CDN purge of the
/// old paths. Cut short anywhere, a repeat finishes it (a missing source
/// means it was copied already). Under the moves' lock, so a takedown's
/// move of the same photo cannot interleave.
pub async fn make_private(db: &PgPool, storage: &Storage, media: Uuid) -> anyhow::Result<()> {
    withhold::exclusive(db, withhold::Wait::Yes, async {
        // A photo withheld before it moved (its owner was suspended) moves
        // from where the withholding put it.
        let sources: Vec<String> = sqlx::query_scalar(
            "SELECT CASE WHEN m.variants_withheld THEN 'withheld/' || substr(v.key, 10) ELSE v.key END
             FROM media_variants v JOIN media m ON m.id = v.media_id
             WHERE v.media_id = $1 AND NOT m.variants_private",
        )
        .bind(media)
        .fetch_all(db)
        .await?;
        if sources.is_empty() {
            return Ok(());
        }
        for from in &sources {
            match storage.copy(from, &keys::story(from)).await {
                Ok(()) | Err(ObjectError::NotFound) => {}
                Err(ObjectError::Unavailable(e)) => return Err(e),
            }
        }
        for from in &sources {
            storage.delete(from).await?;
        }
        let mut tx = db.begin().await?;
        sqlx::query(
            "UPDATE media SET variants_private = true, variants_withheld = false WHERE id = $1",
        )
            .bind(media)
            .execute(&mut *tx)
            .await?;
        withhold::purge_from_cdn(&mut tx, &[media]).await?;
        tx.commit().await?;
        Ok(())
    })
    .await?;
    Ok(())
}

/// The chore: finishes the moves that storage refused at creation.
pub async fn finish_moves(db: &PgPool, storage: &Storage) -> anyhow::Result<usize> {
    let pending: Vec<Uuid> = sqlx::query_scalar(
        "SELECT m.id FROM stories s JOIN media m ON m.id = s.media_id
         WHERE NOT m.variants_private AND m.status = 'ready' LIMIT $1",
    )
    .bind(MOVE_BATCH)
    .fetch_all(db)
    .await?;
    for media in &pending {
        make_private(db, storage, *media).await?;
    }
    Ok(pending.len())
}
