//! Data export (GDPR Art. 20): a ZIP of the account's data as JSON and its
//! original photos, built by a worker job, stored under `exports/<user>/`
//! (a prefix no CDN serves), mailed as a presigned link, deleted after a
//! week (the chores) or by the account purge.
//!
//! Memory stays bounded whatever the account's size: the archive is written
//! to a temporary file (photos one at a time, stored uncompressed: JPEG,
//! HEIC and WebP do not compress further) and uploaded from the file by a
//! streamed PUT. A large account's export can take longer than the
//! serverless trigger's request may last, so that path never builds one:
//! the long-polling worker and the dev process take the queued job
//! (`Worker::with_long_jobs`), and every API process's chores build one
//! pending export at a time ([`build_due`]), which is what production,
//! serverless-only, relies on. A lease on the row keeps two builders apart.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use serde::Serialize;
use sqlx::PgPool;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;
use zip::write::SimpleFileOptions;

use crate::auth::Auth;
use crate::error::{Code, Error, Result};
use crate::infra::queue::Queue;
use crate::infra::s3::Storage;
use crate::jobs::{self, Job, Outcome, Transient};
use crate::mail::{MailKind, NewMail};
use crate::media::originals::{self, Original};

/// One export per this long.
pub const ONE_EVERY: Duration = Duration::from_secs(24 * 3600);
/// An export (row and object) is deleted this long after it was asked for.
pub const KEPT_FOR: Duration = Duration::from_secs(7 * 24 * 3600);
/// How long the link handed out (mailed or by `GET /v1/me/export`) works.
pub const LINK_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// A pending export whose job was queued this long ago is queued again.
pub const RETRY_AFTER: Duration = Duration::from_secs(15 * 60);
/// How long a builder holds an export.
pub const BUILD_LEASE: Duration = Duration::from_secs(2 * 3600);
/// The largest archive: S3's limit for one PUT.
pub const MAX_BYTES: u64 = 5 * 1024 * 1024 * 1024;

/// The prefix of every export of a user.
pub fn prefix_of(user: Uuid) -> String {
    format!("exports/{user}/")
}

fn key_of(user: Uuid, export: Uuid) -> String {
    format!("{}{export}.zip", prefix_of(user))
}

/// An export as its owner sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportView {
    pub id: Uuid,
    /// `pending` (being built), `waiting` (for archived photos to be
    /// restored, minutes to hours), `ready`, or `failed`.
    #[schema(example = "ready")]
    pub status: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub ready_at: Option<OffsetDateTime>,
    /// The archive's size in bytes, once ready.
    pub bytes: Option<i64>,
    /// A presigned GET of the ZIP, once ready: works for 24 hours.
    pub url: Option<String>,
    /// When the archive is deleted (a week after it was asked for).
    #[serde(with = "time::serde::rfc3339")]
    pub deleted_at: OffsetDateTime,
    /// Why it failed (`export_too_large`).
    pub error_code: Option<String>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    user_id: Uuid,
    status: String,
    object_key: Option<String>,
    bytes: Option<i64>,
    error_code: Option<String>,
    created_at: OffsetDateTime,
    ready_at: Option<OffsetDateTime>,
}

async fn view(storage: &Storage, row: Row) -> Result<ExportView> {
    let url = match (&row.object_key, row.status.as_str()) {
        (Some(key), "ready") => Some(
            storage
                .presign_get_from(key, SystemTime::now(), LINK_LIFETIME)
                .await?,
        ),
        _ => None,
    };
    Ok(ExportView {
        id: row.id,
        status: row.status,
        created_at: row.created_at,
        ready_at: row.ready_at,
        bytes: row.bytes,
        url,
        deleted_at: row.created_at + KEPT_FOR,
        error_code: row.error_code,
    })
}

const COLUMNS: &str = "id, user_id, status, object_key, bytes, error_code, created_at, ready_at";

