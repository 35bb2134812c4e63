//! Ops endpoints, OpenAPI, configuration errors, modes and shutdown.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::redis::{PrivateRedis, TlsFiles};
use crate::common::{Backing, TestApp, eventually, free_port, unique};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn health_ready_and_request_ids() {
    let app = TestApp::api().await;
    let health = app.get("/health", None).await;
    health.expect(StatusCode::OK, None);
    assert_eq!(health.body["status"], "ok");
    assert!(
        health
            .header("x-request-id")
            .is_some_and(|id| id.len() >= 32)
    );

    let ready = app.get("/ready", None).await;
    ready.expect(StatusCode::OK, None);
    assert_eq!(
        ready.body,
        json!({ "status": "ready", "database": "ok", "redis": "ok" })
    );
}

#[tokio::test]
async fn the_api_uses_a_tls_redis_signed_by_the_ca_it_is_given() {
    let redis = PrivateRedis::start_tls().await;
    let (url, cert) = (redis.url(), redis.ca_cert());
    let app = TestApp::api_with(|env| {
        env.insert("REDIS_URL", url);
        env.insert("REDIS_CA_CERT", cert.to_str().unwrap().into());
    })
    .await;
    let ready = app.get("/ready", None).await;
    ready.expect(StatusCode::OK, None);
    assert_eq!(ready.body["redis"], "ok");
    // Commands flow, not just PING: the sign-up's rate-limit window lands there.
    app.register(&unique("tls")).await;
    assert!(redis.key_count().await > 0);
}

#[tokio::test]
async fn a_tls_redis_with_an_untrusted_certificate_counts_as_down() {
    let redis = PrivateRedis::start_tls().await;
    let stranger = TlsFiles::generate();
    // Another CA's certificate, then the system's roots: neither signed it.
    for ca in [Some(stranger.ca()), None] {
        let url = redis.url();
        let app = TestApp::api_with(|env| {
            env.insert("REDIS_URL", url);
            if let Some(ca) = ca {
                env.insert("REDIS_CA_CERT", ca.to_str().unwrap().into());
            }
        })
        .await;
        let ready = app.get("/ready", None).await;
        ready.expect(StatusCode::OK, None);
        assert_eq!(ready.body["status"], "degraded");
        assert_eq!(ready.body["redis"], "unavailable");
        // Still serving, on the per-process limiter.
        app.register(&unique("untrusted")).await;
    }
    assert_eq!(redis.key_count().await, 0);
}

#[tokio::test]
async fn ready_says_unavailable_when_the_database_is_gone() {
    let backing = Backing::new().await;
    let mut env = backing.env("api");
    env.insert(
        "DATABASE_URL",
        "postgres://postgres@127.0.0.1:1/nothing".into(),
    );
    let app = TestApp::spawn(&backing, env).await;
    app.get("/health", None).await.expect(StatusCode::OK, None);
    let ready = app.get("/ready", None).await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready.body["database"], "unavailable");
}

#[tokio::test]
async fn metrics_cover_latency_by_route_pool_use_and_redis() {
    let app = TestApp::api().await;
    let token = app.access_token(&unique("mo")).await;
    app.get("/v1/me", Some(&token))
        .await
        .expect(StatusCode::OK, None);
    let reply = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(reply.status(), StatusCode::OK);
    let text = reply.text().await.unwrap();
    let me_bucket = text.lines().find(|l| {
        l.starts_with("http_request_duration_seconds_bucket")
            && l.contains("route=\"/v1/me\"")
            && l.contains("status=\"200\"")
            && l.contains("le=\"0.5\"")
    });
    assert!(
        me_bucket.is_some(),
        "no latency bucket for /v1/me in:\n{text}"
    );
    assert!(text.contains("route=\"/v1/auth/register\""));
    assert!(text.contains("db_pool_connections_in_use"));
    assert!(
        text.lines().any(|l| l == "db_pool_connections_max 5"),
        "{text}"
    );
    // One gauge per process: another test's app may have just set it to 0.
    eventually(Duration::from_secs(10), "redis_up 1", || async {
        app.metrics()
            .await
            .lines()
            .any(|l| l == "redis_up 1")
            .then_some(())
    })
    .await;
}

