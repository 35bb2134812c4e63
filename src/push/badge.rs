//! The badge: how many notifications the user has not read, counted as the
//! notification list shows them.

use sqlx::PgExecutor;
use uuid::Uuid;

use crate::error::Result;

/// Unread notifications that the list would show: not withdrawn, from a
/// visible account the user does not block, about a post still shown.
pub async fn unread_count<'e>(db: impl PgExecutor<'e>, user: Uuid) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM notifications n JOIN users u ON u.id = n.actor_id
         WHERE n.recipient_id = $1 AND n.read_at IS NULL AND n.withdrawn_at IS NULL
           AND u.suspended_at IS NULL AND u.deleted_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = $1 AND b.blocked_id = n.actor_id)
           AND (n.post_id IS NULL OR EXISTS (
                SELECT 1 FROM posts p WHERE p.id = n.post_id AND p.taken_down_at IS NULL))",
    )
    .bind(user)
    .fetch_one(db)
    .await?)
}
