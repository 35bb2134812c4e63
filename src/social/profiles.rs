//! Profiles: what others see of a user, and what the user may change.

use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::render::{self, MediaView, Photos};
use super::{Db, USER_VISIBLE, user_not_found};
use crate::error::{Code, FieldErrors, Result};
use crate::media::usable;
use crate::users::{DisplayName, Handle};

pub const BIO_MAX_CHARS: usize = 300;

#[derive(Debug, Serialize, ToSchema)]
pub struct Profile {
    pub id: Uuid,
    #[schema(example = "ana_lima")]
    pub handle: String,
    pub display_name: Option<String>,
    pub bio: String,
    pub avatar: Option<MediaView>,
    pub posts_count: i32,
    pub followers_count: i32,
    pub following_count: i32,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The caller follows this user.
    pub following: bool,
    /// This user follows the caller.
    pub followed_by: bool,
    /// The caller blocks this user (their posts stay hidden until unblocked).
    pub blocking: bool,
    /// Private: only approved followers see the posts, lists and stories
    /// (others get `account_private`); following asks the owner.
    pub locked: bool,
    /// Following asks the owner even though the account is not locked.
    pub approves_follows: bool,
    /// The caller asked to follow and waits for the owner's answer.
    pub follow_requested: bool,
}

#[derive(sqlx::FromRow)]
struct ProfileRow {
    id: Uuid,
    handle: String,
    display_name: Option<String>,
    bio: String,
    avatar_media_id: Option<Uuid>,
    posts_count: i32,
    followers_count: i32,
    following_count: i32,
    created_at: OffsetDateTime,
    following: bool,
    followed_by: bool,
    blocking: bool,
    locked: bool,
    approves_follows: bool,
    follow_requested: bool,
}

/// A profile as `viewer` sees it. A user who blocks the viewer does not
/// exist for them; one the viewer blocks is still shown (with `blocking`),
/// so that the app can offer to unblock.
pub async fn by_handle(db: &Db, urls: &Photos, viewer: Uuid, handle: &str) -> Result<Profile> {
    let handle = Handle::parse(handle).map_err(|_| user_not_found())?;
    let row = sqlx::query_as::<_, ProfileRow>(&format!(
        "SELECT u.id, u.handle, u.display_name, u.bio, u.avatar_media_id,
                u.posts_count, u.followers_count, u.following_count, u.created_at,
                EXISTS (SELECT 1 FROM follows WHERE follower_id = $1 AND followee_id = u.id) AS following,
                EXISTS (SELECT 1 FROM follows WHERE follower_id = u.id AND followee_id = $1) AS followed_by,
                EXISTS (SELECT 1 FROM blocks WHERE blocker_id = $1 AND blocked_id = u.id) AS blocking,
                u.locked, u.approves_follows,
                EXISTS (SELECT 1 FROM follow_requests WHERE requester_id = $1 AND target_id = u.id) AS follow_requested
         FROM users u
         WHERE u.handle = $2 AND {USER_VISIBLE}
           AND NOT EXISTS (SELECT 1 FROM blocks WHERE blocker_id = u.id AND blocked_id = $1)"
    ))
    .bind(viewer)
    .bind(handle.as_str())
    .fetch_optional(&db.replica)
    .await?
    .ok_or_else(user_not_found)?;
    let avatar = match row.avatar_media_id {
        Some(id) => render::media_views(
            &mut *db.replica.acquire().await?,
            urls,
            &[id],
            Some(render::AVATAR_VARIANTS),
        )
        .await?
        .remove(&id),
        None => None,
    };
    Ok(Profile {
        id: row.id,
        handle: row.handle,
        display_name: row.display_name,
        bio: row.bio,
        avatar,
        posts_count: row.posts_count,
        followers_count: row.followers_count,
        following_count: row.following_count,
        created_at: row.created_at,
        following: row.following,
        followed_by: row.followed_by,
        blocking: row.blocking,
        locked: row.locked,
        approves_follows: row.approves_follows,
        follow_requested: row.follow_requested,
    })
}

