//! `/v1/users/*` and the caller's own profile: profiles, follows, blocks,
//! and account deletion.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::Result;
use crate::http::context::ApiContext;
use crate::http::error::ErrorBody;
use crate::http::extract::{AuthUser, JsonBody, PathParam};
use crate::http::pagination::{ListQuery, ListResponse, PostsJson, QueryParams};
use crate::social::accounts;
use crate::social::graph::{self, Direction, Followed};
use crate::social::mutes::{self, Muted, NewMute};
use crate::social::page::PageRequest;
use crate::social::posts::{self, Post};
use crate::social::profiles::{self, Profile, ProfileChange};
use crate::social::render::UserCard;
use crate::social::search;
use crate::trust::TrustAction;

/// A user's profile, with how they relate to the caller.
#[utoipa::path(get, path = "/v1/users/{handle}", tag = "users", security(("bearer" = [])),
    params(("handle" = String, Path, description = "The user's handle", pattern = r"^[A-Za-z0-9_]{3,30}$")),
    responses(
        (status = 200, body = Profile),
        (status = 401, body = ErrorBody),
        (status = 404, description = "`user_not_found` (also when they block you)", body = ErrorBody),
    ))]
pub async fn get_user(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    PathParam(handle): PathParam<String>,
) -> Result<Json<Profile>> {
    Ok(Json(
        profiles::by_handle(&ctx.social, &ctx.urls, user.user_id, &handle).await?,
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct UpdateProfileRequest {
    /// Up to 50 characters; `""` clears it.
    #[schema(
        max_length = 50,
        example = "Ana Lima",
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    display_name: Option<String>,
    /// Up to 300 characters.
    #[schema(
        max_length = 300,
        pattern = "^[^\\u0000-\\u0009\\u000B-\\u001F\\u007F-\\u009F]*$"
    )]
    bio: Option<String>,
    /// A `ready` photo of yours; `null` removes the avatar.
    #[serde(default, deserialize_with = "crate::http::extract::present")]
    #[schema(value_type = Option<String>, format = Uuid, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    avatar_media_id: Option<Option<Uuid>>,
    /// Private: only approved followers see your posts, lists and stories,
    /// and following you is a request you accept or reject. Unlocking (with
    /// `approves_follows` off) accepts every request waiting.
    locked: Option<bool>,
    /// Approve each new follower without making the account private.
    approves_follows: Option<bool>,
}

/// Change your profile: absent fields stay as they are.
#[utoipa::path(patch, path = "/v1/me", tag = "users", security(("bearer" = [])),
    request_body = UpdateProfileRequest,
    responses(
        (status = 200, body = Profile),
        (status = 400, description = "`invalid_json`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: JSON bodies are at most 64 KiB", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "`media_not_found`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 422, description = "`validation_failed`, `media_not_ready`, `media_quarantined` (the avatar photo is held for review) or `media_in_use` (a story's photo)", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ))]
pub async fn update_me(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    JsonBody(body): JsonBody<UpdateProfileRequest>,
) -> Result<Json<Profile>> {
    let change = ProfileChange {
        locked: body.locked,
        approves_follows: body.approves_follows,
        ..ProfileChange::parse(
            body.display_name.as_deref(),
            body.bio.as_deref(),
            body.avatar_media_id,
        )?
    };
    let accepted = profiles::update(&ctx.social, user.user_id, change).await?;
    for follower in accepted {
        ctx.feed.timelines().invalidate(follower).await;
    }
    Ok(Json(
        profiles::own(&ctx.social, &ctx.urls, user.user_id).await?,
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct DeleteAccountRequest {
    /// Your password, to confirm.
    #[schema(min_length = 1, max_length = 128)]
    password: String,
}

/// Delete your account: it disappears at once, and every photo, post,
/// comment, like and follow of yours is purged shortly after.
#[utoipa::path(delete, path = "/v1/me", tag = "users", security(("bearer" = [])),
    request_body = DeleteAccountRequest,
    responses(
        (status = 202, description = "Deleted; the purge is queued"),
        (status = 400, description = "`invalid_json`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: JSON bodies are at most 64 KiB", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "`wrong_password`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 422, description = "`validation_failed`", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ))]
pub async fn delete_me(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    JsonBody(body): JsonBody<DeleteAccountRequest>,
) -> Result<StatusCode> {
    let timelines = ctx.feed.timelines();
    accounts::delete(
        &ctx.db,
        &ctx.auth,
        &ctx.queue,
        timelines,
        user.user_id,
        user.session_id,
        &body.password,
    )
    .await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Deserialize, ToSchema, Default)]
pub struct MuteRequest {
    /// Mute their notifications too (default true); false mutes only their
    /// posts, stories and comments.
    notifications: Option<bool>,
    /// How long, 60 s to a year; absent: until you unmute.
    #[schema(value_type = Option<u64>, minimum = 60, maximum = 31536000)]
    duration_secs: Option<f64>,
}

/// Mute a user: they vanish from your home feed, story tray and the
/// comments you read, and from your notifications unless
/// `notifications: false`. They are not told. Muting again replaces the
/// terms.
#[utoipa::path(put, path = "/v1/users/{handle}/mute", tag = "users", security(("bearer" = [])),
    params(("handle" = String, Path, description = "The user's handle", pattern = r"^[A-Za-z0-9_]{3,30}$")),
    request_body = MuteRequest,
    responses(
        (status = 204),
        (status = 400, description = "`invalid_json`", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "`cannot_mute_self`", body = ErrorBody),
        (status = 404, description = "`user_not_found`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 422, description = "`validation_failed`", body = ErrorBody),
    ))]
pub async fn mute(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    PathParam(handle): PathParam<String>,
    JsonBody(body): JsonBody<MuteRequest>,
) -> Result<StatusCode> {
    let duration = crate::http::extract::whole_number("duration_secs", body.duration_secs)?;
    let new = NewMute::parse(body.notifications, duration)?;
    mutes::mute(&ctx.social, user.user_id, &handle, new).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Unmute a user; not muted is the same.
#[utoipa::path(delete, path = "/v1/users/{handle}/mute", tag = "users", security(("bearer" = [])),
    params(("handle" = String, Path, description = "The user's handle", pattern = r"^[A-Za-z0-9_]{3,30}$")),
    responses(
        (status = 204),
        (status = 401, body = ErrorBody),
        (status = 404, description = "`user_not_found`", body = ErrorBody),
    ))]
pub async fn unmute(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    PathParam(handle): PathParam<String>,
) -> Result<StatusCode> {
    mutes::unmute(&ctx.social, user.user_id, &handle).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The people you mute, newest first. Only you can see it.
#[utoipa::path(get, path = "/v1/me/mutes", tag = "users", security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = 200, body = ListResponse<Muted>),
        (status = 400, description = "`invalid_cursor`", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 422, description = "`validation_failed` (limit)", body = ErrorBody),
    ))]
pub async fn list_mutes(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Json<ListResponse<Muted>>> {
    let page = query.page()?;
    Ok(Json(
        mutes::list(&ctx.social, &ctx.urls, user.user_id, &page)
            .await?
            .into(),
    ))
}

/// What a follow did, when it did not simply follow.
#[derive(Serialize, ToSchema)]
pub struct FollowRequested {
    /// Always `requested`: the account is locked or approves follows, and
    /// its owner will accept or reject the request.
    #[schema(example = "requested")]
    state: &'static str,
}

/// Follow a user: 204 when you follow them now (again changes nothing);
/// 202 when the account is locked or approves follows and a request waits
/// for its owner (asking again changes nothing; unfollowing withdraws it).
#[utoipa::path(post, path = "/v1/users/{handle}/follow", tag = "users", security(("bearer" = [])),
    params(("handle" = String, Path, description = "The user's handle", pattern = r"^[A-Za-z0-9_]{3,30}$")),
    responses(
        (status = 202, body = FollowRequested),
        (status = 204),
        (status = 401, body = ErrorBody),
        (status = 404, description = "`user_not_found`", body = ErrorBody),
        (status = 403, description = "`cannot_follow_self`", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ))]
pub async fn follow(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    PathParam(handle): PathParam<String>,
) -> Result<Response> {
    ctx.trust.check(user.user_id, TrustAction::Follow).await?;
    let (_, followed) =
        graph::follow(&ctx.social, ctx.feed.timelines(), user.user_id, &handle).await?;
    crate::push::queue_written_by(&ctx.db, &ctx.queue, user.user_id).await;
    Ok(match followed {
        Followed::Following { .. } => StatusCode::NO_CONTENT.into_response(),
        Followed::Requested { .. } => (
            StatusCode::ACCEPTED,
            Json(FollowRequested { state: "requested" }),
        )
            .into_response(),
    })
}

/// The follow requests waiting for you, newest first.
#[utoipa::path(get, path = "/v1/me/follow-requests", tag = "users", security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = 200, body = ListResponse<UserCard>),
        (status = 400, description = "`invalid_cursor`", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 422, description = "`validation_failed` (limit)", body = ErrorBody),
    ))]
pub async fn follow_requests(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Json<ListResponse<UserCard>>> {
    let page = query.page()?;
    Ok(Json(
        graph::requests(&ctx.social, &ctx.urls, user.user_id, &page)
            .await?
            .into(),
    ))
}

/// Accept a follow request: they follow you now, and are told.
#[utoipa::path(post, path = "/v1/me/follow-requests/{handle}", tag = "users", security(("bearer" = [])),
    params(("handle" = String, Path, description = "The requester's handle", pattern = r"^[A-Za-z0-9_]{3,30}$")),
    responses(
        (status = 204),
        (status = 401, body = ErrorBody),
        (status = 404, description = "`user_not_found` or `follow_request_not_found`", body = ErrorBody),
    ))]
