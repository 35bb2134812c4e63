//! `/v1/hashtags`, `/v1/me/hashtags` and `/v1/search/hashtags`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{Error, Result};
use crate::http::context::ApiContext;
use crate::http::error::ErrorBody;
use crate::http::extract::{AuthUser, PathParam};
use crate::http::pagination::{ListQuery, ListResponse, PostsJson, QueryParams};
use crate::social::hashtags::{self, Hashtag, TagName};
use crate::social::page::{Page, PageRequest};
use crate::social::posts::Post;

/// A hashtag: its posts count and whether you follow it. Any well-formed
/// tag answers, one nobody used yet with no posts.
#[utoipa::path(get, path = "/v1/hashtags/{tag}", tag = "hashtags", security(("bearer" = [])),
    params(("tag" = String, Path, description = "The hashtag, without `#` (or with it, URL-encoded); any case or Unicode form: it is keyed by NFKC and lower case", min_length = 1, max_length = 101)),
    responses(
        (status = 200, body = Hashtag),
        (status = 401, body = ErrorBody),
        (status = 404, description = "`hashtag_not_found`: not a hashtag (1 to 100 letters, digits, marks or underscores, not all digits)", body = ErrorBody),
    ))]
pub async fn get_hashtag(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    PathParam(tag): PathParam<String>,
) -> Result<Json<Hashtag>> {
    let tag = TagName::parse(&tag)?;
    Ok(Json(hashtags::card(&ctx.social, user.user_id, &tag).await?))
}

/// A hashtag's posts, newest first: those you may see (no one who blocks
/// you or whom you block, locked accounts' posts only if you follow them,
/// no one you muted).
#[utoipa::path(get, path = "/v1/hashtags/{tag}/posts", tag = "hashtags", security(("bearer" = [])),
    params(("tag" = String, Path, description = "The hashtag, without `#`", min_length = 1, max_length = 101), ListQuery),
    responses(
        (status = 200, body = ListResponse<Post>),
        (status = 400, description = "`invalid_cursor`", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "`hashtag_not_found`: not a hashtag", body = ErrorBody),
        (status = 422, description = "`validation_failed` (limit)", body = ErrorBody),
    ))]
pub async fn hashtag_posts(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    PathParam(tag): PathParam<String>,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<PostsJson<Post>> {
    let tag = TagName::parse(&tag)?;
    let page = query.page()?;
    let list = hashtags::posts(&ctx.social, &ctx.urls, user.user_id, &tag, &page).await?;
    Ok(PostsJson(list.into()))
}

/// Follow a hashtag that some post carries: its posts that you may see
/// come into your home feed. Following again changes nothing.
#[utoipa::path(put, path = "/v1/hashtags/{tag}/follow", tag = "hashtags", security(("bearer" = [])),
    params(("tag" = String, Path, description = "The hashtag, without `#`", min_length = 1, max_length = 101)),
    responses(
        (status = 204),
        (status = 401, body = ErrorBody),
        (status = 404, description = "`hashtag_not_found`: not a hashtag, or one no post ever carried", body = ErrorBody),
        (status = 422, description = "`hashtag_follows_full`: 500 followed already", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ))]
pub async fn follow_hashtag(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    PathParam(tag): PathParam<String>,
) -> Result<StatusCode> {
    let tag = TagName::parse(&tag)?;
    if hashtags::follow(&ctx.social, user.user_id, &tag).await? {
        // The timeline is rebuilt with the tag's posts on its next read.
        ctx.feed.timelines().invalidate(user.user_id).await;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Stop following a hashtag. Not following is fine.
#[utoipa::path(delete, path = "/v1/hashtags/{tag}/follow", tag = "hashtags", security(("bearer" = [])),
    params(("tag" = String, Path, description = "The hashtag, without `#`", min_length = 1, max_length = 101)),
    responses(
        (status = 204),
        (status = 401, body = ErrorBody),
        (status = 404, description = "`hashtag_not_found`: not a hashtag", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ))]
pub async fn unfollow_hashtag(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    PathParam(tag): PathParam<String>,
) -> Result<StatusCode> {
    let tag = TagName::parse(&tag)?;
    if hashtags::unfollow(&ctx.social, user.user_id, &tag).await? {
        ctx.feed.timelines().invalidate(user.user_id).await;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The hashtags you follow, latest first.
#[utoipa::path(get, path = "/v1/me/hashtags", tag = "hashtags", security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = 200, body = ListResponse<Hashtag>),
        (status = 400, description = "`invalid_cursor`", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 422, description = "`validation_failed` (limit)", body = ErrorBody),
    ))]
pub async fn my_hashtags(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Json<ListResponse<Hashtag>>> {
    let page = query.page()?;
    Ok(Json(
        hashtags::followed(&ctx.social, user.user_id, &page)
            .await?
            .into(),
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HashtagSearchQuery {
    /// The start of a hashtag (a leading `#` is ignored), keyed like tags;
    /// what no hashtag can start with finds nothing.
    #[param(min_length = 1, max_length = 100, example = "golden")]
    q: String,
    /// `next_cursor` of the previous page; absent for the first page.
    #[param(max_length = 200)]
    cursor: Option<String>,
    /// Items per page.
    #[param(minimum = 1, maximum = 50, default = 20)]
    limit: Option<u32>,
}

/// Find hashtags by their start, the most used first (hashtags no post
/// carries are left out).
#[utoipa::path(get, path = "/v1/search/hashtags", tag = "hashtags", security(("bearer" = [])),
    params(HashtagSearchQuery),
    responses(
        (status = 200, body = ListResponse<Hashtag>),
        (status = 400, description = "`invalid_cursor`", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 422, description = "`validation_failed` (`q` of 1 to 100 characters, limit)", body = ErrorBody),
    ))]
pub async fn search_hashtags(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    QueryParams(query): QueryParams<HashtagSearchQuery>,
) -> Result<Json<ListResponse<Hashtag>>> {
    let page = PageRequest::parse(query.cursor.as_deref(), query.limit)?;
    if !(1..=100).contains(&query.q.chars().count()) {
        return Err(Error::invalid_field("q", "must have 1 to 100 characters"));
    }
    let Some(prefix) = TagName::prefix(&query.q) else {
        let nothing: Page<Hashtag> = Page {
            items: Vec::new(),
            next_cursor: None,
        };
        return Ok(Json(nothing.into()));
    };
    let found = hashtags::search(&ctx.social, user.user_id, &prefix, &page).await?;
    Ok(Json(found.into()))
}
