//! `/v1/posts`, `/v1/comments` and `/v1/feed`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa::openapi::schema::{OneOfBuilder, Schema};
use utoipa::openapi::{Ref, RefOr};
use uuid::Uuid;

use crate::error::{Code, Error, Result};
use crate::http::context::ApiContext;
use crate::http::error::ErrorBody;
use crate::http::extract::{AuthUser, JsonBody, PathParam};
use crate::http::pagination::{ListQuery, ListResponse, PostsJson, QueryParams};
use crate::media::alt_text::AltText;
use crate::social::comments::{self, Comment, CommentText};
use crate::social::edits::{self, NewCaption};
use crate::social::idempotency::IdempotencyKey;
use crate::social::likes;
use crate::social::posts::{self, Answer, NewPost, Post};
use crate::social::render::UserCard;
use crate::trust::TrustAction;

/// A new post: its photos as `media_ids`, or as `media` with their alt
/// text; one of the two (the document says so with `oneOf`).
#[derive(Deserialize)]
pub struct CreatePostRequest {
    caption: Option<String>,
    media_ids: Option<Vec<Uuid>>,
    media: Option<Vec<NewPhoto>>,
}

/// A new post, its photos by id.
#[derive(ToSchema)]
#[allow(dead_code)] // The document's shape of `CreatePostRequest`.
pub struct CreatePostWithMediaIds {
    /// Up to 2,200 characters.
    #[schema(
        max_length = 2200,
        example = "Golden hour at the harbour",
        pattern = "^[^\\u0000-\\u0009\\u000B-\\u001F\\u007F-\\u009F]*$"
    )]
    caption: Option<String>,
    /// 1 to 10 of your own `ready` photos, in display order, none already
    /// in a post.
    #[schema(min_items = 1, max_items = 10)]
    media_ids: Vec<Uuid>,
}

/// A new post, its photos with their alt text.
#[derive(ToSchema)]
#[allow(dead_code)] // The document's shape of `CreatePostRequest`.
pub struct CreatePostWithMedia {
    /// Up to 2,200 characters.
    #[schema(
        max_length = 2200,
        example = "Golden hour at the harbour",
        pattern = "^[^\\u0000-\\u0009\\u000B-\\u001F\\u007F-\\u009F]*$"
    )]
    caption: Option<String>,
    /// 1 to 10 of your own `ready` photos, in display order, none already
    /// in a post, each with its alt text.
    #[schema(min_items = 1, max_items = 10)]
    media: Vec<NewPhoto>,
}

impl utoipa::PartialSchema for CreatePostRequest {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .item(Ref::from_schema_name("CreatePostWithMediaIds"))
            .item(Ref::from_schema_name("CreatePostWithMedia"))
            .description(Some(
                "A new post: its photos as `media_ids`, or as `media` with their alt text (one of the two).",
            ))
            .into()
    }
}

impl ToSchema for CreatePostRequest {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((
            "CreatePostWithMediaIds".into(),
            <CreatePostWithMediaIds as utoipa::PartialSchema>::schema(),
        ));
        schemas.push((
            "CreatePostWithMedia".into(),
            <CreatePostWithMedia as utoipa::PartialSchema>::schema(),
        ));
        schemas.push((
            "NewPhoto".into(),
            <NewPhoto as utoipa::PartialSchema>::schema(),
        ));
        <CreatePostWithMedia as ToSchema>::schemas(schemas);
    }
}

#[derive(Deserialize, ToSchema)]
pub struct NewPhoto {
    id: Uuid,
    /// What the photo shows, for screen readers: up to 1,500 characters,
    /// no control characters but new lines. Absent, null or blank leaves
    /// the photo's own (`PATCH /v1/media/{id}`).
    #[schema(
        max_length = 1500,
        pattern = "^[^\\u0000-\\u0009\\u000B-\\u001F\\u007F-\\u009F]*$"
    )]
    alt_text: Option<String>,
}