/// Asks for an export: the password confirms the owner asks. One a day
/// (409 `export_too_soon`); a failed one does not count.
pub async fn request(
    db: &PgPool,
    auth: &Auth,
    queue: &Queue,
    storage: &Storage,
    user: Uuid,
    session: Uuid,
    password: &str,
) -> Result<ExportView> {
    auth.confirm_password(user, session, password).await?;
    let mut tx = db.begin().await?;
    // Two requests at once: the second waits, then sees the first.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('data_export:' || $1::text, 0))")
        .bind(user)
        .execute(&mut *tx)
        .await?;
    let recent: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM data_exports WHERE user_id = $1 AND status <> 'failed'
                        AND created_at > now() - make_interval(secs => $2))",
    )
    .bind(user)
    .bind(ONE_EVERY.as_secs_f64())
    .fetch_one(&mut *tx)
    .await?;
    if recent {
        return Err(Code::ExportTooSoon.into());
    }
    let row: Row = sqlx::query_as(&format!(
        "INSERT INTO data_exports (id, user_id) VALUES ($1, $2) RETURNING {COLUMNS}"
    ))
    .bind(Uuid::now_v7())
    .bind(user)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    if let Err(e) = jobs::enqueue(queue, Job::BuildExport { export_id: row.id }).await {
        tracing::warn!(error = ?e, export = %row.id, "could not queue an export; the chores will");
    }
    view(storage, row).await
}

/// The latest export of `user` (404 `export_not_found` when none is kept).
pub async fn latest(db: &PgPool, storage: &Storage, user: Uuid) -> Result<ExportView> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM data_exports WHERE user_id = $1 ORDER BY created_at DESC LIMIT 1"
    ))
    .bind(user)
    .fetch_optional(db)
    .await?;
    view(storage, row.ok_or(Code::ExportNotFound)?).await
}

/// The JSON files of the archive: name, then the query producing the JSON
/// (a single value) for the user `$1`.
const DOCUMENTS: &[(&str, &str)] = &[
    (
        "profile.json",
        "SELECT to_jsonb(u) - 'password_hash' FROM users u WHERE id = $1",
    ),
    (
        "posts.json",
        "SELECT COALESCE(jsonb_agg(jsonb_build_object(
             'id', p.id, 'caption', p.caption, 'created_at', p.created_at,
             'taken_down_at', p.taken_down_at, 'like_count', p.like_count,
             'comment_count', p.comment_count, 'edited_at', p.edited_at,
             'earlier_captions', (SELECT COALESCE(jsonb_agg(jsonb_build_object(
                            'caption', e.caption, 'replaced_at', e.edited_at) ORDER BY e.id), '[]')
                        FROM post_edits e WHERE e.post_id = p.id),
             'photos', (SELECT COALESCE(jsonb_agg(jsonb_build_object(
                            'media_id', pm.media_id, 'position', pm.position,
                            'alt_text', m.alt_text,
                            'file', 'photos/' || pm.media_id::text) ORDER BY pm.position), '[]')
                        FROM post_media pm JOIN media m ON m.id = pm.media_id
                        WHERE pm.post_id = p.id)) ORDER BY p.created_at), '[]')
         FROM posts p WHERE p.author_id = $1",
    ),
    (
        "comments.json",
        "SELECT COALESCE(jsonb_agg(jsonb_build_object('id', id, 'post_id', post_id, 'text', text,
             'created_at', created_at) ORDER BY created_at), '[]')
         FROM comments WHERE author_id = $1",
    ),
    (
        "likes.json",
        "SELECT COALESCE(jsonb_agg(jsonb_build_object('post_id', post_id, 'created_at', created_at)
             ORDER BY created_at), '[]') FROM likes WHERE user_id = $1",
    ),
    (
        "following.json",
        "SELECT COALESCE(jsonb_agg(jsonb_build_object('user_id', f.followee_id, 'handle', u.handle,
             'created_at', f.created_at) ORDER BY f.created_at), '[]')
         FROM follows f JOIN users u ON u.id = f.followee_id WHERE f.follower_id = $1",
    ),
    (
        "followers.json",
        "SELECT COALESCE(jsonb_agg(jsonb_build_object('user_id', f.follower_id, 'handle', u.handle,
             'created_at', f.created_at) ORDER BY f.created_at), '[]')
         FROM follows f JOIN users u ON u.id = f.follower_id WHERE f.followee_id = $1",
    ),
    (
        "blocks.json",
        "SELECT COALESCE(jsonb_agg(jsonb_build_object('user_id', b.blocked_id, 'handle', u.handle,
             'created_at', b.created_at) ORDER BY b.created_at), '[]')
         FROM blocks b JOIN users u ON u.id = b.blocked_id WHERE b.blocker_id = $1",
    ),
    (
        "mutes.json",
        "SELECT COALESCE(jsonb_agg(jsonb_build_object('user_id', m.muted_id, 'handle', u.handle,
             'notifications', m.notifications, 'expires_at', m.expires_at,
             'created_at', m.created_at) ORDER BY m.created_at), '[]')
         FROM mutes m JOIN users u ON u.id = m.muted_id WHERE m.muter_id = $1",
    ),
    (
        "filters.json",
        "SELECT COALESCE(jsonb_agg(jsonb_build_object('id', f.id, 'title', f.title,
             'contexts', f.contexts, 'action', f.action, 'expires_at', f.expires_at,
             'created_at', f.created_at,
             'keywords', (SELECT jsonb_agg(jsonb_build_object('keyword', k.keyword,
                              'whole_word', k.whole_word) ORDER BY k.position)
                          FROM filter_keywords k WHERE k.filter_id = f.id))
             ORDER BY f.created_at), '[]')
         FROM filters f WHERE f.user_id = $1",
    ),
    (
        "hashtags_followed.json",
        "SELECT COALESCE(jsonb_agg(jsonb_build_object('tag', h.tag, 'created_at', f.created_at)
             ORDER BY f.created_at), '[]')
         FROM hashtag_follows f JOIN hashtags h ON h.id = f.hashtag_id WHERE f.user_id = $1",
    ),
    (
        "close_friends.json",
        "SELECT COALESCE(jsonb_agg(jsonb_build_object('user_id', c.friend_id, 'handle', u.handle,
             'created_at', c.created_at) ORDER BY c.created_at), '[]')
         FROM close_friends c JOIN users u ON u.id = c.friend_id WHERE c.owner_id = $1",
    ),
    (
        "stories.json",
        "SELECT COALESCE(jsonb_agg(jsonb_build_object('id', id, 'media_id', media_id,
             'caption', caption, 'audience', audience, 'created_at', created_at,
             'expires_at', expires_at, 'deleted_at', deleted_at, 'taken_down_at', taken_down_at,
             'highlighted', highlighted) ORDER BY created_at), '[]')
         FROM stories WHERE author_id = $1",
    ),
    (
        "highlights.json",
        "SELECT COALESCE(jsonb_agg(jsonb_build_object('id', h.id, 'title', h.title,
             'created_at', h.created_at,
             'story_ids', (SELECT COALESCE(jsonb_agg(i.story_id ORDER BY i.position), '[]')
                           FROM story_highlight_items i WHERE i.highlight_id = h.id))
             ORDER BY h.created_at), '[]')
         FROM story_highlights h WHERE h.owner_id = $1",
    ),
    (
        "sessions.json",
        "SELECT COALESCE(jsonb_agg(jsonb_build_object('id', id, 'user_agent', user_agent,
             'created_at', created_at, 'last_used_at', last_used_at, 'revoked_at', revoked_at,
             'revoked_reason', revoked_reason) ORDER BY created_at), '[]')
         FROM auth_sessions WHERE user_id = $1",
    ),
    (
        "reports.json",
        "SELECT COALESCE(jsonb_agg(jsonb_build_object('id', id, 'target_type', target_type,
             'target_id', target_id, 'category', category, 'reason', reason,
             'created_at', created_at) ORDER BY created_at), '[]')
         FROM reports WHERE reporter_id = $1",
    ),
    (
        "notification_settings.json",
        "SELECT COALESCE(jsonb_object_agg(kind, audience), '{}') FROM push_settings WHERE user_id = $1",
    ),
];

