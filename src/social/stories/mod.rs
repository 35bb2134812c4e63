//! Stories: one photo for 24 hours, shown to the author's followers or to
//! their close friends; who saw it and one reaction per viewer; highlights
//! that keep chosen stories on the profile.
//!
//! Visibility is [`visible`], one SQL rule every read applies: expiry is
//! checked there on every read (the sweep only deletes what no read can
//! show), and so are blocks both ways, suspensions, deletions and
//! takedowns. Photos are served from a private prefix by URLs that live
//! half an hour at most ([`photos`]).

pub mod close_friends;
pub mod highlights;
pub mod photos;
pub mod sweep;
pub mod tray;
pub mod views;

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::idempotency::{self, Claim, IdempotencyKey, Stored};
use super::page::{Page, PageRequest};
use super::render::{self, CardRow, MediaView, Photos, UserCard};
use super::{Db, USER_VISIBLE, content_visible, no_block};
use crate::error::{Code, Error, OnConstraint, Result};
use crate::infra::s3::Storage;
use crate::media::usable;

/// How long a story is shown.
pub const LIFETIME: Duration = Duration::from_secs(24 * 3600);
pub const CAPTION_MAX_CHARS: usize = 200;

/// Who a story is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type, Serialize, Deserialize, ToSchema)]
#[sqlx(type_name = "story_audience", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
#[schema(as = StoryAudience)]
pub enum Audience {
    /// Everyone who follows the author.
    Followers,
    /// The followers on the author's close friends list.
    CloseFriends,
}

/// A story as a viewer sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Story {
    pub id: Uuid,
    pub author: UserCard,
    /// The photo; its URLs expire within 30 minutes: fetch the story again
    /// for fresh ones.
    pub media: MediaView,
    pub caption: String,
    /// Shown only to close friends: the marker apps draw on the story.
    pub close_friends: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Whether the viewer has marked it seen.
    pub seen: bool,
    /// The viewer's reaction, if any.
    pub my_reaction: Option<String>,
    /// The author's own stories only: how many have seen it (null for others).
    pub viewer_count: Option<i64>,
}

/// SQL: the story `s`, by the author `u`, may be seen by the user in the
/// bind parameter `viewer`: neither deleted nor taken down, its author
/// visible, its content visible to the viewer (a locked account's is for
/// approved followers) and no block either way; then either active (not expired) and
/// for the viewer (the author; or a follower, and a close friend if it is
/// for close friends), or kept in a highlight and for the viewer.
pub(crate) fn visible(viewer: &str) -> String {
    format!(
        "{} AND ({} OR s.highlighted)",
        shown_to(viewer),
        active_for(viewer)
    )
}

/// SQL: [`visible`] as an active story: not expired, and the viewer is its
/// author or follows them. What trays, user story lists, seen marks and
/// reactions act on; a highlight does not make a story active.
pub(crate) fn active(viewer: &str) -> String {
    format!("{} AND {}", shown_to(viewer), active_for(viewer))
}

/// SQL: the story `s` is shown at all to `viewer`: neither deleted nor
/// taken down, its author visible with content the viewer may see, no block
/// either way, and for the viewer's audience.
fn shown_to(viewer: &str) -> String {
    format!(
        "s.deleted_at IS NULL AND s.taken_down_at IS NULL AND {USER_VISIBLE} AND {blocks}
         AND {content}
         AND (s.author_id = {viewer} OR s.audience = 'followers'
              OR EXISTS (SELECT 1 FROM close_friends cf WHERE cf.owner_id = s.author_id AND cf.friend_id = {viewer}))",
        blocks = no_block(viewer, "s.author_id"),
        content = content_visible(viewer),
    )
}

fn active_for(viewer: &str) -> String {
    format!(
        "(s.expires_at > now()
          AND (s.author_id = {viewer}
               OR EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = {viewer} AND f.followee_id = s.author_id)))"
    )
}

