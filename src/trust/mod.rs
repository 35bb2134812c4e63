//! Trust levels (issue 26): what an account may do follows from what it has
//! shown. Four levels, `new`, `basic`, `trusted` and `verified` (an admin's
//! call only); the background run ([`Trust::run_once`]) promotes and
//! demotes the others with hysteresis ([`rules`]); strikes demote at once
//! and, past a threshold, suspend for a time that grows with each, lifted
//! by the background run when it ends ([`strikes`]). Every admin decision
//! is on record ([`audit`]).
//!
//! Each level's limits are windows counted by the shared limiter, on top of
//! the per-route limits (which stay the ceiling); invites are counted in
//! the database, over 7 days. [`Trust::check`] is the one gate the write
//! routes call.

pub mod appeals;
pub mod audit;
pub mod directory;
pub mod rules;
pub mod run;
pub mod strikes;
pub mod terms;

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Auth;
use crate::auth::invites;
use crate::config::{LevelLimits, TrustConfig};
use crate::error::Result;
use crate::infra::s3::Storage;
use crate::ratelimit::{Policy, RateLimiter};
use crate::social::Db;
use crate::social::user_not_found;
use rules::Requirement;

/// The period an invite quota counts over.
pub const INVITE_PERIOD: Duration = Duration::from_secs(7 * 24 * 3600);

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    sqlx::Type,
    Serialize,
    Deserialize,
    ToSchema,
)]
#[sqlx(type_name = "trust_level", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Level {
    New,
    Basic,
    Trusted,
    /// Given by an admin only.
    Verified,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::New => "new",
            Level::Basic => "basic",
            Level::Trusted => "trusted",
            Level::Verified => "verified",
        }
    }

    /// One level down (`new` stays).
    pub fn below(self) -> Level {
        match self {
            Level::New | Level::Basic => Level::New,
            Level::Trusted => Level::Basic,
            Level::Verified => Level::Trusted,
        }
    }

    /// The level an account works towards.
    pub fn next(self) -> Option<Level> {
        match self {
            Level::New => Some(Level::Basic),
            Level::Basic => Some(Level::Trusted),
            Level::Trusted => Some(Level::Verified),
            Level::Verified => None,
        }
    }
}

/// What a level's limits count, in windows of the limiter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustAction {
    Post,
    Story,
    Comment,
    Follow,
    Like,
}

impl TrustAction {
    pub const ALL: [TrustAction; 5] = [
        TrustAction::Post,
        TrustAction::Story,
        TrustAction::Comment,
        TrustAction::Follow,
        TrustAction::Like,
    ];

    /// The limiter's policy name (also in the 429's `details.policy`).
    fn policy_name(self) -> &'static str {
        match self {
            TrustAction::Post => "trust_posts",
            TrustAction::Story => "trust_stories",
            TrustAction::Comment => "trust_comments",
            TrustAction::Follow => "trust_follows",
            TrustAction::Like => "trust_likes",
        }
    }

    pub fn window(self) -> Duration {
        match self {
            TrustAction::Follow => Duration::from_secs(24 * 3600),
            _ => Duration::from_secs(3600),
        }
    }

    fn quota(self, limits: &LevelLimits) -> u32 {
        match self {
            TrustAction::Post => limits.posts,
            TrustAction::Story => limits.stories,
            TrustAction::Comment => limits.comments,
            TrustAction::Follow => limits.follows,
            TrustAction::Like => limits.likes,
        }
    }

    fn limited(self) -> Limited {
        match self {
            TrustAction::Post => Limited::Posts,
            TrustAction::Story => Limited::Stories,
            TrustAction::Comment => Limited::Comments,
            TrustAction::Follow => Limited::Follows,
            TrustAction::Like => Limited::Likes,
        }
    }
}

/// Trust levels: the gate of the write routes, the background run, strikes
/// and the admin's decisions.
pub struct Trust {
    db: Db,
    auth: Arc<Auth>,
    storage: Storage,
    limiter: Arc<RateLimiter>,
    config: TrustConfig,
}

impl Trust {
    pub fn new(
        db: Db,
        auth: Arc<Auth>,
        storage: Storage,
        limiter: Arc<RateLimiter>,
        config: TrustConfig,
    ) -> Self {
        Self {
            db,
            auth,
            storage,
            limiter,
            config,
        }
    }

    pub fn config(&self) -> &TrustConfig {
        &self.config
    }

    fn pool(&self) -> &PgPool {
        &self.db.primary
    }

    /// A live account's level.
    pub async fn level(&self, user: Uuid) -> Result<Level> {
        sqlx::query_scalar("SELECT trust_level FROM users WHERE id = $1 AND deleted_at IS NULL")
            .bind(user)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(user_not_found)
    }

    pub fn limits(&self, level: Level) -> &LevelLimits {
        match level {
            Level::New => &self.config.new,
            Level::Basic => &self.config.basic,
            Level::Trusted => &self.config.trusted,
            Level::Verified => &self.config.verified,
        }
    }

