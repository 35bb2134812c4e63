//! Reports from users, and what moderators do about them: take a post
//! down, suspend a user (and undo it).

use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::page::{CursorKey, NEWEST, Page, PageRequest};
use super::{Db, post_not_found, user_not_found};
use crate::auth::{Auth, Revocation};
use crate::error::{Code, Error, Result};
use crate::infra::s3::Storage;
use crate::media::{hashmatch, withhold};
use crate::users::Handle;

pub const REASON_MAX_CHARS: usize = 1000;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, sqlx::Type, Serialize, ToSchema, serde::Deserialize,
)]
#[sqlx(type_name = "report_target", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum TargetType {
    Post,
    Comment,
    User,
    /// Kept as evidence, photo included, while the report stands, even
    /// past its expiry.
    Story,
}

/// A moderator's verdict on a report.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, sqlx::Type, Serialize, ToSchema, serde::Deserialize,
)]
#[sqlx(type_name = "report_resolution", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// The report was right: a strike for the account behind the target.
    Upheld,
    Dismissed,
}

/// What a report is about; the admin queue takes them in this order.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    sqlx::Type,
    Serialize,
    ToSchema,
    serde::Deserialize,
)]
#[sqlx(type_name = "report_category", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Category {
    ChildSafety,
    Violence,
    Harassment,
    Spam,
    #[default]
    Other,
}

impl Category {
    const ALL: [Category; 5] = [
        Category::ChildSafety,
        Category::Violence,
        Category::Harassment,
        Category::Spam,
        Category::Other,
    ];
}

/// The admin queue's order: category (child safety first), then newest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueKey {
    pub category: Category,
    pub id: Uuid,
}

impl CursorKey for QueueKey {
    fn to_raw(&self) -> String {
        format!("{}_{}", self.category as u8, self.id)
    }

    fn from_raw(raw: &str) -> Option<Self> {
        let (rank, id) = raw.split_once('_')?;
        Some(QueueKey {
            category: *Category::ALL.get(rank.parse::<usize>().ok()?)?,
            id: id.parse().ok()?,
        })
    }
}

pub struct NewReport {
    pub target_type: TargetType,
    pub target_id: Uuid,
    pub category: Category,
    pub reason: String,
}

impl NewReport {
    pub fn parse(
        target_type: TargetType,
        target_id: Uuid,
        category: Category,
        reason: &str,
    ) -> Result<Self> {
        let len = reason.chars().count();
        let reason = reason.trim();
        // PostgreSQL cannot store a NUL; the OpenAPI pattern excludes it too.
        if reason.is_empty() || len > REASON_MAX_CHARS || reason.contains('\0') {
            return Err(Error::invalid_field(
                "reason",
                format!("must be 1 to {REASON_MAX_CHARS} characters, with no NUL"),
            ));
        }
        Ok(NewReport {
            target_type,
            target_id,
            category,
            reason: reason.to_string(),
        })
    }
}

/// Whether target `$1` is there for reporter `$2` (a NULL reporter: anyone
/// signed out, for notices).
pub(crate) fn visible_sql(target_type: TargetType) -> &'static str {
    match target_type {
        TargetType::Post => {
            "SELECT EXISTS (SELECT 1 FROM posts p JOIN users u ON u.id = p.author_id
             WHERE p.id = $1 AND p.taken_down_at IS NULL AND u.deleted_at IS NULL AND u.suspended_at IS NULL
               AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = u.id AND b.blocked_id = $2))"
        }
        TargetType::Comment => {
            "SELECT EXISTS (SELECT 1 FROM comments c JOIN users u ON u.id = c.author_id
             WHERE c.id = $1 AND u.deleted_at IS NULL AND u.suspended_at IS NULL
               AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = u.id AND b.blocked_id = $2))"
        }
        TargetType::Story => {
            "SELECT EXISTS (SELECT 1 FROM stories s JOIN users u ON u.id = s.author_id
             WHERE s.id = $1 AND s.deleted_at IS NULL AND s.taken_down_at IS NULL
               AND u.deleted_at IS NULL AND u.suspended_at IS NULL
               AND (s.expires_at > now() OR s.highlighted)
               AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = u.id AND b.blocked_id = $2))"
        }
        TargetType::User => {
            "SELECT EXISTS (SELECT 1 FROM users u
             WHERE u.id = $1 AND u.deleted_at IS NULL AND u.suspended_at IS NULL
               AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = u.id AND b.blocked_id = $2))"
        }
    }
}

