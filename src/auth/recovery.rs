//! Recovering and changing credentials by email: verification, forgotten
//! passwords, and password and email changes while signed in. Each change
//! writes its mails to the outbox in the same transaction, and queues
//! their send jobs once it has committed.

use std::sync::Arc;

use sqlx::PgPool;
use uuid::Uuid;

use super::{Auth, Revocation, sessions};
use crate::error::{Code, Error, OnConstraint, Result};
use crate::mail::{self, MailKind, NewMail, TokenPurpose};
use crate::users::{Email, Password};

/// The one answer to a token that is unknown, used, expired, or meant for
/// another route.
pub fn invalid_token() -> Error {
    Error::from(Code::InvalidOrExpiredToken)
}

/// What a verification link did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    /// The account's address is now verified.
    Email,
    /// The account now has the new address, verified.
    EmailChanged,
}

/// The account a reset link may be mailed for: verified, live and not
/// suspended. Unverified accounts cannot reset their password by email.
pub async fn forgot_target(db: &PgPool, email: &Email) -> Result<Option<(Uuid, String)>> {
    Ok(sqlx::query_as(
        "SELECT id, email FROM users
         WHERE lower(email) = lower($1) AND deleted_at IS NULL AND suspended_at IS NULL
           AND email_verified_at IS NOT NULL",
    )
    .bind(email.as_str())
    .fetch_optional(db)
    .await?)
}

impl Auth {
    /// Follows a link of a verification mail (sign-up, resend) or of an
    /// email change.
    pub async fn verify_email(&self, token: &str) -> Result<Verified> {
        let mut tx = self.db.begin().await?;
        if let Some(redeemed) = mail::redeem(&mut tx, token, TokenPurpose::VerifyEmail).await? {
            // Another account may have verified the address since.
            let updated = sqlx::query(
                "UPDATE users SET email_verified_at = COALESCE(email_verified_at, now()), updated_at = now()
                 WHERE id = $1 AND lower(email) = lower($2) AND deleted_at IS NULL",
            )
            .bind(redeemed.user_id)
            .bind(&redeemed.email)
            .execute(&mut *tx)
            .await
            .on_constraint(&[("users_email_key", Code::EmailTaken)])?;
            if updated.rows_affected() == 0 {
                // The account changed its address since, or is gone.
                return Err(invalid_token());
            }
            tx.commit().await?;
            return Ok(Verified::Email);
        }
        let Some(redeemed) = mail::redeem(&mut tx, token, TokenPurpose::EmailChange).await? else {
            return Err(invalid_token());
        };
        let updated = sqlx::query(
            "UPDATE users SET email = $2, email_verified_at = now(), updated_at = now()
             WHERE id = $1 AND deleted_at IS NULL",
        )
        .bind(redeemed.user_id)
        .bind(&redeemed.email)
        .execute(&mut *tx)
        .await
        .on_constraint(&[("users_email_key", Code::EmailTaken)])?;
        if updated.rows_affected() == 0 {
            return Err(invalid_token());
        }
        // Links mailed to the old address die with it.
        mail::revoke_tokens(&mut tx, redeemed.user_id, TokenPurpose::VerifyEmail).await?;
        mail::revoke_tokens(&mut tx, redeemed.user_id, TokenPurpose::PasswordReset).await?;
        tx.commit().await?;
        Ok(Verified::EmailChanged)
    }

    /// Another verification mail; 409 once the address is verified.
    /// Shares the per-user budget of email changes: both mail an address
    /// the user chose.
    pub async fn request_verification(&self, user_id: Uuid) -> Result<()> {
        self.limit_account_mail(user_id).await?;
        let account: Option<(String, bool)> = sqlx::query_as(
            "SELECT email, email_verified_at IS NOT NULL FROM users WHERE id = $1 AND deleted_at IS NULL",
        )
        .bind(user_id)
        .fetch_optional(&self.db)
        .await?;
        let Some((email, verified)) = account else {
            return Err(Error::from(Code::UserNotFound));
        };
        if verified {
            return Err(Error::from(Code::EmailAlreadyVerified));
        }
        let mut conn = self.db.acquire().await?;
        let mail_id = mail::insert(
            &mut conn,
            NewMail {
                user_id,
                kind: MailKind::VerifyEmail,
                recipient: &email,
                new_email: None,
            },
        )
        .await?;
        self.send(mail_id).await;
        Ok(())
    }

