//! Mutes: the muted user vanishes from the muter's home feed, story tray
//! and the comments they read, and (unless only posts are muted) from their
//! notifications and pushes; for a while or until unmuted. The muted user
//! is not told and sees no difference: nothing they read changes. The rule
//! is [`super::not_muted`], applied by those reads.

use std::time::Duration;

use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::page::{Page, PageRequest, TimeKey};
use super::render::{self, CardRow, Photos, UserCard};
use super::{Db, USER_VISIBLE, visible_user_id};
use crate::error::{Code, Error, Result};

/// The longest a timed mute may run; longer is a mute without end.
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);

/// A mute to set, checked.
#[derive(Debug, Clone, Copy)]
pub struct NewMute {
    pub notifications: bool,
    pub duration: Option<Duration>,
}

impl NewMute {
    pub fn parse(notifications: Option<bool>, duration_secs: Option<u64>) -> Result<Self> {
        let duration = match duration_secs {
            None => None,
            Some(secs) if (60..=MAX_DURATION.as_secs()).contains(&secs) => {
                Some(Duration::from_secs(secs))
            }
            Some(_) => {
                return Err(Error::invalid_field(
                    "duration_secs",
                    "must be 60 to 31536000 seconds (a year), or absent for no end",
                ));
            }
        };
        Ok(NewMute {
            notifications: notifications.unwrap_or(true),
            duration,
        })
    }
}

/// Mutes `handle` for `muter`; muting again replaces the terms.
pub async fn mute(db: &Db, muter: Uuid, handle: &str, new: NewMute) -> Result<()> {
    let mut conn = db.primary.acquire().await?;
    let muted = visible_user_id(&mut conn, muter, handle).await?;
    if muted == muter {
        return Err(Error::from(Code::CannotMuteSelf));
    }
    sqlx::query(
        "INSERT INTO mutes (muter_id, muted_id, notifications, expires_at)
         VALUES ($1, $2, $3, now() + make_interval(secs => $4))
         ON CONFLICT (muter_id, muted_id) DO UPDATE
         SET notifications = EXCLUDED.notifications, expires_at = EXCLUDED.expires_at,
             created_at = now()",
    )
    .bind(muter)
    .bind(muted)
    .bind(new.notifications)
    .bind(new.duration.map(|d| d.as_secs_f64()))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Ends a mute; none is the same.
pub async fn unmute(db: &Db, muter: Uuid, handle: &str) -> Result<()> {
    let handle =
        crate::users::Handle::parse(handle).map_err(|_| Error::from(Code::UserNotFound))?;
    sqlx::query(
        "DELETE FROM mutes WHERE muter_id = $1
           AND muted_id = (SELECT id FROM users WHERE handle = $2)",
    )
    .bind(muter)
    .bind(handle.as_str())
    .execute(&db.primary)
    .await?;
    Ok(())
}

/// A muted user, as the muter's list shows them.
#[derive(Debug, Serialize, ToSchema)]
pub struct Muted {
    pub user: UserCard,
    /// Their notifications are muted too.
    pub notifications: bool,
    /// When the mute ends; null: when you unmute.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}

#[derive(sqlx::FromRow)]
struct Row {
    created_at: OffsetDateTime,
    notifications: bool,
    expires_at: Option<OffsetDateTime>,
    #[sqlx(flatten)]
    user: CardRow,
}

/// The muter's active mutes, newest first.
pub async fn list(
    db: &Db,
    photos: &Photos,
    muter: Uuid,
    page: &PageRequest<TimeKey>,
) -> Result<Page<Muted>> {
    let after = page.after.unwrap_or(TimeKey::MAX);
    let rows = sqlx::query_as::<_, Row>(&format!(
        "SELECT m.created_at, m.notifications, m.expires_at,
                u.id, u.handle, u.display_name, u.avatar_media_id
         FROM mutes m JOIN users u ON u.id = m.muted_id
         WHERE m.muter_id = $1 AND (m.expires_at IS NULL OR m.expires_at > now())
           AND (m.created_at, m.muted_id) < ($2, $3) AND {USER_VISIBLE}
         ORDER BY m.created_at DESC, m.muted_id DESC LIMIT $4"
    ))
    .bind(muter)
    .bind(after.at)
    .bind(after.id)
    .bind(page.fetch_limit())
    .fetch_all(&db.primary)
    .await?;
    let page = Page::from_rows(rows, page, |row| TimeKey {
        at: row.created_at,
        id: row.user.id,
    });
    render::with_cards(
        &db.primary,
        photos,
        page,
        |row| row.user.clone(),
        |row, user| Muted {
            user,
            notifications: row.notifications,
            expires_at: row.expires_at,
        },
    )
    .await
}

/// The chore: deletes mutes that ran out (reads ignore them already), a
/// bounded batch per run.
pub async fn prune(db: &sqlx::PgPool) -> Result<u64> {
    Ok(sqlx::query(
        "DELETE FROM mutes WHERE ctid = ANY(ARRAY(
             SELECT ctid FROM mutes WHERE expires_at <= now() LIMIT 10000))",
    )
    .execute(db)
    .await?
    .rows_affected())
}
