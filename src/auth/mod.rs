//! Sign-up, sign-in and device sessions for the mobile apps.

pub mod invites;
pub mod password;
pub mod recovery;
pub mod revocations;
pub mod sessions;
pub mod tokens;

use sqlx::PgPool;
use uuid::Uuid;

use std::sync::Arc;

use crate::config::{Policy, RateLimitConfig, SignInThrottle};
use crate::error::{Code, Error, FieldErrors, Result};
use crate::infra::queue::Queue;
use crate::ratelimit::{RateLimiter, sign_in_policy};
use crate::users::{self, DisplayName, Email, Handle, NewUser, Password, User};
use password::Hasher;
use revocations::Revocations;
pub use sessions::Revocation;
use sessions::{Redemption, Session};
use tokens::{AccessClaims, TokenError, Tokens};

pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: u64,
}

pub struct Registration {
    pub handle: Handle,
    pub email: Email,
    pub password: Password,
    pub display_name: Option<DisplayName>,
    /// The invite it came with; any code that cannot be one is `Invalid`.
    pub invite: Option<Result<invites::InviteCode, ()>>,
}

impl Registration {
    /// Checks every field and reports all problems at once.
    pub fn parse(
        handle: &str,
        email: &str,
        password: &str,
        display_name: Option<&str>,
    ) -> Result<Self> {
        let mut errors = FieldErrors::default();
        let handle = Handle::parse(handle)
            .map_err(|e| errors.add("handle", e))
            .ok();
        let email = Email::parse(email).map_err(|e| errors.add("email", e)).ok();
        let password = Password::parse(password)
            .map_err(|e| errors.add("password", e))
            .ok();
        let display_name = DisplayName::parse(display_name.unwrap_or(""))
            .map_err(|e| errors.add("display_name", e))
            .ok()
            .flatten();
        match (handle, email, password) {
            (Some(handle), Some(email), Some(password)) if errors.is_empty() => Ok(Registration {
                handle,
                email,
                password,
                display_name,
                invite: None,
            }),
            _ => Err(Error::Validation(errors)),
        }
    }
}

fn invalid_credentials() -> Error {
    Error::from(Code::InvalidCredentials)
}

fn invalid_refresh_token() -> Error {
    Error::from(Code::InvalidRefreshToken)
}

pub struct Auth {
    db: PgPool,
    hasher: Hasher,
    tokens: Tokens,
    revocations: Revocations,
    /// Where the account mails' send jobs go.
    outbox: Queue,
    limits: AccountLimits,
}

/// The budgets of the account operations, counted by the shared limiter.
pub struct AccountLimits {
    pub limiter: Arc<RateLimiter>,
    pub sign_in: SignInThrottle,
    /// Refreshes per session.
    pub refresh_session: Policy,
    /// Reset requests per address asked about.
    pub forgot_address: Policy,
    /// Verification resends and email changes per user.
    pub account_mail: Policy,
}

impl AccountLimits {
    pub fn new(limiter: Arc<RateLimiter>, limits: &RateLimitConfig) -> Self {
        Self {
            limiter,
            sign_in: limits.sign_in.clone(),
            refresh_session: limits.refresh_session.clone(),
            forgot_address: limits.forgot_address.clone(),
            account_mail: limits.account_mail.clone(),
        }
    }
}

impl Auth {
    pub fn new(
        db: PgPool,
        hasher: Hasher,
        tokens: Tokens,
        revocations: Revocations,
        outbox: Queue,
        limits: AccountLimits,
    ) -> Self {
        Self {
            db,
            hasher,
            tokens,
            revocations,
            outbox,
            limits,
        }
    }

    /// Queues the send job of a mail written to the outbox.
    async fn send(&self, mail_id: Uuid) {
        crate::mail::queue_mail(&self.db, &self.outbox, mail_id).await;
    }

