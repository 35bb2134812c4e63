//! The console's handlers: read the form, call the decision the JSON admin
//! route calls, and answer a page, or a 303 back with a flash message.

use std::sync::Arc;

use axum::Form;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::Markup;
use serde::Deserialize;
use uuid::Uuid;

use super::session::{self, Session};
use super::views::{self, Frame, ReportCard};
use super::{SignedForm, SignedIn, admin_token, error_page, flash_message};
use crate::error::{Code, Error, Result};
use crate::http::context::ApiContext;
use crate::http::decisions;
use crate::http::extract::{client_ip, constant_time_eq};
use crate::http::pagination::ListQuery;
use crate::media::preview;
use crate::ratelimit::{Policy, ip_subject};
use crate::social::holds::{self, HoldTarget};
use crate::social::moderation::{self, Resolution, TargetType};
use crate::social::search;
use crate::trust::appeals::{self, Outcome};
use crate::trust::audit::{Actor, Reason};

pub async fn home() -> Redirect {
    Redirect::to("/admin/reports")
}

pub async fn style() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        views::STYLE,
    )
}

fn html(status: StatusCode, markup: Markup) -> Response {
    (status, Html(markup.into_string())).into_response()
}

pub async fn login_form() -> Response {
    html(StatusCode::OK, views::login(None))
}

/// Who is knocking at the sign-in: their network (for the rate limit) and
/// whether they came over plain loopback HTTP.
pub struct Visitor {
    network: String,
    loopback_http: bool,
}

impl FromRequestParts<Arc<ApiContext>> for Visitor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        ctx: &Arc<ApiContext>,
    ) -> Result<Self, Self::Rejection> {
        Ok(Visitor {
            network: ip_subject(client_ip(parts, &ctx.rate_limits.trusted_proxies)),
            loopback_http: session::on_loopback_http(parts),
        })
    }
}

#[derive(Deserialize)]
pub struct LoginForm {
    token: String,
    actor: Option<String>,
}

/// Checks the token (in constant time) and starts a session. Counted per
/// network under `RATE_LIMIT_LOGIN`'s quota, in a window of its own.
pub async fn login(
    State(ctx): State<Arc<ApiContext>>,
    visitor: Visitor,
    Form(form): Form<LoginForm>,
) -> Response {
    let expected = match admin_token(&ctx) {
        Ok(token) => token,
        Err(response) => return *response,
    };
    let policy = Policy {
        name: "console_login",
        ..ctx.rate_limits.login.clone()
    };
    let decision = ctx.limiter.check(&policy, &visitor.network).await;
    if !decision.allowed {
        let secs = decision.reset_after.as_secs().max(1);
        let message = format!("Too many sign-ins from your network: try again in {secs} s.");
        return html(StatusCode::TOO_MANY_REQUESTS, views::login(Some(&message)));
    }
    let label = form
        .actor
        .as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty());
    if let Err(e) = Actor::admin(label) {
        return html(
            StatusCode::UNPROCESSABLE_ENTITY,
            views::login(Some(&flash_message(e))),
        );
    }
    if !constant_time_eq(form.token.as_bytes(), expected.expose().as_bytes()) {
        let mut response = html(
            StatusCode::UNAUTHORIZED,
            views::login(Some("That is not the admin token.")),
        );
        response.extensions_mut().insert(Code::AdminTokenRequired);
        return response;
    }
    let cookie = session::set_cookie(
        session::COOKIE,
        &Session::issue(expected, label),
        session::LIFETIME,
        !visitor.loopback_http,
    );
    with_cookie(Redirect::to("/admin/reports").into_response(), &cookie)
}

#[derive(Deserialize)]
pub struct Nothing {}

pub async fn logout(SignedForm { signed_in, .. }: SignedForm<Nothing>) -> Response {
    let cleared = session::set_cookie(
        session::COOKIE,
        "",
        std::time::Duration::ZERO,
        !signed_in.loopback_http,
    );
    with_cookie(Redirect::to("/admin/login").into_response(), &cleared)
}

