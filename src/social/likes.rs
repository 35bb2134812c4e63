//! Likes. Liking twice is liking once; the count is kept by a trigger in
//! the same transaction, so it stays exact however many like at once.

use time::OffsetDateTime;
use uuid::Uuid;

use super::notifications::{self, Kind, Subject};
use super::page::{Page, PageRequest, TimeKey};
use super::posts::visible_author;
use super::render::{self, CardRow, Photos, UserCard};
use super::{Db, USER_VISIBLE, no_block};
use crate::error::Result;

fn subject(post_id: Uuid) -> Subject {
    Subject {
        kind: Kind::Like,
        post_id: Some(post_id),
        comment_id: None,
        story_id: None,
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

#[derive(sqlx::FromRow)]
struct LikerRow {
    #[sqlx(flatten)]
    card: CardRow,
    liked_at: OffsetDateTime,
}

/// Who liked a post `viewer` may see, newest like first: nobody who blocks
/// or is blocked by the viewer, nobody suspended or deleted.
pub async fn likers(
    db: &Db,
    urls: &Photos,
    viewer: Uuid,
    post_id: Uuid,
    page: &PageRequest<TimeKey>,
) -> Result<Page<UserCard>> {
    let mut conn = db.replica.acquire().await?;
    visible_author(&mut conn, viewer, post_id).await?;
    let after = page.after;
    let rows = sqlx::query_as::<_, LikerRow>(&format!(
        "SELECT u.id, u.handle, u.display_name, u.avatar_media_id, l.created_at AS liked_at
         FROM likes l JOIN users u ON u.id = l.user_id
         WHERE l.post_id = $2 AND {USER_VISIBLE} AND {}
           AND (l.created_at, l.user_id) < ($3, $4)
         ORDER BY l.created_at DESC, l.user_id DESC
         LIMIT $5",
        no_block("$1", "u.id")
    ))
    .bind(viewer)
    .bind(post_id)
    .bind(after.map_or(TimeKey::MAX.at, |k| k.at))
    .bind(after.map_or(TimeKey::MAX.id, |k| k.id))
    .bind(page.fetch_limit())
    .fetch_all(&mut *conn)
    .await?;
    drop(conn);
    let page = Page::from_rows(rows, page, |row| TimeKey {
        at: row.liked_at,
        id: row.card.id,
    });
    render::card_page(&db.replica, urls, page, |row| row.card).await
}