pub async fn accept_follow_request(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    PathParam(handle): PathParam<String>,
) -> Result<StatusCode> {
    graph::accept_request(&ctx.social, ctx.feed.timelines(), user.user_id, &handle).await?;
    crate::push::queue_written_by(&ctx.db, &ctx.queue, user.user_id).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Reject a follow request; none waiting is the same. They are not told.
#[utoipa::path(delete, path = "/v1/me/follow-requests/{handle}", tag = "users", security(("bearer" = [])),
    params(("handle" = String, Path, description = "The requester's handle", pattern = r"^[A-Za-z0-9_]{3,30}$")),
    responses(
        (status = 204),
        (status = 401, body = ErrorBody),
        (status = 404, description = "`user_not_found`", body = ErrorBody),
    ))]
pub async fn reject_follow_request(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    PathParam(handle): PathParam<String>,
) -> Result<StatusCode> {
    graph::reject_request(&ctx.social, user.user_id, &handle).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Stop following a user. Not following is fine.
#[utoipa::path(delete, path = "/v1/users/{handle}/follow", tag = "users", security(("bearer" = [])),
    params(("handle" = String, Path, description = "The user's handle", pattern = r"^[A-Za-z0-9_]{3,30}$")),
    responses(
        (status = 204),
        (status = 401, body = ErrorBody),
        (status = 404, description = "`user_not_found`", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ))]
