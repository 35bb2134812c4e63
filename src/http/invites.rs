//! Invite codes: a user's own (mint, list, revoke, who joined), the public
//! preview a shared link opens, and an admin's batches and branches.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::auth::invites::{self, Invite, NewInvite};
use crate::error::{Code, Error, Result};
use crate::http::context::ApiContext;
use crate::http::decisions::record_about_user;
use crate::http::error::ErrorBody;
use crate::http::extract::{AuthUser, JsonBody, PathParam, integral, optional_integral};
use crate::http::trust::{AdminActor, AdminCall};
use crate::social::invites as people;
use crate::social::render::UserCard;
use crate::trust::INVITE_PERIOD;
use crate::trust::audit::{About, Action, Reason};

const DAY: u64 = 24 * 3600;

#[derive(Deserialize, ToSchema)]
pub struct NewInviteRequest {
    /// Accounts the code may create (default 1).
    #[schema(minimum = 1, maximum = 100)]
    #[serde(default, deserialize_with = "optional_integral")]
    max_uses: Option<i64>,
    /// Days the code works (default 7).
    #[schema(minimum = 1, maximum = 30)]
    #[serde(default, deserialize_with = "optional_integral")]
    lifetime_days: Option<i64>,
}

/// An invite with the link to share.
#[derive(Serialize, ToSchema)]
pub struct SharedInvite {
    #[serde(flatten)]
    invite: Invite,
    /// `APP_LINK_BASE_URL/invite?code=...`: opens the app (or its web
    /// fallback) on the sign-up screen with the code filled in.
    #[schema(example = "https://ciel.example.com/app/invite?code=7KQ2-M9XD-4HV0-PZ3E")]
    link: String,
}

#[derive(Serialize, ToSchema)]
pub struct InviteList {
    /// Newest first, at most 100.
    items: Vec<SharedInvite>,
    /// Invites you may mint in any 7 days: your trust level's
    /// (`GET /v1/me/trust`); none at `new`.
    per_week: u32,
    /// Left now.
    left: u32,
}

#[derive(Serialize, ToSchema)]
pub struct InvitePreview {
    /// Who invites; null for an admin's codes.
    inviter: Option<UserCard>,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: time::OffsetDateTime,
}

#[derive(Serialize, ToSchema)]
pub struct Invitees {
    /// Newest first, at most 200.
    items: Vec<UserCard>,
}

fn shared(ctx: &ApiContext, invite: Invite) -> SharedInvite {
    let link = format!("{}/invite?code={}", ctx.signup.link_base_url, invite.code);
    SharedInvite { invite, link }
}

fn lifetime(days: Option<i64>, default: i64) -> Result<Duration> {
    let days = days.unwrap_or(default);
    let allowed = i64::from(invites::MIN_LIFETIME_DAYS)..=i64::from(invites::MAX_LIFETIME_DAYS);
    if !allowed.contains(&days) {
        return Err(Error::invalid_field(
            "lifetime_days",
            "must be between 1 and 30",
        ));
    }
    Ok(Duration::from_secs(days.unsigned_abs() * DAY))
}

fn max_uses(uses: Option<i64>, max: i32) -> Result<i32> {
    let uses = uses.unwrap_or(1);
    match i32::try_from(uses) {
        Ok(uses) if (1..=max).contains(&uses) => Ok(uses),
        _ => Err(Error::invalid_field(
            "max_uses",
            format!("must be between 1 and {max}"),
        )),
    }
}

/// Mint an invite, within your trust level's quota of the last 7 days (a
/// `new` account has none: invites are earned).
#[utoipa::path(post, path = "/v1/invites", tag = "invites", security(("bearer" = [])),
    request_body = NewInviteRequest,
    responses(
        (status = 201, body = SharedInvite),
        (status = 403, description = "`invite_quota_exhausted`: the message says until when, or that your level has no invites yet", body = ErrorBody),
        (status = 422, description = "`validation_failed` (`max_uses` 1 to 100, `lifetime_days` 1 to 30)", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ))]
pub async fn create_invite(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    JsonBody(body): JsonBody<NewInviteRequest>,
) -> Result<(StatusCode, Json<SharedInvite>)> {
    let new = NewInvite {
        inviter: Some(user.user_id),
        max_uses: max_uses(body.max_uses, invites::MAX_USES)?,
        lifetime: lifetime(body.lifetime_days, 7)?,
        note: None,
    };
    let (level, quota) = ctx.trust.invite_quota(user.user_id).await?;
    if quota == 0 {
        return Err(Code::InviteQuotaExhausted.with_message(format!(
            "accounts at trust level `{}` have no invites: they come with the next level (GET /v1/me/trust)",
            level.as_str()
        )));
    }
    let invite = invites::mint_within_quota(&ctx.db, &new, quota, INVITE_PERIOD).await?;
    Ok((StatusCode::CREATED, Json(shared(&ctx, invite))))
}

