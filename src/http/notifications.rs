//! `/v1/notifications`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::http::context::ApiContext;
use crate::http::error::ErrorBody;
use crate::http::extract::{AuthUser, JsonBody};
use crate::http::pagination::{ListQuery, ListResponse, QueryParams};
use crate::social::notifications::{self, Notification, ReadSelection};

/// At most this many ids in one mark-read request.
const READ_IDS_MAX: usize = 200;

/// Your notifications, newest first.
#[utoipa::path(get, path = "/v1/notifications", tag = "notifications", security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = 200, body = ListResponse<Notification>),
        (status = 400, description = "`invalid_cursor`", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 422, description = "`validation_failed` (limit)", body = ErrorBody),
    ))]
pub async fn list(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Json<ListResponse<Notification>>> {
    let page = query.page()?;
    let list = notifications::list(&ctx.social, &ctx.urls, user.user_id, &page).await?;
    Ok(Json(list.into()))
}

/// `all: true` marks every notification read; otherwise `ids` are marked
/// (none given: nothing changes).
#[derive(Deserialize, ToSchema)]
pub struct MarkReadRequest {
    /// Notifications to mark read (up to 200).
    #[schema(max_items = 200)]
    ids: Option<Vec<Uuid>>,
    /// Mark every notification read.
    all: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct MarkReadResponse {
    /// How many notifications changed from unread to read.
    marked: u64,
}

/// Mark notifications read.
#[utoipa::path(post, path = "/v1/notifications/read", tag = "notifications", security(("bearer" = [])),
    request_body = MarkReadRequest,
    responses(
        (status = 200, body = MarkReadResponse),
        (status = 400, description = "`invalid_json`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: JSON bodies are at most 64 KiB", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 422, description = "`validation_failed`", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ))]
pub async fn mark_read(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    JsonBody(body): JsonBody<MarkReadRequest>,
) -> Result<Json<MarkReadResponse>> {
    let selection = if body.all == Some(true) {
        ReadSelection::All
    } else {
        let ids = body.ids.unwrap_or_default();
        if ids.len() > READ_IDS_MAX {
            return Err(Error::invalid_field(
                "ids",
                format!("send at most {READ_IDS_MAX} ids, or all: true"),
            ));
        }
        ReadSelection::Ids(ids)
    };
    let marked = notifications::mark_read(&ctx.social, user.user_id, selection).await?;
    Ok(Json(MarkReadResponse { marked }))
}