impl CreatePostRequest {
    /// The photos and their alt texts, from `media_ids` or `media`.
    fn photos(&self) -> Result<(Vec<Uuid>, Vec<AltText>)> {
        match (&self.media_ids, &self.media) {
            (Some(ids), None) => Ok((ids.clone(), Vec::new())),
            (None, Some(media)) => {
                let alt_texts = media
                    .iter()
                    .map(|photo| AltText::parse("media", photo.alt_text.as_deref()))
                    .collect::<Result<_>>()?;
                Ok((media.iter().map(|photo| photo.id).collect(), alt_texts))
            }
            _ => Err(Error::invalid_field(
                "media_ids",
                "give the photos in media_ids or in media, one of the two",
            )),
        }
    }
}

pub(crate) fn idempotency_key(headers: &HeaderMap) -> Result<Option<IdempotencyKey>> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let raw = value
        .to_str()
        .map_err(|_| Error::from(Code::InvalidIdempotencyKey))?;
    IdempotencyKey::parse(raw).map(Some)
}

/// Publish a post. With an `Idempotency-Key` header, a retry answers like
/// the first request instead of posting twice (keys live 24 hours).
#[utoipa::path(post, path = "/v1/posts", tag = "posts", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "1 to 255 visible ASCII characters, unique per post you mean to create")),
    request_body = CreatePostRequest,
    responses(
        (status = 201, body = Post),
        (status = 400, description = "`invalid_json` or `invalid_idempotency_key`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: JSON bodies are at most 64 KiB", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "`media_not_found`: a photo is not yours, does not exist, or was removed", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 403, description = "`terms_not_accepted`: `TERMS_VERSION` names terms this account has not accepted (`POST /v1/me/terms`)", body = ErrorBody),
        (status = 422, description = "`validation_failed`, `media_not_ready`, `media_quarantined` (held for review: it matched the hash block list), `media_in_use` or `idempotency_key_reused`", body = ErrorBody),
        (status = 429, description = "`rate_limited`: `RATE_LIMIT_WRITES`, or your trust level's posts per hour (`details.policy` `trust_posts`; a retry with the same Idempotency-Key counts too)", body = ErrorBody),
    ))]
pub async fn create_post(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    headers: HeaderMap,
    JsonBody(body): JsonBody<CreatePostRequest>,
) -> Result<Response> {
    let key = idempotency_key(&headers)?;
    let (media_ids, alt_texts) = body.photos()?;
    let new = NewPost::parse(body.caption.as_deref(), &media_ids, alt_texts)?;
    ctx.require_terms(user.user_id).await?;
    let level = ctx.trust.check(user.user_id, TrustAction::Post).await?;
    let published = posts::publish(
        &ctx.social,
        &ctx.urls,
        &ctx.feed,
        user.user_id,
        &new,
        key.as_ref(),
        ctx.trust.reach(level),
    )
    .await?;
    if !published.replayed {
        // Mentions' pushes.
        crate::push::queue_written_by(&ctx.db, &ctx.queue, user.user_id).await;
    }
    let status = StatusCode::from_u16(published.status).unwrap_or(StatusCode::CREATED);
    Ok(match published.answer {
        Answer::Post(post) => (status, Json(post)).into_response(),
        Answer::Stored(first) => (status, Json(first)).into_response(),
    })
}

/// A post.
#[utoipa::path(get, path = "/v1/posts/{id}", tag = "posts", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Post id")),
    responses(
        (status = 200, body = Post),
        (status = 401, body = ErrorBody),
        (status = 404, description = "`post_not_found`", body = ErrorBody),
    ))]
