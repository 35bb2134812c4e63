//! One HTTPS client for the outside HTTP APIs we call (the signing
//! certificates of bounce messages, Edge Services' purge API): rustls on
//! aws-lc-rs with the webpki roots, without a process-wide crypto provider.
//! Plain `http://` is allowed too, for local stacks and the tests.

use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;

pub type Https<B> = Client<hyper_rustls::HttpsConnector<HttpConnector>, B>;

pub fn client<B>() -> anyhow::Result<Https<B>>
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
{
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls_config()?)
        .https_or_http()
        .enable_http1()
        .build();
    Ok(Client::builder(hyper_util::rt::TokioExecutor::new()).build(connector))
}

/// The TLS side of every outside call (here and the push providers'
/// HTTP/2 client): aws-lc-rs, the webpki roots, no client certificate.
pub fn tls_config() -> anyhow::Result<rustls::ClientConfig> {
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
