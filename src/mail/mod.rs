//! Account mail: the outbox the API writes to, the single-use tokens the
//! mails carry, and their delivery by the worker.
//!
//! The API never sends: it inserts an outbox row and queues a
//! `{"type":"send_mail","mail_id":...}` job. The worker mints the token (if
//! the mail carries one) at sending time, stores only its SHA-256, and sends
//! the mail over SMTP. A mail server that is down leaves the row `pending`:
//! the queue redelivers the job, and the API's sweep queues it again until
//! it goes out (or is a day old). An address that bounced or complained is
//! never sent to again.

pub mod bounces;
pub mod sender;

use std::time::Duration;

use base64::Engine as _;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::Result;
use crate::infra::queue::Queue;
use crate::media::jobs::Job;
use crate::worker::{Outcome, Transient};
pub use sender::Mailer;

/// What a mail says; a Postgres enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "mail_kind", rename_all = "snake_case")]
pub enum MailKind {
    VerifyEmail,
    PasswordReset,
    PasswordChanged,
    EmailChange,
    EmailChangeNotice,
}

impl MailKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MailKind::VerifyEmail => "verify_email",
            MailKind::PasswordReset => "password_reset",
            MailKind::PasswordChanged => "password_changed",
            MailKind::EmailChange => "email_change",
            MailKind::EmailChangeNotice => "email_change_notice",
        }
    }

    /// The token the mail carries, if any.
    pub fn purpose(self) -> Option<TokenPurpose> {
        match self {
            MailKind::VerifyEmail => Some(TokenPurpose::VerifyEmail),
            MailKind::PasswordReset => Some(TokenPurpose::PasswordReset),
            MailKind::EmailChange => Some(TokenPurpose::EmailChange),
            MailKind::PasswordChanged | MailKind::EmailChangeNotice => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "account_token_purpose", rename_all = "snake_case")]
pub enum TokenPurpose {
    VerifyEmail,
    PasswordReset,
    EmailChange,
}

impl TokenPurpose {
    /// How long a link works once sent.
    pub fn lifetime(self) -> Duration {
        match self {
            TokenPurpose::VerifyEmail | TokenPurpose::EmailChange => Duration::from_secs(24 * 3600),
            TokenPurpose::PasswordReset => Duration::from_secs(30 * 60),
        }
    }

    /// The path of the deep link, after `APP_LINK_BASE_URL`.
    pub fn link_path(self) -> &'static str {
        match self {
            TokenPurpose::VerifyEmail => "/verify-email",
            TokenPurpose::PasswordReset => "/reset-password",
            TokenPurpose::EmailChange => "/confirm-email",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "mail_status", rename_all = "snake_case")]
pub enum MailStatus {
    Pending,
    Sent,
    Failed,
    Suppressed,
    Expired,
}

/// A pending mail is given up after this long.
pub const MAIL_MAX_AGE: Duration = Duration::from_secs(24 * 3600);
/// A pending mail whose job was queued this long ago is queued again.
pub const MAIL_RETRY_AFTER: Duration = Duration::from_secs(5 * 60);
/// How long a delivery holds a mail while it talks to the mail server;
/// longer than the SMTP exchange can take, so two never send one mail.
const SENDING_LEASE: Duration = Duration::from_secs(120);

/// A token as mailed: 32 random bytes, base64url without padding (43
/// characters).
pub fn new_token() -> String {
    use rand::RngCore as _;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.trim().as_bytes()).to_vec()
}

/// A mail to send, written with the change that warrants it.
pub struct NewMail<'a> {
    pub user_id: Uuid,
    pub kind: MailKind,
    pub recipient: &'a str,
    pub new_email: Option<&'a str>,
}

/// Inserts a mail into the outbox (inside the caller's transaction);
/// queue it with [`queue_mail`] once that has committed.
pub async fn insert(db: &mut PgConnection, mail: NewMail<'_>) -> Result<Uuid> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO mail_outbox (id, user_id, kind, recipient, new_email)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(mail.user_id)
    .bind(mail.kind)
    .bind(mail.recipient)
    .bind(mail.new_email)
    .execute(db)
    .await?;
    Ok(id)
}

