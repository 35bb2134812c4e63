//! APNs with token authentication: an ES256 JWT from the `.p8` key, reused
//! by every delivery of every worker process for 50 minutes (shared through
//! the database) (Apple wants one at
//! least every hour and answers 429 `TooManyProviderTokenUpdates` to
//! providers that mint too often), over HTTP/2 to the host of the token's
//! environment.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Request, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::sync::Mutex;

use super::client::{self, Client};
use super::jwt::Es256;
use super::{Environment, SendError};
use crate::config::ApnsConfig;

/// How long one provider token is used.
const TOKEN_REUSE: Duration = Duration::from_secs(50 * 60);

pub struct Apns {
    key: Es256,
    key_id: String,
    team_id: String,
    topic: String,
    production_url: String,
    sandbox_url: String,
    http: Client,
    token: Mutex<Option<(String, Instant)>>,
}

/// One push to one device.
pub struct ApnsPush<'a> {
    pub environment: Environment,
    pub device_token: &'a str,
    pub payload: &'a Value,
    pub collapse_id: Option<&'a str>,
}

#[derive(Deserialize)]
struct ErrorBody {
    reason: String,
}

impl Apns {
    pub fn new(config: &ApnsConfig) -> anyhow::Result<Self> {
        Ok(Self {
            key: Es256::from_pkcs8(config.key_der.expose())?,
            key_id: config.key_id.clone(),
            team_id: config.team_id.clone(),
            topic: config.topic.clone(),
            production_url: config.production_url.clone(),
            sandbox_url: config.sandbox_url.clone(),
            http: client::client(true)?,
            token: Mutex::new(None),
        })
    }

    /// The provider token, minted at most once per [`TOKEN_REUSE`] by all
    /// the workers together: this process's copy, else the one another
    /// process stored, else a new one (stored unless another process stored
    /// one meanwhile, which then wins). Without the database, this process
    /// mints its own.
    async fn provider_token(&self, db: &PgPool) -> Result<String, SendError> {
        let mut cached = self.token.lock().await;
        if let Some((token, minted)) = cached.as_ref()
            && minted.elapsed() < TOKEN_REUSE
        {
            return Ok(token.clone());
        }
        match self.shared_token(db).await {
            Ok(Some((token, age))) => {
                let minted = Instant::now().checked_sub(age).unwrap_or_else(Instant::now);
                *cached = Some((token.clone(), minted));
                return Ok(token);
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "could not read the shared APNs token"),
        }
        let iat = time::OffsetDateTime::now_utc().unix_timestamp();
        let token = self
            .key
            .sign(
                &json!({ "alg": "ES256", "kid": self.key_id }),
                &json!({ "iss": self.team_id, "iat": iat }),
            )
            .map_err(|e| SendError::Retry {
                reason: format!("{e:#}"),
                after: None,
            })?;
        let token = match self.store_token(db, &token).await {
            Ok(Some(stored)) => stored,
            Ok(None) => match self.shared_token(db).await {
                Ok(Some((theirs, _))) => theirs,
                _ => token,
            },
            Err(e) => {
                tracing::warn!(error = %e, "could not share the APNs token");
                token
            }
        };
        *cached = Some((token.clone(), Instant::now()));
        Ok(token)
    }

    /// The stored token still young enough, and its age.
    async fn shared_token(&self, db: &PgPool) -> Result<Option<(String, Duration)>, sqlx::Error> {
        let row: Option<(String, f64)> = sqlx::query_as(
            "SELECT token, EXTRACT(EPOCH FROM now() - minted_at)::float8 FROM push_provider_tokens
             WHERE key_id = $1 AND minted_at > now() - make_interval(secs => $2)",
        )
        .bind(&self.key_id)
        .bind(TOKEN_REUSE.as_secs_f64())
        .fetch_optional(db)
        .await?;
        Ok(row.map(|(token, age)| (token, Duration::from_secs_f64(age.max(0.0)))))
    }

    /// Stores a new token unless a young one is there; None when one was.
    async fn store_token(&self, db: &PgPool, token: &str) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar(
            "INSERT INTO push_provider_tokens (key_id, token) VALUES ($1, $2)
             ON CONFLICT (key_id) DO UPDATE SET token = EXCLUDED.token, minted_at = now()
             WHERE push_provider_tokens.minted_at <= now() - make_interval(secs => $3)
             RETURNING token",
        )
        .bind(&self.key_id)
        .bind(token)
        .bind(TOKEN_REUSE.as_secs_f64())
        .fetch_optional(db)
        .await
    }

    /// Forgets a token APNs refused, here and for the other processes, so
    /// that the next push mints another.
    async fn forget_token(&self, db: &PgPool, refused: &str) {
        let mut cached = self.token.lock().await;
        if cached.as_ref().is_some_and(|(token, _)| token == refused) {
            *cached = None;
        }
        if let Err(e) =
            sqlx::query("DELETE FROM push_provider_tokens WHERE key_id = $1 AND token = $2")
                .bind(&self.key_id)
                .bind(refused)
                .execute(db)
                .await
        {
            tracing::warn!(error = %e, "could not drop a refused APNs token");
        }
    }

    pub async fn send(&self, db: &PgPool, push: &ApnsPush<'_>) -> Result<(), SendError> {
        let base = match push.environment {
            Environment::Production => &self.production_url,
            Environment::Sandbox => &self.sandbox_url,
        };
        let token = self.provider_token(db).await?;
        let expiration = time::OffsetDateTime::now_utc().unix_timestamp() + 24 * 3600;
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(format!("{base}/3/device/{}", push.device_token))
            .header("authorization", format!("bearer {token}"))
            .header("apns-topic", &self.topic)
            .header("apns-push-type", "alert")
            .header("apns-priority", "10")
            .header("apns-expiration", expiration.to_string())
            .header("content-type", "application/json");
        if let Some(collapse_id) = push.collapse_id {
            request = request.header("apns-collapse-id", collapse_id);
        }
        let request = request
            .body(Full::new(Bytes::from(push.payload.to_string())))
            .map_err(|e| SendError::Rejected(format!("request: {e}")))?;
        let answer = client::exchange(&self.http, request)
            .await
            .map_err(|e| SendError::Retry {
                reason: format!("APNs unreachable: {e}"),
                after: None,
            })?;
        if answer.status == StatusCode::OK {
            return Ok(());
        }
        let reason = serde_json::from_slice::<ErrorBody>(&answer.body)
            .map(|b| b.reason)
            .unwrap_or_else(|_| format!("status {}", answer.status));
        let after = client::retry_after(&answer.headers);
        Err(match (answer.status.as_u16(), reason.as_str()) {
            (410, _) | (400, "BadDeviceToken" | "DeviceTokenNotForTopic") => {
                SendError::Unregistered(reason)
            }
            (403, "ExpiredProviderToken" | "InvalidProviderToken") => {
                self.forget_token(db, &token).await;
                SendError::Retry { reason, after }
            }
            (429 | 500 | 503, _) => SendError::Retry { reason, after },
            _ => SendError::Rejected(reason),
        })
    }
}
