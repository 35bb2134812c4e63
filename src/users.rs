//! Accounts: the parsed forms of what users type in, and the users table.

use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{Code, OnConstraint, Result};

/// 3 to 30 of `[a-z0-9_]`. Input is lower-cased first, so `Alice` and
/// `alice` are the same handle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handle(String);

impl Handle {
    pub fn parse(raw: &str) -> Result<Self, String> {
        // No trimming: the OpenAPI pattern says exactly what is a handle.
        let handle = raw.to_lowercase();
        let len = handle.chars().count();
        if !(3..=30).contains(&len) {
            return Err("must be 3 to 30 characters".into());
        }
        if !handle
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err("may contain only letters a-z, digits and underscores".into());
        }
        Ok(Handle(handle))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An email address, kept as typed (trimmed); compared case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let email = raw.trim();
        let invalid = || "must be a valid email address".to_string();
        if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let (local, domain) = email.rsplit_once('@').ok_or_else(invalid)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !domain.contains('@');
        if local.is_empty() || local.len() > 64 || !domain_ok {
            return Err(invalid());
        }
        Ok(Email(email.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// 10 to 128 characters. Never logged, never echoed back.
pub struct Password(String);

impl Password {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let len = raw.chars().count();
        if !(10..=128).contains(&len) {
            return Err("must be 10 to 128 characters".into());
        }
        Ok(Password(raw.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

/// Up to 50 characters, no control characters; empty means none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(raw: &str) -> Result<Option<Self>, String> {
        // Judged as sent, as the OpenAPI constraints say; stored trimmed.
        if raw.chars().count() > 50 {
            return Err("must be at most 50 characters".into());
        }
        if raw.chars().any(char::is_control) {
            return Err("may not contain control characters".into());
        }
        let name = raw.trim();
        if name.is_empty() {
            return Ok(None);
        }
        Ok(Some(DisplayName(name.to_string())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct User {
    pub id: Uuid,
    pub handle: String,
    pub email: String,
    pub display_name: Option<String>,
    pub created_at: OffsetDateTime,
    /// The address was proven by a mailed link.
    pub email_verified: bool,
}

/// A user with the password hash, for login only.
#[derive(sqlx::FromRow)]
pub struct Credentials {
    pub id: Uuid,
    pub password_hash: String,
    /// Suspended by a moderator: the password is right, but no sign-in.
    pub suspended: bool,
}

pub struct NewUser {
    pub handle: Handle,
    pub email: Email,
    pub display_name: Option<DisplayName>,
    pub password_hash: String,
}

pub async fn insert(db: &mut sqlx::PgConnection, new: NewUser) -> Result<User> {
    let user = sqlx::query_as::<_, User>(
        "INSERT INTO users (id, handle, email, display_name, password_hash)
         VALUES ($1, $2, $3, $4, $5)
         RETURNING id, handle, email, display_name, created_at, email_verified_at IS NOT NULL AS email_verified",
    )
    .bind(Uuid::now_v7())
    .bind(new.handle.as_str())
    .bind(new.email.as_str())
    .bind(new.display_name.map(|d| d.0))
    .bind(new.password_hash)
    .fetch_one(db)
    .await
    .on_constraint(&[
        ("users_handle_key", Code::HandleTaken),
        ("users_email_key", Code::EmailTaken),
    ])?;
    Ok(user)
}

pub async fn find(db: &PgPool, id: Uuid) -> Result<User> {
    sqlx::query_as::<_, User>(
        "SELECT id, handle, email, display_name, created_at, email_verified_at IS NOT NULL AS email_verified
         FROM users WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(db)
    .await?
    .ok_or_else(|| Code::UserNotFound.with_message("this user does not exist"))
}

/// The account that verified `address`, if any: the only one an address
/// belongs to.
pub async fn verified_owner<'e>(
    db: impl sqlx::PgExecutor<'e>,
    address: &str,
) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar(
        "SELECT id FROM users
         WHERE lower(email) = lower($1) AND email_verified_at IS NOT NULL AND deleted_at IS NULL",
    )
    .bind(address)
    .fetch_optional(db)
    .await
}

/// Looks a login up by email or by handle, both case-insensitively. An
/// address signs in its verified owner; one nobody verified, the oldest
/// account that gave it (the others sign in by handle).
pub async fn credentials_for_login(db: &PgPool, login: &str) -> Result<Option<Credentials>> {
    let login = login.trim();
    // No email or handle holds a NUL, and PostgreSQL cannot even compare one.
    if login.contains('\0') {
        return Ok(None);
    }
    let found = if login.contains('@') {
        sqlx::query_as::<_, Credentials>(
            "SELECT id, password_hash, suspended_at IS NOT NULL AS suspended FROM users
             WHERE lower(email) = lower($1) AND deleted_at IS NULL
             ORDER BY email_verified_at IS NULL, created_at
             LIMIT 1",
        )
        .bind(login)
        .fetch_optional(db)
        .await?
    } else {
        sqlx::query_as::<_, Credentials>(
            "SELECT id, password_hash, suspended_at IS NOT NULL AS suspended FROM users
             WHERE handle = lower($1) AND deleted_at IS NULL",
        )
        .bind(login)
        .fetch_optional(db)
        .await?
    };
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles() {
        assert_eq!(Handle::parse("Alice_99").unwrap().as_str(), "alice_99");
        for bad in [
            "ab",
            "a".repeat(31).as_str(),
            "with space",
            "émile",
            "dash-ed",
            "",
        ] {
            assert!(Handle::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Handle::parse(&"a".repeat(30)).is_ok());
    }

    #[test]
    fn emails() {
        assert!(Email::parse(" Alice@Example.org ").is_ok());
        for bad in [
            "",
            "plain",
            "@example.org",
            "a@b",
            "a@.org",
            "a@example.",
            "a b@example.org",
            "a@ex..org",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn passwords() {
        assert!(Password::parse("123456789").is_err());
        assert!(Password::parse("1234567890").is_ok());
        assert!(Password::parse(&"x".repeat(128)).is_ok());
        assert!(Password::parse(&"x".repeat(129)).is_err());
        assert_eq!(
            format!("{:?}", Password::parse("hunter2hunter2").unwrap()),
            "Password(***)"
        );
    }

    #[test]
    fn display_names() {
        assert_eq!(DisplayName::parse("  ").unwrap(), None);
        assert!(DisplayName::parse("Ana\u{7}").is_err());
        assert!(DisplayName::parse(&"n".repeat(51)).is_err());
    }
}
