//! Strikes: an upheld report or a takedown counts against the account
//! behind it. One strike per offence (the post, the comment, or the report
//! about the user), however many reports and takedowns it drew. A strike
//! demotes one level at once (and unpins an admin's level); the
//! `suspend_at`-th strike still in memory suspends for a while, each
//! further one twice as long, and the background run lifts it when it ends.

use serde::Serialize;
use serde_json::json;
use sqlx::PgConnection;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::audit::{self, Action, Actor, Entry, Reason};
use super::{Level, Trust, rules};
use crate::config::StrikePolicy;
use crate::error::{Code, Error, Result};
use crate::social::moderation::{self, Resolution, TargetType, suspend_in};

#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type, Serialize, ToSchema)]
#[sqlx(type_name = "strike_kind", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum StrikeKind {
    ReportUpheld,
    Takedown,
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct Strike {
    pub id: Uuid,
    pub kind: StrikeKind,
    /// The post or comment, or the report about the user.
    pub subject_id: Uuid,
    pub report_id: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Withdrawn strikes no longer count.
    #[serde(with = "time::serde::rfc3339::option")]
    pub withdrawn_at: Option<OffsetDateTime>,
    /// The end of the suspension this strike brought, if it brought one.
    #[serde(with = "time::serde::rfc3339::option")]
    pub suspended_until: Option<OffsetDateTime>,
}

/// What one strike did.
#[derive(Debug, Serialize, ToSchema)]
pub struct Struck {
    pub strike_id: Uuid,
    pub user_id: Uuid,
    /// The level after the strike.
    pub level: Level,
    /// Strikes that count now, this one included.
    pub active_strikes: u32,
    /// Set when the strike suspended the account (or lengthened its suspension).
    #[serde(with = "time::serde::rfc3339::option")]
    pub suspended_until: Option<OffsetDateTime>,
}

/// A strike written in a transaction, and what to do once it commits.
struct Pending {
    pub struck: Struck,
    ended_sessions: Vec<Uuid>,
    suspended_now: bool,
}

pub(super) async fn active_count(
    conn: &mut PgConnection,
    user: Uuid,
    policy: &StrikePolicy,
) -> Result<u32> {
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM trust_strikes
         WHERE user_id = $1 AND withdrawn_at IS NULL
           AND created_at > now() - make_interval(secs => $2)",
    )
    .bind(user)
    .bind(policy.memory.as_secs_f64())
    .fetch_one(conn)
    .await?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

/// Takes the account's row lock before anything in the transaction refers
/// to the account: a row that references it (the audit entry) takes a key
/// share lock, and two verdicts holding that while each waits to lock the
/// row for the strike deadlock.
async fn lock_account(tx: &mut PgConnection, user: Uuid) -> Result<()> {
    sqlx::query("SELECT 1 FROM users WHERE id = $1 FOR UPDATE")
        .bind(user)
        .execute(tx)
        .await?;
    Ok(())
}

pub struct Offence<'a> {
    pub user: Uuid,
    pub kind: StrikeKind,
    pub subject: Uuid,
    pub report: Option<Uuid>,
    pub actor: &'a Actor,
    pub reason: &'a Reason,
}