/// Queues the send job of a mail. Never fails the caller: a mail that
/// could not be queued is queued by the sweep.
pub async fn queue_mail(db: &PgPool, queue: &Queue, mail_id: Uuid) {
    match queue.send(Job::SendMail { mail_id }.to_body()).await {
        Ok(()) => {
            if let Err(e) = sqlx::query("UPDATE mail_outbox SET queued_at = now() WHERE id = $1")
                .bind(mail_id)
                .execute(db)
                .await
            {
                tracing::warn!(error = %e, %mail_id, "could not record a queued mail");
            }
        }
        Err(e) => tracing::warn!(error = ?e, %mail_id, "could not queue a mail; the sweep will"),
    }
}

/// Inserts and queues one mail outside any other change.
pub async fn send_later(db: &PgPool, queue: &Queue, mail: NewMail<'_>) -> Result<Uuid> {
    let mut conn = db.acquire().await?;
    let id = insert(&mut conn, mail).await?;
    drop(conn);
    queue_mail(db, queue, id).await;
    Ok(id)
}

/// Queues again the mails still pending whose job was queued `retry_after`
/// ago, or never queued though written that long ago (the job was lost,
/// dead-lettered, or the mail server was down through its retries), and
/// gives up those older than a day. A mail just written is left to the
/// request that wrote it, which queues it itself. The API
/// runs it every minute; tests call it directly.
pub async fn requeue_pending(db: &PgPool, queue: &Queue, retry_after: Duration) -> Result<usize> {
    sqlx::query(
        "UPDATE mail_outbox SET status = 'expired'
         WHERE status = 'pending' AND created_at < now() - make_interval(secs => $1)",
    )
    .bind(MAIL_MAX_AGE.as_secs_f64())
    .execute(db)
    .await?;
    let due: Vec<Uuid> = sqlx::query_scalar(
        "UPDATE mail_outbox SET queued_at = now()
         WHERE id IN (
             SELECT id FROM mail_outbox
             WHERE status = 'pending'
               AND COALESCE(queued_at, created_at) <= now() - make_interval(secs => $1)
             ORDER BY created_at LIMIT 100 FOR UPDATE SKIP LOCKED)
         RETURNING id",
    )
    .bind(retry_after.as_secs_f64())
    .fetch_all(db)
    .await?;
    for mail_id in &due {
        queue
            .send(Job::SendMail { mail_id: *mail_id }.to_body())
            .await
            .map_err(crate::error::Error::Internal)?;
    }
    Ok(due.len())
}

/// Whether an address bounced or complained.
pub async fn is_suppressed(db: &PgPool, address: &str) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM mail_suppressions WHERE address = lower($1))",
    )
    .bind(address.trim())
    .fetch_one(db)
    .await?)
}

/// What a valid token was for.
#[derive(Debug, sqlx::FromRow)]
pub struct Redeemed {
    pub user_id: Uuid,
    pub email: String,
}

/// Uses a token once: `None` when it is unknown, used, expired, or of
/// another purpose, which callers report alike. The other live tokens of
/// the same purpose die with it.
pub async fn redeem(
    tx: &mut PgConnection,
    token: &str,
    purpose: TokenPurpose,
) -> Result<Option<Redeemed>> {
    let redeemed: Option<Redeemed> = sqlx::query_as(
        "UPDATE account_tokens SET used_at = now()
         WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()
         RETURNING user_id, email",
    )
    .bind(token_hash(token))
    .bind(purpose)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(redeemed) = &redeemed {
        revoke_tokens(tx, redeemed.user_id, purpose).await?;
    }
    Ok(redeemed)
}

