//! The home feed: the posts of the people you follow, and your own, newest
//! first, with the posts of the hashtags you follow that you may see.
//!
//! Followed hashtags ride on the same timelines: a new post is pushed to
//! its hashtags' followers too (bounded, `TAG_FANOUT_MAX`), the SQL that
//! rebuilds a timeline reads them (`TAGS_SQL`), and hydration lets them
//! through (`Scope::HomeFeed`). Merging at read instead would need a second
//! keyset beside the timeline's on every page; on write, the cost is paid
//! once per post, and a tag follow invalidates the timeline like a follow.
//!
//! Each home timeline is materialised in Redis on write, as Mastodon does:
//! a sorted set of post ids (all scored 0, so ordered by the UUIDv7 text,
//! which is time order) capped to the newest `TIMELINE_CAP`. A new post is
//! pushed to the timelines of its author and followers that are warm; a
//! cold timeline is rebuilt from SQL on its next read. Staleness only ever
//! adds ids: a page's ids are hydrated through the visibility rules (and
//! "you follow the author"), so deleted, taken-down, suspended, blocked and
//! unfollowed authors' posts never show, and a follow invalidates the
//! timeline so that the new followee's posts come in. Timelines are
//! disposable: with Redis down or emptied every read is answered from SQL.
//!
//! Exactness under races and faults:
//! - a rebuild reads the user's epoch first and writes only if no follow
//!   change bumped it meanwhile; after writing it catches up on posts that
//!   were committed, and fanned out to a missing key, while it read;
//! - a write that fails to reach Redis marks this process dirty, and the
//!   first Redis operation after that bumps the global generation, which is
//!   part of every timeline key: all timelines go cold at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock};

use redis::Script;
use uuid::Uuid;

use super::page::{NEWEST, Page, PageRequest};
use super::post_view::{self, Post, Scope};
use super::render::Photos;
use super::{Db, USER_VISIBLE, content_visible, no_block, not_muted};
use crate::error::Result;
use crate::infra::redis::RedisHandle;
use crate::ratelimit::{Policy, RateLimiter};

/// How many post ids a timeline keeps; older pages come from SQL.
pub const TIMELINE_CAP: usize = 800;
/// Idle timelines expire; a read renews them.
const TIMELINE_TTL_SECS: u64 = 3 * 24 * 3600;
/// Followers served in the request that posts; more go to a background task.
const INLINE_FANOUT_MAX: usize = 1000;
/// How often a process retries the new generation while Redis is away.
const SETTLE_RETRY: std::time::Duration = std::time::Duration::from_millis(500);
/// Timelines updated per Redis call during a fan-out.
const FANOUT_BATCH: usize = 500;

/// A timeline key: `<prefix>:tl:<generation>:<user>`.
const READ: &str = r"
local tl = ARGV[1] .. ':tl:' .. (redis.call('GET', KEYS[1]) or '0') .. ':' .. ARGV[2]
if redis.call('EXISTS', tl) == 0 then return false end
redis.call('EXPIRE', tl, ARGV[5])
local max = '+'
if ARGV[3] ~= '' then max = '(' .. ARGV[3] end
local ids = redis.call('ZREVRANGEBYLEX', tl, max, '(0', 'LIMIT', 0, tonumber(ARGV[4]))
return {redis.call('ZCARD', tl) - 1, ids}
";