pub async fn unfollow(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    PathParam(handle): PathParam<String>,
) -> Result<StatusCode> {
    graph::unfollow(&ctx.social, ctx.feed.timelines(), user.user_id, &handle).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Block a user: the follows between you end, and neither of you sees the
/// other's posts, comments or lists any more.
#[utoipa::path(post, path = "/v1/users/{handle}/block", tag = "users", security(("bearer" = [])),
    params(("handle" = String, Path, description = "The user's handle", pattern = r"^[A-Za-z0-9_]{3,30}$")),
    responses(
        (status = 204),
        (status = 401, body = ErrorBody),
        (status = 404, description = "`user_not_found`", body = ErrorBody),
        (status = 403, description = "`cannot_block_self`", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ))]
pub async fn block(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    PathParam(handle): PathParam<String>,
) -> Result<StatusCode> {
    graph::block(&ctx.social, ctx.feed.timelines(), user.user_id, &handle).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Unblock a user. Follows that the block ended do not come back.
#[utoipa::path(delete, path = "/v1/users/{handle}/block", tag = "users", security(("bearer" = [])),
    params(("handle" = String, Path, description = "The user's handle", pattern = r"^[A-Za-z0-9_]{3,30}$")),
    responses(
        (status = 204),
        (status = 401, body = ErrorBody),
        (status = 404, description = "`user_not_found`", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ))]
