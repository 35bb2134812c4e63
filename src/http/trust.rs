//! Trust levels: `GET /v1/me/trust`, and the moderators' routes (levels,
//! strikes, suspensions, report verdicts, the record of decisions).

use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::http::context::ApiContext;
use crate::http::decisions;
use crate::http::error::ErrorBody;
use crate::http::extract::{AuthUser, JsonBody, PathParam};
use crate::http::pagination::{ListQuery, ListResponse, QueryParams};
use crate::social::moderation::Resolution;
use crate::trust::audit::{self, Actor, Reason, Recorded};
use crate::trust::run::AdminView;
use crate::trust::strikes::Struck;
use crate::trust::{Level, MyTrust};

/// Who acts on an admin route: the admin token's holder, with the label of
/// the optional `X-Admin-Actor` header.
pub struct AdminActor(pub Actor);

impl<S: Send + Sync> FromRequestParts<S> for AdminActor {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let label = match parts.headers.get("x-admin-actor") {
            None => None,
            Some(value) => Some(value.to_str().map_err(|_| {
                Error::invalid_field("X-Admin-Actor", "must be 1 to 64 of A-Z a-z 0-9 . _ @ -")
            })?),
        };
        Ok(AdminActor(Actor::admin(label)?))
    }
}

#[derive(Deserialize)]
struct ReasonQuery {
    reason: Option<String>,
}

/// Who acts and why, on the admin routes without a body: `X-Admin-Actor`,
/// and the optional `?reason=` (recorded as not given without it).
pub struct AdminCall {
    pub actor: Actor,
    pub reason: Option<Reason>,
}

impl AdminCall {
    pub fn reason_or(&self, default: Reason) -> Reason {
        self.reason.clone().unwrap_or(default)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AdminCall {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let AdminActor(actor) = AdminActor::from_request_parts(parts, state).await?;
        let Query(query) = Query::<ReasonQuery>::try_from_uri(&parts.uri)
            .map_err(|_| Error::invalid_field("reason", "the query string cannot be read"))?;
        let reason = query.reason.as_deref().map(Reason::parse).transpose()?;
        Ok(AdminCall { actor, reason })
    }
}

/// Your trust level, what reaching the next one takes (met or not: the
/// figures stay private), and what your level lets you do, with what is
/// left of each limit now.
#[utoipa::path(get, path = "/v1/me/trust", tag = "trust", security(("bearer" = [])),
    responses((status = 200, body = MyTrust)))]
pub async fn my_trust(State(ctx): State<Arc<ApiContext>>, user: AuthUser) -> Result<Json<MyTrust>> {
    Ok(Json(ctx.trust.mine(user.user_id).await?))
}

/// A user's level, strikes, suspension and the recorded decisions about them.
#[utoipa::path(get, path = "/v1/admin/users/{handle}/trust", tag = "moderation", security(("admin_token" = [])),
    params(("handle" = String, Path, description = "The user's handle", pattern = r"^[A-Za-z0-9_]{3,30}$")),
    responses(
        (status = 200, body = AdminView),
        (status = 401, description = "`admin_token_required`", body = ErrorBody),
        (status = 404, description = "`user_not_found`, or `not_found` when ADMIN_TOKEN is not set", body = ErrorBody),
    ))]
