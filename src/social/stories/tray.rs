//! The tray: the people the viewer follows (and the viewer) who have active
//! stories the viewer may see; those with stories the viewer has not seen
//! first, then by newest story.
//!
//! Paging is over a snapshot: the first page fixes a time, carried in the
//! cursor, and the order is computed from the stories posted and the views
//! made up to it, so a view or a new story between two pages cannot move
//! anyone across a page boundary (no one is repeated or skipped). Expiry is
//! the present's: a story that expires between two pages is not shown on
//! the next, and an author left with none drops out.

use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::active;
use crate::error::Result;
use crate::social::page::{CursorKey, Page, PageRequest};
use crate::social::render::{self, CardRow, Photos, UserCard};
use crate::social::{Db, not_muted};

/// One author in the tray.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrayItem {
    pub author: UserCard,
    /// Whether any of their active stories is unseen by you.
    pub has_unseen: bool,
    /// When their newest story was posted.
    #[serde(with = "time::serde::rfc3339")]
    pub latest_at: OffsetDateTime,
    /// How many active stories of theirs you may see.
    pub count: i64,
    /// Whether one of them is for close friends (draw the marker).
    pub close_friends: bool,
}

/// A position in the tray: the snapshot's time, then the sort key of the
/// last author shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrayKey {
    pub as_of: OffsetDateTime,
    pub has_unseen: bool,
    pub latest_at: OffsetDateTime,
    pub author: Uuid,
}

fn micros(at: OffsetDateTime) -> i128 {
    at.unix_timestamp_nanos() / 1000
}

fn from_micros(raw: &str) -> Option<OffsetDateTime> {
    let micros: i128 = raw.parse().ok()?;
    OffsetDateTime::from_unix_timestamp_nanos(micros.checked_mul(1000)?).ok()
}

impl CursorKey for TrayKey {
    fn to_raw(&self) -> String {
        format!(
            "{}.{}.{}.{}",
            micros(self.as_of),
            u8::from(self.has_unseen),
            micros(self.latest_at),
            self.author
        )
    }

    fn from_raw(raw: &str) -> Option<Self> {
        let mut parts = raw.split('.');
        let key = TrayKey {
            as_of: from_micros(parts.next()?)?,
            has_unseen: match parts.next()? {
                "0" => false,
                "1" => true,
                _ => return None,
            },
            latest_at: from_micros(parts.next()?)?,
            author: parts.next()?.parse().ok()?,
        };
        parts.next().is_none().then_some(key)
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    has_unseen: bool,
    latest_at: OffsetDateTime,
    count: i64,
    close_friends: bool,
    #[sqlx(flatten)]
    author: CardRow,
}

/// The viewer's tray, a page at a time.
pub async fn tray(
    db: &Db,
    photos: &Photos,
    viewer: Uuid,
    page: &PageRequest<TrayKey>,
) -> Result<Page<TrayItem>> {
    let as_of = match page.after {
        Some(key) => key.as_of,
        None => {
            sqlx::query_scalar("SELECT now()")
                .fetch_one(&db.primary)
                .await?
        }
    };
    // Keyset over (has_unseen DESC, latest_at DESC, author DESC), the
    // first page starting before every real key.
    let (after_unseen, after_latest, after_author) = match page.after {
        Some(key) => (key.has_unseen, key.latest_at, key.author),
        None => (
            true,
            OffsetDateTime::from_unix_timestamp(253_402_300_799).map_err(anyhow::Error::from)?,
            Uuid::max(),
        ),
    };
    // Driven by the viewer's follows: its cost grows with the people one
    // follows and their active stories, never with all users or stories.
    let rows = sqlx::query_as::<_, Row>(&format!(
        "WITH authors AS (
             SELECT $1::uuid AS id
             UNION ALL
             SELECT followee_id FROM follows WHERE follower_id = $1
         ),
         shown AS (
             SELECT s.author_id, s.created_at, s.audience,
                    s.author_id <> $1 AND NOT EXISTS (
                        SELECT 1 FROM story_views v
                        WHERE v.story_id = s.id AND v.viewer_id = $1 AND v.viewed_at <= $2) AS unseen
             FROM authors a
             JOIN stories s ON s.author_id = a.id
             JOIN users u ON u.id = s.author_id
             WHERE s.created_at <= $2 AND {} AND {}
         ),
         ranked AS (
             SELECT author_id, bool_or(unseen) AS has_unseen, max(created_at) AS latest_at,
                    count(*) AS count, bool_or(audience = 'close_friends') AS close_friends
             FROM shown GROUP BY author_id
         )
         SELECT r.has_unseen, r.latest_at, r.count, r.close_friends,
                u.id, u.handle, u.display_name, u.avatar_media_id
         FROM ranked r JOIN users u ON u.id = r.author_id
         WHERE (r.has_unseen, r.latest_at, r.author_id) < ($3, $4, $5)
         ORDER BY r.has_unseen DESC, r.latest_at DESC, r.author_id DESC
         LIMIT $6",
        active("$1"),
        not_muted("$1", "s.author_id", false)
    ))
    .bind(viewer)
    .bind(as_of)
    .bind(after_unseen)
    .bind(after_latest)
    .bind(after_author)
    .bind(page.fetch_limit())
    .fetch_all(&db.primary)
    .await?;
    let page = Page::from_rows(rows, page, |row| TrayKey {
        as_of,
        has_unseen: row.has_unseen,
        latest_at: row.latest_at,
        author: row.author.id,
    });
    render::with_cards(
        &db.primary,
        photos,
        page,
        |row| row.author.clone(),
        |row, author| TrayItem {
            author,
            has_unseen: row.has_unseen,
            latest_at: row.latest_at,
            count: row.count,
            close_friends: row.close_friends,
        },
    )
    .await
}
