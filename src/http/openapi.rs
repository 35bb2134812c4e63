use serde_json::{Map, Value, json};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Ciel API",
        description = "The API of the Ciel photo-sharing apps. Errors always have the body \
                       `{\"error\":{\"code\":\"snake_case_code\",\"message\":\"...\",\"details\":{...}}}`.",
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Accounts, sign-in and device sessions"),
        (name = "users", description = "Users"),
        (name = "media", description = "Photo uploads and their processed variants"),
        (name = "posts", description = "Posts, likes, comments and the home feed"),
        (name = "notifications", description = "Follows, likes and comments on your posts"),
        (name = "moderation", description = "Reports, and the moderators' routes"),
        (name = "ops", description = "Health, readiness and metrics"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("PASETO v4.local")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "admin_token",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Admin-Token",
                "Equal to ADMIN_TOKEN; without ADMIN_TOKEN the admin routes do not exist",
            ))),
        );
        components.add_security_scheme(
            "admin",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Makes the generated document a contract a client generator can trust:
/// every operation lists every status it can answer, with the error body,
/// and says which security it really has. `admin` tells whether
/// ADMIN_TOKEN is set: without it the admin routes do not exist and
/// `/metrics` is open.
pub fn contract(document: utoipa::openapi::OpenApi, admin: bool) -> utoipa::openapi::OpenApi {
    let mut doc = serde_json::to_value(document).expect("the document serializes");
    add_shared_errors(&mut doc);
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        if !admin {
            paths.retain(|path, _| !path.starts_with("/v1/admin/"));
        }
        for (path, item) in paths.iter_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for operation in item.values_mut() {
                if let Some(operation) = operation.as_object_mut() {
                    complete_operation(path, operation, admin);
                }
            }
        }
    }
    serde_json::from_value(doc).expect("the completed document is still a document")
}

/// The shared error answers, by status.
const ERRORS: &[(&str, &str, &str)] = &[
    (
        "400",
        "BadRequest",
        "`invalid_json`, `invalid_cursor` or another malformed request",
    ),
    (
        "401",
        "Unauthorized",
        "`missing_token`, `invalid_token`, `token_expired` or `session_revoked`",
    ),
    (
        "404",
        "NotFound",
        "`not_found` (the id in the path is malformed) or the resource's own `*_not_found`",
    ),
    (
        "408",
        "RequestTimeout",
        "`request_timeout`: the request took longer than 30 s",
    ),
    (
        "413",
        "PayloadTooLarge",
        "`payload_too_large`: a JSON body is at most 64 KiB",
    ),
    (
        "415",
        "UnsupportedMediaType",
        "`unsupported_media_type`: send `Content-Type: application/json`",
    ),
    (
        "422",
        "Unprocessable",
        "`validation_failed`, with a message per field in `details.fields`",
    ),
    (
        "429",
        "TooManyRequests",
        "`rate_limited`; `Retry-After` says when to try again",
    ),
    (
        "503",
        "Unavailable",
        "`service_unavailable`: a dependency is down; retry after `Retry-After` seconds",
    ),
];

/// `details` in the shapes clients meet, so that generated clients type them.
fn type_error_details(doc: &mut Value) {
    if let Some(detail) = doc.pointer_mut("/components/schemas/ErrorDetail/properties/details") {
        *detail = json!({
            "type": "object",
            "description": "Structured extras: `fields` for `validation_failed`, `policy` and `retry_after_seconds` for `rate_limited`",
            "properties": {
                "fields": { "type": "object", "additionalProperties": { "type": "string" } },
                "policy": { "type": "string" },
                "retry_after_seconds": { "type": "integer", "minimum": 1 }
            },
            "additionalProperties": true
        });
    }
}

/// The body of every error answer.
fn error_content() -> Value {
    json!({ "application/json": { "schema": { "$ref": "#/components/schemas/ErrorBody" } } })
}

fn retry_after_header() -> Value {
    json!({ "Retry-After": {
        "description": "Seconds to wait before retrying",
        "schema": { "type": "integer", "minimum": 1 }
    } })
}

fn says_when_to_retry(status: &str) -> bool {
    matches!(status, "429" | "503")
}

fn add_shared_errors(doc: &mut Value) {
    type_error_details(doc);
    let components = doc
        .as_object_mut()
        .expect("a document is an object")
        .entry("components")
        .or_insert_with(|| json!({}));
    let responses = components
        .as_object_mut()
        .expect("components is an object")
        .entry("responses")
        .or_insert_with(|| json!({}));
    for (status, name, description) in ERRORS {
        let mut response = json!({ "description": description, "content": error_content() });
        if says_when_to_retry(status) {
            response["headers"] = retry_after_header();
        }
        responses[*name] = response;
    }
}

fn complete_operation(path: &str, operation: &mut Map<String, Value>, admin: bool) {
    let is_ops = !path.starts_with("/v1/");
    let has_body = operation.contains_key("requestBody");
    let has_query = operation
        .get("parameters")
        .and_then(Value::as_array)
        .is_some_and(|ps| ps.iter().any(|p| p["in"] == "query"));
    let bearer = operation
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|reqs| reqs.iter().any(|r| r.get("bearer").is_some()));
    let admin_route = path.starts_with("/v1/admin/");
    if path == "/metrics" {
        if !admin {
            operation.insert("security".into(), json!([]));
            operation
                .get_mut("responses")
                .and_then(Value::as_object_mut)
                .map(|r| r.remove("401"));
        }
        return;
    }
    if !bearer && !admin_route && !operation.contains_key("security") {
        operation.insert("security".into(), json!([]));
    }
    if is_ops {
        return;
    }
    let mut statuses = vec!["408", "503"];
    if has_body || has_query {
        statuses.extend(["400", "422"]);
    }
    if has_body {
        statuses.extend(["413", "415"]);
    }
    if bearer || admin_route {
        statuses.push("401");
    }
    if path.contains('{') || admin_route {
        statuses.push("404");
    }
    // The router's guards mark the operations they limit (`http::Guard`).
    let rate_limited = operation
        .get("responses")
        .is_some_and(|responses| responses.get("429").is_some());
    if rate_limited {
        statuses.push("429");
    }
    let responses = operation
        .entry("responses")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .expect("responses is an object");
    for status in statuses {
        let (name, description) = ERRORS
            .iter()
            .find(|(s, _, _)| *s == status)
            .map(|(_, name, description)| (*name, *description))
            .expect("every status used has a shared answer");
        match responses.get_mut(status) {
            // The operation's own description names its specific codes;
            // the shared one adds the body and headers.
            Some(own) => {
                let own = own.as_object_mut().expect("a response is an object");
                if own.contains_key("$ref") {
                    continue;
                }
                if own.get("description").and_then(Value::as_str) == Some("") {
                    own.insert("description".into(), json!(description));
                }
                own.entry("content").or_insert_with(error_content);
                if says_when_to_retry(status) {
                    own.entry("headers").or_insert_with(retry_after_header);
                }
            }
            None => {
                responses.insert(
                    status.into(),
                    json!({ "$ref": format!("#/components/responses/{name}") }),
                );
            }
        }
    }
}
