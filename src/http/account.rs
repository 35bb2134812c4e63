//! Account recovery by email: `/v1/auth/email/*`, `/v1/auth/password/*`,
//! `/v1/me/password` and `/v1/me/email`. Mails are never sent here: each
//! route writes to the outbox and queues a `send_mail` job.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::recovery;
use crate::error::{Code, Error, Result};
use crate::http::context::ApiContext;
use crate::http::error::ErrorBody;
use crate::http::extract::{AuthUser, JsonBody};
use crate::mail::{self};
use crate::users::Email;

#[derive(Deserialize, ToSchema)]
pub struct TokenRequest {
    /// The `token` query parameter of the mailed link: 43 characters of
    /// base64url (`A-Z a-z 0-9 - _`).
    #[schema(
        example = "q3Yc1rW0m8tZpX2d7bEw9n4kLhS6aVfJ5uGiR0oTy1M",
        min_length = 1,
        max_length = 256
    )]
    token: String,
}

#[derive(Deserialize, ToSchema)]
pub struct ForgotRequest {
    /// The account's email address, 3 to 254 characters (`local@domain.tld`).
    #[schema(
        example = "ana@example.org",
        format = "email",
        min_length = 3,
        max_length = 254
    )]
    email: String,
}

#[derive(Deserialize, ToSchema)]
pub struct ResetRequest {
    /// The `token` query parameter of the reset link: 43 characters of base64url.
    #[schema(
        example = "q3Yc1rW0m8tZpX2d7bEw9n4kLhS6aVfJ5uGiR0oTy1M",
        min_length = 1,
        max_length = 256
    )]
    token: String,
    /// 10 to 128 characters.
    #[schema(
        example = "a new long passphrase",
        min_length = 10,
        max_length = 128,
        format = "password"
    )]
    new_password: String,
}

#[derive(Deserialize, ToSchema)]
pub struct ChangePasswordRequest {
    /// The password in use now.
    #[schema(
        example = "correct horse battery",
        format = "password",
        max_length = 1024
    )]
    current_password: String,
    /// 10 to 128 characters.
    #[schema(
        example = "a new long passphrase",
        min_length = 10,
        max_length = 128,
        format = "password"
    )]
    new_password: String,
}

#[derive(Deserialize, ToSchema)]
pub struct ChangeEmailRequest {
    /// The password in use now.
    #[schema(
        example = "correct horse battery",
        format = "password",
        max_length = 1024
    )]
    current_password: String,
    /// The new address, 3 to 254 characters (`local@domain.tld`).
    #[schema(
        example = "ana.lima@example.net",
        format = "email",
        min_length = 3,
        max_length = 254
    )]
    new_email: String,
}

/// The answer of the routes that queue a mail.
#[derive(Serialize, ToSchema)]
pub struct Accepted {
    /// Always `accepted`.
    #[schema(example = "accepted")]
    status: &'static str,
    /// What happens next, for people.
    message: &'static str,
}

fn accepted(message: &'static str) -> (StatusCode, Json<Accepted>) {
    (
        StatusCode::ACCEPTED,
        Json(Accepted {
            status: "accepted",
            message,
        }),
    )
}

/// The longest a token is read: anything longer is not one of ours.
const TOKEN_MAX_CHARS: usize = 256;

fn token_of(raw: &str) -> Result<&str> {
    let token = raw.trim();
    if token.is_empty() || token.len() > TOKEN_MAX_CHARS {
        return Err(recovery::invalid_token());
    }
    Ok(token)
}

