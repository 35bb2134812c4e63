//! The record of admin decisions, and of what strikes and the background
//! run did by themselves: who, when, what, to whom, and why. Each row is
//! written in the transaction of the decision it records.

use serde::Serialize;
use sqlx::PgConnection;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::Trust;
use crate::error::{Error, Result};
use crate::social::moderation;
use crate::social::page::{NEWEST, Page, PageRequest};

pub const REASON_MAX_CHARS: usize = 1000;
pub const LABEL_MAX_CHARS: usize = 64;

/// Who acts: the shared admin token (with the label an admin gives in
/// `X-Admin-Actor`), or the system itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor(String);

impl Actor {
    pub fn system() -> Self {
        Actor("system".into())
    }

    /// The admin token's holder, named by an optional label of 1 to 64 of
    /// `A-Z a-z 0-9 . _ @ -`: all admins share the token, so the label is
    /// what they say, not proof.
    pub fn admin(label: Option<&str>) -> Result<Self> {
        match label {
            None => Ok(Actor("admin".into())),
            Some(label)
                if (1..=LABEL_MAX_CHARS).contains(&label.len())
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"._@-".contains(&b)) =>
            {
                Ok(Actor(format!("admin:{label}")))
            }
            Some(_) => Err(Error::invalid_field(
                "X-Admin-Actor",
                "must be 1 to 64 of A-Z a-z 0-9 . _ @ -",
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why an admin acts: 1 to 1,000 characters.
#[derive(Debug, Clone)]
pub struct Reason(String);

impl Reason {
    pub fn parse(raw: &str) -> Result<Self> {
        let trimmed = raw.trim();
        if trimmed.is_empty() || raw.chars().count() > REASON_MAX_CHARS || trimmed.contains('\0') {
            return Err(Error::invalid_field(
                "reason",
                format!("must be 1 to {REASON_MAX_CHARS} characters, with no NUL"),
            ));
        }
        Ok(Reason(trimmed.to_string()))
    }

    /// What the routes where a reason is optional record without one.
    pub fn not_given() -> Self {
        Reason("(no reason given)".into())
    }

    /// A reason the system gives itself.
    pub fn system(text: &str) -> Self {
        Reason(text.to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type, Serialize, ToSchema)]
#[sqlx(type_name = "admin_action", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Action {
    SetTrustLevel,
    LiftSuspension,
    ResolveReport,
    WithdrawStrike,
    Strike,
    AutoSuspend,
    AutoLift,
    TakeDown,
    RestorePost,
    Suspend,
    Unsuspend,
    SuspendBranch,
    MintInvites,
    DecideAppeal,
}

/// One recorded decision.
pub struct Entry<'a> {
    pub actor: &'a Actor,
    pub action: Action,
    pub user: Option<Uuid>,
    /// What it was about: a report, a post, a strike.
    pub subject: Option<Uuid>,
    pub reason: &'a Reason,
    pub details: serde_json::Value,
}

pub async fn record(conn: &mut PgConnection, entry: Entry<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO admin_actions (id, actor, action, user_id, subject_id, reason, details)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(Uuid::now_v7())
    .bind(entry.actor.as_str())
    .bind(entry.action)
    .bind(entry.user)
    .bind(entry.subject)
    .bind(entry.reason.as_str())
    .bind(entry.details)
    .execute(conn)
    .await?;
    Ok(())
}

/// Whom an admin's action was about.
pub enum About<'a> {
    /// A user, by handle.
    User(&'a str),
    /// A post, a report, a batch...
    Subject(Uuid),
    Nothing,
}

impl Trust {
    /// Records an admin action that its own route carried out (suspend,
    /// takedown, invites...), after the fact.
    pub async fn record(
        &self,
        actor: &Actor,
        reason: &Reason,
        action: Action,
        about: About<'_>,
        details: serde_json::Value,
    ) -> Result<()> {
        let (user, subject) = match about {
            About::User(handle) => (Some(moderation::user_id(&self.db, handle).await?), None),
            About::Subject(id) => (None, Some(id)),
            About::Nothing => (None, None),
        };
        let entry = Entry {
            actor,
            action,
            user,
            subject,
            reason,
            details,
        };
        record(&mut *self.pool().acquire().await?, entry).await
    }
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct Recorded {
    pub id: Uuid,
    /// `system`, `admin`, or `admin:<X-Admin-Actor>`.
    pub actor: String,
    pub action: Action,
    pub user_id: Option<Uuid>,
    /// The handle the user has now; null once the account is gone.
    pub user_handle: Option<String>,
    pub subject_id: Option<Uuid>,
    pub reason: String,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

const SELECT_SQL: &str = "SELECT a.id, a.actor, a.action, a.user_id, u.handle AS user_handle,
            a.subject_id, a.reason, a.details, a.created_at
       FROM admin_actions a LEFT JOIN users u ON u.id = a.user_id";

/// Every recorded decision, newest first.
pub async fn list(db: &sqlx::PgPool, page: &PageRequest<Uuid>) -> Result<Page<Recorded>> {
    let sql = format!("{SELECT_SQL} WHERE a.id < $1 ORDER BY a.id DESC LIMIT $2");
    let rows = sqlx::query_as::<_, Recorded>(&sql)
        .bind(page.after.unwrap_or(NEWEST))
        .bind(page.fetch_limit())
        .fetch_all(db)
        .await?;
    Ok(Page::from_rows(rows, page, |r| r.id))
}

/// The newest decisions about one user.
pub async fn of_user(db: &sqlx::PgPool, user: Uuid, limit: i64) -> Result<Vec<Recorded>> {
    let sql = format!("{SELECT_SQL} WHERE a.user_id = $1 ORDER BY a.id DESC LIMIT $2");
    Ok(sqlx::query_as::<_, Recorded>(&sql)
        .bind(user)
        .bind(limit)
        .fetch_all(db)
        .await?)
}
