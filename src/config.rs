//! Configuration comes from the environment only. Each mode asks for the
//! variables it uses and nothing more, so the serverless worker starts with
//! database and S3 settings alone. A bad value stops start-up with one line
//! naming the variable.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use base64::Engine as _;
use ipnet::IpNet;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::ratelimit::{Policy, SignInThrottle};

/// A value that must never reach a log line or a `Debug` dump.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }

    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Api,
    ServerlessWorker,
    Worker,
    Dev,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Api => "api",
            Mode::ServerlessWorker => "serverless-worker",
            Mode::Worker => "worker",
            Mode::Dev => "dev",
        }
    }

    fn serves_api(self) -> bool {
        matches!(self, Mode::Api | Mode::Dev)
    }

    fn uses_queue(self) -> bool {
        !matches!(self, Mode::ServerlessWorker)
    }

    /// Modes that handle jobs, account mail included.
    fn runs_jobs(self) -> bool {
        !matches!(self, Mode::Api)
    }
}

impl FromStr for Mode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "api" => Ok(Mode::Api),
            "serverless-worker" => Ok(Mode::ServerlessWorker),
            "worker" => Ok(Mode::Worker),
            "dev" => Ok(Mode::Dev),
            _ => Err("must be one of api, serverless-worker, worker, dev".into()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Text,
}

/// The one-line reason start-up stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration error: {var} {problem}")]
pub struct ConfigError {
    pub var: &'static str,
    pub problem: String,
}

#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    pub url: Secret<String>,
    /// A read replica for reads that may lag (`DATABASE_READ_URL`).
    pub read_url: Option<Secret<String>>,
    pub max_connections: u32,
}

#[derive(Debug, Clone)]
pub struct S3Config {
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    /// Public base URL of the bucket (a CDN); variants are then served from it
    /// instead of presigned GETs.
    pub public_endpoint: Option<String>,
    pub credentials: AwsCredentials,
}

#[derive(Debug, Clone)]
pub struct AwsCredentials {
    pub access_key_id: String,
    pub secret_access_key: Secret<String>,
}

#[derive(Debug, Clone)]
pub struct QueueConfig {
    pub endpoint: String,
    pub name: String,
    pub region: String,
    pub credentials: AwsCredentials,
    /// The queue's dead-letter queue, when this process should mark the
    /// media of jobs that end there as failed.
    pub dead_letter_name: Option<String>,
}

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
}

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

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub concurrency: usize,
    /// Memory the jobs of this process may use at once, in MiB: each job
    /// reserves the imaging crate's estimate of its peak before decoding.
    pub memory_budget_mb: u32,
    pub trigger_path: String,
    /// Where a second trigger, on the dead-letter queue, POSTs.
    pub dead_letter_path: String,
    /// How long a received job stays invisible to other consumers; the
    /// long-polling worker extends it while a job runs.
    pub visibility_timeout: Duration,
    /// How long one receive of the long-polling worker waits for messages.
    pub long_poll: Duration,
    /// Processing time allowed to the largest photo accepted (50 MP); a
    /// smaller one gets its share by pixel count, at least a tenth of it.
    pub job_time_limit: Duration,
    /// The longest a job may take from its arrival to its answer, waiting
    /// for a slot included: the serverless container's timeout. The
    /// long-polling worker stops extending a message's visibility past it.
    pub request_timeout: Duration,
}

/// What one client may hold of the HTTP server.
#[derive(Debug, Clone)]
pub struct HttpLimits {
    /// Open connections; past it a new one gets a 503 and is closed.
    pub max_connections: usize,
    /// Time a client has to send a request's headers.
    pub header_timeout: Duration,
}

/// Account mail (`SMTP_URL`, `MAIL_FROM`, `APP_LINK_BASE_URL`), read by
/// the modes that handle jobs. All optional: without `SMTP_URL` the dev
/// process logs each mail's link, and the workers keep mail jobs pending
/// (retried) rather than lose them.
#[derive(Debug, Clone)]
pub struct MailConfig {
    /// `smtp://`, `smtps://` (TLS) or `smtp://...?tls=required` (STARTTLS),
    /// with the credentials in the user info. Holds a secret.
    pub smtp_url: Option<Secret<String>>,
    /// The sender, `Name <address>` or a bare address.
    pub from: String,
    /// Base URL of the links in the mails, without a trailing slash.
    pub link_base_url: String,
    /// Log the link instead of failing when there is no `SMTP_URL` (dev).
    pub log_without_smtp: bool,
}

