//! Object storage: originals are private, variants are served through
//! presigned GETs or, with a CDN in front, from `S3_PUBLIC_ENDPOINT`.

use std::time::Duration;

use anyhow::Context as _;
use aws_sdk_s3::config::{
    BehaviorVersion, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;

use super::{Outage, outage};
use crate::config::S3Config;

#[derive(Clone)]
pub struct Storage {
    client: aws_sdk_s3::Client,
    bucket: String,
    public_endpoint: Option<String>,
    /// `scheme://host[:port]` of the endpoint presigned URLs point at.
    presign_origin: String,
}

/// A presigned request the client sends itself.
pub struct Presigned {
    pub url: String,
    pub headers: Vec<(String, String)>,
}

/// Why an object could not be read: a missing object is final, anything
/// else may pass.
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    #[error("object not found")]
    NotFound,
    #[error(transparent)]
    Unavailable(#[from] anyhow::Error),
}

/// What a [`Storage::fetch`] found.
#[derive(Debug)]
pub enum Fetched {
    Bytes(Vec<u8>),
    /// In a class that must be restored before it can be read.
    Archived,
}

pub use crate::config::StorageClass;

impl StorageClass {
    fn sdk(self) -> aws_sdk_s3::types::StorageClass {
        aws_sdk_s3::types::StorageClass::from(self.as_str())
    }

    /// The class of a HEAD answer; AWS's other archive classes count as
    /// Glacier (they need a restore too), anything else as Standard.
    fn from_sdk(class: &aws_sdk_s3::types::StorageClass) -> StorageClass {
        use aws_sdk_s3::types::StorageClass as Sdk;
        match class {
            Sdk::Glacier | Sdk::DeepArchive => StorageClass::Glacier,
            Sdk::OnezoneIa => StorageClass::OnezoneIa,
            _ => StorageClass::Standard,
        }
    }
}

/// The restore of an archived object, from the `x-amz-restore` header of a
/// HEAD: `ongoing-request="true"` while it runs; `ongoing-request="false",
/// expiry-date="…"` once the copy is readable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestoreState {
    Ongoing,
    Done,
}

impl RestoreState {
    pub fn parse(header: &str) -> Option<RestoreState> {
        let value = header.split("ongoing-request=").nth(1)?;
        let value = value.trim_start().trim_start_matches('"');
        if value.starts_with("true") {
            Some(RestoreState::Ongoing)
        } else if value.starts_with("false") {
            Some(RestoreState::Done)
        } else {
            None
        }
    }
}

/// What HEAD says of an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectState {
    pub class: StorageClass,
    pub restore: Option<RestoreState>,
}

impl ObjectState {
    /// Whether a GET would answer the bytes now.
    pub fn readable(&self) -> bool {
        !self.class.needs_restore() || self.restore == Some(RestoreState::Done)
    }
}