fn with_cookie(mut response: Response, cookie: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// A signed-in page: the frame around `content`, the flash message shown
/// once (its cookie cleared).
fn show(
    ctx: &ApiContext,
    signed_in: &SignedIn,
    content: impl FnOnce(&Frame) -> Markup,
) -> Response {
    let Ok(token) = admin_token(ctx) else {
        return error_page(Code::NotFound, Code::NotFound.message());
    };
    let csrf = signed_in.session.csrf_token(token);
    let frame = Frame {
        actor: signed_in.session.actor.as_str(),
        csrf: &csrf,
        flash: signed_in.flash.clone(),
    };
    let response = html(StatusCode::OK, content(&frame));
    if frame.flash.is_none() {
        return response;
    }
    let cleared = session::set_cookie(
        session::FLASH_COOKIE,
        "",
        std::time::Duration::ZERO,
        !signed_in.loopback_http,
    );
    with_cookie(response, &cleared)
}

/// A page that could not be read.
fn failed(error: Error) -> Response {
    let code = error.code();
    error_page(code, &flash_message(error))
}

/// After an action: 303 to `back`, with what happened.
fn done(signed_in: &SignedIn, outcome: Result<String>, back: &str) -> Response {
    let flash = match outcome {
        Ok(message) => session::set_flash(true, &message, !signed_in.loopback_http),
        Err(e) => session::set_flash(false, &flash_message(e), !signed_in.loopback_http),
    };
    with_cookie(Redirect::to(back).into_response(), &flash)
}

pub async fn reports(
    State(ctx): State<Arc<ApiContext>>,
    signed_in: SignedIn,
    Query(query): Query<ListQuery>,
) -> Response {
    match report_cards(&ctx, &query).await {
        Ok((cards, next)) => show(&ctx, &signed_in, |frame| {
            views::reports(frame, &cards, next.as_deref())
        }),
        Err(e) => failed(e),
    }
}

async fn report_cards(
    ctx: &ApiContext,
    query: &ListQuery,
) -> Result<(Vec<ReportCard>, Option<String>)> {
    let page = moderation::reports(&ctx.social, &query.page()?).await?;
    let mut cards = Vec::with_capacity(page.items.len());
    for report in page.items {
        let photos = match report.target_type {
            TargetType::Post => preview::of_post(&ctx.db, &ctx.storage, report.target_id).await?,
            _ => Vec::new(),
        };
        let target =
            moderation::target_summary(&ctx.social, report.target_type, report.target_id).await?;
        cards.push(ReportCard {
            report,
            target,
            photos,
        });
    }
    Ok((cards, page.next_cursor))
}

#[derive(Deserialize)]
pub struct ReasonForm {
    reason: String,
}

#[derive(Deserialize)]
pub struct ResolveForm {
    resolution: Resolution,
    reason: String,
}

pub async fn resolve_report(
    State(ctx): State<Arc<ApiContext>>,
    Path(id): Path<Uuid>,
    SignedForm { signed_in, form }: SignedForm<ResolveForm>,
) -> Response {
    let outcome = async {
        let reason = Reason::parse(&form.reason)?;
        let actor = &signed_in.session.actor;
        let strike = decisions::resolve_report(&ctx, actor, &reason, id, form.resolution).await?;
        Ok(match (form.resolution, strike) {
            (Resolution::Dismissed, _) => "Report dismissed.".to_string(),
            (Resolution::Upheld, Some(_)) => "Report upheld: a strike was given.".to_string(),
            (Resolution::Upheld, None) => {
                "Report upheld (no new strike: struck already, or the target is gone).".to_string()
            }
        })
    }
    .await;
    done(&signed_in, outcome, "/admin/reports")
}

pub async fn take_down(
    State(ctx): State<Arc<ApiContext>>,
    Path(id): Path<Uuid>,
    SignedForm { signed_in, form }: SignedForm<ReasonForm>,
) -> Response {
    let outcome = async {
        let reason = Reason::parse(&form.reason)?;
        decisions::take_down_post(&ctx, &signed_in.session.actor, &reason, id).await?;
        Ok(format!("Post {id} taken down."))
    }
    .await;
    done(&signed_in, outcome, "/admin/reports")
}

pub async fn restore(
    State(ctx): State<Arc<ApiContext>>,
    Path(id): Path<Uuid>,
    SignedForm { signed_in, form }: SignedForm<ReasonForm>,
) -> Response {
    let outcome = async {
        let reason = Reason::parse(&form.reason)?;
        decisions::restore_post(&ctx, &signed_in.session.actor, &reason, id).await?;
        Ok(format!("Post {id} restored."))
    }
    .await;
    done(&signed_in, outcome, "/admin/reports")
}

#[derive(Deserialize)]
pub struct SearchQuery {
    q: Option<String>,
}

pub async fn users(
    State(ctx): State<Arc<ApiContext>>,
    signed_in: SignedIn,
    Query(query): Query<SearchQuery>,
) -> Response {
    let typed = query.q.unwrap_or_default();
    if typed.trim().is_empty() {
        return show(&ctx, &signed_in, |frame| views::users(frame, "", &[]));
    }
    let found = match search::Query::parse(&typed) {
        Ok(parsed) => ctx.trust.find_by_handle(&parsed).await,
        Err(e) => Err(e),
    };
    match found {
        Ok(found) => show(&ctx, &signed_in, |frame| {
            views::users(frame, &typed, &found)
        }),
        Err(e) => failed(e),
    }
}

/// Back to the search that shows `handle`, when it can be a handle.
fn back_to_user(handle: &str) -> String {
    if handle
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        format!("/admin/users?q={handle}")
    } else {
        "/admin/users".into()
    }
}

