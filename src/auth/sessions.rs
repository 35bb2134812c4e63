//! The sessions and refresh tokens tables.

use std::time::Duration;

use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::Result;

#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "session_revocation", rename_all = "snake_case")]
pub enum Revocation {
    Logout,
    RevokedByUser,
    RefreshTokenReuse,
    Suspended,
    AccountDeleted,
    PasswordReset,
    PasswordChanged,
    /// It failed too many password confirmations (a stolen session).
    PasswordGuessing,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Session {
    pub id: Uuid,
    pub user_agent: Option<String>,
    pub created_at: OffsetDateTime,
    pub last_used_at: OffsetDateTime,
}

/// What presenting a refresh token found.
pub enum Redemption {
    /// The token was live and is now used; the session goes on.
    Redeemed { session_id: Uuid },
    /// The token had been used before: someone replayed it.
    Reused { session_id: Uuid },
    /// No such token, or its session has ended.
    Unknown,
}

const USER_AGENT_MAX_CHARS: usize = 256;

pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

pub async fn create(
    db: &mut PgConnection,
    user_id: Uuid,
    user_agent: Option<&str>,
) -> Result<Uuid> {
    let id = Uuid::now_v7();
    let user_agent = user_agent.map(|ua| ua.chars().take(USER_AGENT_MAX_CHARS).collect::<String>());
    sqlx::query("INSERT INTO auth_sessions (id, user_id, user_agent) VALUES ($1, $2, $3)")
        .bind(id)
        .bind(user_id)
        .bind(user_agent)
        .execute(db)
        .await?;
    Ok(id)
}

pub async fn store_refresh_token(
    db: &mut PgConnection,
    session_id: Uuid,
    token: &str,
) -> Result<()> {
    sqlx::query("INSERT INTO refresh_tokens (token_hash, session_id) VALUES ($1, $2)")
        .bind(token_hash(token))
        .bind(session_id)
        .execute(db)
        .await?;
    Ok(())
}

/// Marks the token used. The row lock makes this the one place where two
/// concurrent refreshes of one token are told apart: only one update
/// matches `used_at IS NULL`, the other sees a used token.
pub async fn redeem(db: &mut PgConnection, token: &str) -> Result<Redemption> {
    let hash = token_hash(token);
    let redeemed: Option<Uuid> = sqlx::query_scalar(
        "UPDATE refresh_tokens t SET used_at = now()
         FROM auth_sessions s
         WHERE t.token_hash = $1 AND t.used_at IS NULL
           AND s.id = t.session_id AND s.revoked_at IS NULL
         RETURNING t.session_id",
    )
    .bind(&hash)
    .fetch_optional(&mut *db)
    .await?;
    if let Some(session_id) = redeemed {
        return Ok(Redemption::Redeemed { session_id });
    }
    let seen: Option<(Uuid, bool)> = sqlx::query_as(
        "SELECT t.session_id, s.revoked_at IS NULL
         FROM refresh_tokens t JOIN auth_sessions s ON s.id = t.session_id
         WHERE t.token_hash = $1 AND t.used_at IS NOT NULL",
    )
    .bind(&hash)
    .fetch_optional(db)
    .await?;
    Ok(match seen {
        Some((session_id, true)) => Redemption::Reused { session_id },
        _ => Redemption::Unknown,
    })
}

pub async fn touch(db: &mut PgConnection, session_id: Uuid) -> Result<()> {
    sqlx::query("UPDATE auth_sessions SET last_used_at = now() WHERE id = $1")
        .bind(session_id)
        .execute(db)
        .await?;
    Ok(())
}

/// Drops used tokens too old to matter: they have expired, so a replay of
/// one fails on its expiry before it reaches the table.
pub async fn prune_used_tokens(
    db: &mut PgConnection,
    session_id: Uuid,
    older_than: std::time::Duration,
) -> Result<()> {
    sqlx::query(
        "DELETE FROM refresh_tokens
         WHERE session_id = $1 AND used_at IS NOT NULL
           AND issued_at < now() - make_interval(secs => $2)",
    )
    .bind(session_id)
    .bind(older_than.as_secs_f64())
    .execute(db)
    .await?;
    Ok(())
}

/// Ends a session; `owner` restricts it to that user's sessions. Returns
/// whether a live session was ended.
pub async fn revoke(
    db: &PgPool,
    session_id: Uuid,
    owner: Option<Uuid>,
    reason: Revocation,
) -> Result<bool> {
    let result = sqlx::query(
        "UPDATE auth_sessions SET revoked_at = now(), revoked_reason = $3
         WHERE id = $1 AND ($2::uuid IS NULL OR user_id = $2) AND revoked_at IS NULL",
    )
    .bind(session_id)
    .bind(owner)
    .bind(reason)
    .execute(db)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Ends every live session of a user; returns the ids that were ended.
pub async fn revoke_all(
    db: &mut PgConnection,
    user_id: Uuid,
    reason: Revocation,
) -> Result<Vec<Uuid>> {
    let ended = sqlx::query_scalar(
        "UPDATE auth_sessions SET revoked_at = now(), revoked_reason = $2
         WHERE user_id = $1 AND revoked_at IS NULL RETURNING id",
    )
    .bind(user_id)
    .bind(reason)
    .fetch_all(db)
    .await?;
    Ok(ended)
}

/// Ends every live session of a user but `keep`; returns the ids ended.
pub async fn revoke_all_but(
    db: &mut PgConnection,
    user_id: Uuid,
    keep: Uuid,
    reason: Revocation,
) -> Result<Vec<Uuid>> {
    let ended = sqlx::query_scalar(
        "UPDATE auth_sessions SET revoked_at = now(), revoked_reason = $3
         WHERE user_id = $1 AND id <> $2 AND revoked_at IS NULL RETURNING id",
    )
    .bind(user_id)
    .bind(keep)
    .bind(reason)
    .fetch_all(db)
    .await?;
    Ok(ended)
}

pub async fn is_revoked(db: &PgPool, session_id: Uuid) -> Result<bool> {
    let live: Option<bool> =
        sqlx::query_scalar("SELECT revoked_at IS NULL FROM auth_sessions WHERE id = $1")
            .bind(session_id)
            .fetch_optional(db)
            .await?;
    Ok(live != Some(true))
}

/// Sessions revoked within `window`, each with what is left of its window:
/// the revocations that access tokens still alive could run into.
pub async fn revoked_within(db: &PgPool, window: Duration) -> Result<Vec<(Uuid, Duration)>> {
    let rows: Vec<(Uuid, i64)> = sqlx::query_as(
        "SELECT id, CEIL(EXTRACT(EPOCH FROM revoked_at + make_interval(secs => $1) - now()))::bigint
         FROM auth_sessions
         WHERE revoked_at > now() - make_interval(secs => $1)",
    )
    .bind(window.as_secs_f64())
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, left)| (id, Duration::from_secs(left.max(1) as u64)))
        .collect())
}

pub async fn list_active(db: &PgPool, user_id: Uuid) -> Result<Vec<Session>> {
    let sessions = sqlx::query_as::<_, Session>(
        "SELECT id, user_agent, created_at, last_used_at FROM auth_sessions
         WHERE user_id = $1 AND revoked_at IS NULL
         ORDER BY created_at DESC",
    )
    .bind(user_id)
    .fetch_all(db)
    .await?;
    Ok(sessions)
}
