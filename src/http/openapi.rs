use serde_json::{Map, Value, json};

use crate::error::Code;
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
        (name = "hashtags", description = "Hashtags: their posts, following them into the home feed, finding them"),
        (name = "stories", description = "Stories for 24 hours, close friends, views, reactions and highlights"),
        (name = "notifications", description = "Follows, likes and comments on your posts, reactions to your stories"),
        (name = "push", description = "Push notifications: the devices of your sessions and what is pushed to them"),
        (name = "moderation", description = "Reports, and the moderators' routes"),
        (name = "invites", description = "Invite codes: yours, their previews, who joined with them"),
        (name = "trust", description = "Trust levels: what your account may do, and what the next level takes"),
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
            "metrics",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Makes the generated document a contract a client generator can trust:
/// every operation lists every status it can answer, with the error body,
/// and says which security it really has. `guards` tells which tokens are
/// set: without ADMIN_TOKEN the admin routes do not exist, and without a
/// metrics token `/metrics` is open.
pub fn contract(document: utoipa::openapi::OpenApi, guards: Guards) -> utoipa::openapi::OpenApi {
    let admin = guards.admin;
    let mut doc = serde_json::to_value(document).expect("the document serializes");
    type_error_details(&mut doc);
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
                    complete_operation(path, operation, guards);
                }
            }
        }
    }
    serde_json::from_value(doc).expect("the completed document is still a document")
}

/// The shared error answers, by status: what any operation of the kind
/// may answer besides its own codes.
const ERRORS: &[(&str, &str)] = &[
    ("400", "The request is malformed"),
    ("401", "The credentials are missing, not valid, or ended"),
    (
        "404",
        "The resource does not exist (or the id in the path is malformed)",
    ),
    ("408", "The request took longer than 30 s"),
    ("413", "A JSON body is at most 64 KiB"),
    ("415", "Send `Content-Type: application/json`"),
    (
        "422",
        "The request is well formed but cannot be done; `validation_failed` has a message per field in `details.fields`",
    ),
    (
        "429",
        "Too many requests; `Retry-After` says when to try again",
    ),
    (
        "503",
        "A dependency is down; retry after `Retry-After` seconds",
    ),
];

/// Codes answered outside any operation of the document: by the router
/// (no such path or method, a panic), by the connection bound, and by the
/// serverless worker's trigger routes.
pub const ANSWERED_OUTSIDE_OPERATIONS: &[Code] = &[
    Code::MethodNotAllowed,
    Code::InternalError,
    Code::TooManyConnections,
    Code::WorkerBusy,
    Code::TransientFailure,
    // The moderation console's HTML forms (`/admin/*`), outside the document.
    Code::CsrfTokenInvalid,
];

/// What an operation is, as far as its shared answers go.
struct Shape {
    has_body: bool,
    has_cursor: bool,
    bearer: bool,
    admin: bool,
    has_path_parameter: bool,
}

impl Shape {
    fn of(path: &str, operation: &Map<String, Value>) -> Shape {
        let parameters = operation.get("parameters").and_then(Value::as_array);
        Shape {
            has_body: operation.contains_key("requestBody"),
            has_cursor: parameters.is_some_and(|ps| {
                ps.iter()
                    .any(|p| p["in"] == "query" && p["name"] == "cursor")
            }),
            bearer: operation
                .get("security")
                .and_then(Value::as_array)
                .is_some_and(|reqs| reqs.iter().any(|r| r.get("bearer").is_some())),
            admin: path.starts_with("/v1/admin/"),
            has_path_parameter: path.contains('{'),
        }
    }

    fn has_query(operation: &Map<String, Value>) -> bool {
        operation
            .get("parameters")
            .and_then(Value::as_array)
            .is_some_and(|ps| ps.iter().any(|p| p["in"] == "query"))
    }