pub async fn suspend(
    State(ctx): State<Arc<ApiContext>>,
    Path(handle): Path<String>,
    SignedForm { signed_in, form }: SignedForm<ReasonForm>,
) -> Response {
    let outcome = async {
        let reason = Reason::parse(&form.reason)?;
        decisions::suspend_user(&ctx, &signed_in.session.actor, &reason, &handle).await?;
        Ok(format!("@{handle} suspended."))
    }
    .await;
    done(&signed_in, outcome, &back_to_user(&handle))
}

pub async fn lift(
    State(ctx): State<Arc<ApiContext>>,
    Path(handle): Path<String>,
    SignedForm { signed_in, form }: SignedForm<ReasonForm>,
) -> Response {
    let outcome = async {
        let reason = Reason::parse(&form.reason)?;
        let lifted =
            decisions::lift_suspension(&ctx, &signed_in.session.actor, &reason, &handle).await?;
        Ok(if lifted {
            format!("@{handle}'s suspension lifted.")
        } else {
            format!("@{handle} was not suspended.")
        })
    }
    .await;
    done(&signed_in, outcome, &back_to_user(&handle))
}

pub async fn holds(
    State(ctx): State<Arc<ApiContext>>,
    signed_in: SignedIn,
    Query(query): Query<ListQuery>,
) -> Response {
    let page = match query.page() {
        Ok(page) => holds::list(&ctx.db, &page).await,
        Err(e) => Err(e),
    };
    match page {
        Ok(page) => show(&ctx, &signed_in, |frame| {
            views::holds(frame, &page.items, page.next_cursor.as_deref())
        }),
        Err(e) => failed(e),
    }
}

#[derive(Deserialize)]
pub struct HoldForm {
    target_type: HoldTarget,
    target_id: String,
    reason: String,
    days: Option<String>,
}

pub async fn place_hold(
    State(ctx): State<Arc<ApiContext>>,
    SignedForm { signed_in, form }: SignedForm<HoldForm>,
) -> Response {
    let outcome = async {
        let target_id: Uuid = form
            .target_id
            .trim()
            .parse()
            .map_err(|_| Error::invalid_field("target_id", "must be an id (a UUID)"))?;
        let days = match form.days.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(days) => Some(
                days.parse::<f64>()
                    .map_err(|_| Error::invalid_field("days", "must be a number of days"))?,
            ),
        };
        let actor = &signed_in.session.actor;
        let hold =
            decisions::place_hold(&ctx, actor, form.target_type, target_id, &form.reason, days)
                .await?;
        Ok(format!(
            "Legal hold placed on {} {target_id}.",
            hold.target_type
        ))
    }
    .await;
    done(&signed_in, outcome, "/admin/holds")
}

pub async fn appeals(
    State(ctx): State<Arc<ApiContext>>,
    signed_in: SignedIn,
    Query(query): Query<ListQuery>,
) -> Response {
    let page = match query.page() {
        Ok(page) => appeals::open_appeals(&ctx.db, &page).await,
        Err(e) => Err(e),
    };
    match page {
        Ok(page) => show(&ctx, &signed_in, |frame| {
            views::appeals(frame, &page.items, page.next_cursor.as_deref())
        }),
        Err(e) => failed(e),
    }
}

#[derive(Deserialize)]
pub struct AppealForm {
    outcome: Outcome,
    reason: String,
}

pub async fn decide_appeal(
    State(ctx): State<Arc<ApiContext>>,
    Path(id): Path<Uuid>,
    SignedForm { signed_in, form }: SignedForm<AppealForm>,
) -> Response {
    let outcome = async {
        let reason = Reason::parse(&form.reason)?;
        let actor = &signed_in.session.actor;
        decisions::decide_appeal(&ctx, actor, &reason, id, form.outcome).await?;
        Ok(match form.outcome {
            Outcome::Upheld => "Appeal answered: the decision stands.".to_string(),
            Outcome::Reversed => "Appeal answered: the decision is reversed.".to_string(),
        })
    }
    .await;
    done(&signed_in, outcome, "/admin/appeals")
}