/// Your invites, and how many you may still mint.
#[utoipa::path(get, path = "/v1/invites", tag = "invites", security(("bearer" = [])),
    responses((status = 200, body = InviteList)))]
pub async fn list_invites(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
) -> Result<Json<InviteList>> {
    let items = invites::mine(&ctx.db, user.user_id).await?;
    let (_, per_week) = ctx.trust.invite_quota(user.user_id).await?;
    let (left, _) = invites::quota_left(
        &mut *ctx.db.acquire().await?,
        user.user_id,
        per_week,
        INVITE_PERIOD,
    )
    .await?;
    Ok(Json(InviteList {
        items: items.into_iter().map(|i| shared(&ctx, i)).collect(),
        per_week,
        left,
    }))
}

/// Revoke one of your invites: it signs nobody up any more; the accounts
/// it made stay.
#[utoipa::path(delete, path = "/v1/invites/{code}", tag = "invites", security(("bearer" = [])),
    params(("code" = String, Path, description = "The code, any case, dashes optional")),
    responses(
        (status = 204),
        (status = 404, description = "`invite_not_found`: none of your invites has this code", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ))]
pub async fn revoke_invite(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    PathParam(code): PathParam<String>,
) -> Result<StatusCode> {
    invites::revoke(&ctx.db, user.user_id, &code).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who joined with your invites.
#[utoipa::path(get, path = "/v1/me/invitees", tag = "invites", security(("bearer" = [])),
    responses((status = 200, body = Invitees)))]
pub async fn my_invitees(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
) -> Result<Json<Invitees>> {
    let items = people::invitees(&ctx.db, &ctx.urls, user.user_id).await?;
    Ok(Json(Invitees { items }))
}

/// What a shared link shows before sign-up: who invites, until when. No
/// sign-in needed; limited per client network (`RATE_LIMIT_INVITE_PREVIEW`).
#[utoipa::path(get, path = "/v1/invites/{code}", tag = "invites",
    params(("code" = String, Path, description = "The code, any case, dashes optional")),
    responses(
        (status = 200, body = InvitePreview),
        (status = 403, description = "`invite_invalid`: unknown, used up, revoked or expired (one answer for all)", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ))]
