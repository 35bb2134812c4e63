//! The HTTP client of both providers: hyper over the TLS of every outside
//! call (`infra::https::tls_config`). APNs speaks HTTP/2 only (over TLS by
//! ALPN; plain `http://` test servers by prior knowledge); FCM and Google's
//! token endpoint take HTTP/1.1 or HTTP/2.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::{HeaderMap, Request, StatusCode};

pub type Client = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    Full<Bytes>,
>;

/// One exchange may take this long, connection included.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(15);
/// Error bodies are small; anything larger is cut.
const BODY_LIMIT: usize = 64 * 1024;

pub fn client(http2_only: bool) -> anyhow::Result<Client> {
    let builder = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(crate::infra::https::tls_config()?)
        .https_or_http();
    let connector = if http2_only {
        builder.enable_http2().build()
    } else {
        builder.enable_http1().enable_http2().build()
    };
    let mut client =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new());
    client.pool_idle_timeout(Duration::from_secs(600));
    if http2_only {
        client.http2_only(true);
    }
    Ok(client.build(connector))
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Why an exchange did not get an answer: the provider is unreachable.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Unreachable(pub String);

pub async fn exchange(
    client: &Client,
    request: Request<Full<Bytes>>,
) -> Result<Answer, Unreachable> {
    let exchange = async {
        let response = client
            .request(request)
            .await
            .map_err(|e| Unreachable(format!("{e:#}")))?;
        let (parts, body) = response.into_parts();
        let body = Limited::new(body, BODY_LIMIT)
            .collect()
            .await
            .map_err(|e| Unreachable(format!("reading the answer: {e}")))?
            .to_bytes();
        Ok(Answer {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    };
    tokio::time::timeout(EXCHANGE_TIMEOUT, exchange)
        .await
        .map_err(|_| Unreachable("timed out".into()))?
}

/// `Retry-After` in seconds, as both providers send it.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(hyper::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}