    /// The codes every operation of this shape may answer with `status`.
    fn shared_codes(&self, status: &str) -> Vec<Code> {
        match status {
            "400" => {
                let mut codes = Vec::new();
                if self.has_body {
                    codes.extend([Code::InvalidJson, Code::InvalidBody]);
                }
                if self.has_cursor {
                    codes.push(Code::InvalidCursor);
                }
                codes
            }
            "401" if self.admin => vec![Code::AdminTokenRequired],
            "401" if self.bearer => vec![
                Code::MissingToken,
                Code::InvalidToken,
                Code::TokenExpired,
                Code::SessionRevoked,
            ],
            "404" if self.has_path_parameter || self.admin => vec![Code::NotFound],
            "408" => vec![Code::RequestTimeout],
            "413" => vec![Code::PayloadTooLarge],
            "415" => vec![Code::UnsupportedMediaType],
            "422" if self.has_body => vec![Code::ValidationFailed, Code::InvalidText],
            "422" => vec![Code::ValidationFailed],
            "429" => vec![Code::RateLimited],
            "503" => vec![Code::ServiceUnavailable],
            _ => Vec::new(),
        }
    }
}

/// The codes an operation's own response description names in backticks.
/// A named code of another status is a mistake of the document: it would
/// promise clients an answer the API cannot give.
fn codes_named(description: &str, status: &str, path: &str) -> Vec<Code> {
    description
        .split('`')
        .skip(1)
        .step_by(2)
        .filter_map(|word| serde_json::from_value::<Code>(json!(word)).ok())
        .inspect(|code| {
            assert_eq!(
                code.status().to_string(),
                status,
                "{path}: `{code}` is documented under {status}, but answers {}",
                code.status()
            );
        })
        .collect()
}

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

