//! Edge Services, the CDN in front of the bucket: variants are cached there
//! for their max-age (a year), so a variant that must stop being public
//! (deleted, or withheld by a takedown) is purged by path through
//! Scaleway's API (`POST /edge-services/v1beta1/purge-requests`).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};

use crate::config::{CdnPurgeConfig, Secret};
use crate::infra::https::{self, Https};

/// Assets per purge request: a bound on the body, not a documented limit.
pub const PURGE_BATCH: usize = 50;
const PURGE_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Purger {
    http: Https<Full<Bytes>>,
    endpoint: String,
    pipeline_id: String,
    secret_key: Secret<String>,
}

/// Why a purge request did not go through; both are retried later.
#[derive(Debug, thiserror::Error)]
pub enum PurgeError {
    #[error("Edge Services answered {status}: {body}")]
    Refused { status: u16, body: String },
    #[error("Edge Services could not be reached: {0}")]
    Unreachable(String),
}

impl Purger {
    pub fn new(config: &CdnPurgeConfig) -> anyhow::Result<Self> {
        Ok(Self {
            http: https::client()?,
            endpoint: format!("{}/edge-services/v1beta1/purge-requests", config.api_url),
            pipeline_id: config.pipeline_id.clone(),
            secret_key: config.secret_key.clone(),
        })
    }

    /// Asks the CDN to forget `paths` (each starting with `/`, as the
    /// objects' keys appear under the CDN's host).
    pub async fn purge(&self, paths: &[String]) -> Result<(), PurgeError> {
        let body = serde_json::json!({ "pipeline_id": self.pipeline_id, "assets": paths });
        let request = hyper::Request::post(&self.endpoint)
            .header("X-Auth-Token", self.secret_key.expose())
            .header("Content-Type", "application/json")
            .body(Full::new(Bytes::from(body.to_string())))
            .map_err(|e| PurgeError::Unreachable(e.to_string()))?;
        let answer = async {
            let response = self
                .http
                .request(request)
                .await
                .map_err(|e| PurgeError::Unreachable(e.to_string()))?;
            let status = response.status();
            let bytes = http_body_util::Limited::new(response.into_body(), 4096)
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            if status.is_success() {
                return Ok(());
            }
            Err(PurgeError::Refused {
                status: status.as_u16(),
                body: String::from_utf8_lossy(&bytes).chars().take(200).collect(),
            })
        };
        tokio::time::timeout(PURGE_TIMEOUT, answer)
            .await
            .unwrap_or_else(|_| Err(PurgeError::Unreachable("timed out".into())))
    }
}