    async fn limit_account_mail(&self, user_id: Uuid) -> Result<()> {
        let policy = &self.limits.account_mail;
        self.limits
            .limiter
            .enforce(policy, &user_id.to_string())
            .await?;
        Ok(())
    }

    /// Queues, in the caller's transaction, the notice that tells an
    /// address's owner that someone tried to use it: a few an hour per
    /// owner, past which nothing more is mailed (and nothing said).
    pub(super) async fn address_in_use_notice(
        &self,
        tx: &mut sqlx::PgConnection,
        owner: Uuid,
        address: &str,
    ) -> Result<Option<Uuid>> {
        let budget = &self.limits.account_mail;
        let subject = format!("address-in-use:{owner}");
        if self.limits.limiter.enforce(budget, &subject).await.is_err() {
            return Ok(None);
        }
        let mail = mail::insert(
            tx,
            NewMail {
                user_id: owner,
                kind: MailKind::AddressInUse,
                recipient: address,
                new_email: None,
            },
        )
        .await?;
        Ok(Some(mail))
    }

    /// Mails a reset link if a verified account uses `email`. The answer
    /// must not tell whether one does, in what it says or in how long it
    /// takes: the lookup and the mail happen after it returns. Limited per
    /// address asked about.
    pub async fn forgot_password(self: &Arc<Self>, email: Email) -> Result<()> {
        let subject = super::private_subject(email.as_str());
        self.limits
            .limiter
            .enforce(&self.limits.forgot_address, &subject)
            .await?;
        let auth = self.clone();
        tokio::spawn(async move {
            if let Err(e) = auth.mail_reset_link(&email).await {
                tracing::warn!(error = %e, "could not write a password reset mail");
            }
        });
        Ok(())
    }

    async fn mail_reset_link(&self, email: &Email) -> Result<()> {
        let Some((user_id, address)) = forgot_target(&self.db, email).await? else {
            return Ok(());
        };
        mail::send_later(
            &self.db,
            &self.outbox,
            NewMail {
                user_id,
                kind: MailKind::PasswordReset,
                recipient: &address,
                new_email: None,
            },
        )
        .await?;
        Ok(())
    }

    /// Sets a new password from a reset link: every session ends, and a
    /// notice goes to the account's address (the returned mail).
    pub async fn reset_password(&self, token: &str, new_password: &str) -> Result<()> {
        let password =
            Password::parse(new_password).map_err(|e| Error::invalid_field("new_password", e))?;
        // Hash before the transaction, so no row stays locked meanwhile.
        let password_hash = self.hasher.hash(&password).await?;
        let mut tx = self.db.begin().await?;
        let Some(redeemed) = mail::redeem(&mut tx, token, TokenPurpose::PasswordReset).await?
        else {
            return Err(invalid_token());
        };
        let email: Option<String> = sqlx::query_scalar(
            "UPDATE users SET password_hash = $2, updated_at = now()
             WHERE id = $1 AND lower(email) = lower($3) AND deleted_at IS NULL
             RETURNING email",
        )
        .bind(redeemed.user_id)
        .bind(password_hash)
        .bind(&redeemed.email)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(email) = email else {
            return Err(invalid_token());
        };
        let ended = self
            .end_all_sessions(&mut tx, redeemed.user_id, Revocation::PasswordReset)
            .await?;
        let notice = mail::insert(
            &mut tx,
            NewMail {
                user_id: redeemed.user_id,
                kind: MailKind::PasswordChanged,
                recipient: &email,
                new_email: None,
            },
        )
        .await?;
        tx.commit().await?;
        self.publish_ended(&ended).await;
        tracing::info!(user_id = %redeemed.user_id, sessions_ended = ended.len(), "password reset");
        self.send(notice).await;
        Ok(())
    }