    fn policy(&self, level: Level, action: TrustAction) -> Policy {
        Policy {
            name: action.policy_name(),
            quota: action.quota(self.limits(level)).into(),
            window: action.window(),
        }
    }

    /// Counts one `action` of `user` against their level's window: the
    /// `rate_limited` answer (429, `details.policy` = `trust_posts`, ...)
    /// past it. Returns the level, for what else it decides (a post's
    /// reach).
    pub async fn check(&self, user: Uuid, action: TrustAction) -> Result<Level> {
        let level = self.level(user).await?;
        let policy = self.policy(level, action);
        self.limiter.enforce(&policy, &user.to_string()).await?;
        Ok(level)
    }

    /// Followers' timelines a post of an account at `level` reaches when
    /// published; `None`: all of them.
    pub fn reach(&self, level: Level) -> Option<usize> {
        let fanout = self.limits(level).fanout;
        (fanout != u32::MAX).then_some(fanout as usize)
    }

    /// Invites `user` may mint per [`INVITE_PERIOD`].
    pub async fn invite_quota(&self, user: Uuid) -> Result<(Level, u32)> {
        let level = self.level(user).await?;
        Ok((level, self.limits(level).invites))
    }

    /// What `user` sees of their own standing.
    pub async fn mine(&self, user: Uuid) -> Result<MyTrust> {
        let (level, pinned): (Level, bool) = sqlx::query_as(
            "SELECT trust_level, trust_pinned FROM users WHERE id = $1 AND deleted_at IS NULL",
        )
        .bind(user)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(user_not_found)?;
        let facts = run::facts(self.pool(), &[user], &self.config)
            .await?
            .pop()
            .map(|(_, _, facts)| facts)
            .unwrap_or_default();
        let active_strikes = strikes::active_count(
            &mut *self.pool().acquire().await?,
            user,
            &self.config.strikes,
        )
        .await?;
        // A level set by hand moves only by hand (or by a strike).
        let next = level.next().map(|next| {
            let admin_only = pinned || next == Level::Verified;
            NextLevel {
                level: next,
                admin_only,
                requirements: rules::requirements(&self.config, next)
                    .filter(|_| !admin_only)
                    .map(|needs| rules::checklist(needs, &facts))
                    .unwrap_or_default(),
            }
        });
        let mut limits = Vec::new();
        for action in TrustAction::ALL {
            let policy = self.policy(level, action);
            let left = self.limiter.peek(&policy, &user.to_string()).await;
            limits.push(LimitState {
                action: action.limited(),
                quota: policy.quota,
                window_secs: policy.window.as_secs(),
                remaining: left.remaining,
                resets_in_secs: (left.remaining < policy.quota)
                    .then(|| left.reset_after.as_secs_f64().ceil() as u64),
            });
        }
        let quota = self.limits(level).invites;
        let (left, next_free) = invites::quota_left(
            &mut *self.pool().acquire().await?,
            user,
            quota,
            INVITE_PERIOD,
        )
        .await?;
        limits.push(LimitState {
            action: Limited::Invites,
            quota: quota.into(),
            window_secs: INVITE_PERIOD.as_secs(),
            remaining: left.into(),
            resets_in_secs: next_free.map(|at| {
                (at - time::OffsetDateTime::now_utc())
                    .whole_seconds()
                    .max(0) as u64
            }),
        });
        Ok(MyTrust {
            level,
            pinned,
            active_strikes,
            next,
            limits,
            post_reach: self.reach(level).map(|r| r as u64),
        })
    }
}

/// What a level limits.
#[derive(Debug, Clone, Copy, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Limited {
    Posts,
    Stories,
    Comments,
    Follows,
    Likes,
    Invites,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LimitState {
    pub action: Limited,
    /// What the level allows per window.
    pub quota: u64,
    pub window_secs: u64,
    /// Left in the current window.
    pub remaining: u64,
    /// When the window's count starts over; null when nothing is used.
    pub resets_in_secs: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NextLevel {
    pub level: Level,
    /// Only an admin moves you there (to `verified`, or from a level set
    /// by hand); `requirements` is then empty.
    pub admin_only: bool,
    pub requirements: Vec<Requirement>,
}

/// Your trust level and what it lets you do. The figures behind it stay
/// private: the requirements say only whether each is met.
#[derive(Debug, Serialize, ToSchema)]
pub struct MyTrust {
    pub level: Level,
    /// Set by a moderator: the background run leaves it as it is.
    pub pinned: bool,
    /// Strikes that still count (upheld reports and takedowns).
    pub active_strikes: u32,
    /// Null at `verified`.
    pub next: Option<NextLevel>,
    pub limits: Vec<LimitState>,
    /// Followers' home timelines a new post of yours reaches when it is
    /// published; null: all. The others see it on your profile, and in
    /// their feed once their timeline is next rebuilt.
    pub post_reach: Option<u64>,
}