/// Confirm an email address with the token of a mailed link: the
/// verification sent at sign-up (or resent), or the link sent to a new
/// address by `POST /v1/me/email`, which then becomes the account's.
/// Needs no sign-in (the link may be opened on another device). Limited
/// per client network.
#[utoipa::path(post, path = "/v1/auth/email/verify", tag = "auth", request_body = TokenRequest,
    responses(
        (status = 204, description = "The address is verified (and, for an email change, now the account's)"),
        (status = 400, description = "`invalid_or_expired_token` (unknown, used, expired, or replaced by a newer link) or `invalid_json`", body = ErrorBody),
        (status = 409, description = "`email_taken`: another account verified the address first", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: JSON bodies are at most 64 KiB", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 422, description = "`validation_failed`: `token` is missing or not a string", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ))]
pub async fn verify_email(
    State(ctx): State<Arc<ApiContext>>,
    JsonBody(body): JsonBody<TokenRequest>,
) -> Result<StatusCode> {
    ctx.auth.verify_email(token_of(&body.token)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Mail the verification link again. Limited per user
/// (`RATE_LIMIT_ACCOUNT_MAIL`, shared with `POST /v1/me/email`).
#[utoipa::path(post, path = "/v1/auth/email/resend", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 202, description = "A new link is on its way; earlier links keep working until they expire", body = Accepted),
        (status = 401, description = "`missing_token`, `invalid_token`, `token_expired` or `session_revoked`", body = ErrorBody),
        (status = 404, description = "`user_not_found`: the account was deleted", body = ErrorBody),
        (status = 409, description = "`email_already_verified`", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ))]
pub async fn resend_verification(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
) -> Result<(StatusCode, Json<Accepted>)> {
    ctx.auth.request_verification(user.user_id).await?;
    Ok(accepted("a new verification link is on its way"))
}

const FORGOT_MESSAGE: &str =
    "if a verified account uses this address, a link to reset its password is on its way";

/// Ask for a password reset link. The answer is the same, and takes the
/// same time, whether an account uses the address or not: the lookup and
/// the mail happen after the answer. Only verified addresses get a link
/// (it works once, for 30 minutes). Limited per client network
/// (`RATE_LIMIT_FORGOT`) and per address (`RATE_LIMIT_FORGOT_ADDRESS`).
#[utoipa::path(post, path = "/v1/auth/password/forgot", tag = "auth", request_body = ForgotRequest,
    responses(
        (status = 202, description = "Always the same body, account or not", body = Accepted),
        (status = 400, description = "`invalid_json`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: JSON bodies are at most 64 KiB", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 422, description = "`validation_failed`: `email` is not an email address", body = ErrorBody),
        (status = 429, description = "`rate_limited`: per client network or per address", body = ErrorBody),
    ))]
pub async fn forgot_password(
    State(ctx): State<Arc<ApiContext>>,
    JsonBody(body): JsonBody<ForgotRequest>,
) -> Result<(StatusCode, Json<Accepted>)> {
    let email = Email::parse(&body.email).map_err(|e| Error::invalid_field("email", e))?;
    ctx.auth.forgot_password(email).await?;
    Ok(accepted(FORGOT_MESSAGE))
}

/// Set a new password with the token of a reset link. Every session of
/// the account ends (sign in again), and a notice is mailed. Limited per
/// client network.
#[utoipa::path(post, path = "/v1/auth/password/reset", tag = "auth", request_body = ResetRequest,
    responses(
        (status = 204, description = "The password is changed; every session has ended"),
        (status = 400, description = "`invalid_or_expired_token` (unknown, used or expired) or `invalid_json`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: JSON bodies are at most 64 KiB", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 422, description = "`validation_failed`: `new_password` is not 10 to 128 characters, or a field is missing", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ))]
