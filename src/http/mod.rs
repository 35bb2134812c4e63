//! The HTTP edge: routers, middleware, and one file per resource.

pub mod account;
pub mod appeals;
pub mod auth;
pub mod console;
pub mod context;
pub mod decisions;
pub mod error;
pub mod export;
pub mod extract;
pub mod filters;
pub mod hashmatch;
pub mod hashtags;
pub mod invites;
pub mod media;
pub mod moderation;
pub mod notifications;
pub mod openapi;
pub mod ops;
pub mod pagination;
pub mod posts;
pub mod push;
pub mod rate_limit;
pub mod serve;
pub mod stories;
pub mod trigger;
pub mod trust;
pub mod users;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa::OpenApi as _;
use utoipa::openapi::Ref;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::SwaggerUi;

use crate::error::Code;
pub use crate::http::context::ApiContext;
use crate::http::error::error_response;
use crate::http::ops::OpsContext;
use crate::http::rate_limit::Limit;

const JSON_BODY_LIMIT: usize = 64 * 1024;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The API router with its OpenAPI document.
pub fn api_router(ctx: Arc<ApiContext>, ops: OpsContext) -> Router {
    let guards = openapi::Guards {
        admin: ctx.admin_token.is_some(),
        metrics: ops.metrics_token.is_some(),
    };
    let console = console::router(ctx.clone());
    let (router, openapi) = api_routes(ctx, ops).split_for_parts();
    let openapi = openapi::contract(openapi, guards);
    let documented = Arc::new(openapi::codes_by_operation(&openapi));
    let router = router.route_layer(middleware::from_fn_with_state(
        documented,
        answer_documented_codes,
    ));
    with_common_layers(with_request_timeout(
        router
            .merge(SwaggerUi::new("/docs").url("/openapi.json", openapi))
            .merge(console),
    ))
}

/// The codes each operation may answer, as `/openapi.json` lists them.
type Documented = Arc<HashMap<(String, String), Vec<Code>>>;

/// Holds every error answer to the document: a code the operation does not
/// list is a broken promise to generated clients. Logged and counted in
/// production; in debug builds (the tests, the fuzz run) it panics, which
/// answers 500 and fails whatever test met it.
async fn answer_documented_codes(
    State(documented): State<Documented>,
    request: Request,
    next: Next,
) -> Response {
    // Cheap clones (an Arc'd path); the key is built only for an error.
    let route = request.extensions().get::<MatchedPath>().cloned();
    let method = request.method().clone();
    let response = next.run(request).await;
    let (Some(code), Some(route)) = (response.extensions().get::<Code>(), route) else {
        return response;
    };
    let operation = (method.as_str().to_string(), route.as_str().to_string());
    if let Some(codes) = documented.get(&operation)
        && !codes.contains(code)
    {
        metrics::counter!("http_undocumented_error_codes_total").increment(1);
        tracing::error!(method = %operation.0, route = %operation.1, %code, "answered a code the OpenAPI document does not list");
        debug_assert!(
            false,
            "{} {} answered `{code}`, which its OpenAPI operation does not list",
            operation.0, operation.1
        );
    }
    response
}

/// The 30 s limit of ordinary requests. Not for the serverless trigger's
/// routes: a media job has its own time limit, and a request dropped by a
/// timeout would only make the trigger send the job again.
pub fn with_request_timeout(router: Router) -> Router {
    router
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(middleware::map_response(timeout_in_the_error_format))
}

/// The timeout layer answers a bare 408; clients get the error body.
async fn timeout_in_the_error_format(response: Response) -> Response {
    if response.status() == StatusCode::REQUEST_TIMEOUT
        && response.extensions().get::<Code>().is_none()
    {
        return error_response(Code::RequestTimeout);
    }
    response
}

/// The OpenAPI document, for `ciel openapi` and tests.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let mut router = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi());
    for (group, guard) in route_groups() {
        router = router.merge(guard.document(group));
    }
    let mut document = router.into_openapi();
    document.merge(ops_routes_stateless().into_openapi());
    openapi::contract(
        document,
        openapi::Guards {
            admin: true,
            metrics: true,
        },
    )
}

