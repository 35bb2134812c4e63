//! Statements of reasons and appeals (EU DSA Art. 17 and 20): every
//! decision that restricts a user (a takedown, a strike, a suspension) is
//! stated to them with its ground, and they may appeal it once; an admin
//! upholds the decision or reverses it, which undoes it (the content comes
//! back, the strike is withdrawn, the suspension lifted). Each answer is on
//! the admin record.

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgConnection;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::Trust;
use super::audit::{self, Action, Actor, Entry, Reason};
use super::strikes::Struck;
use crate::error::{Code, Error, Result};
use crate::infra::queue::Queue;
use crate::mail;
use crate::social::moderation::{self, Category};
use crate::social::page::{NEWEST, Page, PageRequest};

pub const APPEAL_MAX_CHARS: usize = 2000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type, Serialize, ToSchema)]
#[sqlx(type_name = "moderation_decision_kind", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    /// A post of yours was taken down (and counted as a strike).
    PostTakedown,
    /// A story of yours was taken down.
    StoryTakedown,
    /// A report about you or your content was upheld: a strike.
    Strike,
    /// An admin suspended your account.
    Suspension,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type, Serialize, Deserialize, ToSchema)]
#[sqlx(type_name = "appeal_outcome", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The decision stands.
    Upheld,
    /// The decision is undone.
    Reversed,
}

/// A statement of reasons, with its appeal.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct Decision {
    pub id: Uuid,
    pub user_id: Uuid,
    pub kind: DecisionKind,
    /// The post or story taken down, the strike, or the account suspended.
    pub subject_id: Uuid,
    /// The strike the decision counted as, if any.
    pub strike_id: Option<Uuid>,
    /// The category of the report behind the decision, if a report was.
    pub category: Option<Category>,
    /// The moderator's reason.
    pub ground: String,
    /// Set when the decision suspended the account (null: until lifted).
    #[serde(with = "time::serde::rfc3339::option")]
    pub suspended_until: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Whether an appeal may still be made (one per decision).
    pub appealable: bool,
    pub appeal_text: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub appealed_at: Option<OffsetDateTime>,
    pub appeal_outcome: Option<Outcome>,
    /// The admin's reason for the outcome.
    pub appeal_reason: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub appeal_decided_at: Option<OffsetDateTime>,
}

const SELECT_SQL: &str = "SELECT id, user_id, kind, subject_id, strike_id, category, ground,
        suspended_until, created_at, appealed_at IS NULL AS appealable, appeal_text,
        appealed_at, appeal_outcome, appeal_reason, appeal_decided_at
   FROM moderation_decisions";

/// A decision to state.
pub struct NewDecision<'a> {
    pub user: Uuid,
    pub kind: DecisionKind,
    pub subject: Uuid,
    pub strike: Option<Uuid>,
    /// The report behind it, for its category; else the highest category
    /// of the reports about `subject`, if any.
    pub report: Option<Uuid>,
    pub ground: &'a Reason,
    pub suspended_until: Option<OffsetDateTime>,
}

/// States a decision to its user (in the caller's transaction): the row
/// the app lists, and the mail, whose id is returned to queue once the
/// transaction commits (`None` when the account is gone).
pub async fn state(conn: &mut PgConnection, new: NewDecision<'_>) -> Result<Option<Uuid>> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO moderation_decisions
             (id, user_id, kind, subject_id, strike_id, category, ground, suspended_until)
         VALUES ($1, $2, $3, $4, $5,
                 COALESCE((SELECT category FROM reports WHERE id = $6),
                          (SELECT min(category) FROM reports WHERE target_id = $4)),
                 $7, $8)",
    )
    .bind(id)
    .bind(new.user)
    .bind(new.kind)
    .bind(new.subject)
    .bind(new.strike)
    .bind(new.report)
    .bind(new.ground.as_str())
    .bind(new.suspended_until)
    .execute(&mut *conn)
    .await?;
    crate::social::notifications::notify_decision(&mut *conn, new.user, id).await?;
    mail::insert_decision_mail(conn, new.user, id).await
}

/// The decisions about `user`, newest first.
pub async fn of_user(
    db: &sqlx::PgPool,
    user: Uuid,
    page: &PageRequest<Uuid>,
) -> Result<Page<Decision>> {
    let sql = format!("{SELECT_SQL} WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3");
    let rows = sqlx::query_as::<_, Decision>(&sql)
        .bind(user)
        .bind(page.after.unwrap_or(NEWEST))
        .bind(page.fetch_limit())
        .fetch_all(db)
        .await?;
    Ok(Page::from_rows(rows, page, |d| d.id))
}