    /// Creates the account and its first session, and mails the
    /// verification link.
    pub async fn register(
        &self,
        registration: Registration,
        mode: invites::SignupMode,
        user_agent: Option<&str>,
    ) -> Result<(User, TokenPair)> {
        let invite = match (&registration.invite, mode) {
            (None, invites::SignupMode::Invite) => return Err(Error::from(Code::InviteRequired)),
            (None, invites::SignupMode::Open) => None,
            (Some(Err(())), _) => return Err(invites::invite_invalid()),
            (Some(Ok(code)), _) => Some(code.clone()),
        };
        let password_hash = self.hasher.hash(&registration.password).await?;
        let mut tx = self.db.begin().await?;
        // First: a code that does not redeem writes nothing.
        let redeemed = match &invite {
            Some(code) => Some(invites::redeem(&mut tx, code).await?),
            None => None,
        };
        let user = users::insert(
            &mut tx,
            NewUser {
                handle: registration.handle,
                email: registration.email,
                display_name: registration.display_name,
                password_hash,
            },
        )
        .await?;
        if let Some(redeemed) = &redeemed {
            invites::record(&mut tx, user.id, redeemed).await?;
        }
        let pair = self.start_session(&mut tx, user.id, user_agent).await?;
        // The answer is the same whoever owns the address; its owner is told.
        let mail = match users::verified_owner(&mut *tx, &user.email).await? {
            Some(owner) => {
                self.address_in_use_notice(&mut tx, owner, &user.email)
                    .await?
            }
            None => Some(
                crate::mail::insert(
                    &mut tx,
                    crate::mail::NewMail {
                        user_id: user.id,
                        kind: crate::mail::MailKind::VerifyEmail,
                        recipient: &user.email,
                        new_email: None,
                    },
                )
                .await?,
            ),
        };
        tx.commit().await?;
        if let Some(mail) = mail {
            self.send(mail).await;
        }
        Ok((user, pair))
    }

    /// Signs in, within the sign-in throttle of the account and the
    /// client's network (see `ratelimit::SignInThrottle`).
    pub async fn login(
        &self,
        login: &str,
        password: &str,
        user_agent: Option<&str>,
        network: &str,
    ) -> Result<(User, TokenPair)> {
        let account = self.sign_in_subject(login).await?;
        let (limiter, throttle) = (&self.limits.limiter, &self.limits.sign_in);
        if let Some(wait) = limiter.sign_in_wait(throttle, &account, network).await {
            return Err(Error::RateLimited {
                policy: sign_in_policy(wait),
                retry_after: wait,
            });
        }
        let result = self.check_credentials(login, password, user_agent).await;
        match &result {
            Ok(_) => limiter.sign_in_succeeded(&account, network).await,
            Err(e) if e.code() == Code::InvalidCredentials => {
                limiter.sign_in_failed(throttle, &account, network).await
            }
            Err(_) => {}
        }
        result
    }

    async fn check_credentials(
        &self,
        login: &str,
        password: &str,
        user_agent: Option<&str>,
    ) -> Result<(User, TokenPair)> {
        let credentials = users::credentials_for_login(&self.db, login).await?;
        let valid = self
            .hasher
            .verify(
                password,
                credentials.as_ref().map(|c| c.password_hash.as_str()),
            )
            .await?;
        let Some(credentials) = credentials.filter(|_| valid) else {
            return Err(invalid_credentials());
        };
        if credentials.suspended {
            return Err(Error::from(Code::AccountSuspended));
        }
        let mut tx = self.db.begin().await?;
        let pair = self
            .start_session(&mut tx, credentials.id, user_agent)
            .await?;
        tx.commit().await?;
        Ok((users::find(&self.db, credentials.id).await?, pair))
    }

    async fn start_session(
        &self,
        tx: &mut sqlx::PgConnection,
        user_id: Uuid,
        user_agent: Option<&str>,
    ) -> Result<TokenPair> {
        let session_id = sessions::create(tx, user_id, user_agent).await?;
        self.issue_pair(tx, user_id, session_id).await
    }

