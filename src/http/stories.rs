//! `/v1/stories`, the close friends list and highlights.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::Result;
use crate::http::context::ApiContext;
use crate::http::error::ErrorBody;
use crate::http::extract::{AuthUser, JsonBody, PathParam};
use crate::http::pagination::{ListQuery, ListResponse, QueryParams};
use crate::http::posts::idempotency_key;
use crate::social::render::UserCard;
use crate::social::stories::highlights::{self, Highlight, HighlightSpec, HighlightSummary};
use crate::social::stories::tray::{self, TrayItem};
use crate::social::stories::views::{self, Emoji, StoryViewer};
use crate::social::stories::{self, Audience, NewStory, Posted, Story, close_friends};
use crate::trust::TrustAction;

#[derive(Deserialize, ToSchema)]
pub struct CreateStoryRequest {
    /// One of your own `ready` photos, in no post or other story.
    media_id: Uuid,
    /// Up to 200 characters.
    #[schema(
        max_length = 200,
        pattern = "^[^\\u0000-\\u0009\\u000B-\\u001F\\u007F-\\u009F]*$"
    )]
    caption: Option<String>,
    audience: Audience,
}

/// Post a story: shown for 24 hours to your followers, or to the followers
/// on your close friends list. With an `Idempotency-Key` header, a retry
/// answers like the first request.
#[utoipa::path(post, path = "/v1/stories", tag = "stories", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "1 to 255 visible ASCII characters, unique per story you mean to post")),
    request_body = CreateStoryRequest,
    responses(
        (status = 201, body = Story),
        (status = 400, description = "`invalid_json` or `invalid_idempotency_key`", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "`media_not_found`: the photo is not yours or does not exist", body = ErrorBody),
        (status = 413, description = "`payload_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 403, description = "`terms_not_accepted`: `TERMS_VERSION` names terms this account has not accepted (`POST /v1/me/terms`)", body = ErrorBody),
        (status = 422, description = "`validation_failed`, `media_not_ready`, `media_quarantined` (held for review), `media_in_use` or `idempotency_key_reused`", body = ErrorBody),
        (status = 429, description = "`rate_limited`: `RATE_LIMIT_WRITES`, or your trust level's stories per hour (`details.policy` `trust_stories`; a retry with the same Idempotency-Key counts too)", body = ErrorBody),
    ))]
pub async fn create_story(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    headers: HeaderMap,
    JsonBody(body): JsonBody<CreateStoryRequest>,
) -> Result<Response> {
    let key = idempotency_key(&headers)?;
    let new = NewStory::parse(body.media_id, body.caption.as_deref(), body.audience)?;
    ctx.require_terms(user.user_id).await?;
    ctx.trust.check(user.user_id, TrustAction::Story).await?;
    let (status, posted) = stories::post(
        &ctx.social,
        &ctx.storage,
        &ctx.urls,
        user.user_id,
        &new,
        key.as_ref(),
    )
    .await?;
    ctx.purge_cdn_soon();
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::CREATED);
    Ok(match posted {
        Posted::Story(story) => (status, Json(story)).into_response(),
        Posted::Stored(first) => (status, Json(first)).into_response(),
    })
}

/// The story tray: people you follow (and you) with active stories you may
/// see; those with unseen stories first, then by newest story. The cursor
/// pages over the tray as it was when the first page was read.
#[utoipa::path(get, path = "/v1/stories/tray", tag = "stories", security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = 200, body = ListResponse<TrayItem>),
        (status = 400, description = "`invalid_cursor`", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 422, description = "`validation_failed` (limit)", body = ErrorBody),
    ))]
pub async fn story_tray(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Json<ListResponse<TrayItem>>> {
    let page = query.page()?;
    Ok(Json(
        tray::tray(&ctx.social, &ctx.urls, user.user_id, &page)
            .await?
            .into(),
    ))
}

/// A story: active, or kept in a highlight.
#[utoipa::path(get, path = "/v1/stories/{id}", tag = "stories", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Story id")),
    responses(
        (status = 200, body = Story),
        (status = 401, body = ErrorBody),
        (status = 404, description = "`story_not_found`: expired, removed, or not for you", body = ErrorBody),
    ))]
pub async fn get_story(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    PathParam(id): PathParam<Uuid>,
) -> Result<Json<Story>> {
    Ok(Json(
        stories::get(&ctx.social, &ctx.storage, &ctx.urls, user.user_id, id).await?,
    ))
}

