//! Caption edits: the author changes a post's caption; the post shows
//! `edited_at`, and every caption it had before is kept, with when it was
//! replaced, for moderators (a caption edited after a report must not
//! erase what was reported). The history lives and dies with its post.

use serde::Serialize;
use sqlx::PgPool;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::entities::{self, Scanned};
use super::page::{Page, PageRequest};
use super::posts::{self, Post};
use super::render::Photos;
use super::{Db, post_not_found};
use super::{hashtags, mentions};
use crate::error::{Code, Error, FieldErrors, Result};

/// A caption a post had, and when an edit replaced it.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct PostEdit {
    pub id: Uuid,
    /// The caption before this edit.
    pub caption: String,
    #[serde(with = "time::serde::rfc3339")]
    pub edited_at: OffsetDateTime,
}

/// A new caption, checked as on creation, with its hashtags and mentions.
pub struct NewCaption {
    text: String,
    scanned: Scanned,
}

impl NewCaption {
    pub fn parse(sent: &str) -> Result<Self> {
        let mut errors = FieldErrors::default();
        let text = posts::parse_caption(Some(sent), &mut errors);
        errors.into_result()?;
        let scanned = entities::scan(&text);
        scanned.check("caption")?;
        Ok(NewCaption { text, scanned })
    }
}

/// Changes the caption of `author`'s post `id`, keeping the old one. The
/// same caption again changes nothing. Answers the post as it is now.
pub async fn edit_caption(
    db: &Db,
    urls: &Photos,
    author: Uuid,
    id: Uuid,
    caption: &NewCaption,
) -> Result<Post> {
    let mut tx = db.primary.begin().await?;
    // Two edits queue; `FOR UPDATE` would also hold up the foreign-key
    // checks of every like and comment written meanwhile.
    let found: Option<(Uuid, String)> = sqlx::query_as(
        "SELECT author_id, caption FROM posts WHERE id = $1 AND taken_down_at IS NULL
         FOR NO KEY UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    match found {
        Some((owner, _)) if owner != author => {
            // Someone else's: forbidden if they may see it, else not found.
            posts::visible_author(&mut tx, author, id).await?;
            return Err(Code::NotPostAuthor.with_message("only the author can edit a post"));
        }
        Some((_, old)) if old != caption.text => {
            sqlx::query("INSERT INTO post_edits (id, post_id, caption) VALUES ($1, $2, $3)")
                .bind(Uuid::now_v7())
                .bind(id)
                .bind(&old)
                .execute(&mut *tx)
                .await?;
            let entities = entities::resolve(&mut tx, author, &caption.scanned).await?;
            sqlx::query(
                "UPDATE posts SET caption = $2, caption_entities = $3::jsonb, edited_at = now()
                 WHERE id = $1",
            )
            .bind(id)
            .bind(&caption.text)
            .bind(entities::to_json(&entities))
            .execute(&mut *tx)
            .await?;
            // Tag pages change at once; the home timelines of the new tags'
            // followers get the post when they are next rebuilt.
            hashtags::tag_post(&mut tx, id, &caption.scanned.tags()).await?;
            // Those mentioned before were told then (one per post and writer).
            mentions::notify_caption(&mut tx, author, id, &entities).await?;
        }
        Some(_) => {}
        None => return Err(post_not_found()),
    }
    tx.commit().await?;
    // Nothing holds a rendered post: timelines keep ids and every read
    // hydrates the caption from the row, so the edit shows everywhere now.
    posts::get(db, urls, author, id).await
}

/// A post's earlier captions, newest edit first, for moderators: any post
/// that still exists, taken down or not.
pub async fn history(db: &PgPool, id: Uuid, page: &PageRequest<Uuid>) -> Result<Page<PostEdit>> {
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM posts WHERE id = $1)")
        .bind(id)
        .fetch_one(db)
        .await?;
    if !exists {
        return Err(Error::from(Code::PostNotFound));
    }
    let rows: Vec<PostEdit> = sqlx::query_as(
        "SELECT id, caption, edited_at FROM post_edits WHERE post_id = $1 AND id < $2
         ORDER BY id DESC LIMIT $3",
    )
    .bind(id)
    .bind(page.after.unwrap_or(super::page::NEWEST))
    .bind(page.fetch_limit())
    .fetch_all(db)
    .await?;
    Ok(Page::from_rows(rows, page, |edit| edit.id))
}
