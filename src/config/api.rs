//! The API's settings: Redis, tokens, rate limits, uploads, the reconciler
//! and the bounce webhook.

use std::time::Duration;

use ipnet::IpNet;

use super::env::{Env, check_http_url, read_ca_cert};
use super::limits::{Policy, SignInThrottle};
use super::trust::{TrustConfig, trust};
use super::{ConfigError, Secret};

#[derive(Debug, Clone)]
pub struct TokenConfig {
    pub access_key: Secret<[u8; 32]>,
    /// Still accepted for verification while a rotation is rolled out.
    pub previous_access_key: Option<Secret<[u8; 32]>>,
    pub refresh_key: Secret<[u8; 32]>,
    pub previous_refresh_key: Option<Secret<[u8; 32]>>,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
}

#[derive(Debug, Clone)]
pub struct RateLimitConfig {
    pub register: Policy,
    pub login: Policy,
    pub writes: Policy,
    /// Refreshes per client network.
    pub refresh: Policy,
    /// Refreshes per session: each one leaves a row for the refresh lifetime.
    pub refresh_session: Policy,
    pub sign_in: SignInThrottle,
    /// `POST /v1/auth/password/forgot` per client network.
    pub forgot: Policy,
    /// `POST /v1/auth/password/forgot` per address asked about.
    pub forgot_address: Policy,
    /// Emailed tokens presented (verify, reset) per client network.
    pub account_token: Policy,
    /// Account mails a signed-in user asks for (resend, email change).
    pub account_mail: Policy,
    /// `POST /v1/mail/sns` per client network.
    pub mail_events: Policy,
    /// `GET /v1/invites/{code}` (public) per client network.
    pub invite_preview: Policy,
    /// `POST /v1/notices`, per client network.
    pub notices: Policy,
    /// Home-feed reads that go author by author past the newest posts, per
    /// user (issue 25, finding 9): each costs a scan per followed author.
    pub feed_scans: Policy,
    pub trusted_proxies: Vec<IpNet>,
}

#[derive(Debug, Clone)]
pub struct ApiConfig {
    pub redis_url: Secret<String>,
    /// PEM certificates trusted for `rediss://` instead of the system's.
    pub redis_ca_cert: Option<Vec<u8>>,
    pub tokens: TokenConfig,
    pub rate_limits: RateLimitConfig,
    pub upload_max_bytes: u64,
    pub admin_token: Option<Secret<String>>,
    pub reconcile: ReconcileConfig,
    /// Bounces from Transactional Email through Topics and Events.
    pub mail_events: Option<MailEventsConfig>,
    /// With a CDN in front of the bucket: how to make it forget a variant.
    pub cdn_purge: Option<CdnPurgeConfig>,
    pub signup: SignupConfig,
    pub trust: TrustConfig,
}

/// `SIGNUP_MODE`, `APP_LINK_BASE_URL` (invite quotas are the trust
/// levels', `TRUST_LIMITS_*`).
#[derive(Debug, Clone)]
pub struct SignupConfig {
    pub invite_only: bool,
    /// Where a shared invite link points: `APP_LINK_BASE_URL/invite?code=`.
    pub link_base_url: String,
    /// `TERMS_VERSION`: the terms in force (1 to 64 visible ASCII
    /// characters). Unset: no version is recorded or required.
    pub terms_version: Option<String>,
}

/// Scaleway's API, where Edge Services takes purge requests.
pub const DEFAULT_CDN_PURGE_API_URL: &str = "https://api.scaleway.com";

/// `CDN_PIPELINE_ID`, `CDN_PURGE_SECRET_KEY`, `CDN_PURGE_API_URL`.
#[derive(Debug, Clone)]
pub struct CdnPurgeConfig {
    pub api_url: String,
    pub pipeline_id: String,
    pub secret_key: Secret<String>,
}

/// Where Scaleway's Topics and Events keeps its signing material: the bucket
/// of the trust chain its documentation names
/// (`https://messaging.s3.fr-par.scw.cloud/fr-par/sns/sns-trust-chain.pem`).
pub const DEFAULT_SNS_CERT_URL_PREFIX: &str = "https://messaging.s3.fr-par.scw.cloud/";

