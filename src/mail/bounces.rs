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

type Https = crate::infra::https::Https<http_body_util::Empty<bytes::Bytes>>;

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
    /// Where the signing certificate is, for the log, cut to a readable
    /// length (the field is the sender's to fill).
    pub fn signing_cert_url_for_log(&self) -> &str {
        let end = self
            .signing_cert_url
            .char_indices()
            .nth(LOGGED_URL_CHARS)
            .map_or(self.signing_cert_url.len(), |(at, _)| at);
        &self.signing_cert_url[..end]
    }
}

/// How much of a `SigningCertURL` reaches the log.
const LOGGED_URL_CHARS: usize = 200;

/// Signing certificates kept by URL: Scaleway rotates its certificate at
/// least yearly, so a handful covers a rotation; past it the cache starts
/// again rather than grow.
const CERT_CACHE_ENTRIES: usize = 8;

/// A message older than this (by its signed `Timestamp`) is a replay; one
/// dated this far ahead, a forgery or a broken clock. Scaleway delivers
/// within seconds and retries for less than this.
pub const MESSAGE_MAX_AGE: Duration = Duration::from_secs(3600);

/// Whether `url` may be fetched: under the configured prefix, and where the
/// prefix leaves the host to the sender, a plain DNS name on the default
/// port (no user info, no port, no IP literal: the API must not be made to
/// connect wherever a caller says).
fn fetchable(url: &str, prefix: &str) -> Result<(), String> {
    if !url.starts_with(prefix) {
        return Err(format!("the URL is outside {prefix}"));
    }
    let Some((_, rest)) = url.split_once("://") else {
        return Err("the URL has no scheme".into());
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let prefix_names_the_host = prefix.split_once("://").is_some_and(|(_, p)| {
        p.len() > authority.len()
            && p.starts_with(authority)
            && p[authority.len()..].starts_with('/')
    });
    if prefix_names_the_host {
        return Ok(());
    }
    let is_ip = authority.starts_with('[') || authority.parse::<std::net::IpAddr>().is_ok();
    if authority.is_empty() || authority.contains(['@', ':']) || is_ip {
        return Err("the URL's host must be a name, with no user or port".into());
    }
    Ok(())
}

/// Whether the signed `Timestamp` is within [`MESSAGE_MAX_AGE`] of now.
fn recent(timestamp: &str, now: time::OffsetDateTime) -> Result<(), String> {
    let sent =
        time::OffsetDateTime::parse(timestamp, &time::format_description::well_known::Rfc3339)
            .map_err(|_| "the Timestamp is not RFC 3339")?;
    let age = now - sent;
    if age > MESSAGE_MAX_AGE || -age > MESSAGE_MAX_AGE {
        return Err(format!(
            "the message is dated {timestamp}, outside the accepted window"
        ));
    }
    Ok(())
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
            http: crate::infra::https::client()?,
            certs: Mutex::new(HashMap::new()),
        })
    }

    /// The certificates at `url`: from the cache, which holds only
    /// certificates that chained to the trusted CA, or fetched.
    async fn certificates(&self, url: &str) -> Result<Vec<CertificateDer<'static>>, String> {
        if let Some(certs) = self.certs.lock().expect("cert cache").get(url) {
            return Ok(certs.clone());
        }
        fetchable(url, &self.cert_url_prefix).map_err(|e| format!("SigningCertURL: {e}"))?;
        let pem = get(&self.http, url, CERT_MAX_BYTES)
            .await
            .map_err(|e| format!("could not fetch the signing certificate: {e}"))?;
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<_, _>>()
            .map_err(|e| format!("signing certificate is not PEM: {e}"))?;
        if certs.is_empty() {
            return Err("no certificate at SigningCertURL".into());
        }
        Ok(certs)
    }

    /// Keeps certificates that chained, within [`CERT_CACHE_ENTRIES`].
    fn remember(&self, url: &str, certs: &[CertificateDer<'static>]) {
        let mut cache = self.certs.lock().expect("cert cache");
        if cache.len() >= CERT_CACHE_ENTRIES && !cache.contains_key(url) {
            cache.clear();
        }
        cache.insert(url.to_string(), certs.to_vec());
    }

    /// Whether the message is of our topic: nothing else about it is worth
    /// a log line.
    pub fn is_our_topic(&self, m: &SnsMessage) -> bool {
        m.topic_arn == self.topic_arn
    }

    /// Checks the topic, the certificate's chain to the trusted CA, and the
    /// signature.
    pub async fn verify(&self, m: &SnsMessage) -> Result<Verified, String> {
        if m.topic_arn != self.topic_arn {
            return Err("another topic".into());
        }
        recent(&m.timestamp, time::OffsetDateTime::now_utc())?;
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
        self.remember(&m.signing_cert_url, &certs);
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
        let prefix = if url.starts_with(&self.cert_url_prefix) {
            self.cert_url_prefix.as_str()
        } else {
            "https://"
        };
        fetchable(url, prefix).map_err(|e| format!("SubscribeURL: {e}"))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_on_the_default_port_are_fetched_where_the_prefix_leaves_the_host_open() {
        for url in [
            "https://messaging.s3.fr-par.scw.cloud/fr-par/sns/cert.pem",
            "https://example.org/a.pem",
        ] {
            assert_eq!(fetchable(url, "https://"), Ok(()), "{url}");
        }
        for url in [
            "https://10.0.0.7/a.pem",
            "https://[fd00::1]/a.pem",
            "https://internal.example:6379/a.pem",
            "https://user@example.org/a.pem",
            "http://example.org/a.pem",
            "https:///a.pem",
        ] {
            assert!(fetchable(url, "https://").is_err(), "{url}");
        }
        // A prefix that names the host is the operator's choice.
        let local = "http://127.0.0.1:4000/";
        assert_eq!(fetchable("http://127.0.0.1:4000/k.pem", local), Ok(()));
        assert!(fetchable("http://127.0.0.1:4001/k.pem", local).is_err());
        let bucket = "https://messaging.s3.fr-par.scw.cloud/";
        assert!(
            fetchable(
                "https://messaging.s3.fr-par.scw.cloud.evil.example/k.pem",
                bucket
            )
            .is_err()
        );
    }

    #[test]
    fn messages_are_accepted_within_the_window_only() {
        let now = time::macros::datetime!(2026-12-07 12:00 UTC);
        assert!(recent("2026-12-07T11:30:00.000Z", now).is_ok());
        assert!(recent("2026-12-07T10:59:00Z", now).is_err(), "a replay");
        assert!(
            recent("2026-12-07T13:01:00Z", now).is_err(),
            "from the future"
        );
        assert!(recent("yesterday", now).is_err());
    }
}
