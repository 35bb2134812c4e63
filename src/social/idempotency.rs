//! `Idempotency-Key`: a retried create returns the first result instead of
//! creating again. Keys are per user and kept 24 hours.
//!
//! The key's row is inserted first, in the transaction that creates the
//! resource: a concurrent retry blocks on it until that transaction ends,
//! then finds the stored outcome (or, if it rolled back, takes over).

use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::{Code, Error, Result};

pub const KEY_MAX_CHARS: usize = 255;

/// A client-chosen key: 1 to 255 visible ASCII characters.
#[derive(Debug, Clone)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(raw: &str) -> Result<Self> {
        if raw.is_empty() || raw.len() > KEY_MAX_CHARS || !raw.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(Code::InvalidIdempotencyKey.into());
        }
        Ok(IdempotencyKey(raw.to_string()))
    }
}

/// A fingerprint of the request a key was first used with.
pub fn fingerprint(request: &Value) -> Vec<u8> {
    Sha256::digest(request.to_string().as_bytes()).to_vec()
}

/// What a key's first use left behind.
pub struct Stored {
    pub status: u16,
    pub resource_id: Option<Uuid>,
    pub response: Value,
}

pub enum Claim {
    /// First use: go ahead, then `complete`.
    New,
    /// Seen before with the same request.
    Replay(Stored),
}

/// Claims `key` for `user` within `tx`.
pub async fn claim(
    tx: &mut sqlx::PgConnection,
    user: Uuid,
    key: &IdempotencyKey,
    fingerprint: &[u8],
) -> Result<Claim> {
    // Keys older than a day are forgotten, so a key may be reused after it.
    sqlx::query(
        "DELETE FROM idempotency_keys
         WHERE user_id = $1 AND key = $2 AND created_at < now() - interval '24 hours'",
    )
    .bind(user)
    .bind(&key.0)
    .execute(&mut *tx)
    .await?;
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (user_id, key, request_hash) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING",
    )
    .bind(user)
    .bind(&key.0)
    .bind(fingerprint)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if inserted {
        return Ok(Claim::New);
    }
    let (hash, status, resource_id, response): (Vec<u8>, i16, Option<Uuid>, Value) =
        sqlx::query_as(
            "SELECT request_hash, status_code, resource_id, response FROM idempotency_keys
         WHERE user_id = $1 AND key = $2",
        )
        .bind(user)
        .bind(&key.0)
        .fetch_one(&mut *tx)
        .await?;
    if hash != fingerprint {
        return Err(Error::from(Code::IdempotencyKeyReused));
    }
    Ok(Claim::Replay(Stored {
        status: status as u16,
        resource_id,
        response,
    }))
}

/// Stores the outcome of a key's first use, in the same transaction.
pub async fn complete(
    tx: &mut sqlx::PgConnection,
    user: Uuid,
    key: &IdempotencyKey,
    stored: &Stored,
) -> Result<()> {
    sqlx::query(
        "UPDATE idempotency_keys SET status_code = $3, resource_id = $4, response = $5
         WHERE user_id = $1 AND key = $2",
    )
    .bind(user)
    .bind(&key.0)
    .bind(stored.status as i16)
    .bind(stored.resource_id)
    .bind(&stored.response)
    .execute(tx)
    .await?;
    Ok(())
}

/// Forgets keys past their day, a batch at a time.
pub async fn prune(db: &sqlx::PgPool) -> Result<u64> {
    let pruned = sqlx::query(
        "DELETE FROM idempotency_keys WHERE ctid IN (
             SELECT ctid FROM idempotency_keys WHERE created_at < now() - interval '24 hours'
             LIMIT 1000)",
    )
    .execute(db)
    .await?
    .rows_affected();
    Ok(pruned)
}
