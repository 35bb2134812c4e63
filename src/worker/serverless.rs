//! `APP_MODE=serverless-worker`: Scaleway's SQS trigger POSTs each message
//! body to the container and retries on any status >= 300. So: 2xx once the
//! job is done or has failed for good, 5xx on a transient failure, and 429
//! past the per-instance concurrency cap.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::json;

use crate::http::error::error_response;
use crate::worker::{Outcome, Transient, Worker};

/// `path` gets the jobs; `dead_letter_path` gets what a second trigger, on
/// the dead-letter queue, delivers.
pub fn trigger_router(worker: Worker, path: &str, dead_letter_path: &str) -> Router {
    Router::new()
        .route(path, post(receive))
        .route(dead_letter_path, post(receive_dead_letter))
        .with_state(worker)
}

async fn receive_dead_letter(State(worker): State<Worker>, body: Bytes) -> Response {
    let body = String::from_utf8_lossy(&body);
    respond(worker.handle_dead_letter(&body).await)
}

async fn receive(State(worker): State<Worker>, body: Bytes) -> Response {
    let Ok(_permit) = worker.permits().clone().try_acquire_owned() else {
        let mut response = error_response(
            StatusCode::TOO_MANY_REQUESTS,
            "worker_busy",
            "this instance is at its job limit; retry later",
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        return response;
    };
    let body = String::from_utf8_lossy(&body);
    respond(worker.handle(&body).await)
}

fn respond(result: Result<Outcome, Transient>) -> Response {
    match result {
        Ok(outcome) => (
            StatusCode::OK,
            axum::Json(json!({ "outcome": outcome.as_str() })),
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "media job will be retried");
            error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "transient_failure",
                "the job could not finish now and will be retried",
            )
        }
    }
}
