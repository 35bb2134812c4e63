//! `/v1/auth/*` and `/v1/me`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::invites::InviteCode;
use crate::auth::{Registration, TokenPair};
use crate::error::Result;
use crate::http::context::ApiContext;
use crate::http::error::ErrorBody;
use crate::http::extract::{AuthUser, JsonBody, PathParam, UserAgent};
use crate::http::rate_limit::ClientNetwork;
use crate::users::{self, User};

#[derive(Deserialize, ToSchema)]
pub struct RegisterRequest {
    /// 3 to 30 of `a-z`, `0-9`, `_`; unique whatever the case (stored lowercased).
    #[schema(
        example = "ana_lima",
        pattern = "^[A-Za-z0-9_]{3,30}$",
        min_length = 3,
        max_length = 30
    )]
    handle: String,
    #[schema(example = "ana@example.org", format = Email, min_length = 3, max_length = 254)]
    email: String,
    /// 10 to 128 characters.
    #[schema(example = "correct horse battery", min_length = 10, max_length = 128, format = Password)]
    password: String,
    /// Up to 50 characters, no control characters; empty or absent means none.
    #[schema(
        example = "Ana Lima",
        max_length = 50,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    display_name: Option<String>,
    /// Needed when sign-up is by invitation; any case, dashes optional.
    #[schema(example = "7KQ2-M9XD-4HV0-PZ3E", max_length = 64)]
    invite_code: Option<String>,
    /// The version of the terms the user accepted (`TERMS_VERSION`, shown
    /// with the terms). Absent: none recorded, and while `TERMS_VERSION` is
    /// set the account accepts it (`POST /v1/me/terms`) before posting.
    #[schema(example = "2026-12-01", min_length = 1, max_length = 64)]
    terms_version: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    /// An email address or a handle.
    #[schema(example = "ana_lima", min_length = 1, max_length = 254)]
    login: String,
    #[schema(example = "correct horse battery", min_length = 1, max_length = 128, format = Password)]
    password: String,
}

#[derive(Deserialize, ToSchema)]
pub struct RefreshRequest {
    #[schema(min_length = 1, max_length = 1024)]
    refresh_token: String,
}

#[derive(Serialize, ToSchema)]
pub struct UserResponse {
    id: Uuid,
    handle: String,
    email: String,
    display_name: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    /// True once the address was confirmed from the link mailed to it.
    /// Unverified accounts work, but cannot reset their password by email.
    email_verified: bool,
}

