//! Likes. Liking twice is liking once; the count is kept by a trigger in
//! the same transaction, so it stays exact however many like at once.

use uuid::Uuid;

use super::Db;
use super::notifications::{self, Kind, Subject};
use super::posts::visible_author;
use crate::error::Result;

fn subject(post_id: Uuid) -> Subject {
    Subject {
        kind: Kind::Like,
        post_id: Some(post_id),
        comment_id: None,
    }
}

pub async fn like(db: &Db, user: Uuid, post_id: Uuid) -> Result<()> {
    let mut tx = db.primary.begin().await?;
    let author = visible_author(&mut tx, user, post_id).await?;
    let inserted =
        sqlx::query("INSERT INTO likes (post_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(post_id)
            .bind(user)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
    if inserted {
        notifications::notify(&mut tx, author, user, subject(post_id)).await?;
    }
    tx.commit().await?;
    Ok(())
}

pub async fn unlike(db: &Db, user: Uuid, post_id: Uuid) -> Result<()> {
    let mut tx = db.primary.begin().await?;
    let author = visible_author(&mut tx, user, post_id).await?;
    let removed = sqlx::query("DELETE FROM likes WHERE post_id = $1 AND user_id = $2")
        .bind(post_id)
        .bind(user)
        .execute(&mut *tx)
        .await?
        .rows_affected()
        == 1;
    if removed {
        notifications::withdraw(&mut tx, author, user, subject(post_id)).await?;
    }
    tx.commit().await?;
    Ok(())
}