/// Files a report about something the reporter can see. Reporting what
/// does not exist (for them) is not found.
pub async fn report(db: &Db, reporter: Uuid, new: NewReport) -> Result<Uuid> {
    let mut tx = db.primary.begin().await?;
    let visible_sql = visible_sql(new.target_type);
    let visible: bool = sqlx::query_scalar(visible_sql)
        .bind(new.target_id)
        .bind(reporter)
        .fetch_one(&mut *tx)
        .await?;
    if !visible {
        return Err(Error::from(Code::ReportTargetNotFound));
    }
    // A repeat of the same reporter's report of the same target merges
    // into the first: moderators see one report, with the latest reason.
    let id: Uuid = sqlx::query_scalar(
        "INSERT INTO reports (id, reporter_id, target_type, target_id, reason, category)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (reporter_id, target_type, target_id)
         DO UPDATE SET reason = EXCLUDED.reason, category = EXCLUDED.category
         RETURNING id",
    )
    .bind(Uuid::now_v7())
    .bind(reporter)
    .bind(new.target_type)
    .bind(new.target_id)
    .bind(&new.reason)
    .bind(new.category)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(id)
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct Report {
    pub id: Uuid,
    /// Null for a notice from someone signed out (`notice` is set).
    pub reporter_id: Option<Uuid>,
    pub reporter_handle: Option<String>,
    /// Set when the report came from `POST /v1/notices`.
    pub notice_id: Option<Uuid>,
    pub notifier_name: Option<String>,
    pub notifier_email: Option<String>,
    pub target_type: TargetType,
    pub target_id: Uuid,
    pub category: Category,
    pub reason: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Set once resolved (`POST /v1/admin/reports/{id}/resolution`).
    pub resolution: Option<Resolution>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub resolved_at: Option<OffsetDateTime>,
}

/// Every report: child safety first, then violence, harassment, spam and
/// the rest; newest first within each.
pub async fn reports(db: &Db, page: &PageRequest<QueueKey>) -> Result<Page<Report>> {
    let after = page.after.unwrap_or(QueueKey {
        category: Category::ChildSafety,
        id: NEWEST,
    });
    let rows = sqlx::query_as::<_, Report>(
        "SELECT r.id, r.reporter_id, u.handle AS reporter_handle, r.notice_id,
                n.name AS notifier_name, n.email AS notifier_email, r.target_type, r.target_id,
                r.category, r.reason, r.created_at, r.resolution, r.resolved_at
         FROM reports r LEFT JOIN users u ON u.id = r.reporter_id
              LEFT JOIN notices n ON n.id = r.notice_id
         WHERE r.category > $1 OR (r.category = $1 AND r.id < $2)
         ORDER BY r.category, r.id DESC LIMIT $3",
    )
    .bind(after.category)
    .bind(after.id)
    .bind(page.fetch_limit())
    .fetch_all(&db.primary)
    .await?;
    Ok(Page::from_rows(rows, page, |report| QueueKey {
        category: report.category,
        id: report.id,
    }))
}

/// What a report is about, as moderators see it beside the report.
#[derive(Debug, sqlx::FromRow)]
pub struct TargetSummary {
    /// The account behind it: the author, or the account itself.
    pub handle: String,
    /// A post's caption or a comment's text.
    pub text: Option<String>,
    /// Taken down (a post or story), or suspended (an account).
    pub withdrawn: bool,
}

/// The report's target as it is now, whoever may see it; none once deleted.
pub async fn target_summary(
    db: &Db,
    target: TargetType,
    id: Uuid,
) -> Result<Option<TargetSummary>> {
    let sql = match target {
        TargetType::Post => {
            "SELECT u.handle, p.caption AS text, p.taken_down_at IS NOT NULL AS withdrawn
               FROM posts p JOIN users u ON u.id = p.author_id WHERE p.id = $1"
        }
        TargetType::Comment => {
            "SELECT u.handle, c.text, false AS withdrawn
               FROM comments c JOIN users u ON u.id = c.author_id WHERE c.id = $1"
        }
        TargetType::Story => {
            "SELECT u.handle, NULL::text AS text, s.taken_down_at IS NOT NULL AS withdrawn
               FROM stories s JOIN users u ON u.id = s.author_id WHERE s.id = $1"
        }
        TargetType::User => {
            "SELECT handle, NULL::text AS text, suspended_at IS NOT NULL AS withdrawn
               FROM users WHERE id = $1"
        }
    };
    Ok(sqlx::query_as(sql)
        .bind(id)
        .fetch_optional(&db.primary)
        .await?)
}

/// Hides a post everywhere, feeds included (their hydration drops it),
/// withholds its photos' variants, and adds their hashes to the block list.
pub async fn take_down(db: &Db, storage: &Storage, post_id: Uuid) -> Result<()> {
    mark_taken_down(db, post_id).await?;
    hashmatch::block_photos_of_post(&db.primary, post_id).await?;
    settle_photos_of_post(db, storage, post_id).await
}

/// Reverses a takedown: the post is shown again and its photos' variants
/// are back where their URLs point. An avatar the takedown cleared stays
/// cleared: the user chooses it again.
pub async fn restore(db: &Db, storage: &Storage, post_id: Uuid) -> Result<()> {
    let found = sqlx::query("UPDATE posts SET taken_down_at = NULL WHERE id = $1")
        .bind(post_id)
        .execute(&db.primary)
        .await?
        .rows_affected();
    if found == 0 {
        return Err(post_not_found());
    }
    hashmatch::unblock_photos_of_post(&db.primary, post_id).await?;
    settle_photos_of_post(db, storage, post_id).await
}

async fn settle_photos_of_post(db: &Db, storage: &Storage, post_id: Uuid) -> Result<()> {
    let photos = withhold::photos_of_post(&db.primary, post_id).await?;
    settle_photos(db, storage, photos).await;
    Ok(())
}

/// Moves the photos' objects now. The decision is committed already: if
/// storage fails, the API's chores finish the move within a minute or so,
/// so the moderator's call still succeeds.
async fn settle_photos(db: &Db, storage: &Storage, media: Vec<Uuid>) {
    if let Err(e) = withhold::settle(&db.primary, storage, &media).await {
        tracing::warn!(error = ?e, "could not move photos' variants yet; the chores will");
    }
}

/// Settles the photos of a user whose suspension changed, as many as one
/// settle moves at once; the chores move the rest.
pub(crate) async fn settle_photos_of_user(db: &Db, storage: &Storage, user: Uuid) -> Result<()> {
    let photos = sqlx::query_scalar(
        "SELECT id FROM media WHERE owner_id = $1 AND status = 'ready'
         ORDER BY created_at DESC LIMIT $2",
    )
    .bind(user)
    .bind(withhold::RECONCILE_BATCH)
    .fetch_all(&db.primary)
    .await?;
    settle_photos(db, storage, photos).await;
    Ok(())
}

async fn mark_taken_down(db: &Db, post_id: Uuid) -> Result<()> {
    let mut tx = db.primary.begin().await?;
    // Its photos first: a concurrent avatar change waits, then sees it.
    sqlx::query(
        "SELECT 1 FROM media WHERE id IN (SELECT media_id FROM post_media WHERE post_id = $1)
         FOR UPDATE",
    )
    .bind(post_id)
    .execute(&mut *tx)
    .await?;
    let found = sqlx::query(
        "UPDATE posts SET taken_down_at = COALESCE(taken_down_at, now()) WHERE id = $1",
    )
    .bind(post_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if found == 0 {
        return Err(post_not_found());
    }
    // Its photos do not live on as an avatar shown on every card.
    sqlx::query(
        "UPDATE users SET avatar_media_id = NULL, updated_at = now()
         WHERE avatar_media_id IN (SELECT media_id FROM post_media WHERE post_id = $1)",
    )
    .bind(post_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A live account by handle, suspended ones included: what the admin routes
/// act on.
pub(crate) async fn user_id(db: &Db, handle: &str) -> Result<Uuid> {
    let handle = Handle::parse(handle).map_err(|_| user_not_found())?;
    sqlx::query_scalar("SELECT id FROM users WHERE handle = $1 AND deleted_at IS NULL")
        .bind(handle.as_str())
        .fetch_optional(&db.primary)
        .await?
        .ok_or_else(user_not_found)
}

/// Hides a user and their posts, ends every session of theirs, and
/// withholds their photos' variants.
/// Returns the user's id.
pub async fn suspend(db: &Db, auth: &Auth, storage: &Storage, handle: &str) -> Result<Uuid> {
    let user = user_id(db, handle).await?;
    let mut tx = db.primary.begin().await?;
    let (_, ended) = suspend_in(&mut tx, auth, &[user]).await?;
    tx.commit().await?;
    auth.publish_ended(&ended).await;
    settle_photos_of_user(db, storage, user).await?;
    Ok(user)
}

/// Suspends `users` in the caller's transaction, until an admin lifts it
/// (a suspension a strike brought for a while becomes open-ended), and ends
/// all their sessions. Returns how many were not suspended before, and the
/// sessions ended, to publish once the transaction commits.
pub(crate) async fn suspend_in(
    tx: &mut sqlx::PgConnection,
    auth: &Auth,
    users: &[Uuid],
) -> Result<(u64, Vec<Uuid>)> {
    sqlx::query(
        "UPDATE users SET suspended_until = NULL
         WHERE id = ANY($1) AND suspended_until IS NOT NULL",
    )
    .bind(users)
    .execute(&mut *tx)
    .await?;
    let suspended = sqlx::query(
        "UPDATE users SET suspended_at = now()
         WHERE id = ANY($1) AND suspended_at IS NULL AND deleted_at IS NULL",
    )
    .bind(users)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let mut ended = Vec::new();
    for user in users {
        ended.extend(
            auth.end_all_sessions(&mut *tx, *user, Revocation::Suspended)
                .await?,
        );
    }
    Ok((suspended, ended))
}

/// Lifts a suspension, an admin's or one a strike brought.
pub async fn unsuspend(db: &Db, storage: &Storage, handle: &str) -> Result<()> {
    let user = user_id(db, handle).await?;
    sqlx::query("UPDATE users SET suspended_at = NULL, suspended_until = NULL WHERE id = $1")
        .bind(user)
        .execute(&db.primary)
        .await?;
    settle_photos_of_user(db, storage, user).await
}