/// A change to the caller's own profile: absent fields stay as they are;
/// `display_name: ""` and `avatar_media_id: null` clear.
#[derive(Debug, Default)]
pub struct ProfileChange {
    pub display_name: Option<Option<DisplayName>>,
    pub bio: Option<String>,
    pub avatar_media_id: Option<Option<Uuid>>,
    pub locked: Option<bool>,
    pub approves_follows: Option<bool>,
}

impl ProfileChange {
    pub fn parse(
        display_name: Option<&str>,
        bio: Option<&str>,
        avatar_media_id: Option<Option<Uuid>>,
    ) -> Result<Self> {
        let mut errors = FieldErrors::default();
        let display_name = display_name.and_then(|raw| {
            DisplayName::parse(raw)
                .map_err(|e| errors.add("display_name", e))
                .ok()
        });
        let bio = bio.and_then(|raw| {
            // Judged as sent, as the OpenAPI constraints say; stored trimmed.
            let bio = raw.trim();
            if raw.chars().count() > BIO_MAX_CHARS {
                errors.add("bio", format!("must be at most {BIO_MAX_CHARS} characters"));
                None
            } else if raw.chars().any(|c| c.is_control() && c != '\n') {
                errors.add(
                    "bio",
                    "may not contain control characters other than new lines",
                );
                None
            } else {
                Some(bio.to_string())
            }
        });
        errors.into_result()?;
        Ok(ProfileChange {
            display_name,
            bio,
            avatar_media_id,
            ..ProfileChange::default()
        })
    }
}

/// Applies `change` to the user's own profile. The avatar must be a photo
/// the user may use ([`usable::lock`]): theirs, ready, not held for review,
/// and not one of a taken-down post (that photo is gone for every use).
/// An account that no longer approves follows (unlocked, and not approving) accepts every request
/// waiting for it; returns who follows it now, whose timelines to rebuild.
pub async fn update(db: &Db, user_id: Uuid, change: ProfileChange) -> Result<Vec<Uuid>> {
    let mut tx = db.primary.begin().await?;
    if let Some(Some(media_id)) = change.avatar_media_id {
        let photo = usable::lock(&mut tx, user_id, &[media_id]).await?;
        // A story's photo is deleted when the story ends.
        if photo.iter().any(|p| p.in_story) {
            return Err(Code::MediaInUse
                .with_message("a story's photo cannot be an avatar; upload it again"));
        }
    }
    sqlx::query(
        "UPDATE users SET
            display_name = CASE WHEN $2 THEN $3 ELSE display_name END,
            bio = COALESCE($4, bio),
            avatar_media_id = CASE WHEN $5 THEN $6 ELSE avatar_media_id END,
            locked = COALESCE($7, locked),
            approves_follows = COALESCE($8, approves_follows),
            updated_at = now()
         WHERE id = $1",
    )
    .bind(user_id)
    .bind(change.display_name.is_some())
    .bind(change.display_name.flatten().map(|d| d.as_str().to_owned()))
    .bind(change.bio)
    .bind(change.avatar_media_id.is_some())
    .bind(change.avatar_media_id.flatten())
    .bind(change.locked)
    .bind(change.approves_follows)
    .execute(&mut *tx)
    .await?;
    let approves: bool =
        sqlx::query_scalar("SELECT locked OR approves_follows FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_one(&mut *tx)
            .await?;
    let accepted = if approves {
        Vec::new()
    } else {
        super::graph::accept_all_requests(&mut tx, user_id).await?
    };
    tx.commit().await?;
    Ok(accepted)
}

/// The profile of the caller themself.
pub async fn own(db: &Db, urls: &Photos, user_id: Uuid) -> Result<Profile> {
    let handle: String = sqlx::query_scalar("SELECT handle FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(&db.primary)
        .await?
        .ok_or_else(user_not_found)?;
    // Read from the primary: this follows the caller's own write.
    let db = Db {
        primary: db.primary.clone(),
        replica: db.primary.clone(),
    };
    by_handle(&db, urls, user_id, &handle).await
}
