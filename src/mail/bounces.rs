//! Bounces and complaints from Transactional Email: its webhook publishes
//! them to a Topics and Events (SNS) topic, whose HTTPS subscription POSTs
//! each message here. Scaleway signs the messages as Amazon SNS does, with a
//! certificate (`SigningCertURL`) that must chain to Scaleway's own CA
//! (`sns-trust-chain.pem`), never trusted by itself. A message that does not
//! verify is ignored.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine as _;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{
    AlgorithmIdentifier, CertificateDer, InvalidSignature, SignatureVerificationAlgorithm,
    TrustAnchor, UnixTime, alg_id,
};
use serde::Deserialize;
use sqlx::PgPool;

type Https = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    http_body_util::Empty<bytes::Bytes>,
>;

/// An HTTPS (and, for local stacks, HTTP) client on rustls with aws-lc-rs
/// and the webpki roots, without a process-wide crypto provider.
fn https_client() -> anyhow::Result<Https> {
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .build();
    Ok(
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build(connector),
    )
}

/// GETs `url`, at most `limit` bytes, in 10 s.
async fn get(client: &Https, url: &str, limit: usize) -> Result<bytes::Bytes, String> {
    use http_body_util::BodyExt as _;
    let uri: hyper::Uri = url.parse().map_err(|_| "not a URL".to_string())?;
    let fetch = async {
        let response = client.get(uri).await.map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("status {}", response.status()));
        }
        http_body_util::Limited::new(response.into_body(), limit)
            .collect()
            .await
            .map(|body| body.to_bytes())
            .map_err(|e| e.to_string())
    };
    tokio::time::timeout(Duration::from_secs(10), fetch)
        .await
        .map_err(|_| "timed out".to_string())?
}

/// What `/v1/mail/sns` trusts (`SNS_TOPIC_ARN`, `SNS_TRUST_CHAIN`,
/// `SNS_CERT_URL_PREFIX`).
pub struct SnsVerifier {
    topic_arn: String,
    anchors: Vec<TrustAnchor<'static>>,
    cert_url_prefix: String,
    http: Https,
    /// Certificates by URL: each URL names one certificate.
    certs: Mutex<HashMap<String, Vec<CertificateDer<'static>>>>,
}

#[derive(Debug, Deserialize)]
pub struct SnsMessage {
    #[serde(rename = "Type")]
    kind: String,
    #[serde(rename = "MessageId")]
    message_id: String,
    #[serde(rename = "Token")]
    token: Option<String>,
    #[serde(rename = "TopicArn")]
    topic_arn: String,
    #[serde(rename = "Subject")]
    subject: Option<String>,
    #[serde(rename = "Message")]
    message: String,
    #[serde(rename = "Timestamp")]
    timestamp: String,
    #[serde(rename = "SignatureVersion")]
    signature_version: String,
    #[serde(rename = "Signature")]
    signature: String,
    #[serde(rename = "SigningCertURL")]
    signing_cert_url: String,
    #[serde(rename = "SubscribeURL")]
    subscribe_url: Option<String>,
}

impl SnsMessage {
    /// Where the signing certificate is: logged, since Scaleway does not
    /// document the host that `SNS_CERT_URL_PREFIX` could be narrowed to.
    pub fn signing_cert_url(&self) -> &str {
        &self.signing_cert_url
    }
}

/// The string SNS signs: `Key\nValue\n` for each field of the message's type.
fn string_to_sign(m: &SnsMessage) -> Option<String> {
    let mut out = String::new();
    let mut add = |key: &str, value: &str| {
        out.push_str(key);
        out.push('\n');
        out.push_str(value);
        out.push('\n');
    };
    match m.kind.as_str() {
        "Notification" => {
            add("Message", &m.message);
            add("MessageId", &m.message_id);
            if let Some(subject) = &m.subject {
                add("Subject", subject);
            }
            add("Timestamp", &m.timestamp);
            add("TopicArn", &m.topic_arn);
            add("Type", &m.kind);
        }
        "SubscriptionConfirmation" | "UnsubscribeConfirmation" => {
            add("Message", &m.message);
            add("MessageId", &m.message_id);
            add("SubscribeURL", m.subscribe_url.as_deref()?);
            add("Timestamp", &m.timestamp);
            add("Token", m.token.as_deref()?);
            add("TopicArn", &m.topic_arn);
            add("Type", &m.kind);
        }
        _ => return None,
    }
    Some(out)
}

/// SHA1withRSA, SNS signature version 1 (webpki offers no SHA1 of its own).
#[derive(Debug)]
struct RsaPkcs1Sha1;

impl SignatureVerificationAlgorithm for RsaPkcs1Sha1 {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        aws_lc_rs::signature::UnparsedPublicKey::new(
            &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
            public_key,
        )
        .verify(message, signature)
        .map_err(|_| InvalidSignature)
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::RSA_ENCRYPTION
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        // Not used to verify message signatures.
        alg_id::RSA_PKCS1_SHA256
    }
}

/// What a verified message asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Verified {
    /// Confirm the subscription by GETting this URL.
    Subscribe(String),
    /// An event of Transactional Email (its JSON).
    Event(String),
    Other,
}

const CERT_MAX_BYTES: usize = 64 * 1024;