/// Writes a whole timeline, unless the user's epoch moved since it was read.
/// The member `0` sorts before every id and marks an existing (maybe empty)
/// timeline.
const BUILD: &str = r"
if (redis.call('GET', KEYS[2]) or '0') ~= ARGV[3] then return 0 end
local tl = ARGV[1] .. ':tl:' .. (redis.call('GET', KEYS[1]) or '0') .. ':' .. ARGV[2]
redis.call('DEL', tl)
redis.call('ZADD', tl, 0, '0')
for i = 5, #ARGV, 1000 do
  local args = {}
  for j = i, math.min(i + 999, #ARGV) do
    args[#args + 1] = 0
    args[#args + 1] = ARGV[j]
  end
  redis.call('ZADD', tl, unpack(args))
end
redis.call('EXPIRE', tl, ARGV[4])
return 1
";

/// Adds a post to each listed user's timeline that exists, trimming it to
/// the cap (the marker at rank 0 stays).
const PUSH: &str = r"
local gen = redis.call('GET', KEYS[1]) or '0'
local trim = -(tonumber(ARGV[3]) + 1)
local pushed = 0
for i = 4, #ARGV do
  local tl = ARGV[1] .. ':tl:' .. gen .. ':' .. ARGV[i]
  if redis.call('EXISTS', tl) == 1 then
    redis.call('ZADD', tl, 0, ARGV[2])
    redis.call('ZREMRANGEBYRANK', tl, 1, trim)
    pushed = pushed + 1
  end
end
return pushed
";

/// A follow change: bump the epoch (so a rebuild in flight is not written)
/// and drop the timeline.
const INVALIDATE: &str = r"
redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[3])
redis.call('DEL', ARGV[1] .. ':tl:' .. (redis.call('GET', KEYS[1]) or '0') .. ':' .. ARGV[2])
return 1
";

/// What Redis said about a timeline.
enum Read {
    Hit { ids: Vec<Uuid>, total: usize },
    Cold,
    Unavailable,
}

#[derive(Clone)]
pub struct Timelines {
    redis: RedisHandle,
    prefix: String,
    generation_key: String,
    dirty: Arc<AtomicBool>,
    retrying: Arc<AtomicBool>,
}

impl Timelines {
    pub fn new(redis: RedisHandle, key_prefix: &str) -> Self {
        Self {
            redis,
            prefix: key_prefix.to_string(),
            generation_key: format!("{key_prefix}:tl:generation"),
            dirty: Arc::new(AtomicBool::new(false)),
            retrying: Arc::new(AtomicBool::new(false)),
        }
    }

    fn epoch_key(&self, user: Uuid) -> String {
        format!("{}:tl:epoch:{user}", self.prefix)
    }

    /// After a failed write, every timeline may miss something: start a new
    /// generation before trusting any.
    async fn settle(&self) -> bool {
        if !self.dirty.load(Ordering::Acquire) {
            return true;
        }
        let key = self.generation_key.clone();
        let bumped = self
            .redis
            .run(|mut conn| async move {
                redis::cmd("INCR")
                    .arg(&key)
                    .query_async::<i64>(&mut conn)
                    .await
            })
            .await
            .is_some();
        if bumped {
            tracing::info!("timelines: new generation after a failed write");
            self.dirty.store(false, Ordering::Release);
        }
        bumped
    }

    /// A write missed Redis: other processes may be serving timelines that
    /// lack it, so the new generation is retried in the background until
    /// Redis takes it, not left to this process's next request.
    fn failed(&self) {
        self.dirty.store(true, Ordering::Release);
        if self.retrying.swap(true, Ordering::AcqRel) {
            return;
        }
        let timelines = self.clone();
        tokio::spawn(async move {
            while !timelines.settle().await {
                tokio::time::sleep(SETTLE_RETRY).await;
            }
            timelines.retrying.store(false, Ordering::Release);
            // A failure between the last attempt and the flag's reset.
            if timelines.dirty.load(Ordering::Acquire) {
                timelines.failed();
            }
        });
    }

    async fn read(&self, user: Uuid, before: Option<Uuid>, count: usize) -> Read {
        if !self.settle().await {
            return Read::Unavailable;
        }
        let script = Script::new(READ);
        let mut invocation = script.key(&self.generation_key);
        invocation
            .arg(&self.prefix)
            .arg(user.to_string())
            .arg(before.map(|id| id.to_string()).unwrap_or_default())
            .arg(count)
            .arg(TIMELINE_TTL_SECS);
        let reply = self
            .redis
            .run(|mut conn| async move {
                invocation
                    .invoke_async::<Option<(i64, Vec<String>)>>(&mut conn)
                    .await
            })
            .await;
        match reply {
            None => Read::Unavailable,
            Some(None) => Read::Cold,
            Some(Some((total, ids))) => Read::Hit {
                ids: ids.iter().filter_map(|id| id.parse().ok()).collect(),
                total: total.max(0) as usize,
            },
        }
    }

    async fn epoch(&self, user: Uuid) -> Option<String> {
        if !self.settle().await {
            return None;
        }
        let key = self.epoch_key(user);
        self.redis
            .run(|mut conn| async move {
                redis::cmd("GET")
                    .arg(&key)
                    .query_async::<Option<String>>(&mut conn)
                    .await
            })
            .await
            .map(|epoch| epoch.unwrap_or_else(|| "0".into()))
    }

    /// Writes `ids` (newest first) as the user's timeline; false when the
    /// epoch moved or Redis is unavailable.
    async fn store(&self, user: Uuid, epoch: &str, ids: &[Uuid]) -> bool {
        let script = Script::new(BUILD);
        let mut invocation = script.key(&self.generation_key);
        invocation
            .key(self.epoch_key(user))
            .arg(&self.prefix)
            .arg(user.to_string())
            .arg(epoch)
            .arg(TIMELINE_TTL_SECS);
        for id in ids {
            invocation.arg(id.to_string());
        }
        let stored = self
            .redis
            .run(|mut conn| async move { invocation.invoke_async::<i64>(&mut conn).await })
            .await;
        stored == Some(1)
    }

    /// Pushes `post` to the warm timelines of `users`.
    pub async fn push(&self, post: Uuid, users: &[Uuid]) {
        if !self.settle().await {
            self.failed();
            return;
        }
        let script = Script::new(PUSH);
        for batch in users.chunks(FANOUT_BATCH) {
            let mut invocation = script.key(&self.generation_key);
            invocation
                .arg(&self.prefix)
                .arg(post.to_string())
                .arg(TIMELINE_CAP);
            for user in batch {
                invocation.arg(user.to_string());
            }
            let pushed = self
                .redis
                .run(|mut conn| async move { invocation.invoke_async::<i64>(&mut conn).await })
                .await;
            if pushed.is_none() {
                tracing::warn!(%post, "timeline fan-out failed; timelines will be rebuilt");
                self.failed();
                return;
            }
        }
    }

    /// A follow change for `user`: their timeline must be rebuilt.
    pub async fn invalidate(&self, user: Uuid) {
        if !self.settle().await {
            self.failed();
            return;
        }
        let script = Script::new(INVALIDATE);
        let mut invocation = script.key(&self.generation_key);
        invocation
            .key(self.epoch_key(user))
            .arg(&self.prefix)
            .arg(user.to_string())
            .arg(TIMELINE_TTL_SECS * 2);
        let done = self
            .redis
            .run(|mut conn| async move { invocation.invoke_async::<i64>(&mut conn).await })
            .await;
        if done.is_none() {
            self.failed();
        }
    }
}

/// The home feed: timelines in front of the SQL that defines them.
#[derive(Clone)]
pub struct Feed {
    db: Db,
    timelines: Timelines,
    budget: Option<ScanBudget>,
}

impl Feed {
    pub fn new(db: Db, timelines: Timelines) -> Self {
        Self {
            db,
            timelines,
            budget: None,
        }
    }

    /// Holds each viewer's author-by-author reads to `budget`.
    pub fn with_scan_budget(mut self, budget: ScanBudget) -> Self {
        self.budget = Some(budget);
        self
    }

    pub fn timelines(&self) -> &Timelines {
        &self.timelines
    }

    pub async fn page(
        &self,
        urls: &Photos,
        viewer: Uuid,
        request: &PageRequest<Uuid>,
    ) -> Result<Page<Post>> {
        let want = request.fetch_limit() as usize;
        let ids = match self.timelines.read(viewer, request.after, want).await {
            Read::Hit { ids, total } => {
                self.beyond_timeline(viewer, request.after, ids, total, want)
                    .await?
            }
            Read::Cold => {
                let timeline = self.rebuild(viewer).await?;
                let total = timeline.len();
                let ids = timeline
                    .into_iter()
                    .filter(|id| request.after.is_none_or(|after| *id < after))
                    .take(want)
                    .collect();
                self.beyond_timeline(viewer, request.after, ids, total, want)
                    .await?
            }
            Read::Unavailable => {
                ids_sql(
                    &self.db.replica,
                    self.budget.as_ref(),
                    viewer,
                    request.after,
                    None,
                    want,
                )
                .await?
            }
        };
        let ids = Page::from_rows(ids, request, |id| *id);
        let posts = post_view::hydrate(
            &mut *self.db.primary.acquire().await?,
            urls,
            viewer,
            &ids.items,
            Scope::HomeFeed,
        )
        .await?;
        Ok(Page {
            items: posts,
            next_cursor: ids.next_cursor,
        })
    }

    /// A page the timeline could not fill, because it holds only the newest
    /// `TIMELINE_CAP` posts, continues in SQL right after its last id.
    async fn beyond_timeline(
        &self,
        viewer: Uuid,
        after: Option<Uuid>,
        mut ids: Vec<Uuid>,
        total: usize,
        want: usize,
    ) -> Result<Vec<Uuid>> {
        if ids.len() < want && total >= TIMELINE_CAP {
            let from = ids.last().copied().or(after);
            let more = ids_sql(
                &self.db.primary,
                self.budget.as_ref(),
                viewer,
                from,
                None,
                want - ids.len(),
            )
            .await?;
            ids.extend(more);
        }
        Ok(ids)
    }

    /// The timeline from SQL, stored in Redis when its epoch still holds.
    async fn rebuild(&self, viewer: Uuid) -> Result<Vec<Uuid>> {
        let epoch = self.timelines.epoch(viewer).await;
        let mut ids = ids_sql(
            &self.db.primary,
            self.budget.as_ref(),
            viewer,
            None,
            None,
            TIMELINE_CAP,
        )
        .await?;
        let Some(epoch) = epoch else {
            return Ok(ids);
        };
        if self.timelines.store(viewer, &epoch, &ids).await {
            // A post committed while we read may have been fanned out while
            // the key did not exist yet: add what is newer than what we read.
            let newer = ids_sql(
                &self.db.primary,
                self.budget.as_ref(),
                viewer,
                None,
                ids.first().copied(),
                TIMELINE_CAP,
            )
            .await?;
            for post in newer.iter().rev() {
                self.timelines.push(*post, &[viewer]).await;
            }
            ids.splice(0..0, newer);
        }
        Ok(ids)
    }

    /// Puts a new post in its author's and followers' timelines. Large
    /// audiences are served in the background so the author's request
    /// returns at once. With a `reach`, only that many followers' timelines
    /// get it now, those the author follows back first, then the oldest
    /// followers (a new account's post does not land in thousands of
    /// timelines at once); the others read it once their timeline is
    /// rebuilt, and on the author's profile.
    pub async fn fan_out(&self, author: Uuid, post: Uuid, reach: Option<usize>) {
        let followers: std::result::Result<Vec<Uuid>, _> = match reach {
            None => {
                sqlx::query_scalar("SELECT follower_id FROM follows WHERE followee_id = $1")
                    .bind(author)
                    .fetch_all(&self.db.primary)
                    .await
            }
            Some(reach) => {
                sqlx::query_scalar(
                    "SELECT f.follower_id FROM follows f
                      WHERE f.followee_id = $1
                      ORDER BY EXISTS (SELECT 1 FROM follows back
                                        WHERE back.follower_id = $1
                                          AND back.followee_id = f.follower_id) DESC,
                               f.created_at
                      LIMIT $2",
                )
                .bind(author)
                .bind(i64::try_from(reach).unwrap_or(i64::MAX))
                .fetch_all(&self.db.primary)
                .await
            }
        };
        let tag_followers = self.tag_followers(author, post, reach).await;
        let mut audience = match (followers, tag_followers) {
            (Ok(followers), Ok(tag_followers)) => {
                let mut audience = followers;
                audience.extend(tag_followers);
                audience
            }
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(error = %e, %post, "no audience for the fan-out; timelines will be rebuilt");
                self.timelines.failed();
                return;
            }
        };
        audience.push(author);
        audience.sort_unstable();
        audience.dedup();
        if audience.len() <= INLINE_FANOUT_MAX {
            self.timelines.push(post, &audience).await;
        } else {
            let timelines = self.timelines.clone();
            tokio::spawn(async move { timelines.push(post, &audience).await });
        }
    }
}

impl Feed {
    /// The followers of the post's hashtags who may see it, at most
    /// [`TAG_FANOUT_MAX`] (or the author's `reach`): a post does not land in
    /// more strangers' timelines than a new account's in its followers'.
    async fn tag_followers(
        &self,
        author: Uuid,
        post: Uuid,
        reach: Option<usize>,
    ) -> std::result::Result<Vec<Uuid>, sqlx::Error> {
        let limit = reach.unwrap_or(TAG_FANOUT_MAX).min(TAG_FANOUT_MAX);
        sqlx::query_scalar(&format!(
            "SELECT DISTINCT hf.user_id FROM post_hashtags ph
             JOIN hashtag_follows hf ON hf.hashtag_id = ph.hashtag_id
             JOIN users u ON u.id = $2
             WHERE ph.post_id = $1 AND hf.user_id <> $2 AND {} AND {} AND {}
             LIMIT $3",
            content_visible("hf.user_id"),
            no_block("hf.user_id", "u.id"),
            not_muted("hf.user_id", "u.id", false)
        ))
        .bind(post)
        .bind(author)
        .bind(limit as i64)
        .fetch_all(&self.db.primary)
        .await
    }
}

/// Timelines of followers of a post's hashtags it is pushed to, at most.
const TAG_FANOUT_MAX: usize = 10_000;

/// The newest posts [`FEED_SQL`] reads in time order before the feed turns
/// to one scan per followed author: enough for a page whenever the people
/// followed wrote a few percent of the recent posts.
const RECENT_WINDOW_MIN: usize = 1000;
/// ... and for a long read (a timeline's rebuild), this many per id wanted.
const RECENT_WINDOW_PER_ID: usize = 4;

/// The per-user budget of [`FEED_OLDER_SQL`] reads: their cost grows with
/// the number of people followed.
#[derive(Clone)]
pub struct ScanBudget {
    pub limiter: Arc<RateLimiter>,
    pub policy: Policy,
}

/// The feed in SQL: ids strictly between `since` and `before`, newest first,
/// of the viewer's own posts and those of the visible authors they follow.
/// [`FEED_SQL`] answers from the newest posts; when they hold too few of the
/// viewer's, [`FEED_OLDER_SQL`] goes on past them, author by author, within
/// the viewer's `budget`.
pub async fn ids_sql(
    db: &sqlx::PgPool,
    budget: Option<&ScanBudget>,
    viewer: Uuid,
    before: Option<Uuid>,
    since: Option<Uuid>,
    limit: usize,
) -> Result<Vec<Uuid>> {
    let window = RECENT_WINDOW_MIN.max(limit * RECENT_WINDOW_PER_ID);
    let mut ids: Vec<Uuid> = sqlx::query_scalar(FEED_SQL)
        .bind(viewer)
        .bind(before.unwrap_or(NEWEST))
        .bind(since.unwrap_or(Uuid::nil()))
        .bind(limit as i64)
        .bind(window as i64)
        .fetch_all(db)
        .await?;
    if ids.len() < limit {
        // The window's last post: none when the window held every post.
        let window_end: Option<Uuid> = sqlx::query_scalar(WINDOW_END_SQL)
            .bind(before.unwrap_or(NEWEST))
            .bind(since.unwrap_or(Uuid::nil()))
            .bind(window as i64)
            .fetch_optional(db)
            .await?;
        if let Some(window_end) = window_end {
            if let Some(budget) = budget {
                budget
                    .limiter
                    .enforce(&budget.policy, &viewer.to_string())
                    .await?;
            }
            let older: Vec<Uuid> = sqlx::query_scalar(FEED_OLDER_SQL)
                .bind(viewer)
                .bind(window_end)
                .bind(since.unwrap_or(Uuid::nil()))
                .bind((limit - ids.len()) as i64)
                .fetch_all(db)
                .await?;
            ids.extend(older);
        }
    }
    // The followed hashtags' posts: the newest `limit` of them merged with
    // the newest `limit` of the above are the newest `limit` of both.
    let tagged: Vec<Uuid> = sqlx::query_scalar(&TAGS_SQL)
        .bind(viewer)
        .bind(before.unwrap_or(NEWEST))
        .bind(since.unwrap_or(Uuid::nil()))
        .bind(limit as i64)
        .fetch_all(db)
        .await?;
    if !tagged.is_empty() {
        ids.extend(tagged);
        ids.sort_unstable_by(|a, b| b.cmp(a));
        ids.dedup();
        ids.truncate(limit);
    }
    Ok(ids)
}

/// The feed's posts of followed hashtags: `$1` viewer, `$2` before
/// (exclusive), `$3` since (exclusive), `$4` limit. The newest `$4` posts
/// of each hashtag the viewer follows that the viewer may see (the rules
/// of every post list, and no one they muted), by one backward scan of
/// `post_hashtags`' primary key each, then the newest `$4` of those. A
/// query of its own, beside [`FEED_SQL`] and [`FEED_OLDER_SQL`] rather
/// than in them: their plans stay as they were for the viewers who follow
/// no hashtag (most), for whom this is one empty index probe; its cost
/// grows with the hashtags followed, which [`super::hashtags::FOLLOWS_MAX`] bounds.
static TAGS_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT DISTINCT t.id FROM hashtag_follows hf CROSS JOIN LATERAL (
             SELECT ph.post_id AS id FROM post_hashtags ph
             JOIN posts p ON p.id = ph.post_id
             JOIN users u ON u.id = p.author_id
             WHERE ph.hashtag_id = hf.hashtag_id AND ph.post_id < $2 AND ph.post_id > $3
               AND p.taken_down_at IS NULL AND {USER_VISIBLE} AND {} AND {} AND {}
             ORDER BY ph.post_id DESC LIMIT $4
         ) t
         WHERE hf.user_id = $1
         ORDER BY t.id DESC LIMIT $4",
        content_visible("$1"),
        no_block("$1", "u.id"),
        not_muted("$1", "u.id", false)
    )
});

