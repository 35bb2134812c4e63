//! Hashtags: a post's tags (from its caption, see `entities`), a tag's
//! posts newest first, following tags into the home feed, and finding tags
//! by prefix.

use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::entities::tag_key;
use super::page::{NEWEST, Page, PageRequest, ScoreKey, TimeKey};
use super::post_view::{Post, visible_page};
use super::render::Photos;
use super::{Db, USER_VISIBLE, content_visible, no_block, not_muted};
use crate::error::{Code, Error, Result};

/// How many hashtags one may follow: each is one index scan when the home
/// feed is read from SQL.
pub const FOLLOWS_MAX: i64 = 500;

/// A hashtag as the apps show it.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct Hashtag {
    /// The key: NFKC, lower-cased.
    #[schema(example = "golden_hour")]
    pub tag: String,
    /// Posts that carry it, including some you may not see.
    pub post_count: i32,
    /// You follow it into your home feed.
    pub following: bool,
}

/// A hashtag named in a path, checked and turned into its key.
pub struct TagName(String);

impl TagName {
    /// A malformed name names no hashtag: `hashtag_not_found`.
    pub fn parse(raw: &str) -> Result<Self> {
        let raw = raw.strip_prefix('#').unwrap_or(raw);
        tag_key(raw)
            .map(TagName)
            .ok_or_else(|| Error::from(Code::HashtagNotFound))
    }

    /// The start of a hashtag, as typed in a search (a leading `#` and
    /// spaces around ignored), keyed the same way; digits alone will do.
    /// None when no hashtag can start so.
    pub fn prefix(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        let raw = raw.strip_prefix('#').unwrap_or(raw);
        let key = tag_key(&format!("{raw}_"))?;
        let key = key.strip_suffix('_')?;
        (!key.is_empty()).then(|| TagName(key.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Sets the post's hashtags to `tags` (sorted keys, the order their rows
/// are locked in, so that two posts with the same tags cannot deadlock).
pub async fn tag_post(tx: &mut sqlx::PgConnection, post: Uuid, tags: &[String]) -> Result<()> {
    sqlx::query(
        "DELETE FROM post_hashtags ph USING hashtags h
         WHERE ph.post_id = $1 AND h.id = ph.hashtag_id AND NOT (h.tag = ANY($2))",
    )
    .bind(post)
    .bind(tags)
    .execute(&mut *tx)
    .await?;
    if tags.is_empty() {
        return Ok(());
    }
    create_tags(tx, tags).await?;
    sqlx::query(
        "INSERT INTO post_hashtags (hashtag_id, post_id)
         SELECT h.id, $1 FROM hashtags h WHERE h.tag = ANY($2) ORDER BY h.tag
         ON CONFLICT DO NOTHING",
    )
    .bind(post)
    .bind(tags)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

async fn create_tags(tx: &mut sqlx::PgConnection, tags: &[String]) -> Result<()> {
    let ids: Vec<Uuid> = tags.iter().map(|_| Uuid::now_v7()).collect();
    sqlx::query(
        "INSERT INTO hashtags (id, tag) SELECT * FROM UNNEST($1::uuid[], $2::text[])
         ON CONFLICT (tag) DO NOTHING",
    )
    .bind(&ids)
    .bind(tags)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// A hashtag's card; one nobody used yet has no posts.
pub async fn card(db: &Db, viewer: Uuid, tag: &TagName) -> Result<Hashtag> {
    let found: Option<Hashtag> = sqlx::query_as(
        "SELECT h.tag, h.post_count,
                EXISTS (SELECT 1 FROM hashtag_follows f WHERE f.hashtag_id = h.id AND f.user_id = $2) AS following
         FROM hashtags h WHERE h.tag = $1",
    )
    .bind(tag.as_str())
    .bind(viewer)
    .fetch_optional(&db.primary)
    .await?;
    Ok(found.unwrap_or_else(|| Hashtag {
        tag: tag.as_str().to_string(),
        post_count: 0,
        following: false,
    }))
}

/// A hashtag's posts, newest first, as `viewer` may see them: the rules of
/// every post list (no block either way, visible authors, locked accounts'
/// posts for their followers only), and no one the viewer muted.
pub async fn posts(
    db: &Db,
    urls: &Photos,
    viewer: Uuid,
    tag: &TagName,
    page: &PageRequest<Uuid>,
) -> Result<Page<Post>> {
    let ids: Vec<Uuid> = sqlx::query_scalar(&format!(
        "SELECT ph.post_id FROM hashtags h
         JOIN post_hashtags ph ON ph.hashtag_id = h.id
         JOIN posts p ON p.id = ph.post_id
         JOIN users u ON u.id = p.author_id
         WHERE h.tag = $2 AND ph.post_id < $3 AND p.taken_down_at IS NULL
           AND {USER_VISIBLE} AND {} AND {} AND {}
         ORDER BY ph.post_id DESC LIMIT $4",
        no_block("$1", "u.id"),
        content_visible("$1"),
        not_muted("$1", "u.id", false)
    ))
    .bind(viewer)
    .bind(tag.as_str())
    .bind(page.after.unwrap_or(NEWEST))
    .bind(page.fetch_limit())
    .fetch_all(&db.replica)
    .await?;
    visible_page(db, urls, viewer, ids, page).await
}

/// Follows a hashtag some post carries or carried (again: nothing
/// changes): follows never create hashtags, posts do. Returns whether a
/// follow was added.
pub async fn follow(db: &Db, user: Uuid, tag: &TagName) -> Result<bool> {
    let mut tx = db.primary.begin().await?;
    let hashtag: Uuid = sqlx::query_scalar("SELECT id FROM hashtags WHERE tag = $1")
        .bind(tag.as_str())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| Code::HashtagNotFound.with_message("no post carries this hashtag yet"))?;
    // The user's row, so that two follows at once respect the bound.
    sqlx::query("SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE")
        .bind(user)
        .execute(&mut *tx)
        .await?;
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM hashtag_follows WHERE user_id = $1")
        .bind(user)
        .fetch_one(&mut *tx)
        .await?;
    let added = sqlx::query(
        "INSERT INTO hashtag_follows (user_id, hashtag_id) SELECT $1, $2 WHERE $3
         ON CONFLICT DO NOTHING",
    )
    .bind(user)
    .bind(hashtag)
    .bind(count < FOLLOWS_MAX)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        > 0;
    if !added && count >= FOLLOWS_MAX && !follows(&mut tx, user, hashtag).await? {
        return Err(Error::from(Code::HashtagFollowsFull));
    }
    tx.commit().await?;
    Ok(added)
}

async fn follows(tx: &mut sqlx::PgConnection, user: Uuid, hashtag: Uuid) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM hashtag_follows WHERE user_id = $1 AND hashtag_id = $2)",
    )
    .bind(user)
    .bind(hashtag)
    .fetch_one(tx)
    .await?)
}

/// Stops following a hashtag (not following is fine). Returns whether a
/// follow was removed.
pub async fn unfollow(db: &Db, user: Uuid, tag: &TagName) -> Result<bool> {
    Ok(sqlx::query(
        "DELETE FROM hashtag_follows f USING hashtags h
         WHERE f.user_id = $1 AND h.id = f.hashtag_id AND h.tag = $2",
    )
    .bind(user)
    .bind(tag.as_str())
    .execute(&db.primary)
    .await?
    .rows_affected()
        > 0)
}

/// The hashtags `user` follows, latest follow first.
pub async fn followed(db: &Db, user: Uuid, page: &PageRequest<TimeKey>) -> Result<Page<Hashtag>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        id: Uuid,
        followed_at: OffsetDateTime,
        #[sqlx(flatten)]
        hashtag: Hashtag,
    }
    let after = page.after.unwrap_or(TimeKey::MAX);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT h.id, f.created_at AS followed_at, h.tag, h.post_count, true AS following
         FROM hashtag_follows f JOIN hashtags h ON h.id = f.hashtag_id
         WHERE f.user_id = $1 AND (f.created_at, h.id) < ($2, $3)
         ORDER BY f.created_at DESC, h.id DESC LIMIT $4",
    )
    .bind(user)
    .bind(after.at)
    .bind(after.id)
    .bind(page.fetch_limit())
    .fetch_all(&db.primary)
    .await?;
    Ok(Page::from_rows(rows, page, |row| TimeKey {
        at: row.followed_at,
        id: row.id,
    })
    .map(|row| row.hashtag))
}

