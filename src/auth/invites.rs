//! Invite codes: who may sign up when sign-up is by invitation
//! (`SIGNUP_MODE=invite`), and the invite tree (who brought whom).
//!
//! A code is 80 random bits written as 16 characters of Crockford's base32
//! in groups of four (`7KQ2-M9XD-4HV0-PZ3E`): no I, L, O or U, so it reads
//! aloud and types without ambiguity, and what a person types is forgiven
//! (any case, `O` for `0`, `I`/`L` for `1`, dashes and spaces anywhere).
//! Redeeming is one conditional UPDATE in the sign-up's transaction, so
//! a one-use code redeemed twice at once makes exactly one account.

use std::time::Duration;

use rand::RngCore as _;
use serde::Serialize;
use sqlx::PgConnection;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{Code, Error, Result};

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// 16 characters of 5 bits.
const CODE_CHARS: usize = 16;
pub const MAX_USES: i32 = 100;
pub const ADMIN_MAX_USES: i32 = 10_000;
pub const MIN_LIFETIME_DAYS: u32 = 1;
pub const MAX_LIFETIME_DAYS: u32 = 30;
/// Codes an admin mints in one call.
pub const ADMIN_BATCH_MAX: u32 = 500;

/// Whether sign-up needs an invite (`SIGNUP_MODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignupMode {
    Open,
    Invite,
}

/// A code as stored: 16 characters of the alphabet, no dashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteCode(String);

impl InviteCode {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 10];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let bits = bytes
            .iter()
            .fold(0u128, |acc, b| (acc << 8) | u128::from(*b));
        let code = (0..CODE_CHARS)
            .rev()
            .map(|i| ALPHABET[((bits >> (i * 5)) & 31) as usize] as char)
            .collect();
        Self(code)
    }

    /// What a person typed, forgiven as Crockford's base32 allows; `None`
    /// for anything that cannot be a code.
    pub fn parse(typed: &str) -> Option<Self> {
        let mut code = String::with_capacity(CODE_CHARS);
        for c in typed.chars() {
            let c = match c.to_ascii_uppercase() {
                '-' | ' ' => continue,
                'O' => '0',
                'I' | 'L' => '1',
                c if c.is_ascii() && ALPHABET.contains(&(c as u8)) => c,
                _ => return None,
            };
            if code.len() == CODE_CHARS {
                return None;
            }
            code.push(c);
        }
        (code.len() == CODE_CHARS).then_some(Self(code))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Grouped by four, as shown and shared.
    pub fn display(&self) -> String {
        self.0
            .as_bytes()
            .chunks(4)
            .map(|c| std::str::from_utf8(c).expect("ASCII"))
            .collect::<Vec<_>>()
            .join("-")
    }
}

/// One error for a code that is unknown, used up, revoked or expired: a
/// guesser learns nothing from which.
pub fn invite_invalid() -> Error {
    Error::from(Code::InviteInvalid)
}

/// An invite as its inviter (or an admin) sees it.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Invite {
    /// Shown grouped by four; any case and dashes are accepted back.
    #[schema(example = "7KQ2-M9XD-4HV0-PZ3E")]
    pub code: String,
    pub max_uses: i32,
    pub uses: i32,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl Invite {
    fn shown(mut self) -> Self {
        if let Some(code) = InviteCode::parse(&self.code) {
            self.code = code.display();
        }
        self
    }
}

/// What a new invite is.
pub struct NewInvite {
    pub inviter: Option<Uuid>,
    pub max_uses: i32,
    pub lifetime: Duration,
    /// An admin's label for a batch (App Review, beta testers).
    pub note: Option<String>,
}

/// Mints one invite. A user's invites count against their quota first.
pub async fn mint(conn: &mut PgConnection, new: &NewInvite) -> Result<Invite> {
    let code = InviteCode::generate();
    let invite = sqlx::query_as::<_, Invite>(
        "INSERT INTO invites (code, inviter_id, max_uses, expires_at, note)
         VALUES ($1, $2, $3, now() + make_interval(secs => $4), $5)
         RETURNING code, max_uses, uses, expires_at, revoked_at, created_at",
    )
    .bind(code.as_str())
    .bind(new.inviter)
    .bind(new.max_uses)
    .bind(new.lifetime.as_secs_f64())
    .bind(&new.note)
    .fetch_one(conn)
    .await?;
    Ok(invite.shown())
}

/// How many invites `user` may still mint in the current period, and when
/// the oldest one of the period stops counting.
pub async fn quota_left(
    conn: &mut PgConnection,
    user: Uuid,
    quota: u32,
    period: Duration,
) -> Result<(u32, Option<OffsetDateTime>)> {
    let (minted, oldest): (i64, Option<OffsetDateTime>) = sqlx::query_as(
        "SELECT count(*), min(created_at) FROM invites
         WHERE inviter_id = $1 AND created_at > now() - make_interval(secs => $2)",
    )
    .bind(user)
    .bind(period.as_secs_f64())
    .fetch_one(conn)
    .await?;
    let left = u32::try_from(i64::from(quota) - minted).unwrap_or(0);
    Ok((left, oldest.map(|t| t + period)))
}

