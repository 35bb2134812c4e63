//! The badge: how many notifications the user has not read, counted as the
//! notification list shows them, by the one rule the list, the badge and
//! the pushes share ([`shown_to`]).

use sqlx::PgExecutor;
use uuid::Uuid;

use crate::error::Result;
use crate::social::filters::{self, Context};
use crate::social::{USER_VISIBLE, not_muted};

/// SQL: whom a notification's `u` joins: its actor, or for a `moderation`
/// one (no actor) its recipient, so that one inner join serves every kind
/// (the recipient's card is never shown as an actor).
pub(crate) const ACTOR: &str = "COALESCE(n.actor_id, n.recipient_id)";

/// SQL: the notification aliased `n`, whose actor is joined as `u` (on
/// [`ACTOR`]), is
/// shown to the user in `recipient` (a bind parameter): not withdrawn, from
/// a visible account the recipient neither blocks nor mutes with its
/// notifications, about a post still shown, and carrying no words (a
/// comment, someone else's caption) their filters hide from notifications.
pub(crate) fn shown_to(recipient: &str) -> String {
    format!(
        "n.withdrawn_at IS NULL AND {USER_VISIBLE}
         AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = {recipient} AND b.blocked_id = n.actor_id)
         AND {}
         AND (n.post_id IS NULL OR EXISTS (
              SELECT 1 FROM posts p WHERE p.id = n.post_id AND p.taken_down_at IS NULL))
         AND NOT EXISTS (SELECT 1 FROM comments fc WHERE fc.id = n.comment_id AND NOT {})
         AND NOT EXISTS (SELECT 1 FROM posts fp
                          WHERE fp.id = n.post_id AND fp.author_id <> {recipient} AND NOT {})",
        not_muted(recipient, "n.actor_id", true),
        filters::hides_not(recipient, "fc.text", Context::Notifications),
        filters::hides_not(recipient, "fp.caption", Context::Notifications)
    )
}

/// Unread notifications that the list would show.
pub async fn unread_count<'e>(db: impl PgExecutor<'e>, user: Uuid) -> Result<i64> {
    Ok(sqlx::query_scalar(&format!(
        "SELECT count(*) FROM notifications n JOIN users u ON u.id = {ACTOR}
         WHERE n.recipient_id = $1 AND n.read_at IS NULL AND {}",
        shown_to("$1")
    ))
    .bind(user)
    .fetch_one(db)
    .await?)
}