pub const DEFAULT_MAIL_FROM: &str = "Ciel <no-reply@localhost>";
pub const DEFAULT_LINK_BASE_URL: &str = "http://localhost:8080/app";

#[derive(Debug, Clone)]
pub struct Config {
    pub mode: Mode,
    pub http_addr: SocketAddr,
    pub http_limits: HttpLimits,
    pub log_format: LogFormat,
    pub database: DatabaseConfig,
    pub s3: S3Config,
    pub queue: Option<QueueConfig>,
    pub api: Option<ApiConfig>,
    pub worker: WorkerConfig,
    /// Account mail, for the modes that handle jobs.
    pub mail: Option<MailConfig>,
    /// Prefix of every Redis key, so that several deployments (or test runs)
    /// can share one Redis without seeing each other's counters.
    pub redis_key_prefix: String,
}

/// Reads variables through a lookup function, so tests can pass a map
/// instead of mutating the process environment.
pub struct Env<F: Fn(&str) -> Option<String>>(pub F);

impl<F: Fn(&str) -> Option<String>> Env<F> {
    fn get(&self, var: &'static str) -> Option<String> {
        (self.0)(var).filter(|v| !v.trim().is_empty())
    }

    fn required(&self, var: &'static str) -> Result<String, ConfigError> {
        self.get(var).ok_or_else(|| ConfigError {
            var,
            problem: "is missing".into(),
        })
    }

