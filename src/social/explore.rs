//! Explore: recent public posts that are doing well, from people the viewer
//! does not follow yet.
//!
//! A post's score is the engagement it received from distinct accounts
//! (each liker counts 1, each commenter 2; the author's own not at all),
//! decaying with age: `engagement / (hours + 2)^1.5`. Scoring every recent
//! post on each read would grow with the posts, so a **snapshot** (a
//! generation of at most [`SNAPSHOT_MAX`] ranked posts) is taken at most
//! every [`REFRESH_EVERY`], by the API chores or by the first reader who
//! finds none fresh. A reader pages one generation to its end (the cursor
//! names it), leaving out at read time what is theirs to leave out:
//! accounts they follow, block or mute, their own posts, what their explore
//! filters hide, and posts hidden since the snapshot. Generations are kept
//! [`GENERATION_KEPT`]; a cursor of one deleted since continues in the
//! newest at the same rank.

use std::time::Duration;

use sqlx::PgExecutor;
use uuid::Uuid;

use super::filters::{self, Context};
use super::page::{CursorKey, Page, PageRequest};
use super::post_view::{self, Post, Scope};
use super::render::Photos;
use super::{Db, USER_VISIBLE, no_block, not_muted};
use crate::error::Result;

/// How fresh a snapshot must be before another is taken.
pub const REFRESH_EVERY: Duration = Duration::from_secs(5 * 60);
/// How long a generation is kept for readers paging it.
pub const GENERATION_KEPT: Duration = Duration::from_secs(2 * 3600);
/// The posts ranked in one snapshot.
pub const SNAPSHOT_MAX: i64 = 1000;
/// How old a post may be and still be explored.
pub const WINDOW: Duration = Duration::from_secs(7 * 24 * 3600);
/// A lock key of its own, so that one process takes each snapshot.
const REFRESH_LOCK: i64 = 0x6578_706c_6f72_6531; // "explore1"

/// Where a page of explore ends: the snapshot and the last rank read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExploreKey {
    pub generation: i64,
    pub rank: i32,
}

impl CursorKey for ExploreKey {
    fn to_raw(&self) -> String {
        format!("{}.{}", self.generation, self.rank)
    }

    fn from_raw(raw: &str) -> Option<Self> {
        let (generation, rank) = raw.split_once('.')?;
        Some(ExploreKey {
            generation: generation.parse().ok()?,
            rank: rank.parse().ok()?,
        })
    }
}

/// Takes a snapshot unless one is fresh or another process is taking it;
/// true when it took one. Old generations go in the same transaction.
pub async fn refresh(db: &sqlx::PgPool) -> Result<bool> {
    let mut tx = db.begin().await?;
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
        .bind(REFRESH_LOCK)
        .fetch_one(&mut *tx)
        .await?;
    if !locked || newest(&mut *tx, Some(REFRESH_EVERY)).await?.is_some() {
        return Ok(false);
    }
    let generation: i64 =
        sqlx::query_scalar("INSERT INTO explore_generations DEFAULT VALUES RETURNING id")
            .fetch_one(&mut *tx)
            .await?;
    sqlx::query(&format!(
        "INSERT INTO explore_entries (generation, rank, post_id, score)
         SELECT $1, row_number() OVER (ORDER BY score DESC, id DESC), id, score
           FROM (SELECT p.id,
                        (GREATEST(p.like_count - CASE WHEN EXISTS (
                                      SELECT 1 FROM likes sl
                                       WHERE sl.post_id = p.id AND sl.user_id = p.author_id)
                                  THEN 1 ELSE 0 END, 0)
                         + 2 * (SELECT count(DISTINCT c.author_id) FROM comments c
                                 WHERE c.post_id = p.id AND c.author_id <> p.author_id))
                        / power(extract(epoch FROM now() - p.created_at) / 3600 + 2, 1.5)
                          AS score
                   FROM posts p JOIN users u ON u.id = p.author_id
                  WHERE p.created_at > now() - make_interval(secs => $2)
                    AND p.taken_down_at IS NULL AND (p.like_count > 0 OR p.comment_count > 0)
                    AND {USER_VISIBLE} AND NOT u.locked AND u.trust_level >= 'basic') scored
          WHERE score > 0
          ORDER BY score DESC, id DESC
          LIMIT $3"
    ))
    .bind(generation)
    .bind(WINDOW.as_secs_f64())
    .bind(SNAPSHOT_MAX)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "DELETE FROM explore_generations
          WHERE id < $1 AND created_at < now() - make_interval(secs => $2)",
    )
    .bind(generation)
    .bind(GENERATION_KEPT.as_secs_f64())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// The newest generation, if any (taken within `within`, when given).
