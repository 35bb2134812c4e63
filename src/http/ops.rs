//! Operational endpoints: liveness, readiness, metrics.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::PrometheusHandle;
use serde::Serialize;
use sqlx::PgPool;
use utoipa::ToSchema;

use crate::config::Secret;
use crate::error::Code;
use crate::http::error::error_response;
use crate::http::extract::{AdminHeader, presents_admin_token};
use crate::infra::db::record_pool_metrics;
use crate::infra::redis::RedisHandle;

/// What the ops endpoints need; shared by every mode.
#[derive(Clone)]
pub struct OpsContext {
    pub db: PgPool,
    pub redis: Option<RedisHandle>,
    pub metrics: PrometheusHandle,
    /// `GET /metrics` asks for it as a bearer token, when set.
    pub metrics_token: Option<Arc<Secret<String>>>,
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    status: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct Readiness {
    /// `ready`, `degraded` (Redis down: served, with per-process rate limits)
    /// or `unavailable` (database down).
    status: &'static str,
    database: &'static str,
    /// Absent in modes that do not use Redis.
    #[serde(skip_serializing_if = "Option::is_none")]
    redis: Option<&'static str>,
}

/// Liveness: answers as long as the process serves HTTP.
#[utoipa::path(get, path = "/health", tag = "ops", responses((status = 200, body = Health)))]
pub async fn health() -> Json<Health> {
    Json(Health { status: "ok" })
}

const CHECK_DEADLINE: Duration = Duration::from_secs(2);

async fn database_ok(db: &PgPool) -> bool {
    tokio::time::timeout(CHECK_DEADLINE, sqlx::query("SELECT 1").execute(db))
        .await
        .is_ok_and(|r| r.is_ok())
}

/// Readiness: the database must answer; Redis being down only degrades.
#[utoipa::path(get, path = "/ready", tag = "ops", responses(
    (status = 200, description = "ready or degraded", body = Readiness),
    (status = 503, description = "the database is unreachable", body = Readiness)))]
pub async fn ready(State(ctx): State<OpsContext>) -> (StatusCode, Json<Readiness>) {
    let database = database_ok(&ctx.db).await;
    let redis = match &ctx.redis {
        Some(redis) => Some(redis.ping().await),
        None => None,
    };
    let (code, status) = match (database, redis) {
        (false, _) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        (true, Some(false)) => (StatusCode::OK, "degraded"),
        (true, _) => (StatusCode::OK, "ready"),
    };
    let word = |ok: bool| if ok { "ok" } else { "unavailable" };
    (
        code,
        Json(Readiness {
            status,
            database: word(database),
            redis: redis.map(word),
        }),
    )
}

/// Prometheus metrics. With `METRICS_TOKEN` set (in the API, else
/// `ADMIN_TOKEN`), it must come as a bearer token.
#[utoipa::path(get, path = "/metrics", tag = "ops", security(("metrics" = [])), responses(
    (status = 200, description = "Prometheus text format", content_type = "text/plain"),
    (status = 401, description = "`metrics_token_required`")))]
pub async fn metrics(State(ctx): State<OpsContext>, headers: HeaderMap) -> Response {
    if let Some(expected) = &ctx.metrics_token
        && !presents_admin_token(&headers, AdminHeader::Bearer, expected)
    {
        return error_response(Code::MetricsTokenRequired);
    }
    record_pool_metrics(&ctx.db);
    if let Some(redis) = &ctx.redis {
        metrics::gauge!("redis_up").set(if redis.is_up() { 1.0 } else { 0.0 });
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        ctx.metrics.render(),
    )
        .into_response()
}
