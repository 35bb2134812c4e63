//! The sweep: every minute, the API's chores delete what no read can show
//! any more, a bounded batch per run. A story goes, objects first, when it
//! is deleted, taken down, expired outside every highlight, or its author
//! deleted the account; unless a report names it that a moderator has not
//! dismissed, which keeps it (rows and photo, out of every read) as
//! evidence, until the account's purge. Views go 48 hours after they
//! were made.

use std::time::Duration;

use sqlx::PgPool;
use uuid::Uuid;

use crate::infra::s3::Storage;
use crate::media::withhold;

/// Stories removed per run.
pub const BATCH: i64 = 100;
/// How long a view is kept: a story is shown for 24 hours, its author's
/// viewers list a day more.
pub const VIEWS_KEPT: Duration = Duration::from_secs(48 * 3600);
/// Views deleted per run.
const VIEWS_BATCH: i64 = 10_000;

/// SQL: the story `s` is gone for good and nothing keeps it.
const GONE: &str = "
    (s.deleted_at IS NOT NULL OR s.taken_down_at IS NOT NULL
     OR (s.expires_at <= now() AND NOT s.highlighted)
     OR EXISTS (SELECT 1 FROM users u WHERE u.id = s.author_id AND u.deleted_at IS NOT NULL))
    AND NOT EXISTS (SELECT 1 FROM reports r WHERE r.target_type = 'story' AND r.target_id = s.id
                    AND r.resolution IS DISTINCT FROM 'dismissed')
    AND NOT EXISTS (SELECT 1 FROM legal_holds h WHERE h.released_at IS NULL AND h.expires_at > now()
                    AND ((h.target_type = 'media' AND h.target_id = s.media_id)
                         OR (h.target_type = 'user' AND h.target_id = s.author_id)))";

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub stories: usize,
    pub views: u64,
}

pub async fn run(db: &PgPool, storage: &Storage) -> anyhow::Result<Swept> {
    let due: Vec<Uuid> = sqlx::query_scalar(&format!(
        "SELECT s.id FROM (
             (SELECT id FROM stories WHERE expires_at <= now() AND NOT highlighted
              ORDER BY expires_at LIMIT $1)
             UNION
             (SELECT id FROM stories WHERE deleted_at IS NOT NULL OR taken_down_at IS NOT NULL LIMIT $1)
             UNION
             (SELECT s.id FROM stories s JOIN users u ON u.id = s.author_id
              WHERE u.deleted_at IS NOT NULL LIMIT $1)
         ) c JOIN stories s ON s.id = c.id
         WHERE {GONE} LIMIT $1"
    ))
    .bind(BATCH)
    .fetch_all(db)
    .await?;
    let stories = remove(db, storage, &due).await?;
    let views = sqlx::query(
        "DELETE FROM story_views WHERE ctid = ANY(ARRAY(
             SELECT ctid FROM story_views WHERE viewed_at < now() - make_interval(secs => $1)
             LIMIT $2))",
    )
    .bind(VIEWS_KEPT.as_secs_f64())
    .bind(VIEWS_BATCH)
    .execute(db)
    .await?
    .rows_affected();
    Ok(Swept { stories, views })
}

/// Deletes the objects, then the rows, of those of `ids` that are gone and
/// not kept as evidence. Under the moves' lock: a move in progress cannot
/// copy a variant back after its deletion. Returns how many went.
pub async fn remove(db: &PgPool, storage: &Storage, ids: &[Uuid]) -> anyhow::Result<usize> {
    let media: Vec<(Uuid, String)> = sqlx::query_as(&format!(
        "SELECT m.id, m.original_key FROM stories s JOIN media m ON m.id = s.media_id
         WHERE s.id = ANY($1) AND {GONE}"
    ))
    .bind(ids)
    .fetch_all(db)
    .await?;
    if media.is_empty() {
        return Ok(0);
    }
    withhold::exclusive(db, withhold::Wait::Yes, async {
        Ok(crate::media::delete_objects(storage, &media).await?)
    })
    .await?;
    let media_ids: Vec<Uuid> = media.iter().map(|(id, _)| *id).collect();
    let mut tx = db.begin().await?;
    // The story, its views, reactions, notifications and highlight places go
    // with its photo (foreign keys).
    crate::media::delete_many(&mut tx, &media_ids).await?;
    tx.commit().await?;
    Ok(media.len())
}
