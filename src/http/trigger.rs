//! `APP_MODE=serverless-worker`: Scaleway's SQS trigger POSTs each message
//! body to the container, keeps at most 10 requests in flight, and retries a
//! status >= 300 only three times. So: 2xx once the job is done or has
//! failed for good, 503 only on a real transient failure, and a request that
//! finds every slot (or the memory budget) taken waits for one, within the
//! container's timeout, instead of burning a retry on an immediate 429.
//!
//! These routes sit outside the API's 30 s request timeout: each job has its
//! own time limit, and a job outlives its request if the caller goes away.
//!
//! The routes are unauthenticated (triggers cannot sign requests): the
//! container must be private, reachable only through its triggers. A forged
//! body can name only a media id, and a job changes only media in a state a
//! real message may change (`queued` or `processing`).

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::json;

use crate::error::Code;
use crate::http::error::error_response;
use crate::worker::{NotRun, Outcome, Transient, Worker};

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
    let body = String::from_utf8_lossy(&body).into_owned();
    match worker.run_detached(body).await {
        Ok(outcome) => respond(Ok(outcome)),
        Err(NotRun::Transient(e)) => respond(Err(e)),
        Err(NotRun::Busy) => {
            let mut response = error_response(Code::WorkerBusy);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            response
        }
    }
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
            error_response(Code::TransientFailure)
        }
    }
}
