//! The close friends list: the owner adds and removes people by handle.
//! Nobody else can read it, nor learn whether they are on it, except by
//! seeing a close-friends story (which carries the marker).

use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{Code, Error, Result};
use crate::social::page::{Page, PageRequest, TimeKey};
use crate::social::render::{self, CardRow, Photos, UserCard};
use crate::social::{Db, USER_VISIBLE, no_block};

/// A bound on one list: far above any circle of friends, small enough that
/// a story's audience check stays one index probe.
pub const MAX_CLOSE_FRIENDS: i64 = 5_000;

/// Adds `handle` to the owner's list; adding twice is the same as once.
pub async fn add(db: &Db, owner: Uuid, handle: &str) -> Result<()> {
    let mut tx = db.primary.begin().await?;
    let friend = crate::social::visible_user_id(&mut tx, owner, handle).await?;
    if friend == owner {
        return Err(Error::from(Code::CannotAddSelf));
    }
    // One owner's additions in turn, so the bound holds under concurrency.
    sqlx::query("SELECT 1 FROM users WHERE id = $1 FOR UPDATE")
        .bind(owner)
        .execute(&mut *tx)
        .await?;
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM close_friends WHERE owner_id = $1")
        .bind(owner)
        .fetch_one(&mut *tx)
        .await?;
    if count >= MAX_CLOSE_FRIENDS {
        return Err(Error::from(Code::CloseFriendsFull));
    }
    sqlx::query(
        "INSERT INTO close_friends (owner_id, friend_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(owner)
    .bind(friend)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Removes `handle` from the list; removing someone not on it is the same.
pub async fn remove(db: &Db, owner: Uuid, handle: &str) -> Result<()> {
    let handle =
        crate::users::Handle::parse(handle).map_err(|_| Error::from(Code::UserNotFound))?;
    let removed = sqlx::query(
        "DELETE FROM close_friends
         WHERE owner_id = $1 AND friend_id = (SELECT id FROM users WHERE handle = $2)",
    )
    .bind(owner)
    .bind(handle.as_str())
    .execute(&db.primary)
    .await?
    .rows_affected();
    if removed == 0 {
        // Only a user the owner may see answers 204 when not on the list.
        let mut conn = db.primary.acquire().await?;
        crate::social::visible_user_id(&mut conn, owner, handle.as_str()).await?;
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct Row {
    added_at: OffsetDateTime,
    #[sqlx(flatten)]
    user: CardRow,
}

/// The owner's list, newest additions first.
pub async fn list(
    db: &Db,
    photos: &Photos,
    owner: Uuid,
    page: &PageRequest<TimeKey>,
) -> Result<Page<UserCard>> {
    let after = page.after.unwrap_or(TimeKey::MAX);
    let rows = sqlx::query_as::<_, Row>(&format!(
        "SELECT c.created_at AS added_at, u.id, u.handle, u.display_name, u.avatar_media_id
         FROM close_friends c JOIN users u ON u.id = c.friend_id
         WHERE c.owner_id = $1 AND (c.created_at, c.friend_id) < ($2, $3)
           AND {USER_VISIBLE} AND {}
         ORDER BY c.created_at DESC, c.friend_id DESC LIMIT $4",
        no_block("$1", "u.id")
    ))
    .bind(owner)
    .bind(after.at)
    .bind(after.id)
    .bind(page.fetch_limit())
    .fetch_all(&db.primary)
    .await?;
    let page = Page::from_rows(rows, page, |row| TimeKey {
        at: row.added_at,
        id: row.user.id,
    });
    render::card_page(&db.primary, photos, page, |row| row.user).await
}
