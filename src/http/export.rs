//! `POST|GET /v1/me/export`: the account's data as a ZIP (GDPR Art. 20),
//! and the admins' legal holds, `/v1/admin/holds`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use std::sync::Arc;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::Result;
use crate::http::context::ApiContext;
use crate::http::decisions;
use crate::http::error::ErrorBody;
use crate::http::extract::{AuthUser, JsonBody, PathParam};
use crate::http::pagination::{ListQuery, ListResponse, QueryParams};
use crate::http::trust::AdminCall;
use crate::social::export::{self, ExportView};
use crate::social::holds::{self, Hold, HoldTarget};

#[derive(Deserialize, ToSchema)]
pub struct ExportRequest {
    /// Your password, to confirm.
    #[schema(min_length = 1, max_length = 128, format = "password")]
    password: String,
}

/// Ask for a copy of your data: a ZIP of JSON files (profile, posts, comments, likes, follows,
/// blocks, close friends, stories, highlights, sessions, your reports, notification settings)
/// and your original photos. It is built in the background (minutes; hours when photos must be
/// restored from the archive class) and mailed as a link that works 24 hours. One a day.
#[utoipa::path(post, path = "/v1/me/export", tag = "users", security(("bearer" = [])),
    request_body = ExportRequest,
    responses(
        (status = 202, description = "Asked for; `status` is `pending`", body = ExportView),
        (status = 400, description = "`invalid_json`", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "`wrong_password`", body = ErrorBody),
        (status = 409, description = "`export_too_soon`: one export per 24 hours", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: JSON bodies are at most 64 KiB", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 422, description = "`validation_failed`", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ))]
pub async fn request_export(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    JsonBody(body): JsonBody<ExportRequest>,
) -> Result<(StatusCode, Json<ExportView>)> {
    let view = export::request(
        &ctx.db,
        &ctx.auth,
        &ctx.queue,
        &ctx.storage,
        user.user_id,
        user.session_id,
        &body.password,
    )
    .await?;
    Ok((StatusCode::ACCEPTED, Json(view)))
}

/// Your latest data export: its status and, once ready, a fresh link (24 hours).
#[utoipa::path(get, path = "/v1/me/export", tag = "users", security(("bearer" = [])),
    responses(
        (status = 200, body = ExportView),
        (status = 401, body = ErrorBody),
        (status = 404, description = "`export_not_found`: none asked for in the last week", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ))]
pub async fn get_export(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
) -> Result<Json<ExportView>> {
    Ok(Json(
        export::latest(&ctx.db, &ctx.storage, user.user_id).await?,
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct PlaceHoldRequest {
    target_type: HoldTarget,
    /// The post's, photo's (media) or account's id.
    target_id: Uuid,
    /// Why (a report, a preservation request): 1 to 1,000 characters.
    #[schema(
        min_length = 1,
        max_length = 1000,
        example = "NCMEC CyberTipline report 123456",
        pattern = "^[^\\u0000]*[^\\u0000\\u0009-\\u000D\\u0020\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000][^\\u0000]*$"
    )]
    reason: String,
    /// How long, in days (1 to 1825; default 365, 18 U.S.C. §2258A(h)'s year).
    /// (Read as a number: JSON Schema counts `1.0` as the integer 1.)
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 1825)]
    days: Option<f64>,
}

/// Place a legal hold on a post, a photo or an account: it survives the account's purge, the
/// sweeps and its owner's deletion (hidden instead) until the hold ends.
#[utoipa::path(post, path = "/v1/admin/holds", tag = "moderation", security(("admin_token" = [])),
    request_body = PlaceHoldRequest,
    responses(
        (status = 201, body = Hold),
        (status = 400, description = "`invalid_json`", body = ErrorBody),
        (status = 401, description = "`admin_token_required`", body = ErrorBody),
        (status = 404, description = "`hold_target_not_found`, or `not_found` when ADMIN_TOKEN is not set", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: JSON bodies are at most 64 KiB", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 422, description = "`validation_failed` (reason, days)", body = ErrorBody),
    ))]
pub async fn place_hold(
    State(ctx): State<Arc<ApiContext>>,
    call: AdminCall,
    JsonBody(body): JsonBody<PlaceHoldRequest>,
) -> Result<(StatusCode, Json<Hold>)> {
    let hold = decisions::place_hold(
        &ctx,
        &call.actor,
        body.target_type,
        body.target_id,
        &body.reason,
        body.days,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(hold)))
}

/// Every legal hold, active or ended, newest first.
#[utoipa::path(get, path = "/v1/admin/holds", tag = "moderation", security(("admin_token" = [])),
    params(ListQuery),
    responses(
        (status = 200, body = ListResponse<Hold>),
        (status = 400, description = "`invalid_cursor`", body = ErrorBody),
        (status = 401, description = "`admin_token_required`", body = ErrorBody),
        (status = 404, description = "`not_found`: ADMIN_TOKEN is not set", body = ErrorBody),
    ))]
pub async fn list_holds(
    State(ctx): State<Arc<ApiContext>>,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Json<ListResponse<Hold>>> {
    let page = query.page()?;
    Ok(Json(holds::list(&ctx.db, &page).await?.into()))
}

/// End a legal hold now: within a minute the chores delete what it alone kept.
#[utoipa::path(delete, path = "/v1/admin/holds/{id}", tag = "moderation", security(("admin_token" = [])),
    params(("id" = Uuid, Path, description = "Hold id")),
    responses(
        (status = 200, body = Hold),
        (status = 401, description = "`admin_token_required`", body = ErrorBody),
        (status = 404, description = "`hold_not_found`, or `not_found` when ADMIN_TOKEN is not set", body = ErrorBody),
    ))]
pub async fn release_hold(
    State(ctx): State<Arc<ApiContext>>,
    PathParam(id): PathParam<Uuid>,
) -> Result<Json<Hold>> {
    Ok(Json(holds::release(&ctx.db, id).await?))
}
