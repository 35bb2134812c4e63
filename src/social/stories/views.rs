//! Seen marks, the author's viewers list, and reactions: one emoji per
//! viewer and story, which notifies the author; taking it back takes the
//! notification back.

use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{active, not_author_or_not_found, story_not_found};
use crate::error::{Code, Error, Result};
use crate::social::notifications::{self, Kind, Subject};
use crate::social::page::{Page, PageRequest, TimeKey};
use crate::social::render::{self, CardRow, Photos, UserCard};
use crate::social::{Db, USER_VISIBLE, no_block};

/// The longest reaction, in bytes: one emoji with its modifiers and joiners
/// (a family, a flag) fits.
pub const EMOJI_MAX_BYTES: usize = 32;

/// One emoji, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Emoji(String);

impl Emoji {
    /// One emoji: pictographs with their presentation selectors, skin
    /// tones, joiners, keycaps and tags; no letters, digits, spaces or
    /// controls, and at most [`EMOJI_MAX_BYTES`].
    pub fn parse(raw: &str) -> Result<Self> {
        let invalid = || Error::from(Code::InvalidEmoji);
        if raw.is_empty() || raw.len() > EMOJI_MAX_BYTES {
            return Err(invalid());
        }
        if !raw
            .chars()
            .all(|c| is_pictograph(c) || is_emoji_modifier(c))
        {
            return Err(invalid());
        }
        if !raw.chars().any(is_pictograph) {
            return Err(invalid());
        }
        Ok(Emoji(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_pictograph(c: char) -> bool {
    matches!(c as u32,
        0x00A9 | 0x00AE | 0x203C | 0x2049 | 0x2122 | 0x2139
        | 0x2194..=0x21AA | 0x231A..=0x23FF | 0x24C2 | 0x25AA..=0x25FE
        | 0x2600..=0x27BF | 0x2934..=0x2935 | 0x2B05..=0x2B55
        | 0x3030 | 0x303D | 0x3297 | 0x3299
        | 0x1F000..=0x1FAFF)
}

/// What may follow or join pictographs: the variation selector, the
/// zero-width joiner, the keycap, skin tones (within the pictograph range
/// already), regional indicators (flags, also in range) and tags.
fn is_emoji_modifier(c: char) -> bool {
    matches!(c as u32, 0xFE0F | 0x200D | 0x20E3 | 0xE0020..=0xE007F)
}

/// Marks a story seen by the viewer; again is the same. The author's own
/// views are not counted.
pub async fn mark_seen(db: &Db, viewer: Uuid, story: Uuid) -> Result<()> {
    let author = active_author(db, viewer, story).await?;
    if author == viewer {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO story_views (story_id, viewer_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(story)
    .bind(viewer)
    .execute(&db.primary)
    .await?;
    Ok(())
}

/// The author of an active story the viewer may see.
async fn active_author(db: &Db, viewer: Uuid, story: Uuid) -> Result<Uuid> {
    sqlx::query_scalar(&format!(
        "SELECT s.author_id FROM stories s JOIN users u ON u.id = s.author_id
         WHERE s.id = $2 AND {}",
        active("$1")
    ))
    .bind(viewer)
    .bind(story)
    .fetch_optional(&db.primary)
    .await?
    .ok_or_else(story_not_found)
}

/// Someone who saw a story, with their reaction.
#[derive(Debug, Serialize, ToSchema)]
pub struct StoryViewer {
    pub user: UserCard,
    #[serde(with = "time::serde::rfc3339")]
    pub viewed_at: OffsetDateTime,
    pub reaction: Option<String>,
}

#[derive(sqlx::FromRow)]
struct ViewerRow {
    viewed_at: OffsetDateTime,
    reaction: Option<String>,
    #[sqlx(flatten)]
    user: CardRow,
}

/// Who saw one of the author's stories, newest first: only the author may
/// ask, and only users they may still see are listed.
pub async fn viewers(
    db: &Db,
    photos: &Photos,
    viewer: Uuid,
    story: Uuid,
    page: &PageRequest<TimeKey>,
) -> Result<Page<StoryViewer>> {
    let own: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM stories WHERE id = $1 AND author_id = $2
                         AND deleted_at IS NULL AND taken_down_at IS NULL)",
    )
    .bind(story)
    .bind(viewer)
    .fetch_one(&db.primary)
    .await?;
    if !own {
        return Err(not_author_or_not_found(db, viewer, story).await);
    }
    let after = page.after.unwrap_or(TimeKey::MAX);
    let rows = sqlx::query_as::<_, ViewerRow>(&format!(
        "SELECT v.viewed_at,
                (SELECT r.emoji FROM story_reactions r WHERE r.story_id = v.story_id AND r.reactor_id = u.id) AS reaction,
                u.id, u.handle, u.display_name, u.avatar_media_id
         FROM story_views v JOIN users u ON u.id = v.viewer_id
         WHERE v.story_id = $1 AND (v.viewed_at, v.viewer_id) < ($3, $4)
           AND {USER_VISIBLE} AND {}
         ORDER BY v.viewed_at DESC, v.viewer_id DESC LIMIT $5",
        no_block("$2", "u.id")
    ))
    .bind(story)
    .bind(viewer)
    .bind(after.at)
    .bind(after.id)
    .bind(page.fetch_limit())
    .fetch_all(&db.primary)
    .await?;
    let page = Page::from_rows(rows, page, |row| TimeKey {
        at: row.viewed_at,
        id: row.user.id,
    });
    render::with_cards(
        &db.primary,
        photos,
        page,
        |row| row.user.clone(),
        |row, user| StoryViewer {
            user,
            viewed_at: row.viewed_at,
            reaction: row.reaction,
        },
    )
    .await
}

fn subject(story: Uuid) -> Subject {
    Subject {
        kind: Kind::StoryReaction,
        post_id: None,
        comment_id: None,
        story_id: Some(story),
    }
}

/// Sets the viewer's reaction to an active story (replacing one they gave),
/// marks it seen, and notifies the author. Reacting to your own story is
/// refused.
pub async fn react(db: &Db, viewer: Uuid, story: Uuid, emoji: &Emoji) -> Result<()> {
    let mut tx = db.primary.begin().await?;
    let author: Uuid = sqlx::query_scalar(&format!(
        "SELECT s.author_id FROM stories s JOIN users u ON u.id = s.author_id
         WHERE s.id = $2 AND {} FOR SHARE OF s",
        active("$1")
    ))
    .bind(viewer)
    .bind(story)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(story_not_found)?;
    if author == viewer {
        return Err(Error::from(Code::CannotReactToOwnStory));
    }
    sqlx::query(
        "INSERT INTO story_reactions (story_id, reactor_id, emoji) VALUES ($1, $2, $3)
         ON CONFLICT (story_id, reactor_id) DO UPDATE SET emoji = EXCLUDED.emoji, reacted_at = now()",
    )
    .bind(story)
    .bind(viewer)
    .bind(emoji.as_str())
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO story_views (story_id, viewer_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(story)
    .bind(viewer)
    .execute(&mut *tx)
    .await?;
    notifications::notify(&mut tx, author, viewer, subject(story)).await?;
    tx.commit().await?;
    Ok(())
}

/// Takes the viewer's reaction back, and its notification. Taking back
/// none is the same.
pub async fn unreact(db: &Db, viewer: Uuid, story: Uuid) -> Result<()> {
    let mut tx = db.primary.begin().await?;
    let author: Uuid = sqlx::query_scalar(&format!(
        "SELECT s.author_id FROM stories s JOIN users u ON u.id = s.author_id
         WHERE s.id = $2 AND {}",
        super::visible("$1")
    ))
    .bind(viewer)
    .bind(story)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(story_not_found)?;
    let removed =
        sqlx::query("DELETE FROM story_reactions WHERE story_id = $1 AND reactor_id = $2")
            .bind(story)
            .bind(viewer)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    if removed > 0 {
        notifications::withdraw(&mut tx, author, viewer, subject(story)).await?;
    }
    tx.commit().await?;
    Ok(())
}
