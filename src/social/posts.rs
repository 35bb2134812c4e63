//! Posts: up to ten ready photos of the author's and a caption.

use sqlx::PgPool;
use uuid::Uuid;

use super::entities::{self, Scanned};
use super::feed::Feed;
use super::idempotency::{self, Claim, IdempotencyKey, Stored};
use super::page::{NEWEST, Page, PageRequest};
pub use super::post_view::{Post, Scope, hydrate};
use super::render::Photos;
use super::{Db, USER_VISIBLE, check_content_visible, content_visible, no_block, post_not_found};
use super::{hashtags, mentions};
use crate::error::{Code, Error, FieldErrors, OnConstraint, Result};
use crate::infra::s3::Storage;
use crate::media::alt_text::AltText;
use crate::media::usable;

pub const CAPTION_MAX_CHARS: usize = 2200;
pub const MEDIA_PER_POST_MAX: usize = 10;

/// A post to create, checked.
#[derive(Debug, Clone)]
pub struct NewPost {
    pub caption: String,
    pub media_ids: Vec<Uuid>,
    /// Alt text per photo, in the order of `media_ids`: none leaves what
    /// the photo has (`PATCH /v1/media/{id}`).
    pub alt_texts: Vec<AltText>,
    /// The caption's hashtags and `@handle`s.
    pub scanned: Scanned,
}

/// Checks a caption as sent (the OpenAPI constraints judge it so) and
/// returns it trimmed, as stored.
pub fn parse_caption(sent: Option<&str>, errors: &mut FieldErrors) -> String {
    let sent = sent.unwrap_or("");
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
    sent.trim().to_string()
}

impl NewPost {
    /// `alt_texts` is empty, or one per photo.
    pub fn parse(
        caption: Option<&str>,
        media_ids: &[Uuid],
        alt_texts: Vec<AltText>,
    ) -> Result<Self> {
        let mut errors = FieldErrors::default();
        let caption = parse_caption(caption, &mut errors);
        if media_ids.is_empty() || media_ids.len() > MEDIA_PER_POST_MAX {
            errors.add(
                "media_ids",
                format!("must name 1 to {MEDIA_PER_POST_MAX} photos"),
            );
        } else if (1..media_ids.len()).any(|i| media_ids[..i].contains(&media_ids[i])) {
            errors.add("media_ids", "may not name a photo twice");
        }
        errors.into_result()?;
        let scanned = entities::scan(&caption);
        scanned.check("caption")?;
        let alt_texts = if alt_texts.is_empty() {
            vec![AltText::none(); media_ids.len()]
        } else {
            alt_texts
        };
        Ok(NewPost {
            caption,
            media_ids: media_ids.to_vec(),
            alt_texts,
            scanned,
        })
    }
}

/// Creates the post in `tx`. Every photo must be usable by the author
/// ([`usable::lock`]: theirs, ready, not held for review) and in no other post; the rows are locked so that two posts cannot take the
/// same photo, and a deletion cannot slip in between.
pub async fn insert(tx: &mut sqlx::PgConnection, author: Uuid, new: &NewPost) -> Result<Uuid> {
    let found = usable::lock(&mut *tx, author, &new.media_ids).await?;
    if found.iter().any(|photo| photo.in_post || photo.in_story) {
        return Err(Error::from(Code::MediaInUse));
    }
    let id = Uuid::now_v7();
    let entities = entities::resolve(&mut *tx, author, &new.scanned).await?;
    sqlx::query(
        "INSERT INTO posts (id, author_id, caption, caption_entities) VALUES ($1, $2, $3, $4::jsonb)",
    )
    .bind(id)
    .bind(author)
    .bind(&new.caption)
    .bind(entities::to_json(&entities))
    .execute(&mut *tx)
    .await?;
    hashtags::tag_post(&mut *tx, id, &new.scanned.tags()).await?;
    mentions::notify_caption(&mut *tx, author, id, &entities).await?;
    let positions: Vec<i16> = (0..new.media_ids.len() as i16).collect();
    sqlx::query(
        "INSERT INTO post_media (post_id, media_id, position)
         SELECT $1, * FROM UNNEST($2::uuid[], $3::smallint[])",
    )
    .bind(id)
    .bind(&new.media_ids)
    .bind(&positions)
    .execute(&mut *tx)
    .await
    .on_constraint(&[("post_media_media_key", Code::MediaInUse)])?;
    let alt_texts: Vec<Option<&str>> = new.alt_texts.iter().map(AltText::as_deref).collect();
    sqlx::query(
        "UPDATE media SET alt_text = given.alt_text
         FROM UNNEST($1::uuid[], $2::text[]) AS given (id, alt_text)
         WHERE media.id = given.id AND given.alt_text IS NOT NULL",
    )
    .bind(&new.media_ids)
    .bind(&alt_texts)
    .execute(&mut *tx)
    .await?;
    Ok(id)
}

