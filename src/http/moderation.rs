//! `POST /v1/reports`, and the moderators' `/v1/admin/*` routes behind
//! `X-Admin-Token`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{Code, Result};
use crate::http::context::ApiContext;
use crate::http::decisions;
use crate::http::error::{ErrorBody, error_response};
use crate::http::extract::{AdminHeader, presents_admin_token};
use crate::http::extract::{AuthUser, JsonBody, PathParam};
use crate::http::pagination::{ListQuery, ListResponse, QueryParams};
use crate::http::trust::AdminCall;
use crate::social::edits::{self, PostEdit};
use crate::social::moderation::{self, Category, NewReport, Report, TargetType};
use crate::social::notices::{self, NewNotice, NoticeForm};
use crate::trust::audit::Reason;

#[derive(Deserialize, ToSchema)]
pub struct CreateReportRequest {
    target_type: TargetType,
    /// The id of the post, comment or user.
    target_id: Uuid,
    /// What it is about (default `other`); child safety reaches moderators first.
    category: Option<Category>,
    /// 1 to 1,000 characters.
    #[schema(
        min_length = 1,
        max_length = 1000,
        example = "Spam",
        pattern = "^[^\\u0000]*[^\\u0000\\u0009-\\u000D\\u0020\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000][^\\u0000]*$"
    )]
    reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct ReportCreated {
    id: Uuid,
}

/// Report a post, comment or user to the moderators.
#[utoipa::path(post, path = "/v1/reports", tag = "moderation", security(("bearer" = [])),
    request_body = CreateReportRequest,
    responses(
        (status = 201, body = ReportCreated),
        (status = 400, description = "`invalid_json`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: JSON bodies are at most 64 KiB", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "`report_target_not_found`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 422, description = "`validation_failed`", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ))]
pub async fn create_report(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    JsonBody(body): JsonBody<CreateReportRequest>,
) -> Result<(StatusCode, Json<ReportCreated>)> {
    let report = NewReport::parse(
        body.target_type,
        body.target_id,
        body.category.unwrap_or_default(),
        &body.reason,
    )?;
    let id = moderation::report(&ctx.social, user.user_id, report).await?;
    Ok((StatusCode::CREATED, Json(ReportCreated { id })))
}

#[derive(Deserialize, ToSchema)]
pub struct NoticeRequest {
    /// Who sends the notice: 1 to 100 characters.
    #[schema(
        min_length = 1,
        max_length = 100,
        example = "Ana Lima",
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    name: String,
    /// Where the acknowledgement goes.
    #[schema(example = "ana@example.org", format = Email, min_length = 3, max_length = 254)]
    email: String,
    /// What the content is: a post, comment, story or account.
    target_type: TargetType,
    /// The content's URL or id (the last id in it names the content).
    #[schema(
        min_length = 36,
        max_length = 2000,
        example = "https://ciel.example/p/0193a1d2-7c4e-7b61-9a8e-2f4d5c6b7a80",
        pattern = "^[^\\u0000]*[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}[^\\u0000]*$"
    )]
    content: String,
    /// The reason (default `other`); child safety reaches moderators first.
    category: Option<Category>,
    /// Why the content is illegal or against the rules: 1 to 1,000 characters.
    #[schema(
        min_length = 1,
        max_length = 1000,
        example = "This photo shows my child without my consent.",
        pattern = "^[^\\u0000]*[^\\u0000\\u0009-\\u000D\\u0020\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000][^\\u0000]*$"
    )]
    explanation: String,
    /// The statement that the notice is accurate and made in good faith:
    /// must be true.
    #[schema(schema_with = true_only)]
    good_faith: bool,
}

/// A boolean whose only accepted value is `true`.
fn true_only() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::Boolean)
        .enum_values(Some([true]))
        .build()
}

/// Notify the moderators of content, signed out (EU DSA Art. 16). The
/// notice joins the report queue, and the address given gets an
/// acknowledgement (at most 3 a day per address).
#[utoipa::path(post, path = "/v1/notices", tag = "moderation",
    request_body = NoticeRequest,
    responses(
        (status = 202, body = ReportCreated),
        (status = 400, description = "`invalid_json`", body = ErrorBody),
        (status = 404, description = "`report_target_not_found`: no such content, or not public", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: JSON bodies are at most 64 KiB", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 422, description = "`validation_failed` (`name`, `email`, `content`, `explanation`, or `good_faith` not true)", body = ErrorBody),
    ))]
