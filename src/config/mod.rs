//! Configuration comes from the environment only. Each mode asks for the
//! variables it uses and nothing more, so the serverless worker starts with
//! database and S3 settings alone. A bad value stops start-up with one line
//! naming the variable.
//!
//! This is the floor of the crate: it imports nothing of it. Each concern
//! has its file; `env` holds the reader and the one table of variables.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

mod api;
mod env;
mod limits;
mod mail;
mod push;
mod services;
mod tools;
mod trust;
mod worker;

use api::api;
pub use api::{
    ApiConfig, CdnPurgeConfig, DEFAULT_CDN_PURGE_API_URL, DEFAULT_SNS_CERT_URL_PREFIX,
    DEFAULT_UPLOAD_MAX_BYTES, MailEventsConfig, RateLimitConfig, ReconcileConfig, SignupConfig,
    TokenConfig,
};
use env::Env;
pub use env::{VARIABLES, Variable, variable, variables_help};
pub use limits::{Policy, SignInThrottle};
use mail::mail;
pub use mail::{DEFAULT_LINK_BASE_URL, DEFAULT_MAIL_FROM, MailConfig};
pub use push::{ApnsConfig, FcmConfig, PushConfig};
pub use services::{AwsCredentials, DatabaseConfig, QueueConfig, S3Config};
use services::{database, queue, s3};
pub use tools::{AdviseConfig, OnGiveUp, TriggerBridgeConfig};
pub use trust::{LevelLimits, Requirements, StrikePolicy, TrustConfig};
use worker::worker;
pub use worker::{IO_ALLOWANCE, StorageClass, WorkerConfig};

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
/// What one client may hold of the HTTP server.
#[derive(Debug, Clone)]
pub struct HttpLimits {
    /// Open connections; past it a new one gets a 503 and is closed.
    pub max_connections: usize,
    /// Time a client has to send a request's headers.
    pub header_timeout: Duration,
}

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
    /// Push credentials, for the modes that handle jobs.
    pub push: Option<PushConfig>,
    /// Prefix of every Redis key, so that several deployments (or test runs)
    /// can share one Redis without seeing each other's counters.
    pub redis_key_prefix: String,
    /// What `GET /metrics` asks for: `METRICS_TOKEN`, or in the API modes
    /// `ADMIN_TOKEN` when no metrics token is set (deployments from before
    /// the two were separate); open when neither is.
    pub metrics_token: Option<Secret<String>>,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|var| std::env::var(var).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
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
        let metrics_token = env
            .get("METRICS_TOKEN")
            .or_else(|| api.as_ref().and(env.get("ADMIN_TOKEN")))
            .map(Secret::new);
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
            push: if mode.runs_jobs() {
                Some(push::push(&env)?)
            } else {
                None
            },
            redis_key_prefix: "ciel".into(),
            metrics_token,
        })
    }

    /// Only `ciel migrate` runs with this: it needs the database alone.
    pub fn database_from_env() -> Result<DatabaseConfig, ConfigError> {
        Self::database_from_lookup(|var| std::env::var(var).ok())
    }

    pub fn database_from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<DatabaseConfig, ConfigError> {
        database(&Env(&lookup))
    }

    /// The address a process of this environment listens on; `ciel
    /// healthcheck` asks it, so it needs nothing else.
    pub fn http_addr_from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<SocketAddr, ConfigError> {
        http_addr(&Env(&lookup))
    }
}

fn http_addr(env: &Env) -> Result<SocketAddr, ConfigError> {
    if env.get("HTTP_ADDR").is_some() {
        return env.parsed("HTTP_ADDR", SocketAddr::from(([0, 0, 0, 0], 8080)));
    }
    let port: u16 = env.parsed("PORT", 8080)?;
    Ok(SocketAddr::from(([0, 0, 0, 0], port)))
}

fn log_format(env: &Env) -> Result<LogFormat, ConfigError> {
    match env.get("LOG_FORMAT").as_deref() {
        None | Some("json") => Ok(LogFormat::Json),
        Some("text") => Ok(LogFormat::Text),
        Some(_) => Err(ConfigError {
            var: "LOG_FORMAT",
            problem: "is malformed: must be json or text".into(),
        }),
    }
}

#[cfg(test)]
mod tests;