pub async fn get_post(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    PathParam(id): PathParam<Uuid>,
) -> Result<Json<Post>> {
    Ok(Json(
        posts::get(&ctx.social, &ctx.urls, user.user_id, id).await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePostRequest {
    /// The new caption: up to 2,200 characters, as on creation. The one
    /// it replaces is kept for moderators.
    #[schema(
        max_length = 2200,
        example = "Golden hour at the harbour (edited)",
        pattern = "^[^\\u0000-\\u0009\\u000B-\\u001F\\u007F-\\u009F]*$"
    )]
    caption: String,
}

/// Edit your post's caption. The post then shows `edited_at`; the same
/// caption again changes nothing. Photos' alt text is edited on the
/// photo (`PATCH /v1/media/{id}`).
#[utoipa::path(patch, path = "/v1/posts/{id}", tag = "posts", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Post id")),
    request_body = UpdatePostRequest,
    responses(
        (status = 200, body = Post),
        (status = 400, description = "`invalid_json`", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "`not_post_author`", body = ErrorBody),
        (status = 404, description = "`post_not_found`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: JSON bodies are at most 64 KiB", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 422, description = "`validation_failed` (caption)", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ))]
pub async fn update_post(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    PathParam(id): PathParam<Uuid>,
    JsonBody(body): JsonBody<UpdatePostRequest>,
) -> Result<Json<Post>> {
    let caption = NewCaption::parse(&body.caption)?;
    let post = edits::edit_caption(&ctx.social, &ctx.urls, user.user_id, id, &caption).await?;
    crate::push::queue_written_by(&ctx.db, &ctx.queue, user.user_id).await;
    Ok(Json(post))
}

/// Delete your post, with its photos.
#[utoipa::path(delete, path = "/v1/posts/{id}", tag = "posts", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Post id")),
    responses(
        (status = 204),
        (status = 401, body = ErrorBody),
        (status = 403, description = "`not_post_author`", body = ErrorBody),
        (status = 404, description = "`post_not_found`", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
        (status = 503, description = "`storage_unavailable`: storage could not be reached; retry", body = ErrorBody),
    ))]
pub async fn delete_post(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    PathParam(id): PathParam<Uuid>,
) -> Result<StatusCode> {
    posts::delete(&ctx.social, &ctx.storage, user.user_id, id).await?;
    ctx.purge_cdn_soon();
    Ok(StatusCode::NO_CONTENT)
}

/// Who liked a post, newest like first (people you block or who block you
/// are left out).
#[utoipa::path(get, path = "/v1/posts/{id}/likes", tag = "posts", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Post id"), ListQuery),
    responses(
        (status = 200, body = ListResponse<UserCard>),
        (status = 400, description = "`invalid_cursor`", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "`post_not_found`", body = ErrorBody),
        (status = 422, description = "`validation_failed` (limit)", body = ErrorBody),
    ))]
pub async fn likers(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    PathParam(id): PathParam<Uuid>,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Json<ListResponse<UserCard>>> {
    let page = query.page()?;
    let list = likes::likers(&ctx.social, &ctx.urls, user.user_id, id, &page).await?;
    Ok(Json(list.into()))
}

/// Like a post. Liking again changes nothing.
#[utoipa::path(post, path = "/v1/posts/{id}/like", tag = "posts", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Post id")),
    responses(
        (status = 204),
        (status = 401, body = ErrorBody),
        (status = 404, description = "`post_not_found`", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ))]
pub async fn like(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    PathParam(id): PathParam<Uuid>,
) -> Result<StatusCode> {
    ctx.trust.check(user.user_id, TrustAction::Like).await?;
    likes::like(&ctx.social, user.user_id, id).await?;
    crate::push::queue_written_by(&ctx.db, &ctx.queue, user.user_id).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Take a like back. Not liking is fine.
#[utoipa::path(delete, path = "/v1/posts/{id}/like", tag = "posts", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Post id")),
    responses(
        (status = 204),
        (status = 401, body = ErrorBody),
        (status = 404, description = "`post_not_found`", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ))]
pub async fn unlike(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    PathParam(id): PathParam<Uuid>,
) -> Result<StatusCode> {
    likes::unlike(&ctx.social, user.user_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A post's comments, oldest first.
#[utoipa::path(get, path = "/v1/posts/{id}/comments", tag = "posts", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Post id"), ListQuery),
    responses(
        (status = 200, body = ListResponse<Comment>),
        (status = 400, description = "`invalid_cursor`", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "`post_not_found`", body = ErrorBody),
        (status = 422, description = "`validation_failed` (limit)", body = ErrorBody),
    ))]