pub(crate) fn story_not_found() -> Error {
    Error::from(Code::StoryNotFound)
}

/// A story to post, checked.
#[derive(Debug, Clone)]
pub struct NewStory {
    pub media_id: Uuid,
    pub caption: String,
    pub audience: Audience,
}

impl NewStory {
    pub fn parse(media_id: Uuid, caption: Option<&str>, audience: Audience) -> Result<Self> {
        let sent = caption.unwrap_or("");
        if sent.chars().count() > CAPTION_MAX_CHARS {
            return Err(Error::invalid_field(
                "caption",
                format!("must be at most {CAPTION_MAX_CHARS} characters"),
            ));
        }
        if sent.chars().any(|c| c.is_control() && c != '\n') {
            return Err(Error::invalid_field(
                "caption",
                "may not contain control characters other than new lines",
            ));
        }
        Ok(NewStory {
            media_id,
            caption: sent.trim().to_string(),
            audience,
        })
    }
}

/// What posting answered: the story, or on a replay the first answer.
pub enum Posted {
    Story(Box<Story>),
    Stored(serde_json::Value),
}

/// Posts a story, once per idempotency key. The photo must be the
/// author's, ready, and in no post or other story; its row is locked so
/// that a post and a story cannot both take it. Its variants then move to
/// the private prefix before the answer (the chores finish a move that
/// storage refused; until then its URLs are presigned all the same).
pub async fn post(
    db: &Db,
    storage: &Storage,
    photos: &Photos,
    author: Uuid,
    new: &NewStory,
    key: Option<&IdempotencyKey>,
) -> Result<(u16, Posted)> {
    let fingerprint = idempotency::fingerprint(&serde_json::json!({
        "story": true,
        "media_id": new.media_id,
        "caption": new.caption,
        "audience": new.audience,
    }));
    let mut tx = db.primary.begin().await?;
    if let Some(key) = key
        && let Claim::Replay(stored) =
            idempotency::claim(&mut tx, author, key, &fingerprint).await?
    {
        tx.rollback().await?;
        let id = stored.resource_id.ok_or_else(story_not_found)?;
        return Ok(match get(db, storage, photos, author, id).await {
            Ok(story) => (stored.status, Posted::Story(Box::new(story))),
            Err(e) if e.code() == Code::StoryNotFound => {
                (stored.status, Posted::Stored(stored.response))
            }
            Err(e) => return Err(e),
        });
    }
    let id = insert(&mut tx, author, new).await?;
    if let Some(key) = key {
        let stored = Stored {
            status: 201,
            resource_id: Some(id),
            response: serde_json::json!({ "id": id }),
        };
        idempotency::complete(&mut tx, author, key, &stored).await?;
    }
    tx.commit().await?;
    if let Err(e) = photos::make_private(&db.primary, storage, new.media_id).await {
        tracing::warn!(error = ?e, story = %id, "could not move a story photo yet; the chores will");
    }
    let story = get(db, storage, photos, author, id).await?;
    Ok((201, Posted::Story(Box::new(story))))
}

async fn insert(tx: &mut sqlx::PgConnection, author: Uuid, new: &NewStory) -> Result<Uuid> {
    let photo = usable::lock(&mut *tx, author, &[new.media_id]).await?;
    let avatar: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE avatar_media_id = $1)")
            .bind(new.media_id)
            .fetch_one(&mut *tx)
            .await?;
    if avatar || photo.iter().any(|p| p.in_post || p.in_story) {
        return Err(Code::MediaInUse.with_message(
            "this photo already belongs to a post, a story or your profile; upload it again",
        ));
    }
    let id = Uuid::now_v7();
    let lifetime = time::Duration::try_from(LIFETIME).map_err(anyhow::Error::from)?;
    sqlx::query(
        "INSERT INTO stories (id, author_id, media_id, caption, audience, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, now(), now() + $6)",
    )
    .bind(id)
    .bind(author)
    .bind(new.media_id)
    .bind(&new.caption)
    .bind(new.audience)
    .bind(lifetime)
    .execute(&mut *tx)
    .await
    .on_constraint(&[("stories_media_once", Code::MediaInUse)])?;
    Ok(id)
}

