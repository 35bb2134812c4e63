//! The devices an app registers for push, each bound to the session that
//! registered it (a trigger removes them when the session ends).

use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Environment, Provider};
use crate::error::{FieldErrors, Result};

/// What an app sends to register its installation.
#[derive(Debug, Deserialize, ToSchema)]
pub struct Registration {
    pub provider: Provider,
    /// The APNs device token (64 to 200 hex digits) or the FCM registration
    /// token (20 to 4096 letters, digits, `-`, `_`, `:` or `.`); a token
    /// that is not one of the provider named is 400 `invalid_device_token`.
    #[schema(min_length = 1, max_length = 4096)]
    pub token: String,
    /// APNs only: which APNs host the token belongs to (default
    /// `production`); `sandbox` with FCM is 400 `invalid_device_token`.
    pub environment: Option<Environment>,
    #[schema(max_length = 64, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    pub app_version: Option<String>,
    /// A BCP 47 tag, e.g. `fr-FR`; empty is none.
    #[schema(max_length = 35, pattern = "^[A-Za-z0-9_-]*$")]
    pub locale: Option<String>,
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct Device {
    pub id: Uuid,
    pub installation_id: String,
    pub provider: Provider,
    pub environment: Environment,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

fn visible_ascii(s: &str, extra: &[u8]) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || extra.contains(&b))
}

/// Checks an installation id (a path segment) and a registration.
fn validate(installation_id: &str, r: &Registration) -> Result<()> {
    let mut errors = FieldErrors::default();
    if installation_id.is_empty()
        || installation_id.len() > 128
        || !visible_ascii(installation_id, b"-_.")
    {
        errors.add(
            "installation_id",
            "1 to 128 letters, digits, `-`, `_` or `.`",
        );
    }
    // What the document cannot say (it depends on the provider) is a 400.
    let token = r.token.trim();
    let mismatch = match r.provider {
        Provider::Apns => (token.len() < 64
            || token.len() > 200
            || !token.len().is_multiple_of(2)
            || !token.bytes().all(|b| b.is_ascii_hexdigit()))
        .then_some("an APNs device token is 64 to 200 hex digits"),
        Provider::Fcm if r.environment == Some(Environment::Sandbox) => {
            Some("FCM has no sandbox; leave `environment` out")
        }
        Provider::Fcm => (token.len() < 20 || token.len() > 4096 || !visible_ascii(token, b"-_:."))
            .then_some(
                "an FCM registration token is 20 to 4096 letters, digits, `-`, `_`, `:` or `.`",
            ),
    };
    if r.app_version
        .as_deref()
        .is_some_and(|v| v.chars().count() > 64 || v.chars().any(char::is_control))
    {
        errors.add("app_version", "at most 64 characters");
    }
    if r.locale
        .as_deref()
        .is_some_and(|l| l.len() > 35 || !visible_ascii(l, b"-_"))
    {
        errors.add("locale", "a BCP 47 tag such as fr-FR");
    }
    errors.into_result()?;
    match mismatch {
        Some(problem) => Err(crate::error::Code::InvalidDeviceToken.with_message(problem)),
        None => Ok(()),
    }
}

/// Registers or updates an installation of the user, for the session
/// `session_id`: a new token replaces the old one. A token registered by
/// another installation or account moves here (one phone, one owner).
pub async fn register(
    db: &PgPool,
    user_id: Uuid,
    session_id: Uuid,
    installation_id: &str,
    registration: &Registration,
) -> Result<Device> {
    validate(installation_id, registration)?;
    let token = registration.token.trim();
    let token = match registration.provider {
        Provider::Apns => token.to_ascii_lowercase(),
        Provider::Fcm => token.to_string(),
    };
    let mut tx = db.begin().await?;
    sqlx::query(
        "DELETE FROM push_devices
         WHERE provider = $1 AND token = $2 AND NOT (user_id = $3 AND installation_id = $4)",
    )
    .bind(registration.provider)
    .bind(&token)
    .bind(user_id)
    .bind(installation_id)
    .execute(&mut *tx)
    .await?;
    let device = sqlx::query_as::<_, Device>(
        "INSERT INTO push_devices
             (id, user_id, session_id, installation_id, provider, token, environment, app_version, locale)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (user_id, installation_id) DO UPDATE SET
             session_id = EXCLUDED.session_id, provider = EXCLUDED.provider,
             token = EXCLUDED.token, environment = EXCLUDED.environment,
             app_version = EXCLUDED.app_version, locale = EXCLUDED.locale, updated_at = now()
         RETURNING id, installation_id, provider, environment, created_at, updated_at",
    )
    .bind(Uuid::now_v7())
    .bind(user_id)
    .bind(session_id)
    .bind(installation_id)
    .bind(registration.provider)
    .bind(&token)
    .bind(registration.environment.unwrap_or(Environment::Production))
    .bind(registration.app_version.as_deref())
    .bind(registration.locale.as_deref().filter(|l| !l.is_empty()))
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(device)
}

/// Unregisters an installation of the user; unknown ones are already gone.
pub async fn unregister(db: &PgPool, user_id: Uuid, installation_id: &str) -> Result<()> {
    sqlx::query("DELETE FROM push_devices WHERE user_id = $1 AND installation_id = $2")
        .bind(user_id)
        .bind(installation_id)
        .execute(db)
        .await?;
    Ok(())
}

/// Removes a device whose token the provider declared dead.
pub(super) async fn remove(db: &PgPool, device_id: Uuid) -> std::result::Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM push_devices WHERE id = $1")
        .bind(device_id)
        .execute(db)
        .await?;
    Ok(())
}