    fn parsed<T>(&self, var: &'static str, default: T) -> Result<T, ConfigError>
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

    fn url(&self, var: &'static str) -> Result<String, ConfigError> {
        let raw = self.required(var)?;
        check_http_url(var, &raw)?;
        Ok(raw.trim_end_matches('/').to_string())
    }

    fn key32(&self, var: &'static str) -> Result<Secret<[u8; 32]>, ConfigError> {
        decode_key32(var, &self.required(var)?)
    }

    fn optional_key32(&self, var: &'static str) -> Result<Option<Secret<[u8; 32]>>, ConfigError> {
        self.get(var).map(|raw| decode_key32(var, &raw)).transpose()
    }

    fn policy(
        &self,
        var: &'static str,
        name: &'static str,
        default: &str,
    ) -> Result<Policy, ConfigError> {
        let raw = self.get(var).unwrap_or_else(|| default.to_string());
        Policy::parse(name, &raw).map_err(|problem| ConfigError { var, problem })
    }

    /// An HTTP path this process serves.
    fn path(&self, var: &'static str, default: &str) -> Result<String, ConfigError> {
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
    fn positive<T>(&self, var: &'static str, default: T) -> Result<T, ConfigError>
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

    fn seconds(&self, var: &'static str, default: u64) -> Result<Duration, ConfigError> {
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

fn check_http_url(var: &'static str, raw: &str) -> Result<(), ConfigError> {
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
fn read_ca_cert(path: &str) -> Result<Vec<u8>, ConfigError> {
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

fn decode_key32(var: &'static str, raw: &str) -> Result<Secret<[u8; 32]>, ConfigError> {
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

pub const DEFAULT_UPLOAD_MAX_BYTES: u64 = 25 * 1024 * 1024;

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|var| std::env::var(var).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(lookup);
        let mode: Mode = env
            .required("APP_MODE")?
            .parse()
            .map_err(|problem| ConfigError {
                var: "APP_MODE",
                problem: format!("is malformed: {problem}"),
            })?;
        let worker = worker(&env)?;
        let api = if mode.serves_api() {
            Some(api(&env)?)
        } else {
            None
        };
        if let Some(api) = &api
            && api.reconcile.stuck_after <= worker.request_timeout
        {
            return Err(ConfigError {
                var: "MEDIA_STUCK_AFTER_SECS",
                problem: "must exceed WORKER_REQUEST_TIMEOUT_SECS (the longest a job may run)"
                    .into(),
            });
        }
        Ok(Config {
            mode,
            http_addr: http_addr(&env)?,
            http_limits: HttpLimits {
                max_connections: env.positive("HTTP_MAX_CONNECTIONS", 4096)?,
                header_timeout: env.seconds("HTTP_HEADER_TIMEOUT_SECS", 10)?,
            },
            log_format: log_format(&env)?,
            database: database(&env)?,
            s3: s3(&env)?,
            queue: if mode.uses_queue() {
                Some(queue(&env, mode)?)
            } else {
                None
            },
            api,
            worker,
            mail: if mode.runs_jobs() {
                Some(mail(&env, mode)?)
            } else {
                None
            },
            redis_key_prefix: "ciel".into(),
        })
    }

    /// Only `ciel migrate` runs with this: it needs the database alone.
    pub fn database_from_env() -> Result<DatabaseConfig, ConfigError> {
        Self::database_from_lookup(|var| std::env::var(var).ok())
    }

    pub fn database_from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<DatabaseConfig, ConfigError> {
        database(&Env(lookup))
    }

    /// The address a process of this environment listens on; `ciel
    /// healthcheck` asks it, so it needs nothing else.
    pub fn http_addr_from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<SocketAddr, ConfigError> {
        http_addr(&Env(lookup))
    }

    /// `ciel trigger-bridge`: the queue it reads and the URL it POSTs to.
    pub fn trigger_bridge_from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<TriggerBridgeConfig, ConfigError> {
        let env = Env(lookup);
        let target = env.required("TRIGGER_URL")?;
        if !target.starts_with("http://") {
            return Err(ConfigError {
                var: "TRIGGER_URL",
                problem: "is malformed: expected an http:// URL (the bridge serves local stacks)"
                    .into(),
            });
        }
        let retry_delay_ms: u64 = env.positive("TRIGGER_RETRY_DELAY_MS", 1000)?;
        Ok(TriggerBridgeConfig {
            queue: queue(&env, Mode::Worker)?,
            target,
            retry_delay: Duration::from_millis(retry_delay_ms),
            on_give_up: env.parsed("TRIGGER_ON_GIVE_UP", OnGiveUp::Leave)?,
            http_addr: http_addr(&env)?,
            log_format: log_format(&env)?,
        })
    }
}

/// What `ciel advise` reads: the API's own variables, each signal optional
/// but the database (`REDIS_URL`, `QUEUE_*` and `ADMIN_TOKEN` as the API
/// has them; a signal whose variables are missing is reported unmeasured).
#[derive(Debug, Clone)]
pub struct AdviseConfig {
    pub database: DatabaseConfig,
    pub redis_url: Option<Secret<String>>,
    pub redis_ca_cert: Option<Vec<u8>>,
    pub queue: Option<QueueConfig>,
    /// Sent as `Authorization: Bearer` to the `/metrics` URLs.
    pub admin_token: Option<Secret<String>>,
}

impl Config {
    pub fn advise_from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<AdviseConfig, ConfigError> {
        let env = Env(lookup);
        let redis_url = env.get("REDIS_URL");
        if let Some(url) = &redis_url
            && !(url.starts_with("redis://") || url.starts_with("rediss://"))
        {
            return Err(ConfigError {
                var: "REDIS_URL",
                problem: "is malformed: expected a redis:// or rediss:// URL".into(),
            });
        }
        let redis_ca_cert = env
            .get("REDIS_CA_CERT")
            .map(|p| read_ca_cert(&p))
            .transpose()?;
        let queue = match env.get("QUEUE_NAME") {
            Some(_) => Some(queue(&env, Mode::Api)?),
            None => None,
        };
        Ok(AdviseConfig {
            database: database(&env)?,
            redis_url: redis_url.map(Secret::new),
            redis_ca_cert,
            queue,
            admin_token: env.get("ADMIN_TOKEN").map(Secret::new),
        })
    }
}

/// What `ciel trigger-bridge` needs: it stands in for Scaleway's SQS
/// trigger on machines without Scaleway (laptops, compose, the tests).
#[derive(Debug, Clone)]
pub struct TriggerBridgeConfig {
    /// The queue the trigger reads (`QUEUE_*`); its dead-letter setting is unused.
    pub queue: QueueConfig,
    /// Where each message body is POSTed (`TRIGGER_URL`).
    pub target: String,
    /// Pause before the second attempt; the third waits twice as long.
    pub retry_delay: Duration,
    /// What happens to a message after its last failed attempt
    /// (`TRIGGER_ON_GIVE_UP`).
    pub on_give_up: OnGiveUp,
    /// `/health` for the container's healthcheck.
    pub http_addr: SocketAddr,
    pub log_format: LogFormat,
}

/// Scaleway does not document what its trigger does with a message after the
/// third failed attempt. `leave` (the default) assumes the queue redelivers
/// it and then dead-letters it; `delete` plays the worst case, a message
/// gone for good, which only the API's reconciler can make up for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnGiveUp {
    Leave,
    Delete,
}

impl FromStr for OnGiveUp {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        match raw {
            "leave" => Ok(Self::Leave),
            "delete" => Ok(Self::Delete),
            other => Err(format!("expected leave or delete, got {other:?}")),
        }
    }
}

fn http_addr<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<SocketAddr, ConfigError> {
    if env.get("HTTP_ADDR").is_some() {
        return env.parsed("HTTP_ADDR", SocketAddr::from(([0, 0, 0, 0], 8080)));
    }
    let port: u16 = env.parsed("PORT", 8080)?;
    Ok(SocketAddr::from(([0, 0, 0, 0], port)))
}

fn log_format<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<LogFormat, ConfigError> {
    match env.get("LOG_FORMAT").as_deref() {
        None | Some("json") => Ok(LogFormat::Json),
        Some("text") => Ok(LogFormat::Text),
        Some(_) => Err(ConfigError {
            var: "LOG_FORMAT",
            problem: "is malformed: must be json or text".into(),
        }),
    }
}

fn database<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<DatabaseConfig, ConfigError> {
    let url = postgres_url("DATABASE_URL", env.required("DATABASE_URL")?)?;
    let read_url = env
        .get("DATABASE_READ_URL")
        .map(|url| postgres_url("DATABASE_READ_URL", url))
        .transpose()?;
    let max_connections: u32 = env.positive("DATABASE_MAX_CONNECTIONS", 10)?;
    Ok(DatabaseConfig {
        url,
        read_url,
        max_connections,
    })
}

fn postgres_url(var: &'static str, url: String) -> Result<Secret<String>, ConfigError> {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(ConfigError {
            var,
            problem: "is malformed: expected a postgres:// URL".into(),
        });
    }
    Ok(Secret::new(url))
}

fn aws_credentials<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> Result<AwsCredentials, ConfigError> {
    Ok(AwsCredentials {
        access_key_id: env.required("AWS_ACCESS_KEY_ID")?,
        secret_access_key: Secret::new(env.required("AWS_SECRET_ACCESS_KEY")?),
    })
}

fn s3<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<S3Config, ConfigError> {
    let public_endpoint = match env.get("S3_PUBLIC_ENDPOINT") {
        Some(raw) => {
            check_http_url("S3_PUBLIC_ENDPOINT", &raw)?;
            Some(raw.trim_end_matches('/').to_string())
        }
        None => None,
    };
    Ok(S3Config {
        endpoint: env.url("S3_ENDPOINT")?,
        region: env.required("S3_REGION")?,
        bucket: env.required("S3_BUCKET")?,
        public_endpoint,
        credentials: aws_credentials(env)?,
    })
}

fn queue<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
    mode: Mode,
) -> Result<QueueConfig, ConfigError> {
    // Scaleway's SQS has credentials of its own; fall back to the AWS_* pair
    // when one key pair serves both.
    let credentials = match env.get("QUEUE_ACCESS_KEY_ID") {
        Some(access_key_id) => AwsCredentials {
            access_key_id,
            secret_access_key: Secret::new(env.required("QUEUE_SECRET_ACCESS_KEY")?),
        },
        None => aws_credentials(env)?,
    };
    let name = env.required("QUEUE_NAME")?;
    // The dev process creates its queues (Queue::ensure_exists), this one too.
    let dead_letter_name = env
        .get("QUEUE_DEAD_LETTER_NAME")
        .or_else(|| (mode == Mode::Dev).then(|| format!("{name}-dlq")));
    Ok(QueueConfig {
        endpoint: env.url("QUEUE_ENDPOINT")?,
        name,
        region: env
            .get("QUEUE_REGION")
            .or_else(|| env.get("S3_REGION"))
            .unwrap_or_else(|| "fr-par".into()),
        credentials,
        dead_letter_name,
    })
}