/// Delete your story: it vanishes at once, its photo within minutes.
#[utoipa::path(delete, path = "/v1/stories/{id}", tag = "stories", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Story id")),
    responses(
        (status = 204),
        (status = 401, body = ErrorBody),
        (status = 403, description = "`not_story_author`", body = ErrorBody),
        (status = 404, description = "`story_not_found`", body = ErrorBody),
    ))]
pub async fn delete_story(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    PathParam(id): PathParam<Uuid>,
) -> Result<StatusCode> {
    stories::delete(&ctx.social, &ctx.storage, user.user_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Mark a story seen; again is the same.
#[utoipa::path(post, path = "/v1/stories/{id}/seen", tag = "stories", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Story id")),
    responses(
        (status = 204),
        (status = 401, body = ErrorBody),
        (status = 404, description = "`story_not_found`", body = ErrorBody),
    ))]
pub async fn mark_seen(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    PathParam(id): PathParam<Uuid>,
) -> Result<StatusCode> {
    views::mark_seen(&ctx.social, user.user_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who saw your story, newest first, with their reactions (kept 48 hours).
#[utoipa::path(get, path = "/v1/stories/{id}/viewers", tag = "stories", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Story id"), ListQuery),
    responses(
        (status = 200, body = ListResponse<StoryViewer>),
        (status = 400, description = "`invalid_cursor`", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "`not_story_author`", body = ErrorBody),
        (status = 404, description = "`story_not_found`", body = ErrorBody),
        (status = 422, description = "`validation_failed` (limit)", body = ErrorBody),
    ))]
pub async fn story_viewers(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    PathParam(id): PathParam<Uuid>,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Json<ListResponse<StoryViewer>>> {
    let page = query.page()?;
    Ok(Json(
        views::viewers(&ctx.social, &ctx.urls, user.user_id, id, &page)
            .await?
            .into(),
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct ReactionRequest {
    /// One emoji.
    #[schema(example = "🔥", min_length = 1, max_length = 32)]
    emoji: String,
}

/// React to a story with one emoji (replacing your earlier reaction); its
/// author is notified.
#[utoipa::path(put, path = "/v1/stories/{id}/reaction", tag = "stories", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Story id")),
    request_body = ReactionRequest,
    responses(
        (status = 204),
        (status = 400, description = "`invalid_json`, or `invalid_emoji`: not one emoji", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "`cannot_react_to_own_story`", body = ErrorBody),
        (status = 404, description = "`story_not_found`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 422, description = "`validation_failed`", body = ErrorBody),
    ))]
pub async fn react(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    PathParam(id): PathParam<Uuid>,
    JsonBody(body): JsonBody<ReactionRequest>,
) -> Result<StatusCode> {
    let emoji = Emoji::parse(&body.emoji)?;
    views::react(&ctx.social, user.user_id, id, &emoji).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Take your reaction back, and its notification.
#[utoipa::path(delete, path = "/v1/stories/{id}/reaction", tag = "stories", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Story id")),
    responses(
        (status = 204),
        (status = 401, body = ErrorBody),
        (status = 404, description = "`story_not_found`", body = ErrorBody),
    ))]
pub async fn unreact(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    PathParam(id): PathParam<Uuid>,
) -> Result<StatusCode> {
    views::unreact(&ctx.social, user.user_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A user's active stories you may see, oldest first.
#[utoipa::path(get, path = "/v1/users/{handle}/stories", tag = "stories", security(("bearer" = [])),
    params(("handle" = String, Path, description = "The user's handle", pattern = r"^[A-Za-z0-9_]{3,30}$"), ListQuery),
    responses(
        (status = 200, body = ListResponse<Story>),
        (status = 400, description = "`invalid_cursor`", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "`account_private`: a locked account you do not follow", body = ErrorBody),
        (status = 404, description = "`user_not_found`", body = ErrorBody),
        (status = 422, description = "`validation_failed` (limit)", body = ErrorBody),
    ))]
pub async fn user_stories(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    PathParam(handle): PathParam<String>,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Json<ListResponse<Story>>> {
    let page = query.page()?;
    Ok(Json(
        stories::by_author(
            &ctx.social,
            &ctx.storage,
            &ctx.urls,
            user.user_id,
            &handle,
            &page,
        )
        .await?
        .into(),
    ))
}

/// Your close friends list, newest additions first. Only you can see it.
#[utoipa::path(get, path = "/v1/me/close-friends", tag = "stories", security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = 200, body = ListResponse<UserCard>),
        (status = 400, description = "`invalid_cursor`", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 422, description = "`validation_failed` (limit)", body = ErrorBody),
    ))]
