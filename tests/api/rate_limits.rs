//! Rate limits in Redis, the trusted-proxy rule, and life without Redis.

use crate::common::redis::PrivateRedis;
use crate::common::{PASSWORD, TestApp, eventually, unique};
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

async fn register_from(app: &TestApp, forwarded_for: Option<&str>) -> crate::common::Reply {
    let handle = unique("rl");
    let mut request = app.client.post(app.url("/v1/auth/register")).json(&json!({
        "handle": handle, "email": format!("{handle}@example.org"), "password": PASSWORD
    }));
    if let Some(ip) = forwarded_for {
        request = request.header("x-forwarded-for", ip);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.json().await.unwrap();
    crate::common::Reply {
        status,
        headers,
        body,
    }
}

#[tokio::test]
async fn sign_ups_are_limited_per_client_ip_with_standard_headers() {
    let app = TestApp::api_with(|env| {
        env.insert("RATE_LIMIT_REGISTER", "2/30m".into());
        env.insert("TRUSTED_PROXIES", "127.0.0.1/32".into());
    })
    .await;
    let first = register_from(&app, Some("203.0.113.7")).await;
    first.expect(StatusCode::CREATED, None);
    assert_eq!(
        first.header("ratelimit-policy"),
        Some("\"register\";q=2;w=1800")
    );
    assert!(
        first
            .header("ratelimit")
            .unwrap()
            .starts_with("\"register\";r=1;t=")
    );
    register_from(&app, Some("203.0.113.7"))
        .await
        .expect(StatusCode::CREATED, None);

    let limited = register_from(&app, Some("203.0.113.7")).await;
    limited.expect(StatusCode::TOO_MANY_REQUESTS, Some("rate_limited"));
    let retry_after: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=1800).contains(&retry_after));
    assert_eq!(
        limited.header("ratelimit-policy"),
        Some("\"register\";q=2;w=1800")
    );
    assert!(
        limited
            .header("ratelimit")
            .unwrap()
            .starts_with("\"register\";r=0;t=")
    );

    // Another client behind the same proxy has its own bucket; the
    // rightmost untrusted address is the client.
    register_from(&app, Some("198.51.100.1, 203.0.113.9"))
        .await
        .expect(StatusCode::CREATED, None);
    register_from(&app, Some("203.0.113.9, 203.0.113.7"))
        .await
        .expect(StatusCode::TOO_MANY_REQUESTS, Some("rate_limited"));

    let pool = app.backing.pool().await;
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(users, 3, "limited requests create nothing");
}

#[tokio::test]
async fn forwarded_for_from_an_untrusted_peer_is_ignored() {
    let app = TestApp::api_with(|env| {
        env.insert("RATE_LIMIT_REGISTER", "1/30m".into());
    })
    .await;
    register_from(&app, Some("203.0.113.1"))
        .await
        .expect(StatusCode::CREATED, None);
    register_from(&app, Some("203.0.113.2"))
        .await
        .expect(StatusCode::TOO_MANY_REQUESTS, Some("rate_limited"));
}

#[tokio::test]
async fn sign_ins_are_limited_per_ip() {
    let app = TestApp::api_with(|env| {
        env.insert("RATE_LIMIT_LOGIN", "3/5m".into());
    })
    .await;
    let handle = unique("li");
    app.register(&handle).await;
    for _ in 0..3 {
        app.post(
            "/v1/auth/login",
            None,
            json!({ "login": handle, "password": "wrong password" }),
        )
        .await
        .expect(StatusCode::UNAUTHORIZED, Some("invalid_credentials"));
    }
    let limited = app
        .post(
            "/v1/auth/login",
            None,
            json!({ "login": handle, "password": PASSWORD }),
        )
        .await;
    limited.expect(StatusCode::TOO_MANY_REQUESTS, Some("rate_limited"));
    assert_eq!(
        limited.header("ratelimit-policy"),
        Some("\"login\";q=3;w=300")
    );
}

#[tokio::test]
async fn writes_are_limited_per_user() {
    let app = TestApp::api_with(|env| {
        env.insert("RATE_LIMIT_WRITES", "2/1m".into());
    })
    .await;
    let ana = app.access_token(&unique("wa")).await;
    let bo = app.access_token(&unique("wb")).await;
    let upload = json!({ "content_type": "image/jpeg", "byte_size": 1000 });
    for _ in 0..2 {
        app.post("/v1/media/uploads", Some(&ana), upload.clone())
            .await
            .expect(StatusCode::CREATED, None);
    }
    app.post("/v1/media/uploads", Some(&ana), upload.clone())
        .await
        .expect(StatusCode::TOO_MANY_REQUESTS, Some("rate_limited"));
    // Reads are not writes, and other users have their own budget.
    app.get("/v1/me", Some(&ana))
        .await
        .expect(StatusCode::OK, None);
    app.post("/v1/media/uploads", Some(&bo), upload)
        .await
        .expect(StatusCode::CREATED, None);
}

#[tokio::test]
async fn when_redis_goes_away_the_api_keeps_serving_with_local_limits() {
    let mut redis = PrivateRedis::start().await;
    let url = redis.url();
    let app = TestApp::api_with(|env| {
        env.insert("REDIS_URL", url);
        env.insert("RATE_LIMIT_LOGIN", "3/30m".into());
    })
    .await;
    let handle = unique("rd");
    let registered = app.register(&handle).await;
    let access = registered["access_token"].as_str().unwrap().to_string();
    let login = || {
        app.post(
            "/v1/auth/login",
            None,
            json!({ "login": handle, "password": PASSWORD }),
        )
    };
    login().await.expect(StatusCode::OK, None);

    redis.child.kill().unwrap();
    redis.child.wait().unwrap();

    // Served, never a 500, and limited by this process alone: a fresh
    // local window of 3.
    app.get("/v1/me", Some(&access))
        .await
        .expect(StatusCode::OK, None);
    for _ in 0..3 {
        login().await.expect(StatusCode::OK, None);
    }
    login()
        .await
        .expect(StatusCode::TOO_MANY_REQUESTS, Some("rate_limited"));

    let ready = app.get("/ready", None).await;
    ready.expect(StatusCode::OK, None);
    assert_eq!(ready.body["status"], "degraded");
    assert_eq!(ready.body["redis"], "unavailable");
    // The gauge is one per process, and other tests' apps in this binary
    // scrape too: this app's scrape sets it just before rendering, so poll.
    let metrics = eventually(Duration::from_secs(10), "redis_up 0", || async {
        let text = app.metrics().await;
        text.lines().any(|l| l == "redis_up 0").then_some(text)
    })
    .await;
    assert!(
        metrics.contains("ratelimit_local_fallback_total"),
        "{metrics}"
    );

    // Revocation still works: the database answers while Redis is away.
    let reply = app.post("/v1/auth/logout", Some(&access), json!({})).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    app.get("/v1/me", Some(&access))
        .await
        .expect(StatusCode::UNAUTHORIZED, Some("session_revoked"));
}

#[tokio::test]
async fn the_api_starts_and_serves_when_redis_is_down_from_the_start() {
    let app = TestApp::api_with(|env| {
        env.insert("REDIS_URL", "redis://127.0.0.1:1".into());
    })
    .await;
    let token = app.access_token(&unique("nr")).await;
    app.get("/v1/me", Some(&token))
        .await
        .expect(StatusCode::OK, None);
    assert_eq!(app.get("/ready", None).await.body["status"], "degraded");
}
