//! Which sessions have ended, answered without a database query on every
//! request: revoked session ids live in Redis for as long as an access
//! token of theirs could still be alive. While Redis is unreachable the
//! database answers instead, and this process remembers what it revoked.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::AsyncCommands as _;
use sqlx::PgPool;
use uuid::Uuid;

use crate::auth::sessions;
use crate::error::Result;
use crate::infra::redis::RedisHandle;

pub struct Revocations {
    redis: RedisHandle,
    db: PgPool,
    key_prefix: String,
    /// How long a revocation must be remembered: the access token lifetime.
    remember_for: Duration,
    local: Mutex<HashMap<Uuid, Instant>>,
}

impl Revocations {
    pub fn new(redis: RedisHandle, db: PgPool, key_prefix: &str, access_ttl: Duration) -> Self {
        Self {
            redis,
            db,
            key_prefix: key_prefix.to_string(),
            // A minute more, for clocks that disagree.
            remember_for: access_ttl + Duration::from_secs(60),
            local: Mutex::new(HashMap::new()),
        }
    }

    fn key(&self, session_id: Uuid) -> String {
        format!("{}:revoked-session:{session_id}", self.key_prefix)
    }

    /// Publishes a revocation that the database already holds.
    pub async fn publish(&self, session_id: Uuid) {
        let now = Instant::now();
        {
            let mut local = self.local.lock().unwrap_or_else(|p| p.into_inner());
            local.retain(|_, until| *until > now);
            local.insert(session_id, now + self.remember_for);
        }
        let key = self.key(session_id);
        let ttl = self.remember_for.as_secs();
        let stored = self
            .redis
            .run(|mut conn| async move { conn.set_ex::<_, _, ()>(key, 1, ttl).await })
            .await;
        if stored.is_none() {
            tracing::warn!(%session_id, "could not publish a session revocation to redis; other instances check the database while redis is down");
        }
    }

    pub async fn is_revoked(&self, session_id: Uuid) -> Result<bool> {
        let known_locally = {
            let local = self.local.lock().unwrap_or_else(|p| p.into_inner());
            local
                .get(&session_id)
                .is_some_and(|until| *until > Instant::now())
        };
        if known_locally {
            return Ok(true);
        }
        let key = self.key(session_id);
        match self
            .redis
            .run(|mut conn| async move { conn.exists::<_, bool>(key).await })
            .await
        {
            Some(revoked) => Ok(revoked),
            None => sessions::is_revoked(&self.db, session_id).await,
        }
    }
}