pub async fn list_close_friends(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Json<ListResponse<UserCard>>> {
    let page = query.page()?;
    Ok(Json(
        close_friends::list(&ctx.social, &ctx.urls, user.user_id, &page)
            .await?
            .into(),
    ))
}

/// Add someone to your close friends; again is the same. They see your
/// close-friends stories while they follow you.
#[utoipa::path(put, path = "/v1/me/close-friends/{handle}", tag = "stories", security(("bearer" = [])),
    params(("handle" = String, Path, description = "Their handle", pattern = r"^[A-Za-z0-9_]{3,30}$")),
    responses(
        (status = 204),
        (status = 401, body = ErrorBody),
        (status = 403, description = "`cannot_add_self`", body = ErrorBody),
        (status = 404, description = "`user_not_found`", body = ErrorBody),
        (status = 422, description = "`close_friends_full`", body = ErrorBody),
    ))]
pub async fn add_close_friend(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    PathParam(handle): PathParam<String>,
) -> Result<StatusCode> {
    close_friends::add(&ctx.social, user.user_id, &handle).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove someone from your close friends; removing someone not on it is
/// the same.
#[utoipa::path(delete, path = "/v1/me/close-friends/{handle}", tag = "stories", security(("bearer" = [])),
    params(("handle" = String, Path, description = "Their handle", pattern = r"^[A-Za-z0-9_]{3,30}$")),
    responses(
        (status = 204),
        (status = 401, body = ErrorBody),
        (status = 404, description = "`user_not_found`", body = ErrorBody),
    ))]
pub async fn remove_close_friend(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    PathParam(handle): PathParam<String>,
) -> Result<StatusCode> {
    close_friends::remove(&ctx.social, user.user_id, &handle).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct CreateHighlightRequest {
    /// 1 to 40 characters.
    #[schema(
        min_length = 1,
        max_length = 40,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    title: String,
    /// 1 to 100 of your stories, in order: active ones, or ones another
    /// highlight keeps. A story named twice is kept where it first appears.
    #[schema(min_items = 1, max_items = 100)]
    story_ids: Vec<Uuid>,
}

#[derive(Deserialize, ToSchema)]
pub struct UpdateHighlightRequest {
    #[schema(
        min_length = 1,
        max_length = 40,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    title: Option<String>,
    /// Replaces the highlight's stories.
    #[schema(min_items = 1, max_items = 100)]
    story_ids: Option<Vec<Uuid>>,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedHighlight {
    id: Uuid,
}

/// Keep some of your stories on your profile, past their 24 hours.
#[utoipa::path(post, path = "/v1/me/highlights", tag = "stories", security(("bearer" = [])),
    request_body = CreateHighlightRequest,
    responses(
        (status = 201, body = CreatedHighlight),
        (status = 400, description = "`invalid_json`", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "`story_not_found`: a story is not yours, or expired or removed", body = ErrorBody),
        (status = 413, description = "`payload_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 422, description = "`validation_failed` or `highlights_full`", body = ErrorBody),
    ))]
pub async fn create_highlight(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    JsonBody(body): JsonBody<CreateHighlightRequest>,
) -> Result<(StatusCode, Json<CreatedHighlight>)> {
    let spec = HighlightSpec::parse(Some(&body.title), Some(&body.story_ids))?;
    let id = highlights::create(&ctx.social, user.user_id, &spec).await?;
    Ok((StatusCode::CREATED, Json(CreatedHighlight { id })))
}

/// Rename a highlight or replace its stories.
#[utoipa::path(patch, path = "/v1/me/highlights/{id}", tag = "stories", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Highlight id")),
    request_body = UpdateHighlightRequest,
    responses(
        (status = 204),
        (status = 400, description = "`invalid_json`", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "`highlight_not_found` or `story_not_found`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 422, description = "`validation_failed`", body = ErrorBody),
    ))]