/// Kills the live tokens of a user for `purpose` (a new password makes the
/// reset links sent before it useless).
pub async fn revoke_tokens(
    tx: &mut PgConnection,
    user_id: Uuid,
    purpose: TokenPurpose,
) -> Result<()> {
    sqlx::query(
        "UPDATE account_tokens SET used_at = now()
         WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL",
    )
    .bind(user_id)
    .bind(purpose)
    .execute(tx)
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct OutboxRow {
    user_id: Uuid,
    kind: MailKind,
    recipient: String,
    new_email: Option<String>,
    created_at: OffsetDateTime,
    handle: Option<String>,
    account_email: Option<String>,
    email_verified: Option<bool>,
}

/// What a mail is about when the worker renders it.
pub struct Rendering<'a> {
    pub kind: MailKind,
    pub handle: &'a str,
    pub recipient: &'a str,
    pub new_email: Option<&'a str>,
    /// The deep link, for mails with a token.
    pub link: Option<String>,
}

/// Sends one outbox mail: the worker's `send_mail` job. Idempotent: a mail
/// already sent, no longer worth sending, or being sent by another delivery
/// is skipped.
pub async fn deliver(db: &PgPool, mailer: &Mailer, mail_id: Uuid) -> Result<Outcome, Transient> {
    let Some(row) = take_sending_lease(db, mail_id).await? else {
        // Gone, sent, settled, or in another delivery's hands: if that one
        // fails, its own message is redelivered, and the sweep re-queues a
        // mail whose delivery died with the lease held.
        return Ok(Outcome::Skipped);
    };
    let outcome = deliver_leased(db, mailer, mail_id, row).await;
    if outcome.is_err() {
        release_sending_lease(db, mail_id).await;
    }
    outcome
}

/// [`deliver`], once this delivery holds the mail.
async fn deliver_leased(
    db: &PgPool,
    mailer: &Mailer,
    mail_id: Uuid,
    row: OutboxRow,
) -> Result<Outcome, Transient> {
    let (Some(handle), Some(account_email)) = (row.handle.as_deref(), row.account_email.as_deref())
    else {
        return settle(db, mail_id, MailStatus::Expired, "the account is gone").await;
    };
    let too_old = OffsetDateTime::now_utc() - row.created_at > MAIL_MAX_AGE;
    // A link for an address the account no longer has, or a verification
    // of an address already verified, is no use.
    let stale = match row.kind {
        MailKind::VerifyEmail => {
            row.email_verified == Some(true) || !same_address(account_email, &row.recipient)
        }
        MailKind::PasswordReset => !same_address(account_email, &row.recipient),
        _ => false,
    };
    if too_old || stale {
        return settle(db, mail_id, MailStatus::Expired, "no longer relevant").await;
    }
    if is_suppressed(db, &row.recipient).await? {
        tracing::info!(%mail_id, kind = row.kind.as_str(), "address bounced or complained; mail not sent");
        return settle(db, mail_id, MailStatus::Suppressed, "address suppressed").await;
    }
    let link = match row.kind.purpose() {
        Some(purpose) => {
            let token = new_token();
            let email = match purpose {
                TokenPurpose::EmailChange => row.new_email.as_deref().unwrap_or(&row.recipient),
                _ => &row.recipient,
            };
            // A token per attempt: an attempt that reached the recipient
            // though it was not recorded as sent keeps a working link.
            sqlx::query(
                "INSERT INTO account_tokens (token_hash, mail_id, user_id, purpose, email, expires_at)
                 VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))",
            )
            .bind(token_hash(&token))
            .bind(mail_id)
            .bind(row.user_id)
            .bind(purpose)
            .bind(email)
            .bind(purpose.lifetime().as_secs_f64())
            .execute(db)
            .await
            .map_err(crate::error::Error::from)?;
            Some(mailer.link(purpose, &token))
        }
        None => None,
    };
    let rendering = Rendering {
        kind: row.kind,
        handle,
        recipient: &row.recipient,
        new_email: row.new_email.as_deref(),
        link,
    };
    match mailer.send(&rendering).await {
        Ok(()) => {
            sqlx::query(
                "UPDATE mail_outbox SET status = 'sent', sent_at = now(), attempts = attempts + 1, last_error = NULL
                 WHERE id = $1 AND status = 'pending'",
            )
            .bind(mail_id)
            .execute(db)
            .await
            .map_err(crate::error::Error::from)?;
            tracing::info!(%mail_id, kind = row.kind.as_str(), "mail sent");
            Ok(Outcome::Processed)
        }
        Err(sender::SendError::Permanent(reason)) => {
            tracing::warn!(%mail_id, kind = row.kind.as_str(), %reason, "the mail server refused a mail for good");
            record_attempt(db, mail_id, &reason).await?;
            settle(db, mail_id, MailStatus::Failed, &reason).await?;
            Ok(Outcome::Failed {
                code: "mail_rejected",
            })
        }
        Err(sender::SendError::Transient(reason)) => {
            record_attempt(db, mail_id, &reason).await?;
            Err(Transient(anyhow::anyhow!("mail not sent: {reason}")))
        }
    }
}

