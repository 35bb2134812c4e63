//! APNs with token authentication: an ES256 JWT from the `.p8` key, reused
//! by every delivery of the process for 50 minutes (Apple wants one at
//! least every hour and answers 429 `TooManyProviderTokenUpdates` to
//! providers that mint too often), over HTTP/2 to the host of the token's
//! environment.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Request, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
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

    /// The provider token, minted at most once per [`TOKEN_REUSE`].
    async fn provider_token(&self) -> Result<String, SendError> {
        let mut cached = self.token.lock().await;
        if let Some((token, minted)) = cached.as_ref()
            && minted.elapsed() < TOKEN_REUSE
        {
            return Ok(token.clone());
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
        *cached = Some((token.clone(), Instant::now()));
        Ok(token)
    }

    /// Forgets a token APNs refused, so that the next push mints another.
    async fn forget_token(&self, refused: &str) {
        let mut cached = self.token.lock().await;
        if cached.as_ref().is_some_and(|(token, _)| token == refused) {
            *cached = None;
        }
    }

    pub async fn send(&self, push: &ApnsPush<'_>) -> Result<(), SendError> {
        let base = match push.environment {
            Environment::Production => &self.production_url,
            Environment::Sandbox => &self.sandbox_url,
        };
        let token = self.provider_token().await?;
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
                self.forget_token(&token).await;
                SendError::Retry { reason, after }
            }
            (429 | 500 | 503, _) => SendError::Retry { reason, after },
            _ => SendError::Rejected(reason),
        })
    }
}
