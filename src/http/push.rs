//! `/v1/me/devices/{installation_id}`, `/v1/me/notification-settings` and
//! `/v1/notifications/unread-count`: what an app needs for push.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::Result;
use crate::http::context::ApiContext;
use crate::http::error::ErrorBody;
use crate::http::extract::{AuthUser, JsonBody, PathParam};
use crate::push::devices::{self, Device, Registration};
use crate::push::settings::{self, PushSettings, PushSettingsChange};

/// Register this installation for push, or update it (a rotated token
/// replaces the old one). The device belongs to the session: signing out,
/// revoking the session, a password reset and deleting the account remove it.
#[utoipa::path(put, path = "/v1/me/devices/{installation_id}", tag = "push", security(("bearer" = [])),
    params(("installation_id" = String, Path, description = "The app's id of this installation", pattern = r"^[A-Za-z0-9._-]{1,128}$")),
    request_body = Registration,
    responses(
        (status = 200, body = Device),
        (status = 401, body = ErrorBody),
        (status = 413, description = "`payload_too_large`: JSON bodies are at most 64 KiB", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 400, description = "`invalid_json`, or `invalid_device_token`: the token is not one of the provider named, or `sandbox` with FCM", body = ErrorBody),
        (status = 422, description = "`validation_failed` (installation_id, app_version, locale)", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ))]
pub async fn register_device(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    PathParam(installation_id): PathParam<String>,
    JsonBody(body): JsonBody<Registration>,
) -> Result<Json<Device>> {
    let device = devices::register(
        &ctx.db,
        user.user_id,
        user.session_id,
        &installation_id,
        &body,
    )
    .await?;
    Ok(Json(device))
}

/// Stop pushing to this installation. Unknown installations are fine.
#[utoipa::path(delete, path = "/v1/me/devices/{installation_id}", tag = "push", security(("bearer" = [])),
    params(("installation_id" = String, Path, description = "The app's id of this installation")),
    responses(
        (status = 204),
        (status = 401, body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ))]
pub async fn unregister_device(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    PathParam(installation_id): PathParam<String>,
) -> Result<StatusCode> {
    devices::unregister(&ctx.db, user.user_id, &installation_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct NotificationSettings {
    push: PushSettings,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationSettingsChange {
    /// Only the kinds given change.
    push: Option<PushSettingsChange>,
}

/// Your push settings: per kind, `everyone`, `following` (only people you
/// follow) or `off`.
#[utoipa::path(get, path = "/v1/me/notification-settings", tag = "push", security(("bearer" = [])),
    responses(
        (status = 200, body = NotificationSettings),
        (status = 401, body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ))]
pub async fn get_settings(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
) -> Result<Json<NotificationSettings>> {
    let push = settings::get(&ctx.db, user.user_id).await?;
    Ok(Json(NotificationSettings { push }))
}

/// Change push settings.
#[utoipa::path(patch, path = "/v1/me/notification-settings", tag = "push", security(("bearer" = [])),
    request_body = NotificationSettingsChange,
    responses(
        (status = 200, body = NotificationSettings),
        (status = 400, description = "`invalid_json`", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 413, description = "`payload_too_large`: JSON bodies are at most 64 KiB", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 422, description = "`validation_failed`", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ))]
pub async fn update_settings(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    JsonBody(body): JsonBody<NotificationSettingsChange>,
) -> Result<Json<NotificationSettings>> {
    let change = body.push.unwrap_or_default();
    let push = settings::update(&ctx.db, user.user_id, &change).await?;
    Ok(Json(NotificationSettings { push }))
}

#[derive(Serialize, ToSchema)]
pub struct UnreadCount {
    /// Unread notifications, as the list shows them: the app's badge.
    count: i64,
}

/// How many notifications you have not read (the badge).
#[utoipa::path(get, path = "/v1/notifications/unread-count", tag = "notifications", security(("bearer" = [])),
    responses(
        (status = 200, body = UnreadCount),
        (status = 401, body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ))]
pub async fn unread_count(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
) -> Result<Json<UnreadCount>> {
    let count = crate::push::unread_count(&ctx.db, user.user_id).await?;
    Ok(Json(UnreadCount { count }))
}
