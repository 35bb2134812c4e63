//! Statements of reasons and appeals (`/v1/me/moderation-decisions`,
//! `/v1/admin/appeals`), and the terms a user accepts (`/v1/me/terms`).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::Result;
use crate::http::context::ApiContext;
use crate::http::decisions;
use crate::http::error::ErrorBody;
use crate::http::extract::{AuthUser, JsonBody, PathParam};
use crate::http::pagination::{ListQuery, ListResponse, QueryParams};
use crate::http::trust::AdminActor;
use crate::trust::appeals::{self, AppealText, Decision, Outcome};
use crate::trust::audit::Reason;
use crate::trust::terms;

/// The moderation decisions about you, newest first: what was restricted,
/// on what ground, and whether you may still appeal.
#[utoipa::path(get, path = "/v1/me/moderation-decisions", tag = "moderation", security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = 200, body = ListResponse<Decision>),
        (status = 400, description = "`invalid_cursor`", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 422, description = "`validation_failed` (limit)", body = ErrorBody),
    ))]
pub async fn my_decisions(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Json<ListResponse<Decision>>> {
    let page = query.page()?;
    Ok(Json(
        appeals::of_user(&ctx.db, user.user_id, &page).await?.into(),
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct AppealRequest {
    /// Why the decision is wrong: 1 to 2,000 characters.
    #[schema(
        min_length = 1,
        max_length = 2000,
        example = "This photo is of my own painting; nothing in it breaks the rules.",
        pattern = "^[^\\u0000]*[^\\u0000\\u0009-\\u000D\\u0020\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000][^\\u0000]*$"
    )]
    text: String,
}

/// Appeal a decision about you, once. An admin upholds or reverses it;
/// the answer shows in the decision.
#[utoipa::path(post, path = "/v1/me/moderation-decisions/{id}/appeal", tag = "moderation", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Decision id")),
    request_body = AppealRequest,
    responses(
        (status = 200, body = Decision),
        (status = 400, description = "`invalid_json`", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "`decision_not_found`", body = ErrorBody),
        (status = 409, description = "`already_appealed`: one appeal per decision", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: JSON bodies are at most 64 KiB", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 422, description = "`validation_failed` (`text`)", body = ErrorBody),
    ))]
pub async fn appeal(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    PathParam(id): PathParam<Uuid>,
    JsonBody(body): JsonBody<AppealRequest>,
) -> Result<Json<Decision>> {
    let text = AppealText::parse(&body.text)?;
    Ok(Json(
        appeals::appeal(&ctx.db, user.user_id, id, &text).await?,
    ))
}

/// Appeals awaiting an answer, oldest first.
#[utoipa::path(get, path = "/v1/admin/appeals", tag = "moderation", security(("admin_token" = [])),
    params(ListQuery),
    responses(
        (status = 200, body = ListResponse<Decision>),
        (status = 400, description = "`invalid_cursor`", body = ErrorBody),
        (status = 401, description = "`admin_token_required`", body = ErrorBody),
        (status = 404, description = "`not_found`: ADMIN_TOKEN is not set", body = ErrorBody),
        (status = 422, description = "`validation_failed` (limit)", body = ErrorBody),
    ))]
pub async fn list_appeals(
    State(ctx): State<Arc<ApiContext>>,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Json<ListResponse<Decision>>> {
    let page = query.page()?;
    Ok(Json(appeals::open_appeals(&ctx.db, &page).await?.into()))
}

#[derive(Deserialize, ToSchema)]
pub struct AppealDecisionRequest {
    outcome: Outcome,
    /// Why, for the user and the record: 1 to 1,000 characters.
    #[schema(
        min_length = 1,
        max_length = 1000,
        example = "The photo shows a painting, not violence",
        pattern = "^[^\\u0000]*[^\\u0000\\u0009-\\u000D\\u0020\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000][^\\u0000]*$"
    )]
    reason: String,
}

/// Answer an appeal, once. `reversed` undoes the decision: a post taken
/// down comes back, the strike is withdrawn, a suspension is lifted.
#[utoipa::path(post, path = "/v1/admin/appeals/{id}/decision", tag = "moderation", security(("admin_token" = [])),
    params(
        ("id" = Uuid, Path, description = "Decision id"),
        ("X-Admin-Actor" = Option<String>, Header, description = "Who you are, for the record (1 to 64 of A-Z a-z 0-9 . _ @ -)", pattern = r"^[A-Za-z0-9._@-]{1,64}$"),
    ),
    request_body = AppealDecisionRequest,
    responses(
        (status = 200, body = Decision),
        (status = 400, description = "`invalid_json`", body = ErrorBody),
        (status = 401, description = "`admin_token_required`", body = ErrorBody),
        (status = 404, description = "`appeal_not_found` (no decision with this id, or not appealed), or `not_found` when ADMIN_TOKEN is not set", body = ErrorBody),
        (status = 409, description = "`appeal_already_decided`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: JSON bodies are at most 64 KiB", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 422, description = "`validation_failed` (`reason`, `X-Admin-Actor`)", body = ErrorBody),
    ))]
