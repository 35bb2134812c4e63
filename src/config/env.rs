//! The reader under every setting, and the one table of the variables it
//! may read: `ciel --help` is rendered from it, and a read of a variable the
//! table does not list fails the tests.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use base64::Engine as _;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use super::limits::Policy;
use super::{ConfigError, Secret};

/// One environment variable: who needs it, and what it holds.
#[derive(Debug, Clone, Copy)]
pub struct Variable {
    pub name: &'static str,
    /// The modes or commands that cannot start without it; empty when it is
    /// optional everywhere.
    pub required_by: &'static str,
    /// What it holds and its default; later lines continue the first.
    pub doc: &'static str,
}

const fn var(name: &'static str, required_by: &'static str, doc: &'static str) -> Variable {
    Variable {
        name,
        required_by,
        doc,
    }
}

/// Every variable the configuration reads, in the order `ciel --help` lists them.
pub const VARIABLES: &[Variable] = &[
    var("APP_MODE", "all", "api | serverless-worker | worker | dev"),
    var("DATABASE_URL", "all", "postgres://user:pass@host:5432/db"),
    var("DATABASE_MAX_CONNECTIONS", "", "pool size (default 10)"),
    var(
        "DATABASE_READ_URL",
        "",
        "read replica for reads that may lag (api)",
    ),
    var(
        "S3_ENDPOINT",
        "all",
        "object storage endpoint, http(s)://...",
    ),
    var("S3_REGION", "all", "e.g. fr-par"),
    var("S3_BUCKET", "all", "media bucket"),
    var(
        "S3_PUBLIC_ENDPOINT",
        "",
        "public base URL of the bucket (CDN); variants are\nthen served from it instead of presigned GETs",
    ),
    var(
        "CDN_PIPELINE_ID",
        "api with S3_PUBLIC_ENDPOINT",
        "Edge Services pipeline in front of the bucket: deleted and\nwithheld variants are purged from its cache",
    ),
    var(
        "CDN_PURGE_SECRET_KEY",
        "api with S3_PUBLIC_ENDPOINT",
        "Scaleway secret key allowed to purge that pipeline's cache",
    ),
    var(
        "CDN_PURGE_API_URL",
        "",
        "Scaleway's API (default https://api.scaleway.com)",
    ),
    var(
        "AWS_ACCESS_KEY_ID",
        "all",
        "storage (and, by default, queue) access key",
    ),
    var("AWS_SECRET_ACCESS_KEY", "all", "its secret"),
    var(
        "QUEUE_ENDPOINT",
        "api, worker, dev",
        "SQS endpoint, http(s)://...",
    ),
    var("QUEUE_NAME", "api, worker, dev", "media jobs queue name"),
    var(
        "QUEUE_REGION",
        "",
        "SQS signing region (default: S3_REGION)",
    ),
    var(
        "QUEUE_DEAD_LETTER_NAME",
        "",
        "dead-letter queue to poll; its jobs' photos are marked failed\n(worker; dev default: QUEUE_NAME-dlq)",
    ),
    var(
        "QUEUE_ACCESS_KEY_ID",
        "",
        "SQS credentials when they differ from AWS_*",
    ),
    var("QUEUE_SECRET_ACCESS_KEY", "", "their secret"),
    var("REDIS_URL", "api, dev", "redis:// or rediss:// URL"),
    var(
        "REDIS_CA_CERT",
        "",
        "rediss:// only: path of a PEM file whose certificates are\ntrusted instead of the system's (managed Redis's certificate)",
    ),
    var(
        "PASETO_ACCESS_KEY",
        "api, dev",
        "base64 of exactly 32 random bytes",
    ),
    var(
        "PASETO_REFRESH_KEY",
        "api, dev",
        "base64 of exactly 32 random bytes, another key",
    ),
    var(
        "PASETO_ACCESS_KEY_PREVIOUS",
        "",
        "previous access key, still verified (rotation)",
    ),
    var(
        "PASETO_REFRESH_KEY_PREVIOUS",
        "",
        "previous refresh key, still verified (rotation)",
    ),
    var(
        "ACCESS_TOKEN_TTL_SECS",
        "",
        "access token lifetime (default 900)",
    ),
    var(
        "REFRESH_TOKEN_TTL_SECS",
        "",
        "refresh token lifetime (default 2592000, 30 days)",
    ),
    var(
        "UPLOAD_MAX_BYTES",
        "",
        "largest accepted upload (default 26214400, 25 MiB)",
    ),
    var(
        "RATE_LIMIT_REGISTER",
        "",
        "sign-ups per client network (IPv4 address or IPv6 /64),\nQUOTA/WINDOW (default 5/30m)",
    ),
    var(
        "RATE_LIMIT_LOGIN",
        "",
        "sign-ins per client network (default 10/5m)",
    ),
    var("RATE_LIMIT_WRITES", "", "writes per user (default 60/1m)"),
    var(
        "RATE_LIMIT_REFRESH",
        "",
        "token refreshes per client network (default 60/1m)",
    ),
    var(
        "RATE_LIMIT_REFRESH_SESSION",
        "",
        "token refreshes per session (default 10/10m)",
    ),
    var(
        "RATE_LIMIT_LOGIN_ACCOUNT",
        "",
        "failed sign-ins to one account, from anywhere, past which\nnetworks that never signed in to it get one try per 10 s\n(default 50/1h; each account+network pair also backs off\nfrom 15 s to 15 min after 5 failures)",
    ),
    var(
        "RATE_LIMIT_FORGOT",
        "",
        "password reset requests per client network (default 10/1h)",
    ),
    var(
        "RATE_LIMIT_FORGOT_ADDRESS",
        "",
        "password reset requests per address asked about (default 3/1h)",
    ),
    var(
        "RATE_LIMIT_ACCOUNT_TOKEN",
        "",
        "mailed tokens presented (verify, reset) per network (default 30/1h)",
    ),
    var(
        "RATE_LIMIT_ACCOUNT_MAIL",
        "",
        "verification resends and email changes per user (default 5/1h)",
    ),
    var(
        "RATE_LIMIT_MAIL_EVENTS",
        "",
        "POST /v1/mail/sns (bounce webhook) per client network (default 120/1m)",
    ),
    var(
        "RATE_LIMIT_FEED_SCANS",
        "",
        "home-feed reads per user that scan author by author past the\nnewest posts (default 30/1m)",
    ),
    var(
        "SMTP_URL",
        "",
        "account mail (worker, dev): smtps://user:pass@host:465 (TLS) or\nsmtp://host:587?tls=required (STARTTLS); without it, dev logs\neach mail's link and workers keep mails pending",
    ),
    var(
        "MAIL_FROM",
        "",
        "sender, `Name <address>`; needed with SMTP_URL",
    ),
    var(
        "APP_LINK_BASE_URL",
        "",
        "base of the mailed links, e.g. https://ciel.example.com/app;\nlinks are BASE/verify-email, /reset-password, /confirm-email ?token=",
    ),
    var(
        "PUSH_APNS_KEY",
        "",
        "push to iPhones (worker, dev): the contents of Apple's .p8 key\n(PEM; `\\n` escapes allowed); without it no APNs push is sent",
    ),
    var(
        "PUSH_APNS_KEY_ID",
        "",
        "with PUSH_APNS_KEY: its 10-character Key ID",
    ),
    var(
        "PUSH_APNS_TEAM_ID",
        "",
        "with PUSH_APNS_KEY: the 10-character Team ID",
    ),
    var(
        "PUSH_APNS_TOPIC",
        "",
        "with PUSH_APNS_KEY: the app's bundle id (apns-topic)",
    ),
    var(
        "PUSH_APNS_PRODUCTION_URL",
        "",
        "test/ops override (default https://api.push.apple.com)",
    ),
    var(
        "PUSH_APNS_SANDBOX_URL",
        "",
        "test/ops override (default https://api.sandbox.push.apple.com)",
    ),
    var(
        "PUSH_FCM_SERVICE_ACCOUNT",
        "",
        "push to Android (worker, dev): the Firebase service account's JSON\nkey; without it no FCM push is sent",
    ),
    var(
        "PUSH_FCM_URL",
        "",
        "test/ops override (default https://fcm.googleapis.com)",
    ),
    var(
        "PUSH_FCM_TOKEN_URL",
        "",
        "test/ops override of the OAuth2 token endpoint (default the\nkey's token_uri, https://oauth2.googleapis.com/token)",
    ),
    var(
        "SNS_TOPIC_ARN",
        "",
        "topic of Transactional Email's bounce webhook (api); enables\nPOST /v1/mail/sns (signed SNS messages only)",
    ),
    var(
        "SNS_TRUST_CHAIN",
        "",
        "with SNS_TOPIC_ARN: PEM file of Scaleway's SNS CA",
    ),
    var(
        "SNS_CERT_URL_PREFIX",
        "",
        "SigningCertURL must start with it (default the bucket of Scaleway's\ntrust chain, https://messaging.s3.fr-par.scw.cloud/)",
    ),
    var(
        "SIGNUP_MODE",
        "",
        "open | invite: whether sign-up needs an invite code (default open)",
    ),
    var(
        "TERMS_VERSION",
        "",
        "the terms in force (1 to 64 visible ASCII characters, e.g.\n2026-12-01): sign-up records the version accepted, and an\naccount that has not accepted this one cannot post (unset: none)",
    ),
    var(
        "TRUST_LIMITS_NEW",
        "",
        "what a `new` account may do, key=value pairs overriding the\ndefaults: posts=3,stories=5,comments=20 (per hour),follows=30 (per\nday),likes=100 (per hour),invites=0 (per 7 days),fanout=100\n(followers' timelines a post reaches; `all`)",
    ),
    var(
        "TRUST_LIMITS_BASIC",
        "",
        "the same for `basic` (default posts=10,stories=20,comments=60,\nfollows=100,likes=300,invites=2,fanout=all)",
    ),
    var(
        "TRUST_LIMITS_TRUSTED",
        "",
        "the same for `trusted` (default posts=30,stories=50,comments=200,\nfollows=300,likes=1000,invites=5,fanout=all)",
    ),
    var(
        "TRUST_LIMITS_VERIFIED",
        "",
        "the same for `verified` (default posts=60,stories=100,comments=400,\nfollows=1000,likes=2000,invites=20,fanout=all)",
    ),
    var(
        "TRUST_TO_BASIC",
        "",
        "what reaching `basic` takes besides a verified email and no strike:\nage=3d,posts=1,engagers=3 (distinct people engaging in 90 days)",
    ),
    var(
        "TRUST_TO_TRUSTED",
        "",
        "the same for `trusted` (default age=30d,posts=10,engagers=20)",
    ),
    var(
        "TRUST_KEEP_PERCENT",
        "",
        "a level is kept while posts and engagers stay at this % of what\nreaching it took (default 50)",
    ),
    var(
        "TRUST_STRIKES",
        "",
        "memory=90d (how long a strike counts),suspend_at=3 (the strike\nthat first suspends),suspension=1d (doubling with each strike),\nlongest=30d",
    ),
    var(
        "TRUST_EVERY_SECS",
        "",
        "how often trust levels are re-assessed and suspensions that ran\nout are lifted (default 60)",
    ),
    var(
        "TRUST_BATCH",
        "",
        "accounts re-assessed per run (default 1000)",
    ),
    var(
        "RATE_LIMIT_INVITE_PREVIEW",
        "",
        "public invite previews per client network (default 30/1h)",
    ),
    var(
        "RATE_LIMIT_NOTICES",
        "",
        "signed-out notices about content per client network (default 10/1h)",
    ),
    var(
        "TRUSTED_PROXIES",
        "",
        "comma-separated IPs/CIDRs whose X-Forwarded-For is believed",
    ),
    var(
        "ADMIN_TOKEN",
        "",
        "moderation routes (X-Admin-Token); without METRICS_TOKEN, the\nAPI's GET /metrics needs `Authorization: Bearer <it>` too",
    ),
    var(
        "METRICS_TOKEN",
        "",
        "when set, GET /metrics needs `Authorization: Bearer <it>` in every\nmode; the scrapers hold it, and never ADMIN_TOKEN",
    ),
    var(
        "MEDIA_STUCK_AFTER_SECS",
        "",
        "api: a photo queued or processing this long is queued again\n(default 1800; must exceed WORKER_REQUEST_TIMEOUT_SECS)",
    ),
    var(
        "MEDIA_MAX_REQUEUES",
        "",
        "api: times a stuck photo is queued again before it fails\nwith processing_abandoned (default 3)",
    ),
    var(
        "MEDIA_RECONCILE_EVERY_SECS",
        "",
        "api: how often stuck photos are looked for (default 60)",
    ),
    var(
        "WORKER_CONCURRENCY",
        "",
        "media jobs at once per process (default 2)",
    ),
    var(
        "WORKER_MEMORY_BUDGET_MB",
        "",
        "MiB the jobs may use at once; each waits for its estimated\npeak (default 384, for a 512 MB container)",
    ),
    var(
        "WORKER_TRIGGER_PATH",
        "",
        "path the SQS trigger POSTs to (default /)",
    ),
    var(
        "WORKER_DEAD_LETTER_PATH",
        "",
        "path the dead-letter queue's trigger POSTs to (default /dead-letters)",
    ),
    var(
        "WORKER_VISIBILITY_TIMEOUT_SECS",
        "",
        "how long a long-polled job stays hidden, extended while it\nruns (default 60; keep it below the queue's own setting)",
    ),
    var(
        "WORKER_LONG_POLL_SECS",
        "",
        "how long one receive of the long-polling worker waits,\n1 to 20 (default 20)",
    ),
    var(
        "WORKER_JOB_TIME_LIMIT_SECS",
        "",
        "processing time of a 50 MP photo, fractions allowed; a smaller\none gets its share by pixels, at least a tenth (default 30);\npast it the photo fails with processing_timed_out",
    ),
    var(
        "WORKER_ORIGINALS_CLASS",
        "",
        "storage class an original moves to once its photo is ready:\nGLACIER (default), ONEZONE_IA or STANDARD",
    ),
    var(
        "PDQ_MATCH_DISTANCE",
        "",
        "a photo whose PDQ hash is within this many bits (of 256) of\none on the block list is held for review (default 31, at most 64)",
    ),
    var(
        "WORKER_REQUEST_TIMEOUT_SECS",
        "",
        "longest a job takes from arrival to answer, waiting for a slot\nincluded: set it to the serverless container's timeout\n(default 300); the worker stops extending visibility past it",
    ),
    var(
        "TRIGGER_URL",
        "trigger-bridge",
        "where each message body is POSTed, http://host:port/path",
    ),
    var(
        "TRIGGER_RETRY_DELAY_MS",
        "",
        "trigger-bridge: pause before the 2nd attempt; the 3rd waits\ntwice as long (default 1000)",
    ),
    var(
        "TRIGGER_ON_GIVE_UP",
        "",
        "trigger-bridge: leave (default) or delete a message after its\nthird failed attempt",
    ),
    var(
        "HTTP_ADDR",
        "",
        "listen address; when unset 0.0.0.0:$PORT, else 0.0.0.0:8080",
    ),
    var("PORT", "", "listen port when HTTP_ADDR is unset"),
    var(
        "HTTP_MAX_CONNECTIONS",
        "",
        "open connections per process; past it a 503 (default 4096)",
    ),
    var(
        "HTTP_HEADER_TIMEOUT_SECS",
        "",
        "time a client has to send a request's headers (default 10)",
    ),
    var(
        "RUST_LOG",
        "",
        "log filter, e.g. info or debug,tower_http=debug",
    ),
    var("LOG_FORMAT", "", "json (default) or text"),
];

