//! The background run: every `TRUST_EVERY_SECS` each API instance lifts
//! the suspensions that ran out and re-assesses the accounts looked at
//! least recently (`TRUST_BATCH` of them; rows another instance holds are
//! skipped, so instances share the work). And the admin's side: a user's
//! standing, and setting a level by hand.

use std::time::Duration;

use serde::Serialize;
use serde_json::json;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::audit::{self, Action, Actor, Entry, Reason, Recorded};
use super::rules::{self, Facts};
use super::strikes::Strike;
use super::{Level, Trust};
use crate::config::TrustConfig;
use crate::error::Result;
use crate::social::moderation;

/// Engagement counts over this much time: a level is kept by an audience
/// that is still there.
pub const ENGAGEMENT_WINDOW: Duration = Duration::from_secs(90 * 24 * 3600);
/// Suspensions lifted per run.
const LIFTS_PER_RUN: i64 = 200;

/// What the background run reads of each account. Engagers are distinct
/// people who liked or commented on the account's posts in the window, not
/// the account itself, not accounts it invited, not hidden accounts.
const FACTS_SQL: &str = "
    SELECT u.id, u.trust_level,
           EXTRACT(EPOCH FROM now() - u.created_at)::float8 AS age_secs,
           u.email_verified_at IS NOT NULL AS email_verified,
           (SELECT count(*) FROM posts p WHERE p.author_id = u.id AND p.taken_down_at IS NULL) AS posts,
           (SELECT count(DISTINCT e.who) FROM (
                SELECT l.user_id AS who FROM posts p JOIN likes l ON l.post_id = p.id
                 WHERE p.author_id = u.id AND l.created_at > now() - make_interval(secs => $2)
                UNION ALL
                SELECT c.author_id FROM posts p JOIN comments c ON c.post_id = p.id
                 WHERE p.author_id = u.id AND c.created_at > now() - make_interval(secs => $2)
            ) e JOIN users v ON v.id = e.who
             WHERE v.id <> u.id AND v.deleted_at IS NULL AND v.suspended_at IS NULL
               AND v.invited_by IS DISTINCT FROM u.id) AS engagers,
           EXISTS (SELECT 1 FROM trust_strikes s
                    WHERE s.user_id = u.id AND s.withdrawn_at IS NULL
                      AND s.created_at > now() - make_interval(secs => $3)) AS struck
      FROM users u WHERE u.id = ANY($1)";

type FactsRow = (Uuid, Level, f64, bool, i64, i64, bool);

/// The facts of `users`, with their level.
pub(super) async fn facts<'c, E>(
    conn: E,
    users: &[Uuid],
    config: &TrustConfig,
) -> Result<Vec<(Uuid, Level, Facts)>>
where
    E: sqlx::PgExecutor<'c>,
{
    let rows: Vec<FactsRow> = sqlx::query_as(FACTS_SQL)
        .bind(users)
        .bind(ENGAGEMENT_WINDOW.as_secs_f64())
        .bind(config.strikes.memory.as_secs_f64())
        .fetch_all(conn)
        .await?;
    let count = |n: i64| u32::try_from(n).unwrap_or(u32::MAX);
    Ok(rows
        .into_iter()
        .map(
            |(id, level, age, email_verified, posts, engagers, struck)| {
                let facts = Facts {
                    age: Duration::from_secs_f64(age.max(0.0)),
                    email_verified,
                    posts: count(posts),
                    engagers: count(engagers),
                    struck,
                };
                (id, level, facts)
            },
        )
        .collect())
}

/// What one run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Ran {
    pub assessed: usize,
    pub promoted: usize,
    pub demoted: usize,
    pub lifted: usize,
}

impl Trust {
    /// One run: suspensions that ran out are lifted, then a batch of
    /// accounts is re-assessed.
    pub async fn run_once(&self) -> Result<Ran> {
        let lifted = self.lift_ended().await?;
        let mut ran = self.reassess().await?;
        ran.lifted = lifted;
        Ok(ran)
    }

    /// Claims a batch (marked checked at once, so that other instances
    /// take the next accounts), reads its facts without holding any lock
    /// (follows and profile edits write those rows meanwhile), then moves
    /// only the levels nobody changed in between (a strike, an admin).
    async fn reassess(&self) -> Result<Ran> {
        let due: Vec<Uuid> = sqlx::query_scalar(
            "UPDATE users SET trust_checked_at = now()
              WHERE id IN (SELECT id FROM users
                            WHERE deleted_at IS NULL AND suspended_at IS NULL AND NOT trust_pinned
                            ORDER BY trust_checked_at NULLS FIRST LIMIT $1
                            FOR UPDATE SKIP LOCKED)
             RETURNING id",
        )
        .bind(i64::from(self.config.batch))
        .fetch_all(self.pool())
        .await?;
        let mut ran = Ran {
            assessed: due.len(),
            ..Ran::default()
        };
        if due.is_empty() {
            return Ok(ran);
        }
        let (mut ids, mut from, mut to) = (Vec::new(), Vec::new(), Vec::new());
        for (id, level, facts) in facts(self.pool(), &due, &self.config).await? {
            let assessed = rules::assess(&self.config, level, &facts);
            if assessed != level {
                ids.push(id);
                from.push(level.as_str());
                to.push(assessed.as_str());
            }
        }
        let moved: Vec<(Level, Level)> = sqlx::query_as(
            "UPDATE users u SET trust_level = c.to_level::trust_level
               FROM unnest($1::uuid[], $2::text[], $3::text[]) AS c (id, from_level, to_level)
              WHERE u.id = c.id AND u.trust_level = c.from_level::trust_level
                AND NOT u.trust_pinned AND u.suspended_at IS NULL
             RETURNING c.from_level::trust_level, u.trust_level",
        )
        .bind(&ids)
        .bind(&from)
        .bind(&to)
        .fetch_all(self.pool())
        .await?;
        ran.promoted = moved.iter().filter(|(from, to)| to > from).count();
        ran.demoted = moved.len() - ran.promoted;
        metrics::counter!("trust_level_changes_total", "direction" => "up")
            .increment(ran.promoted as u64);
        metrics::counter!("trust_level_changes_total", "direction" => "down")
            .increment(ran.demoted as u64);
        Ok(ran)
    }