/// `scheme://authority` of a URL: what a browser compares origins by.
fn origin_of(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("https", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    format!("{scheme}://{authority}")
}

impl Storage {
    pub fn new(config: &S3Config) -> Self {
        let credentials = super::sdk_credentials(&config.credentials);
        let sdk_config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(config.region.clone()))
            .endpoint_url(&config.endpoint)
            .credentials_provider(credentials)
            // Path-style works with Scaleway and with local S3 servers alike.
            .force_path_style(true)
            // Checksums only where S3 demands them: presigned PUTs must not
            // require the phone to compute a CRC of the photo.
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .timeout_config(super::sdk_timeouts())
            .build();
        Self {
            client: aws_sdk_s3::Client::from_conf(sdk_config),
            bucket: config.bucket.clone(),
            public_endpoint: config.public_endpoint.clone(),
            presign_origin: origin_of(&config.endpoint),
        }
    }

    /// Where presigned GETs point (path-style: the endpoint's origin), for
    /// a page's Content-Security-Policy.
    pub fn presign_origin(&self) -> &str {
        &self.presign_origin
    }

    pub async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        content_length: u64,
        expires_in: Duration,
    ) -> anyhow::Result<Presigned> {
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .content_length(content_length as i64)
            .presigned(PresigningConfig::expires_in(expires_in)?)
            .await
            .context("presign PUT")?;
        let headers = request
            .headers()
            .filter(|(name, _)| !name.eq_ignore_ascii_case("host"))
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        Ok(Presigned {
            url: request.uri().to_string(),
            headers,
        })
    }

    /// A presigned GET valid from `start` for `lifetime`. Signing with a
    /// start shared by many requests gives the same URL to all of them, so
    /// URLs can be cached, here and in the apps' image caches.
    pub async fn presign_get_from(
        &self,
        key: &str,
        start: std::time::SystemTime,
        lifetime: Duration,
    ) -> anyhow::Result<String> {
        let config = PresigningConfig::builder()
            .start_time(start)
            .expires_in(lifetime)
            .build()?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(config)
            .await
            .context("presign GET")?;
        Ok(request.uri().to_string())
    }

    pub fn public_endpoint(&self) -> Option<&str> {
        self.public_endpoint.as_deref()
    }

    /// Every key under `prefix`, a page of at most 1000 at a time.
    pub async fn list_keys(&self, prefix: &str) -> anyhow::Result<Vec<String>> {
        let mut keys = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(outage(Outage::STORAGE, "list objects"))?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned)),
            );
        }
        Ok(keys)
    }

    /// The object's size in bytes.
    pub async fn size_of(&self, key: &str) -> Result<u64, ObjectError> {
        let head = self.head(key).await?;
        Ok(head.content_length().unwrap_or(0).max(0) as u64)
    }

    async fn head(
        &self,
        key: &str,
    ) -> Result<aws_sdk_s3::operation::head_object::HeadObjectOutput, ObjectError> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(head) => Ok(head),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_not_found()) => {
                Err(ObjectError::NotFound)
            }
            Err(e) => Err(ObjectError::Unavailable(outage(
                Outage::STORAGE,
                "HEAD object",
            )(e))),
        }
    }

    /// The object's bytes. An archived object (Glacier) is unavailable
    /// here: what may read one goes through [`Storage::fetch`].
    pub async fn get(&self, key: &str) -> Result<Vec<u8>, ObjectError> {
        match self.fetch(key).await? {
            Fetched::Bytes(bytes) => Ok(bytes),
            Fetched::Archived => Err(ObjectError::Unavailable(anyhow::anyhow!(
                "{key} is archived: it must be restored before it can be read"
            ))),
        }
    }

    pub async fn put(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
        cache_control: &str,
    ) -> anyhow::Result<()> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .cache_control(cache_control)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(outage(Outage::STORAGE, "PUT object"))?;
        Ok(())
    }

    /// Uploads a file from disk, streamed (never read whole into memory);
    /// one PUT, so at most 5 GB. Returns its size.
    pub async fn put_file(
        &self,
        key: &str,
        path: &std::path::Path,
        content_type: &str,
    ) -> anyhow::Result<u64> {
        let size = tokio::fs::metadata(path)
            .await
            .context("stat the file")?
            .len();
        let body = ByteStream::from_path(path).await.context("open the file")?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .content_length(size as i64)
            .body(body)
            .send()
            .await
            .map_err(outage(Outage::STORAGE, "PUT object"))?;
        Ok(size)
    }

    /// Copies an object within the bucket, with its metadata (content type,
    /// cache control). A missing source is [`ObjectError::NotFound`].
    pub async fn copy(&self, from: &str, to: &str) -> Result<(), ObjectError> {
        let copied = self
            .client
            .copy_object()
            .bucket(&self.bucket)
            .copy_source(format!("{}/{from}", self.bucket))
            .key(to)
            .send()
            .await;
        match copied {
            Ok(_) => Ok(()),
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => {
                Err(ObjectError::NotFound)
            }
            Err(e) => Err(outage(Outage::STORAGE, "COPY object")(e).into()),
        }
    }

    /// Deleting a missing object succeeds, so deletes can be repeated.
    pub async fn delete(&self, key: &str) -> anyhow::Result<()> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(outage(Outage::STORAGE, "DELETE object"))?;
        Ok(())
    }

    /// Reads an object that may sit in a class that needs a restore
    /// (Glacier): [`Fetched::Archived`] rather than an error when the
    /// server refuses the GET with `InvalidObjectState`, as S3 does for an
    /// archived object that is not restored.
    pub async fn fetch(&self, key: &str) -> Result<Fetched, ObjectError> {
        let object = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(object) => object,
            Err(e) => {
                let service = e.as_service_error();
                if service.is_some_and(|e| e.is_no_such_key()) {
                    return Err(ObjectError::NotFound);
                }
                if service.is_some_and(|e| e.is_invalid_object_state()) {
                    return Ok(Fetched::Archived);
                }
                return Err(ObjectError::Unavailable(outage(
                    Outage::STORAGE,
                    "GET object",
                )(e)));
            }
        };
        let body = object
            .body
            .collect()
            .await
            .map_err(outage(Outage::STORAGE, "read object body"))?;
        Ok(Fetched::Bytes(body.into_bytes().to_vec()))
    }

    /// The object's storage class and restore state, from a HEAD (which
    /// works in every class).
    pub async fn state_of(&self, key: &str) -> Result<ObjectState, ObjectError> {
        let head = self.head(key).await?;
        Ok(ObjectState {
            // S3 leaves the header out for STANDARD.
            class: head
                .storage_class()
                .map_or(StorageClass::Standard, StorageClass::from_sdk),
            restore: head.restore().and_then(RestoreState::parse),
        })
    }

    /// Asks for a temporary copy of an archived object, readable for `days`
    /// (Scaleway: `POST /object?restore` with `<Days>`, answered 202; the
    /// object goes back to Glacier after them). A restore already under
    /// way (`RestoreAlreadyInProgress`) is success: it is what was asked.
    pub async fn restore(&self, key: &str, days: i32) -> Result<(), ObjectError> {
        use aws_sdk_s3::error::ProvideErrorMetadata as _;
        let request = aws_sdk_s3::types::RestoreRequest::builder()
            .days(days)
            .build();
        match self
            .client
            .restore_object()
            .bucket(&self.bucket)
            .key(key)
            .restore_request(request)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("RestoreAlreadyInProgress") => Ok(()),
            Err(e) if e.code() == Some("NoSuchKey") => Err(ObjectError::NotFound),
            Err(e) => Err(ObjectError::Unavailable(outage(
                Outage::STORAGE,
                "restore object",
            )(e))),
        }
    }

    /// Moves an object to another storage class: a copy onto itself with
    /// the class (`x-amz-storage-class`), keeping its metadata and content
    /// type. Scaleway applies no minimum duration to such a copy (unlike a
    /// lifecycle transition, which must wait 90 days for Glacier).
    pub async fn set_class(&self, key: &str, class: StorageClass) -> Result<(), ObjectError> {
        match self
            .client
            .copy_object()
            .bucket(&self.bucket)
            .key(key)
            .copy_source(format!("{}/{key}", self.bucket))
            .storage_class(class.sdk())
            .metadata_directive(aws_sdk_s3::types::MetadataDirective::Copy)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_object_not_in_active_tier_error()) =>
            {
                Ok(())
            }
            Err(e) if aws_sdk_s3::error::ProvideErrorMetadata::code(&e) == Some("NoSuchKey") => {
                Err(ObjectError::NotFound)
            }
            Err(e) => Err(ObjectError::Unavailable(outage(
                Outage::STORAGE,
                "copy object to another class",
            )(e))),
        }
    }

    /// Creates the bucket when it is missing (local development and tests;
    /// in the cloud Terraform owns it).
    pub async fn ensure_bucket(&self) -> anyhow::Result<()> {
        if self
            .client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .is_ok()
        {
            return Ok(());
        }
        self.client
            .create_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .context("create bucket")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_origin_is_the_scheme_and_authority() {
        assert_eq!(
            origin_of("https://s3.fr-par.scw.cloud"),
            "https://s3.fr-par.scw.cloud"
        );
        assert_eq!(
            origin_of("http://127.0.0.1:9014/some/path?x=1"),
            "http://127.0.0.1:9014"
        );
    }

    #[test]
    fn the_restore_header_reads_as_s3_writes_it() {
        assert_eq!(
            RestoreState::parse(r#"ongoing-request="true""#),
            Some(RestoreState::Ongoing)
        );
        assert_eq!(
            RestoreState::parse(
                r#"ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT""#
            ),
            Some(RestoreState::Done)
        );
        assert_eq!(RestoreState::parse("nonsense"), None);
        assert_eq!(RestoreState::parse(r#"ongoing-request="maybe""#), None);
    }

    #[test]
    fn only_an_archived_object_without_a_finished_restore_is_unreadable() {
        let state = |class, restore| ObjectState { class, restore };
        assert!(state(StorageClass::Standard, None).readable());
        assert!(state(StorageClass::OnezoneIa, None).readable());
        assert!(!state(StorageClass::Glacier, None).readable());
        assert!(!state(StorageClass::Glacier, Some(RestoreState::Ongoing)).readable());
        assert!(state(StorageClass::Glacier, Some(RestoreState::Done)).readable());
        for class in [
            StorageClass::Standard,
            StorageClass::OnezoneIa,
            StorageClass::Glacier,
        ] {
            assert_eq!(StorageClass::parse(class.as_str()), Some(class));
            assert_eq!(StorageClass::from_sdk(&class.sdk()), class);
        }
        assert_eq!(StorageClass::parse("glacier"), None);
    }
}
