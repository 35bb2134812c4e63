//! Comments on posts, oldest first. The comment's author and the post's
//! author may delete a comment.

use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::entities::{self, Entity, Scanned};
use super::filters::{self, Context, FilterMatch};
use super::mentions;
use super::notifications::{self, Kind, Subject};
use super::page::{Page, PageRequest};
use super::posts::visible_author;
use super::render::{self, CardRow, Photos, UserCard};
use super::{Db, USER_VISIBLE, no_block, not_muted};
use crate::error::{Code, Error, Result};

pub const TEXT_MAX_CHARS: usize = 1000;

#[derive(Debug, Serialize, ToSchema)]
pub struct Comment {
    pub id: Uuid,
    pub post_id: Uuid,
    pub author: UserCard,
    pub text: String,
    /// The text's hashtags and mentions, with their ranges in UTF-16 code
    /// units.
    pub entities: Vec<Entity>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The reader's `warn` filters for comments this comment matches: the
    /// app shows it behind a warning naming them.
    pub filtered: Vec<FilterMatch>,
}

/// A comment's text, checked: 1 to 1000 characters once trimmed, with its
/// hashtags and mentions.
pub struct CommentText(String, Scanned);

impl CommentText {
    pub fn parse(raw: &str) -> Result<Self> {
        // Judged as sent, as the OpenAPI constraints say; stored trimmed.
        let len = raw.chars().count();
        let text = raw.trim();
        if text.is_empty() || len > TEXT_MAX_CHARS {
            return Err(Error::invalid_field(
                "text",
                format!("must be 1 to {TEXT_MAX_CHARS} characters"),
            ));
        }
        if raw.chars().any(|c| c.is_control() && c != '\n') {
            return Err(Error::invalid_field(
                "text",
                "may not contain control characters other than new lines",
            ));
        }
        let scanned = entities::scan(text);
        scanned.check("text")?;
        Ok(CommentText(text.to_string(), scanned))
    }
}

fn comment_not_found() -> Error {
    Error::from(Code::CommentNotFound)
}

#[derive(sqlx::FromRow)]
struct Row {
    comment_id: Uuid,
    post_id: Uuid,
    text: String,
    entities: String,
    created_at: OffsetDateTime,
    warned_by: Vec<Uuid>,
    #[sqlx(flatten)]
    author: CardRow,
}

pub async fn create(
    db: &Db,
    urls: &Photos,
    user: Uuid,
    post_id: Uuid,
    text: CommentText,
) -> Result<Comment> {
    let mut tx = db.primary.begin().await?;
    let post_author = visible_author(&mut tx, user, post_id).await?;
    let id = Uuid::now_v7();
    let entities = entities::resolve(&mut tx, user, &text.1).await?;
    let created_at: OffsetDateTime = sqlx::query_scalar(
        "INSERT INTO comments (id, post_id, author_id, text, entities)
         VALUES ($1, $2, $3, $4, $5::jsonb)
         RETURNING created_at",
    )
    .bind(id)
    .bind(post_id)
    .bind(user)
    .bind(&text.0)
    .bind(entities::to_json(&entities))
    .fetch_one(&mut *tx)
    .await?;
    // The post's author hears of the comment anyway: one notification.
    let mut mentioned = entities::mentioned(&entities);
    mentioned.retain(|id| *id != post_author);
    mentions::notify(
        &mut tx,
        user,
        &mentioned,
        &mentions::Place {
            post_id,
            post_author,
            comment_id: Some(id),
        },
    )
    .await?;
    notifications::notify(
        &mut tx,
        post_author,
        user,
        Subject {
            kind: Kind::Comment,
            post_id: Some(post_id),
            comment_id: Some(id),
            story_id: None,
        },
    )
    .await?;
    let author: CardRow =
        sqlx::query_as("SELECT id, handle, display_name, avatar_media_id FROM users WHERE id = $1")
            .bind(user)
            .fetch_one(&mut *tx)
            .await?;
    tx.commit().await?;
    Ok(Comment {
        id,
        post_id,
        author: render::card(&db.primary, urls, author).await?,
        text: text.0,
        entities,
        created_at,
        filtered: Vec::new(),
    })
}