/// `SNS_TOPIC_ARN`, `SNS_TRUST_CHAIN`, `SNS_CERT_URL_PREFIX`: without the
/// topic, `/v1/mail/sns` does not exist.
#[derive(Debug, Clone)]
pub struct MailEventsConfig {
    pub topic_arn: String,
    /// PEM of the CA the signing certificates must chain to (Scaleway's
    /// `sns-trust-chain.pem`), read at start-up.
    pub trust_chain_pem: Vec<u8>,
    /// `SigningCertURL` must start with it (default `https://`).
    pub cert_url_prefix: String,
}

/// The media reconciler: what the API does about photos the queue lost.
#[derive(Debug, Clone)]
pub struct ReconcileConfig {
    /// A media `queued` or `processing` for longer than this is stuck: its
    /// message was lost, or every delivery died with its worker. Longer
    /// than the worst case of one job (`WORKER_REQUEST_TIMEOUT_SECS`).
    pub stuck_after: Duration,
    /// Times a stuck media is queued again before it fails for good.
    pub max_requeues: u32,
    /// How often the reconciler looks.
    pub every: Duration,
}

pub const DEFAULT_UPLOAD_MAX_BYTES: u64 = 25 * 1024 * 1024;

pub(super) fn api(env: &Env) -> Result<ApiConfig, ConfigError> {
    let redis_url = env.required("REDIS_URL")?;
    if !(redis_url.starts_with("redis://") || redis_url.starts_with("rediss://")) {
        return Err(ConfigError {
            var: "REDIS_URL",
            problem: "is malformed: expected a redis:// or rediss:// URL".into(),
        });
    }
    let redis_ca_cert = env.get("REDIS_CA_CERT");
    if redis_ca_cert.is_some() && !redis_url.starts_with("rediss://") {
        return Err(ConfigError {
            var: "REDIS_CA_CERT",
            problem: "is set, but REDIS_URL is not a rediss:// URL".into(),
        });
    }
    let redis_ca_cert = redis_ca_cert.map(|p| read_ca_cert(&p)).transpose()?;
    let access_key = env.key32("PASETO_ACCESS_KEY")?;
    let refresh_key = env.key32("PASETO_REFRESH_KEY")?;
    if access_key == refresh_key {
        return Err(ConfigError {
            var: "PASETO_REFRESH_KEY",
            problem: "must differ from PASETO_ACCESS_KEY".into(),
        });
    }
    let upload_max_bytes: u64 = env.positive("UPLOAD_MAX_BYTES", DEFAULT_UPLOAD_MAX_BYTES)?;
    let reconcile = ReconcileConfig {
        stuck_after: env.seconds("MEDIA_STUCK_AFTER_SECS", 30 * 60)?,
        max_requeues: env.parsed("MEDIA_MAX_REQUEUES", 3)?,
        every: env.seconds("MEDIA_RECONCILE_EVERY_SECS", 60)?,
    };
    Ok(ApiConfig {
        redis_url: Secret::new(redis_url),
        redis_ca_cert,
        tokens: TokenConfig {
            access_key,
            previous_access_key: env.optional_key32("PASETO_ACCESS_KEY_PREVIOUS")?,
            refresh_key,
            previous_refresh_key: env.optional_key32("PASETO_REFRESH_KEY_PREVIOUS")?,
            access_ttl: env.seconds("ACCESS_TOKEN_TTL_SECS", 15 * 60)?,
            refresh_ttl: env.seconds("REFRESH_TOKEN_TTL_SECS", 30 * 24 * 3600)?,
        },
        rate_limits: RateLimitConfig {
            register: env.policy("RATE_LIMIT_REGISTER", "register", "5/30m")?,
            login: env.policy("RATE_LIMIT_LOGIN", "login", "10/5m")?,
            writes: env.policy("RATE_LIMIT_WRITES", "writes", "60/1m")?,
            refresh: env.policy("RATE_LIMIT_REFRESH", "refresh", "60/1m")?,
            refresh_session: env.policy(
                "RATE_LIMIT_REFRESH_SESSION",
                "refresh_session",
                "10/10m",
            )?,
            sign_in: SignInThrottle {
                account: env.policy("RATE_LIMIT_LOGIN_ACCOUNT", "login_account", "50/1h")?,
            },
            forgot: env.policy("RATE_LIMIT_FORGOT", "forgot", "10/1h")?,
            forgot_address: env.policy("RATE_LIMIT_FORGOT_ADDRESS", "forgot_address", "3/1h")?,
            account_token: env.policy("RATE_LIMIT_ACCOUNT_TOKEN", "account_token", "30/1h")?,
            account_mail: env.policy("RATE_LIMIT_ACCOUNT_MAIL", "account_mail", "5/1h")?,
            mail_events: env.policy("RATE_LIMIT_MAIL_EVENTS", "mail_events", "120/1m")?,
            invite_preview: env.policy("RATE_LIMIT_INVITE_PREVIEW", "invite_preview", "30/1h")?,
            notices: env.policy("RATE_LIMIT_NOTICES", "notices", "10/1h")?,
            feed_scans: env.policy("RATE_LIMIT_FEED_SCANS", "feed_scans", "30/1m")?,
            trusted_proxies: trusted_proxies(env)?,
        },
        upload_max_bytes,
        admin_token: env.get("ADMIN_TOKEN").map(Secret::new),
        reconcile,
        mail_events: mail_events(env)?,
        cdn_purge: cdn_purge(env)?,
        signup: SignupConfig {
            invite_only: match env.get("SIGNUP_MODE").as_deref() {
                None | Some("open") => false,
                Some("invite") => true,
                Some(_) => {
                    return Err(ConfigError {
                        var: "SIGNUP_MODE",
                        problem: "is malformed: expected open or invite".into(),
                    });
                }
            },
            link_base_url: match env.get("APP_LINK_BASE_URL") {
                Some(url) => {
                    check_http_url("APP_LINK_BASE_URL", &url)?;
                    url.trim_end_matches('/').to_string()
                }
                None => super::DEFAULT_LINK_BASE_URL.into(),
            },
            terms_version: match env.get("TERMS_VERSION") {
                Some(v)
                    if (1..=64).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_graphic()) =>
                {
                    Some(v)
                }
                Some(_) => {
                    return Err(ConfigError {
                        var: "TERMS_VERSION",
                        problem: "is malformed: expected 1 to 64 visible ASCII characters".into(),
                    });
                }
                None => None,
            },
        },
        trust: trust(env)?,
    })
}

