//! What moderators see of a photo: a presigned GET of its smallest variant,
//! wherever the variant is now (public, or withheld by a decision), valid for
//! minutes. Originals are never shown: the variants are what was published.

use std::time::{Duration, SystemTime};

use sqlx::PgPool;
use uuid::Uuid;

use super::keys;
use crate::error::Result;
use crate::infra::s3::Storage;

/// How long a moderator's preview URL works.
pub const LIFETIME: Duration = Duration::from_secs(15 * 60);

/// The key of `media`'s smallest variant, as a subquery's column
/// (`preview_key`), for the queries that list photos for review.
pub const SMALLEST_VARIANT_SQL: &str = "(SELECT key FROM media_variants v WHERE v.media_id = m.id
                  ORDER BY v.width, v.format LIMIT 1)";

/// A presigned GET of a variant, from where it is now.
pub async fn presign(
    storage: &Storage,
    variant_key: &str,
    withheld: bool,
    start: SystemTime,
) -> Result<String> {
    let key = if withheld {
        keys::withheld(variant_key)
    } else {
        variant_key.to_string()
    };
    Ok(storage.presign_get_from(&key, start, LIFETIME).await?)
}

/// Previews of a post's photos, in the post's order: one per photo that has
/// variants. Taken down or not, hidden or not: moderators see what was posted.
pub async fn of_post(db: &PgPool, storage: &Storage, post: Uuid) -> Result<Vec<String>> {
    let rows: Vec<(String, bool)> = sqlx::query_as(&format!(
        "SELECT preview_key, withheld FROM (
            SELECT {SMALLEST_VARIANT_SQL} AS preview_key, m.variants_withheld AS withheld, pm.position
              FROM post_media pm JOIN media m ON m.id = pm.media_id
             WHERE pm.post_id = $1) photos
          WHERE preview_key IS NOT NULL ORDER BY position"
    ))
    .bind(post)
    .fetch_all(db)
    .await?;
    let start = SystemTime::now();
    let mut urls = Vec::with_capacity(rows.len());
    for (key, withheld) in rows {
        urls.push(presign(storage, &key, withheld, start).await?);
    }
    Ok(urls)
}