/// Appeals awaiting an answer, oldest first (a queue, served in order).
pub async fn open_appeals(db: &sqlx::PgPool, page: &PageRequest<Uuid>) -> Result<Page<Decision>> {
    let sql = format!(
        "{SELECT_SQL} WHERE appealed_at IS NOT NULL AND appeal_outcome IS NULL AND id > $1
         ORDER BY id LIMIT $2"
    );
    let rows = sqlx::query_as::<_, Decision>(&sql)
        .bind(page.after.unwrap_or(Uuid::nil()))
        .bind(page.fetch_limit())
        .fetch_all(db)
        .await?;
    Ok(Page::from_rows(rows, page, |d| d.id))
}

/// An appeal's text: 1 to 2,000 characters, no NUL.
pub struct AppealText(String);

impl AppealText {
    pub fn parse(raw: &str) -> Result<Self> {
        let trimmed = raw.trim();
        if trimmed.is_empty() || raw.chars().count() > APPEAL_MAX_CHARS || raw.contains('\0') {
            return Err(Error::invalid_field(
                "text",
                format!("must be 1 to {APPEAL_MAX_CHARS} characters, with no NUL"),
            ));
        }
        Ok(AppealText(trimmed.to_string()))
    }
}

/// The user's one appeal of a decision about them.
pub async fn appeal(
    db: &sqlx::PgPool,
    user: Uuid,
    decision: Uuid,
    text: &AppealText,
) -> Result<Decision> {
    let appealed: Option<Uuid> = sqlx::query_scalar(
        "UPDATE moderation_decisions SET appeal_text = $3, appealed_at = now()
          WHERE id = $1 AND user_id = $2 AND appealed_at IS NULL
         RETURNING id",
    )
    .bind(decision)
    .bind(user)
    .bind(&text.0)
    .fetch_optional(db)
    .await?;
    let sql = format!("{SELECT_SQL} WHERE id = $1 AND user_id = $2");
    let row: Option<Decision> = sqlx::query_as(&sql)
        .bind(decision)
        .bind(user)
        .fetch_optional(db)
        .await?;
    match (appealed, row) {
        (_, None) => Err(Error::from(Code::DecisionNotFound)),
        (None, Some(_)) => Err(Error::from(Code::AlreadyAppealed)),
        (Some(_), Some(d)) => Ok(d),
    }
}

/// The decision a mailed appeal link is for, and its user. The link reads
/// the decision until it expires, appealed or not.
async fn of_token(db: &sqlx::PgPool, token: &str) -> Result<(Uuid, Uuid)> {
    let found: Option<(Option<Uuid>, Uuid)> = sqlx::query_as(
        "SELECT m.decision_id, t.user_id
           FROM account_tokens t JOIN mail_outbox m ON m.id = t.mail_id
          WHERE t.token_hash = $1 AND t.purpose = 'appeal' AND t.expires_at > now()",
    )
    .bind(mail::token_hash(token))
    .fetch_optional(db)
    .await?;
    match found {
        Some((Some(decision), user)) => Ok((decision, user)),
        _ => Err(Error::from(Code::InvalidOrExpiredToken)),
    }
}

/// The decision a mailed link states, read signed out.
pub async fn by_token(db: &sqlx::PgPool, token: &str) -> Result<Decision> {
    let (decision, user) = of_token(db, token).await?;
    let sql = format!("{SELECT_SQL} WHERE id = $1 AND user_id = $2");
    sqlx::query_as(&sql)
        .bind(decision)
        .bind(user)
        .fetch_optional(db)
        .await?
        .ok_or_else(|| Error::from(Code::InvalidOrExpiredToken))
}

/// The appeal made through a mailed link, signed out (a suspended account
/// cannot sign in): the same once-per-decision appeal as in the app.
pub async fn appeal_by_token(
    db: &sqlx::PgPool,
    token: &str,
    text: &AppealText,
) -> Result<Decision> {
    let (decision, user) = of_token(db, token).await?;
    let appealed = appeal(db, user, decision, text).await?;
    sqlx::query(
        "UPDATE account_tokens SET used_at = COALESCE(used_at, now()) WHERE token_hash = $1",
    )
    .bind(mail::token_hash(token))
    .execute(db)
    .await?;
    Ok(appealed)
}

