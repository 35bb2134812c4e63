//! Who follows whom, who asked to, and who blocks whom. A block ends the
//! follows and requests both ways and keeps them from coming back.

use time::OffsetDateTime;
use uuid::Uuid;

use super::feed::Timelines;
use super::notifications::{self, Kind};
use super::page::{Page, PageRequest, TimeKey};
use super::render::{self, CardRow, Photos, UserCard};
use super::{Db, USER_VISIBLE, check_content_visible, no_block, user_not_found, visible_user_id};
use crate::error::{Code, Error, Result};
use crate::users::Handle;

/// The id of a visible user `viewer` may block, unblock or unfollow: found
/// even if `viewer` blocks them (to unblock), not if they block `viewer`,
/// who must not learn it: the answer is a stranger's `user_not_found`.
async fn reachable_user_id(
    db: &mut sqlx::PgConnection,
    viewer: Uuid,
    handle: &str,
) -> Result<Uuid> {
    let handle = Handle::parse(handle).map_err(|_| user_not_found())?;
    sqlx::query_scalar(&format!(
        "SELECT u.id FROM users u WHERE u.handle = $2 AND {USER_VISIBLE}
           AND (NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = u.id AND b.blocked_id = $1)
                OR EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = $1 AND b.blocked_id = u.id))"
    ))
    .bind(viewer)
    .bind(handle.as_str())
    .fetch_optional(db)
    .await?
    .ok_or_else(user_not_found)
}

/// Serialises the follows and blocks of one pair of users until the
/// transaction ends: without it, a follow checked before a concurrent block
/// committed would be inserted after the block removed the follows, and
/// survive it.
async fn lock_pair(tx: &mut sqlx::PgConnection, a: Uuid, b: Uuid) -> Result<()> {
    use sha2::Digest as _;
    let (low, high) = if a < b { (a, b) } else { (b, a) };
    let digest = sha2::Sha256::new()
        .chain_update(low.as_bytes())
        .chain_update(high.as_bytes())
        .finalize();
    let key = i64::from_be_bytes(digest[..8].try_into().expect("8 bytes"));
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(key)
        .execute(tx)
        .await?;
    Ok(())
}

/// Whether a block stands between the two, either way (read after the
/// pair's lock, so it sees a block committed meanwhile).
async fn blocked_either_way(tx: &mut sqlx::PgConnection, a: Uuid, b: Uuid) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM blocks
                         WHERE (blocker_id = $1 AND blocked_id = $2) OR (blocker_id = $2 AND blocked_id = $1))",
    )
    .bind(a)
    .bind(b)
    .fetch_one(tx)
    .await?)
}

/// What a follow did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Followed {
    /// Following now (`new`: it was not before).
    Following { new: bool },
    /// The account is locked or approves follows: a request waits for its
    /// owner (`new`: none was waiting before).
    Requested { new: bool },
}

/// Follows `handle`, or asks to when the account is locked or approves
/// follows. Following (or asking) twice is the same as once.
pub async fn follow(
    db: &Db,
    timelines: &Timelines,
    follower: Uuid,
    handle: &str,
) -> Result<(Uuid, Followed)> {
    let mut tx = db.primary.begin().await?;
    let followee = visible_user_id(&mut tx, follower, handle).await?;
    if followee == follower {
        return Err(Code::CannotFollowSelf.into());
    }
    lock_pair(&mut tx, follower, followee).await?;
    if blocked_either_way(&mut tx, follower, followee).await? {
        return Err(user_not_found());
    }
    let (following, needs_approval): (bool, bool) = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM follows WHERE follower_id = $1 AND followee_id = $2),
                locked OR approves_follows
         FROM users WHERE id = $2",
    )
    .bind(follower)
    .bind(followee)
    .fetch_one(&mut *tx)
    .await?;
    if following {
        return Ok((followee, Followed::Following { new: false }));
    }
    if needs_approval {
        let new = sqlx::query(
            "INSERT INTO follow_requests (requester_id, target_id) VALUES ($1, $2)
             ON CONFLICT DO NOTHING",
        )
        .bind(follower)
        .bind(followee)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if new {
            notifications::notify(&mut tx, followee, follower, Kind::FollowRequest).await?;
        }
        tx.commit().await?;
        return Ok((followee, Followed::Requested { new }));
    }
    insert_follow(&mut tx, follower, followee).await?;
    tx.commit().await?;
    // The new followee's recent posts come in with the rebuild.
    timelines.invalidate(follower).await;
    Ok((followee, Followed::Following { new: true }))
}

