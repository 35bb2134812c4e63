//! The worker's side of account mail: one delivery at a time per mail
//! (a lease on its outbox row), the token minted at sending time, the
//! outcome recorded.

use std::time::Duration;

use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use super::tokens::{new_token, token_hash};
use super::{
    MAIL_MAX_AGE, MailKind, MailStatus, Mailer, Rendering, TokenPurpose, is_suppressed, sender,
};
use crate::jobs::{Outcome, Transient};

/// How long a delivery holds a mail while it talks to the mail server;
/// longer than the SMTP exchange can take, so two never send one mail.
const SENDING_LEASE: Duration = Duration::from_secs(120);

#[derive(sqlx::FromRow)]
struct OutboxRow {
    /// None for the acknowledgement of a notice: no account.
    user_id: Option<Uuid>,
    kind: MailKind,
    recipient: String,
    new_email: Option<String>,
    /// A link written with the mail (a data export's presigned GET).
    link: Option<String>,
    created_at: OffsetDateTime,
    handle: Option<String>,
    account_email: Option<String>,
    email_verified: Option<bool>,
    decision_id: Option<Uuid>,
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
    let account = match (
        row.user_id,
        row.handle.as_deref(),
        row.account_email.as_deref(),
    ) {
        (Some(user), Some(handle), Some(email)) => Some((user, handle, email)),
        _ => None,
    };
    // Only a notice's acknowledgement goes to an address with no account.
    let (user_id, handle, account_email) = match (account, row.kind) {
        (Some(account), _) => account,
        (None, MailKind::NoticeReceived) => (Uuid::nil(), "", row.recipient.as_str()),
        (None, _) => {
            return settle(db, mail_id, MailStatus::Expired, "the account is gone").await;
        }
    };
    let too_old = OffsetDateTime::now_utc() - row.created_at > MAIL_MAX_AGE;
    // A link for an address the account no longer has, or a verification
    // of an address already verified, is no use.
    let stale = match row.kind {
        MailKind::VerifyEmail => {
            row.email_verified == Some(true)
                || !same_address(account_email, &row.recipient)
                || verified_elsewhere(db, user_id, &row.recipient).await?
        }
        MailKind::AddressInUse => {
            row.email_verified != Some(true) || !same_address(account_email, &row.recipient)
        }
        MailKind::PasswordReset => !same_address(account_email, &row.recipient),
        MailKind::EmailChange => email_change_is_stale(db, mail_id, user_id, &row).await?,
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
            // Only while the mail is still due: a mail settled meanwhile
            // (superseded) mints nothing.
            let minted = sqlx::query(
                "INSERT INTO account_tokens (token_hash, mail_id, user_id, purpose, email, expires_at)
                 SELECT $1, $2, $3, $4, $5, now() + make_interval(secs => $6)
                 WHERE EXISTS (SELECT 1 FROM mail_outbox WHERE id = $2 AND status = 'pending')",
            )
            .bind(token_hash(&token))
            .bind(mail_id)
            .bind(user_id)
            .bind(purpose)
            .bind(email)
            .bind(purpose.lifetime().as_secs_f64())
            .execute(db)
            .await?
            .rows_affected();
            if minted == 0 {
                return Ok(Outcome::Skipped);
            }
            Some(mailer.link(purpose, &token))
        }
        None => row.link.clone(),
    };
    let decision = match row.decision_id {
        Some(decision) => {
            sqlx::query_as(
                "SELECT kind::text, ground, category::text AS category
                   FROM moderation_decisions WHERE id = $1",
            )
            .bind(decision)
            .fetch_optional(db)
            .await?
        }
        None => None,
    };
    let rendering = Rendering {
        kind: row.kind,
        handle,
        recipient: &row.recipient,
        new_email: row.new_email.as_deref(),
        link,
        decision,
    };
    match mailer.send(&rendering).await {
        Ok(()) => {
            sqlx::query(
                "UPDATE mail_outbox SET status = 'sent', sent_at = now(), attempts = attempts + 1, last_error = NULL, link = NULL
                 WHERE id = $1 AND status = 'pending'",
            )
            .bind(mail_id)
            .execute(db)
            .await?;
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
             RETURNING user_id, kind, recipient, new_email, link, created_at, decision_id)
         SELECT c.user_id, c.kind, c.recipient, c.new_email, c.link, c.created_at, c.decision_id,
                u.handle, u.email AS account_email, u.email_verified_at IS NOT NULL AS email_verified
         FROM claimed c LEFT JOIN users u ON u.id = c.user_id AND u.deleted_at IS NULL",
    )
    .bind(mail_id)
    .bind(SENDING_LEASE.as_secs_f64())
    .fetch_optional(db)
    .await?)
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
        .await?;
    Ok(())
}

async fn settle(
    db: &PgPool,
    mail_id: Uuid,
    status: MailStatus,
    reason: &str,
) -> Result<Outcome, Transient> {
    sqlx::query(
        "UPDATE mail_outbox SET status = $2, last_error = COALESCE(last_error, $3), link = NULL
         WHERE id = $1 AND status = 'pending'",
    )
    .bind(mail_id)
    .bind(status)
    .bind(reason)
    .execute(db)
    .await?;
    Ok(match status {
        MailStatus::Failed => Outcome::Failed {
            code: "mail_rejected",
        },
        _ => Outcome::Skipped,
    })
}

/// An email change is sent only while it is the user's newest and its
/// address is still free: otherwise its link would hand the account to
/// whoever holds an address the user no longer wants.
async fn email_change_is_stale(
    db: &PgPool,
    mail_id: Uuid,
    user_id: Uuid,
    row: &OutboxRow,
) -> Result<bool, Transient> {
    let address = row.new_email.as_deref().unwrap_or(&row.recipient);
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM mail_outbox
                         WHERE user_id = $1 AND kind = 'email_change' AND id <> $2
                           AND created_at > $3)
             OR EXISTS (SELECT 1 FROM users WHERE lower(email) = lower($4) AND id <> $1
                                                 AND email_verified_at IS NOT NULL)",
    )
    .bind(user_id)
    .bind(mail_id)
    .bind(row.created_at)
    .bind(address)
    .fetch_one(db)
    .await?)
}

/// Another account verified this address meanwhile: a link to verify it
/// could only fail.
async fn verified_elsewhere(db: &PgPool, user: Uuid, address: &str) -> Result<bool, Transient> {
    Ok(crate::users::verified_owner(db, address)
        .await?
        .is_some_and(|owner| owner != user))
}