pub async fn admin_trust(
    State(ctx): State<Arc<ApiContext>>,
    PathParam(handle): PathParam<String>,
) -> Result<Json<AdminView>> {
    Ok(Json(ctx.trust.admin_view(&handle).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct SetLevelRequest {
    level: Level,
    /// Kept as set: the background run leaves it alone (default true;
    /// always for `verified`). A strike still demotes, and unpins.
    pinned: Option<bool>,
    /// Why, for the record: 1 to 1,000 characters.
    #[schema(
        min_length = 1,
        max_length = 1000,
        example = "Known photographer, verified by mail",
        pattern = "^[^\\u0000]*[^\\u0000\\u0009-\\u000D\\u0020\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000][^\\u0000]*$"
    )]
    reason: String,
}

/// Set a user's trust level by hand (`verified` is given only this way).
#[utoipa::path(put, path = "/v1/admin/users/{handle}/trust", tag = "moderation", security(("admin_token" = [])),
    params(
        ("handle" = String, Path, description = "The user's handle", pattern = r"^[A-Za-z0-9_]{3,30}$"),
        ("X-Admin-Actor" = Option<String>, Header, description = "Who you are, for the record (1 to 64 of A-Z a-z 0-9 . _ @ -); the token is shared, so it is a label, not proof", pattern = r"^[A-Za-z0-9._@-]{1,64}$"),
    ),
    request_body = SetLevelRequest,
    responses(
        (status = 200, body = AdminView),
        (status = 401, description = "`admin_token_required`", body = ErrorBody),
        (status = 404, description = "`user_not_found`, or `not_found` when ADMIN_TOKEN is not set", body = ErrorBody),
        (status = 422, description = "`validation_failed` (`reason`, `X-Admin-Actor`)", body = ErrorBody),
    ))]
pub async fn set_level(
    State(ctx): State<Arc<ApiContext>>,
    AdminActor(actor): AdminActor,
    PathParam(handle): PathParam<String>,
    JsonBody(body): JsonBody<SetLevelRequest>,
) -> Result<Json<AdminView>> {
    let reason = Reason::parse(&body.reason)?;
    let pinned = body.pinned.unwrap_or(true);
    Ok(Json(
        ctx.trust
            .set_level(&actor, &handle, body.level, pinned, &reason)
            .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct ReasonRequest {
    /// Why, for the record: 1 to 1,000 characters.
    #[schema(
        min_length = 1,
        max_length = 1000,
        example = "Appeal accepted",
        pattern = "^[^\\u0000]*[^\\u0000\\u0009-\\u000D\\u0020\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000][^\\u0000]*$"
    )]
    reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct Lifted {
    /// False when the user was not suspended.
    lifted: bool,
}

/// Lift a user's suspension, an admin's or one strikes brought: they may
/// sign in again and their photos are shown again.
#[utoipa::path(post, path = "/v1/admin/users/{handle}/lift-suspension", tag = "moderation", security(("admin_token" = [])),
    params(
        ("handle" = String, Path, description = "The user's handle", pattern = r"^[A-Za-z0-9_]{3,30}$"),
        ("X-Admin-Actor" = Option<String>, Header, description = "Who you are, for the record (1 to 64 of A-Z a-z 0-9 . _ @ -)", pattern = r"^[A-Za-z0-9._@-]{1,64}$"),
    ),
    request_body = ReasonRequest,
    responses(
        (status = 200, body = Lifted),
        (status = 401, description = "`admin_token_required`", body = ErrorBody),
        (status = 404, description = "`user_not_found`, or `not_found` when ADMIN_TOKEN is not set", body = ErrorBody),
        (status = 422, description = "`validation_failed` (`reason`, `X-Admin-Actor`)", body = ErrorBody),
    ))]
pub async fn lift_suspension(
    State(ctx): State<Arc<ApiContext>>,
    AdminActor(actor): AdminActor,
    PathParam(handle): PathParam<String>,
    JsonBody(body): JsonBody<ReasonRequest>,
) -> Result<Json<Lifted>> {
    let reason = Reason::parse(&body.reason)?;
    let lifted = decisions::lift_suspension(&ctx, &actor, &reason, &handle).await?;
    Ok(Json(Lifted { lifted }))
}

#[derive(Deserialize, ToSchema)]
pub struct ResolveRequest {
    resolution: Resolution,
    /// Why, for the record: 1 to 1,000 characters.
    #[schema(
        min_length = 1,
        max_length = 1000,
        example = "Spam, as reported",
        pattern = "^[^\\u0000]*[^\\u0000\\u0009-\\u000D\\u0020\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000][^\\u0000]*$"
    )]
    reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct Resolved {
    resolution: Resolution,
    /// The strike an upheld report gave; null when dismissed, when the
    /// offence was struck already, or when the target is gone.
    strike: Option<Struck>,
}

