//! Posts: up to ten ready photos of the author's and a caption.

use std::collections::HashMap;

use serde::Serialize;
use sqlx::PgPool;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::graph;
use super::idempotency::{self, Claim, IdempotencyKey, Stored};
use super::page::{NEWEST, Page, PageRequest};
use super::render::{self, AVATAR_VARIANTS, CardRow, MediaView, Photos, UserCard};
use super::{Db, USER_VISIBLE, no_block, post_not_found};
use crate::error::{Error, FieldErrors, Result};
use crate::infra::s3::Storage;
use crate::media::MediaStatus;

pub const CAPTION_MAX_CHARS: usize = 2200;
pub const MEDIA_PER_POST_MAX: usize = 10;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Post {
    pub id: Uuid,
    pub author: UserCard,
    pub caption: String,
    /// The photos, in the order the author gave them.
    pub media: Vec<MediaView>,
    pub like_count: i32,
    pub comment_count: i32,
    pub liked_by_me: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A post to create, checked.
#[derive(Debug, Clone)]
pub struct NewPost {
    pub caption: String,
    pub media_ids: Vec<Uuid>,
}

impl NewPost {
    pub fn parse(caption: Option<&str>, media_ids: &[Uuid]) -> Result<Self> {
        let mut errors = FieldErrors::default();
        // Judged as sent, as the OpenAPI constraints say; stored trimmed.
        let sent = caption.unwrap_or("");
        let caption = sent.trim();
        if sent.chars().count() > CAPTION_MAX_CHARS {
            errors.add(
                "caption",
                format!("must be at most {CAPTION_MAX_CHARS} characters"),
            );
        } else if sent.chars().any(|c| c.is_control() && c != '\n') {
            errors.add(
                "caption",
                "may not contain control characters other than new lines",
            );
        }
        if media_ids.is_empty() || media_ids.len() > MEDIA_PER_POST_MAX {
            errors.add(
                "media_ids",
                format!("must name 1 to {MEDIA_PER_POST_MAX} photos"),
            );
        } else if (1..media_ids.len()).any(|i| media_ids[..i].contains(&media_ids[i])) {
            errors.add("media_ids", "may not name a photo twice");
        }
        errors.into_result()?;
        Ok(NewPost {
            caption: caption.to_string(),
            media_ids: media_ids.to_vec(),
        })
    }
}

/// Creates the post in `tx`. Every photo must be the author's, ready, and
/// in no other post; the rows are locked so that two posts cannot take the
/// same photo, and a deletion cannot slip in between.
pub async fn insert(tx: &mut sqlx::PgConnection, author: Uuid, new: &NewPost) -> Result<Uuid> {
    let found: Vec<(Uuid, MediaStatus, bool)> = sqlx::query_as(
        "SELECT m.id, m.status, EXISTS (SELECT 1 FROM post_media pm WHERE pm.media_id = m.id)
         FROM media m WHERE m.id = ANY($1) AND m.owner_id = $2
         ORDER BY m.id FOR UPDATE OF m",
    )
    .bind(&new.media_ids)
    .bind(author)
    .fetch_all(&mut *tx)
    .await?;
    if found.len() != new.media_ids.len() {
        return Err(Error::not_found(
            "media_not_found",
            "a photo in media_ids does not exist or is not yours",
        ));
    }
    if found
        .iter()
        .any(|(_, status, _)| *status != MediaStatus::Ready)
    {
        return Err(Error::unprocessable(
            "media_not_ready",
            "every photo must have finished processing (status `ready`)",
        ));
    }
    if found.iter().any(|(_, _, used)| *used) {
        return Err(Error::unprocessable(
            "media_in_use",
            "a photo in media_ids already belongs to another post",
        ));
    }
    let id = Uuid::now_v7();
    sqlx::query("INSERT INTO posts (id, author_id, caption) VALUES ($1, $2, $3)")
        .bind(id)
        .bind(author)
        .bind(&new.caption)
        .execute(&mut *tx)
        .await?;
    let positions: Vec<i16> = (0..new.media_ids.len() as i16).collect();
    sqlx::query(
        "INSERT INTO post_media (post_id, media_id, position)
         SELECT $1, * FROM UNNEST($2::uuid[], $3::smallint[])",
    )
    .bind(id)
    .bind(&new.media_ids)
    .bind(&positions)
    .execute(&mut *tx)
    .await?;
    Ok(id)
}

/// Which posts a hydration may return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Any post the viewer may see.
    Visible,
    /// Only the viewer's own posts and those of people they follow.
    HomeFeed,
}

