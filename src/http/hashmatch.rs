//! The moderators' routes of perceptual hash matching (issue 29), behind `X-Admin-Token`: the
//! PDQ hash block list, and the review queue of photos that matched it.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::Result;
use crate::http::context::ApiContext;
use crate::http::error::ErrorBody;
use crate::http::extract::{JsonBody, PathParam};
use crate::http::pagination::{ListQuery, ListResponse, QueryParams};
use crate::media::hashmatch::{self, BlockedHash, Decision, NewBlockedHash, Quarantined};

#[derive(Deserialize, ToSchema)]
pub struct BlockHashRequest {
    /// A PDQ hash: 64 hexadecimal digits, as Meta's tools (and hash-sharing programmes) print it.
    #[schema(
        min_length = 64,
        max_length = 64,
        pattern = "^[0-9A-Fa-f]{64}$",
        example = "d8f8f0cce0f4a84f0e370a22028f67f0b36e2ed596623e1d33e6b39c4e9c9b22"
    )]
    hash: String,
    /// Why photos near it must not be published: 1 to 1,000 characters.
    #[schema(
        min_length = 1,
        max_length = 1000,
        example = "known abusive image, NCMEC report 12345",
        pattern = "^[^\\u0000]*[^\\u0000\\u0009-\\u000D\\u0020\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000][^\\u0000]*$"
    )]
    reason: String,
}

/// The hash block list, newest first.
#[utoipa::path(get, path = "/v1/admin/blocked-hashes", tag = "moderation", security(("admin_token" = [])),
    params(ListQuery),
    responses(
        (status = 200, body = ListResponse<BlockedHash>),
        (status = 400, description = "`invalid_cursor`", body = ErrorBody),
        (status = 401, description = "`admin_token_required`", body = ErrorBody),
        (status = 404, description = "`not_found`: ADMIN_TOKEN is not set", body = ErrorBody),
        (status = 422, description = "`validation_failed` (limit)", body = ErrorBody),
    ))]
pub async fn list_blocked(
    State(ctx): State<Arc<ApiContext>>,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Json<ListResponse<BlockedHash>>> {
    let page = query.page()?;
    Ok(Json(hashmatch::list(&ctx.db, &page).await?.into()))
}

/// Add a PDQ hash to the block list: photos processed from now on whose hash is within the
/// match distance (`PDQ_MATCH_DISTANCE`, 31 bits by default) are held for review.
#[utoipa::path(post, path = "/v1/admin/blocked-hashes", tag = "moderation", security(("admin_token" = [])),
    request_body = BlockHashRequest,
    responses(
        (status = 201, body = BlockedHash),
        (status = 400, description = "`invalid_json`", body = ErrorBody),
        (status = 401, description = "`admin_token_required`", body = ErrorBody),
        (status = 404, description = "`not_found`: ADMIN_TOKEN is not set", body = ErrorBody),
        (status = 409, description = "`hash_already_blocked`, or `block_list_full` (100,000 entries)", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: JSON bodies are at most 64 KiB", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 422, description = "`validation_failed` (hash, reason)", body = ErrorBody),
    ))]
pub async fn add_blocked(
    State(ctx): State<Arc<ApiContext>>,
    JsonBody(body): JsonBody<BlockHashRequest>,
) -> Result<(StatusCode, Json<BlockedHash>)> {
    let new = NewBlockedHash::parse(&body.hash, &body.reason)?;
    let added = hashmatch::add(&ctx.db, &new).await?;
    Ok((StatusCode::CREATED, Json(added)))
}

/// Remove an entry from the block list. Photos it already put in the review queue stay there.
#[utoipa::path(delete, path = "/v1/admin/blocked-hashes/{id}", tag = "moderation", security(("admin_token" = [])),
    params(("id" = Uuid, Path, description = "Block-list entry id")),
    responses(
        (status = 204),
        (status = 401, description = "`admin_token_required`", body = ErrorBody),
        (status = 404, description = "`blocked_hash_not_found`, or `not_found` when ADMIN_TOKEN is not set", body = ErrorBody),
    ))]
pub async fn remove_blocked(
    State(ctx): State<Arc<ApiContext>>,
    PathParam(id): PathParam<Uuid>,
) -> Result<StatusCode> {
    hashmatch::remove(&ctx.db, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Photos held for review because their hash matched the block list, newest first.
#[utoipa::path(get, path = "/v1/admin/quarantine", tag = "moderation", security(("admin_token" = [])),
    params(ListQuery),
    responses(
        (status = 200, body = ListResponse<Quarantined>),
        (status = 400, description = "`invalid_cursor`", body = ErrorBody),
        (status = 401, description = "`admin_token_required`", body = ErrorBody),
        (status = 404, description = "`not_found`: ADMIN_TOKEN is not set", body = ErrorBody),
        (status = 422, description = "`validation_failed` (limit)", body = ErrorBody),
    ))]
pub async fn list_quarantine(
    State(ctx): State<Arc<ApiContext>>,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Json<ListResponse<Quarantined>>> {
    let page = query.page()?;
    Ok(Json(
        hashmatch::queue(&ctx.db, &ctx.storage, &page).await?.into(),
    ))
}

/// Release a held photo: not a match. It becomes usable, its variants public again.
#[utoipa::path(post, path = "/v1/admin/quarantine/{media_id}/release", tag = "moderation", security(("admin_token" = [])),
    params(("media_id" = Uuid, Path, description = "The held photo's media id")),
    responses(
        (status = 204),
        (status = 401, description = "`admin_token_required`", body = ErrorBody),
        (status = 404, description = "`quarantine_not_found` (no such photo waiting for review), or `not_found` when ADMIN_TOKEN is not set", body = ErrorBody),
    ))]
pub async fn release(
    State(ctx): State<Arc<ApiContext>>,
    PathParam(media_id): PathParam<Uuid>,
) -> Result<StatusCode> {
    hashmatch::decide(&ctx.db, &ctx.storage, media_id, Decision::Release).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Confirm the match: the photo is removed as a takedown removes one (kept withheld, gone for
/// every use: `media_not_found`), and its own hash joins the block list.
#[utoipa::path(post, path = "/v1/admin/quarantine/{media_id}/confirm", tag = "moderation", security(("admin_token" = [])),
    params(("media_id" = Uuid, Path, description = "The held photo's media id")),
    responses(
        (status = 204),
        (status = 401, description = "`admin_token_required`", body = ErrorBody),
        (status = 404, description = "`quarantine_not_found` (no such photo waiting for review), or `not_found` when ADMIN_TOKEN is not set", body = ErrorBody),
    ))]
pub async fn confirm(
    State(ctx): State<Arc<ApiContext>>,
    PathParam(media_id): PathParam<Uuid>,
) -> Result<StatusCode> {
    hashmatch::decide(&ctx.db, &ctx.storage, media_id, Decision::Confirm).await?;
    ctx.purge_cdn_soon();
    Ok(StatusCode::NO_CONTENT)
}
