//! Accounts, tokens and sessions against the running app, Postgres and Redis.

use std::time::Duration;

use crate::common::redis::{Partition, PrivateRedis};
use crate::common::{Backing, PASSWORD, TestApp, eventually, unique};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn register_then_me_then_login_by_email_and_by_handle() {
    let app = TestApp::api().await;
    let handle = unique("ana");
    let body = app
        .post(
            "/v1/auth/register",
            None,
            json!({ "handle": handle.to_uppercase(), "email": format!("{handle}@Example.org"), "password": PASSWORD, "display_name": "Ana" }),
        )
        .await;
    body.expect(StatusCode::CREATED, None);
    assert_eq!(body.body["token_type"], "Bearer");
    assert_eq!(body.body["expires_in"], 900);
    assert_eq!(
        body.body["user"]["handle"], handle,
        "handles are stored lower-case"
    );
    assert_eq!(body.body["user"]["display_name"], "Ana");
    assert!(body.body["user"].get("password_hash").is_none());
    let access = body.body["access_token"].as_str().unwrap();
    assert!(access.starts_with("v4.local."));

    let me = app.get("/v1/me", Some(access)).await;
    me.expect(StatusCode::OK, None);
    assert_eq!(me.body["handle"], handle);

    for login in [format!("{handle}@example.ORG"), handle.to_uppercase()] {
        let reply = app
            .post(
                "/v1/auth/login",
                None,
                json!({ "login": login, "password": PASSWORD }),
            )
            .await;
        reply.expect(StatusCode::OK, None);
        assert_eq!(reply.body["user"]["handle"], handle);
        assert!(reply.body["refresh_token"].as_str().is_some());
    }
}

#[tokio::test]
async fn taken_handles_conflict_whatever_their_case_and_addresses_never_do() {
    let app = TestApp::api().await;
    let handle = unique("bo");
    app.register(&handle).await;
    app.post(
        "/v1/auth/register",
        None,
        json!({ "handle": handle.to_uppercase(), "email": "other@example.org", "password": PASSWORD }),
    )
    .await
    .expect(StatusCode::CONFLICT, Some("handle_taken"));
    // An address is never refused: whoever owns it, sign-up answers alike
    // (issue 25, finding 11; tests/api/account_recovery.rs).
    app.post(
        "/v1/auth/register",
        None,
        json!({ "handle": unique("other"), "email": format!("{}@EXAMPLE.org", handle.to_uppercase()), "password": PASSWORD }),
    )
    .await
    .expect(StatusCode::CREATED, None);
}

