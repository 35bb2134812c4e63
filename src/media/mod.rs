//! Media: what an upload is, where its objects live, and the media tables.
//! The pixels themselves are `ciel_imaging`'s business.

pub mod alt_text;
pub mod hashmatch;
pub mod jobs;
pub mod originals;
pub mod preview;
pub mod process;
pub mod reconcile;
pub mod sweep;
pub mod usable;
pub mod variants;
pub mod withhold;

use std::time::Duration;

use sqlx::PgPool;
use uuid::Uuid;

use crate::error::{Code, Error, Result};
use crate::infra::queue::Queue;
use crate::infra::s3::{ObjectError, Storage};
use crate::jobs::{Job, enqueue};
use variants::{VariantFormat, VariantName};

#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type, serde::Serialize, utoipa::ToSchema)]
#[sqlx(type_name = "media_status", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum MediaStatus {
    Pending,
    Queued,
    Processing,
    Ready,
    Failed,
}

/// A content type the apps may upload: what phones save (HEIC on iPhones,
/// HEIF or AVIF on recent Androids) and the web formats. The worker trusts
/// the bytes, not this declaration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadType {
    Jpeg,
    Png,
    Webp,
    Heic,
    Heif,
    Avif,
}

impl UploadType {
    pub const ACCEPTED: &'static str =
        "image/jpeg, image/png, image/webp, image/heic, image/heif, image/avif";

    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "image/jpeg" | "image/jpg" => Some(UploadType::Jpeg),
            "image/png" => Some(UploadType::Png),
            "image/webp" => Some(UploadType::Webp),
            "image/heic" => Some(UploadType::Heic),
            "image/heif" => Some(UploadType::Heif),
            "image/avif" => Some(UploadType::Avif),
            _ => None,
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            UploadType::Jpeg => "image/jpeg",
            UploadType::Png => "image/png",
            UploadType::Webp => "image/webp",
            UploadType::Heic => "image/heic",
            UploadType::Heif => "image/heif",
            UploadType::Avif => "image/avif",
        }
    }
}

/// Object keys. Originals sit under `originals/`, never public; variants
/// under `variants/`, the only prefix a CDN may serve. Both are derived from
/// the ids alone, so a retried job overwrites rather than duplicates.
pub mod keys {
    use ciel_imaging::{OutputFormat, VariantName};
    use uuid::Uuid;

    pub fn original(owner_id: Uuid, media_id: Uuid) -> String {
        format!("{}{media_id}", originals_of(owner_id))
    }

    /// The prefix of every original a user uploaded.
    pub fn originals_of(owner_id: Uuid) -> String {
        format!("originals/{owner_id}/")
    }

    pub fn variant(media_id: Uuid, name: VariantName, format: OutputFormat) -> String {
        format!(
            "variants/{media_id}/{}.{}",
            name.as_str(),
            format.extension()
        )
    }

    /// Where a variant waits, out of the public prefix, while its photo is
    /// withheld (see [`super::withhold`]).
    pub fn withheld(variant_key: &str) -> String {
        let rest = variant_key.strip_prefix("variants/").unwrap_or(variant_key);
        format!("withheld/{rest}")
    }

    /// Where a story photo's variant lives, out of the public prefix (see
    /// `crate::social::stories::photos`).
    pub fn story(variant_key: &str) -> String {
        let rest = variant_key
            .strip_prefix("variants/")
            .or_else(|| variant_key.strip_prefix("withheld/"))
            .unwrap_or(variant_key);
        format!("stories/{rest}")
    }