async fn insert_follow(tx: &mut sqlx::PgConnection, follower: Uuid, followee: Uuid) -> Result<()> {
    let inserted = sqlx::query(
        "INSERT INTO follows (follower_id, followee_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(follower)
    .bind(followee)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if inserted {
        notifications::notify(&mut *tx, followee, follower, Kind::Follow).await?;
    }
    Ok(())
}

/// Accepts `handle`'s request to follow `owner`: they follow now, and are
/// told. Accepting a request that is not there is not found.
pub async fn accept_request(
    db: &Db,
    timelines: &Timelines,
    owner: Uuid,
    handle: &str,
) -> Result<Uuid> {
    let mut tx = db.primary.begin().await?;
    let requester = reachable_user_id(&mut tx, owner, handle).await?;
    lock_pair(&mut tx, owner, requester).await?;
    if !take_request(&mut tx, requester, owner).await? {
        return Err(Error::from(Code::FollowRequestNotFound));
    }
    if blocked_either_way(&mut tx, owner, requester).await? {
        return Err(Error::from(Code::FollowRequestNotFound));
    }
    insert_follow(&mut tx, requester, owner).await?;
    notifications::notify(&mut tx, requester, owner, Kind::FollowAccepted).await?;
    tx.commit().await?;
    timelines.invalidate(requester).await;
    Ok(requester)
}

/// Rejects (or, for the requester, withdraws) a request; none waiting is
/// the same. The requester is not told.
pub async fn reject_request(db: &Db, owner: Uuid, handle: &str) -> Result<()> {
    let mut tx = db.primary.begin().await?;
    let requester = reachable_user_id(&mut tx, owner, handle).await?;
    take_request(&mut tx, requester, owner).await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes a waiting request and its notification; whether there was one.
async fn take_request(tx: &mut sqlx::PgConnection, requester: Uuid, target: Uuid) -> Result<bool> {
    let taken =
        sqlx::query("DELETE FROM follow_requests WHERE requester_id = $1 AND target_id = $2")
            .bind(requester)
            .bind(target)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
    if taken {
        notifications::withdraw(&mut *tx, target, requester, Kind::FollowRequest).await?;
    }
    Ok(taken)
}

/// Accepts every request waiting for `owner`, who no longer approves
/// follows, in the caller's transaction; the requesters are told. Returns
/// who follows now, to rebuild their timelines.
pub(crate) async fn accept_all_requests(
    tx: &mut sqlx::PgConnection,
    owner: Uuid,
) -> Result<Vec<Uuid>> {
    let accepted: Vec<Uuid> = sqlx::query_scalar(
        "WITH taken AS (DELETE FROM follow_requests WHERE target_id = $1 RETURNING requester_id)
         INSERT INTO follows (follower_id, followee_id)
         SELECT requester_id, $1 FROM taken ON CONFLICT DO NOTHING
         RETURNING follower_id",
    )
    .bind(owner)
    .fetch_all(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE notifications SET withdrawn_at = now()
         WHERE recipient_id = $1 AND type = 'follow_request' AND withdrawn_at IS NULL",
    )
    .bind(owner)
    .execute(&mut *tx)
    .await?;
    // Told in the app; one by one, as any notification, they would also be
    // pushed, which an unlock's burst should not do.
    sqlx::query(
        "INSERT INTO notifications (id, recipient_id, actor_id, type)
         SELECT gen_random_uuid(), r, $1, 'follow_accepted' FROM unnest($2::uuid[]) r
         ON CONFLICT (recipient_id, actor_id, type, post_id, story_id)
           WHERE type NOT IN ('comment', 'moderation')
         DO UPDATE SET withdrawn_at = NULL",
    )
    .bind(owner)
    .bind(&accepted)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO notifications (id, recipient_id, actor_id, type)
         SELECT gen_random_uuid(), $1, r, 'follow' FROM unnest($2::uuid[]) r
         ON CONFLICT (recipient_id, actor_id, type, post_id, story_id)
           WHERE type NOT IN ('comment', 'moderation')
         DO UPDATE SET withdrawn_at = NULL",
    )
    .bind(owner)
    .bind(&accepted)
    .execute(&mut *tx)
    .await?;
    Ok(accepted)
}

#[derive(sqlx::FromRow)]
struct RequestRow {
    requested_at: OffsetDateTime,
    #[sqlx(flatten)]
    card: CardRow,
}

/// The requests waiting for `owner`, newest first.
pub async fn requests(
    db: &Db,
    urls: &Photos,
    owner: Uuid,
    page: &PageRequest<TimeKey>,
) -> Result<Page<UserCard>> {
    let after = page.after.unwrap_or(TimeKey::MAX);
    let rows = sqlx::query_as::<_, RequestRow>(&format!(
        "SELECT r.created_at AS requested_at, u.id, u.handle, u.display_name, u.avatar_media_id
         FROM follow_requests r JOIN users u ON u.id = r.requester_id
         WHERE r.target_id = $1 AND (r.created_at, r.requester_id) < ($2, $3)
           AND {USER_VISIBLE} AND {}
         ORDER BY r.created_at DESC, r.requester_id DESC LIMIT $4",
        no_block("$1", "u.id")
    ))
    .bind(owner)
    .bind(after.at)
    .bind(after.id)
    .bind(page.fetch_limit())
    .fetch_all(&db.primary)
    .await?;
    let page = Page::from_rows(rows, page, |row| TimeKey {
        at: row.requested_at,
        id: row.card.id,
    });
    render::card_page(&db.primary, urls, page, |row| row.card).await
}

pub async fn unfollow(
    db: &Db,
    timelines: &Timelines,
    follower: Uuid,
    handle: &str,
) -> Result<(Uuid, bool)> {
    let mut tx = db.primary.begin().await?;
    // Yourself included: you never follow yourself, so there is nothing to undo.
    let followee = reachable_user_id(&mut tx, follower, handle).await?;
    let removed = remove_follow(&mut tx, follower, followee).await?;
    take_request(&mut tx, follower, followee).await?;
    tx.commit().await?;
    if removed {
        timelines.invalidate(follower).await;
    }
    Ok((followee, removed))
}

async fn remove_follow(
    tx: &mut sqlx::PgConnection,
    follower: Uuid,
    followee: Uuid,
) -> Result<bool> {
    let removed = sqlx::query("DELETE FROM follows WHERE follower_id = $1 AND followee_id = $2")
        .bind(follower)
        .bind(followee)
        .execute(&mut *tx)
        .await?
        .rows_affected()
        == 1;
    if removed {
        notifications::withdraw(tx, followee, follower, Kind::Follow).await?;
    }
    Ok(removed)
}

/// Blocks `handle`: both follows end, and so do the notifications between
/// them. Returns the blocked user's id.
pub async fn block(db: &Db, timelines: &Timelines, blocker: Uuid, handle: &str) -> Result<Uuid> {
    let mut tx = db.primary.begin().await?;
    let blocked = reachable_user_id(&mut tx, blocker, handle).await?;
    if blocked == blocker {
        return Err(Code::CannotBlockSelf.into());
    }
    lock_pair(&mut tx, blocker, blocked).await?;
    sqlx::query(
        "INSERT INTO blocks (blocker_id, blocked_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(blocker)
    .bind(blocked)
    .execute(&mut *tx)
    .await?;
    remove_follow(&mut tx, blocker, blocked).await?;
    remove_follow(&mut tx, blocked, blocker).await?;
    take_request(&mut tx, blocker, blocked).await?;
    take_request(&mut tx, blocked, blocker).await?;
    notifications::forget_between(&mut tx, blocker, blocked).await?;
    super::stories::forget_between(&mut tx, blocker, blocked).await?;
    tx.commit().await?;
    // Each loses the other's posts from their home feed.
    timelines.invalidate(blocker).await;
    timelines.invalidate(blocked).await;
    Ok(blocked)
}

pub async fn unblock(db: &Db, blocker: Uuid, handle: &str) -> Result<Uuid> {
    let mut tx = db.primary.begin().await?;
    let blocked = reachable_user_id(&mut tx, blocker, handle).await?;
    sqlx::query("DELETE FROM blocks WHERE blocker_id = $1 AND blocked_id = $2")
        .bind(blocker)
        .bind(blocked)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(blocked)
}

/// Which side of the follows a list shows.
#[derive(Debug, Clone, Copy)]
pub enum Direction {
    Followers,
    Following,
}

#[derive(sqlx::FromRow)]
struct FollowRow {
    #[sqlx(flatten)]
    card: CardRow,
    followed_at: OffsetDateTime,
}

/// The followers or the followees of `handle`, newest follow first, as
/// `viewer` may see them: nobody who blocks or is blocked by the viewer.
pub async fn list(
    db: &Db,
    urls: &Photos,
    viewer: Uuid,
    handle: &str,
    direction: Direction,
    page: &PageRequest<TimeKey>,
) -> Result<Page<UserCard>> {
    let mut conn = db.replica.acquire().await?;
    let owner = visible_user_id(&mut conn, viewer, handle).await?;
    check_content_visible(&mut conn, viewer, owner).await?;
    let (anchor, listed) = match direction {
        Direction::Followers => ("followee_id", "follower_id"),
        Direction::Following => ("follower_id", "followee_id"),
    };
    let after = page.after;
    let rows = sqlx::query_as::<_, FollowRow>(&format!(
        "SELECT u.id, u.handle, u.display_name, u.avatar_media_id, f.created_at AS followed_at
         FROM follows f JOIN users u ON u.id = f.{listed}
         WHERE f.{anchor} = $2 AND {USER_VISIBLE} AND {}
           AND (f.created_at, f.{listed}) < ($3, $4)
         ORDER BY f.created_at DESC, f.{listed} DESC
         LIMIT $5",
        no_block("$1", "u.id")
    ))
    .bind(viewer)
    .bind(owner)
    .bind(after.map_or(TimeKey::MAX.at, |k| k.at))
    .bind(after.map_or(TimeKey::MAX.id, |k| k.id))
    .bind(page.fetch_limit())
    .fetch_all(&mut *conn)
    .await?;
    drop(conn);
    let page = Page::from_rows(rows, page, |row| TimeKey {
        at: row.followed_at,
        id: row.card.id,
    });
    render::card_page(&db.replica, urls, page, |row| row.card).await
}
