//! The social layer: profiles, the follow and block graph, posts, likes,
//! comments, notifications, moderation, the home feed and account deletion.
//! Each module owns its SQL; the HTTP edge lives in `crate::http`.
//!
//! Visibility is one rule applied everywhere: a user is seen only while
//! neither suspended nor deleted, a post only while not taken down and its
//! author is seen, a locked account's content only by its approved
//! followers, and nothing passes a block, in either direction.

pub mod accounts;
pub mod comments;
pub mod edits;
pub mod entities;
pub mod explore;
pub mod export;
pub mod feed;
pub mod filters;
pub mod graph;
pub mod hashtags;
pub mod holds;
pub mod idempotency;
pub mod invites;
pub mod likes;
pub mod mentions;
pub mod moderation;
pub mod mutes;
pub mod notices;
pub mod notifications;
pub mod page;
pub mod post_view;
pub mod posts;
pub mod profiles;
pub mod render;
pub mod search;
pub mod stories;

use sqlx::PgPool;
use uuid::Uuid;

use crate::error::{Code, Error, Result};

/// The primary, and the pool for reads that may lag by a second (a read
/// replica when `DATABASE_READ_URL` is set, the primary otherwise). Your own
/// writes and the reads right after them stay on the primary.
#[derive(Clone)]
pub struct Db {
    pub primary: PgPool,
    pub replica: PgPool,
}

/// SQL: the user aliased `u` may be seen by others.
pub(crate) const USER_VISIBLE: &str = "u.suspended_at IS NULL AND u.deleted_at IS NULL";

/// SQL: no block, either way, between the user in `viewer` (a bind
/// parameter such as `$1`) and the user id in `other` (a column). Two
/// probes of one index each (`blocks_pkey`, `blocks_by_blocked`): the same
/// answer as one `NOT EXISTS` over both directions, whose `OR` PostgreSQL
/// answers with a bitmap scan of both indexes per row.
pub(crate) fn no_block(viewer: &str, other: &str) -> String {
    format!(
        "(NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = {viewer} AND b.blocked_id = {other}) \
         AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = {other} AND b.blocked_id = {viewer}))"
    )
}

/// The id of the user `viewer` may interact with under `handle`: visible,
/// and no block either way.
pub(crate) async fn visible_user_id(
    db: &mut sqlx::PgConnection,
    viewer: Uuid,
    handle: &str,
) -> Result<Uuid> {
    let handle = crate::users::Handle::parse(handle).map_err(|_| user_not_found())?;
    sqlx::query_scalar(&format!(
        "SELECT u.id FROM users u WHERE u.handle = $2 AND {USER_VISIBLE} AND {}",
        no_block("$1", "u.id")
    ))
    .bind(viewer)
    .bind(handle.as_str())
    .fetch_optional(db)
    .await?
    .ok_or_else(user_not_found)
}

/// SQL: the content (posts, their likes and comments, follow lists,
/// stories) of the user aliased `u` may be seen by the user in the bind
/// parameter `viewer`: the account is not locked, or is the viewer's own,
/// or the viewer is an approved follower.
pub(crate) fn content_visible(viewer: &str) -> String {
    format!(
        "(NOT u.locked OR u.id = {viewer} \
          OR EXISTS (SELECT 1 FROM follows fl WHERE fl.follower_id = {viewer} AND fl.followee_id = u.id))"
    )
}

/// SQL: the user in the bind parameter `viewer` has not muted the user id
/// in `other` (a column), or the mute has run out. With `notifications`,
/// only a mute that covers notifications counts.
pub(crate) fn not_muted(viewer: &str, other: &str, notifications: bool) -> String {
    let which = if notifications {
        " AND mu.notifications"
    } else {
        ""
    };
    format!(
        "NOT EXISTS (SELECT 1 FROM mutes mu WHERE mu.muter_id = {viewer} AND mu.muted_id = {other}\
         {which} AND (mu.expires_at IS NULL OR mu.expires_at > now()))"
    )
}

/// `account_private` unless `viewer` may see `owner`'s content (see
/// [`content_visible`]): for the lists of a locked account, whose profile
/// card everyone still sees.
pub(crate) async fn check_content_visible(
    db: &mut sqlx::PgConnection,
    viewer: Uuid,
    owner: Uuid,
) -> Result<()> {
    let visible: bool = sqlx::query_scalar(&format!(
        "SELECT {} FROM users u WHERE u.id = $2",
        content_visible("$1")
    ))
    .bind(viewer)
    .bind(owner)
    .fetch_optional(db)
    .await?
    .unwrap_or(false);
    if visible {
        Ok(())
    } else {
        Err(Error::from(Code::AccountPrivate))
    }
}

pub(crate) fn user_not_found() -> Error {
    Error::from(Code::UserNotFound)
}

pub(crate) fn post_not_found() -> Error {
    Error::from(Code::PostNotFound)
}