/// Hashtags starting with `prefix` (a key), most used first, paged by
/// `(post_count, id)`. Tags no post carries any more are left out.
pub async fn search(
    db: &Db,
    viewer: Uuid,
    prefix: &TagName,
    page: &PageRequest<ScoreKey>,
) -> Result<Page<Hashtag>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        id: Uuid,
        score: f32,
        #[sqlx(flatten)]
        hashtag: Hashtag,
    }
    let after = page.after.unwrap_or(ScoreKey::FIRST);
    let pattern = format!(
        "{}%",
        prefix
            .as_str()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT h.id, h.post_count::real AS score, h.tag, h.post_count,
                EXISTS (SELECT 1 FROM hashtag_follows f WHERE f.hashtag_id = h.id AND f.user_id = $1) AS following
         FROM hashtags h
         WHERE h.tag LIKE $2 AND h.post_count > 0 AND (h.post_count::real, h.id) < ($3, $4)
         ORDER BY h.post_count::real DESC, h.id DESC LIMIT $5",
    )
    .bind(viewer)
    .bind(pattern)
    .bind(after.score)
    .bind(after.id)
    .bind(page.fetch_limit())
    .fetch_all(&db.replica)
    .await?;
    Ok(Page::from_rows(rows, page, |row| ScoreKey {
        score: row.score,
        id: row.id,
    })
    .map(|row| row.hashtag))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_in_paths_and_searches_are_keyed_like_tags_in_text() {
        assert_eq!(TagName::parse("#Café").unwrap().as_str(), "café");
        assert_eq!(TagName::prefix(" #CAF ").unwrap().as_str(), "caf");
        assert_eq!(TagName::prefix("20").unwrap().as_str(), "20");
        for bad in ["", "2024", "a b", "#"] {
            assert!(TagName::parse(bad).is_err(), "{bad:?}");
        }
        for bad in ["", "#", "a b", "a%"] {
            assert!(TagName::prefix(bad).is_none(), "{bad:?}");
        }
    }
}
