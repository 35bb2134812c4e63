//! Finding people: by handle (exactly, by prefix, or a typo away) and by
//! display name (any word of it, a typo away), ranked, with PostgreSQL's
//! trigrams (`pg_trgm`) and no search server. What a viewer may not see
//! (blocks either way, suspended and deleted accounts) is never found.

use uuid::Uuid;

use super::page::{Page, PageRequest, ScoreKey};
use super::render::{self, CardRow, Photos, UserCard};
use super::{Db, USER_VISIBLE, no_block};
use crate::error::{Error, Result};

pub const QUERY_MAX_CHARS: usize = 50;

/// A search as typed, checked: trimmed, lowercased, without a leading `@`.
pub struct Query(String);

impl Query {
    pub fn parse(typed: &str) -> Result<Self> {
        // Counted before case folding, which may lengthen it.
        let query = typed.trim().trim_start_matches('@').trim();
        if query.is_empty() || query.chars().count() > QUERY_MAX_CHARS {
            return Err(Error::invalid_field(
                "q",
                format!("must have 1 to {QUERY_MAX_CHARS} characters"),
            ));
        }
        if query.chars().any(char::is_control) {
            return Err(Error::invalid_field(
                "q",
                "may not contain control characters",
            ));
        }
        Ok(Self(query.to_lowercase()))
    }

    /// The query as a `LIKE` prefix pattern, its wildcards escaped.
    pub(crate) fn prefix_pattern(&self) -> String {
        let escaped = self
            .0
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        format!("{escaped}%")
    }
}

#[derive(sqlx::FromRow)]
struct FoundRow {
    #[sqlx(flatten)]
    card: CardRow,
    score: f32,
}

/// Ranks: the exact handle (3 and more), then handle prefixes (2 and
/// more), then the best of the handle's and the display name's trigram
/// similarity (0 to 1). Only rows a trigram index can find are scored.
const USERS_SQL: &str = "
    SELECT * FROM (
        SELECT u.id, u.handle, u.display_name, u.avatar_media_id,
               (CASE WHEN u.handle = $2 THEN 3 WHEN u.handle LIKE $3 THEN 2 ELSE 0 END
                + GREATEST(similarity(u.handle, $2),
                           COALESCE(word_similarity($2, lower(u.display_name)), 0)))::real AS score
        FROM users u
        WHERE (u.handle LIKE $3 OR u.handle % $2 OR $2 <% lower(u.display_name))
          AND {visible} AND {no_block}
    ) found
    WHERE (found.score, found.id) < ($4, $5)
    ORDER BY found.score DESC, found.id DESC
    LIMIT $6";

/// People matching `query`, best first, as `viewer` may see them.
pub async fn users(
    db: &Db,
    urls: &Photos,
    viewer: Uuid,
    query: &Query,
    page: &PageRequest<ScoreKey>,
) -> Result<Page<UserCard>> {
    let after = page.after.unwrap_or(ScoreKey::FIRST);
    let sql = USERS_SQL
        .replace("{visible}", USER_VISIBLE)
        .replace("{no_block}", &no_block("$1", "u.id"));
    let rows = sqlx::query_as::<_, FoundRow>(&sql)
        .bind(viewer)
        .bind(&query.0)
        .bind(query.prefix_pattern())
        .bind(after.score)
        .bind(after.id)
        .bind(page.fetch_limit())
        .fetch_all(&db.replica)
        .await?;
    let page = Page::from_rows(rows, page, |row| ScoreKey {
        score: row.score,
        id: row.card.id,
    });
    render::card_page(&db.replica, urls, page, |row| row.card).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_trimmed_folded_and_bounded() {
        assert_eq!(Query::parse("  @Ana_Lima ").unwrap().0, "ana_lima");
        assert_eq!(Query::parse("a_b%").unwrap().prefix_pattern(), "a\\_b\\%%");
        for bad in ["", "  @ ", "a\u{0}b", &"x".repeat(51)] {
            assert!(Query::parse(bad).is_err(), "{bad:?}");
        }
    }
}