pub async fn file_notice(
    State(ctx): State<Arc<ApiContext>>,
    JsonBody(body): JsonBody<NoticeRequest>,
) -> Result<(StatusCode, Json<ReportCreated>)> {
    let notice = NewNotice::parse(NoticeForm {
        name: &body.name,
        email: &body.email,
        target_type: body.target_type,
        content: &body.content,
        category: body.category.unwrap_or_default(),
        explanation: &body.explanation,
        good_faith: body.good_faith,
    })?;
    let id = notices::file(&ctx.social, &ctx.queue, notice).await?;
    Ok((StatusCode::ACCEPTED, Json(ReportCreated { id })))
}

/// Lets a request through only with `X-Admin-Token` equal to `ADMIN_TOKEN`
/// (compared in constant time). Without `ADMIN_TOKEN` the routes do not
/// exist at all.
pub async fn require_admin(
    State(ctx): State<Arc<ApiContext>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(expected) = &ctx.admin_token else {
        return error_response(Code::NotFound);
    };
    if !presents_admin_token(request.headers(), AdminHeader::XAdminToken, expected) {
        return error_response(Code::AdminTokenRequired);
    }
    next.run(request).await
}

/// Every report: child safety first, then violence, harassment, spam and
/// the rest; newest first within each.
#[utoipa::path(get, path = "/v1/admin/reports", tag = "moderation", security(("admin_token" = [])),
    params(ListQuery),
    responses(
        (status = 200, body = ListResponse<Report>),
        (status = 400, description = "`invalid_cursor`", body = ErrorBody),
        (status = 401, description = "`admin_token_required`", body = ErrorBody),
        (status = 404, description = "`not_found`: ADMIN_TOKEN is not set", body = ErrorBody),
        (status = 422, description = "`validation_failed` (limit)", body = ErrorBody),
    ))]
pub async fn list_reports(
    State(ctx): State<Arc<ApiContext>>,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Json<ListResponse<Report>>> {
    let page = query.page()?;
    Ok(Json(moderation::reports(&ctx.social, &page).await?.into()))
}

/// A post's earlier captions, newest edit first: what a caption said
/// before its author changed it (taken-down posts and those a legal hold
/// keeps included).
#[utoipa::path(get, path = "/v1/admin/posts/{id}/edits", tag = "moderation", security(("admin_token" = [])),
    params(("id" = Uuid, Path, description = "Post id"), ListQuery),
    responses(
        (status = 200, body = ListResponse<PostEdit>),
        (status = 400, description = "`invalid_cursor`", body = ErrorBody),
        (status = 401, description = "`admin_token_required`", body = ErrorBody),
        (status = 404, description = "`post_not_found`, or `not_found` when ADMIN_TOKEN is not set", body = ErrorBody),
        (status = 422, description = "`validation_failed` (limit)", body = ErrorBody),
    ))]
pub async fn post_edits(
    State(ctx): State<Arc<ApiContext>>,
    PathParam(id): PathParam<Uuid>,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Json<ListResponse<PostEdit>>> {
    let page = query.page()?;
    Ok(Json(edits::history(&ctx.db, id, &page).await?.into()))
}

/// Take a post down: it disappears everywhere, feeds included. It is a
/// strike for its author (once per post): see the README's trust levels.
#[utoipa::path(post, path = "/v1/admin/posts/{id}/takedown", tag = "moderation", security(("admin_token" = [])),
    params(
        ("id" = Uuid, Path, description = "Post id"),
        ("X-Admin-Actor" = Option<String>, Header, description = "Who you are, for the record (1 to 64 of A-Z a-z 0-9 . _ @ -)", pattern = r"^[A-Za-z0-9._@-]{1,64}$"),
        ("reason" = Option<String>, Query, description = "Why, for the record (1 to 1,000 characters)", max_length = 1000, pattern = "^[^\\u0000]*[^\\u0000\\u0009-\\u000D\\u0020\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000][^\\u0000]*$"),
    ),
    responses(
        (status = 204),
        (status = 401, description = "`admin_token_required`", body = ErrorBody),
        (status = 404, description = "`post_not_found`, or `not_found` when ADMIN_TOKEN is not set", body = ErrorBody),
        (status = 422, description = "`validation_failed` (`X-Admin-Actor`, `reason`)", body = ErrorBody),
    ))]