impl From<User> for UserResponse {
    fn from(user: User) -> Self {
        Self {
            id: user.id,
            handle: user.handle,
            email: user.email,
            display_name: user.display_name,
            created_at: user.created_at,
            email_verified: user.email_verified,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    access_token: String,
    refresh_token: String,
    /// Always `Bearer`.
    token_type: &'static str,
    /// Seconds until the access token expires.
    expires_in: u64,
}

impl From<TokenPair> for TokenResponse {
    fn from(pair: TokenPair) -> Self {
        Self {
            access_token: pair.access_token,
            refresh_token: pair.refresh_token,
            token_type: "Bearer",
            expires_in: pair.expires_in,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AuthResponse {
    user: UserResponse,
    #[serde(flatten)]
    tokens: TokenResponse,
}

fn signed_in(user: User, pair: TokenPair) -> AuthResponse {
    AuthResponse {
        user: user.into(),
        tokens: pair.into(),
    }
}

#[derive(Serialize, ToSchema)]
pub struct SessionResponse {
    id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    last_used_at: OffsetDateTime,
    user_agent: Option<String>,
    /// True for the session of the token that made this request.
    current: bool,
}

#[derive(Serialize, ToSchema)]
pub struct SessionList {
    sessions: Vec<SessionResponse>,
}

/// Create an account and sign in on this device.
#[utoipa::path(post, path = "/v1/auth/register", tag = "auth", request_body = RegisterRequest,
    responses(
        (status = 201, body = AuthResponse),
        (status = 403, description = "`invite_required` (`SIGNUP_MODE=invite` and no `invite_code`) or `invite_invalid` (a code that is unknown, used up, revoked or expired: one answer for all)", body = ErrorBody),
        (status = 409, description = "`handle_taken` (an address never is: whoever owns it, sign-up answers alike), or `terms_version_not_current` (`terms_version` is not `TERMS_VERSION`)", body = ErrorBody),
        (status = 422, description = "`validation_failed`, with per-field details", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ))]
pub async fn register(
    State(ctx): State<Arc<ApiContext>>,
    UserAgent(user_agent): UserAgent,
    JsonBody(body): JsonBody<RegisterRequest>,
) -> Result<(StatusCode, Json<AuthResponse>)> {
    let mut registration = Registration::parse(
        &body.handle,
        &body.email,
        &body.password,
        body.display_name.as_deref(),
    )?;
    registration.invite = body
        .invite_code
        .as_deref()
        .map(|typed| InviteCode::parse(typed).ok_or(()));
    let terms = ctx.signup.terms_version.as_deref();
    if let Some(version) = body.terms_version.as_deref() {
        crate::trust::terms::require_current(version, terms)?;
    }
    let (user, pair) = ctx
        .auth
        .register(registration, ctx.signup_mode(), user_agent.as_deref())
        .await?;
    if let Some(version) = body.terms_version.as_deref() {
        crate::trust::terms::accept(&ctx.db, user.id, version, terms).await?;
    }
    Ok((StatusCode::CREATED, Json(signed_in(user, pair))))
}

/// Sign in with an email or a handle. Besides the limit per client
/// network, failures are counted per account and network: after 5, that
/// network waits 15 s, then twice as long after each further failure (up to
/// 15 min); an account past `RATE_LIMIT_LOGIN_ACCOUNT` failures takes one
/// attempt every 10 s from networks that never signed in to it.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, body = AuthResponse),
        (status = 401, description = "`invalid_credentials`", body = ErrorBody),
        (status = 403, description = "`account_suspended`", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ))]
pub async fn login(
    State(ctx): State<Arc<ApiContext>>,
    Extension(ClientNetwork(network)): Extension<ClientNetwork>,
    UserAgent(user_agent): UserAgent,
    JsonBody(body): JsonBody<LoginRequest>,
) -> Result<Json<AuthResponse>> {
    let (user, pair) = ctx
        .auth
        .login(&body.login, &body.password, user_agent.as_deref(), &network)
        .await?;
    Ok(Json(signed_in(user, pair)))
}

/// Trade a refresh token for a new pair. The old refresh token dies;
/// presenting it again ends the session (`refresh_token_reused`). Limited
/// per client network and per session.
#[utoipa::path(post, path = "/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses(
        (status = 200, body = TokenResponse),
        (status = 401, description = "`invalid_refresh_token`, `refresh_token_expired` or `refresh_token_reused`", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ))]
pub async fn refresh(
    State(ctx): State<Arc<ApiContext>>,
    JsonBody(body): JsonBody<RefreshRequest>,
) -> Result<Json<TokenResponse>> {
    let pair = ctx.auth.refresh(&body.refresh_token).await?;
    Ok(Json(pair.into()))
}

/// End this device's session.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn logout(State(ctx): State<Arc<ApiContext>>, user: AuthUser) -> Result<StatusCode> {
    ctx.auth
        .logout(crate::auth::tokens::AccessClaims {
            user_id: user.user_id,
            session_id: user.session_id,
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The user's signed-in devices.
#[utoipa::path(get, path = "/v1/auth/sessions", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = SessionList), (status = 401, body = ErrorBody)))]
pub async fn list_sessions(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
) -> Result<Json<SessionList>> {
    let sessions = ctx.auth.sessions(user.user_id).await?;
    Ok(Json(SessionList {
        sessions: sessions
            .into_iter()
            .map(|s| SessionResponse {
                current: s.id == user.session_id,
                id: s.id,
                created_at: s.created_at,
                last_used_at: s.last_used_at,
                user_agent: s.user_agent,
            })
            .collect(),
    }))
}

/// Sign one of the user's devices out.
#[utoipa::path(delete, path = "/v1/auth/sessions/{id}", tag = "auth", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Session id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, description = "`session_not_found`", body = ErrorBody)))]
pub async fn revoke_session(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    PathParam(id): PathParam<Uuid>,
) -> Result<StatusCode> {
    ctx.auth.revoke_session(user.user_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in user.
#[utoipa::path(get, path = "/v1/me", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = UserResponse), (status = 401, body = ErrorBody)))]
pub async fn me(State(ctx): State<Arc<ApiContext>>, user: AuthUser) -> Result<Json<UserResponse>> {
    Ok(Json(users::find(&ctx.db, user.user_id).await?.into()))
}