fn api<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<ApiConfig, ConfigError> {
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
            trusted_proxies: trusted_proxies(env)?,
        },
        upload_max_bytes,
        admin_token: env.get("ADMIN_TOKEN").map(Secret::new),
        reconcile,
        mail_events: mail_events(env)?,
    })
}

fn mail_events<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> Result<Option<MailEventsConfig>, ConfigError> {
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
        .unwrap_or_else(|| "https://".into());
    check_http_url("SNS_CERT_URL_PREFIX", &cert_url_prefix)?;
    Ok(Some(MailEventsConfig {
        topic_arn,
        trust_chain_pem,
        cert_url_prefix,
    }))
}

fn mail<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
    mode: Mode,
) -> Result<MailConfig, ConfigError> {
    let smtp_url = env.get("SMTP_URL");
    if let Some(url) = &smtp_url {
        // The URL holds the password: name the problem, never the value.
        if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
            return Err(ConfigError {
                var: "SMTP_URL",
                problem: "is malformed: expected an smtp:// or smtps:// URL".into(),
            });
        }
        crate::mail::sender::check_smtp_url(url).map_err(|problem| ConfigError {
            var: "SMTP_URL",
            problem: format!("is malformed: {problem}"),
        })?;
    }
    let needed = |var: &'static str, default: &str| match env.get(var) {
        Some(value) => Ok(value),
        None if smtp_url.is_none() => Ok(default.to_string()),
        None => Err(ConfigError {
            var,
            problem: "is missing (SMTP_URL is set)".into(),
        }),
    };
    let from = needed("MAIL_FROM", DEFAULT_MAIL_FROM)?;
    crate::mail::sender::check_mailbox(&from).map_err(|problem| ConfigError {
        var: "MAIL_FROM",
        problem: format!("is malformed: {problem}"),
    })?;
    let link_base_url = needed("APP_LINK_BASE_URL", DEFAULT_LINK_BASE_URL)?;
    check_http_url("APP_LINK_BASE_URL", &link_base_url)?;
    if link_base_url.contains(['?', '#']) {
        return Err(ConfigError {
            var: "APP_LINK_BASE_URL",
            problem: "is malformed: no query or fragment; the links add their own".into(),
        });
    }
    Ok(MailConfig {
        smtp_url: smtp_url.map(Secret::new),
        from,
        link_base_url: link_base_url.trim_end_matches('/').to_string(),
        log_without_smtp: mode == Mode::Dev,
    })
}