pub async fn take_down(
    State(ctx): State<Arc<ApiContext>>,
    call: AdminCall,
    PathParam(id): PathParam<Uuid>,
) -> Result<StatusCode> {
    let reason = call.reason_or(Reason::not_given());
    decisions::take_down_post(&ctx, &call.actor, &reason, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Reverse a takedown: the post and its photos are shown again, and the
/// strike it was is withdrawn.
#[utoipa::path(delete, path = "/v1/admin/posts/{id}/takedown", tag = "moderation", security(("admin_token" = [])),
    params(
        ("id" = Uuid, Path, description = "Post id"),
        ("X-Admin-Actor" = Option<String>, Header, description = "Who you are, for the record (1 to 64 of A-Z a-z 0-9 . _ @ -)", pattern = r"^[A-Za-z0-9._@-]{1,64}$"),
        ("reason" = Option<String>, Query, description = "Why, for the record (1 to 1,000 characters)", max_length = 1000, pattern = "^[^\\u0000]*[^\\u0000\\u0009-\\u000D\\u0020\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000][^\\u0000]*$"),
    ),
    responses(
        (status = 204),
        (status = 401, description = "`admin_token_required`", body = ErrorBody),
        (status = 404, description = "`post_not_found`, or `not_found` when ADMIN_TOKEN is not set", body = ErrorBody),
        (status = 422, description = "`validation_failed` (`X-Admin-Actor`, `reason`)", body = ErrorBody),
    ))]
pub async fn restore(
    State(ctx): State<Arc<ApiContext>>,
    call: AdminCall,
    PathParam(id): PathParam<Uuid>,
) -> Result<StatusCode> {
    let reason = call.reason_or(Reason::not_given());
    decisions::restore_post(&ctx, &call.actor, &reason, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Suspend a user: every session ends, and the user and their posts are hidden.
#[utoipa::path(post, path = "/v1/admin/users/{handle}/suspend", tag = "moderation", security(("admin_token" = [])),
    params(
        ("handle" = String, Path, description = "The user's handle", pattern = r"^[A-Za-z0-9_]{3,30}$"),
        ("X-Admin-Actor" = Option<String>, Header, description = "Who you are, for the record (1 to 64 of A-Z a-z 0-9 . _ @ -)", pattern = r"^[A-Za-z0-9._@-]{1,64}$"),
        ("reason" = Option<String>, Query, description = "Why, for the record (1 to 1,000 characters)", max_length = 1000, pattern = "^[^\\u0000]*[^\\u0000\\u0009-\\u000D\\u0020\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000][^\\u0000]*$"),
    ),
    responses(
        (status = 204),
        (status = 401, description = "`admin_token_required`", body = ErrorBody),
        (status = 404, description = "`user_not_found`, or `not_found` when ADMIN_TOKEN is not set", body = ErrorBody),
        (status = 422, description = "`validation_failed` (`X-Admin-Actor`, `reason`)", body = ErrorBody),
    ))]
pub async fn suspend(
    State(ctx): State<Arc<ApiContext>>,
    call: AdminCall,
    PathParam(handle): PathParam<String>,
) -> Result<StatusCode> {
    let reason = call.reason_or(Reason::not_given());
    decisions::suspend_user(&ctx, &call.actor, &reason, &handle).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lift a suspension.
#[utoipa::path(post, path = "/v1/admin/users/{handle}/unsuspend", tag = "moderation", security(("admin_token" = [])),
    params(
        ("handle" = String, Path, description = "The user's handle", pattern = r"^[A-Za-z0-9_]{3,30}$"),
        ("X-Admin-Actor" = Option<String>, Header, description = "Who you are, for the record (1 to 64 of A-Z a-z 0-9 . _ @ -)", pattern = r"^[A-Za-z0-9._@-]{1,64}$"),
        ("reason" = Option<String>, Query, description = "Why, for the record (1 to 1,000 characters)", max_length = 1000, pattern = "^[^\\u0000]*[^\\u0000\\u0009-\\u000D\\u0020\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000][^\\u0000]*$"),
    ),
    responses(
        (status = 204),
        (status = 401, description = "`admin_token_required`", body = ErrorBody),
        (status = 404, description = "`user_not_found`, or `not_found` when ADMIN_TOKEN is not set", body = ErrorBody),
        (status = 422, description = "`validation_failed` (`X-Admin-Actor`, `reason`)", body = ErrorBody),
    ))]
pub async fn unsuspend(
    State(ctx): State<Arc<ApiContext>>,
    call: AdminCall,
    PathParam(handle): PathParam<String>,
) -> Result<StatusCode> {
    let reason = call.reason_or(Reason::not_given());
    decisions::unsuspend_user(&ctx, &call.actor, &reason, &handle).await?;
    Ok(StatusCode::NO_CONTENT)
}