pub async fn decide_appeal(
    State(ctx): State<Arc<ApiContext>>,
    AdminActor(actor): AdminActor,
    PathParam(id): PathParam<Uuid>,
    JsonBody(body): JsonBody<AppealDecisionRequest>,
) -> Result<Json<Decision>> {
    let reason = Reason::parse(&body.reason)?;
    let decision = decisions::decide_appeal(&ctx, &actor, &reason, id, body.outcome).await?;
    Ok(Json(decision))
}

#[derive(Deserialize, ToSchema)]
pub struct AppealTokenRequest {
    /// The `token` query parameter of the mailed link (`/appeal?token=`).
    #[schema(
        example = "q3Yc1rW0m8tZpX2d7bEw9n4kLhS6aVfJ5uGiR0oTy1M",
        min_length = 1,
        max_length = 256
    )]
    token: String,
}

/// Read the decision a mailed link states, signed out (a suspended account
/// cannot sign in). The link keeps working for six months, appealed or not.
#[utoipa::path(post, path = "/v1/appeals/decision", tag = "moderation",
    request_body = AppealTokenRequest,
    responses(
        (status = 200, body = Decision),
        (status = 400, description = "`invalid_or_expired_token` or `invalid_json`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: JSON bodies are at most 64 KiB", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 422, description = "`validation_failed`: `token` is missing or not a string", body = ErrorBody),
    ))]
pub async fn decision_by_token(
    State(ctx): State<Arc<ApiContext>>,
    JsonBody(body): JsonBody<AppealTokenRequest>,
) -> Result<Json<Decision>> {
    Ok(Json(appeals::by_token(&ctx.db, &body.token).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct TokenAppealRequest {
    /// The `token` query parameter of the mailed link (`/appeal?token=`).
    #[schema(
        example = "q3Yc1rW0m8tZpX2d7bEw9n4kLhS6aVfJ5uGiR0oTy1M",
        min_length = 1,
        max_length = 256
    )]
    token: String,
    /// Why the decision is wrong: 1 to 2,000 characters.
    #[schema(
        min_length = 1,
        max_length = 2000,
        example = "My account was suspended by mistake.",
        pattern = "^[^\\u0000]*[^\\u0000\\u0009-\\u000D\\u0020\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000][^\\u0000]*$"
    )]
    text: String,
}

/// Appeal the decision a mailed link states, signed out; once per
/// decision, as in the app.
#[utoipa::path(post, path = "/v1/appeals", tag = "moderation",
    request_body = TokenAppealRequest,
    responses(
        (status = 200, body = Decision),
        (status = 400, description = "`invalid_or_expired_token` or `invalid_json`", body = ErrorBody),
        (status = 409, description = "`already_appealed`: one appeal per decision", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: JSON bodies are at most 64 KiB", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 422, description = "`validation_failed` (`token`, `text`)", body = ErrorBody),
    ))]
pub async fn appeal_by_token(
    State(ctx): State<Arc<ApiContext>>,
    JsonBody(body): JsonBody<TokenAppealRequest>,
) -> Result<Json<Decision>> {
    let text = AppealText::parse(&body.text)?;
    Ok(Json(
        appeals::appeal_by_token(&ctx.db, &body.token, &text).await?,
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct AcceptTermsRequest {
    /// The version accepted: the current one (`TERMS_VERSION`).
    #[schema(example = "2026-12-01", min_length = 1, max_length = 64)]
    version: String,
}

/// Accept the terms in force. Needed before posting, sharing a story or
/// commenting whenever `TERMS_VERSION` names terms the account has not
/// accepted (403 `terms_not_accepted`).
#[utoipa::path(post, path = "/v1/me/terms", tag = "users", security(("bearer" = [])),
    request_body = AcceptTermsRequest,
    responses(
        (status = 204),
        (status = 400, description = "`invalid_json`", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 413, description = "`payload_too_large`: JSON bodies are at most 64 KiB", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 409, description = "`terms_version_not_current`: not `TERMS_VERSION` (or none is in force)", body = ErrorBody),
        (status = 422, description = "`validation_failed`: `version` is missing or not a string", body = ErrorBody),
    ))]
pub async fn accept_terms(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    JsonBody(body): JsonBody<AcceptTermsRequest>,
) -> Result<StatusCode> {
    let current = ctx.signup.terms_version.as_deref();
    terms::accept(&ctx.db, user.user_id, &body.version, current).await?;
    Ok(StatusCode::NO_CONTENT)
}