pub async fn list_comments(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    PathParam(id): PathParam<Uuid>,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Json<ListResponse<Comment>>> {
    let page = query.page()?;
    let list = comments::list(&ctx.social, &ctx.urls, user.user_id, id, &page).await?;
    Ok(Json(list.into()))
}

#[derive(Deserialize, ToSchema)]
pub struct CreateCommentRequest {
    /// 1 to 1,000 characters.
    #[schema(
        min_length = 1,
        max_length = 1000,
        example = "What a light!",
        pattern = "^[^\\u0000-\\u0009\\u000B-\\u001F\\u007F-\\u009F]*[^\\u0000-\\u0020\\u007F-\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000][^\\u0000-\\u0009\\u000B-\\u001F\\u007F-\\u009F]*$"
    )]
    text: String,
}

/// Comment on a post.
#[utoipa::path(post, path = "/v1/posts/{id}/comments", tag = "posts", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Post id")),
    request_body = CreateCommentRequest,
    responses(
        (status = 201, body = Comment),
        (status = 400, description = "`invalid_json`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: JSON bodies are at most 64 KiB", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "`terms_not_accepted`: `TERMS_VERSION` names terms this account has not accepted (`POST /v1/me/terms`)", body = ErrorBody),
        (status = 404, description = "`post_not_found`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 422, description = "`validation_failed`", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ))]
pub async fn create_comment(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    PathParam(id): PathParam<Uuid>,
    JsonBody(body): JsonBody<CreateCommentRequest>,
) -> Result<(StatusCode, Json<Comment>)> {
    let text = CommentText::parse(&body.text)?;
    ctx.require_terms(user.user_id).await?;
    ctx.trust.check(user.user_id, TrustAction::Comment).await?;
    let comment = comments::create(&ctx.social, &ctx.urls, user.user_id, id, text).await?;
    crate::push::queue_written_by(&ctx.db, &ctx.queue, user.user_id).await;
    Ok((StatusCode::CREATED, Json(comment)))
}

/// Delete a comment: yours, or one on your post.
#[utoipa::path(delete, path = "/v1/comments/{id}", tag = "posts", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Comment id")),
    responses(
        (status = 204),
        (status = 401, body = ErrorBody),
        (status = 403, description = "`not_comment_author`", body = ErrorBody),
        (status = 404, description = "`comment_not_found`", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ))]
pub async fn delete_comment(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    PathParam(id): PathParam<Uuid>,
) -> Result<StatusCode> {
    comments::delete(&ctx.social, user.user_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Your home feed: the posts of the people you follow, and yours, newest first.
#[utoipa::path(get, path = "/v1/feed", tag = "posts", security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = 200, body = ListResponse<Post>),
        (status = 400, description = "`invalid_cursor`", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 422, description = "`validation_failed` (limit)", body = ErrorBody),
        (status = 429, description = "`rate_limited`: reads that go author by author past the newest posts (`RATE_LIMIT_FEED_SCANS`)", body = ErrorBody),
    ))]
pub async fn feed(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<PostsJson<Post>> {
    let page = query.page()?;
    let page = ctx.feed.page(&ctx.urls, user.user_id, &page).await?;
    Ok(PostsJson(page.into()))
}

/// Explore: recent public posts doing well (likes and comments from
/// distinct accounts, decaying with age), from accounts you do not follow,
/// block or mute, less what your `explore` filters hide. Paged over a
/// snapshot taken at most every 5 minutes: a cursor keeps its snapshot.
#[utoipa::path(get, path = "/v1/explore", tag = "posts", security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = 200, body = ListResponse<Post>),
        (status = 400, description = "`invalid_cursor`", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 422, description = "`validation_failed` (limit)", body = ErrorBody),
    ))]
pub async fn explore(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<PostsJson<Post>> {
    let page = query.page()?;
    let page = crate::social::explore::page(&ctx.social, &ctx.urls, user.user_id, &page).await?;
    Ok(PostsJson(page.into()))
}