/// The feed's newest ids: `$1` viewer, `$2` before (exclusive), `$3` since
/// (exclusive), `$4` limit, `$5` window.
///
/// The newest `$5` posts, in id (time) order through `posts_newest` (an
/// index-only scan), kept when the viewer wrote them or follows their author
/// (a hashed set of the viewer's follows) and that author is not hidden (a
/// probe of the small `users_hidden` index, which `OFFSET 0` keeps a probe
/// per kept post rather than a join over `users`). It stops at `$4` ids.
/// Fewer than `$4` means the window held no more: [`FEED_OLDER_SQL`] goes on.
///
/// Nothing reads `users` but by that index, so the cost follows the posts
/// read, never the number of users (the form before this one joined
/// `follows` to a sequential scan of `users`, and read `$4` posts of every
/// followed author).
pub const FEED_SQL: &str = "SELECT r.id FROM (
        SELECT p.id, p.author_id FROM posts p
        WHERE p.id < $2 AND p.id > $3 AND p.taken_down_at IS NULL
        ORDER BY p.id DESC LIMIT $5
    ) r
    WHERE r.author_id = $1
       OR (r.author_id IN (SELECT f.followee_id FROM follows f WHERE f.follower_id = $1)
           AND NOT EXISTS (SELECT FROM users u WHERE u.id = r.author_id
                           AND (u.suspended_at IS NOT NULL OR u.deleted_at IS NOT NULL) OFFSET 0))
    ORDER BY r.id DESC LIMIT $4";

