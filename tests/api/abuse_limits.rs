//! Limits that keep one client from wearing the API down or guessing its
//! way into an account: refresh per session and per network, sign-in
//! failures per account, and client networks counted the way hosts get them.

use crate::common::{PASSWORD, Reply, TestApp, unique};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn post_from(app: &TestApp, path: &str, from: &str, body: Value) -> Reply {
    let response = app
        .client
        .post(app.url(path))
        .header("x-forwarded-for", from)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.json().await.unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
    }
}

async fn login_from(app: &TestApp, from: &str, login: &str, password: &str) -> Reply {
    post_from(
        app,
        "/v1/auth/login",
        from,
        json!({ "login": login, "password": password }),
    )
    .await
}

#[tokio::test]
async fn refresh_is_limited_per_session_and_per_network() {
    let app = TestApp::api_with(|env| {
        env.insert("RATE_LIMIT_REFRESH_SESSION", "2/10m".into());
        env.insert("RATE_LIMIT_REFRESH", "6/1m".into());
        env.insert("TRUSTED_PROXIES", "127.0.0.1/32".into());
    })
    .await;
    let handle = unique("rf");
    let mut token = app.register(&handle).await["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    let refresh = |token: String, from: &'static str| {
        let app = &app;
        async move {
            post_from(
                app,
                "/v1/auth/refresh",
                from,
                json!({ "refresh_token": token }),
            )
            .await
        }
    };
    for _ in 0..2 {
        let reply = refresh(token.clone(), "203.0.113.1").await;
        reply.expect(StatusCode::OK, None);
        token = reply.body["refresh_token"].as_str().unwrap().to_string();
    }
    // the session has used its refreshes, from any network
    let limited = refresh(token.clone(), "198.51.100.1").await;
    limited.expect(StatusCode::TOO_MANY_REQUESTS, Some("rate_limited"));
    assert_eq!(
        limited.body["error"]["details"]["policy"],
        "refresh_session"
    );
    // another session of the same user is counted apart
    let other = login_from(&app, "203.0.113.1", &handle, PASSWORD).await;
    other.expect(StatusCode::OK, None);
    refresh(
        other.body["refresh_token"].as_str().unwrap().into(),
        "203.0.113.1",
    )
    .await
    .expect(StatusCode::OK, None);
    // a network sending junk tokens runs out too (3 of its 6 are used above)
    for _ in 0..3 {
        refresh("v4.local.junk".into(), "203.0.113.1")
            .await
            .expect(StatusCode::UNAUTHORIZED, None);
    }
    let limited = refresh("v4.local.junk".into(), "203.0.113.1").await;
    limited.expect(StatusCode::TOO_MANY_REQUESTS, Some("rate_limited"));
    assert_eq!(limited.body["error"]["details"]["policy"], "refresh");
}

#[tokio::test]
async fn failed_sign_ins_back_off_per_network_without_locking_the_owner_out() {
    let app = TestApp::api_with(|env| {
        env.insert("TRUSTED_PROXIES", "127.0.0.1/32".into());
    })
    .await;
    let handle = unique("bo");
    app.register(&handle).await;
    let attacker = "203.0.113.66";
    for _ in 0..5 {
        login_from(&app, attacker, &handle, "wrong password!")
            .await
            .expect(StatusCode::UNAUTHORIZED, Some("invalid_credentials"));
    }
    // the sixth try waits, even with the right password
    let waiting = login_from(&app, attacker, &handle, PASSWORD).await;
    waiting.expect(StatusCode::TOO_MANY_REQUESTS, Some("rate_limited"));
    let retry_after: u64 = waiting.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=15).contains(&retry_after), "{retry_after}");
    // the same login typed as the email is the same account
    login_from(&app, attacker, &format!("{handle}@example.org"), PASSWORD)
        .await
        .expect(StatusCode::TOO_MANY_REQUESTS, Some("rate_limited"));
    // the owner, elsewhere, signs in
    login_from(&app, "198.51.100.20", &handle, PASSWORD)
        .await
        .expect(StatusCode::OK, None);
    // unknown accounts are throttled alike (nothing tells them apart)
    let nobody = unique("nobody");
    for _ in 0..5 {
        login_from(&app, attacker, &nobody, "wrong password!")
            .await
            .expect(StatusCode::UNAUTHORIZED, Some("invalid_credentials"));
    }
    login_from(&app, attacker, &nobody, "wrong password!")
        .await
        .expect(StatusCode::TOO_MANY_REQUESTS, Some("rate_limited"));
}

#[tokio::test]
async fn an_account_under_attack_slows_new_networks_but_not_the_owners() {
    let app = TestApp::api_with(|env| {
        env.insert("TRUSTED_PROXIES", "127.0.0.1/32".into());
        env.insert("RATE_LIMIT_LOGIN_ACCOUNT", "3/1h".into());
    })
    .await;
    let handle = unique("ac");
    app.register(&handle).await;
    let home = "198.51.100.7";
    login_from(&app, home, &handle, PASSWORD)
        .await
        .expect(StatusCode::OK, None);
    // three failures from three networks: each under its own back-off
    for i in 1..=3 {
        login_from(&app, &format!("203.0.113.{i}"), &handle, "wrong password!")
            .await
            .expect(StatusCode::UNAUTHORIZED, Some("invalid_credentials"));
    }
    // past the ceiling, new networks share one attempt per 10 s
    login_from(&app, "203.0.113.4", &handle, "wrong password!")
        .await
        .expect(StatusCode::UNAUTHORIZED, Some("invalid_credentials"));
    login_from(&app, "203.0.113.5", &handle, PASSWORD)
        .await
        .expect(StatusCode::TOO_MANY_REQUESTS, Some("rate_limited"));
    // the owner's network is not held back
    login_from(&app, home, &handle, PASSWORD)
        .await
        .expect(StatusCode::OK, None);
}