/// A CDN keeps what it fetched for the objects' max-age (a year): without a
/// way to purge it, a taken-down or deleted photo would stay public there.
/// So a public endpoint needs the purge settings.
fn cdn_purge(env: &Env) -> Result<Option<CdnPurgeConfig>, ConfigError> {
    if env.get("S3_PUBLIC_ENDPOINT").is_none() {
        return Ok(None);
    }
    let needed = |var: &'static str| {
        env.get(var).ok_or_else(|| ConfigError {
            var,
            problem: "is missing (S3_PUBLIC_ENDPOINT is set: a taken-down or deleted photo must be purged from the CDN)".into(),
        })
    };
    let pipeline_id = needed("CDN_PIPELINE_ID")?;
    let secret_key = Secret::new(needed("CDN_PURGE_SECRET_KEY")?);
    let api_url = env
        .get("CDN_PURGE_API_URL")
        .unwrap_or_else(|| DEFAULT_CDN_PURGE_API_URL.into());
    check_http_url("CDN_PURGE_API_URL", &api_url)?;
    Ok(Some(CdnPurgeConfig {
        api_url: api_url.trim_end_matches('/').to_string(),
        pipeline_id,
        secret_key,
    }))
}

fn mail_events(env: &Env) -> Result<Option<MailEventsConfig>, ConfigError> {
    let Some(topic_arn) = env.get("SNS_TOPIC_ARN") else {
        return Ok(None);
    };
    let path = env.get("SNS_TRUST_CHAIN").ok_or_else(|| ConfigError {
        var: "SNS_TRUST_CHAIN",
        problem: "is missing (SNS_TOPIC_ARN is set)".into(),
    })?;
    let trust_chain_pem = std::fs::read(&path).map_err(|e| ConfigError {
        var: "SNS_TRUST_CHAIN",
        problem: format!("cannot be read: {path}: {e}"),
    })?;
    let cert_url_prefix = env
        .get("SNS_CERT_URL_PREFIX")
        .unwrap_or_else(|| DEFAULT_SNS_CERT_URL_PREFIX.into());
    check_http_url("SNS_CERT_URL_PREFIX", &cert_url_prefix)?;
    Ok(Some(MailEventsConfig {
        topic_arn,
        trust_chain_pem,
        cert_url_prefix,
    }))
}

fn trusted_proxies(env: &Env) -> Result<Vec<IpNet>, ConfigError> {
    let Some(raw) = env.get("TRUSTED_PROXIES") else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| ConfigError {
                    var: "TRUSTED_PROXIES",
                    problem: format!("is malformed: {s:?} is not an IP address or CIDR"),
                })
        })
        .collect()
}
