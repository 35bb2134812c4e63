//! Clients of the outside services, built from configuration.

pub mod db;
pub mod queue;
pub mod redis;
pub mod s3;
pub mod signals;

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
