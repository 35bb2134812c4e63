//! The services every mode talks to: PostgreSQL, object storage and the queue.

use super::env::{Env, check_http_url};
use super::{ConfigError, Mode, Secret};

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

pub(super) fn database(env: &Env) -> Result<DatabaseConfig, ConfigError> {
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

pub(super) fn aws_credentials(env: &Env) -> Result<AwsCredentials, ConfigError> {
    Ok(AwsCredentials {
        access_key_id: env.required("AWS_ACCESS_KEY_ID")?,
        secret_access_key: Secret::new(env.required("AWS_SECRET_ACCESS_KEY")?),
    })
}

pub(super) fn s3(env: &Env) -> Result<S3Config, ConfigError> {
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

pub(super) fn queue(env: &Env, mode: Mode) -> Result<QueueConfig, ConfigError> {
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