/// Mints an invite for `user` within their quota: the count and the insert
/// under a lock on the user's row, so two at once cannot both take the last.
pub async fn mint_within_quota(
    db: &sqlx::PgPool,
    new: &NewInvite,
    quota: u32,
    period: Duration,
) -> Result<Invite> {
    let user = new.inviter.expect("a user's invite");
    let mut tx = db.begin().await?;
    sqlx::query("SELECT 1 FROM users WHERE id = $1 FOR UPDATE")
        .bind(user)
        .execute(&mut *tx)
        .await?;
    let (left, next) = quota_left(&mut tx, user, quota, period).await?;
    if left == 0 {
        let when = next
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .map(|t| format!(" until {t}"))
            .unwrap_or_default();
        return Err(Code::InviteQuotaExhausted.with_message(format!(
            "you have used your {quota} invites of this period; no more{when}"
        )));
    }
    let invite = mint(&mut tx, new).await?;
    tx.commit().await?;
    Ok(invite)
}

/// The invite a sign-up used: counted, and who it came from.
pub struct Redeemed {
    pub invite_id: Uuid,
    pub inviter: Option<Uuid>,
}

/// What makes a code work, over a row of `invites` named `i`: the one
/// definition the sign-up and the preview share.
pub const LIVE_SQL: &str = "i.revoked_at IS NULL AND i.expires_at > now() AND i.uses < i.max_uses";

/// Takes one use of `code`, in the sign-up's transaction.
pub async fn redeem(conn: &mut PgConnection, code: &InviteCode) -> Result<Redeemed> {
    let sql = format!(
        "UPDATE invites i SET uses = uses + 1 WHERE i.code = $1 AND {LIVE_SQL}
         RETURNING i.id, i.inviter_id"
    );
    let row: Option<(Uuid, Option<Uuid>)> = sqlx::query_as(&sql)
        .bind(code.as_str())
        .fetch_optional(conn)
        .await?;
    let (invite_id, inviter) = row.ok_or_else(invite_invalid)?;
    Ok(Redeemed { invite_id, inviter })
}

/// Records who invited the new account.
pub async fn record(conn: &mut PgConnection, user: Uuid, redeemed: &Redeemed) -> Result<()> {
    sqlx::query("UPDATE users SET invite_id = $2, invited_by = $3 WHERE id = $1")
        .bind(user)
        .bind(redeemed.invite_id)
        .bind(redeemed.inviter)
        .execute(conn)
        .await?;
    Ok(())
}

/// Invites listed at once, newest first.
pub const LISTED_MAX: i64 = 100;

/// `owner`'s invites, newest first.
pub async fn mine(db: &sqlx::PgPool, owner: Uuid) -> Result<Vec<Invite>> {
    let invites = sqlx::query_as::<_, Invite>(
        "SELECT code, max_uses, uses, expires_at, revoked_at, created_at FROM invites
         WHERE inviter_id = $1 ORDER BY created_at DESC LIMIT $2",
    )
    .bind(owner)
    .bind(LISTED_MAX)
    .fetch_all(db)
    .await?;
    Ok(invites.into_iter().map(Invite::shown).collect())
}

/// Ends one of `owner`'s invites; the accounts it made stay.
pub async fn revoke(db: &sqlx::PgPool, owner: Uuid, code: &str) -> Result<()> {
    let code = InviteCode::parse(code).ok_or_else(invite_not_found)?;
    let found = sqlx::query(
        "UPDATE invites SET revoked_at = COALESCE(revoked_at, now())
         WHERE code = $1 AND inviter_id = $2",
    )
    .bind(code.as_str())
    .bind(owner)
    .execute(db)
    .await?
    .rows_affected();
    if found == 0 {
        return Err(invite_not_found());
    }
    Ok(())
}

fn invite_not_found() -> Error {
    Error::from(Code::InviteNotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_carry_80_bits_in_an_unambiguous_alphabet() {
        let codes: std::collections::HashSet<String> = (0..2000)
            .map(|_| InviteCode::generate().as_str().to_string())
            .collect();
        assert_eq!(codes.len(), 2000);
        for code in &codes {
            assert_eq!(code.len(), 16);
            assert!(!code.contains(['I', 'L', 'O', 'U']), "{code}");
        }
        // Every character position takes every symbol: all 80 bits vary.
        for position in 0..16 {
            let seen: std::collections::HashSet<u8> =
                codes.iter().map(|c| c.as_bytes()[position]).collect();
            assert_eq!(seen.len(), 32, "position {position}");
        }
    }

    #[test]
    fn typed_codes_are_forgiven_and_anything_else_refused() {
        let code = InviteCode::parse("7KQ2-M9XD-4HV0-PZ3E").unwrap();
        assert_eq!(code.as_str(), "7KQ2M9XD4HV0PZ3E");
        assert_eq!(code.display(), "7KQ2-M9XD-4HV0-PZ3E");
        assert_eq!(InviteCode::parse("7kq2 m9xd 4hvo pz3e"), Some(code.clone()));
        assert_eq!(
            InviteCode::parse("IL00-0000-0000-0000").unwrap().as_str(),
            "1100000000000000"
        );
        for bad in [
            "",
            "7KQ2-M9XD-4HV0",
            "7KQ2-M9XD-4HV0-PZ3E-0",
            "7KQ2-M9XD-4HV0-PZ3U",
            "7KQ2·M9XD4HV0PZ3E",
        ] {
            assert_eq!(InviteCode::parse(bad), None, "{bad}");
        }
    }
}
