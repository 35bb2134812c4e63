//! Which sessions have ended, answered without a database query on every
//! request: revoked session ids live in Redis for as long as an access
//! token of theirs could still be alive. While Redis is unreachable the
//! database answers instead, and this process remembers what it revoked.
//!
//! Redis keeps nothing on disk and may lose keys (a restart, a flush, a
//! revocation published while it was out of reach), so Redis is trusted
//! only while it holds the marker that a full copy from the database
//! leaves behind. Without the marker, the process answers from the
//! database and copies the recent revocations back.
//!
//! Eviction must never take a revocation and leave the marker: Redis runs
//! with `maxmemory-policy volatile-lru`, which evicts only keys with a TTL.
//! So the revocations live in one sorted set with no TTL, scored by the
//! time until which they count (the app prunes the expired members itself),
//! while every other key the app writes, the marker included, has a TTL:
//! under memory pressure only disposable keys go, and losing the marker
//! only costs a copy.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use redis::AsyncCommands as _;
use sqlx::PgPool;
use uuid::Uuid;

use crate::auth::sessions;
use crate::error::Result;
use crate::infra::redis::RedisHandle;

/// Revocations written to Redis per round trip while copying.
const COPY_BATCH: usize = 500;
/// How often a process retries a copy that Redis refused.
const COPY_RETRY_INTERVAL: Duration = Duration::from_secs(1);
/// Lifetime of the copy marker: when it lapses (or is evicted), the next
/// request copies the recent revocations again, which is only a read.
const MARKER_TTL: Duration = Duration::from_secs(24 * 3600);

/// Milliseconds since the Unix epoch: the scores of the revocation set.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[derive(Clone)]
pub struct Revocations {
    inner: Arc<Inner>,
}

struct Inner {
    redis: RedisHandle,
    db: PgPool,
    key_prefix: String,
    /// How long a revocation must be remembered: the access token lifetime.
    remember_for: Duration,
    local: Mutex<HashMap<Uuid, Instant>>,
    /// Set at start and after a publish that did not reach Redis.
    needs_copy: AtomicBool,
    copying: tokio::sync::Mutex<()>,
    retrying: AtomicBool,
}

/// What Redis said about a session.
enum Answer {
    Revoked,
    NotRevoked,
    /// Redis lacks the marker: its answer cannot be trusted.
    Unsynced,
}

impl Revocations {
    pub fn new(redis: RedisHandle, db: PgPool, key_prefix: &str, access_ttl: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                redis,
                db,
                key_prefix: key_prefix.to_string(),
                // A minute more, for clocks that disagree.
                remember_for: access_ttl + Duration::from_secs(60),
                local: Mutex::new(HashMap::new()),
                // This process may replace one that died before it could
                // publish a revocation.
                needs_copy: AtomicBool::new(true),
                copying: tokio::sync::Mutex::new(()),
                retrying: AtomicBool::new(false),
            }),
        }
    }

    /// Publishes a revocation that the database already holds.
    pub async fn publish(&self, session_id: Uuid) {
        self.remember_locally(session_id);
        let inner = &self.inner;
        let key = inner.revoked_key();
        let now = now_ms();
        let until = now + inner.remember_for.as_millis() as i64;
        let stored = inner
            .redis
            .run(|mut conn| async move {
                redis::pipe()
                    .zadd(&key, session_id.to_string(), until)
                    .ignore()
                    .zrembyscore(&key, "-inf", now)
                    .ignore()
                    .query_async::<()>(&mut conn)
                    .await
            })
            .await;
        if stored.is_none() {
            tracing::warn!(%session_id, "could not publish a session revocation to redis; copying it once redis is back");
            inner.needs_copy.store(true, Ordering::SeqCst);
            self.retry_copy_in_background();
        }
    }

    pub async fn is_revoked(&self, session_id: Uuid) -> Result<bool> {
        if self.known_locally(session_id) {
            return Ok(true);
        }
        let inner = &self.inner;
        let answer = if inner.needs_copy.load(Ordering::SeqCst) {
            None
        } else {
            inner.ask_redis(session_id).await
        };
        match answer {
            Some(Answer::Revoked) => return Ok(true),
            Some(Answer::NotRevoked) => return Ok(false),
            Some(Answer::Unsynced) => {
                tracing::info!("redis has lost the revocations; copying them from the database");
                inner.needs_copy.store(true, Ordering::SeqCst);
            }
            None => {}
        }
        // Best effort: the database answers this request either way. While
        // Redis is down, the copy waits for it in the background rather
        // than on a request.
        if inner.needs_copy.load(Ordering::SeqCst) {
            if inner.redis.is_up() {
                inner.copy_from_database().await;
            } else {
                self.retry_copy_in_background();
            }
        }
        sessions::is_revoked(&inner.db, session_id).await
    }

    fn remember_locally(&self, session_id: Uuid) {
        let now = Instant::now();
        let mut local = self.inner.local.lock().unwrap_or_else(|p| p.into_inner());
        local.retain(|_, until| *until > now);
        local.insert(session_id, now + self.inner.remember_for);
    }

    fn known_locally(&self, session_id: Uuid) -> bool {
        let local = self.inner.local.lock().unwrap_or_else(|p| p.into_inner());
        local
            .get(&session_id)
            .is_some_and(|until| *until > Instant::now())
    }

    /// Keeps copying until Redis takes it, so that a revocation made while
    /// Redis was out of reach reaches the other processes without waiting
    /// for this one's next request, and this process trusts Redis again
    /// even if nothing else it does touches Redis.
    fn retry_copy_in_background(&self) {
        if self.inner.retrying.swap(true, Ordering::SeqCst) {
            return;
        }
        let inner = self.inner.clone();
        tokio::spawn(async move {
            loop {
                while inner.needs_copy.load(Ordering::SeqCst) {
                    tokio::time::sleep(COPY_RETRY_INTERVAL).await;
                    if inner.redis.ping().await {
                        inner.copy_from_database().await;
                    }
                }
                inner.retrying.store(false, Ordering::SeqCst);
                // A publish may have failed between the check and the store.
                if !inner.needs_copy.load(Ordering::SeqCst)
                    || inner.retrying.swap(true, Ordering::SeqCst)
                {
                    break;
                }
            }
        });
    }
}

