//! PASETO v4.local tokens. Access and refresh tokens use different keys and
//! different implicit assertions, so neither is ever accepted as the other.
//! The footer names the key (a PASERK id), so keys can rotate: the previous
//! key keeps verifying while tokens made with it live out their lifetime.

use std::time::Duration;

use pasetors::claims::{Claims, ClaimsValidationRules};
use pasetors::errors::{ClaimValidationError, Error as PasetoError};
use pasetors::footer::Footer;
use pasetors::keys::SymmetricKey;
use pasetors::paserk::{FormatAsPaserk, Id};
use pasetors::token::UntrustedToken;
use pasetors::version4::V4;
use pasetors::{Local, local};
use uuid::Uuid;

use crate::config::{Secret, TokenConfig};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    Malformed,
    Expired,
    /// Wrong key, tampered, or a token of the other kind.
    Invalid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessClaims {
    pub user_id: Uuid,
    pub session_id: Uuid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshClaims {
    pub user_id: Uuid,
    pub session_id: Uuid,
}

struct KeyRing {
    current: (String, SymmetricKey<V4>),
    current_id: Id,
    previous: Option<(String, SymmetricKey<V4>)>,
    implicit_assertion: &'static [u8],
}

impl KeyRing {
    fn new(
        current: &Secret<[u8; 32]>,
        previous: Option<&Secret<[u8; 32]>>,
        implicit_assertion: &'static [u8],
    ) -> Self {
        let current = key_with_id(current);
        Self {
            current_id: Id::from(&current.1),
            current,
            previous: previous.map(key_with_id),
            implicit_assertion,
        }
    }

    fn seal(&self, claims: &Claims) -> String {
        let (_, key) = &self.current;
        let mut footer = Footer::new();
        footer.key_id(&self.current_id);
        local::encrypt(key, claims, Some(&footer), Some(self.implicit_assertion))
            .expect("PASETO encryption cannot fail")
    }

    fn open(&self, token: &str) -> Result<Claims, TokenError> {
        let untrusted =
            UntrustedToken::<Local, V4>::try_from(token).map_err(|_| TokenError::Malformed)?;
        let kid = key_id(untrusted.untrusted_footer())?;
        let key = [Some(&self.current), self.previous.as_ref()]
            .into_iter()
            .flatten()
            .find(|(id, _)| *id == kid)
            .map(|(_, key)| key)
            .ok_or(TokenError::Invalid)?;
        let trusted = local::decrypt(
            key,
            &untrusted,
            &ClaimsValidationRules::new(),
            None,
            Some(self.implicit_assertion),
        )
        .map_err(|e| match e {
            PasetoError::ClaimValidation(ClaimValidationError::Exp) => TokenError::Expired,
            _ => TokenError::Invalid,
        })?;
        trusted.payload_claims().cloned().ok_or(TokenError::Invalid)
    }
}

/// The longest footer a token of ours can carry: `{"kid":"k4.lid.` and 43
/// characters of id.
const FOOTER_MAX_BYTES: usize = 128;

/// The key id in a footer that is not yet authenticated (decryption checks
/// it). Read with serde rather than pasetors' `Footer::parse_bytes`, which
/// compiles a regex on every call: a tenth of the CPU of an authenticated
/// request in the feed benchmark's profile.
fn key_id(footer: &[u8]) -> Result<String, TokenError> {
    #[derive(serde::Deserialize)]
    struct KeyFooter {
        kid: String,
    }
    if footer.len() > FOOTER_MAX_BYTES {
        return Err(TokenError::Malformed);
    }
    serde_json::from_slice::<KeyFooter>(footer)
        .map(|f| f.kid)
        .map_err(|_| TokenError::Malformed)
}

fn key_with_id(secret: &Secret<[u8; 32]>) -> (String, SymmetricKey<V4>) {
    let key = SymmetricKey::<V4>::from(secret.expose()).expect("32 bytes is a valid v4 key");
    let mut kid = String::new();
    Id::from(&key).fmt(&mut kid).expect("PASERK id formats");
    (kid, key)
}

pub struct Tokens {
    access: KeyRing,
    refresh: KeyRing,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
}

fn claims_for(user_id: Uuid, session_id: Uuid, ttl: Duration) -> Claims {
    let mut claims = Claims::new_expires_in(&ttl).expect("token lifetime fits");
    claims.subject(&user_id.to_string()).expect("subject");
    claims
        .add_additional("sid", session_id.to_string())
        .expect("sid claim");
    claims
        .token_identifier(&Uuid::new_v4().to_string())
        .expect("jti");
    claims
}

fn uuid_claim(claims: &Claims, name: &str) -> Result<Uuid, TokenError> {
    claims
        .get_claim(name)
        .and_then(|v| v.as_str())
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or(TokenError::Invalid)
}

impl Tokens {
    pub fn new(config: &TokenConfig) -> Self {
        Self {
            access: KeyRing::new(
                &config.access_key,
                config.previous_access_key.as_ref(),
                b"ciel:access-token",
            ),
            refresh: KeyRing::new(
                &config.refresh_key,
                config.previous_refresh_key.as_ref(),
                b"ciel:refresh-token",
            ),
            access_ttl: config.access_ttl,
            refresh_ttl: config.refresh_ttl,
        }
    }

    pub fn issue_access(&self, user_id: Uuid, session_id: Uuid) -> String {
        self.access
            .seal(&claims_for(user_id, session_id, self.access_ttl))
    }

    pub fn issue_refresh(&self, user_id: Uuid, session_id: Uuid) -> String {
        self.refresh
            .seal(&claims_for(user_id, session_id, self.refresh_ttl))
    }

    pub fn verify_access(&self, token: &str) -> Result<AccessClaims, TokenError> {
        let claims = self.access.open(token)?;
        Ok(AccessClaims {
            user_id: uuid_claim(&claims, "sub")?,
            session_id: uuid_claim(&claims, "sid")?,
        })
    }

    pub fn verify_refresh(&self, token: &str) -> Result<RefreshClaims, TokenError> {
        let claims = self.refresh.open(token)?;
        Ok(RefreshClaims {
            user_id: uuid_claim(&claims, "sub")?,
            session_id: uuid_claim(&claims, "sid")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(access: u8, refresh: u8) -> TokenConfig {
        TokenConfig {
            access_key: Secret::new([access; 32]),
            previous_access_key: None,
            refresh_key: Secret::new([refresh; 32]),
            previous_refresh_key: None,
            access_ttl: Duration::from_secs(900),
            refresh_ttl: Duration::from_secs(3600),
        }
    }

    #[test]
    fn access_tokens_round_trip() {
        let tokens = Tokens::new(&config(1, 2));
        let (user, session) = (Uuid::new_v4(), Uuid::new_v4());
        let token = tokens.issue_access(user, session);
        assert!(token.starts_with("v4.local."));
        assert_eq!(
            tokens.verify_access(&token),
            Ok(AccessClaims {
                user_id: user,
                session_id: session
            })
        );
    }

    #[test]
    fn kinds_are_not_interchangeable_even_with_equal_keys() {
        let tokens = Tokens::new(&config(7, 7));
        let access = tokens.issue_access(Uuid::new_v4(), Uuid::new_v4());
        let refresh = tokens.issue_refresh(Uuid::new_v4(), Uuid::new_v4());
        assert_eq!(tokens.verify_refresh(&access), Err(TokenError::Invalid));
        assert_eq!(tokens.verify_access(&refresh), Err(TokenError::Invalid));
    }

    #[test]
    fn wrong_key_tampering_and_garbage_are_rejected() {
        let ours = Tokens::new(&config(1, 2));
        let theirs = Tokens::new(&config(3, 4));
        let token = theirs.issue_access(Uuid::new_v4(), Uuid::new_v4());
        assert_eq!(ours.verify_access(&token), Err(TokenError::Invalid));

        let token = ours.issue_access(Uuid::new_v4(), Uuid::new_v4());
        let mut tampered = token.clone().into_bytes();
        let i = "v4.local.".len() + 40;
        tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            ours.verify_access(std::str::from_utf8(&tampered).unwrap()),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            ours.verify_access("not-a-token"),
            Err(TokenError::Malformed)
        );
        assert_eq!(ours.verify_access(""), Err(TokenError::Malformed));
    }

    #[test]
    fn expired_tokens_are_rejected_as_expired() {
        let mut cfg = config(1, 2);
        cfg.access_ttl = Duration::from_secs(1);
        let tokens = Tokens::new(&cfg);
        // Sealed by hand with an expiry in the past.
        let mut claims = claims_for(Uuid::new_v4(), Uuid::new_v4(), Duration::from_secs(1));
        claims.expiration("2020-01-01T00:00:00+00:00").unwrap();
        claims.issued_at("2019-12-31T23:00:00+00:00").unwrap();
        claims.not_before("2019-12-31T23:00:00+00:00").unwrap();
        let token = tokens.access.seal(&claims);
        assert_eq!(tokens.verify_access(&token), Err(TokenError::Expired));
    }

    #[test]
    fn previous_key_still_verifies_during_rotation() {
        let old = Tokens::new(&config(1, 2));
        let token = old.issue_access(Uuid::new_v4(), Uuid::new_v4());
        let mut rotated = config(9, 2);
        rotated.previous_access_key = Some(Secret::new([1; 32]));
        let rotated = Tokens::new(&rotated);
        assert!(rotated.verify_access(&token).is_ok());
        let fresh = rotated.issue_access(Uuid::new_v4(), Uuid::new_v4());
        assert_eq!(old.verify_access(&fresh), Err(TokenError::Invalid));
    }
}
