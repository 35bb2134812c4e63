//! Rate-limit middleware: per client network on sign-up, sign-in and
//! refresh, per user on writes. Answers carry the IETF `RateLimit-Policy`
//! and `RateLimit` headers. A client network is its IPv4 address, or its
//! IPv6 /64 (IPv4-mapped IPv6 counts as the IPv4 address).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::Error;
use crate::http::context::ApiContext;
use crate::http::error::policy_headers;
use crate::http::extract::{bearer_token, client_ip};
use crate::ratelimit::{Decision, Policy, ip_subject};

#[derive(Debug, Clone, Copy)]
pub enum Limit {
    Register,
    Login,
    Refresh,
    /// `POST /v1/auth/password/forgot`.
    Forgot,
    /// The routes that take a mailed token (verify, reset).
    AccountToken,
    /// `POST /v1/mail/sns`: each message may make the API fetch a certificate.
    MailEvents,
    /// `GET /v1/invites/{code}`: a guesser's oracle, were it unlimited.
    InvitePreview,
    /// `POST /v1/notices`: signed out, and it sends a mail.
    Notices,
}

/// The client network a request was counted under, for handlers that
/// limit further (sign-in per account, refresh per session).
#[derive(Debug, Clone)]
pub struct ClientNetwork(pub String);

async fn enforce(policy: &Policy, decision: Decision, request: Request, next: Next) -> Response {
    if !decision.allowed {
        return Error::RateLimited {
            policy: policy.clone(),
            retry_after: decision.reset_after,
        }
        .into_response();
    }
    let mut response = next.run(request).await;
    let reset_secs = decision.reset_after.as_secs_f64().ceil() as u64;
    for (name, value) in policy_headers(policy, decision.remaining, reset_secs) {
        response.headers_mut().insert(name, value);
    }
    response
}

pub async fn by_ip(
    State((ctx, limit)): State<(Arc<ApiContext>, Limit)>,
    request: Request,
    next: Next,
) -> Response {
    let limits = &ctx.rate_limits;
    let policy = match limit {
        Limit::Register => &limits.register,
        Limit::Login => &limits.login,
        Limit::Refresh => &limits.refresh,
        Limit::Forgot => &limits.forgot,
        Limit::AccountToken => &limits.account_token,
        Limit::MailEvents => &limits.mail_events,
        Limit::InvitePreview => &limits.invite_preview,
        Limit::Notices => &limits.notices,
    };
    let (mut parts, body) = request.into_parts();
    let network = ip_subject(client_ip(&parts, &limits.trusted_proxies));
    parts.extensions.insert(ClientNetwork(network.clone()));
    let request = Request::from_parts(parts, body);
    let decision = ctx.limiter.check(policy, &network).await;
    enforce(policy, decision, request, next).await
}

/// Limits writes per user. Requests without a well-sealed token pass
/// through: the handler rejects them anyway.
pub async fn writes_by_user(
    State(ctx): State<Arc<ApiContext>>,
    request: Request,
    next: Next,
) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let user = bearer_token(&parts)
        .ok()
        .flatten()
        .and_then(|t| ctx.auth.peek_user(t));
    let request = Request::from_parts(parts, body);
    let Some(user_id) = user else {
        return next.run(request).await;
    };
    let policy = &ctx.rate_limits.writes;
    let decision = ctx.limiter.check(policy, &user_id.to_string()).await;
    enforce(policy, decision, request, next).await
}