#[derive(sqlx::FromRow)]
struct StoryRow {
    story_id: Uuid,
    media_id: Uuid,
    caption: String,
    audience: Audience,
    created_at: OffsetDateTime,
    expires_at: OffsetDateTime,
    seen: bool,
    my_reaction: Option<String>,
    viewer_count: Option<i64>,
    #[sqlx(flatten)]
    author: CardRow,
}

/// The stories among `ids` that `viewer` may see, in the order of `ids`.
pub(crate) async fn hydrate(
    db: &sqlx::PgPool,
    storage: &Storage,
    photos: &Photos,
    viewer: Uuid,
    ids: &[Uuid],
) -> Result<Vec<Story>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sqlx::query_as::<_, StoryRow>(&format!(
        "SELECT s.id AS story_id, s.media_id, s.caption, s.audience, s.created_at, s.expires_at,
                EXISTS (SELECT 1 FROM story_views v WHERE v.story_id = s.id AND v.viewer_id = $2) AS seen,
                (SELECT r.emoji FROM story_reactions r WHERE r.story_id = s.id AND r.reactor_id = $2) AS my_reaction,
                CASE WHEN s.author_id = $2
                     THEN (SELECT count(*) FROM story_views v WHERE v.story_id = s.id) END AS viewer_count,
                u.id, u.handle, u.display_name, u.avatar_media_id
         FROM stories s JOIN users u ON u.id = s.author_id
         WHERE s.id = ANY($1) AND {}",
        visible("$2")
    ))
    .bind(ids)
    .bind(viewer)
    .fetch_all(db)
    .await?;
    let media_ids: Vec<Uuid> = rows.iter().map(|row| row.media_id).collect();
    let views = photos::views(&mut *db.acquire().await?, storage, &media_ids, None).await?;
    let cards = render::cards(db, photos, rows.iter().map(|r| r.author.clone()).collect()).await?;
    let mut by_id: HashMap<Uuid, Story> = HashMap::with_capacity(rows.len());
    for (row, author) in rows.into_iter().zip(cards) {
        let Some(media) = views.get(&row.media_id).cloned() else {
            continue;
        };
        by_id.insert(
            row.story_id,
            Story {
                id: row.story_id,
                author,
                media,
                caption: row.caption,
                close_friends: row.audience == Audience::CloseFriends,
                created_at: row.created_at,
                expires_at: row.expires_at,
                seen: row.seen,
                my_reaction: row.my_reaction,
                viewer_count: row.viewer_count,
            },
        );
    }
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

/// One story `viewer` may see: active, or kept in a highlight.
pub async fn get(
    db: &Db,
    storage: &Storage,
    photos: &Photos,
    viewer: Uuid,
    id: Uuid,
) -> Result<Story> {
    hydrate(&db.primary, storage, photos, viewer, &[id])
        .await?
        .pop()
        .ok_or_else(story_not_found)
}

/// A user's active stories that `viewer` may see, oldest first.
pub async fn by_author(
    db: &Db,
    storage: &Storage,
    photos: &Photos,
    viewer: Uuid,
    handle: &str,
    page: &PageRequest<Uuid>,
) -> Result<Page<Story>> {
    let mut conn = db.primary.acquire().await?;
    let author = crate::social::visible_user_id(&mut conn, viewer, handle).await?;
    crate::social::check_content_visible(&mut conn, viewer, author).await?;
    let ids: Vec<Uuid> = sqlx::query_scalar(&format!(
        "SELECT s.id FROM stories s JOIN users u ON u.id = s.author_id
         WHERE s.author_id = $2 AND s.id > $3 AND {}
         ORDER BY s.id LIMIT $4",
        active("$1")
    ))
    .bind(viewer)
    .bind(author)
    .bind(page.after.unwrap_or(Uuid::nil()))
    .bind(page.fetch_limit())
    .fetch_all(&mut *conn)
    .await?;
    drop(conn);
    let ids = Page::from_rows(ids, page, |id| *id);
    Ok(Page {
        items: hydrate(&db.primary, storage, photos, viewer, &ids.items).await?,
        next_cursor: ids.next_cursor,
    })
}