#[derive(sqlx::FromRow)]
struct PostRow {
    post_id: Uuid,
    caption: String,
    like_count: i32,
    comment_count: i32,
    created_at: OffsetDateTime,
    liked_by_me: bool,
    media_ids: Vec<Uuid>,
    #[sqlx(flatten)]
    author: CardRow,
}

/// The posts among `ids` that `viewer` may see in `scope`, in the order of
/// `ids`. Ids of posts deleted, taken down, hidden or blocked since they
/// were listed are dropped here, so a stale list is never worse than the
/// next write would show.
pub async fn hydrate(
    db: &PgPool,
    urls: &Photos,
    viewer: Uuid,
    ids: &[Uuid],
    scope: Scope,
) -> Result<Vec<Post>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // A follow implies that no block stands between the two (a block ends
    // follows in its own transaction), so the feed's filter covers blocks.
    let scope_filter = match scope {
        Scope::Visible => no_block("$2", "u.id"),
        Scope::HomeFeed => {
            "(p.author_id = $2 OR EXISTS (
                 SELECT 1 FROM follows f WHERE f.follower_id = $2 AND f.followee_id = p.author_id))"
                .to_string()
        }
    };
    let rows = sqlx::query_as::<_, PostRow>(&format!(
        "SELECT p.id AS post_id, p.caption, p.like_count, p.comment_count, p.created_at,
                EXISTS (SELECT 1 FROM likes l WHERE l.post_id = p.id AND l.user_id = $2) AS liked_by_me,
                ARRAY(SELECT pm.media_id FROM post_media pm WHERE pm.post_id = p.id ORDER BY pm.position) AS media_ids,
                u.id, u.handle, u.display_name, u.avatar_media_id
         FROM posts p JOIN users u ON u.id = p.author_id
         WHERE p.id = ANY($1) AND p.taken_down_at IS NULL AND {USER_VISIBLE} AND {scope_filter}"
    ))
    .bind(ids)
    .bind(viewer)
    .fetch_all(db)
    .await?;
    let media_ids: Vec<Uuid> = rows
        .iter()
        .flat_map(|row| {
            row.media_ids
                .iter()
                .copied()
                .chain(row.author.avatar_media_id)
        })
        .collect();
    let views = render::media_views(db, urls, &media_ids, None).await?;
    let mut by_id: HashMap<Uuid, Post> = rows
        .into_iter()
        .map(|row| (row.post_id, assemble(row, &views)))
        .collect();
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

fn assemble(row: PostRow, views: &HashMap<Uuid, MediaView>) -> Post {
    let avatar = row.author.avatar_media_id.and_then(|id| {
        views.get(&id).map(|view| MediaView {
            variants: view
                .variants
                .iter()
                .filter(|v| AVATAR_VARIANTS.contains(&v.name.as_str()))
                .cloned()
                .collect(),
            ..view.clone()
        })
    });
    Post {
        id: row.post_id,
        author: UserCard {
            id: row.author.id,
            handle: row.author.handle,
            display_name: row.author.display_name,
            avatar,
        },
        caption: row.caption,
        media: row
            .media_ids
            .iter()
            .filter_map(|id| views.get(id).cloned())
            .collect(),
        like_count: row.like_count,
        comment_count: row.comment_count,
        liked_by_me: row.liked_by_me,
        created_at: row.created_at,
    }
}

/// One post as `viewer` sees it, from the primary: it may be one they just
/// made or liked.
pub async fn get(db: &Db, urls: &Photos, viewer: Uuid, id: Uuid) -> Result<Post> {
    hydrate(&db.primary, urls, viewer, &[id], Scope::Visible)
        .await?
        .pop()
        .ok_or_else(post_not_found)
}

/// The author of a post `viewer` may see (and so interact with).
pub async fn visible_author(tx: &mut sqlx::PgConnection, viewer: Uuid, id: Uuid) -> Result<Uuid> {
    sqlx::query_scalar(&format!(
        "SELECT p.author_id FROM posts p JOIN users u ON u.id = p.author_id
         WHERE p.id = $1 AND p.taken_down_at IS NULL AND {USER_VISIBLE} AND {}",
        no_block("$2", "u.id")
    ))
    .bind(id)
    .bind(viewer)
    .fetch_optional(tx)
    .await?
    .ok_or_else(post_not_found)
}