async fn newest(db: impl PgExecutor<'_>, within: Option<Duration>) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM explore_generations
          WHERE $1::float8 IS NULL OR created_at > now() - make_interval(secs => $1)
          ORDER BY id DESC LIMIT 1",
    )
    .bind(within.map(|d| d.as_secs_f64()))
    .fetch_optional(db)
    .await?)
}

async fn generation_exists(db: impl PgExecutor<'_>, generation: i64) -> Result<bool> {
    Ok(
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM explore_generations WHERE id = $1)")
            .bind(generation)
            .fetch_one(db)
            .await?,
    )
}

/// A page of explore for `viewer`.
pub async fn page(
    db: &Db,
    urls: &Photos,
    viewer: Uuid,
    page: &PageRequest<ExploreKey>,
) -> Result<Page<Post>> {
    // No connection is held across a refresh, which takes one of its own:
    // readers who all found the snapshot due would otherwise each hold one
    // while waiting for a second.
    let start = match page.after {
        Some(key) if generation_exists(&db.primary, key.generation).await? => Some(key),
        Some(key) => newest(&db.primary, None)
            .await?
            .map(|generation| ExploreKey {
                generation,
                rank: key.rank,
            }),
        None => {
            let generation = match newest(&db.primary, Some(REFRESH_EVERY)).await? {
                Some(fresh) => Some(fresh),
                None => {
                    refresh(&db.primary).await?;
                    newest(&db.primary, None).await?
                }
            };
            generation.map(|generation| ExploreKey {
                generation,
                rank: 0,
            })
        }
    };
    let Some(start) = start else {
        return Ok(Page {
            items: Vec::new(),
            next_cursor: None,
        });
    };
    let mut conn = db.primary.acquire().await?;
    let ranked: Vec<(i32, Uuid)> = sqlx::query_as(&format!(
        "SELECT e.rank, e.post_id
           FROM explore_entries e
           JOIN posts p ON p.id = e.post_id JOIN users u ON u.id = p.author_id
          WHERE e.generation = $2 AND e.rank > $3
            AND p.author_id <> $1 AND p.taken_down_at IS NULL AND {USER_VISIBLE} AND NOT u.locked
            AND NOT EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = $1 AND f.followee_id = p.author_id)
            AND {} AND {} AND {}
          ORDER BY e.rank LIMIT $4",
        no_block("$1", "u.id"),
        not_muted("$1", "u.id", false),
        filters::hides_not("$1", "p.caption", Context::Explore)
    ))
    .bind(viewer)
    .bind(start.generation)
    .bind(start.rank)
    .bind(page.fetch_limit())
    .fetch_all(&mut *conn)
    .await?;
    let ranked = Page::from_rows(ranked, page, |(rank, _)| ExploreKey {
        generation: start.generation,
        rank: *rank,
    });
    let ids: Vec<Uuid> = ranked.items.iter().map(|(_, id)| *id).collect();
    let posts = post_view::hydrate(&mut conn, urls, viewer, &ids, Scope::Explore).await?;
    Ok(Page {
        items: posts,
        next_cursor: ranked.next_cursor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_key_reads_back_and_refuses_junk() {
        let key = ExploreKey {
            generation: 42,
            rank: 7,
        };
        assert_eq!(ExploreKey::from_raw(&key.to_raw()), Some(key));
        assert_eq!(ExploreKey::from_raw("42"), None);
        assert_eq!(ExploreKey::from_raw("a.1"), None);
    }
}