/// The error body, its `code` narrowed to what this answer can carry.
fn error_content(codes: &[Code]) -> Value {
    let codes: Vec<&str> = codes.iter().map(|c| c.as_str()).collect();
    json!({ "application/json": { "schema": {
        "type": "object",
        "required": ["error"],
        "properties": { "error": { "allOf": [
            { "$ref": "#/components/schemas/ErrorDetail" },
            { "type": "object", "properties": { "code": { "type": "string", "enum": codes } } }
        ] } }
    } } })
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

/// Which of the token-guarded parts of the API are guarded here.
#[derive(Debug, Clone, Copy)]
pub struct Guards {
    pub admin: bool,
    pub metrics: bool,
}

fn complete_operation(path: &str, operation: &mut Map<String, Value>, guards: Guards) {
    let is_ops = !path.starts_with("/v1/");
    let shape = Shape::of(path, operation);
    let has_query = Shape::has_query(operation);
    if path == "/metrics" {
        if !guards.metrics {
            operation.insert("security".into(), json!([]));
            operation
                .get_mut("responses")
                .and_then(Value::as_object_mut)
                .map(|r| r.remove("401"));
        } else {
            document_errors(path, operation, &shape, &[]);
        }
        return;
    }
    if !shape.bearer && !shape.admin && !operation.contains_key("security") {
        operation.insert("security".into(), json!([]));
    }
    if is_ops {
        return;
    }
    let mut statuses = vec!["408", "503"];
    if shape.has_body || has_query {
        statuses.push("422");
    }
    if shape.has_body || shape.has_cursor {
        statuses.push("400");
    }
    if shape.has_body {
        statuses.extend(["413", "415"]);
    }
    if shape.bearer || shape.admin {
        statuses.push("401");
    }
    if shape.has_path_parameter || shape.admin {
        statuses.push("404");
    }
    document_errors(path, operation, &shape, &statuses);
}

/// Every error answer of the operation, its own and the shared ones, with
/// the codes each can carry.
fn document_errors(path: &str, operation: &mut Map<String, Value>, shape: &Shape, shared: &[&str]) {
    let responses = operation
        .entry("responses")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .expect("responses is an object");
    let mut statuses: Vec<String> = shared.iter().map(|s| s.to_string()).collect();
    // The router's guards add 429 (`http::Guard`); handlers list their own.
    statuses.extend(
        responses
            .keys()
            .filter(|status| status.as_str() >= "400")
            .cloned(),
    );
    statuses.sort();
    statuses.dedup();
    for status in statuses {
        let own = responses.get(&status).cloned().unwrap_or_else(|| json!({}));
        let own_description = own
            .get("description")
            .and_then(Value::as_str)
            .filter(|d| !d.is_empty());
        let mut codes = shape.shared_codes(&status);
        codes.extend(own_description.map_or_else(Vec::new, |d| codes_named(d, &status, path)));
        codes.sort();
        codes.dedup();
        assert!(
            !codes.is_empty(),
            "{path}: answers {status}, but no code is documented for it"
        );
        let shared_description = ERRORS
            .iter()
            .find(|(s, _)| *s == status)
            .map(|(_, d)| *d)
            .unwrap_or("An error");
        let mut response = json!({
            "description": own_description.unwrap_or(shared_description),
            "content": error_content(&codes),
        });
        if says_when_to_retry(&status) {
            response["headers"] = retry_after_header();
        }
        responses.insert(status, response);
    }
}

/// The codes each operation can answer, keyed by method and path template
/// (`GET /v1/users/{handle}`), as the document lists them.
pub fn codes_by_operation(
    document: &utoipa::openapi::OpenApi,
) -> std::collections::HashMap<(String, String), Vec<Code>> {
    let doc = serde_json::to_value(document).expect("the document serializes");
    let mut found = std::collections::HashMap::new();
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return found;
    };
    for (path, item) in paths {
        let Some(item) = item.as_object() else {
            continue;
        };
        for (method, operation) in item {
            let Some(responses) = operation.get("responses").and_then(Value::as_object) else {
                continue;
            };
            let codes: Vec<Code> = responses
                .values()
                .filter_map(|r| {
                    r.pointer("/content/application~1json/schema/properties/error/allOf/1/properties/code/enum")
                })
                .filter_map(Value::as_array)
                .flatten()
                .filter_map(|code| serde_json::from_value(code.clone()).ok())
                .collect();
            found.insert((method.to_uppercase(), path.clone()), codes);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn every_code_of_the_catalogue_is_answered_by_an_operation_or_outside_them() {
        let documented: BTreeSet<Code> = codes_by_operation(&crate::http::openapi_document())
            .into_values()
            .flatten()
            .collect();
        for code in Code::ALL {
            let outside = ANSWERED_OUTSIDE_OPERATIONS.contains(code);
            assert!(
                documented.contains(code) != outside,
                "`{code}`: {}",
                if outside {
                    "listed as answered outside operations, yet an operation lists it"
                } else {
                    "no operation of the document can answer it"
                }
            );
        }
    }

    #[test]
    fn the_document_enumerates_every_code_once() {
        let doc = serde_json::to_value(crate::http::openapi_document()).unwrap();
        let listed: Vec<&str> = doc["components"]["schemas"]["ErrorCode"]["enum"]
            .as_array()
            .expect("ErrorCode is an enum")
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        let all: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(listed, all);
        let unique: BTreeSet<&str> = all.iter().copied().collect();
        assert_eq!(unique.len(), all.len(), "a code is spelt twice");
    }

    #[test]
    fn every_code_is_raised_somewhere_in_src() {
        let mut sources = String::new();
        let mut dirs = vec![std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src"
        ))];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.ends_with("error.rs") && path.parent().unwrap().ends_with("src") {
                    continue;
                } else {
                    sources.push_str(&std::fs::read_to_string(&path).unwrap());
                }
            }
        }
        for code in Code::ALL {
            let name = format!("Code::{code:?}");
            assert!(sources.contains(&name), "`{code}` ({name}) is never raised");
        }
    }

    #[test]
    #[should_panic(expected = "is documented under 404, but answers 409")]
    fn a_code_documented_under_another_status_stops_the_document() {
        codes_named("`handle_taken` or `user_not_found`", "404", "/v1/test");
    }
}