/// What stands in front of a group of routes. The router and the OpenAPI
/// document are both built from [`route_groups`], so the 429 answers the
/// document lists are exactly the limits the router applies.
#[derive(Debug, Clone, Copy)]
enum Guard {
    /// A limit per client network.
    PerNetwork(Limit),
    /// `RATE_LIMIT_WRITES` per signed-in user, on every method but reads.
    WritesPerUser,
    Admin,
}

fn route_groups() -> [(OpenApiRouter<Arc<ApiContext>>, Guard); 11] {
    [
        (register_routes(), Guard::PerNetwork(Limit::Register)),
        (login_routes(), Guard::PerNetwork(Limit::Login)),
        (refresh_routes(), Guard::PerNetwork(Limit::Refresh)),
        (forgot_routes(), Guard::PerNetwork(Limit::Forgot)),
        (
            account_token_routes(),
            Guard::PerNetwork(Limit::AccountToken),
        ),
        (signed_in_routes(), Guard::WritesPerUser),
        (account_mail_routes(), Guard::WritesPerUser),
        (mail_event_routes(), Guard::PerNetwork(Limit::MailEvents)),
        (
            invite_preview_routes(),
            Guard::PerNetwork(Limit::InvitePreview),
        ),
        (notice_routes(), Guard::PerNetwork(Limit::Notices)),
        (admin_routes(), Guard::Admin),
    ]
}

impl Guard {
    fn apply(
        self,
        routes: OpenApiRouter<Arc<ApiContext>>,
        ctx: &Arc<ApiContext>,
    ) -> OpenApiRouter<Arc<ApiContext>> {
        match self {
            Guard::PerNetwork(limit) => routes.layer(middleware::from_fn_with_state(
                (ctx.clone(), limit),
                rate_limit::by_ip,
            )),
            Guard::WritesPerUser => routes.layer(middleware::from_fn_with_state(
                ctx.clone(),
                rate_limit::writes_by_user,
            )),
            Guard::Admin => routes.layer(middleware::from_fn_with_state(
                ctx.clone(),
                moderation::require_admin,
            )),
        }
    }

    /// Says which operations this guard may answer 429 for (the contract
    /// defines the shared answer; an operation's own 429 is kept).
    fn document(
        self,
        mut routes: OpenApiRouter<Arc<ApiContext>>,
    ) -> OpenApiRouter<Arc<ApiContext>> {
        let counts_reads = match self {
            Guard::PerNetwork(_) => true,
            Guard::WritesPerUser => false,
            Guard::Admin => return routes,
        };
        for item in routes.get_openapi_mut().paths.paths.values_mut() {
            let reads = [&mut item.get, &mut item.head, &mut item.options];
            let writes = [
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ];
            let operations = writes
                .into_iter()
                .chain(reads.into_iter().filter(|_| counts_reads));
            for operation in operations.flatten() {
                operation
                    .responses
                    .responses
                    .entry("429".into())
                    .or_insert_with(|| Ref::new("#/components/responses/TooManyRequests").into());
            }
        }
        routes
    }
}

fn register_routes() -> OpenApiRouter<Arc<ApiContext>> {
    OpenApiRouter::new().routes(routes!(auth::register))
}

fn login_routes() -> OpenApiRouter<Arc<ApiContext>> {
    OpenApiRouter::new().routes(routes!(auth::login))
}

fn refresh_routes() -> OpenApiRouter<Arc<ApiContext>> {
    OpenApiRouter::new().routes(routes!(auth::refresh))
}

fn forgot_routes() -> OpenApiRouter<Arc<ApiContext>> {
    OpenApiRouter::new().routes(routes!(account::forgot_password))
}

/// The routes that take a mailed token.
fn account_token_routes() -> OpenApiRouter<Arc<ApiContext>> {
    OpenApiRouter::new()
        .routes(routes!(account::verify_email))
        .routes(routes!(account::reset_password))
        .routes(routes!(appeals::decision_by_token))
        .routes(routes!(appeals::appeal_by_token))
}

/// Signed-in routes about the account's mail and credentials.
fn account_mail_routes() -> OpenApiRouter<Arc<ApiContext>> {
    OpenApiRouter::new()
        .routes(routes!(account::resend_verification))
        .routes(routes!(account::change_password))
        .routes(routes!(account::change_email))
}