impl SnsVerifier {
    pub fn new(
        topic_arn: String,
        trust_chain_pem: &[u8],
        cert_url_prefix: String,
    ) -> anyhow::Result<Self> {
        let mut anchors = Vec::new();
        for cert in CertificateDer::pem_slice_iter(trust_chain_pem) {
            let cert = cert.map_err(|e| anyhow::anyhow!("SNS_TRUST_CHAIN: {e}"))?;
            let anchor = webpki::anchor_from_trusted_cert(&cert)
                .map_err(|e| anyhow::anyhow!("SNS_TRUST_CHAIN: {e:?}"))?
                .to_owned();
            anchors.push(anchor);
        }
        anyhow::ensure!(!anchors.is_empty(), "SNS_TRUST_CHAIN holds no certificate");
        Ok(Self {
            topic_arn,
            anchors,
            cert_url_prefix,
            http: https_client()?,
            certs: Mutex::new(HashMap::new()),
        })
    }

    async fn certificates(&self, url: &str) -> Result<Vec<CertificateDer<'static>>, String> {
        if let Some(certs) = self.certs.lock().expect("cert cache").get(url) {
            return Ok(certs.clone());
        }
        if !url.starts_with(&self.cert_url_prefix) || url.contains('@') {
            return Err(format!("SigningCertURL outside {}", self.cert_url_prefix));
        }
        let pem = get(&self.http, url, CERT_MAX_BYTES)
            .await
            .map_err(|e| format!("could not fetch the signing certificate: {e}"))?;
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<_, _>>()
            .map_err(|e| format!("signing certificate is not PEM: {e}"))?;
        if certs.is_empty() {
            return Err("no certificate at SigningCertURL".into());
        }
        self.certs
            .lock()
            .expect("cert cache")
            .insert(url.to_string(), certs.clone());
        Ok(certs)
    }

    /// Checks the topic, the certificate's chain to the trusted CA, and the
    /// signature.
    pub async fn verify(&self, m: &SnsMessage) -> Result<Verified, String> {
        if m.topic_arn != self.topic_arn {
            return Err("another topic".into());
        }
        let signed = string_to_sign(m).ok_or("unknown message type or missing field")?;
        let certs = self.certificates(&m.signing_cert_url).await?;
        let end_entity = webpki::EndEntityCert::try_from(&certs[0])
            .map_err(|e| format!("bad signing certificate: {e:?}"))?;
        end_entity
            .verify_for_usage(
                webpki::ALL_VERIFICATION_ALGS,
                &self.anchors,
                &certs[1..],
                UnixTime::now(),
                // serverAuth, when the certificate names its uses at all.
                webpki::KeyUsage::required_if_present(&[43, 6, 1, 5, 5, 7, 3, 1]),
                None,
                None,
            )
            .map_err(|e| format!("signing certificate not issued by the trusted CA: {e:?}"))?;
        let signature = base64::engine::general_purpose::STANDARD
            .decode(m.signature.trim())
            .map_err(|_| "signature is not base64")?;
        let algorithm: &dyn SignatureVerificationAlgorithm = match m.signature_version.as_str() {
            "1" => &RsaPkcs1Sha1,
            "2" => webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA256,
            other => return Err(format!("unknown SignatureVersion {other:?}")),
        };
        end_entity
            .verify_signature(algorithm, signed.as_bytes(), &signature)
            .map_err(|e| format!("bad signature: {e:?}"))?;
        Ok(match m.kind.as_str() {
            "SubscriptionConfirmation" => {
                Verified::Subscribe(m.subscribe_url.clone().unwrap_or_default())
            }
            "Notification" => Verified::Event(m.message.clone()),
            _ => Verified::Other,
        })
    }

    /// Confirms a subscription: only an https URL (or one under the
    /// configured prefix, for local stacks).
    pub async fn confirm(&self, url: &str) -> Result<(), String> {
        if !(url.starts_with("https://") || url.starts_with(&self.cert_url_prefix)) {
            return Err("SubscribeURL is not https".into());
        }
        get(&self.http, url, CERT_MAX_BYTES)
            .await
            .map(|_| ())
            .map_err(|e| format!("could not confirm the subscription: {e}"))
    }
}

#[derive(Deserialize)]
struct TemEvent {
    #[serde(rename = "type")]
    kind: String,
    email_to: Option<String>,
}

/// Records the address of a bounce or complaint event; `None` for events
/// that say nothing about an address's deliverability.
pub async fn record_event(db: &PgPool, event: &str) -> crate::error::Result<Option<&'static str>> {
    let Ok(event) = serde_json::from_str::<TemEvent>(event) else {
        return Ok(None);
    };
    let reason = match event.kind.as_str() {
        "email_mailbox_not_found" | "email_blocklisted" => "bounce",
        "email_spam" => "complaint",
        _ => return Ok(None),
    };
    let Some(address) = event.email_to.filter(|a| a.contains('@') && a.len() <= 254) else {
        return Ok(None);
    };
    sqlx::query(
        "INSERT INTO mail_suppressions (address, reason) VALUES (lower($1), $2)
         ON CONFLICT (address) DO NOTHING",
    )
    .bind(address.trim())
    .bind(reason)
    .execute(db)
    .await?;
    Ok(Some(reason))
}