/// One post as `viewer` sees it, from the primary: it may be one they just
/// made or liked.
pub async fn get(db: &Db, urls: &Photos, viewer: Uuid, id: Uuid) -> Result<Post> {
    hydrate(
        &mut *db.primary.acquire().await?,
        urls,
        viewer,
        &[id],
        Scope::Visible,
    )
    .await?
    .pop()
    .ok_or_else(post_not_found)
}

/// The author of a post `viewer` may see (and so interact with).
pub async fn visible_author(tx: &mut sqlx::PgConnection, viewer: Uuid, id: Uuid) -> Result<Uuid> {
    sqlx::query_scalar(&format!(
        "SELECT p.author_id FROM posts p JOIN users u ON u.id = p.author_id
         WHERE p.id = $1 AND p.taken_down_at IS NULL AND {USER_VISIBLE} AND {} AND {}",
        no_block("$2", "u.id"),
        content_visible("$2")
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
    let author = super::visible_user_id(&mut conn, viewer, handle).await?;
    check_content_visible(&mut conn, viewer, author).await?;
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
    super::post_view::visible_page(db, urls, viewer, ids, page).await
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
            return Err(Error::from(Code::NotPostAuthor));
        }
        None => return Err(post_not_found()),
    }
    if crate::social::holds::keeps_post(&db.primary, id).await? {
        // Evidence under a legal hold: hidden now, deleted when it ends.
        return crate::social::holds::hide_deleted_post(&db.primary, id).await;
    }
    erase(&db.primary, storage, id).await
}

/// Deletes a post's objects, then its rows and its photos' rows.
pub async fn erase(db: &PgPool, storage: &Storage, id: Uuid) -> Result<()> {
    let media: Vec<(Uuid, String)> = sqlx::query_as(
        "SELECT m.id, m.original_key FROM post_media pm JOIN media m ON m.id = pm.media_id
         WHERE pm.post_id = $1",
    )
    .bind(id)
    .fetch_all(db)
    .await?;
    crate::media::delete_objects(storage, &media)
        .await
        .map_err(|e| {
            tracing::warn!(error = ?e, post = %id, "could not delete a post's objects");
            Error::from(Code::StorageUnavailable)
        })?;
    let media_ids: Vec<Uuid> = media.iter().map(|(id, _)| *id).collect();
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM posts WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    crate::media::delete_many(&mut tx, &media_ids).await?;
    tx.commit().await?;
    Ok(())
}

/// What publishing answered: the post, or on a replay the first answer.
pub struct Published {
    pub status: u16,
    pub answer: Answer,
    /// A replay of a keyed publish: nothing new was written.
    pub replayed: bool,
}

pub enum Answer {
    Post(Box<Post>),
    /// A replay of a post deleted since: the first answer, as it was.
    Stored(serde_json::Value),
}

/// Publishes a post, once per idempotency key: the post, its idempotency
/// row with the whole answer, in one transaction; then the fan-out to the
/// followers' timelines (`reach` of them, or all). A replay answers what
/// the first request did.
pub async fn publish(
    db: &Db,
    urls: &Photos,
    feed: &Feed,
    author: Uuid,
    new: &NewPost,
    idempotency: Option<&IdempotencyKey>,
    reach: Option<usize>,
) -> Result<Published> {
    let mut request = serde_json::json!({
        "caption": new.caption,
        "media_ids": new.media_ids,
    });
    // Only when given, so that keys stored before alt text still match.
    if new.alt_texts.iter().any(|alt| alt.as_deref().is_some()) {
        request["alt_texts"] = new.alt_texts.iter().map(AltText::as_deref).collect();
    }
    let fingerprint = idempotency::fingerprint(&request);
    let mut tx = db.primary.begin().await?;
    if let Some(key) = idempotency
        && let Claim::Replay(stored) =
            idempotency::claim(&mut tx, author, key, &fingerprint).await?
    {
        tx.rollback().await?;
        return replay(db, urls, author, stored).await;
    }
    let post_id = insert(&mut tx, author, new).await?;
    let post = hydrate(&mut tx, urls, author, &[post_id], Scope::Visible)
        .await?
        .pop()
        .ok_or_else(post_not_found)?;
    if let Some(key) = idempotency {
        let stored = Stored {
            status: 201,
            resource_id: Some(post_id),
            response: serde_json::to_value(&post).map_err(anyhow::Error::from)?,
        };
        idempotency::complete(&mut tx, author, key, &stored).await?;
    }
    tx.commit().await?;
    feed.fan_out(author, post_id, reach).await;
    Ok(Published {
        status: 201,
        answer: Answer::Post(Box::new(post)),
        replayed: false,
    })
}

/// The answer to a replayed key: the post as it is now, or the first
/// answer if it is gone.
async fn replay(db: &Db, urls: &Photos, viewer: Uuid, stored: Stored) -> Result<Published> {
    let post_id = stored.resource_id.ok_or_else(post_not_found)?;
    let answer = match get(db, urls, viewer, post_id).await {
        Ok(post) => Answer::Post(Box::new(post)),
        Err(e) if e.code() == Code::PostNotFound => Answer::Stored(stored.response),
        Err(e) => return Err(e),
    };
    Ok(Published {
        status: stored.status,
        answer,
        replayed: true,
    })
}