/// The last post of [`FEED_SQL`]'s window (`$1` before, `$2` since, `$3`
/// window), if the window was full.
const WINDOW_END_SQL: &str = "SELECT p.id FROM posts p
    WHERE p.id < $1 AND p.id > $2 AND p.taken_down_at IS NULL
    ORDER BY p.id DESC OFFSET $3 - 1 LIMIT 1";

/// The feed past [`FEED_SQL`]'s window: `$1` viewer, `$2` the window's last
/// post (exclusive), `$3` since (exclusive), `$4` limit. The newest `$4`
/// posts of each followed author who is not hidden, and of the viewer, by
/// one index-only scan of `posts_by_author` each, then the newest `$4` of
/// those: its cost grows with the number of people followed, hence the
/// viewer's [`ScanBudget`].
pub const FEED_OLDER_SQL: &str = "SELECT p.id FROM (
        SELECT f.followee_id AS author_id FROM follows f
        WHERE f.follower_id = $1
          AND NOT EXISTS (SELECT FROM users u WHERE u.id = f.followee_id
                          AND (u.suspended_at IS NOT NULL OR u.deleted_at IS NOT NULL) OFFSET 0)
        UNION ALL SELECT $1::uuid
    ) a CROSS JOIN LATERAL (
        SELECT p.id FROM posts p
        WHERE p.author_id = a.author_id AND p.taken_down_at IS NULL
          AND p.id < $2 AND p.id > $3
        ORDER BY p.id DESC LIMIT $4
    ) p
    ORDER BY p.id DESC LIMIT $4";
