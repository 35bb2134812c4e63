use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::error::{Error, UNAVAILABLE_CODE, UNAVAILABLE_MESSAGE};
use crate::http::rate_limit::policy_headers;

/// The body of every error answer.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable snake_case code for clients to switch on.
    #[schema(example = "validation_failed")]
    pub code: String,
    /// Human-readable explanation, not meant to be parsed.
    pub message: String,
    /// Extra structured information, e.g. per-field messages.
    #[schema(value_type = Object)]
    pub details: Value,
}

fn body(status: StatusCode, code: &str, message: String, details: Value) -> Response {
    let body = ErrorBody {
        error: ErrorDetail {
            code: code.to_string(),
            message,
            details,
        },
    };
    (status, Json(body)).into_response()
}

/// An error response outside of `Error`, e.g. from an extractor rejection.
pub fn error_response(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    body(status, code, message.into(), json!({}))
}

/// How long a client waits before retrying after a 503: the API is back
/// within this long of its dependency.
pub const RETRY_UNAVAILABLE_AFTER_SECS: u32 = 5;

fn unavailable(code: &str, message: String) -> Response {
    let mut response = body(StatusCode::SERVICE_UNAVAILABLE, code, message, json!({}));
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(RETRY_UNAVAILABLE_AFTER_SECS),
    );
    response
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let message = self.to_string();
        match self {
            Error::Validation(fields) => body(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                message,
                json!({ "fields": fields.0 }),
            ),
            Error::BadRequest { code, .. } => {
                body(StatusCode::BAD_REQUEST, code, message, json!({}))
            }
            Error::Unauthorized { code, .. } => {
                let mut response = body(StatusCode::UNAUTHORIZED, code, message, json!({}));
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                response
            }
            Error::Forbidden { code, .. } => body(StatusCode::FORBIDDEN, code, message, json!({})),
            Error::NotFound { code, .. } => body(StatusCode::NOT_FOUND, code, message, json!({})),
            Error::Conflict { code, .. } => body(StatusCode::CONFLICT, code, message, json!({})),
            Error::Unprocessable { code, .. } => {
                body(StatusCode::UNPROCESSABLE_ENTITY, code, message, json!({}))
            }
            Error::RateLimited {
                policy,
                retry_after,
            } => {
                let secs = retry_after.as_secs_f64().ceil().max(1.0) as u64;
                let mut response = body(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
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
            Error::Unavailable { code, .. } => unavailable(code, message),
            Error::Internal(e) if Error::is_outage(&e) => {
                tracing::warn!(error = %e, "dependency unavailable");
                unavailable(UNAVAILABLE_CODE, UNAVAILABLE_MESSAGE.into())
            }
            Error::Internal(e) => {
                tracing::error!(error = ?e, "internal error");
                body(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal_error",
                    "something went wrong on our side".into(),
                    json!({}),
                )
            }
        }
    }
}
