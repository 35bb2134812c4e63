//! Extractors: the authenticated user, the client's address, and JSON
//! bodies whose rejections speak the API's error format.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use ipnet::IpNet;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use axum::response::IntoResponse as _;

use crate::config::Secret;
use crate::error::{Code, Error};
use crate::http::context::ApiContext;
use crate::http::error::error_response;

/// A request with a valid access token of a live session. A missing or bad
/// token is an error, never an anonymous request.
#[derive(Debug, Clone, Copy)]
pub struct AuthUser {
    pub user_id: Uuid,
    pub session_id: Uuid,
}

pub fn bearer_token(parts: &Parts) -> Result<Option<&str>, Error> {
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| Code::InvalidToken.with_message("the Authorization header is not valid"))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim()))
        }
        _ => Err(Code::InvalidToken
            .with_message("the Authorization header must be `Bearer <access token>`")),
    }
}

impl FromRequestParts<Arc<ApiContext>> for AuthUser {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut Parts,
        ctx: &Arc<ApiContext>,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer_token(parts)?.ok_or_else(|| Error::from(Code::MissingToken))?;
        let claims = ctx.auth.authenticate(token).await?;
        Ok(AuthUser {
            user_id: claims.user_id,
            session_id: claims.session_id,
        })
    }
}

/// The client's address: the TCP peer, or, when the peer is a trusted
/// proxy, the nearest untrusted address in `X-Forwarded-For`. Trusting the
/// header from anyone would let clients pick their own rate-limit bucket.
pub fn client_ip(parts: &Parts, trusted: &[IpNet]) -> IpAddr {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]));
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    forwarded
        .into_iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .unwrap_or(peer)
}

pub fn user_agent(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The request's `User-Agent`, for naming device sessions.
pub struct UserAgent(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for UserAgent {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(UserAgent(user_agent(parts)))
    }
}

/// `axum::Json` with rejections in the API's error format. The body must
/// be a JSON object: serde would also read a struct from an array, which
/// no client means.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let value = match axum::Json::<serde_json::Value>::from_request(req, state).await {
            Ok(axum::Json(value)) => value,
            Err(rejection) => return Err(json_rejection(rejection)),
        };
        if !value.is_object() {
            return Err(Code::ValidationFailed
                .with_message("the body must be a JSON object")
                .into_response());
        }
        T::deserialize(value).map(JsonBody).map_err(|e| {
            Code::ValidationFailed
                .with_message(format!("the body does not fit this request: {e}"))
                .into_response()
        })
    }
}

fn json_rejection(rejection: JsonRejection) -> Response {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => error_response(Code::UnsupportedMediaType),
        JsonRejection::JsonDataError(e) => Code::ValidationFailed
            .with_message(e.body_text())
            .into_response(),
        JsonRejection::JsonSyntaxError(_) => error_response(Code::InvalidJson),
        JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            error_response(Code::PayloadTooLarge)
        }
        other => Code::InvalidBody
            .with_message(other.body_text())
            .into_response(),
    }
}

/// `axum::extract::Path` with rejections in the API's error format.
pub struct PathParam<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathParam<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(PathParam(value)),
            Err(_) => Err(Code::NotFound
                .with_message("no such resource: the id in the path is not valid")
                .into_response()),
        }
    }
}

/// Where a request carries `ADMIN_TOKEN`: the moderation routes take
/// `X-Admin-Token`, `/metrics` a bearer token (scrapers' convention), as
/// each route's OpenAPI security says.
#[derive(Debug, Clone, Copy)]
pub enum AdminHeader {
    XAdminToken,
    Bearer,
}

/// Whether the request carries `ADMIN_TOKEN` where `at` says, compared in
/// constant time.
pub fn presents_admin_token(
    headers: &HeaderMap,
    at: AdminHeader,
    expected: &Secret<String>,
) -> bool {
    let presented = match at {
        AdminHeader::XAdminToken => headers.get("x-admin-token").and_then(|v| v.to_str().ok()),
        AdminHeader::Bearer => headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ")),
    };
    presented.is_some_and(|p| constant_time_eq(p.as_bytes(), expected.expose().as_bytes()))
}

pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use sha2::{Digest, Sha256};
    // Comparing digests keeps the time independent of where they differ
    // and of the lengths.
    let (a, b) = (Sha256::digest(a), Sha256::digest(b));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// An integer as JSON Schema counts them: `2400000.0` is one too (a
/// generated client may send either).
pub fn integral<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    use serde::Deserialize as _;
    whole(serde_json::Number::deserialize(d)?)
}

/// [`integral`] for an optional field (with `#[serde(default)]`); null is
/// absent.
pub fn optional_integral<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    use serde::Deserialize as _;
    Option::<serde_json::Number>::deserialize(d)?
        .map(whole)
        .transpose()
}

fn whole<E: serde::de::Error>(number: serde_json::Number) -> Result<i64, E> {
    if let Some(n) = number.as_i64() {
        return Ok(n);
    }
    match number.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(f as i64),
        _ => Err(E::custom(format!("expected an integer, found {number}"))),
    }
}

/// Tells a JSON field that is `null` (`Some(None)`) from one that is absent
/// (`None`, with `#[serde(default)]`).
pub fn present<'de, D, T>(d: D) -> std::result::Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}

/// A JSON number that must be a whole number of `field`'s unit (clients
/// and fuzzers send `60.0` for 60): `None` stays `None`.
pub fn whole_number(field: &'static str, value: Option<f64>) -> crate::error::Result<Option<u64>> {
    match value {
        None => Ok(None),
        Some(v) if v.fract() == 0.0 && (0.0..=u64::MAX as f64).contains(&v) => Ok(Some(v as u64)),
        Some(_) => Err(crate::error::Error::invalid_field(
            field,
            "must be a whole number",
        )),
    }
}