/// Give a report its verdict, once. Upheld, it is a strike for the account
/// behind the post, comment or profile reported: one level down, and past
/// `TRUST_STRIKES` suspend_at, a suspension that grows with each strike.
#[utoipa::path(post, path = "/v1/admin/reports/{id}/resolution", tag = "moderation", security(("admin_token" = [])),
    params(
        ("id" = Uuid, Path, description = "Report id"),
        ("X-Admin-Actor" = Option<String>, Header, description = "Who you are, for the record (1 to 64 of A-Z a-z 0-9 . _ @ -)", pattern = r"^[A-Za-z0-9._@-]{1,64}$"),
    ),
    request_body = ResolveRequest,
    responses(
        (status = 200, body = Resolved),
        (status = 401, description = "`admin_token_required`", body = ErrorBody),
        (status = 404, description = "`report_not_found`, or `not_found` when ADMIN_TOKEN is not set", body = ErrorBody),
        (status = 409, description = "`report_already_resolved`: verdicts are final; withdraw a wrong strike instead", body = ErrorBody),
        (status = 422, description = "`validation_failed` (`reason`, `X-Admin-Actor`)", body = ErrorBody),
    ))]
pub async fn resolve_report(
    State(ctx): State<Arc<ApiContext>>,
    AdminActor(actor): AdminActor,
    PathParam(id): PathParam<Uuid>,
    JsonBody(body): JsonBody<ResolveRequest>,
) -> Result<Json<Resolved>> {
    let reason = Reason::parse(&body.reason)?;
    let strike = decisions::resolve_report(&ctx, &actor, &reason, id, body.resolution).await?;
    Ok(Json(Resolved {
        resolution: body.resolution,
        strike,
    }))
}

/// Withdraw a strike judged wrongly: it stops counting (a suspension it
/// brought stays until it ends or is lifted). Withdrawing again changes nothing.
#[utoipa::path(post, path = "/v1/admin/strikes/{id}/withdraw", tag = "moderation", security(("admin_token" = [])),
    params(
        ("id" = Uuid, Path, description = "Strike id"),
        ("X-Admin-Actor" = Option<String>, Header, description = "Who you are, for the record (1 to 64 of A-Z a-z 0-9 . _ @ -)", pattern = r"^[A-Za-z0-9._@-]{1,64}$"),
    ),
    request_body = ReasonRequest,
    responses(
        (status = 204),
        (status = 401, description = "`admin_token_required`", body = ErrorBody),
        (status = 404, description = "`strike_not_found`, or `not_found` when ADMIN_TOKEN is not set", body = ErrorBody),
        (status = 422, description = "`validation_failed` (`reason`, `X-Admin-Actor`)", body = ErrorBody),
    ))]
pub async fn withdraw_strike(
    State(ctx): State<Arc<ApiContext>>,
    AdminActor(actor): AdminActor,
    PathParam(id): PathParam<Uuid>,
    JsonBody(body): JsonBody<ReasonRequest>,
) -> Result<StatusCode> {
    let reason = Reason::parse(&body.reason)?;
    ctx.trust.withdraw(&actor, id, &reason).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The record of decisions, newest first: who (`system`, `admin`,
/// `admin:<X-Admin-Actor>`), when, what, about whom, and why.
#[utoipa::path(get, path = "/v1/admin/actions", tag = "moderation", security(("admin_token" = [])),
    params(ListQuery),
    responses(
        (status = 200, body = ListResponse<Recorded>),
        (status = 400, description = "`invalid_cursor`", body = ErrorBody),
        (status = 401, description = "`admin_token_required`", body = ErrorBody),
        (status = 404, description = "`not_found`: ADMIN_TOKEN is not set", body = ErrorBody),
        (status = 422, description = "`validation_failed` (limit)", body = ErrorBody),
    ))]
pub async fn admin_actions(
    State(ctx): State<Arc<ApiContext>>,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Json<ListResponse<Recorded>>> {
    let page = query.page()?;
    Ok(Json(audit::list(&ctx.db, &page).await?.into()))
}
