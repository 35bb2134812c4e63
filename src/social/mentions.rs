//! `mention` notifications: the users a caption or comment mentions are
//! told, unless one of them blocks the other (either way, with the writer
//! or the post's author), the mentioned user muted the writer with their
//! notifications, or cannot see the post (a locked author's post for
//! non-followers). Pushes follow the `mention` push setting. One per post
//! and writer: a caption edited again, or a comment on the same post,
//! makes nothing new to read.

use uuid::Uuid;

use super::entities::{Entity, mentioned};
use super::notifications::{self, Kind, Subject};
use super::{content_visible, no_block, not_muted};
use crate::error::Result;

/// Where the mention was written.
pub struct Place {
    pub post_id: Uuid,
    /// The author of the post: whose content the mentioned must see.
    pub post_author: Uuid,
    pub comment_id: Option<Uuid>,
}

/// Notifies the users among `mentioned` that `writer` may tell.
pub async fn notify(
    tx: &mut sqlx::PgConnection,
    writer: Uuid,
    mentioned: &[Uuid],
    place: &Place,
) -> Result<()> {
    if mentioned.is_empty() {
        return Ok(());
    }
    // `u` is the post's author, as `content_visible` expects.
    let recipients: Vec<Uuid> = sqlx::query_scalar(&format!(
        "SELECT r.id FROM users r JOIN users u ON u.id = $2
         WHERE r.id = ANY($1) AND r.id <> $3
           AND r.suspended_at IS NULL AND r.deleted_at IS NULL
           AND {} AND {} AND {} AND {}
         ORDER BY r.id",
        content_visible("r.id"),
        no_block("r.id", "u.id"),
        no_block("r.id", "$3"),
        not_muted("r.id", "$3", true)
    ))
    .bind(mentioned)
    .bind(place.post_author)
    .bind(writer)
    .fetch_all(&mut *tx)
    .await?;
    for recipient in recipients {
        notifications::notify(
            &mut *tx,
            recipient,
            writer,
            Subject {
                kind: Kind::Mention,
                post_id: Some(place.post_id),
                comment_id: place.comment_id,
                story_id: None,
            },
        )
        .await?;
    }
    Ok(())
}

/// Notifies those a post's caption mentions.
pub async fn notify_caption(
    tx: &mut sqlx::PgConnection,
    author: Uuid,
    post_id: Uuid,
    entities: &[Entity],
) -> Result<()> {
    let place = Place {
        post_id,
        post_author: author,
        comment_id: None,
    };
    notify(tx, author, &mentioned(entities), &place).await
}
