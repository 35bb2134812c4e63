//! Clients of the outside services, built from configuration.

pub mod cdn;
pub mod db;
pub mod https;
pub mod queue;
pub mod redis;
pub mod s3;
pub mod signals;

pub use crate::error::Outage;

/// Wraps an SDK failure of `what` as an outage of `service`.
pub fn outage<E>(service: Outage, what: &'static str) -> impl FnOnce(E) -> anyhow::Error
where
    E: std::error::Error + Send + Sync + 'static,
{
    move |e| anyhow::Error::new(e).context(what).context(service)
}

/// The static credentials of the environment, in the form the AWS SDK
/// clients (S3 and SQS alike) take.
fn sdk_credentials(credentials: &crate::config::AwsCredentials) -> aws_sdk_s3::config::Credentials {
    aws_sdk_s3::config::Credentials::new(
        &credentials.access_key_id,
        credentials.secret_access_key.expose(),
        None,
        None,
        "ciel-environment",
    )
}

/// The SDK clients' deadlines: a connection within 3 s, an attempt within
/// 30 s (a long poll holds its request for up to 20 s).
fn sdk_timeouts() -> aws_sdk_s3::config::timeout::TimeoutConfig {
    aws_sdk_s3::config::timeout::TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_secs(3))
        .operation_attempt_timeout(std::time::Duration::from_secs(30))
        .build()
}