    async fn issue_pair(
        &self,
        tx: &mut sqlx::PgConnection,
        user_id: Uuid,
        session_id: Uuid,
    ) -> Result<TokenPair> {
        let refresh_token = self.tokens.issue_refresh(user_id, session_id);
        sessions::store_refresh_token(tx, session_id, &refresh_token).await?;
        Ok(TokenPair {
            access_token: self.tokens.issue_access(user_id, session_id),
            refresh_token,
            expires_in: self.tokens.access_ttl.as_secs(),
        })
    }

    /// Rotates a refresh token. A token presented twice ends its session,
    /// so the thief's and the victim's newest tokens both stop working.
    /// Limited per session: each refresh leaves a row for the refresh lifetime.
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair> {
        if let Some(session_id) = self.peek_refresh_session(refresh_token) {
            let policy = &self.limits.refresh_session;
            self.limits
                .limiter
                .enforce(policy, &session_id.to_string())
                .await?;
        }
        let claims = self
            .tokens
            .verify_refresh(refresh_token)
            .map_err(|e| match e {
                TokenError::Expired => Error::from(Code::RefreshTokenExpired),
                TokenError::Malformed | TokenError::Invalid => invalid_refresh_token(),
            })?;
        let mut tx = self.db.begin().await?;
        match sessions::redeem(&mut tx, refresh_token).await? {
            Redemption::Redeemed { session_id } if session_id == claims.session_id => {
                sessions::touch(&mut tx, session_id).await?;
                sessions::prune_used_tokens(&mut tx, session_id, self.tokens.refresh_ttl).await?;
                let pair = self.issue_pair(&mut tx, claims.user_id, session_id).await?;
                tx.commit().await?;
                Ok(pair)
            }
            Redemption::Reused { session_id } => {
                tx.rollback().await?;
                tracing::warn!(%session_id, user_id = %claims.user_id, "refresh token reused; revoking the session");
                self.end_session(session_id, None, Revocation::RefreshTokenReuse)
                    .await?;
                Err(Error::from(Code::RefreshTokenReused))
            }
            Redemption::Redeemed { .. } | Redemption::Unknown => Err(invalid_refresh_token()),
        }
    }

    pub async fn logout(&self, claims: AccessClaims) -> Result<()> {
        self.end_session(claims.session_id, Some(claims.user_id), Revocation::Logout)
            .await?;
        Ok(())
    }

    pub async fn sessions(&self, user_id: Uuid) -> Result<Vec<Session>> {
        sessions::list_active(&self.db, user_id).await
    }

    /// Revokes one of the user's own sessions; someone else's is not found.
    pub async fn revoke_session(&self, user_id: Uuid, session_id: Uuid) -> Result<()> {
        if self
            .end_session(session_id, Some(user_id), Revocation::RevokedByUser)
            .await?
        {
            Ok(())
        } else {
            Err(Error::from(Code::SessionNotFound))
        }
    }

    async fn end_session(
        &self,
        session_id: Uuid,
        owner: Option<Uuid>,
        reason: Revocation,
    ) -> Result<bool> {
        let ended = sessions::revoke(&self.db, session_id, owner, reason).await?;
        if ended {
            self.revocations.publish(session_id).await;
        }
        Ok(ended)
    }

    /// Ends every session of a user inside `tx` (with the change that
    /// warrants it); call `publish_ended` once `tx` has committed.
    pub async fn end_all_sessions(
        &self,
        tx: &mut sqlx::PgConnection,
        user_id: Uuid,
        reason: Revocation,
    ) -> Result<Vec<Uuid>> {
        sessions::revoke_all(tx, user_id, reason).await
    }

    /// Tells the other API processes about sessions ended in the database.
    pub async fn publish_ended(&self, sessions: &[Uuid]) {
        for session_id in sessions {
            self.revocations.publish(*session_id).await;
        }
    }