impl Trust {
    /// Writes a strike and its consequences in `tx`. `None` when the
    /// offence was struck already (or the account is gone).
    async fn strike_in(
        &self,
        tx: &mut PgConnection,
        offence: Offence<'_>,
    ) -> Result<Option<Pending>> {
        let row: Option<(Level, bool, Option<OffsetDateTime>)> = sqlx::query_as(
            "SELECT trust_level, suspended_at IS NOT NULL, suspended_until FROM users
             WHERE id = $1 AND deleted_at IS NULL FOR UPDATE",
        )
        .bind(offence.user)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((level, suspended, until)) = row else {
            return Ok(None);
        };
        // A withdrawn strike for the same offence counts again.
        let strike_id: Option<Uuid> = sqlx::query_scalar(
            "INSERT INTO trust_strikes (id, user_id, kind, subject_id, report_id)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (user_id, subject_id) DO UPDATE
                SET withdrawn_at = NULL, created_at = now(), kind = EXCLUDED.kind,
                    report_id = COALESCE(EXCLUDED.report_id, trust_strikes.report_id),
                    suspended_until = NULL
              WHERE trust_strikes.withdrawn_at IS NOT NULL
             RETURNING id",
        )
        .bind(Uuid::now_v7())
        .bind(offence.user)
        .bind(offence.kind)
        .bind(offence.subject)
        .bind(offence.report)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(strike_id) = strike_id else {
            return Ok(None);
        };
        let policy = &self.config.strikes;
        let active = active_count(tx, offence.user, policy).await?;
        let demoted = level.below();
        sqlx::query("UPDATE users SET trust_level = $2, trust_pinned = false WHERE id = $1")
            .bind(offence.user)
            .bind(demoted)
            .execute(&mut *tx)
            .await?;
        audit::record(
            tx,
            Entry {
                actor: offence.actor,
                action: Action::Strike,
                user: Some(offence.user),
                subject: Some(strike_id),
                reason: offence.reason,
                details: json!({
                    "kind": offence.kind,
                    "offence": offence.subject,
                    "from": level,
                    "to": demoted,
                    "active_strikes": active,
                }),
            },
        )
        .await?;
        let mut pending = Pending {
            struck: Struck {
                strike_id,
                user_id: offence.user,
                level: demoted,
                active_strikes: active,
                suspended_until: None,
            },
            ended_sessions: Vec::new(),
            suspended_now: false,
        };
        let Some(length) = rules::suspension(policy, active) else {
            return Ok(Some(pending));
        };
        // An admin's open-ended suspension stays as it is.
        if suspended && until.is_none() {
            return Ok(Some(pending));
        }
        if !suspended {
            let (_, ended) = suspend_in(tx, &self.auth, &[offence.user]).await?;
            pending.ended_sessions = ended;
            pending.suspended_now = true;
        }
        let until: OffsetDateTime = sqlx::query_scalar(
            "UPDATE users SET suspended_until =
                    GREATEST(COALESCE(suspended_until, now()), now() + make_interval(secs => $2))
              WHERE id = $1 RETURNING suspended_until",
        )
        .bind(offence.user)
        .bind(length.as_secs_f64())
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("UPDATE trust_strikes SET suspended_until = $2 WHERE id = $1")
            .bind(strike_id)
            .bind(until)
            .execute(&mut *tx)
            .await?;
        audit::record(
            tx,
            Entry {
                actor: &Actor::system(),
                action: Action::AutoSuspend,
                user: Some(offence.user),
                subject: Some(strike_id),
                reason: &Reason::system("strikes past the threshold"),
                details: json!({ "active_strikes": active, "seconds": length.as_secs() }),
            },
        )
        .await?;
        pending.struck.suspended_until = Some(until);
        Ok(Some(pending))
    }

    /// Commits the strike's transaction, then ends the sessions it ended
    /// and withholds the photos of an account it suspended.
    async fn commit_strike(
        &self,
        tx: sqlx::Transaction<'_, sqlx::Postgres>,
        pending: Option<Pending>,
    ) -> Result<Option<Struck>> {
        tx.commit().await?;
        let Some(pending) = pending else {
            return Ok(None);
        };
        self.auth.publish_ended(&pending.ended_sessions).await;
        if pending.suspended_now {
            moderation::settle_photos_of_user(&self.db, &self.storage, pending.struck.user_id)
                .await?;
        }
        Ok(Some(pending.struck))
    }

    /// The strike of a takedown, for the post's author. Idempotent: the
    /// same post strikes once.
    pub async fn strike_takedown(
        &self,
        actor: &Actor,
        post: Uuid,
        reason: &Reason,
    ) -> Result<Option<Struck>> {
        let mut tx = self.pool().begin().await?;
        let author: Option<Uuid> = sqlx::query_scalar("SELECT author_id FROM posts WHERE id = $1")
            .bind(post)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(author) = author else {
            return Ok(None);
        };
        let offence = Offence {
            user: author,
            kind: StrikeKind::Takedown,
            subject: post,
            report: None,
            actor,
            reason,
        };
        let pending = self.strike_in(&mut tx, offence).await?;
        self.commit_strike(tx, pending).await
    }