pub async fn unblock(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    PathParam(handle): PathParam<String>,
) -> Result<StatusCode> {
    graph::unblock(&ctx.social, user.user_id, &handle).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who follows a user, newest first.
#[utoipa::path(get, path = "/v1/users/{handle}/followers", tag = "users", security(("bearer" = [])),
    params(("handle" = String, Path, description = "The user's handle", pattern = r"^[A-Za-z0-9_]{3,30}$"), ListQuery),
    responses(
        (status = 200, body = ListResponse<UserCard>),
        (status = 400, description = "`invalid_cursor`", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "`account_private`: a locked account you do not follow", body = ErrorBody),
        (status = 404, description = "`user_not_found`", body = ErrorBody),
        (status = 422, description = "`validation_failed` (limit)", body = ErrorBody),
    ))]
pub async fn followers(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    PathParam(handle): PathParam<String>,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Json<ListResponse<UserCard>>> {
    follow_list(&ctx, user, &handle, &query, Direction::Followers).await
}

/// Whom a user follows, newest first.
#[utoipa::path(get, path = "/v1/users/{handle}/following", tag = "users", security(("bearer" = [])),
    params(("handle" = String, Path, description = "The user's handle", pattern = r"^[A-Za-z0-9_]{3,30}$"), ListQuery),
    responses(
        (status = 200, body = ListResponse<UserCard>),
        (status = 400, description = "`invalid_cursor`", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "`account_private`: a locked account you do not follow", body = ErrorBody),
        (status = 404, description = "`user_not_found`", body = ErrorBody),
        (status = 422, description = "`validation_failed` (limit)", body = ErrorBody),
    ))]
pub async fn following(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    PathParam(handle): PathParam<String>,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Json<ListResponse<UserCard>>> {
    follow_list(&ctx, user, &handle, &query, Direction::Following).await
}

async fn follow_list(
    ctx: &ApiContext,
    user: AuthUser,
    handle: &str,
    query: &ListQuery,
    direction: Direction,
) -> Result<Json<ListResponse<UserCard>>> {
    let page = query.page()?;
    let list = graph::list(
        &ctx.social,
        &ctx.urls,
        user.user_id,
        handle,
        direction,
        &page,
    )
    .await?;
    Ok(Json(list.into()))
}

/// A user's posts, newest first.
#[utoipa::path(get, path = "/v1/users/{handle}/posts", tag = "posts", security(("bearer" = [])),
    params(("handle" = String, Path, description = "The user's handle", pattern = r"^[A-Za-z0-9_]{3,30}$"), ListQuery),
    responses(
        (status = 200, body = ListResponse<Post>),
        (status = 400, description = "`invalid_cursor`", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "`account_private`: a locked account you do not follow", body = ErrorBody),
        (status = 404, description = "`user_not_found`", body = ErrorBody),
        (status = 422, description = "`validation_failed` (limit)", body = ErrorBody),
    ))]
pub async fn user_posts(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    PathParam(handle): PathParam<String>,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<PostsJson<Post>> {
    let page = query.page()?;
    let list = posts::by_author(&ctx.social, &ctx.urls, user.user_id, &handle, &page).await?;
    Ok(PostsJson(list.into()))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// A handle (with or without `@`), part of one, or a name; a typo is
    /// forgiven.
    #[param(
        min_length = 1,
        max_length = 50,
        example = "ana",
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\u0000-\\u001F\\u007F-\\u009F\\s@][^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    q: String,
    /// `next_cursor` of the previous page; absent for the first page.
    #[param(max_length = 200)]
    cursor: Option<String>,
    /// Items per page.
    #[param(minimum = 1, maximum = 50, default = 20)]
    limit: Option<u32>,
}

/// Find people by handle or name, best match first: the exact handle, then
/// handles that start with the query, then near matches of handles and of
/// any word of names. People you block or who block you are never found.
#[utoipa::path(get, path = "/v1/search/users", tag = "users", security(("bearer" = [])),
    params(SearchQuery),
    responses(
        (status = 200, body = ListResponse<UserCard>),
        (status = 400, description = "`invalid_cursor`", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 422, description = "`validation_failed` (`q` of 1 to 50 characters, limit)", body = ErrorBody),
    ))]
pub async fn search_users(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    QueryParams(query): QueryParams<SearchQuery>,
) -> Result<Json<ListResponse<UserCard>>> {
    let page = PageRequest::parse(query.cursor.as_deref(), query.limit)?;
    let q = search::Query::parse(&query.q)?;
    let found = search::users(&ctx.social, &ctx.urls, user.user_id, &q, &page).await?;
    Ok(Json(found.into()))
}