pub async fn update_highlight(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    PathParam(id): PathParam<Uuid>,
    JsonBody(body): JsonBody<UpdateHighlightRequest>,
) -> Result<StatusCode> {
    let spec = HighlightSpec::parse(body.title.as_deref(), body.story_ids.as_deref())?;
    highlights::update(&ctx.social, user.user_id, id, &spec).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Delete a highlight; its expired stories go within minutes.
#[utoipa::path(delete, path = "/v1/me/highlights/{id}", tag = "stories", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Highlight id")),
    responses(
        (status = 204),
        (status = 401, body = ErrorBody),
        (status = 404, description = "`highlight_not_found`", body = ErrorBody),
    ))]
pub async fn delete_highlight(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    PathParam(id): PathParam<Uuid>,
) -> Result<StatusCode> {
    highlights::delete(&ctx.social, user.user_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A user's highlights you may see, newest first.
#[utoipa::path(get, path = "/v1/users/{handle}/highlights", tag = "stories", security(("bearer" = [])),
    params(("handle" = String, Path, description = "The user's handle", pattern = r"^[A-Za-z0-9_]{3,30}$"), ListQuery),
    responses(
        (status = 200, body = ListResponse<HighlightSummary>),
        (status = 400, description = "`invalid_cursor`", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "`account_private`: a locked account you do not follow", body = ErrorBody),
        (status = 404, description = "`user_not_found`", body = ErrorBody),
        (status = 422, description = "`validation_failed` (limit)", body = ErrorBody),
    ))]
pub async fn user_highlights(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    PathParam(handle): PathParam<String>,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Json<ListResponse<HighlightSummary>>> {
    let page = query.page()?;
    Ok(Json(
        highlights::of_user(&ctx.social, &ctx.storage, user.user_id, &handle, &page)
            .await?
            .into(),
    ))
}

/// A highlight, with the stories of it you may see.
#[utoipa::path(get, path = "/v1/highlights/{id}", tag = "stories", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Highlight id")),
    responses(
        (status = 200, body = Highlight),
        (status = 401, body = ErrorBody),
        (status = 404, description = "`highlight_not_found`", body = ErrorBody),
    ))]
pub async fn get_highlight(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    PathParam(id): PathParam<Uuid>,
) -> Result<Json<Highlight>> {
    Ok(Json(
        highlights::get(&ctx.social, &ctx.storage, &ctx.urls, user.user_id, id).await?,
    ))
}

/// Take a story down: it disappears at once; its photo is kept while a
/// report about it stands, and deleted within minutes otherwise.
/// Its author is told why (a statement of reasons they may appeal), and
/// the takedown is on the admin record.
#[utoipa::path(post, path = "/v1/admin/stories/{id}/takedown", tag = "moderation", security(("admin_token" = [])),
    params(
        ("id" = Uuid, Path, description = "Story id"),
        ("X-Admin-Actor" = Option<String>, Header, description = "Who you are, for the record (1 to 64 of A-Z a-z 0-9 . _ @ -)", pattern = r"^[A-Za-z0-9._@-]{1,64}$"),
        ("reason" = Option<String>, Query, description = "Why, for the author and the record (1 to 1,000 characters)", max_length = 1000, pattern = "^[^\\u0000]*[^\\u0000\\u0009-\\u000D\\u0020\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000][^\\u0000]*$"),
    ),
    responses(
        (status = 204),
        (status = 401, description = "`admin_token_required`", body = ErrorBody),
        (status = 404, description = "`story_not_found`, or `not_found` when ADMIN_TOKEN is not set", body = ErrorBody),
        (status = 422, description = "`validation_failed` (`X-Admin-Actor`, `reason`)", body = ErrorBody),
    ))]
pub async fn take_down_story(
    State(ctx): State<Arc<ApiContext>>,
    call: crate::http::trust::AdminCall,
    PathParam(id): PathParam<Uuid>,
) -> Result<StatusCode> {
    use crate::trust::appeals::DecisionKind;
    use crate::trust::audit::{About, Action, Reason};
    stories::take_down(&ctx.social, &ctx.storage, id).await?;
    let reason = call.reason_or(Reason::not_given());
    let trust = &ctx.trust;
    let about = About::Subject(id);
    trust
        .record(
            &call.actor,
            &reason,
            Action::TakeDown,
            about,
            serde_json::json!({}),
        )
        .await?;
    trust
        .state_takedown(&ctx.queue, DecisionKind::StoryTakedown, id, None, &reason)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