    /// A report's verdict, final. Upheld: a strike for the account behind
    /// the target, unless the target is gone.
    pub async fn resolve_report(
        &self,
        actor: &Actor,
        report: Uuid,
        resolution: Resolution,
        reason: &Reason,
    ) -> Result<Option<Struck>> {
        let mut tx = self.pool().begin().await?;
        let target: Option<(TargetType, Uuid)> = sqlx::query_as(
            "UPDATE reports SET resolution = $2, resolved_at = now()
              WHERE id = $1 AND resolution IS NULL
             RETURNING target_type, target_id",
        )
        .bind(report)
        .bind(resolution)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((target_type, target)) = target else {
            let exists: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM reports WHERE id = $1)")
                    .bind(report)
                    .fetch_one(&mut *tx)
                    .await?;
            return Err(Error::from(if exists {
                Code::ReportAlreadyResolved
            } else {
                Code::ReportNotFound
            }));
        };
        let offender: Option<(Uuid, Uuid)> = match target_type {
            TargetType::Post => {
                sqlx::query_as("SELECT author_id, id FROM posts WHERE id = $1")
                    .bind(target)
                    .fetch_optional(&mut *tx)
                    .await?
            }
            TargetType::Comment => {
                sqlx::query_as("SELECT author_id, id FROM comments WHERE id = $1")
                    .bind(target)
                    .fetch_optional(&mut *tx)
                    .await?
            }
            TargetType::Story => {
                sqlx::query_as("SELECT author_id, id FROM stories WHERE id = $1")
                    .bind(target)
                    .fetch_optional(&mut *tx)
                    .await?
            }
            TargetType::User => Some((target, report)),
        };
        if let (Resolution::Upheld, Some((user, _))) = (resolution, offender) {
            lock_account(&mut tx, user).await?;
        }
        audit::record(
            &mut tx,
            Entry {
                actor,
                action: Action::ResolveReport,
                user: offender.map(|(user, _)| user),
                subject: Some(report),
                reason,
                details: json!({ "resolution": resolution, "target_type": target_type, "target_id": target }),
            },
        )
        .await?;
        let pending = match (resolution, offender) {
            (Resolution::Upheld, Some((user, subject))) => {
                let offence = Offence {
                    user,
                    kind: StrikeKind::ReportUpheld,
                    subject,
                    report: Some(report),
                    actor,
                    reason,
                };
                self.strike_in(&mut tx, offence).await?
            }
            _ => None,
        };
        self.commit_strike(tx, pending).await
    }

    /// Withdraws the strikes of an offence judged wrongly (a takedown
    /// reversed): they stop counting. A suspension they brought stays
    /// until it ends or an admin lifts it.
    pub async fn withdraw_for(&self, actor: &Actor, subject: Uuid, reason: &Reason) -> Result<()> {
        self.withdraw_where("subject_id = $1", subject, actor, reason)
            .await
            .map(drop)
    }

    /// Withdraws one strike by id. Withdrawing it again changes nothing.
    pub async fn withdraw(&self, actor: &Actor, strike: Uuid, reason: &Reason) -> Result<()> {
        if self
            .withdraw_where("id = $1", strike, actor, reason)
            .await?
            == 0
        {
            let exists: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM trust_strikes WHERE id = $1)")
                    .bind(strike)
                    .fetch_one(self.pool())
                    .await?;
            if !exists {
                return Err(Error::from(Code::StrikeNotFound));
            }
        }
        Ok(())
    }

    /// Withdraws the strikes that count and match `filter` (on `$1`), each
    /// on record. Returns how many.
    async fn withdraw_where(
        &self,
        filter: &str,
        id: Uuid,
        actor: &Actor,
        reason: &Reason,
    ) -> Result<usize> {
        let mut tx = self.pool().begin().await?;
        let sql = format!(
            "UPDATE trust_strikes SET withdrawn_at = now()
              WHERE {filter} AND withdrawn_at IS NULL
             RETURNING id, user_id, subject_id"
        );
        let withdrawn: Vec<(Uuid, Uuid, Uuid)> =
            sqlx::query_as(&sql).bind(id).fetch_all(&mut *tx).await?;
        for (strike, user, offence) in &withdrawn {
            audit::record(
                &mut tx,
                Entry {
                    actor,
                    action: Action::WithdrawStrike,
                    user: Some(*user),
                    subject: Some(*strike),
                    reason,
                    details: json!({ "offence": offence }),
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(withdrawn.len())
    }

    /// Lifts `handle`'s suspension, an admin's or a strike's. Returns
    /// whether there was one.
    pub async fn lift(&self, actor: &Actor, handle: &str, reason: &Reason) -> Result<bool> {
        let user = moderation::user_id(&self.db, handle).await?;
        let mut tx = self.pool().begin().await?;
        let lifted: Option<Option<OffsetDateTime>> = sqlx::query_scalar(
            "UPDATE users u SET suspended_at = NULL, suspended_until = NULL
               FROM users before
              WHERE u.id = $1 AND before.id = u.id AND u.suspended_at IS NOT NULL
             RETURNING before.suspended_until",
        )
        .bind(user)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(until) = lifted else {
            return Ok(false);
        };
        audit::record(
            &mut tx,
            Entry {
                actor,
                action: Action::LiftSuspension,
                user: Some(user),
                subject: None,
                reason,
                details: json!({ "was_until": until.map(|t| t.unix_timestamp()) }),
            },
        )
        .await?;
        tx.commit().await?;
        moderation::settle_photos_of_user(&self.db, &self.storage, user).await?;
        Ok(true)
    }

    /// A user's strikes, newest first.
    pub(super) async fn strikes_of(&self, user: Uuid) -> Result<Vec<Strike>> {
        Ok(sqlx::query_as(
            "SELECT id, kind, subject_id, report_id, created_at, withdrawn_at, suspended_until
               FROM trust_strikes WHERE user_id = $1 ORDER BY created_at DESC LIMIT 100",
        )
        .bind(user)
        .fetch_all(self.pool())
        .await?)
    }
}
