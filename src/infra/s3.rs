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
        }
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
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(head) => Ok(head.content_length().unwrap_or(0).max(0) as u64),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_not_found()) => {
                Err(ObjectError::NotFound)
            }
            Err(e) => Err(ObjectError::Unavailable(outage(
                Outage::STORAGE,
                "HEAD object",
            )(e))),
        }
    }

    pub async fn get(&self, key: &str) -> Result<Vec<u8>, ObjectError> {
        let object = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(object) => object,
            Err(e) if e.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
                return Err(ObjectError::NotFound);
            }
            Err(e) => {
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
        Ok(body.into_bytes().to_vec())
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
