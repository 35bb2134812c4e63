//! The single-use tokens account mails carry: minted at sending time, only
//! their SHA-256 stored, spent once.

use base64::Engine as _;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use uuid::Uuid;

use super::TokenPurpose;
use crate::error::Result;

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
/// reset links sent before it useless), and settles the mails of that
/// purpose still waiting to go out: a link minted late, after it was
/// superseded, would otherwise still work (issue 25, finding 4).
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
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE mail_outbox SET status = 'expired', last_error = 'superseded'
         WHERE user_id = $1 AND kind = $2 AND status = 'pending'",
    )
    .bind(user_id)
    .bind(purpose.mail_kind())
    .execute(&mut *tx)
    .await?;
    Ok(())
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