/// Transactional Email's bounces, through Topics and Events.
fn mail_event_routes() -> OpenApiRouter<Arc<ApiContext>> {
    OpenApiRouter::new().routes(routes!(account::mail_events))
}

/// Notices about content from anyone, signed out.
fn notice_routes() -> OpenApiRouter<Arc<ApiContext>> {
    OpenApiRouter::new().routes(routes!(moderation::file_notice))
}

fn invite_preview_routes() -> OpenApiRouter<Arc<ApiContext>> {
    OpenApiRouter::new().routes(routes!(invites::preview_invite))
}

fn signed_in_routes() -> OpenApiRouter<Arc<ApiContext>> {
    OpenApiRouter::new()
        .routes(routes!(auth::logout))
        .routes(routes!(auth::list_sessions))
        .routes(routes!(auth::revoke_session))
        .routes(routes!(auth::me, users::update_me, users::delete_me))
        .routes(routes!(export::request_export, export::get_export))
        .routes(routes!(media::create_upload))
        .routes(routes!(media::complete_upload))
        .routes(routes!(
            media::get_media,
            media::update_media,
            media::delete_media
        ))
        .routes(routes!(users::get_user))
        .routes(routes!(users::follow, users::unfollow))
        .routes(routes!(users::follow_requests))
        .routes(routes!(users::mute, users::unmute))
        .routes(routes!(users::list_mutes))
        .routes(routes!(filters::list_filters, filters::create_filter))
        .routes(routes!(
            filters::get_filter,
            filters::update_filter,
            filters::delete_filter
        ))
        .routes(routes!(
            users::accept_follow_request,
            users::reject_follow_request
        ))
        .routes(routes!(users::block, users::unblock))
        .routes(routes!(users::followers))
        .routes(routes!(users::search_users))
        .routes(routes!(users::following))
        .routes(routes!(users::user_posts))
        .routes(routes!(posts::create_post))
        .routes(routes!(
            posts::get_post,
            posts::update_post,
            posts::delete_post
        ))
        .routes(routes!(posts::like, posts::unlike))
        .routes(routes!(posts::likers))
        .routes(routes!(posts::list_comments, posts::create_comment))
        .routes(routes!(posts::delete_comment))
        .routes(routes!(posts::feed))
        .routes(routes!(posts::explore))
        .routes(routes!(hashtags::get_hashtag))
        .routes(routes!(hashtags::hashtag_posts))
        .routes(routes!(
            hashtags::follow_hashtag,
            hashtags::unfollow_hashtag
        ))
        .routes(routes!(hashtags::my_hashtags))
        .routes(routes!(hashtags::search_hashtags))
        .routes(routes!(notifications::list))
        .routes(routes!(notifications::mark_read))
        .routes(routes!(push::unread_count))
        .routes(routes!(push::register_device, push::unregister_device))
        .routes(routes!(push::get_settings, push::update_settings))
        .routes(routes!(moderation::create_report))
        .routes(routes!(invites::create_invite, invites::list_invites))
        .routes(routes!(invites::revoke_invite))
        .routes(routes!(invites::my_invitees))
        .routes(routes!(stories::create_story))
        .routes(routes!(stories::story_tray))
        .routes(routes!(stories::get_story, stories::delete_story))
        .routes(routes!(stories::mark_seen))
        .routes(routes!(stories::story_viewers))
        .routes(routes!(stories::react, stories::unreact))
        .routes(routes!(stories::user_stories))
        .routes(routes!(stories::list_close_friends))
        .routes(routes!(
            stories::add_close_friend,
            stories::remove_close_friend
        ))
        .routes(routes!(stories::create_highlight))
        .routes(routes!(
            stories::update_highlight,
            stories::delete_highlight
        ))
        .routes(routes!(stories::user_highlights))
        .routes(routes!(stories::get_highlight))
        .routes(routes!(trust::my_trust))
        .routes(routes!(appeals::my_decisions))
        .routes(routes!(appeals::appeal))
        .routes(routes!(appeals::accept_terms))
}