async fn scrape(app: &TestApp, token: Option<&str>) -> StatusCode {
    let mut request = app.client.get(app.url("/metrics"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap().status()
}

#[tokio::test]
async fn metrics_need_the_admin_token_when_no_metrics_token_is_set() {
    let app = TestApp::api_with(|env| {
        env.insert("ADMIN_TOKEN", "s3cret-admin".into());
    })
    .await;
    app.get("/metrics", None)
        .await
        .expect(StatusCode::UNAUTHORIZED, Some("metrics_token_required"));
    app.get("/metrics", Some("wrong"))
        .await
        .expect(StatusCode::UNAUTHORIZED, Some("metrics_token_required"));
    assert_eq!(scrape(&app, Some("s3cret-admin")).await, StatusCode::OK);
}

/// Issue 25, finding 12: the scrapers hold a token of their own, which
/// moderates nothing, and the admin token no longer opens /metrics; the
/// worker modes guard it too.
#[tokio::test]
async fn a_metrics_token_guards_metrics_in_every_mode_and_moderates_nothing() {
    let app = TestApp::api_with(|env| {
        env.insert("ADMIN_TOKEN", "s3cret-admin".into());
        env.insert("METRICS_TOKEN", "scrape-only".into());
    })
    .await;
    assert_eq!(scrape(&app, Some("scrape-only")).await, StatusCode::OK);
    assert_eq!(
        scrape(&app, Some("s3cret-admin")).await,
        StatusCode::UNAUTHORIZED
    );
    let moderation = app
        .client
        .get(app.url("/v1/admin/reports"))
        .header("X-Admin-Token", "scrape-only")
        .send()
        .await
        .unwrap();
    assert_eq!(moderation.status(), StatusCode::UNAUTHORIZED);
    let doc = app.get("/openapi.json", None).await;
    assert_eq!(
        doc.body["paths"]["/metrics"]["get"]["security"],
        json!([{ "metrics": [] }])
    );

    for mode in ["serverless-worker", "worker"] {
        let backing = Backing::new().await;
        let mut env = backing.env(mode);
        env.insert("METRICS_TOKEN", "scrape-only".into());
        let worker = TestApp::spawn(&backing, env).await;
        assert_eq!(
            scrape(&worker, None).await,
            StatusCode::UNAUTHORIZED,
            "{mode}"
        );
        assert_eq!(
            scrape(&worker, Some("scrape-only")).await,
            StatusCode::OK,
            "{mode}"
        );
        worker.stop().await;
    }
}

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let app = TestApp::api().await;
    let doc = app.get("/openapi.json", None).await;
    doc.expect(StatusCode::OK, None);
    assert!(doc.body["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc.body["paths"].as_object().unwrap();
    for (path, method) in [
        ("/v1/auth/register", "post"),
        ("/v1/auth/login", "post"),
        ("/v1/auth/refresh", "post"),
        ("/v1/auth/logout", "post"),
        ("/v1/auth/sessions", "get"),
        ("/v1/auth/sessions/{id}", "delete"),
        ("/v1/me", "get"),
        ("/v1/media/uploads", "post"),
        ("/v1/media/{id}/complete", "post"),
        ("/v1/media/{id}", "get"),
        ("/v1/media/{id}", "delete"),
        ("/health", "get"),
        ("/ready", "get"),
        ("/metrics", "get"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} missing"
        );
    }
    assert!(doc.body["components"]["securitySchemes"]["bearer"].is_object());
    assert!(doc.body["components"]["schemas"]["ErrorBody"].is_object());

    let docs = app.client.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(docs.status(), StatusCode::OK);
    assert!(docs.text().await.unwrap().contains("swagger"));
}

#[tokio::test]
async fn the_binary_prints_the_same_document() {
    let output = Command::new(env!("CARGO_BIN_EXE_ciel"))
        .arg("openapi")
        .output()
        .unwrap();
    assert!(output.status.success());
    let printed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        printed,
        serde_json::to_value(ciel::http::openapi_document()).unwrap()
    );
}

fn ciel(env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ciel"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in env {
        command.env(k, v);
    }
    command
}