impl Trust {
    /// An admin's answer to an appeal, final. Reversing undoes the
    /// decision: a post comes back, a strike stops counting, a suspension
    /// ends. (A story taken down cannot come back: its photo was deleted;
    /// its reversal withdraws what it counted.)
    pub async fn decide_appeal(
        &self,
        actor: &Actor,
        decision: Uuid,
        outcome: Outcome,
        reason: &Reason,
    ) -> Result<Decision> {
        let mut tx = self.pool().begin().await?;
        let row: Option<(Uuid, DecisionKind, Uuid, Option<Uuid>, bool, bool)> = sqlx::query_as(
            "SELECT user_id, kind, subject_id, strike_id, appealed_at IS NOT NULL,
                    appeal_outcome IS NOT NULL
               FROM moderation_decisions WHERE id = $1 FOR UPDATE",
        )
        .bind(decision)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((user, kind, subject, strike, appealed, decided)) = row else {
            return Err(Error::from(Code::AppealNotFound));
        };
        if !appealed {
            return Err(Error::from(Code::AppealNotFound));
        }
        if decided {
            return Err(Error::from(Code::AppealAlreadyDecided));
        }
        sqlx::query(
            "UPDATE moderation_decisions
                SET appeal_outcome = $2, appeal_reason = $3, appeal_decided_at = now()
              WHERE id = $1",
        )
        .bind(decision)
        .bind(outcome)
        .bind(reason.as_str())
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            Entry {
                actor,
                action: Action::DecideAppeal,
                user: Some(user),
                subject: Some(decision),
                reason,
                details: json!({ "outcome": outcome, "kind": kind, "decision_subject": subject }),
            },
        )
        .await?;
        tx.commit().await?;
        if outcome == Outcome::Reversed {
            self.reverse(actor, user, kind, subject, strike, reason)
                .await?;
        }
        let sql = format!("{SELECT_SQL} WHERE id = $1");
        Ok(sqlx::query_as(&sql)
            .bind(decision)
            .fetch_one(self.pool())
            .await?)
    }

    /// Undoes a decision, each step on the record. Runs after the outcome
    /// committed; each step is idempotent, so an admin may repeat it by
    /// hand (`DELETE /v1/admin/posts/{id}/takedown`, strike withdrawal,
    /// lift) should one fail.
    async fn reverse(
        &self,
        actor: &Actor,
        user: Uuid,
        kind: DecisionKind,
        subject: Uuid,
        strike: Option<Uuid>,
        reason: &Reason,
    ) -> Result<()> {
        match kind {
            DecisionKind::PostTakedown => {
                moderation::restore(&self.db, &self.storage, subject).await?;
                let mut conn = self.pool().acquire().await?;
                audit::record(
                    &mut conn,
                    Entry {
                        actor,
                        action: Action::RestorePost,
                        user: Some(user),
                        subject: Some(subject),
                        reason,
                        details: json!({ "appeal": true }),
                    },
                )
                .await?;
                drop(conn);
                self.withdraw_for(actor, subject, reason).await?;
            }
            DecisionKind::StoryTakedown => {
                self.withdraw_for(actor, subject, reason).await?;
            }
            DecisionKind::Strike => {
                self.withdraw(actor, subject, reason).await?;
            }
            DecisionKind::Suspension => {
                let handle: Option<String> =
                    sqlx::query_scalar("SELECT handle FROM users WHERE id = $1")
                        .bind(user)
                        .fetch_optional(self.pool())
                        .await?;
                if let Some(handle) = handle {
                    self.lift(actor, &handle, reason).await?;
                }
            }
        }
        if let Some(strike) = strike.filter(|_| kind != DecisionKind::Strike) {
            self.withdraw(actor, strike, reason).await?;
        }
        Ok(())
    }

    /// States a decision outside any other transaction, and queues its mail.
    pub async fn state_decision(&self, queue: &Queue, new: NewDecision<'_>) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        let mail = state(&mut tx, new).await?;
        tx.commit().await?;
        if let Some(mail) = mail {
            mail::queue_mail(self.pool(), queue, mail).await;
        }
        Ok(())
    }

    /// States a takedown (of a post or a story) to its author, with the
    /// strike it counted as.
    pub async fn state_takedown(
        &self,
        queue: &Queue,
        kind: DecisionKind,
        subject: Uuid,
        struck: Option<&Struck>,
        ground: &Reason,
    ) -> Result<()> {
        // The same takedown asked again is stated once: only when no
        // statement follows the content's current takedown.
        let table = match kind {
            DecisionKind::StoryTakedown => "stories",
            _ => "posts",
        };
        let sql = format!(
            "SELECT t.author_id FROM {table} t
              WHERE t.id = $1 AND t.taken_down_at IS NOT NULL
                AND NOT EXISTS (SELECT 1 FROM moderation_decisions d
                                 WHERE d.subject_id = t.id AND d.kind = $2
                                   AND d.created_at >= t.taken_down_at)"
        );
        let author: Option<Uuid> = sqlx::query_scalar(&sql)
            .bind(subject)
            .bind(kind)
            .fetch_optional(self.pool())
            .await?;
        let Some(user) = author else {
            return Ok(());
        };
        self.state_decision(
            queue,
            NewDecision {
                user,
                kind,
                subject,
                strike: struck.map(|s| s.strike_id),
                report: None,
                ground,
                suspended_until: struck.and_then(|s| s.suspended_until),
            },
        )
        .await
    }
}