#[tokio::test]
async fn ipv6_counts_by_slash_64_and_mapped_ipv4_as_ipv4() {
    let app = TestApp::api_with(|env| {
        env.insert("RATE_LIMIT_REGISTER", "2/30m".into());
        env.insert("TRUSTED_PROXIES", "127.0.0.1/32".into());
    })
    .await;
    let register = |from: &'static str| {
        let app = &app;
        async move {
            let handle = unique("v6");
            post_from(
                app,
                "/v1/auth/register",
                from,
                json!({ "handle": handle, "email": format!("{handle}@example.org"), "password": PASSWORD }),
            )
            .await
            .status
        }
    };
    assert_eq!(register("2001:db8:1:2::1").await, StatusCode::CREATED);
    assert_eq!(register("2001:db8:1:2:ffff::2").await, StatusCode::CREATED);
    // a third address of the same /64 is the same host network
    assert_eq!(
        register("2001:db8:1:2:abcd:1234:5678:9").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(register("2001:db8:1:3::1").await, StatusCode::CREATED);
    assert_eq!(register("::ffff:203.0.113.8").await, StatusCode::CREATED);
    assert_eq!(register("203.0.113.8").await, StatusCode::CREATED);
    assert_eq!(
        register("::ffff:203.0.113.8").await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

/// Issue 25, finding 5: a stolen session must not be a password oracle.
async fn confirm(app: &TestApp, token: &str, guess: &str) -> Reply {
    app.post(
        "/v1/me/password",
        Some(token),
        json!({ "current_password": guess, "new_password": "a brand new passphrase" }),
    )
    .await
}

fn access_token(body: &Value) -> String {
    body["access_token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn failed_password_confirmations_end_the_session_that_makes_them() {
    let app = TestApp::api().await;
    let handle = unique("po");
    let stolen = access_token(&app.register(&handle).await);
    for guess in 1..ciel::auth::CONFIRMATION_FAILURES {
        confirm(&app, &stolen, &format!("guess number {guess}"))
            .await
            .expect(StatusCode::FORBIDDEN, Some("wrong_password"));
    }
    confirm(&app, &stolen, "the last guess")
        .await
        .expect(StatusCode::UNAUTHORIZED, Some("session_revoked"));
    // Ended: not even the right password goes through it now.
    confirm(&app, &stolen, PASSWORD)
        .await
        .expect(StatusCode::UNAUTHORIZED, Some("session_revoked"));
    app.get("/v1/me", Some(&stolen))
        .await
        .expect(StatusCode::UNAUTHORIZED, Some("session_revoked"));
    // The owner is not locked out: a new session confirms and changes it.
    let own = access_token(
        &login_from(&app, "198.51.100.9", &handle, PASSWORD)
            .await
            .body,
    );
    confirm(&app, &own, PASSWORD)
        .await
        .expect(StatusCode::NO_CONTENT, None);
}

#[tokio::test]
async fn failed_password_confirmations_count_in_the_accounts_sign_in_back_off() {
    let app = TestApp::api_with(|env| {
        env.insert("RATE_LIMIT_LOGIN_ACCOUNT", "3/1h".into());
    })
    .await;
    let handle = unique("pb");
    let first = access_token(&app.register(&handle).await);
    let second = access_token(
        &login_from(&app, "198.51.100.10", &handle, PASSWORD)
            .await
            .body,
    );
    for guess in 1..=3 {
        confirm(&app, &first, &format!("guess number {guess}"))
            .await
            .expect(StatusCode::FORBIDDEN, Some("wrong_password"));
    }
    // Past the account's ceiling, another session is paced like a new
    // network: of two quick guesses, one is refused before it is checked.
    let a = confirm(&app, &second, "another guess 1").await;
    let b = confirm(&app, &second, "another guess 2").await;
    let paced = [&a, &b]
        .iter()
        .filter(|r| r.status == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(paced, 1, "{} then {}", a.body, b.body);
}

/// Issue 25, finding 3: each bounce message may make the API fetch a
/// certificate, so the route is limited per client network.
#[tokio::test]
async fn the_bounce_webhook_is_limited_per_client_network() {
    let app = TestApp::api_with(|env| {
        env.insert("TRUSTED_PROXIES", "127.0.0.1/32".into());
        env.insert("RATE_LIMIT_MAIL_EVENTS", "2/1m".into());
    })
    .await;
    let from = "203.0.113.50";
    for _ in 0..2 {
        // No SNS_TOPIC_ARN here: the route answers that it does not exist.
        post_from(&app, "/v1/mail/sns", from, json!({}))
            .await
            .expect(StatusCode::NOT_FOUND, Some("not_found"));
    }
    post_from(&app, "/v1/mail/sns", from, json!({}))
        .await
        .expect(StatusCode::TOO_MANY_REQUESTS, Some("rate_limited"));
    post_from(&app, "/v1/mail/sns", "203.0.113.51", json!({}))
        .await
        .expect(StatusCode::NOT_FOUND, Some("not_found"));
}