impl Inner {
    /// The sorted set of revoked sessions, scored by when they stop
    /// counting (ms since the epoch). It has no TTL, so it is never evicted.
    fn revoked_key(&self) -> String {
        format!("{}:revoked-sessions", self.key_prefix)
    }

    fn marker_key(&self) -> String {
        format!("{}:revocations-copied", self.key_prefix)
    }

    /// `None` when Redis is unavailable.
    async fn ask_redis(&self, session_id: Uuid) -> Option<Answer> {
        let (key, marker) = (self.revoked_key(), self.marker_key());
        let (until, copied): (Option<i64>, bool) = self
            .redis
            .run(|mut conn| async move {
                redis::pipe()
                    .zscore(key, session_id.to_string())
                    .exists(marker)
                    .query_async(&mut conn)
                    .await
            })
            .await?;
        let revoked = until.is_some_and(|until| until > now_ms());
        Some(match (revoked, copied) {
            (true, _) => Answer::Revoked,
            (false, true) => Answer::NotRevoked,
            (false, false) => Answer::Unsynced,
        })
    }

    /// Writes every revocation still within its window to Redis, then the
    /// marker. One copy at a time per process; a caller that finds one
    /// running returns at once. A copy that fails is wanted again.
    async fn copy_from_database(&self) {
        let Ok(_copying) = self.copying.try_lock() else {
            return;
        };
        if self.needs_copy.swap(false, Ordering::SeqCst) && !self.copy().await {
            self.needs_copy.store(true, Ordering::SeqCst);
        }
    }

    async fn copy(&self) -> bool {
        let revoked = match sessions::revoked_within(&self.db, self.remember_for).await {
            Ok(revoked) => revoked,
            Err(e) => {
                tracing::warn!(error = %e, "could not read revocations to copy to redis");
                return false;
            }
        };
        let (key, now) = (self.revoked_key(), now_ms());
        for batch in revoked.chunks(COPY_BATCH) {
            let mut pipe = redis::pipe();
            for (session_id, left) in batch {
                let until = now + left.as_millis() as i64;
                pipe.zadd(&key, session_id.to_string(), until).ignore();
            }
            pipe.zrembyscore(&key, "-inf", now).ignore();
            let written = self
                .redis
                .run(|mut conn| async move { pipe.query_async::<()>(&mut conn).await })
                .await;
            if written.is_none() {
                return false;
            }
        }
        let marker = self.marker_key();
        let marked = self
            .redis
            .run(|mut conn| async move {
                conn.set_ex::<_, _, ()>(marker, 1, MARKER_TTL.as_secs())
                    .await
            })
            .await;
        if marked.is_some() {
            tracing::info!(
                revocations = revoked.len(),
                "copied recent revocations to redis"
            );
        }
        marked.is_some()
    }
}