fn admin_routes() -> OpenApiRouter<Arc<ApiContext>> {
    OpenApiRouter::new()
        .routes(routes!(moderation::list_reports))
        .routes(routes!(moderation::take_down, moderation::restore))
        .routes(routes!(moderation::post_edits))
        .routes(routes!(invites::admin_mint))
        .routes(routes!(invites::admin_invitees))
        .routes(routes!(invites::admin_suspend_branch))
        .routes(routes!(moderation::suspend))
        .routes(routes!(moderation::unsuspend))
        .routes(routes!(stories::take_down_story))
        .routes(routes!(hashmatch::list_blocked, hashmatch::add_blocked))
        .routes(routes!(hashmatch::remove_blocked))
        .routes(routes!(hashmatch::list_quarantine))
        .routes(routes!(export::place_hold, export::list_holds))
        .routes(routes!(export::release_hold))
        .routes(routes!(hashmatch::release))
        .routes(routes!(hashmatch::confirm))
        .routes(routes!(trust::admin_trust, trust::set_level))
        .routes(routes!(trust::lift_suspension))
        .routes(routes!(trust::resolve_report))
        .routes(routes!(trust::withdraw_strike))
        .routes(routes!(trust::admin_actions))
        .routes(routes!(appeals::list_appeals))
        .routes(routes!(appeals::decide_appeal))
}

fn api_routes(ctx: Arc<ApiContext>, ops: OpsContext) -> OpenApiRouter {
    let mut router = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi());
    for (group, guard) in route_groups() {
        router = router.merge(guard.apply(guard.document(group), &ctx));
    }
    router.with_state(ctx).merge(ops_routes(ops))
}

fn ops_routes_stateless() -> OpenApiRouter<OpsContext> {
    OpenApiRouter::new()
        .routes(routes!(ops::health))
        .routes(routes!(ops::ready))
        .routes(routes!(ops::metrics))
}

/// `/health`, `/ready` and `/metrics`, served in every mode.
pub fn ops_routes(ops: OpsContext) -> OpenApiRouter {
    ops_routes_stateless().with_state(ops)
}

/// Request ids, JSON access logs, latency metrics, a JSON 404, and a JSON
/// 500 instead of a dropped connection on panic (timeouts: see
/// [`with_request_timeout`]).
pub fn with_common_layers(router: Router) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    router
        .fallback(|| async { error_response(Code::NotFound) })
        .method_not_allowed_fallback(|| async {
            error_response(Code::MethodNotAllowed)
        })
        .route_layer(middleware::from_fn(record_request_metrics))
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .layer(CatchPanicLayer::custom(|_| {
            error_response(Code::InternalError)
        }))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request| {
                    let request_id = request
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    // The path only: query strings may carry signatures.
                    tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id)
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}

/// Request latency by route and status, for the "API p95 > 500 ms" alert.
/// Every label comes from a fixed set, whatever the client sends: a method
/// outside the standard ones is `other`, a path no route matches is
/// `unmatched`, so no request can add series of its own.
async fn record_request_metrics(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = method_label(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    metrics::histogram!(
        "http_request_duration_seconds",
        "method" => method,
        "route" => route,
        "status" => status_label(response.status()),
    )
    .record(started.elapsed().as_secs_f64());
    response
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The status code: HTTP statuses are three digits, a bounded set.
fn status_label(status: StatusCode) -> String {
    status.as_u16().to_string()
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt as _;

    use super::*;

    /// A route answering `code`, held to a document that lists `listed`.
    async fn answer(code: Code, listed: Vec<Code>) -> StatusCode {
        let documented: Documented = Arc::new(HashMap::from([(
            ("GET".to_string(), "/things/{id}".to_string()),
            listed,
        )]));
        let router = Router::new()
            .route(
                "/things/{id}",
                get(move || async move { error_response(code) }),
            )
            .route_layer(middleware::from_fn_with_state(
                documented,
                answer_documented_codes,
            ))
            .layer(CatchPanicLayer::new());
        let request = Request::get("/things/1").body(Body::empty()).unwrap();
        router.oneshot(request).await.unwrap().status()
    }

    #[tokio::test]
    async fn an_answer_the_document_lists_goes_through() {
        let status = answer(Code::PostNotFound, vec![Code::NotFound, Code::PostNotFound]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn an_answer_the_document_does_not_list_fails_in_debug_builds() {
        let status = answer(Code::UserNotFound, vec![Code::NotFound, Code::PostNotFound]).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    }
}