/// The table's entry for `name`.
pub fn variable(name: &str) -> Option<&'static Variable> {
    VARIABLES.iter().find(|v| v.name == name)
}

/// The VARIABLES section of `ciel --help`.
pub fn variables_help() -> String {
    let mut out = String::new();
    for v in VARIABLES {
        let mut lines = v.doc.lines();
        let first = lines.next().unwrap_or_default();
        let line = format!("    {:<31} {first}", v.name);
        if v.required_by.is_empty() {
            out.push_str(&line);
        } else {
            out.push_str(&format!("{line:<86} [{}]", v.required_by));
        }
        out.push('\n');
        for rest in lines {
            out.push_str(&format!("{:36}{rest}\n", ""));
        }
    }
    out
}

/// Reads variables through a lookup function, so tests can pass a map
/// instead of mutating the process environment.
pub(super) struct Env<'a>(pub(super) &'a dyn Fn(&str) -> Option<String>);

impl Env<'_> {
    pub(super) fn get(&self, var: &'static str) -> Option<String> {
        debug_assert!(
            variable(var).is_some(),
            "{var} is read but not listed in config::VARIABLES"
        );
        (self.0)(var).filter(|v| !v.trim().is_empty())
    }

    pub(super) fn required(&self, var: &'static str) -> Result<String, ConfigError> {
        self.get(var).ok_or_else(|| ConfigError {
            var,
            problem: "is missing".into(),
        })
    }

    pub(super) fn parsed<T>(&self, var: &'static str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        match self.get(var) {
            None => Ok(default),
            Some(raw) => raw.trim().parse().map_err(|e| ConfigError {
                var,
                problem: format!("is malformed: {e}"),
            }),
        }
    }

    pub(super) fn url(&self, var: &'static str) -> Result<String, ConfigError> {
        let raw = self.required(var)?;
        check_http_url(var, &raw)?;
        Ok(raw.trim_end_matches('/').to_string())
    }

    pub(super) fn key32(&self, var: &'static str) -> Result<Secret<[u8; 32]>, ConfigError> {
        decode_key32(var, &self.required(var)?)
    }

    pub(super) fn optional_key32(
        &self,
        var: &'static str,
    ) -> Result<Option<Secret<[u8; 32]>>, ConfigError> {
        self.get(var).map(|raw| decode_key32(var, &raw)).transpose()
    }

    pub(super) fn policy(
        &self,
        var: &'static str,
        name: &'static str,
        default: &str,
    ) -> Result<Policy, ConfigError> {
        let raw = self.get(var).unwrap_or_else(|| default.to_string());
        Policy::parse(name, &raw).map_err(|problem| ConfigError { var, problem })
    }

    /// An HTTP path this process serves.
    pub(super) fn path(&self, var: &'static str, default: &str) -> Result<String, ConfigError> {
        let path = self.get(var).unwrap_or_else(|| default.into());
        if !path.starts_with('/') {
            return Err(ConfigError {
                var,
                problem: "is malformed: must start with /".into(),
            });
        }
        Ok(path)
    }

    /// A count or size that zero would make meaningless.
    pub(super) fn positive<T>(&self, var: &'static str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr + Default + PartialEq,
        T::Err: fmt::Display,
    {
        let value = self.parsed(var, default)?;
        if value == T::default() {
            return Err(ConfigError {
                var,
                problem: "must be at least 1".into(),
            });
        }
        Ok(value)
    }

    pub(super) fn seconds(&self, var: &'static str, default: u64) -> Result<Duration, ConfigError> {
        let secs: u64 = self.parsed(var, default)?;
        if secs == 0 {
            return Err(ConfigError {
                var,
                problem: "must be at least 1 second".into(),
            });
        }
        Ok(Duration::from_secs(secs))
    }
}

