//! Legal holds: an admin keeps a post, a photo or a whole account, with a
//! reason and an end (a year by default), through the account purge, the
//! story sweep and the owner's deletion of the post. 18 U.S.C. §2258A(h)
//! asks a provider to preserve what it reported as apparent child sexual
//! abuse material for a year; a court or police preservation request is
//! the other case. When a hold ends (its time, or an admin's release), the
//! chores delete what it alone kept.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{Code, Error, FieldErrors, Result};
use crate::social::page::{Page, PageRequest, TimeKey};
use crate::trust::audit::Actor;

/// A hold's length when the admin gives none: §2258A(h)'s year.
pub const DEFAULT_LENGTH: Duration = Duration::from_secs(365 * 24 * 3600);
/// The longest hold one may place (it can be placed again).
pub const MAX_LENGTH: Duration = Duration::from_secs(5 * 365 * 24 * 3600);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HoldTarget {
    User,
    Post,
    Media,
}

impl HoldTarget {
    fn as_str(self) -> &'static str {
        match self {
            HoldTarget::User => "user",
            HoldTarget::Post => "post",
            HoldTarget::Media => "media",
        }
    }
}

/// SQL: an active hold `h`.
pub const ACTIVE: &str = "h.released_at IS NULL AND h.expires_at > now()";

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct Hold {
    pub id: Uuid,
    /// `user`, `post` or `media`.
    #[schema(example = "post")]
    pub target_type: String,
    pub target_id: Uuid,
    /// The account the held thing belongs to.
    pub owner_id: Uuid,
    pub reason: String,
    /// `admin` or `admin:<X-Admin-Actor>`.
    pub placed_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub released_at: Option<OffsetDateTime>,
}

const COLUMNS: &str =
    "id, target_type, target_id, owner_id, reason, placed_by, created_at, expires_at, released_at";

fn invalid(field: &'static str, message: &str) -> Error {
    let mut fields = FieldErrors::default();
    fields.add(field, message);
    Error::Validation(fields)
}

/// A hold's length as asked in days: a whole number, 1 to 1825; `None` for
/// the default year.
pub fn length_in_days(days: Option<f64>) -> Result<Option<Duration>> {
    match days {
        None => Ok(None),
        Some(days) if days.fract() == 0.0 && (1.0..=1825.0).contains(&days) => {
            Ok(Some(Duration::from_secs(days as u64 * 24 * 3600)))
        }
        Some(_) => Err(invalid("days", "a whole number of days, 1 to 1825")),
    }
}

/// Places a hold. The target must exist (deleted accounts' content too,
/// until their purge has run).
pub async fn place(
    db: &PgPool,
    actor: &Actor,
    target: HoldTarget,
    target_id: Uuid,
    reason: &str,
    length: Option<Duration>,
) -> Result<Hold> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 1000 || reason.contains('\0') {
        return Err(invalid("reason", "1 to 1000 characters"));
    }
    let length = length.unwrap_or(DEFAULT_LENGTH);
    if length.is_zero() || length > MAX_LENGTH {
        return Err(invalid("days", "1 to 1825 days"));
    }
    let owner_query = match target {
        HoldTarget::User => "SELECT id FROM users WHERE id = $1",
        HoldTarget::Post => "SELECT author_id FROM posts WHERE id = $1",
        HoldTarget::Media => "SELECT owner_id FROM media WHERE id = $1",
    };
    let owner: Uuid = sqlx::query_scalar(owner_query)
        .bind(target_id)
        .fetch_optional(db)
        .await?
        .ok_or(Code::HoldTargetNotFound)?;
    Ok(sqlx::query_as(&format!(
        "INSERT INTO legal_holds (id, target_type, target_id, owner_id, reason, placed_by, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7)) RETURNING {COLUMNS}"
    ))
    .bind(Uuid::now_v7())
    .bind(target.as_str())
    .bind(target_id)
    .bind(owner)
    .bind(reason)
    .bind(actor.as_str())
    .bind(length.as_secs_f64())
    .fetch_one(db)
    .await?)
}

/// Every hold, active or ended, newest first.
pub async fn list(db: &PgPool, page: &PageRequest<TimeKey>) -> Result<Page<Hold>> {
    let after = page.after.unwrap_or(TimeKey::MAX);
    let rows: Vec<Hold> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM legal_holds WHERE (created_at, id) < ($1, $2)
         ORDER BY created_at DESC, id DESC LIMIT $3"
    ))
    .bind(after.at)
    .bind(after.id)
    .bind(page.fetch_limit())
    .fetch_all(db)
    .await?;
    Ok(Page::from_rows(rows, page, |hold| TimeKey {
        at: hold.created_at,
        id: hold.id,
    }))
}

/// Ends a hold now; the chores delete what it alone kept.
pub async fn release(db: &PgPool, id: Uuid) -> Result<Hold> {
    sqlx::query_as(&format!(
        "UPDATE legal_holds SET released_at = COALESCE(released_at, now()) WHERE id = $1
         RETURNING {COLUMNS}"
    ))
    .bind(id)
    .fetch_optional(db)
    .await?
    .ok_or_else(|| Code::HoldNotFound.into())
}

/// What active holds keep of an account.
#[derive(Debug, Default)]
pub struct Kept {
    /// The whole account is held.
    pub account: bool,
    pub posts: Vec<Uuid>,
    /// Held photos, and the photos of held posts.
    pub media: Vec<Uuid>,
}

impl Kept {
    pub fn anything(&self) -> bool {
        self.account || !self.posts.is_empty() || !self.media.is_empty()
    }
}

/// What active holds keep of `owner`'s account.
pub async fn kept_of(db: &PgPool, owner: Uuid) -> Result<Kept> {
    let rows: Vec<(String, Uuid)> = sqlx::query_as(&format!(
        "SELECT target_type, target_id FROM legal_holds h WHERE h.owner_id = $1 AND {ACTIVE}"
    ))
    .bind(owner)
    .fetch_all(db)
    .await?;
    let mut kept = Kept::default();
    for (kind, id) in rows {
        match kind.as_str() {
            "user" => kept.account = true,
            "post" => kept.posts.push(id),
            _ => kept.media.push(id),
        }
    }
    let in_posts: Vec<Uuid> =
        sqlx::query_scalar("SELECT media_id FROM post_media WHERE post_id = ANY($1)")
            .bind(&kept.posts)
            .fetch_all(db)
            .await?;
    kept.media.extend(in_posts);
    Ok(kept)
}

/// Whether an active hold keeps the post `id` (itself, a photo of it, or
/// its author's account).
pub async fn keeps_post(db: &PgPool, id: Uuid) -> Result<bool> {
    Ok(sqlx::query_scalar(&format!(
        "SELECT EXISTS (SELECT 1 FROM legal_holds h WHERE {ACTIVE} AND (
             (h.target_type = 'post' AND h.target_id = $1)
             OR (h.target_type = 'media' AND h.target_id IN (SELECT media_id FROM post_media WHERE post_id = $1))
             OR (h.target_type = 'user' AND h.target_id = (SELECT author_id FROM posts WHERE id = $1))))"
    ))
    .bind(id)
    .fetch_one(db)
    .await?)
}

/// The author deleted a held post: it is hidden (taken down) instead, and
/// deleted once no hold keeps it.
pub async fn hide_deleted_post(db: &PgPool, id: Uuid) -> Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query("UPDATE posts SET taken_down_at = COALESCE(taken_down_at, now()) WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO legal_hold_deletions (post_id) VALUES ($1) ON CONFLICT (post_id) DO NOTHING",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}