/// A temporary file removed when dropped, whatever happens to the job.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

type Archive = zip::ZipWriter<std::fs::File>;

/// Runs `f` on the archive off the async threads (file I/O blocks).
async fn on_archive<T: Send + 'static>(
    archive: Archive,
    f: impl FnOnce(&mut Archive) -> std::io::Result<T> + Send + 'static,
) -> std::result::Result<(Archive, T), Transient> {
    tokio::task::spawn_blocking(move || {
        let mut archive = archive;
        let value = f(&mut archive)?;
        Ok::<_, std::io::Error>((archive, value))
    })
    .await
    .map_err(|e| Transient(anyhow::Error::new(e)))?
    .map_err(|e| Transient(anyhow::Error::new(e).context("write the export archive")))
}

fn write_entry(archive: &mut Archive, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(bytes.len() as u64 >= u32::MAX as u64);
    archive
        .start_file(name, options)
        .map_err(std::io::Error::other)?;
    archive.write_all(bytes)
}

fn extension(content_type: &str) -> &'static str {
    match content_type {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/webp" => "webp",
        "image/heic" => "heic",
        "image/heif" => "heif",
        _ => "bin",
    }
}

/// The worker's `build_export` job. Idempotent: a ready or failed export,
/// or one of an account being deleted, is skipped; a redelivery while it is
/// built builds it again into the same key.
pub async fn build(
    db: &PgPool,
    storage: &Storage,
    queue: &Queue,
    export_id: Uuid,
) -> std::result::Result<Outcome, Transient> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "UPDATE data_exports e SET building_until = now() + make_interval(secs => $2)
         WHERE id = $1 AND status IN ('pending', 'waiting')
           AND (building_until IS NULL OR building_until < now())
           AND EXISTS (SELECT 1 FROM users u WHERE u.id = e.user_id AND u.deleted_at IS NULL)
         RETURNING {COLUMNS}"
    ))
    .bind(export_id)
    .bind(BUILD_LEASE.as_secs_f64())
    .fetch_optional(db)
    .await?;
    let Some(row) = row else {
        // Done, gone, or in another builder's hands.
        return Ok(Outcome::Skipped);
    };
    let outcome = build_leased(db, storage, queue, export_id, row.user_id).await;
    if let Err(e) = sqlx::query("UPDATE data_exports SET building_until = NULL WHERE id = $1")
        .bind(export_id)
        .execute(db)
        .await
    {
        tracing::warn!(error = %e, export = %export_id, "could not release an export's lease");
    }
    outcome
}

