//! The moderation console: server-rendered pages under `/admin/` for the
//! holders of `ADMIN_TOKEN` (README, "Moderation console"). Its handlers
//! only read forms and render pages: every decision goes through the same
//! functions as the JSON admin routes ([`crate::http::decisions`]).
//!
//! Sign-in takes the token once and sets a signed session cookie
//! ([`session`]); every form that changes something is a POST carrying the
//! session's CSRF token; every answer forbids framing, caching, referrers,
//! scripts and any origin but the console's own and the bucket's (for the
//! photos' presigned previews). Without `ADMIN_TOKEN` nothing here exists.

mod pages;
pub mod session;
mod views;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::config::Secret;
use crate::error::{Code, Error};
use crate::http::context::ApiContext;
use crate::http::error::error_response;
use session::Session;

pub fn router(ctx: Arc<ApiContext>) -> Router {
    Router::new()
        .route("/admin", get(pages::home))
        .route("/admin/", get(pages::home))
        .route("/admin/console.css", get(pages::style))
        .route("/admin/login", get(pages::login_form).post(pages::login))
        .route("/admin/logout", post(pages::logout))
        .route("/admin/reports", get(pages::reports))
        .route(
            "/admin/reports/{id}/resolution",
            post(pages::resolve_report),
        )
        .route("/admin/posts/{id}/takedown", post(pages::take_down))
        .route("/admin/posts/{id}/restore", post(pages::restore))
        .route("/admin/users", get(pages::users))
        .route("/admin/users/{handle}/suspend", post(pages::suspend))
        .route("/admin/users/{handle}/lift", post(pages::lift))
        .route("/admin/holds", get(pages::holds).post(pages::place_hold))
        .route("/admin/appeals", get(pages::appeals))
        .route("/admin/appeals/{id}/decision", post(pages::decide_appeal))
        .layer(middleware::from_fn_with_state(ctx.clone(), guard))
        .with_state(ctx)
}

/// Answers 404 for every page without `ADMIN_TOKEN`, as the admin API
/// does, and puts the console's security headers on every answer.
async fn guard(State(ctx): State<Arc<ApiContext>>, request: Request, next: Next) -> Response {
    let mut response = match ctx.admin_token {
        Some(_) => next.run(request).await,
        None => error_response(Code::NotFound),
    };
    let csp = format!(
        "default-src 'none'; img-src {}; style-src 'self'; form-action 'self'; \
         frame-ancestors 'none'; base-uri 'none'",
        ctx.storage.presign_origin()
    );
    let headers = response.headers_mut();
    let fixed = [
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CACHE_CONTROL, "no-store"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if let Ok(csp) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    response
}

/// `ADMIN_TOKEN`, or the 404 [`guard`] answers when it is unset.
fn admin_token(ctx: &ApiContext) -> Result<&Secret<String>, Box<Response>> {
    ctx.admin_token
        .as_deref()
        .ok_or_else(|| Box::new(error_response(Code::NotFound)))
}

/// A page answering an error, with its stable code.
fn error_page(code: Code, message: &str) -> Response {
    let status = StatusCode::from_u16(code.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = (
        status,
        axum::response::Html(views::error("Refused", code.as_str(), message).into_string()),
    )
        .into_response();
    response.extensions_mut().insert(code);
    response
}

/// A signed-in moderator, and whether the cookies may go without `Secure`.
pub struct SignedIn {
    pub session: Session,
    pub loopback_http: bool,
    /// The message the action before left for this page.
    pub flash: Option<(bool, String)>,
}

impl FromRequestParts<Arc<ApiContext>> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        ctx: &Arc<ApiContext>,
    ) -> Result<Self, Self::Rejection> {
        let token = admin_token(ctx).map_err(|r| *r)?;
        session::cookie(&parts.headers, session::COOKIE)
            .and_then(|value| Session::verify(token, value))
            .map(|session| SignedIn {
                session,
                loopback_http: session::on_loopback_http(parts),
                flash: session::read_flash(&parts.headers),
            })
            .ok_or_else(|| Redirect::to("/admin/login").into_response())
    }
}

#[derive(Deserialize)]
struct CsrfField {
    csrf: Option<String>,
}

/// A form POSTed by a signed-in moderator with the session's CSRF token:
/// without a session, to the sign-in page; without the right token, 403
/// `csrf_token_invalid`, whatever else the form says.
pub struct SignedForm<T> {
    pub signed_in: SignedIn,
    pub form: T,
}

impl<T: DeserializeOwned> FromRequest<Arc<ApiContext>> for SignedForm<T> {
    type Rejection = Response;

    async fn from_request(
        request: Request,
        ctx: &Arc<ApiContext>,
    ) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let signed_in = SignedIn::from_request_parts(&mut parts, ctx).await?;
        let request = Request::from_parts(parts, body);
        let bytes = Bytes::from_request(request, ctx)
            .await
            .map_err(IntoResponse::into_response)?;
        let token = admin_token(ctx).map_err(|r| *r)?;
        let csrf = serde_urlencoded::from_bytes::<CsrfField>(&bytes)
            .ok()
            .and_then(|f| f.csrf)
            .unwrap_or_default();
        if !signed_in.session.csrf_holds(token, &csrf) {
            return Err(error_page(
                Code::CsrfTokenInvalid,
                Code::CsrfTokenInvalid.message(),
            ));
        }
        let form = serde_urlencoded::from_bytes::<T>(&bytes).map_err(|e| {
            error_page(
                Code::ValidationFailed,
                &format!("the form does not fit this action: {e}"),
            )
        })?;
        Ok(SignedForm { signed_in, form })
    }
}

/// What a moderator reads of an error, on the next page.
fn flash_message(error: Error) -> String {
    match error {
        Error::Validation(fields) => fields
            .0
            .iter()
            .map(|(field, message)| format!("{field}: {message}"))
            .collect::<Vec<_>>()
            .join("; "),
        Error::Internal(e) => {
            tracing::error!(error = ?e, "console action failed");
            Code::InternalError.message().to_string()
        }
        other => other.to_string(),
    }
}