pub async fn preview_invite(
    State(ctx): State<Arc<ApiContext>>,
    PathParam(code): PathParam<String>,
) -> Result<Json<InvitePreview>> {
    let (inviter, expires_at) = people::preview(&ctx.db, &ctx.urls, &code).await?;
    Ok(Json(InvitePreview {
        inviter,
        expires_at,
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct AdminInvitesRequest {
    #[schema(minimum = 1, maximum = 500)]
    #[serde(deserialize_with = "integral")]
    count: i64,
    /// Accounts each code may create (default 1).
    #[schema(minimum = 1, maximum = 10000)]
    #[serde(default, deserialize_with = "optional_integral")]
    max_uses: Option<i64>,
    /// Days the codes work (default 30).
    #[schema(minimum = 1, maximum = 30)]
    #[serde(default, deserialize_with = "optional_integral")]
    lifetime_days: Option<i64>,
    /// What the batch is for (App Review, beta testers).
    #[schema(max_length = 200, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    note: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AdminInvites {
    items: Vec<SharedInvite>,
}

/// Mint a batch of invites that belong to nobody (App Review, beta testers).
#[utoipa::path(post, path = "/v1/admin/invites", tag = "moderation", security(("admin_token" = [])),
    params(
        ("X-Admin-Actor" = Option<String>, Header, description = "Who you are, for the record (1 to 64 of A-Z a-z 0-9 . _ @ -)", pattern = r"^[A-Za-z0-9._@-]{1,64}$"),
    ),
    request_body = AdminInvitesRequest,
    responses(
        (status = 201, body = AdminInvites),
        (status = 401, description = "`admin_token_required`", body = ErrorBody),
        (status = 404, description = "`not_found` when ADMIN_TOKEN is not set", body = ErrorBody),
        (status = 422, description = "`validation_failed` (`count` 1 to 500, `max_uses` 1 to 10000, `lifetime_days` 1 to 30, `note` up to 200 characters, `X-Admin-Actor`)", body = ErrorBody),
    ))]
pub async fn admin_mint(
    State(ctx): State<Arc<ApiContext>>,
    AdminActor(actor): AdminActor,
    JsonBody(body): JsonBody<AdminInvitesRequest>,
) -> Result<(StatusCode, Json<AdminInvites>)> {
    if !(1..=i64::from(invites::ADMIN_BATCH_MAX)).contains(&body.count) {
        return Err(Error::invalid_field("count", "must be between 1 and 500"));
    }
    if body
        .note
        .as_ref()
        .is_some_and(|n| n.chars().count() > 200 || n.chars().any(char::is_control))
    {
        return Err(Error::invalid_field(
            "note",
            "at most 200 characters, none of them control characters",
        ));
    }
    let new = NewInvite {
        inviter: None,
        max_uses: max_uses(body.max_uses, invites::ADMIN_MAX_USES)?,
        lifetime: lifetime(body.lifetime_days, 30)?,
        note: body.note,
    };
    let mut tx = ctx.db.begin().await?;
    let mut items = Vec::with_capacity(body.count as usize);
    for _ in 0..body.count {
        items.push(shared(&ctx, invites::mint(&mut tx, &new).await?));
    }
    tx.commit().await?;
    // The note says what the batch is for: the record's why.
    let reason = match &new.note {
        Some(note) if !note.trim().is_empty() => Reason::parse(note)?,
        _ => Reason::not_given(),
    };
    let details = json!({ "count": body.count, "max_uses": new.max_uses });
    ctx.trust
        .record(
            &actor,
            &reason,
            Action::MintInvites,
            About::Nothing,
            details,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(AdminInvites { items })))
}

/// Who a user invited, suspended accounts included.
#[utoipa::path(get, path = "/v1/admin/users/{handle}/invitees", tag = "moderation", security(("admin_token" = [])),
    params(("handle" = String, Path, description = "The user's handle", pattern = r"^[A-Za-z0-9_]{3,30}$")),
    responses(
        (status = 200, body = Invitees),
        (status = 401, description = "`admin_token_required`", body = ErrorBody),
        (status = 404, description = "`user_not_found`, or `not_found` when ADMIN_TOKEN is not set", body = ErrorBody),
    ))]
pub async fn admin_invitees(
    State(ctx): State<Arc<ApiContext>>,
    PathParam(handle): PathParam<String>,
) -> Result<Json<Invitees>> {
    let items = people::invitees_of(&ctx.social, &ctx.urls, &handle).await?;
    Ok(Json(Invitees { items }))
}

#[derive(Serialize, ToSchema)]
pub struct BranchSuspended {
    /// Accounts suspended by this call (those already suspended not counted).
    suspended: u64,
}

/// Suspend a user and everyone their invites brought in, down the tree (at
/// most 10,000 accounts a call).
#[utoipa::path(post, path = "/v1/admin/users/{handle}/suspend-branch", tag = "moderation", security(("admin_token" = [])),
    params(
        ("handle" = String, Path, description = "The user's handle", pattern = r"^[A-Za-z0-9_]{3,30}$"),
        ("X-Admin-Actor" = Option<String>, Header, description = "Who you are, for the record (1 to 64 of A-Z a-z 0-9 . _ @ -)", pattern = r"^[A-Za-z0-9._@-]{1,64}$"),
        ("reason" = Option<String>, Query, description = "Why, for the record (1 to 1,000 characters)", max_length = 1000, pattern = "^[^\\u0000]*[^\\u0000\\u0009-\\u000D\\u0020\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000][^\\u0000]*$"),
    ),
    responses(
        (status = 200, body = BranchSuspended),
        (status = 401, description = "`admin_token_required`", body = ErrorBody),
        (status = 404, description = "`user_not_found`, or `not_found` when ADMIN_TOKEN is not set", body = ErrorBody),
        (status = 422, description = "`validation_failed` (`X-Admin-Actor`, `reason`)", body = ErrorBody),
    ))]
pub async fn admin_suspend_branch(
    State(ctx): State<Arc<ApiContext>>,
    call: AdminCall,
    PathParam(handle): PathParam<String>,
) -> Result<Json<BranchSuspended>> {
    let suspended = people::suspend_branch(&ctx.social, &ctx.auth, &handle).await?;
    let reason = call.reason_or(Reason::not_given());
    record_about_user(&ctx, &call.actor, &reason, Action::SuspendBranch, &handle).await?;
    Ok(Json(BranchSuspended { suspended }))
}
