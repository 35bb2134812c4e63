//! FCM HTTP v1: the service account's RS256 assertion exchanged for an
//! OAuth2 access token (kept until five minutes before it expires), then
//! `POST /v1/projects/{id}/messages:send`.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Request, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::SendError;
use super::client::{self, Client};
use super::jwt::Rs256;
use crate::config::FcmConfig;

const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
/// A token is renewed this long before it expires.
const RENEW_BEFORE: Duration = Duration::from_secs(5 * 60);

pub struct Fcm {
    key: Rs256,
    client_email: String,
    private_key_id: Option<String>,
    token_url: String,
    send_url: String,
    http: Client,
    token: Mutex<Option<(String, Instant)>>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: u64,
}

#[derive(Deserialize)]
struct ErrorAnswer {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    status: String,
    #[serde(default)]
    details: Vec<Value>,
}

impl Fcm {
    pub fn new(config: &FcmConfig) -> anyhow::Result<Self> {
        Ok(Self {
            key: Rs256::from_pkcs8(config.key_der.expose())?,
            client_email: config.client_email.clone(),
            private_key_id: config.private_key_id.clone(),
            token_url: config.token_url.clone(),
            send_url: format!(
                "{}/v1/projects/{}/messages:send",
                config.url, config.project_id
            ),
            http: client::client(false)?,
            token: Mutex::new(None),
        })
    }

    fn retry(reason: String, after: Option<Duration>) -> SendError {
        SendError::Retry { reason, after }
    }

    async fn access_token(&self) -> Result<String, SendError> {
        let mut cached = self.token.lock().await;
        if let Some((token, until)) = cached.as_ref()
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let iat = time::OffsetDateTime::now_utc().unix_timestamp();
        let mut header = json!({ "alg": "RS256", "typ": "JWT" });
        if let Some(kid) = &self.private_key_id {
            header["kid"] = json!(kid);
        }
        let assertion = self
            .key
            .sign(
                &header,
                &json!({
                    "iss": self.client_email,
                    "scope": SCOPE,
                    "aud": self.token_url,
                    "iat": iat,
                    "exp": iat + 3600,
                }),
            )
            .map_err(|e| Self::retry(format!("{e:#}"), None))?;
        let form = format!(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={assertion}"
        );
        let request = Request::builder()
            .method(Method::POST)
            .uri(&self.token_url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Full::new(Bytes::from(form)))
            .map_err(|e| Self::retry(format!("token request: {e}"), None))?;
        let answer = client::exchange(&self.http, request)
            .await
            .map_err(|e| Self::retry(format!("OAuth2 token endpoint unreachable: {e}"), None))?;
        if answer.status != StatusCode::OK {
            return Err(Self::retry(
                format!("OAuth2 token endpoint answered {}", answer.status),
                client::retry_after(&answer.headers),
            ));
        }
        let token: TokenAnswer = serde_json::from_slice(&answer.body)
            .map_err(|_| Self::retry("OAuth2 token answer unreadable".into(), None))?;
        let lifetime = Duration::from_secs(token.expires_in).saturating_sub(RENEW_BEFORE);
        *cached = Some((token.access_token.clone(), Instant::now() + lifetime));
        Ok(token.access_token)
    }

    async fn forget_token(&self, refused: &str) {
        let mut cached = self.token.lock().await;
        if cached.as_ref().is_some_and(|(token, _)| token == refused) {
            *cached = None;
        }
    }

    /// Sends one `message` (its `token` set).
    pub async fn send(&self, message: &Value) -> Result<(), SendError> {
        let token = self.access_token().await?;
        let request = Request::builder()
            .method(Method::POST)
            .uri(&self.send_url)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(message.to_string())))
            .map_err(|e| SendError::Rejected(format!("request: {e}")))?;
        let answer = client::exchange(&self.http, request)
            .await
            .map_err(|e| Self::retry(format!("FCM unreachable: {e}"), None))?;
        if answer.status == StatusCode::OK {
            return Ok(());
        }
        let (status, error_code) = match serde_json::from_slice::<ErrorAnswer>(&answer.body) {
            Ok(body) => {
                let code = body
                    .error
                    .details
                    .iter()
                    .find_map(|d| d.get("errorCode").and_then(Value::as_str))
                    .unwrap_or_default()
                    .to_string();
                (body.error.status, code)
            }
            Err(_) => (String::new(), String::new()),
        };
        let reason = format!("{} {status} {error_code}", answer.status.as_u16())
            .trim()
            .to_string();
        let after = client::retry_after(&answer.headers);
        Err(match (answer.status.as_u16(), error_code.as_str()) {
            (404, _) | (_, "UNREGISTERED") => SendError::Unregistered(reason),
            (401, _) => {
                self.forget_token(&token).await;
                Self::retry(reason, after)
            }
            (429 | 500 | 502 | 503 | 504, _)
            | (_, "QUOTA_EXCEEDED" | "UNAVAILABLE" | "INTERNAL") => Self::retry(reason, after),
            _ => SendError::Rejected(reason),
        })
    }
}
