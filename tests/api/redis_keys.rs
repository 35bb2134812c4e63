//! What the API keeps in Redis, which runs with `maxmemory-policy
//! volatile-lru`: revocations without a TTL (never evicted), every other key
//! with one (evicted first, and only they).

use crate::common::redis::PrivateRedis;
use crate::common::{Backing, TestApp, free_port, unique};
use redis::AsyncCommands as _;
use reqwest::StatusCode;
use serde_json::json;

async fn connection(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// Registers a user, signs in a second device, signs the first one out:
/// returns the revoked session's id and token.
async fn revoke_a_session(app: &TestApp) -> (String, String) {
    let handle = unique("rk");
    let first = app.access_token(&handle).await;
    app.post(
        "/v1/auth/login",
        None,
        json!({ "login": handle, "password": crate::common::PASSWORD }),
    )
    .await
    .expect(StatusCode::OK, None);
    let sessions = app.get("/v1/auth/sessions", Some(&first)).await;
    let session = sessions.body["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == true)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.post("/v1/auth/logout", Some(&first), json!({}))
        .await
        .expect(StatusCode::NO_CONTENT, None);
    app.get("/v1/me", Some(&first))
        .await
        .expect(StatusCode::UNAUTHORIZED, Some("session_revoked"));
    (session, first)
}

#[tokio::test]
async fn revocations_have_no_ttl_and_every_other_key_has_one() {
    let backing = Backing::new().await;
    let app = TestApp::spawn(&backing, backing.env("api")).await;
    let prefix = format!("ciel-test-{}", backing.id);
    let (session, _) = revoke_a_session(&app).await;
    // writes and a refresh count in rate-limit windows too
    let token = app.access_token(&unique("rw")).await;
    app.post(
        "/v1/media/uploads",
        Some(&token),
        json!({ "content_type": "image/jpeg", "byte_size": 10 }),
    )
    .await
    .expect(StatusCode::CREATED, None);

    let mut conn = connection(&crate::common::redis_url()).await;
    let revoked = format!("{prefix}:revoked-sessions");
    let keys: Vec<String> = conn.keys(format!("{prefix}:*")).await.unwrap();
    assert!(keys.contains(&revoked), "{keys:?}");
    assert!(
        keys.len() >= 3,
        "rate-limit windows and the marker too: {keys:?}"
    );
    for key in &keys {
        let ttl: i64 = conn.ttl(key).await.unwrap();
        if key == &revoked {
            assert_eq!(ttl, -1, "revocations must not be evictable");
        } else {
            assert!(
                ttl > 0,
                "{key} has no TTL ({ttl}): it would outlive volatile-lru"
            );
        }
    }
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as f64;
    let until: f64 = conn.zscore(&revoked, &session).await.unwrap();
    assert!(
        until > now_ms + 60_000.0,
        "counts for the access token's lifetime"
    );

    // expired members are pruned by the app itself
    let _: () = conn.zadd(&revoked, "expired-long-ago", 1).await.unwrap();
    revoke_a_session(&app).await;
    let left: Option<f64> = conn.zscore(&revoked, "expired-long-ago").await.unwrap();
    assert_eq!(left, None);
}

#[tokio::test]
async fn under_memory_pressure_only_disposable_keys_are_evicted() {
    let redis = PrivateRedis::start_with(
        free_port(),
        &["--maxmemory", "4mb", "--maxmemory-policy", "volatile-lru"],
    )
    .await;
    let backing = Backing::new().await;
    let mut env = backing.env("api");
    env.insert("REDIS_URL", redis.url());
    let app = TestApp::spawn(&backing, env).await;
    let (session, revoked_token) = revoke_a_session(&app).await;

    // Fill Redis far past maxmemory with keys like the app's other ones.
    let mut conn = connection(&redis.url()).await;
    let value = "x".repeat(1024);
    for i in 0..16_000 {
        let _: () = conn
            .set_ex(format!("filler:{i}"), &value, 3600)
            .await
            .unwrap();
    }
    let evicted: String = redis::cmd("INFO")
        .arg("stats")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(
        !evicted.contains("evicted_keys:0\r"),
        "the filler must have caused evictions"
    );
    let prefix = format!("ciel-test-{}", backing.id);
    let until: Option<f64> = conn
        .zscore(format!("{prefix}:revoked-sessions"), &session)
        .await
        .unwrap();
    assert!(until.is_some(), "the revocation was evicted");
    app.get("/v1/me", Some(&revoked_token))
        .await
        .expect(StatusCode::UNAUTHORIZED, Some("session_revoked"));
}