    /// Lifts the suspensions strikes brought once they end, and brings the
    /// accounts' photos back.
    async fn lift_ended(&self) -> Result<usize> {
        let mut tx = self.pool().begin().await?;
        let lifted: Vec<Uuid> = sqlx::query_scalar(
            "UPDATE users SET suspended_at = NULL, suspended_until = NULL
              WHERE id IN (SELECT id FROM users
                            WHERE suspended_until <= now() AND deleted_at IS NULL
                            ORDER BY suspended_until LIMIT $1 FOR UPDATE SKIP LOCKED)
             RETURNING id",
        )
        .bind(LIFTS_PER_RUN)
        .fetch_all(&mut *tx)
        .await?;
        let system = Actor::system();
        let reason = Reason::system("the suspension ran its time");
        for user in &lifted {
            audit::record(
                &mut tx,
                Entry {
                    actor: &system,
                    action: Action::AutoLift,
                    user: Some(*user),
                    subject: None,
                    reason: &reason,
                    details: json!({}),
                },
            )
            .await?;
        }
        tx.commit().await?;
        for user in &lifted {
            moderation::settle_photos_of_user(&self.db, &self.storage, *user).await?;
        }
        Ok(lifted.len())
    }

    /// Sets `handle`'s level by hand. Pinned (always for `verified`), the
    /// background run leaves it alone; unpinned, it starts from there.
    pub async fn set_level(
        &self,
        actor: &Actor,
        handle: &str,
        level: Level,
        pinned: bool,
        reason: &Reason,
    ) -> Result<AdminView> {
        let user = moderation::user_id(&self.db, handle).await?;
        let pinned = pinned || level == Level::Verified;
        let mut tx = self.pool().begin().await?;
        let (before, was_pinned): (Level, bool) =
            sqlx::query_as("SELECT trust_level, trust_pinned FROM users WHERE id = $1 FOR UPDATE")
                .bind(user)
                .fetch_one(&mut *tx)
                .await?;
        sqlx::query(
            "UPDATE users SET trust_level = $2, trust_pinned = $3, trust_checked_at = now()
              WHERE id = $1",
        )
        .bind(user)
        .bind(level)
        .bind(pinned)
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            Entry {
                actor,
                action: Action::SetTrustLevel,
                user: Some(user),
                subject: None,
                reason,
                details: json!({
                    "from": before, "to": level, "was_pinned": was_pinned, "pinned": pinned,
                }),
            },
        )
        .await?;
        tx.commit().await?;
        self.admin_view_of(user).await
    }

    /// A user's standing as an admin sees it.
    pub async fn admin_view(&self, handle: &str) -> Result<AdminView> {
        let user = moderation::user_id(&self.db, handle).await?;
        self.admin_view_of(user).await
    }

    async fn admin_view_of(&self, user: Uuid) -> Result<AdminView> {
        type Row = (
            String,
            Level,
            bool,
            Option<OffsetDateTime>,
            Option<OffsetDateTime>,
        );
        let (handle, level, pinned, suspended_at, suspended_until): Row = sqlx::query_as(
            "SELECT handle, trust_level, trust_pinned, suspended_at, suspended_until
               FROM users WHERE id = $1",
        )
        .bind(user)
        .fetch_one(self.pool())
        .await?;
        Ok(AdminView {
            user_id: user,
            handle,
            level,
            pinned,
            suspended_at,
            suspended_until,
            strikes: self.strikes_of(user).await?,
            actions: audit::of_user(self.pool(), user, ADMIN_VIEW_ACTIONS).await?,
        })
    }
}

const ADMIN_VIEW_ACTIONS: i64 = 50;

/// A user's trust standing, for moderators.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminView {
    pub user_id: Uuid,
    pub handle: String,
    pub level: Level,
    /// Set by hand: the background run leaves it alone.
    pub pinned: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    pub suspended_at: Option<OffsetDateTime>,
    /// When a strike's suspension ends by itself; null with `suspended_at`
    /// set: an admin's, until lifted.
    #[serde(with = "time::serde::rfc3339::option")]
    pub suspended_until: Option<OffsetDateTime>,
    /// Newest first, withdrawn ones included, at most 100.
    pub strikes: Vec<Strike>,
    /// The newest 50 recorded decisions about this user.
    pub actions: Vec<Recorded>,
}

/// Runs [`Trust::run_once`] every `TRUST_EVERY_SECS` while `alive` holds.
pub async fn run(trust: std::sync::Arc<Trust>, alive: impl Fn() -> bool) {
    let mut every = tokio::time::interval(trust.config.every);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if !alive() {
            break;
        }
        match trust.run_once().await {
            Ok(ran) if ran != Ran::default() => tracing::debug!(?ran, "trust run"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not run the trust levels' run"),
        }
    }
}