/// A post's comments, oldest first, leaving out those of hidden users and
/// of anyone on either side of a block with the viewer.
pub async fn list(
    db: &Db,
    urls: &Photos,
    viewer: Uuid,
    post_id: Uuid,
    page: &PageRequest<Uuid>,
) -> Result<Page<Comment>> {
    let mut conn = db.replica.acquire().await?;
    visible_author(&mut conn, viewer, post_id).await?;
    let rows = sqlx::query_as::<_, Row>(&format!(
        "SELECT c.id AS comment_id, c.post_id, c.text, c.entities::text AS entities, c.created_at,
                CASE WHEN c.author_id = $1 THEN '{{}}'::uuid[] ELSE {} END AS warned_by,
                u.id, u.handle, u.display_name, u.avatar_media_id
         FROM comments c JOIN users u ON u.id = c.author_id
         WHERE c.post_id = $2 AND c.id > $3 AND {USER_VISIBLE} AND {} AND {}
           AND (c.author_id = $1 OR {})
         ORDER BY c.id
         LIMIT $4",
        filters::warns("$1", "c.text", Context::Comments),
        no_block("$1", "u.id"),
        not_muted("$1", "u.id", false),
        filters::hides_not("$1", "c.text", Context::Comments)
    ))
    .bind(viewer)
    .bind(post_id)
    .bind(page.after.unwrap_or(Uuid::nil()))
    .bind(page.fetch_limit())
    .fetch_all(&mut *conn)
    .await?;
    let warned_by: Vec<Uuid> = rows.iter().flat_map(|row| row.warned_by.clone()).collect();
    let warnings = filters::titles(&mut conn, &warned_by).await?;
    let page = Page::from_rows(rows, page, |row| row.comment_id);
    let mut texts_entities: Vec<Vec<Entity>> = page
        .items
        .iter()
        .map(|row| entities::from_json(&row.entities))
        .collect();
    let mut lists: Vec<&mut Vec<Entity>> = texts_entities.iter_mut().collect();
    entities::hide_unseen_mentions(&mut conn, viewer, &mut lists).await?;
    drop(conn);
    let authors = render::cards(
        &db.replica,
        urls,
        page.items.iter().map(|row| row.author.clone()).collect(),
    )
    .await?;
    Ok(Page {
        items: page
            .items
            .into_iter()
            .zip(authors)
            .zip(texts_entities)
            .map(|((row, author), entities)| Comment {
                id: row.comment_id,
                post_id: row.post_id,
                author,
                entities,
                text: row.text,
                created_at: row.created_at,
                filtered: filters::named(&warnings, &row.warned_by),
            })
            .collect(),
        next_cursor: page.next_cursor,
    })
}

/// Deletes a comment, if the user wrote it or wrote the post. Someone
/// else's comment on someone else's post is forbidden; a comment the user
/// cannot see is not found.
pub async fn delete(db: &Db, user: Uuid, comment_id: Uuid) -> Result<()> {
    let mut tx = db.primary.begin().await?;
    let found: Option<(Uuid, Uuid)> = sqlx::query_as(&format!(
        "SELECT c.author_id, c.post_id FROM comments c JOIN users u ON u.id = c.author_id
         WHERE c.id = $1 AND (c.author_id = $2 OR ({USER_VISIBLE} AND {}))",
        no_block("$2", "u.id")
    ))
    .bind(comment_id)
    .bind(user)
    .fetch_optional(&mut *tx)
    .await?;
    let (comment_author, post_id) = found.ok_or_else(comment_not_found)?;
    let post_author: Uuid = sqlx::query_scalar("SELECT author_id FROM posts WHERE id = $1")
        .bind(post_id)
        .fetch_one(&mut *tx)
        .await?;
    if comment_author != user && post_author != user {
        visible_author(&mut tx, user, post_id)
            .await
            .map_err(|_| comment_not_found())?;
        return Err(Error::from(Code::NotCommentAuthor));
    }
    sqlx::query("DELETE FROM comments WHERE id = $1")
        .bind(comment_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}
