//! The people side of invites: the card a code's preview shows, who joined
//! with a user's codes, and the branch of the invite tree an admin suspends.
//! Codes themselves (minting, redeeming, quotas) are `auth::invites`.

use sqlx::PgPool;
use uuid::Uuid;

use super::Db;
use super::moderation::{suspend_in, user_id};
use super::render::{CardRow, Photos, UserCard, cards};
use crate::auth::Auth;
use crate::auth::invites::{InviteCode, LIVE_SQL, invite_invalid};
use crate::error::Result;

/// Invitees listed at once: a week's quota is a handful.
pub const INVITEES_MAX: i64 = 200;
/// Accounts one branch suspension may reach; past it, the admin suspends
/// sub-branches.
pub const BRANCH_MAX: i64 = 10_000;

/// A live code's preview: who invites (none for an admin's codes, or an
/// inviter no longer shown), and until when. Any other code: `invite_invalid`.
pub async fn preview(
    db: &PgPool,
    urls: &Photos,
    typed: &str,
) -> Result<(Option<UserCard>, time::OffsetDateTime)> {
    let code = InviteCode::parse(typed).ok_or_else(invite_invalid)?;
    let sql = format!(
        "SELECT i.expires_at, u.id FROM invites i
           LEFT JOIN users u ON u.id = i.inviter_id
                            AND u.deleted_at IS NULL AND u.suspended_at IS NULL
         WHERE i.code = $1 AND {LIVE_SQL}"
    );
    let row: Option<(time::OffsetDateTime, Option<Uuid>)> = sqlx::query_as(&sql)
        .bind(code.as_str())
        .fetch_optional(db)
        .await?;
    let (expires_at, inviter) = row.ok_or_else(invite_invalid)?;
    let card = match inviter {
        Some(id) => cards(db, urls, card_rows(db, "WHERE u.id = $1", id).await?)
            .await?
            .pop(),
        None => None,
    };
    Ok((card, expires_at))
}

/// Who joined with `user`'s codes, newest first, as `viewer` may see them
/// (blocks hide both ways; suspended and deleted accounts are not shown).
pub async fn invitees(db: &PgPool, urls: &Photos, user: Uuid) -> Result<Vec<UserCard>> {
    let rows = card_rows(
        db,
        "WHERE u.invited_by = $1
           AND NOT EXISTS (SELECT 1 FROM blocks b
                            WHERE (b.blocker_id = $1 AND b.blocked_id = u.id)
                               OR (b.blocker_id = u.id AND b.blocked_id = $1))",
        user,
    )
    .await?;
    cards(db, urls, rows).await
}

async fn card_rows(db: &PgPool, filter: &str, id: Uuid) -> Result<Vec<CardRow>> {
    let sql = format!(
        "SELECT u.id, u.handle, u.display_name, u.avatar_media_id FROM users u
         {filter} AND u.deleted_at IS NULL AND u.suspended_at IS NULL
         ORDER BY u.id DESC LIMIT {INVITEES_MAX}"
    );
    Ok(sqlx::query_as(&sql).bind(id).fetch_all(db).await?)
}

/// An admin's view of who `handle` invited, hidden accounts included.
pub async fn invitees_of(db: &Db, urls: &Photos, handle: &str) -> Result<Vec<UserCard>> {
    let user = user_id(db, handle).await?;
    let rows: Vec<CardRow> = sqlx::query_as(
        "SELECT id, handle, display_name, avatar_media_id FROM users
         WHERE invited_by = $1 AND deleted_at IS NULL ORDER BY id DESC LIMIT $2",
    )
    .bind(user)
    .bind(INVITEES_MAX)
    .fetch_all(&db.primary)
    .await?;
    cards(&db.primary, urls, rows).await
}

/// Suspends `handle` and everyone their invites brought in, down the tree
/// (at most [`BRANCH_MAX`] accounts), ending all their sessions; their
/// photos are withheld by the API's chores. Returns how many were
/// suspended now.
pub async fn suspend_branch(db: &Db, auth: &Auth, handle: &str) -> Result<u64> {
    let root = user_id(db, handle).await?;
    let mut tx = db.primary.begin().await?;
    let branch: Vec<Uuid> = sqlx::query_scalar(
        "WITH RECURSIVE branch (id) AS (
             SELECT $1::uuid
             UNION
             SELECT u.id FROM users u JOIN branch b ON u.invited_by = b.id
         )
         SELECT id FROM branch LIMIT $2",
    )
    .bind(root)
    .bind(BRANCH_MAX)
    .fetch_all(&mut *tx)
    .await?;
    let (suspended, ended) = suspend_in(&mut tx, auth, &branch).await?;
    tx.commit().await?;
    auth.publish_ended(&ended).await;
    Ok(suspended)
}