/// Claims a pending mail for one delivery, unless another holds it, and
/// reads what the mail needs.
async fn take_sending_lease(db: &PgPool, mail_id: Uuid) -> Result<Option<OutboxRow>, Transient> {
    Ok(sqlx::query_as(
        "WITH claimed AS (
             UPDATE mail_outbox SET sending_until = now() + make_interval(secs => $2)
             WHERE id = $1 AND status = 'pending' AND (sending_until IS NULL OR sending_until < now())
             RETURNING user_id, kind, recipient, new_email, created_at)
         SELECT c.user_id, c.kind, c.recipient, c.new_email, c.created_at,
                u.handle, u.email AS account_email, u.email_verified_at IS NOT NULL AS email_verified
         FROM claimed c LEFT JOIN users u ON u.id = c.user_id AND u.deleted_at IS NULL",
    )
    .bind(mail_id)
    .bind(SENDING_LEASE.as_secs_f64())
    .fetch_optional(db)
    .await
    .map_err(crate::error::Error::from)?)
}

/// Lets the queue's redelivery of a failed attempt send at once. If this
/// fails too, the lease runs out by itself.
async fn release_sending_lease(db: &PgPool, mail_id: Uuid) {
    if let Err(e) = sqlx::query("UPDATE mail_outbox SET sending_until = NULL WHERE id = $1")
        .bind(mail_id)
        .execute(db)
        .await
    {
        tracing::warn!(error = %e, %mail_id, "could not release a mail's sending lease");
    }
}

fn same_address(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

async fn record_attempt(db: &PgPool, mail_id: Uuid, reason: &str) -> Result<(), Transient> {
    let reason: String = reason.chars().take(500).collect();
    sqlx::query("UPDATE mail_outbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1")
        .bind(mail_id)
        .bind(reason)
        .execute(db)
        .await
        .map_err(crate::error::Error::from)?;
    Ok(())
}

async fn settle(
    db: &PgPool,
    mail_id: Uuid,
    status: MailStatus,
    reason: &str,
) -> Result<Outcome, Transient> {
    sqlx::query(
        "UPDATE mail_outbox SET status = $2, last_error = COALESCE(last_error, $3)
         WHERE id = $1 AND status = 'pending'",
    )
    .bind(mail_id)
    .bind(status)
    .bind(reason)
    .execute(db)
    .await
    .map_err(crate::error::Error::from)?;
    Ok(match status {
        MailStatus::Failed => Outcome::Failed {
            code: "mail_rejected",
        },
        _ => Outcome::Skipped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_43_url_safe_characters_and_differ() {
        let a = new_token();
        let b = new_token();
        assert_eq!(a.len(), 43);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_ne!(a, b);
        assert_eq!(token_hash(&a).len(), 32);
        assert_ne!(token_hash(&a), token_hash(&b));
    }
}