#[tokio::test]
async fn invalid_registrations_list_every_bad_field_and_write_nothing() {
    let app = TestApp::api().await;
    let reply = app
        .post(
            "/v1/auth/register",
            None,
            json!({ "handle": "a!", "email": "nope", "password": "short", "display_name": "x".repeat(51) }),
        )
        .await;
    reply.expect(StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed"));
    let fields = &reply.body["error"]["details"]["fields"];
    for field in ["handle", "email", "password", "display_name"] {
        assert!(fields[field].is_string(), "{field} missing from {fields}");
    }
    let pool = app.backing.pool().await;
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(users, 0);

    for password in ["x".repeat(9), "x".repeat(129)] {
        app.post(
            "/v1/auth/register",
            None,
            json!({ "handle": unique("p"), "email": "p@example.org", "password": password }),
        )
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed"));
    }
}

#[tokio::test]
async fn malformed_bodies_get_clear_errors() {
    let app = TestApp::api().await;
    let raw = |body: &'static str, content_type: &'static str| {
        app.client
            .post(app.url("/v1/auth/login"))
            .header("content-type", content_type)
            .body(body)
    };
    let reply = raw("{not json", "application/json").send().await.unwrap();
    assert_eq!(reply.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = reply.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_json");

    let reply = raw("{}", "application/json").send().await.unwrap();
    assert_eq!(reply.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let reply = raw("{}", "text/plain").send().await.unwrap();
    assert_eq!(reply.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let huge = format!(
        "{{\"login\":\"{}\",\"password\":\"x\"}}",
        "a".repeat(100_000)
    );
    let reply = app
        .client
        .post(app.url("/v1/auth/login"))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::PAYLOAD_TOO_LARGE);

    app.get("/v1/nothing-here", None)
        .await
        .expect(StatusCode::NOT_FOUND, Some("not_found"));
    app.request(reqwest::Method::PUT, "/v1/auth/login", None, None)
        .await
        .expect(StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed"));
}

#[tokio::test]
async fn wrong_credentials_are_one_error_whether_or_not_the_user_exists() {
    let app = TestApp::api().await;
    let handle = unique("cy");
    app.register(&handle).await;
    for (login, password) in [
        (handle.as_str(), "wrong password!"),
        ("nobody_here", PASSWORD),
        ("nobody@example.org", PASSWORD),
    ] {
        let reply = app
            .post(
                "/v1/auth/login",
                None,
                json!({ "login": login, "password": password }),
            )
            .await;
        reply.expect(StatusCode::UNAUTHORIZED, Some("invalid_credentials"));
        assert_eq!(
            reply.body["error"]["message"], "the login or the password is wrong",
            "the message must not tell which part was wrong"
        );
    }
}

#[tokio::test]
async fn refresh_rotates_and_a_reused_token_ends_the_session() {
    let app = TestApp::api().await;
    let first = app.register(&unique("di")).await;
    let refresh1 = first["refresh_token"].as_str().unwrap().to_string();

    let second = app
        .post(
            "/v1/auth/refresh",
            None,
            json!({ "refresh_token": refresh1 }),
        )
        .await;
    second.expect(StatusCode::OK, None);
    let access2 = second.body["access_token"].as_str().unwrap().to_string();
    let refresh2 = second.body["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(refresh1, refresh2);
    app.get("/v1/me", Some(&access2))
        .await
        .expect(StatusCode::OK, None);

    // The thief replays the first token: the whole session dies.
    app.post(
        "/v1/auth/refresh",
        None,
        json!({ "refresh_token": refresh1 }),
    )
    .await
    .expect(StatusCode::UNAUTHORIZED, Some("refresh_token_reused"));
    app.get("/v1/me", Some(&access2))
        .await
        .expect(StatusCode::UNAUTHORIZED, Some("session_revoked"));
    app.post(
        "/v1/auth/refresh",
        None,
        json!({ "refresh_token": refresh2 }),
    )
    .await
    .expect(StatusCode::UNAUTHORIZED, Some("invalid_refresh_token"));

    let pool = app.backing.pool().await;
    let reason: String = sqlx::query_scalar("SELECT revoked_reason::text FROM auth_sessions")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(reason, "refresh_token_reuse");
}

#[tokio::test]
async fn concurrent_refreshes_of_one_token_never_both_succeed() {
    let app = TestApp::api().await;
    for _ in 0..3 {
        let registered = app.register(&unique("ed")).await;
        let token = registered["refresh_token"].as_str().unwrap().to_string();
        let attempts =
            (0..4).map(|_| app.post("/v1/auth/refresh", None, json!({ "refresh_token": token })));
        let replies = futures::future::join_all(attempts).await;
        let winners = replies
            .iter()
            .filter(|r| r.status == StatusCode::OK)
            .count();
        assert!(winners <= 1, "{winners} concurrent refreshes succeeded");
        for loser in replies.iter().filter(|r| r.status != StatusCode::OK) {
            loser.expect(StatusCode::UNAUTHORIZED, None);
        }
    }
}

#[tokio::test]
async fn access_and_refresh_tokens_are_not_interchangeable() {
    let app = TestApp::api().await;
    let registered = app.register(&unique("fa")).await;
    let access = registered["access_token"].as_str().unwrap();
    let refresh = registered["refresh_token"].as_str().unwrap();
    app.get("/v1/me", Some(refresh))
        .await
        .expect(StatusCode::UNAUTHORIZED, Some("invalid_token"));
    app.post("/v1/auth/refresh", None, json!({ "refresh_token": access }))
        .await
        .expect(StatusCode::UNAUTHORIZED, Some("invalid_refresh_token"));
}

#[tokio::test]
async fn tampered_foreign_missing_and_expired_tokens_are_rejected() {
    let app = TestApp::api_with(|env| {
        env.insert("ACCESS_TOKEN_TTL_SECS", "1".into());
    })
    .await;
    let registered = app.register(&unique("gu")).await;
    let access = registered["access_token"].as_str().unwrap().to_string();

    app.get("/v1/me", None)
        .await
        .expect(StatusCode::UNAUTHORIZED, Some("missing_token"));
    let reply = app
        .client
        .get(app.url("/v1/me"))
        .header("authorization", format!("Basic {access}"))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(reply.headers()["www-authenticate"], "Bearer");

    let mut tampered = access.clone().into_bytes();
    let i = tampered.len() - 60;
    tampered[i] = if tampered[i] == b'a' { b'b' } else { b'a' };
    app.get("/v1/me", Some(std::str::from_utf8(&tampered).unwrap()))
        .await
        .expect(StatusCode::UNAUTHORIZED, Some("invalid_token"));
    app.get("/v1/me", Some("v4.local.garbage"))
        .await
        .expect(StatusCode::UNAUTHORIZED, Some("invalid_token"));

    // A token sealed by another deployment's key.
    let other = TestApp::api_with(|env| {
        env.insert(
            "PASETO_ACCESS_KEY",
            "T1RIRVItREVQTE9ZTUVOVC1BQ0NFU1MtS0VZLTMyQiE=".into(),
        );
    })
    .await;
    let foreign = other.access_token(&unique("ha")).await;
    app.get("/v1/me", Some(&foreign))
        .await
        .expect(StatusCode::UNAUTHORIZED, Some("invalid_token"));

    // The 1 s lifetime runs out.
    crate::common::eventually(
        std::time::Duration::from_secs(10),
        "the access token to expire",
        || async {
            let reply = app.get("/v1/me", Some(&access)).await;
            (reply.status == StatusCode::UNAUTHORIZED).then_some(reply)
        },
    )
    .await
    .expect(StatusCode::UNAUTHORIZED, Some("token_expired"));
}

#[tokio::test]
async fn logout_kills_the_access_token_at_once() {
    let app = TestApp::api().await;
    let registered = app.register(&unique("io")).await;
    let access = registered["access_token"].as_str().unwrap();
    let refresh = registered["refresh_token"].as_str().unwrap();
    let reply = app.post("/v1/auth/logout", Some(access), json!({})).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    app.get("/v1/me", Some(access))
        .await
        .expect(StatusCode::UNAUTHORIZED, Some("session_revoked"));
    app.post(
        "/v1/auth/refresh",
        None,
        json!({ "refresh_token": refresh }),
    )
    .await
    .expect(StatusCode::UNAUTHORIZED, Some("invalid_refresh_token"));
}

#[tokio::test]
async fn sessions_are_listed_and_revoked_per_device_and_only_by_their_owner() {
    let app = TestApp::api().await;
    let handle = unique("ju");
    let phone = app.register(&handle).await;
    let phone_token = phone["access_token"].as_str().unwrap().to_string();
    let tablet = app
        .client
        .post(app.url("/v1/auth/login"))
        .header("user-agent", "Ciel/1.0 (iPad)")
        .json(&json!({ "login": handle, "password": PASSWORD }))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    let tablet_token = tablet["access_token"].as_str().unwrap().to_string();

    let listed = app.get("/v1/auth/sessions", Some(&phone_token)).await;
    listed.expect(StatusCode::OK, None);
    let sessions = listed.body["sessions"].as_array().unwrap().clone();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    let ipad = sessions
        .iter()
        .find(|s| s["user_agent"] == "Ciel/1.0 (iPad)")
        .expect("the iPad session");
    for field in ["id", "created_at", "last_used_at"] {
        assert!(ipad[field].is_string(), "{field}");
    }
    let ipad_id = ipad["id"].as_str().unwrap();

    // Another user cannot revoke it.
    let stranger = app.access_token(&unique("ka")).await;
    app.delete(&format!("/v1/auth/sessions/{ipad_id}"), Some(&stranger))
        .await
        .expect(StatusCode::NOT_FOUND, Some("session_not_found"));
    app.get("/v1/me", Some(&tablet_token))
        .await
        .expect(StatusCode::OK, None);

    let reply = app
        .delete(&format!("/v1/auth/sessions/{ipad_id}"), Some(&phone_token))
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    app.get("/v1/me", Some(&tablet_token))
        .await
        .expect(StatusCode::UNAUTHORIZED, Some("session_revoked"));
    app.get("/v1/me", Some(&phone_token))
        .await
        .expect(StatusCode::OK, None);
    let listed = app.get("/v1/auth/sessions", Some(&phone_token)).await;
    assert_eq!(listed.body["sessions"].as_array().unwrap().len(), 1);

    app.delete("/v1/auth/sessions/not-a-uuid", Some(&phone_token))
        .await
        .expect(StatusCode::NOT_FOUND, Some("not_found"));
}

#[tokio::test]
async fn a_revocation_reaches_other_instances_through_redis() {
    let backing = crate::common::Backing::new().await;
    let one = TestApp::spawn(&backing, backing.env("api")).await;
    let two = TestApp::spawn(&backing, backing.env("api")).await;
    let registered = one.register(&unique("lu")).await;
    let access = registered["access_token"].as_str().unwrap();
    two.get("/v1/me", Some(access))
        .await
        .expect(StatusCode::OK, None);
    one.post("/v1/auth/logout", Some(access), json!({})).await;
    two.get("/v1/me", Some(access))
        .await
        .expect(StatusCode::UNAUTHORIZED, Some("session_revoked"));
}

/// Two API processes on one database, each with its own Redis URL.
async fn two_instances(backing: &Backing, one: String, two: String) -> (TestApp, TestApp) {
    let env = |url: String| {
        let mut env = backing.env("api");
        env.insert("REDIS_URL", url);
        env
    };
    (
        TestApp::spawn(backing, env(one)).await,
        TestApp::spawn(backing, env(two)).await,
    )
}

async fn until_redis_is_reachable_from(app: &TestApp) {
    eventually(Duration::from_secs(10), "redis to be reachable", || async {
        (app.get("/ready", None).await.body["redis"] == "ok").then_some(())
    })
    .await;
}

#[tokio::test]
async fn revocations_outlive_a_redis_restart() {
    let mut redis = PrivateRedis::start().await;
    let backing = Backing::new().await;
    let (one, two) = two_instances(&backing, redis.url(), redis.url()).await;
    let registered = one.register(&unique("rs")).await;
    let access = registered["access_token"].as_str().unwrap();
    two.get("/v1/me", Some(access))
        .await
        .expect(StatusCode::OK, None);
    one.post("/v1/auth/logout", Some(access), json!({})).await;

    // Redis comes back empty; the second process, which revoked nothing
    // itself, must not take the empty answer for "still signed in".
    redis.restart().await;
    until_redis_is_reachable_from(&two).await;
    two.get("/v1/me", Some(access))
        .await
        .expect(StatusCode::UNAUTHORIZED, Some("session_revoked"));
}

#[tokio::test]
async fn a_revocation_that_missed_redis_reaches_it_once_redis_is_reachable() {
    let redis = PrivateRedis::start().await;
    let partition = Partition::in_front_of(redis.port()).await;
    let backing = Backing::new().await;
    let (one, two) = two_instances(&backing, partition.url(), redis.url()).await;
    let registered = two.register(&unique("pt")).await;
    let access = registered["access_token"].as_str().unwrap();
    for app in [&one, &two] {
        app.get("/v1/me", Some(access))
            .await
            .expect(StatusCode::OK, None);
    }

    // The first process loses Redis, revokes the session (in the database),
    // then regains Redis without serving another request.
    partition.cut();
    one.post("/v1/auth/logout", Some(access), json!({}))
        .await
        .expect(StatusCode::NO_CONTENT, None);
    partition.restore();
    eventually(
        Duration::from_secs(10),
        "the revocation to reach redis",
        || async {
            let me = two.get("/v1/me", Some(access)).await;
            (me.status == StatusCode::UNAUTHORIZED).then_some(me)
        },
    )
    .await
    .expect(StatusCode::UNAUTHORIZED, Some("session_revoked"));
}

#[tokio::test]
async fn a_process_that_started_without_redis_trusts_it_once_it_appears() {
    let port = crate::common::free_port();
    let backing = Backing::new().await;
    let mut env = backing.env("api");
    env.insert("REDIS_URL", format!("redis://127.0.0.1:{port}"));
    let app = TestApp::spawn(&backing, env).await;
    let access = app.access_token(&unique("late")).await;
    app.get("/v1/me", Some(&access))
        .await
        .expect(StatusCode::OK, None);

    // Only reads from now on: nothing rate-limited touches Redis.
    let redis = PrivateRedis::start_on(port).await;
    eventually(Duration::from_secs(10), "the revocations copy", || async {
        app.get("/v1/me", Some(&access))
            .await
            .expect(StatusCode::OK, None);
        (redis.key_count().await > 0).then_some(())
    })
    .await;
}