/// A user's posts, newest first, as `viewer` may see them.
pub async fn by_author(
    db: &Db,
    urls: &Photos,
    viewer: Uuid,
    handle: &str,
    page: &PageRequest<Uuid>,
) -> Result<Page<Post>> {
    let mut conn = db.replica.acquire().await?;
    let author = graph::visible_user_id(&mut conn, viewer, handle).await?;
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM posts WHERE author_id = $1 AND taken_down_at IS NULL AND id < $2
         ORDER BY id DESC LIMIT $3",
    )
    .bind(author)
    .bind(page.after.unwrap_or(NEWEST))
    .bind(page.fetch_limit())
    .fetch_all(&mut *conn)
    .await?;
    drop(conn);
    let ids = Page::from_rows(ids, page, |id| *id);
    let posts = hydrate(&db.replica, urls, viewer, &ids.items, Scope::Visible).await?;
    Ok(Page {
        items: posts,
        next_cursor: ids.next_cursor,
    })
}

/// Deletes one of the author's posts with its photos, objects first: if
/// storage fails the rows stay and a retry finishes the job.
pub async fn delete(db: &Db, storage: &Storage, viewer: Uuid, id: Uuid) -> Result<()> {
    let author: Option<Uuid> = sqlx::query_scalar("SELECT author_id FROM posts WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.primary)
        .await?;
    match author {
        Some(author) if author == viewer => {}
        Some(_) => {
            let mut conn = db.primary.acquire().await?;
            visible_author(&mut conn, viewer, id).await?;
            return Err(Error::forbidden(
                "not_post_author",
                "only the author can delete a post",
            ));
        }
        None => return Err(post_not_found()),
    }
    let media: Vec<(Uuid, String)> = sqlx::query_as(
        "SELECT m.id, m.original_key FROM post_media pm JOIN media m ON m.id = pm.media_id
         WHERE pm.post_id = $1",
    )
    .bind(id)
    .fetch_all(&db.primary)
    .await?;
    crate::media::delete_objects(storage, &media)
        .await
        .map_err(|e| {
            tracing::warn!(error = ?e, post = %id, "could not delete a post's objects");
            Error::Unavailable {
                code: "storage_unavailable",
                message: "storage cannot be reached right now; retry shortly",
            }
        })?;
    let media_ids: Vec<Uuid> = media.iter().map(|(id, _)| *id).collect();
    let mut tx = db.primary.begin().await?;
    sqlx::query("DELETE FROM posts WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM media WHERE id = ANY($1)")
        .bind(&media_ids)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// The outcome of a create, first or replayed.
pub struct Created {
    pub status: u16,
    pub post_id: Uuid,
    /// Set on a replay whose post can no longer be shown: the first answer.
    pub stored_response: Option<serde_json::Value>,
}

/// Creates a post, once per idempotency key.
pub async fn create(
    db: &Db,
    author: Uuid,
    new: &NewPost,
    idempotency: Option<&IdempotencyKey>,
) -> Result<Created> {
    let fingerprint = idempotency::fingerprint(&serde_json::json!({
        "caption": new.caption,
        "media_ids": new.media_ids,
    }));
    let mut tx = db.primary.begin().await?;
    if let Some(key) = idempotency
        && let Claim::Replay(stored) =
            idempotency::claim(&mut tx, author, key, &fingerprint).await?
    {
        tx.rollback().await?;
        let post_id = stored.resource_id.ok_or_else(post_not_found)?;
        return Ok(Created {
            status: stored.status,
            post_id,
            stored_response: Some(stored.response),
        });
    }
    let post_id = insert(&mut tx, author, new).await?;
    if let Some(key) = idempotency {
        let stored = Stored {
            status: 201,
            resource_id: Some(post_id),
            response: serde_json::json!({ "id": post_id }),
        };
        idempotency::complete(&mut tx, author, key, &stored).await?;
    }
    tx.commit().await?;
    Ok(Created {
        status: 201,
        post_id,
        stored_response: None,
    })
}

/// Keeps the full first answer of a keyed create, for a replay after the
/// post is gone.
pub async fn remember_response(
    db: &Db,
    author: Uuid,
    key: &IdempotencyKey,
    post: &Post,
) -> Result<()> {
    let stored = Stored {
        status: 201,
        resource_id: Some(post.id),
        response: serde_json::to_value(post).map_err(anyhow::Error::from)?,
    };
    let mut conn = db.primary.acquire().await?;
    idempotency::complete(&mut conn, author, key, &stored).await
}