/// [`build`], once this builder holds the export.
async fn build_leased(
    db: &PgPool,
    storage: &Storage,
    queue: &Queue,
    export_id: Uuid,
    user: Uuid,
) -> std::result::Result<Outcome, Transient> {
    let path = std::env::temp_dir().join(format!("ciel-export-{export_id}-{}.zip", Uuid::new_v4()));
    let file = std::fs::File::create(&path)
        .map_err(|e| Transient(anyhow::Error::new(e).context("create the export file")))?;
    let temp = TempFile(path);
    let mut archive = zip::ZipWriter::new(file);
    let mut total: u64 = 0;
    for (name, query) in DOCUMENTS {
        let value: Option<serde_json::Value> = sqlx::query_scalar(query)
            .bind(user)
            .fetch_optional(db)
            .await?;
        let bytes = serde_json::to_vec_pretty(&value.unwrap_or(serde_json::Value::Null))
            .map_err(|e| Transient(anyhow::Error::new(e)))?;
        total += bytes.len() as u64;
        (archive, ()) = on_archive(archive, move |a| write_entry(a, name, &bytes)).await?;
    }
    let photos: Vec<(Uuid, String, String)> = sqlx::query_as(
        "SELECT id, original_key, declared_content_type FROM media
         WHERE owner_id = $1 AND status = 'ready' ORDER BY created_at",
    )
    .bind(user)
    .fetch_all(db)
    .await?;
    let mut restoring = 0usize;
    for (media_id, key, content_type) in photos {
        let then = Job::BuildExport { export_id };
        match originals::read(db, storage, media_id, &key, then).await? {
            Original::Bytes(bytes) => {
                total += bytes.len() as u64;
                if total > MAX_BYTES {
                    return fail(db, export_id, "export_too_large").await;
                }
                let name = format!("photos/{media_id}.{}", extension(&content_type));
                (archive, ()) = on_archive(archive, move |a| write_entry(a, &name, &bytes)).await?;
            }
            Original::Missing => {}
            Original::Restoring => restoring += 1,
        }
    }
    if restoring > 0 {
        // Each restored original queues this job again; the archive is
        // built anew then (restored copies stay readable for days).
        sqlx::query(
            "UPDATE data_exports SET status = 'waiting' WHERE id = $1 AND status = 'pending'",
        )
        .bind(export_id)
        .execute(db)
        .await?;
        tracing::info!(export = %export_id, restoring, "export waits for archived originals");
        return Ok(Outcome::Waiting);
    }
    (archive, ()) = on_archive(archive, |a| {
        a.set_comment("Ciel data export: JSON files and photos/ (originals as uploaded)");
        Ok(())
    })
    .await?;
    tokio::task::spawn_blocking(move || archive.finish().map(|_| ()))
        .await
        .map_err(|e| Transient(anyhow::Error::new(e)))?
        .map_err(|e| Transient(anyhow::Error::new(e).context("finish the export archive")))?;
    let key = key_of(user, export_id);
    let bytes = storage
        .put_file(&key, &temp.0, "application/zip")
        .await
        .map_err(Transient)?;
    drop(temp);
    let link = storage
        .presign_get_from(&key, SystemTime::now(), LINK_LIFETIME)
        .await
        .map_err(Transient)?;
    let mut tx = db.begin().await?;
    let updated = sqlx::query(
        "UPDATE data_exports SET status = 'ready', object_key = $2, bytes = $3, ready_at = now()
         WHERE id = $1 AND status IN ('pending', 'waiting')",
    )
    .bind(export_id)
    .bind(&key)
    .bind(i64::try_from(bytes).unwrap_or(i64::MAX))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated == 0 {
        return Ok(Outcome::Skipped);
    }
    let email: String = sqlx::query_scalar("SELECT email FROM users WHERE id = $1")
        .bind(user)
        .fetch_one(&mut *tx)
        .await?;
    let mail_id = crate::mail::insert(
        &mut tx,
        NewMail {
            user_id: user,
            kind: MailKind::DataExport,
            recipient: &email,
            new_email: None,
        },
    )
    .await?;
    sqlx::query("UPDATE mail_outbox SET link = $2 WHERE id = $1")
        .bind(mail_id)
        .bind(&link)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    crate::mail::queue_mail(db, queue, mail_id).await;
    tracing::info!(export = %export_id, bytes, "export ready");
    Ok(Outcome::Processed)
}