fn trusted_proxies<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Vec<IpNet>, ConfigError> {
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

fn worker<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<WorkerConfig, ConfigError> {
    let concurrency: usize = env.positive("WORKER_CONCURRENCY", 2)?;
    let memory_budget_mb: u32 = env.positive("WORKER_MEMORY_BUDGET_MB", 384)?;
    let trigger_path = env.path("WORKER_TRIGGER_PATH", "/")?;
    let dead_letter_path = env.path("WORKER_DEAD_LETTER_PATH", "/dead-letters")?;
    if dead_letter_path == trigger_path {
        return Err(ConfigError {
            var: "WORKER_DEAD_LETTER_PATH",
            problem: "must differ from WORKER_TRIGGER_PATH".into(),
        });
    }
    let job_time_limit = fractional_seconds(env, "WORKER_JOB_TIME_LIMIT_SECS", 30.0)?;
    let request_timeout = env.seconds("WORKER_REQUEST_TIMEOUT_SECS", 300)?;
    if request_timeout < job_time_limit + crate::worker::IO_ALLOWANCE {
        return Err(ConfigError {
            var: "WORKER_REQUEST_TIMEOUT_SECS",
            problem: format!(
                "must exceed WORKER_JOB_TIME_LIMIT_SECS by at least {} s (downloads and uploads)",
                crate::worker::IO_ALLOWANCE.as_secs()
            ),
        });
    }
    Ok(WorkerConfig {
        concurrency,
        memory_budget_mb,
        trigger_path,
        dead_letter_path,
        visibility_timeout: env.seconds("WORKER_VISIBILITY_TIMEOUT_SECS", 60)?,
        long_poll: long_poll(env)?,
        job_time_limit,
        request_timeout,
    })
}

/// 1 to 20 s: SQS's longest receive wait.
fn long_poll<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Duration, ConfigError> {
    let poll = env.seconds("WORKER_LONG_POLL_SECS", 20)?;
    if poll > Duration::from_secs(20) {
        return Err(ConfigError {
            var: "WORKER_LONG_POLL_SECS",
            problem: "must be at most 20 (SQS's longest wait)".into(),
        });
    }
    Ok(poll)
}

/// Seconds with a fraction, more than zero: `30`, `0.5`.
fn fractional_seconds<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const KEY_A: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    const KEY_B: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";

    fn base() -> HashMap<&'static str, String> {
        [
            ("DATABASE_URL", "postgres://localhost/ciel"),
            ("S3_ENDPOINT", "http://127.0.0.1:9000"),
            ("S3_REGION", "fr-par"),
            ("S3_BUCKET", "media"),
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "very-secret-value"),
        ]
        .into_iter()
        .map(|(k, v)| (k, v.to_string()))
        .collect()
    }

    fn api_env() -> HashMap<&'static str, String> {
        let mut env = base();
        env.insert("APP_MODE", "api".into());
        env.insert("REDIS_URL", "redis://127.0.0.1:6379".into());
        env.insert("QUEUE_ENDPOINT", "http://127.0.0.1:9324".into());
        env.insert("QUEUE_NAME", "jobs".into());
        env.insert("PASETO_ACCESS_KEY", KEY_A.into());
        env.insert("PASETO_REFRESH_KEY", KEY_B.into());
        env
    }

    fn load(env: &HashMap<&'static str, String>) -> Result<Config, ConfigError> {
        Config::from_lookup(|k| env.get(k).cloned())
    }

    #[test]
    fn serverless_worker_needs_only_database_and_s3() {
        let mut env = base();
        env.insert("APP_MODE", "serverless-worker".into());
        let config = load(&env).expect("serverless worker config");
        assert!(config.api.is_none());
        assert!(config.queue.is_none());
    }

    #[test]
    fn api_mode_names_the_first_missing_variable() {
        let mut env = api_env();
        env.remove("PASETO_REFRESH_KEY");
        let err = load(&env).unwrap_err();
        assert_eq!(err.var, "PASETO_REFRESH_KEY");
        assert_eq!(
            err.to_string(),
            "configuration error: PASETO_REFRESH_KEY is missing"
        );
    }

    #[test]
    fn paseto_keys_must_be_32_bytes_of_base64() {
        for (bad, expected) in [
            ("not base64!!", "expected base64 of exactly 32 bytes"),
            ("AAAA", "decodes to 3 bytes, expected exactly 32"),
        ] {
            let mut env = api_env();
            env.insert("PASETO_ACCESS_KEY", bad.into());
            let err = load(&env).unwrap_err();
            assert_eq!(err.var, "PASETO_ACCESS_KEY");
            assert!(err.problem.contains(expected), "{}", err.problem);
            assert!(!err.to_string().contains(bad) || bad == "AAAA");
        }
    }

    #[test]
    fn identical_access_and_refresh_keys_are_refused() {
        let mut env = api_env();
        env.insert("PASETO_REFRESH_KEY", KEY_A.into());
        assert_eq!(load(&env).unwrap_err().var, "PASETO_REFRESH_KEY");
    }

    #[test]
    fn listens_on_port_when_http_addr_is_unset() {
        let mut env = api_env();
        assert_eq!(
            load(&env).unwrap().http_addr,
            "0.0.0.0:8080".parse().unwrap()
        );
        env.insert("PORT", "9999".into());
        assert_eq!(
            load(&env).unwrap().http_addr,
            "0.0.0.0:9999".parse().unwrap()
        );
        env.insert("HTTP_ADDR", "127.0.0.1:7000".into());
        assert_eq!(
            load(&env).unwrap().http_addr,
            "127.0.0.1:7000".parse().unwrap()
        );
        env.insert("HTTP_ADDR", "nonsense".into());
        assert_eq!(load(&env).unwrap_err().var, "HTTP_ADDR");
    }

    #[test]
    fn unknown_mode_is_refused() {
        let mut env = api_env();
        env.insert("APP_MODE", "apii".into());
        let err = load(&env).unwrap_err();
        assert_eq!(err.var, "APP_MODE");
        assert!(err.problem.contains("api, serverless-worker, worker, dev"));
    }

    #[test]
    fn debug_output_redacts_secrets() {
        let config = load(&api_env()).unwrap();
        let dump = format!("{config:?}");
        assert!(!dump.contains("very-secret-value"));
        assert!(!dump.contains("postgres://localhost/ciel"));
        assert!(dump.contains("Secret(***)"));
    }

    #[test]
    fn trusted_proxies_accept_addresses_and_cidrs() {
        let mut env = api_env();
        env.insert("TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1".into());
        let config = load(&env).unwrap();
        assert_eq!(config.api.unwrap().rate_limits.trusted_proxies.len(), 2);
        env.insert("TRUSTED_PROXIES", "10.0.0.0/33".into());
        assert_eq!(load(&env).unwrap_err().var, "TRUSTED_PROXIES");
    }

    #[test]
    fn redis_ca_cert_must_be_a_readable_pem_file_for_a_tls_url() {
        let not_pem = std::env::temp_dir().join(format!("ciel-not-pem-{}", std::process::id()));
        std::fs::write(&not_pem, "not a certificate").unwrap();
        let not_pem = not_pem.to_str().unwrap().to_string();
        let mut env = api_env();
        for (url, path, expected) in [
            (
                "redis://127.0.0.1:6379",
                not_pem.as_str(),
                "REDIS_URL is not a rediss:// URL",
            ),
            (
                "rediss://127.0.0.1:6379",
                "/nonexistent/ca.pem",
                "cannot be read",
            ),
            (
                "rediss://127.0.0.1:6379",
                not_pem.as_str(),
                "holds no PEM certificate",
            ),
        ] {
            env.insert("REDIS_URL", url.into());
            env.insert("REDIS_CA_CERT", path.into());
            let err = load(&env).unwrap_err();
            assert_eq!(err.var, "REDIS_CA_CERT");
            assert!(err.problem.contains(expected), "{}", err.problem);
        }
        std::fs::remove_file(not_pem).unwrap();
    }

    #[test]
    fn the_dev_process_handles_its_own_dead_letters_and_workers_when_told() {
        let mut env = api_env();
        env.insert("APP_MODE", "dev".into());
        let dev = load(&env).unwrap().queue.unwrap();
        assert_eq!(dev.dead_letter_name.as_deref(), Some("jobs-dlq"));
        env.insert("APP_MODE", "worker".into());
        assert_eq!(load(&env).unwrap().queue.unwrap().dead_letter_name, None);
        env.insert("QUEUE_DEAD_LETTER_NAME", "jobs-dead".into());
        let worker = load(&env).unwrap().queue.unwrap();
        assert_eq!(worker.dead_letter_name.as_deref(), Some("jobs-dead"));
        env.insert("WORKER_DEAD_LETTER_PATH", "/".into());
        assert_eq!(load(&env).unwrap_err().var, "WORKER_DEAD_LETTER_PATH");
    }

    #[test]
    fn job_time_limits_take_fractions_and_must_fit_the_request_timeout() {
        let mut env = base();
        env.insert("APP_MODE", "serverless-worker".into());
        env.insert("WORKER_JOB_TIME_LIMIT_SECS", "0.5".into());
        let worker = load(&env).unwrap().worker;
        assert_eq!(worker.job_time_limit, Duration::from_millis(500));
        assert_eq!(worker.request_timeout, Duration::from_secs(300));
        env.insert("WORKER_JOB_TIME_LIMIT_SECS", "0".into());
        assert_eq!(load(&env).unwrap_err().var, "WORKER_JOB_TIME_LIMIT_SECS");
        env.insert("WORKER_JOB_TIME_LIMIT_SECS", "290".into());
        assert_eq!(load(&env).unwrap_err().var, "WORKER_REQUEST_TIMEOUT_SECS");
    }

    #[test]
    fn the_trigger_bridge_needs_a_queue_and_a_plain_http_target() {
        let env: HashMap<&'static str, String> = [
            ("QUEUE_ENDPOINT", "http://127.0.0.1:9324"),
            ("QUEUE_NAME", "jobs-dlq"),
            ("QUEUE_ACCESS_KEY_ID", "AKID"),
            ("QUEUE_SECRET_ACCESS_KEY", "secret"),
            ("TRIGGER_URL", "http://worker:8080/dead-letters"),
        ]
        .into_iter()
        .map(|(k, v)| (k, v.to_string()))
        .collect();
        let load = |env: &HashMap<&'static str, String>| {
            Config::trigger_bridge_from_lookup(|k| env.get(k).cloned())
        };
        let config = load(&env).expect("bridge config without database or S3");
        assert_eq!(config.target, "http://worker:8080/dead-letters");
        assert_eq!(config.queue.name, "jobs-dlq");
        assert_eq!(config.retry_delay, Duration::from_secs(1));
        assert_eq!(config.on_give_up, OnGiveUp::Leave);
        for (var, bad, expected) in [
            ("TRIGGER_URL", "https://worker/", "expected an http:// URL"),
            ("TRIGGER_URL", "", "is missing"),
            ("TRIGGER_RETRY_DELAY_MS", "0", "at least 1"),
            ("TRIGGER_ON_GIVE_UP", "drop", "expected leave or delete"),
            ("QUEUE_NAME", "", "is missing"),
        ] {
            let mut env = env.clone();
            env.insert(var, bad.into());
            let err = load(&env).unwrap_err();
            assert_eq!(err.var, var);
            assert!(err.problem.contains(expected), "{}", err.problem);
        }
    }

    #[test]
    fn mail_settings_are_optional_and_checked_together() {
        let mut env = base();
        env.insert("APP_MODE", "serverless-worker".into());
        let mail = load(&env).unwrap().mail.unwrap();
        assert!(mail.smtp_url.is_none() && !mail.log_without_smtp);
        assert!(load(&api_env()).unwrap().mail.is_none());
        env.insert(
            "SMTP_URL",
            "smtps://user:hunter2-secret@smtp.tem.scaleway.com:465".into(),
        );
        let err = load(&env).unwrap_err();
        assert_eq!(err.var, "MAIL_FROM");
        env.insert("MAIL_FROM", "Ciel <no-reply@mail.example.org>".into());
        assert_eq!(load(&env).unwrap_err().var, "APP_LINK_BASE_URL");
        env.insert("APP_LINK_BASE_URL", "https://links.example.org/a/".into());
        let config = load(&env).unwrap();
        let mail = config.mail.unwrap();
        assert_eq!(mail.link_base_url, "https://links.example.org/a");
        assert!(!format!("{mail:?}").contains("hunter2-secret"));
        for (var, bad) in [
            ("SMTP_URL", "http://smtp.example.org"),
            ("MAIL_FROM", "not an address"),
            ("APP_LINK_BASE_URL", "links.example.org"),
            ("APP_LINK_BASE_URL", "https://links.example.org/?x=1"),
        ] {
            let mut env = env.clone();
            env.insert(var, bad.into());
            let err = load(&env).unwrap_err();
            assert_eq!(err.var, var);
            assert!(!err.to_string().contains("hunter2-secret"));
        }
    }

    #[test]
    fn the_bounce_endpoint_needs_a_readable_trust_chain() {
        let mut env = api_env();
        assert!(load(&env).unwrap().api.unwrap().mail_events.is_none());
        env.insert("SNS_TOPIC_ARN", "arn:scw:sns:fr-par:project:topic".into());
        assert_eq!(load(&env).unwrap_err().var, "SNS_TRUST_CHAIN");
        env.insert("SNS_TRUST_CHAIN", "/nonexistent/chain.pem".into());
        let err = load(&env).unwrap_err();
        assert_eq!(err.var, "SNS_TRUST_CHAIN");
        assert!(err.problem.contains("cannot be read"), "{}", err.problem);
    }

    #[test]
    fn rate_limit_policies_are_parsed() {
        let mut env = api_env();
        env.insert("RATE_LIMIT_LOGIN", "3/10s".into());
        let login = load(&env).unwrap().api.unwrap().rate_limits.login;
        assert_eq!((login.quota, login.window), (3, Duration::from_secs(10)));
        env.insert("RATE_LIMIT_LOGIN", "three per minute".into());
        assert_eq!(load(&env).unwrap_err().var, "RATE_LIMIT_LOGIN");
    }
}
