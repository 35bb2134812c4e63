//! What one client may hold of the server: a deadline for its headers and a
//! bound on open connections, each answered in the API's error format.

use std::time::Duration;

use crate::common::{Backing, TestApp, eventually};
use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn addr(app: &TestApp) -> String {
    app.base.trim_start_matches("http://").to_string()
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let backing = Backing::new().await;
    let mut env = backing.env("api");
    env.insert("HTTP_HEADER_TIMEOUT_SECS", "1".into());
    let app = TestApp::spawn(&backing, env).await;
    let mut slow = TcpStream::connect(addr(&app)).await.unwrap();
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: ciel\r\nX-Slow: ")
        .await
        .unwrap();
    // The server closes the connection: the read ends (EOF or reset)
    // instead of waiting for headers that never come.
    let mut buf = [0u8; 512];
    let ended = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match slow.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => continue,
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the connection stayed open without headers");
    // Others are served as usual.
    let health = app.get("/health", None).await;
    assert_eq!(health.status, StatusCode::OK);
}

#[tokio::test]
async fn connections_past_the_bound_get_a_503_in_the_error_format() {
    let backing = Backing::new().await;
    let mut env = backing.env("api");
    env.insert("HTTP_MAX_CONNECTIONS", "2".into());
    let app = TestApp::spawn(&backing, env).await;
    let held = [
        TcpStream::connect(addr(&app)).await.unwrap(),
        TcpStream::connect(addr(&app)).await.unwrap(),
    ];
    // A fresh client: a connection of its own, past the bound.
    let client = reqwest::Client::new();
    let refused = eventually(Duration::from_secs(10), "a refusal", || async {
        let response = client.get(app.url("/health")).send().await.ok()?;
        (response.status() == StatusCode::SERVICE_UNAVAILABLE).then_some(response)
    })
    .await;
    assert!(refused.headers().contains_key("retry-after"));
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_connections");

    drop(held);
    eventually(Duration::from_secs(10), "a free connection", || async {
        let response = reqwest::Client::new()
            .get(app.url("/health"))
            .send()
            .await
            .ok()?;
        (response.status() == StatusCode::OK).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_json_body_past_64_kib_is_refused_with_413() {
    let app = TestApp::api().await;
    let big = serde_json::json!({
        "handle": "big_body",
        "email": "big@example.org",
        "password": "x".repeat(70 * 1024),
    });
    let reply = app.post("/v1/auth/register", None, big).await;
    reply.expect(StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large"));
}