    /// Every variant key a media could have, whatever was produced.
    pub fn all_variants(media_id: Uuid) -> Vec<String> {
        VariantName::ALL
            .iter()
            .flat_map(|&name| {
                [OutputFormat::Webp, OutputFormat::Jpeg]
                    .map(|format| variant(media_id, name, format))
            })
            .collect()
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Media {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub status: MediaStatus,
    pub declared_bytes: i64,
    pub original_key: String,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub blurhash: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub alt_text: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredVariant {
    pub name: VariantName,
    pub format: VariantFormat,
    pub width: i32,
    pub height: i32,
    pub bytes: i64,
    pub key: String,
}

const MEDIA_COLUMNS: &str = "id, owner_id, status, declared_bytes, original_key, width, height, blurhash, error_code, error_message, alt_text";

fn media_not_found() -> Error {
    Error::from(Code::MediaNotFound)
}

/// How long a presigned upload URL works.
pub const UPLOAD_URL_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// Uploads a user may have started and not completed at once.
pub const MAX_PENDING_UPLOADS: i64 = 50;

/// Starts an upload, unless the user already has [`MAX_PENDING_UPLOADS`]
/// uncompleted ones (each holds a row, and maybe an object, until it
/// completes or the sweeper removes it).
pub async fn create(
    db: &PgPool,
    owner_id: Uuid,
    upload_type: UploadType,
    byte_size: u64,
) -> Result<Media> {
    let id = Uuid::new_v4();
    let mut tx = db.begin().await?;
    // One count at a time per user, so concurrent requests cannot overshoot.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))")
        .bind(owner_id)
        .execute(&mut *tx)
        .await?;
    let (pending, oldest_expires_in): (i64, Option<f64>) = sqlx::query_as(
        "SELECT count(*), EXTRACT(EPOCH FROM min(created_at) + make_interval(secs => $2) - now())::float8
         FROM media WHERE owner_id = $1 AND status = 'pending'",
    )
    .bind(owner_id)
    .bind(sweep::PENDING_UPLOAD_TTL.as_secs_f64())
    .fetch_one(&mut *tx)
    .await?;
    if pending >= MAX_PENDING_UPLOADS {
        return Err(Error::RateLimited {
            policy: crate::ratelimit::Policy {
                name: "pending_uploads",
                quota: MAX_PENDING_UPLOADS as u64,
                window: sweep::PENDING_UPLOAD_TTL,
            },
            retry_after: Duration::from_secs_f64(oldest_expires_in.unwrap_or(1.0).max(1.0)),
        });
    }
    let media = sqlx::query_as::<_, Media>(&format!(
        "INSERT INTO media (id, owner_id, declared_content_type, declared_bytes, original_key)
         VALUES ($1, $2, $3, $4, $5) RETURNING {MEDIA_COLUMNS}"
    ))
    .bind(id)
    .bind(owner_id)
    .bind(upload_type.mime())
    .bind(byte_size as i64)
    .bind(keys::original(owner_id, id))
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(media)
}

/// The media if `owner_id` owns it. Someone else's media is "not found",
/// so ids reveal nothing.
pub async fn find_owned(db: &PgPool, owner_id: Uuid, id: Uuid) -> Result<Media> {
    sqlx::query_as::<_, Media>(&format!(
        "SELECT {MEDIA_COLUMNS} FROM media WHERE id = $1 AND owner_id = $2"
    ))
    .bind(id)
    .bind(owner_id)
    .fetch_optional(db)
    .await?
    .ok_or_else(media_not_found)
}

pub async fn variants(db: &PgPool, media_id: Uuid) -> Result<Vec<StoredVariant>> {
    let variants = sqlx::query_as::<_, StoredVariant>(
        "SELECT name, format, width, height, bytes, key FROM media_variants WHERE media_id = $1
         ORDER BY width, format",
    )
    .bind(media_id)
    .fetch_all(db)
    .await?;
    Ok(variants)
}

/// Photos made ready in the last 30 days, and how many users uploaded
/// them (`ciel advise`'s cost projection).
pub async fn posted_in_the_last_30_days(conn: &mut sqlx::PgConnection) -> Result<(i64, i64)> {
    Ok(sqlx::query_as(
        "SELECT count(*), count(DISTINCT owner_id) FROM media
         WHERE status = 'ready' AND created_at > now() - interval '30 days'",
    )
    .fetch_one(conn)
    .await?)
}

/// Moves a pending media to `queued`. Returns false when it was not pending
/// (already completed), so a repeated completion enqueues nothing.
pub async fn mark_queued(db: &PgPool, id: Uuid) -> Result<bool> {
    let result = sqlx::query(
        "UPDATE media SET status = 'queued', updated_at = now() WHERE id = $1 AND status = 'pending'",
    )
    .bind(id)
    .execute(db)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Undoes `mark_queued` when its message could not be sent. A media some
/// worker already claimed is left alone.
pub async fn unmark_queued(db: &PgPool, id: Uuid) -> Result<()> {
    sqlx::query(
        "UPDATE media SET status = 'pending', updated_at = now() WHERE id = $1 AND status = 'queued'",
    )
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

/// Deletes the row. While the upload URL may still work, the original's
/// key is kept as a tombstone: a PUT after the DELETE would recreate an
/// object no row names, and the sweeper deletes it once the URL is dead.
pub async fn delete(db: &PgPool, id: Uuid) -> Result<()> {
    delete_many(&mut *db.acquire().await?, &[id]).await
}

/// [`delete`] for several media, within the caller's transaction (a
/// post's photos go with the post).
pub async fn delete_many(conn: &mut sqlx::PgConnection, ids: &[Uuid]) -> Result<()> {
    withhold::purge_from_cdn(&mut *conn, ids).await?;
    sqlx::query(
        "WITH gone AS (DELETE FROM media WHERE id = ANY($1) RETURNING original_key, created_at)
         INSERT INTO media_object_tombstones (key, purge_after)
         SELECT original_key, created_at + make_interval(secs => $2) FROM gone
         WHERE created_at + make_interval(secs => $2) > now()
         ON CONFLICT (key) DO UPDATE SET purge_after = GREATEST(media_object_tombstones.purge_after, EXCLUDED.purge_after)",
    )
    .bind(ids)
    .bind(sweep::URL_DEAD_AFTER.as_secs_f64())
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes the original and every possible variant of each media, in
/// parallel. Deleting a missing object succeeds, so this can be repeated.
pub async fn delete_objects(
    storage: &crate::infra::s3::Storage,
    media: &[(Uuid, String)],
) -> Result<()> {
    let mut deletions = tokio::task::JoinSet::new();
    for (id, original_key) in media {
        let variants = keys::all_variants(*id);
        let withheld: Vec<String> = variants.iter().map(|k| keys::withheld(k)).collect();
        let stories: Vec<String> = variants.iter().map(|k| keys::story(k)).collect();
        for key in std::iter::once(original_key.clone())
            .chain(variants)
            .chain(withheld)
            .chain(stories)
        {
            let storage = storage.clone();
            deletions.spawn(async move { storage.delete(&key).await });
        }
    }
    while let Some(result) = deletions.join_next().await {
        result.map_err(anyhow::Error::from)??;
    }
    Ok(())
}

/// Completes an upload: checks the object the app PUT, marks the media
/// queued and queues its job. Repeating it is harmless; the answer is the
/// media's status.
pub async fn complete_upload(
    db: &PgPool,
    storage: &Storage,
    queue: &Queue,
    owner: Uuid,
    id: Uuid,
) -> Result<MediaStatus> {
    let media = find_owned(db, owner, id).await?;
    if media.status != MediaStatus::Pending {
        return Ok(media.status);
    }
    check_uploaded_object(storage, &media).await?;
    // Committed before the message goes out: a worker that gets it at once
    // must find the media queued. Of two concurrent completions, one moves
    // it; the other finds it queued and sends nothing.
    if !mark_queued(db, media.id).await? {
        return Ok(MediaStatus::Queued);
    }
    if let Err(e) = enqueue(queue, Job::Media { media_id: media.id }).await {
        tracing::error!(error = ?e, media_id = %media.id, "could not enqueue media job");
        // Back to pending, so that the app's retry of this call sends it.
        unmark_queued(db, media.id).await?;
        return Err(Error::from(Code::QueueUnavailable));
    }
    Ok(MediaStatus::Queued)
}

async fn check_uploaded_object(storage: &Storage, media: &Media) -> Result<()> {
    let size = match storage.size_of(&media.original_key).await {
        Ok(size) => size,
        Err(ObjectError::NotFound) => {
            return Err(Error::from(Code::UploadMissing));
        }
        Err(ObjectError::Unavailable(e)) => {
            tracing::error!(error = ?e, "storage unavailable");
            return Err(Error::from(Code::StorageUnavailable));
        }
    };
    if size != media.declared_bytes as u64 {
        storage.delete(&media.original_key).await?;
        return Err(Code::UploadSizeMismatch.with_message(format!(
            "the uploaded file has {size} bytes, but {} were declared; upload it again",
            media.declared_bytes
        )));
    }
    Ok(())
}

/// Deletes one of the owner's media, objects first: if storage fails the
/// row stays, and a retry finishes.
pub async fn delete_owned(db: &PgPool, storage: &Storage, owner: Uuid, id: Uuid) -> Result<()> {
    let media = find_owned(db, owner, id).await?;
    delete_objects(storage, &[(media.id, media.original_key.clone())]).await?;
    delete(db, media.id).await
}
