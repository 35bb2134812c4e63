//! The settings of the commands beside the modes: `ciel advise` and
//! `ciel trigger-bridge`.

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use super::env::{Env, read_ca_cert};
use super::services::{DatabaseConfig, QueueConfig, database, queue};
use super::{Config, ConfigError, LogFormat, Mode, Secret, http_addr, log_format};

impl Config {
    /// `ciel trigger-bridge`: the queue it reads and the URL it POSTs to.
    pub fn trigger_bridge_from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<TriggerBridgeConfig, ConfigError> {
        let env = Env(&lookup);
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
    /// Sent as `Authorization: Bearer` to the `/metrics` URLs:
    /// `METRICS_TOKEN`, or `ADMIN_TOKEN` where the API still takes it.
    pub metrics_token: Option<Secret<String>>,
}

impl Config {
    pub fn advise_from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<AdviseConfig, ConfigError> {
        let env = Env(&lookup);
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
            metrics_token: env
                .get("METRICS_TOKEN")
                .or_else(|| env.get("ADMIN_TOKEN"))
                .map(Secret::new),
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