    /// Confirms the password of a signed-in user before a change that needs
    /// it (password, email, deletion). A stolen session must not become a
    /// password oracle: each failure counts in the account's sign-in
    /// back-off, the session standing for the network, and the
    /// [`CONFIRMATION_FAILURES`]th within an hour ends the session.
    pub async fn confirm_password(
        &self,
        user_id: Uuid,
        session_id: Uuid,
        password: &str,
    ) -> Result<()> {
        let account = user_id.to_string();
        let network = format!("session-{session_id}");
        let (limiter, throttle) = (&self.limits.limiter, &self.limits.sign_in);
        if let Some(wait) = limiter.sign_in_wait(throttle, &account, &network).await {
            return Err(Error::RateLimited {
                policy: sign_in_policy(wait),
                retry_after: wait,
            });
        }
        if self.check_password(user_id, password).await? {
            limiter.sign_in_succeeded(&account, &network).await;
            return Ok(());
        }
        limiter.sign_in_failed(throttle, &account, &network).await;
        let failures = limiter
            .check(&confirmation_policy(), &session_id.to_string())
            .await;
        if !failures.allowed {
            tracing::warn!(%user_id, %session_id, "password confirmations kept failing; session ended");
            self.end_session(session_id, Some(user_id), Revocation::PasswordGuessing)
                .await?;
            return Err(Code::SessionRevoked.into());
        }
        Err(Code::WrongPassword.into())
    }

    /// Checks a user's password without signing in, for confirmations.
    pub async fn check_password(&self, user_id: Uuid, password: &str) -> Result<bool> {
        let hash: Option<String> =
            sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
                .bind(user_id)
                .fetch_optional(&self.db)
                .await?;
        Ok(self.hasher.verify(password, hash.as_deref()).await?)
    }

    /// Checks an access token: its seal, its expiry and its session.
    pub async fn authenticate(&self, access_token: &str) -> Result<AccessClaims> {
        let claims = self
            .tokens
            .verify_access(access_token)
            .map_err(|e| match e {
                TokenError::Expired => Error::from(Code::TokenExpired),
                TokenError::Malformed | TokenError::Invalid => Error::from(Code::InvalidToken),
            })?;
        if self.revocations.is_revoked(claims.session_id).await? {
            return Err(Error::from(Code::SessionRevoked));
        }
        Ok(claims)
    }

    /// The session of a well-sealed refresh token, unchecked otherwise:
    /// enough to key a rate limit.
    fn peek_refresh_session(&self, refresh_token: &str) -> Option<Uuid> {
        self.tokens
            .verify_refresh(refresh_token)
            .ok()
            .map(|c| c.session_id)
    }

    /// What sign-in attempts with `login` are counted under: the account's
    /// id when it exists (its email and handle are one account), else a
    /// digest of the login as typed, so that unknown logins are throttled
    /// alike and no address is written to Redis.
    async fn sign_in_subject(&self, login: &str) -> Result<String> {
        Ok(match users::credentials_for_login(&self.db, login).await? {
            Some(credentials) => credentials.id.to_string(),
            None => format!("unknown-{}", private_subject(login.trim())),
        })
    }

    /// The user id in a well-sealed access token, without the session check:
    /// enough to key a rate limit.
    pub fn peek_user(&self, access_token: &str) -> Option<Uuid> {
        self.tokens
            .verify_access(access_token)
            .ok()
            .map(|c| c.user_id)
    }
}

/// A rate-limit subject for text that must not reach Redis (an address, a
/// login): 16 bytes of its SHA-256, case folded, in hex.
fn private_subject(text: &str) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(text.to_lowercase().as_bytes());
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// Failed password confirmations that end the session making them.
pub const CONFIRMATION_FAILURES: u64 = 5;

fn confirmation_policy() -> Policy {
    Policy {
        name: "password_confirmation",
        quota: CONFIRMATION_FAILURES - 1,
        window: std::time::Duration::from_secs(3600),
    }
}