    /// Changes the password of a signed-in user: every other session ends,
    /// reset links already mailed die, and a notice is mailed.
    pub async fn change_password(
        &self,
        user_id: Uuid,
        session_id: Uuid,
        current_password: &str,
        new_password: &str,
    ) -> Result<()> {
        let password =
            Password::parse(new_password).map_err(|e| Error::invalid_field("new_password", e))?;
        self.confirm_password(user_id, session_id, current_password)
            .await?;
        let password_hash = self.hasher.hash(&password).await?;
        let mut tx = self.db.begin().await?;
        let email: Option<String> = sqlx::query_scalar(
            "UPDATE users SET password_hash = $2, updated_at = now()
             WHERE id = $1 AND deleted_at IS NULL RETURNING email",
        )
        .bind(user_id)
        .bind(password_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(email) = email else {
            return Err(Error::from(Code::UserNotFound));
        };
        let ended =
            sessions::revoke_all_but(&mut tx, user_id, session_id, Revocation::PasswordChanged)
                .await?;
        mail::revoke_tokens(&mut tx, user_id, TokenPurpose::PasswordReset).await?;
        let notice = mail::insert(
            &mut tx,
            NewMail {
                user_id,
                kind: MailKind::PasswordChanged,
                recipient: &email,
                new_email: None,
            },
        )
        .await?;
        tx.commit().await?;
        self.publish_ended(&ended).await;
        self.send(notice).await;
        Ok(())
    }

    /// Asks for a new email address: a link goes to it, a notice to the
    /// current one; the address changes only when the link is followed.
    pub async fn change_email(
        &self,
        user_id: Uuid,
        session_id: Uuid,
        current_password: &str,
        new_email: &str,
    ) -> Result<()> {
        self.limit_account_mail(user_id).await?;
        let new_email =
            Email::parse(new_email).map_err(|e| Error::invalid_field("new_email", e))?;
        self.confirm_password(user_id, session_id, current_password)
            .await?;
        let current: Option<String> =
            sqlx::query_scalar("SELECT email FROM users WHERE id = $1 AND deleted_at IS NULL")
                .bind(user_id)
                .fetch_optional(&self.db)
                .await?;
        let Some(current) = current else {
            return Err(Error::from(Code::UserNotFound));
        };
        if current.eq_ignore_ascii_case(new_email.as_str()) {
            return Err(Error::from(Code::EmailUnchanged));
        }
        // Whoever owns the new address, the answer and the notice to the
        // current address are the same; an owner gets told instead of a link.
        let owner = crate::users::verified_owner(&self.db, new_email.as_str())
            .await?
            .filter(|owner| *owner != user_id);
        let mut tx = self.db.begin().await?;
        // Only the newest request counts.
        mail::revoke_tokens(&mut tx, user_id, TokenPurpose::EmailChange).await?;
        let link = match owner {
            Some(owner) => {
                self.address_in_use_notice(&mut tx, owner, new_email.as_str())
                    .await?
            }
            None => Some(
                mail::insert(
                    &mut tx,
                    NewMail {
                        user_id,
                        kind: MailKind::EmailChange,
                        recipient: new_email.as_str(),
                        new_email: Some(new_email.as_str()),
                    },
                )
                .await?,
            ),
        };
        let notice = mail::insert(
            &mut tx,
            NewMail {
                user_id,
                kind: MailKind::EmailChangeNotice,
                recipient: &current,
                new_email: Some(new_email.as_str()),
            },
        )
        .await?;
        tx.commit().await?;
        if let Some(link) = link {
            self.send(link).await;
        }
        self.send(notice).await;
        Ok(())
    }
}