/// Deletes one of the author's stories. It vanishes at once; its objects
/// and rows go now, or, while a report keeps it as evidence, once the
/// report is gone (the sweep).
pub async fn delete(db: &Db, storage: &Storage, viewer: Uuid, id: Uuid) -> Result<()> {
    let author: Option<Uuid> = sqlx::query_scalar(
        "UPDATE stories SET deleted_at = COALESCE(deleted_at, now())
         WHERE id = $1 AND author_id = $2 AND deleted_at IS NULL RETURNING author_id",
    )
    .bind(id)
    .bind(viewer)
    .fetch_optional(&db.primary)
    .await?;
    if author.is_none() {
        return Err(not_author_or_not_found(db, viewer, id).await);
    }
    if let Err(e) = sweep::remove(&db.primary, storage, &[id]).await {
        tracing::warn!(error = ?e, story = %id, "could not remove a deleted story yet; the sweep will");
    }
    Ok(())
}

/// `not_story_author` for a story the viewer may see, else not found.
pub(crate) async fn not_author_or_not_found(db: &Db, viewer: Uuid, id: Uuid) -> Error {
    let seen: Result<Option<Uuid>> = sqlx::query_scalar(&format!(
        "SELECT s.id FROM stories s JOIN users u ON u.id = s.author_id WHERE s.id = $2 AND {}",
        visible("$1")
    ))
    .bind(viewer)
    .bind(id)
    .fetch_optional(&db.primary)
    .await
    .map_err(Error::from);
    match seen {
        Ok(Some(_)) => Error::from(Code::NotStoryAuthor),
        Ok(None) => story_not_found(),
        Err(e) => e,
    }
}

/// Hides a story everywhere (an admin's decision) and adds its photo's hash
/// to the block list; its photo is kept while
/// a report about it is, as evidence, and deleted by the sweep otherwise.
pub async fn take_down(db: &Db, storage: &Storage, id: Uuid) -> Result<()> {
    let found = sqlx::query(
        "UPDATE stories SET taken_down_at = COALESCE(taken_down_at, now()) WHERE id = $1",
    )
    .bind(id)
    .execute(&db.primary)
    .await?
    .rows_affected();
    if found == 0 {
        return Err(story_not_found());
    }
    crate::media::hashmatch::block_photo_of_story(&db.primary, id).await?;
    if let Err(e) = sweep::remove(&db.primary, storage, &[id]).await {
        tracing::warn!(error = ?e, story = %id, "could not remove a taken-down story yet; the sweep will");
    }
    Ok(())
}

/// What a block ends between two users: each one's place on the other's
/// close friends list, and their views of and reactions to each other's
/// stories.
pub(crate) async fn forget_between(tx: &mut sqlx::PgConnection, a: Uuid, b: Uuid) -> Result<()> {
    sqlx::query(
        "DELETE FROM close_friends
         WHERE (owner_id = $1 AND friend_id = $2) OR (owner_id = $2 AND friend_id = $1)",
    )
    .bind(a)
    .bind(b)
    .execute(&mut *tx)
    .await?;
    for table_and_column in [
        ("story_views", "viewer_id"),
        ("story_reactions", "reactor_id"),
    ] {
        let (table, column) = table_and_column;
        sqlx::query(&format!(
            "DELETE FROM {table} t USING stories s
             WHERE s.id = t.story_id
               AND ((s.author_id = $1 AND t.{column} = $2) OR (s.author_id = $2 AND t.{column} = $1))"
        ))
        .bind(a)
        .bind(b)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}