pub(super) fn check_http_url(var: &'static str, raw: &str) -> Result<(), ConfigError> {
    if raw.starts_with("http://") || raw.starts_with("https://") {
        Ok(())
    } else {
        Err(ConfigError {
            var,
            problem: "is malformed: expected an http:// or https:// URL".into(),
        })
    }
}

/// Reads the file now, so that a wrong path or a file without a
/// certificate stops start-up instead of failing every Redis connection.
pub(super) fn read_ca_cert(path: &str) -> Result<Vec<u8>, ConfigError> {
    let problem = |problem: String| ConfigError {
        var: "REDIS_CA_CERT",
        problem,
    };
    let pem = std::fs::read(path).map_err(|e| problem(format!("cannot be read: {path}: {e}")))?;
    let certificates = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| problem(format!("is malformed: {path}: {e}")))?;
    if certificates.is_empty() {
        return Err(problem(format!(
            "is malformed: {path} holds no PEM certificate"
        )));
    }
    Ok(pem)
}

pub(super) fn decode_key32(var: &'static str, raw: &str) -> Result<Secret<[u8; 32]>, ConfigError> {
    let malformed = |problem: &str| ConfigError {
        var,
        problem: format!("is malformed: {problem}"),
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(raw.trim())
        .map_err(|_| malformed("expected base64 of exactly 32 bytes"))?;
    let key: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
        malformed(&format!(
            "decodes to {} bytes, expected exactly 32",
            b.len()
        ))
    })?;
    Ok(Secret::new(key))
}

/// Seconds with a fraction, more than zero: `30`, `0.5`.
pub(super) fn fractional_seconds(
    env: &Env,
    var: &'static str,
    default: f64,
) -> Result<Duration, ConfigError> {
    let secs: f64 = env.parsed(var, default)?;
    if !(secs.is_finite() && secs > 0.0 && secs < 86_400.0) {
        return Err(ConfigError {
            var,
            problem: "is malformed: expected a number of seconds above 0".into(),
        });
    }
    Ok(Duration::from_secs_f64(secs))
}
