use axum::Json;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::error::{Code, Error};
use crate::ratelimit::Policy;

/// The body of every error answer.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable snake_case code for clients to switch on; each operation
    /// lists the codes it can answer.
    pub code: Code,
    /// Human-readable explanation, not meant to be parsed.
    pub message: String,
    /// Extra structured information, e.g. per-field messages.
    #[schema(value_type = Object)]
    pub details: Value,
}

fn body(code: Code, message: String, details: Value) -> Response {
    let status = StatusCode::from_u16(code.status()).expect("every code has a valid status");
    let body = ErrorBody {
        error: ErrorDetail {
            code,
            message,
            details,
        },
    };
    let mut response = (status, Json(body)).into_response();
    let headers = response.headers_mut();
    match status {
        StatusCode::UNAUTHORIZED => {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        StatusCode::SERVICE_UNAVAILABLE => {
            headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from(RETRY_UNAVAILABLE_AFTER_SECS),
            );
        }
        _ => {}
    }
    response.extensions_mut().insert(code);
    response
}

/// An error answer outside of `Error`, e.g. from an extractor rejection,
/// with the code's own message.
pub fn error_response(code: Code) -> Response {
    body(code, code.message().into(), json!({}))
}

/// How long a client waits before retrying after a 503: the API is back
/// within this long of its dependency.
pub const RETRY_UNAVAILABLE_AFTER_SECS: u32 = 5;

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let message = self.to_string();
        match self {
            Error::Validation(fields) => body(
                Code::ValidationFailed,
                message,
                json!({ "fields": fields.0 }),
            ),
            Error::Api { code, .. } => body(code, message, json!({})),
            Error::RateLimited {
                policy,
                retry_after,
            } => {
                let secs = retry_after.as_secs_f64().ceil().max(1.0) as u64;
                let mut response = body(
                    Code::RateLimited,
                    format!("too many requests, retry in {secs} s"),
                    json!({ "retry_after_seconds": secs, "policy": policy.name }),
                );
                let headers = response.headers_mut();
                headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
                for (name, value) in policy_headers(&policy, 0, secs) {
                    headers.insert(name, value);
                }
                response
            }
            Error::Internal(e) if Error::is_outage(&e) => {
                tracing::warn!(error = %e, "dependency unavailable");
                error_response(Code::ServiceUnavailable)
            }
            Error::Internal(e) => {
                tracing::error!(error = ?e, "internal error");
                error_response(Code::InternalError)
            }
        }
    }
}

/// The IETF `RateLimit-Policy` and `RateLimit` headers of an answer.
pub fn policy_headers(
    policy: &Policy,
    remaining: u64,
    reset_secs: u64,
) -> [(HeaderName, HeaderValue); 2] {
    let policy_value = format!(
        "\"{}\";q={};w={}",
        policy.name,
        policy.quota,
        policy.window.as_secs()
    );
    let state_value = format!("\"{}\";r={};t={}", policy.name, remaining, reset_secs);
    [
        (
            HeaderName::from_static("ratelimit-policy"),
            HeaderValue::from_str(&policy_value).expect("ascii header"),
        ),
        (
            HeaderName::from_static("ratelimit"),
            HeaderValue::from_str(&state_value).expect("ascii header"),
        ),
    ]
}