async fn fail(
    db: &PgPool,
    export_id: Uuid,
    code: &'static str,
) -> std::result::Result<Outcome, Transient> {
    sqlx::query("UPDATE data_exports SET status = 'failed', error_code = $2 WHERE id = $1")
        .bind(export_id)
        .bind(code)
        .execute(db)
        .await?;
    Ok(Outcome::Failed { code })
}

/// The chores: deletes exports a week old (object first, then row), and
/// queues again pending exports whose job was lost. Returns how many were
/// deleted.
pub async fn sweep(db: &PgPool, storage: &Storage, queue: &Queue) -> anyhow::Result<usize> {
    let old: Vec<(Uuid, Option<String>)> = sqlx::query_as(
        "SELECT id, object_key FROM data_exports
         WHERE created_at < now() - make_interval(secs => $1) ORDER BY created_at LIMIT 100",
    )
    .bind(KEPT_FOR.as_secs_f64())
    .fetch_all(db)
    .await?;
    for (id, key) in &old {
        if let Some(key) = key {
            storage.delete(key).await?;
        }
        sqlx::query("DELETE FROM data_exports WHERE id = $1")
            .bind(id)
            .execute(db)
            .await?;
    }
    let stalled: Vec<Uuid> = sqlx::query_scalar(
        "UPDATE data_exports SET queued_at = now()
         WHERE id IN (SELECT id FROM data_exports WHERE status = 'pending'
                      AND queued_at < now() - make_interval(secs => $1)
                      ORDER BY queued_at LIMIT 100 FOR UPDATE SKIP LOCKED)
         RETURNING id",
    )
    .bind(RETRY_AFTER.as_secs_f64())
    .fetch_all(db)
    .await?;
    for export_id in stalled {
        jobs::enqueue(queue, Job::BuildExport { export_id })
            .await
            .map_err(Error::Internal)?;
    }
    Ok(old.len())
}

/// Whether this process builds an export now (one at a time).
static BUILDING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The chores' builder: takes the oldest export that is pending, or whose
/// archived originals are restored, and builds it on a task of its own,
/// one at a time per process, so no request timeout bounds it. Returns the
/// export it started.
pub async fn build_due(db: &PgPool, storage: &Storage, queue: &Queue) -> Result<Option<Uuid>> {
    use std::sync::atomic::Ordering;
    if BUILDING.load(Ordering::Acquire) {
        return Ok(None);
    }
    let due: Option<Uuid> = sqlx::query_scalar(
        "SELECT id FROM data_exports e
         WHERE status IN ('pending', 'waiting')
           AND (building_until IS NULL OR building_until < now())
           AND NOT EXISTS (SELECT 1 FROM media_original_restores r
                           WHERE r.job LIKE '%build_export%' AND r.job LIKE '%' || e.id::text || '%')
         ORDER BY created_at LIMIT 1",
    )
    .fetch_optional(db)
    .await?;
    let Some(export_id) = due else {
        return Ok(None);
    };
    if BUILDING.swap(true, Ordering::AcqRel) {
        return Ok(None);
    }
    let (db, storage, queue) = (db.clone(), storage.clone(), queue.clone());
    struct Done;
    impl Drop for Done {
        fn drop(&mut self) {
            BUILDING.store(false, Ordering::Release);
        }
    }
    tokio::spawn(async move {
        let _done = Done;
        match build(&db, &storage, &queue, export_id).await {
            Ok(outcome) => {
                tracing::info!(export = %export_id, outcome = outcome.as_str(), "export build ended")
            }
            Err(e) => {
                tracing::warn!(error = %e, export = %export_id, "export build failed; the chores will retry")
            }
        }
    });
    Ok(Some(export_id))
}
