//! Finding accounts for moderators: by handle prefix, suspended ones
//! included (unlike the users' search), with their standing at a glance.

use time::OffsetDateTime;
use uuid::Uuid;

use super::{Level, Trust};
use crate::error::Result;
use crate::social::search::Query;

/// Accounts one lookup lists at most: a prefix narrows, it does not page.
pub const FOUND_MAX: i64 = 50;

/// An account's standing, as a row of the moderators' search.
#[derive(Debug, sqlx::FromRow)]
pub struct Standing {
    pub user_id: Uuid,
    pub handle: String,
    pub level: Level,
    pub pinned: bool,
    /// Strikes that were not withdrawn, however old.
    pub strikes: i64,
    pub suspended_at: Option<OffsetDateTime>,
    /// When a strike's suspension ends by itself; none with `suspended_at`
    /// set: until lifted.
    pub suspended_until: Option<OffsetDateTime>,
}

impl Trust {
    /// Live accounts whose handle starts with `query`, by handle.
    pub async fn find_by_handle(&self, query: &Query) -> Result<Vec<Standing>> {
        Ok(sqlx::query_as(
            "SELECT u.id AS user_id, u.handle, u.trust_level AS level, u.trust_pinned AS pinned,
                    (SELECT count(*) FROM trust_strikes s
                      WHERE s.user_id = u.id AND s.withdrawn_at IS NULL) AS strikes,
                    u.suspended_at, u.suspended_until
               FROM users u
              WHERE u.handle LIKE $1 AND u.deleted_at IS NULL
              ORDER BY u.handle LIMIT $2",
        )
        .bind(query.prefix_pattern())
        .bind(FOUND_MAX)
        .fetch_all(self.pool())
        .await?)
    }
}
