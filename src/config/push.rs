//! Push notification credentials, read by the modes that handle jobs.
//! Both providers are optional: without a provider's credentials, the
//! pushes to that provider's devices are dropped at send time (counted as
//! `push_sent_total{result="unconfigured"}`), so the app runs without push.

use rustls_pki_types::PrivatePkcs8KeyDer;
use rustls_pki_types::pem::PemObject;
use serde::Deserialize;

use super::env::{Env, check_http_url};
use super::{ConfigError, Secret};

pub const DEFAULT_APNS_PRODUCTION_URL: &str = "https://api.push.apple.com";
pub const DEFAULT_APNS_SANDBOX_URL: &str = "https://api.sandbox.push.apple.com";
pub const DEFAULT_FCM_URL: &str = "https://fcm.googleapis.com";
pub const DEFAULT_FCM_TOKEN_URL: &str = "https://oauth2.googleapis.com/token";

#[derive(Debug, Clone, Default)]
pub struct PushConfig {
    pub apns: Option<ApnsConfig>,
    pub fcm: Option<FcmConfig>,
}

/// Token-based APNs (`PUSH_APNS_*`).
#[derive(Debug, Clone)]
pub struct ApnsConfig {
    /// The `.p8` key: a PKCS#8 P-256 key, DER.
    pub key_der: Secret<Vec<u8>>,
    pub key_id: String,
    pub team_id: String,
    /// The app's bundle id (`apns-topic`).
    pub topic: String,
    pub production_url: String,
    pub sandbox_url: String,
}

/// FCM HTTP v1 with a service account (`PUSH_FCM_*`).
#[derive(Debug, Clone)]
pub struct FcmConfig {
    pub project_id: String,
    pub client_email: String,
    pub private_key_id: Option<String>,
    /// The service account's RSA key, PKCS#8 DER.
    pub key_der: Secret<Vec<u8>>,
    pub token_url: String,
    pub url: String,
}

pub(super) fn push(env: &Env) -> Result<PushConfig, ConfigError> {
    Ok(PushConfig {
        apns: apns(env)?,
        fcm: fcm(env)?,
    })
}

/// A PEM key as the environment carries it: real newlines, or `\n` escapes.
fn pem_key(var: &'static str, raw: &str, what: &str) -> Result<Vec<u8>, ConfigError> {
    let text = raw.trim().replace("\\n", "\n");
    PrivatePkcs8KeyDer::from_pem_slice(text.as_bytes())
        .map(|der| der.secret_pkcs8_der().to_vec())
        .map_err(|_| ConfigError {
            var,
            problem: format!("is malformed: expected {what}"),
        })
}

fn apple_id(env: &Env, var: &'static str) -> Result<String, ConfigError> {
    let value = env.required(var).map_err(|_| ConfigError {
        var,
        problem: "is missing (PUSH_APNS_KEY is set)".into(),
    })?;
    let value = value.trim().to_string();
    if value.len() != 10 || !value.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(ConfigError {
            var,
            problem: "is malformed: expected Apple's 10-character identifier".into(),
        });
    }
    Ok(value)
}

fn url(env: &Env, var: &'static str, default: &str) -> Result<String, ConfigError> {
    let value = env.get(var).unwrap_or_else(|| default.to_string());
    check_http_url(var, &value)?;
    Ok(value.trim_end_matches('/').to_string())
}

fn apns(env: &Env) -> Result<Option<ApnsConfig>, ConfigError> {
    let Some(raw) = env.get("PUSH_APNS_KEY") else {
        for var in ["PUSH_APNS_KEY_ID", "PUSH_APNS_TEAM_ID", "PUSH_APNS_TOPIC"] {
            if env.get(var).is_some() {
                return Err(ConfigError {
                    var: "PUSH_APNS_KEY",
                    problem: format!("is missing ({var} is set)"),
                });
            }
        }
        return Ok(None);
    };
    let key_der = pem_key(
        "PUSH_APNS_KEY",
        &raw,
        "the contents of Apple's .p8 file (a PEM P-256 private key)",
    )?;
    if aws_lc_rs::signature::EcdsaKeyPair::from_pkcs8(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        &key_der,
    )
    .is_err()
    {
        return Err(ConfigError {
            var: "PUSH_APNS_KEY",
            problem: "is malformed: the key is not a P-256 (ES256) key".into(),
        });
    }
    let topic = env.get("PUSH_APNS_TOPIC").ok_or_else(|| ConfigError {
        var: "PUSH_APNS_TOPIC",
        problem: "is missing (PUSH_APNS_KEY is set)".into(),
    })?;
    let topic = topic.trim().to_string();
    if !topic
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        || !topic.contains('.')
    {
        return Err(ConfigError {
            var: "PUSH_APNS_TOPIC",
            problem: "is malformed: expected the app's bundle id, e.g. com.example.ciel".into(),
        });
    }
    Ok(Some(ApnsConfig {
        key_der: Secret::new(key_der),
        key_id: apple_id(env, "PUSH_APNS_KEY_ID")?,
        team_id: apple_id(env, "PUSH_APNS_TEAM_ID")?,
        topic,
        production_url: url(env, "PUSH_APNS_PRODUCTION_URL", DEFAULT_APNS_PRODUCTION_URL)?,
        sandbox_url: url(env, "PUSH_APNS_SANDBOX_URL", DEFAULT_APNS_SANDBOX_URL)?,
    }))
}

#[derive(Deserialize)]
struct ServiceAccount {
    #[serde(rename = "type")]
    kind: Option<String>,
    project_id: String,
    client_email: String,
    private_key_id: Option<String>,
    private_key: String,
    token_uri: Option<String>,
}

fn fcm(env: &Env) -> Result<Option<FcmConfig>, ConfigError> {
    let Some(raw) = env.get("PUSH_FCM_SERVICE_ACCOUNT") else {
        return Ok(None);
    };
    const VAR: &str = "PUSH_FCM_SERVICE_ACCOUNT";
    // The JSON holds the key: name the problem, never the value.
    let account: ServiceAccount = serde_json::from_str(raw.trim()).map_err(|_| ConfigError {
        var: VAR,
        problem: "is malformed: expected the service account's JSON key file (project_id, client_email, private_key)".into(),
    })?;
    if account
        .kind
        .as_deref()
        .is_some_and(|k| k != "service_account")
    {
        return Err(ConfigError {
            var: VAR,
            problem: "is malformed: its type must be service_account".into(),
        });
    }
    let key_der = pem_key(VAR, &account.private_key, "a PEM RSA private_key")?;
    if aws_lc_rs::signature::RsaKeyPair::from_pkcs8(&key_der).is_err() {
        return Err(ConfigError {
            var: VAR,
            problem: "is malformed: its private_key is not an RSA key".into(),
        });
    }
    let default_token_url = account
        .token_uri
        .unwrap_or_else(|| DEFAULT_FCM_TOKEN_URL.to_string());
    Ok(Some(FcmConfig {
        project_id: account.project_id,
        client_email: account.client_email,
        private_key_id: account.private_key_id,
        key_der: Secret::new(key_der),
        token_url: url(env, "PUSH_FCM_TOKEN_URL", &default_token_url)?,
        url: url(env, "PUSH_FCM_URL", DEFAULT_FCM_URL)?,
    }))
}