pub async fn reset_password(
    State(ctx): State<Arc<ApiContext>>,
    JsonBody(body): JsonBody<ResetRequest>,
) -> Result<StatusCode> {
    let token = token_of(&body.token)?;
    ctx.auth.reset_password(token, &body.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Change the password. Every other session ends (this one goes on), reset
/// links already mailed stop working, and a notice is mailed.
#[utoipa::path(post, path = "/v1/me/password", tag = "users", security(("bearer" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Changed; every other session has ended"),
        (status = 400, description = "`invalid_json`", body = ErrorBody),
        (status = 401, description = "`missing_token`, `invalid_token`, `token_expired` or `session_revoked`", body = ErrorBody),
        (status = 403, description = "`wrong_password`: `current_password` is not right", body = ErrorBody),
        (status = 404, description = "`user_not_found`: the account was deleted", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: JSON bodies are at most 64 KiB", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 422, description = "`validation_failed`: `new_password` is not 10 to 128 characters, or a field is missing", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ))]
pub async fn change_password(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    JsonBody(body): JsonBody<ChangePasswordRequest>,
) -> Result<StatusCode> {
    ctx.auth
        .change_password(
            user.user_id,
            user.session_id,
            &body.current_password,
            &body.new_password,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ask to change the email address. A link goes to the new address, and a
/// notice to the current one; the account keeps its current address until
/// the link is followed (`POST /v1/auth/email/verify`). Limited per user
/// (`RATE_LIMIT_ACCOUNT_MAIL`, shared with the resend route).
#[utoipa::path(post, path = "/v1/me/email", tag = "users", security(("bearer" = [])),
    request_body = ChangeEmailRequest,
    responses(
        (status = 202, description = "The link is on its way to the new address", body = Accepted),
        (status = 400, description = "`invalid_json`", body = ErrorBody),
        (status = 401, description = "`missing_token`, `invalid_token`, `token_expired` or `session_revoked`", body = ErrorBody),
        (status = 403, description = "`wrong_password`: `current_password` is not right", body = ErrorBody),
        (status = 404, description = "`user_not_found`: the account was deleted", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: JSON bodies are at most 64 KiB", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 422, description = "`validation_failed` (`new_email` is not an address, or a field is missing) or `email_unchanged`", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ))]
pub async fn change_email(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    JsonBody(body): JsonBody<ChangeEmailRequest>,
) -> Result<(StatusCode, Json<Accepted>)> {
    ctx.auth
        .change_email(
            user.user_id,
            user.session_id,
            &body.current_password,
            &body.new_email,
        )
        .await?;
    Ok(accepted(
        "a confirmation link is on its way to the new address; the current address stays until it is followed",
    ))
}

/// Transactional Email's bounce and complaint events, as Topics and
/// Events (SNS) POSTs them to its HTTPS subscription. Each message must
/// come from `SNS_TOPIC_ARN` and carry a valid SNS signature whose
/// certificate (`SigningCertURL`) chains to `SNS_TRUST_CHAIN` (Scaleway's
/// CA); anything else is ignored (still 204, so nothing is retried). A
/// verified `SubscriptionConfirmation` is confirmed; a verified
/// `Notification` of a bounce (`email_mailbox_not_found`,
/// `email_blocklisted`) or complaint (`email_spam`) makes its `email_to`
/// undeliverable: no account mail goes to it again. Without
/// `SNS_TOPIC_ARN`, 404.
#[utoipa::path(post, path = "/v1/mail/sns", tag = "auth",
    request_body(content = String, content_type = "text/plain",
        description = "An SNS message: JSON with Type, MessageId, TopicArn, Message, Timestamp, SignatureVersion (1 or 2), Signature, SigningCertURL, and SubscribeURL + Token for confirmations"),
    responses(
        (status = 204, description = "Handled, or ignored because it did not verify"),
        (status = 400, description = "`invalid_json`: the body is not an SNS message", body = ErrorBody),
        (status = 404, description = "`not_found`: no SNS_TOPIC_ARN is configured", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: bodies are at most 64 KiB", body = ErrorBody),
    ))]
pub async fn mail_events(
    State(ctx): State<Arc<ApiContext>>,
    body: axum::body::Bytes,
) -> Result<StatusCode> {
    let Some(sns) = &ctx.sns else {
        return Err(Error::from(Code::NotFound));
    };
    let message: mail::bounces::SnsMessage = serde_json::from_slice(&body)
        .map_err(|_| Code::InvalidJson.with_message("the body is not an SNS message"))?;
    // Only a message of our topic is worth a line, and its URL is cut short.
    let cert_url = message.signing_cert_url_for_log();
    match sns.verify(&message).await {
        Err(reason) if sns.is_our_topic(&message) => {
            tracing::warn!(%reason, cert_url, "SNS message ignored: it does not verify");
        }
        Err(_) => {}
        Ok(mail::bounces::Verified::Subscribe(url)) => match sns.confirm(&url).await {
            Ok(()) => tracing::info!(cert_url, "SNS subscription confirmed"),
            Err(reason) => tracing::warn!(%reason, cert_url, "SNS subscription not confirmed"),
        },
        Ok(mail::bounces::Verified::Event(event)) => {
            if let Some(reason) = mail::bounces::record_event(&ctx.db, &event).await? {
                tracing::info!(reason, "address marked undeliverable");
            }
        }
        Ok(mail::bounces::Verified::Other) => {}
    }
    Ok(StatusCode::NO_CONTENT)
}