#[test]
fn bad_configuration_stops_start_up_with_one_line_naming_the_variable() {
    let api = [
        ("APP_MODE", "api"),
        (
            "DATABASE_URL",
            "postgres://postgres@127.0.0.1:5432/postgres",
        ),
        ("S3_ENDPOINT", "http://127.0.0.1:9014"),
        ("S3_REGION", "fr-par"),
        ("S3_BUCKET", "b"),
        ("AWS_ACCESS_KEY_ID", "id"),
        ("AWS_SECRET_ACCESS_KEY", "top-secret-value-1"),
        ("QUEUE_ENDPOINT", "http://127.0.0.1:9324"),
        ("QUEUE_NAME", "q"),
        ("REDIS_URL", "redis://127.0.0.1:6379"),
        ("PASETO_ACCESS_KEY", crate::common::ACCESS_KEY),
    ];
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (api.to_vec(), "PASETO_REFRESH_KEY is missing"),
        (
            [api.as_slice(), &[("PASETO_REFRESH_KEY", "c2hvcnQ=")]].concat(),
            "PASETO_REFRESH_KEY is malformed",
        ),
        (
            [
                api.as_slice(),
                &[
                    ("PASETO_REFRESH_KEY", crate::common::REFRESH_KEY),
                    ("HTTP_ADDR", "nope"),
                ],
            ]
            .concat(),
            "HTTP_ADDR is malformed",
        ),
        (
            vec![("APP_MODE", "serverless-worker")],
            "DATABASE_URL is missing",
        ),
        (vec![], "APP_MODE is missing"),
        (vec![("APP_MODE", "apii")], "APP_MODE is malformed"),
    ];
    for (env, expected) in cases {
        let output = ciel(&env).output().unwrap();
        assert_eq!(output.status.code(), Some(1), "{expected}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "one line, got: {stderr}");
        assert!(
            stderr.contains(expected),
            "{stderr:?} should say {expected:?}"
        );
        assert!(!stderr.contains("top-secret-value-1"));
    }
    let help = ciel(&[]).arg("--help").output().unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    for var in [
        "APP_MODE",
        "DATABASE_URL",
        "REDIS_URL",
        "S3_ENDPOINT",
        "S3_REGION",
        "S3_BUCKET",
        "S3_PUBLIC_ENDPOINT",
        "QUEUE_ENDPOINT",
        "QUEUE_NAME",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "PASETO_ACCESS_KEY",
        "PASETO_REFRESH_KEY",
        "REDIS_CA_CERT",
        "QUEUE_DEAD_LETTER_NAME",
        "WORKER_DEAD_LETTER_PATH",
        "WORKER_MEMORY_BUDGET_MB",
        "HTTP_ADDR",
        "RUST_LOG",
        "ADMIN_TOKEN",
        "UPLOAD_MAX_BYTES",
        "DATABASE_MAX_CONNECTIONS",
        "ACCESS_TOKEN_TTL_SECS",
        "REFRESH_TOKEN_TTL_SECS",
        "serverless-worker",
        "migrate",
    ] {
        assert!(help.contains(var), "--help does not mention {var}");
    }
}

#[tokio::test]
async fn the_serverless_worker_starts_with_database_and_s3_only_and_stops_on_sigterm() {
    let backing = Backing::new().await;
    let port = free_port();
    let env = backing.env("serverless-worker");
    let mut command = ciel(&[]);
    for (k, v) in &env {
        command.env(k, v);
    }
    let addr = format!("127.0.0.1:{port}");
    let child = command
        .env("HTTP_ADDR", &addr)
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let url = format!("http://{addr}/health");
    eventually(
        Duration::from_secs(20),
        "the worker to serve /health",
        || async {
            client
                .get(&url)
                .send()
                .await
                .ok()
                .filter(|r| r.status() == StatusCode::OK)
        },
    )
    .await;
    let ready: serde_json::Value = client
        .get(format!("http://{addr}/ready"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready, json!({ "status": "ready", "database": "ok" }));

    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(
        status.status.success(),
        "exit after SIGTERM: {:?}",
        status.status
    );
    let logs = String::from_utf8_lossy(&status.stderr);
    let first = logs.lines().next().expect("a log line");
    let parsed: serde_json::Value = serde_json::from_str(first).expect("logs are JSON lines");
    assert!(parsed["level"].is_string());
    assert!(
        !logs.contains(&crate::common::s3_secret_key()),
        "a secret reached the logs"
    );
}

#[tokio::test]
async fn shutdown_drains_requests_in_flight() {
    let app = TestApp::api().await;
    let pool = app.backing.pool().await;
    // Hold the users table so a sign-up blocks inside the server.
    let mut lock = pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *lock)
        .await
        .unwrap();
    let request = {
        let (client, url) = (app.client.clone(), app.url("/v1/auth/register"));
        tokio::spawn(async move {
            client
                .post(url)
                .json(&json!({ "handle": unique("dr"), "email": "dr@example.org", "password": crate::common::PASSWORD }))
                .send()
                .await
        })
    };
    crate::common::until_a_query_waits_on_a_lock(&pool).await;
    let stopping = tokio::spawn(app.stop());
    lock.rollback().await.unwrap();
    let response = request
        .await
        .unwrap()
        .expect("the in-flight request is answered");
    assert_eq!(response.status(), StatusCode::CREATED);
    stopping.await.unwrap();
}
