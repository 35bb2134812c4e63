//! `/v1/me/filters`: keyword filters, their owner's only.

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
use crate::http::extract::{AuthUser, JsonBody, PathParam, present, whole_number};
use crate::social::filters::{self, Action, Context, Filter, FilterSpec, Keyword};

#[derive(Deserialize, ToSchema)]
pub struct CreateFilterRequest {
    /// What the app shows on a warning, 1 to 100 characters.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    title: String,
    /// 1 to 30 keywords.
    #[schema(min_items = 1, max_items = 30)]
    keywords: Vec<KeywordRequest>,
    /// Where it applies (at least one).
    #[schema(min_items = 1)]
    contexts: Vec<Context>,
    action: Action,
    /// Expires this many seconds from now (60 to a year); absent or null:
    /// never.
    #[schema(value_type = Option<u64>, minimum = 60, maximum = 31536000)]
    expires_in_secs: Option<f64>,
}

#[derive(Deserialize, ToSchema)]
pub struct KeywordRequest {
    /// 1 to 100 characters; `#tag` for a hashtag.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    keyword: String,
    /// Only as a whole word (default true).
    whole_word: Option<bool>,
}

#[derive(Deserialize, ToSchema)]
pub struct UpdateFilterRequest {
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    title: Option<String>,
    /// Replaces the keywords.
    #[schema(min_items = 1, max_items = 30)]
    keywords: Option<Vec<KeywordRequest>>,
    #[schema(min_items = 1)]
    contexts: Option<Vec<Context>>,
    action: Option<Action>,
    /// From now; `null`: never expires; absent: unchanged.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u64>, minimum = 60, maximum = 31536000)]
    expires_in_secs: Option<Option<f64>>,
}

fn keywords(requested: Vec<KeywordRequest>) -> Vec<Keyword> {
    requested
        .into_iter()
        .map(|k| Keyword {
            keyword: k.keyword,
            whole_word: k.whole_word.unwrap_or(true),
        })
        .collect()
}

/// Your filters, newest first (at most 20; expired ones until deleted).
#[utoipa::path(get, path = "/v1/me/filters", tag = "users", security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<Filter>),
        (status = 401, body = ErrorBody),
    ))]
pub async fn list_filters(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
) -> Result<Json<Vec<Filter>>> {
    Ok(Json(filters::list(&ctx.social, user.user_id).await?))
}

/// Add a filter: what contains one of its keywords is hidden, or shown
/// with a warning (`filtered` on the post or comment), in its contexts.
#[utoipa::path(post, path = "/v1/me/filters", tag = "users", security(("bearer" = [])),
    request_body = CreateFilterRequest,
    responses(
        (status = 201, body = Filter),
        (status = 400, description = "`invalid_json`", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 413, description = "`payload_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 409, description = "`filters_full`: 20 filters already", body = ErrorBody),
        (status = 422, description = "`validation_failed`", body = ErrorBody),
    ))]
pub async fn create_filter(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    JsonBody(body): JsonBody<CreateFilterRequest>,
) -> Result<(StatusCode, Json<Filter>)> {
    let spec = FilterSpec {
        title: Some(body.title),
        keywords: Some(keywords(body.keywords)),
        contexts: Some(body.contexts),
        action: Some(body.action),
        expires_in: Some(whole_number("expires_in_secs", body.expires_in_secs)?),
    }
    .check()?;
    let filter = filters::create(&ctx.social, user.user_id, spec).await?;
    Ok((StatusCode::CREATED, Json(filter)))
}

/// One of your filters.
#[utoipa::path(get, path = "/v1/me/filters/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The filter's id")),
    responses(
        (status = 200, body = Filter),
        (status = 401, body = ErrorBody),
        (status = 404, description = "`filter_not_found`", body = ErrorBody),
    ))]
pub async fn get_filter(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    PathParam(id): PathParam<Uuid>,
) -> Result<Json<Filter>> {
    Ok(Json(filters::get(&ctx.social, user.user_id, id).await?))
}

/// Change a filter: absent fields stay; `keywords` replaces the list.
#[utoipa::path(patch, path = "/v1/me/filters/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The filter's id")),
    request_body = UpdateFilterRequest,
    responses(
        (status = 200, body = Filter),
        (status = 400, description = "`invalid_json`", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "`filter_not_found`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 422, description = "`validation_failed`", body = ErrorBody),
    ))]
pub async fn update_filter(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    PathParam(id): PathParam<Uuid>,
    JsonBody(body): JsonBody<UpdateFilterRequest>,
) -> Result<Json<Filter>> {
    let spec = FilterSpec {
        title: body.title,
        keywords: body.keywords.map(keywords),
        contexts: body.contexts,
        action: body.action,
        expires_in: body
            .expires_in_secs
            .map(|secs| whole_number("expires_in_secs", secs))
            .transpose()?,
    }
    .check()?;
    Ok(Json(
        filters::update(&ctx.social, user.user_id, id, spec).await?,
    ))
}

/// Delete a filter.
#[utoipa::path(delete, path = "/v1/me/filters/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The filter's id")),
    responses(
        (status = 204),
        (status = 401, body = ErrorBody),
        (status = 404, description = "`filter_not_found`", body = ErrorBody),
    ))]
pub async fn delete_filter(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    PathParam(id): PathParam<Uuid>,
) -> Result<StatusCode> {
    filters::delete(&ctx.social, user.user_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
