//! Push notifications, end to end: an API process writes the pushes, the
//! test takes their jobs off the queue and POSTs them to a serverless worker
//! (as Scaleway's trigger does), which sends them to local APNs and FCM
//! servers that check signatures, headers and payloads as the real ones do
//! (tests/api/common/push.rs).

use std::collections::HashMap;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use crate::common::push::{ApnsServer, FcmServer};
use crate::common::social::{User, patch, post, user};
use crate::common::{Backing, PASSWORD, TestApp, free_port, unique};

struct Rig {
    backing: Backing,
    api: TestApp,
    worker: TestApp,
    apns: ApnsServer,
    fcm: FcmServer,
    pool: PgPool,
}

fn worker_env(
    backing: &Backing,
    apns: Option<&ApnsServer>,
    fcm: Option<&FcmServer>,
) -> HashMap<&'static str, String> {
    let mut env = backing.env("serverless-worker");
    if let Some(apns) = apns {
        apns.env(&mut env);
    }
    if let Some(fcm) = fcm {
        fcm.env(&mut env);
    }
    env
}

async fn rig() -> Rig {
    let backing = Backing::new().await;
    let apns = ApnsServer::start().await;
    let fcm = FcmServer::start().await;
    let api = TestApp::spawn(&backing, backing.env("api")).await;
    let worker = TestApp::spawn(&backing, worker_env(&backing, Some(&apns), Some(&fcm))).await;
    let pool = backing.pool().await;
    Rig {
        backing,
        api,
        worker,
        apns,
        fcm,
        pool,
    }
}

/// A counter's value in a Prometheus text, 0 when absent.
fn counted(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0.0)
}

fn apns_token() -> String {
    format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple())
}

fn fcm_token() -> String {
    format!(
        "fcm:{}_{}",
        Uuid::new_v4().simple(),
        Uuid::new_v4().simple()
    )
}

impl Rig {
    async fn user(&self, prefix: &str) -> User {
        user(&self.api, &unique(prefix)).await
    }

    async fn register(&self, who: &User, installation: &str, body: Value) -> crate::common::Reply {
        self.api
            .request(
                Method::PUT,
                &format!("/v1/me/devices/{installation}"),
                who.token(),
                Some(body),
            )
            .await
    }

    async fn apns_device(&self, who: &User) -> String {
        let token = apns_token();
        self.register(
            who,
            "iphone-1",
            json!({ "provider": "apns", "token": token }),
        )
        .await
        .expect(StatusCode::OK, None);
        token
    }

    async fn follow(&self, who: &User, whom: &User) {
        self.api
            .post(
                &format!("/v1/users/{}/follow", whom.handle),
                who.token(),
                json!({}),
            )
            .await
            .expect(StatusCode::NO_CONTENT, None);
    }

    /// At least `at_least` of a `push_sent_total` series on the worker (the
    /// recorder is the test process's: other tests count too).
    async fn expect_counted(&self, series: &str, at_least: f64) {
        let metrics = self.worker.metrics().await;
        assert!(counted(&metrics, series) >= at_least, "{series}: {metrics}");
    }

    async fn like(&self, who: &User, post_id: &str) {
        self.api
            .request(
                Method::POST,
                &format!("/v1/posts/{post_id}/like"),
                who.token(),
                None,
            )
            .await
            .expect(StatusCode::NO_CONTENT, None);
    }

    /// Takes every job off the queue and POSTs the push jobs to `worker`;
    /// returns how many it delivered.
    async fn deliver_to(&self, worker: &TestApp) -> usize {
        let queue = self.backing.queue();
        let mut delivered = 0;
        loop {
            let messages = queue
                .receive(10, Duration::from_secs(1), Duration::from_secs(30))
                .await
                .unwrap();
            if messages.is_empty() {
                return delivered;
            }
            for message in messages {
                queue.delete(&message.receipt_handle).await.unwrap();
                if message.body.contains(r#""type":"send_push""#) {
                    let body: Value = serde_json::from_str(&message.body).unwrap();
                    worker
                        .post("/", None, body)
                        .await
                        .expect(StatusCode::OK, None);
                    delivered += 1;
                }
            }
        }
    }

    async fn deliver(&self) -> usize {
        self.deliver_to(&self.worker).await
    }

    async fn sweep(&self) -> usize {
        ciel::push::requeue_pending(&self.pool, &self.backing.queue(), Duration::ZERO)
            .await
            .unwrap()
    }

    async fn statuses(&self) -> Vec<String> {
        sqlx::query_scalar("SELECT status::text FROM push_outbox ORDER BY created_at")
            .fetch_all(&self.pool)
            .await
            .unwrap()
    }

    async fn devices_of(&self, who: &User) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM push_devices WHERE user_id = $1")
            .bind(who.id)
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    /// Ends the back-off of every pending push, as time would.
    async fn end_backoff(&self) {
        sqlx::query("UPDATE push_outbox SET next_attempt_at = now() WHERE status = 'pending'")
            .execute(&self.pool)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn devices_are_validated_rotated_and_end_with_their_session() {
    let rig = rig().await;
    let ana = rig.user("ana").await;
    let first = apns_token();
    let reply = rig
        .register(&ana, "iphone-1", json!({ "provider": "apns", "token": first, "environment": "sandbox", "app_version": "1.2.0", "locale": "fr-FR" }))
        .await;
    reply.expect(StatusCode::OK, None);
    assert_eq!(reply.body["provider"], "apns");
    assert_eq!(reply.body["environment"], "sandbox");
    let id = reply.body["id"].clone();
    // A rotated token replaces the old one on the same device.
    let rotated = apns_token();
    let reply = rig
        .register(
            &ana,
            "iphone-1",
            json!({ "provider": "apns", "token": rotated }),
        )
        .await;
    reply.expect(StatusCode::OK, None);
    assert_eq!(reply.body["id"], id);
    let tokens: Vec<String> = sqlx::query_scalar("SELECT token FROM push_devices")
        .fetch_all(&rig.pool)
        .await
        .unwrap();
    assert_eq!(tokens, vec![rotated]);

    // A token that is not one of the provider named: what the document
    // cannot say, a 400.
    for (installation, body) in [
        (
            "iphone-1",
            json!({ "provider": "apns", "token": "not-hex" }),
        ),
        ("pixel", json!({ "provider": "fcm", "token": "short" })),
        (
            "pixel",
            json!({ "provider": "fcm", "token": fcm_token(), "environment": "sandbox" }),
        ),
    ] {
        rig.register(&ana, installation, body)
            .await
            .expect(StatusCode::BAD_REQUEST, Some("invalid_device_token"));
    }
    for (installation, body, field) in [
        (
            "bad%20id",
            json!({ "provider": "fcm", "token": fcm_token() }),
            "installation_id",
        ),
        (
            "pixel",
            json!({ "provider": "fcm", "token": fcm_token(), "locale": "fr FR" }),
            "locale",
        ),
    ] {
        let reply = rig.register(&ana, installation, body).await;
        reply.expect(StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed"));
        assert!(
            reply.body["error"]["details"]["fields"][field].is_string(),
            "{}",
            reply.body
        );
    }
    // An empty locale is none.
    rig.register(
        &ana,
        "pixel",
        json!({ "provider": "fcm", "token": fcm_token(), "locale": "" }),
    )
    .await
    .expect(StatusCode::OK, None);
    rig.register(
        &ana,
        "pixel",
        json!({ "provider": "wns", "token": fcm_token() }),
    )
    .await
    .expect(StatusCode::UNPROCESSABLE_ENTITY, None);

    // Signing out removes the session's devices.
    rig.api
        .request(Method::POST, "/v1/auth/logout", ana.token(), None)
        .await
        .expect(StatusCode::NO_CONTENT, None);
    assert_eq!(rig.devices_of(&ana).await, 0);

    // A new session registers again; DELETE unregisters, twice is fine.
    let reply = rig
        .api
        .post(
            "/v1/auth/login",
            None,
            json!({ "login": ana.handle, "password": PASSWORD }),
        )
        .await;
    reply.expect(StatusCode::OK, None);
    let ana = User {
        token: reply.body["access_token"].as_str().unwrap().to_string(),
        ..ana
    };
    rig.apns_device(&ana).await;
    assert_eq!(rig.devices_of(&ana).await, 1);
    for _ in 0..2 {
        rig.api
            .delete("/v1/me/devices/iphone-1", ana.token())
            .await
            .expect(StatusCode::NO_CONTENT, None);
    }
    assert_eq!(rig.devices_of(&ana).await, 0);

    // Deleting the account ends its sessions, and so its devices.
    rig.apns_device(&ana).await;
    rig.api
        .request(
            Method::DELETE,
            "/v1/me",
            ana.token(),
            Some(json!({ "password": PASSWORD })),
        )
        .await;
    let left: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM push_devices d JOIN auth_sessions s ON s.id = d.session_id
         WHERE s.revoked_at IS NULL",
    )
    .fetch_one(&rig.pool)
    .await
    .unwrap();
    assert_eq!(left, 0);
}

#[tokio::test]
async fn settings_and_the_badge_count() {
    let rig = rig().await;
    let (ana, bo) = (rig.user("ana").await, rig.user("bo").await);
    let reply = rig
        .api
        .get("/v1/me/notification-settings", ana.token())
        .await;
    reply.expect(StatusCode::OK, None);
    assert_eq!(reply.body["push"]["like"], "everyone");
    assert_eq!(reply.body["push"]["moderation"], "everyone");
    let reply = patch(
        &rig.api,
        "/v1/me/notification-settings",
        ana.token(),
        json!({ "push": { "like": "following", "comment": "off" } }),
    )
    .await;
    reply.expect(StatusCode::OK, None);
    assert_eq!(reply.body["push"]["like"], "following");
    assert_eq!(reply.body["push"]["comment"], "off");
    assert_eq!(reply.body["push"]["follow"], "everyone");
    patch(
        &rig.api,
        "/v1/me/notification-settings",
        ana.token(),
        json!({ "push": { "moderation": "following" } }),
    )
    .await
    .expect(StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed"));
    patch(
        &rig.api,
        "/v1/me/notification-settings",
        ana.token(),
        json!({ "push": { "like": "sometimes" } }),
    )
    .await
    .expect(StatusCode::UNPROCESSABLE_ENTITY, None);

    let count = |who: User| {
        let api = &rig.api;
        async move {
            let reply = api.get("/v1/notifications/unread-count", who.token()).await;
            reply.expect(StatusCode::OK, None);
            reply.body["count"].as_i64().unwrap()
        }
    };
    assert_eq!(count(ana.clone()).await, 0);
    rig.follow(&bo, &ana).await;
    assert_eq!(count(ana.clone()).await, 1);
    rig.api
        .post(
            "/v1/notifications/read",
            ana.token(),
            json!({ "all": true }),
        )
        .await
        .expect(StatusCode::OK, None);
    assert_eq!(count(ana.clone()).await, 0);
}

#[tokio::test]
async fn a_like_and_a_comment_reach_apns_signed_without_their_text() {
    let rig = rig().await;
    let (ana, bo) = (rig.user("ana").await, rig.user("bo").await);
    let token = rig.apns_device(&ana).await;
    let caption = "caption-secret-5b1e";
    let post_id = post(&rig.api, &rig.pool, &ana, caption).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    rig.like(&bo, &post_id).await;
    assert_eq!(rig.deliver().await, 1);
    rig.api
        .post(
            &format!("/v1/posts/{post_id}/comments"),
            bo.token(),
            json!({ "text": "comment-secret-77c0" }),
        )
        .await
        .expect(StatusCode::CREATED, None);
    assert_eq!(rig.deliver().await, 1);
    let received = rig.apns.received();
    assert_eq!(received.len(), 2, "{received:?}");
    let like = &received[0];
    assert_eq!(like.device_token, token);
    assert_eq!(
        like.collapse_id.as_deref(),
        Some(format!("like-{}", post_id.replace('-', "")).as_str())
    );
    assert_eq!(
        like.payload["aps"]["alert"]["body"],
        format!("@{} liked your post", bo.handle)
    );
    assert_eq!(like.payload["aps"]["badge"], 1);
    assert_eq!(like.payload["ciel"]["post_id"], post_id);
    assert_eq!(
        received[1].payload["aps"]["alert"]["body"],
        format!("@{} commented on your post", bo.handle)
    );
    assert_eq!(received[1].payload["aps"]["badge"], 2);
    for push in &received {
        assert!(!push.raw.contains("secret"), "{}", push.raw);
    }
    // One provider token for both pushes.
    assert_eq!(rig.apns.provider_tokens(), 1);
    assert_eq!(rig.statuses().await, vec!["sent", "sent"]);
    rig.expect_counted(r#"push_sent_total{provider="apns",result="sent"}"#, 2.0)
        .await;
}

#[tokio::test]
async fn a_rotated_token_gets_the_push_and_a_dead_one_is_removed() {
    let rig = rig().await;
    let (ana, bo, cy) = (
        rig.user("ana").await,
        rig.user("bo").await,
        rig.user("cy").await,
    );
    let old = rig.apns_device(&ana).await;
    let new = apns_token();
    rig.register(
        &ana,
        "iphone-1",
        json!({ "provider": "apns", "token": new }),
    )
    .await
    .expect(StatusCode::OK, None);
    let post_id = post(&rig.api, &rig.pool, &ana, "p").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    rig.like(&bo, &post_id).await;
    assert_eq!(rig.deliver().await, 1);
    let received = rig.apns.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].device_token, new);
    assert_ne!(received[0].device_token, old);

    // APNs says the app is gone (410 Unregistered): the device goes.
    rig.apns.unregister(&new);
    rig.follow(&cy, &ana).await;
    assert_eq!(rig.deliver().await, 1);
    assert_eq!(rig.devices_of(&ana).await, 0);
    assert_eq!(rig.apns.received().len(), 1);

    // FCM's UNREGISTERED does the same.
    let fcm = fcm_token();
    rig.register(&bo, "pixel", json!({ "provider": "fcm", "token": fcm }))
        .await
        .expect(StatusCode::OK, None);
    rig.fcm.unregister(&fcm);
    rig.follow(&cy, &bo).await;
    assert_eq!(rig.deliver().await, 1);
    assert_eq!(rig.devices_of(&bo).await, 0);
    rig.expect_counted(
        r#"push_sent_total{provider="fcm",result="unregistered"}"#,
        1.0,
    )
    .await;
}

#[tokio::test]
async fn a_throttled_push_backs_off_and_goes_out_later() {
    let rig = rig().await;
    let (ana, bo) = (rig.user("ana").await, rig.user("bo").await);
    rig.apns_device(&ana).await;
    rig.apns.script(429, "TooManyRequests");
    rig.follow(&bo, &ana).await;
    assert_eq!(rig.deliver().await, 1);
    assert_eq!(rig.apns.requests(), 1);
    assert!(rig.apns.received().is_empty());
    let waits: bool = sqlx::query_scalar(
        "SELECT next_attempt_at > now() + interval '20 seconds' FROM push_outbox",
    )
    .fetch_one(&rig.pool)
    .await
    .unwrap();
    assert!(waits, "the back-off is recorded");
    // Not before its time: the sweep leaves it, and a stray job does nothing.
    assert_eq!(rig.sweep().await, 0);
    assert_eq!(rig.statuses().await, vec!["pending"]);
    rig.end_backoff().await;
    assert_eq!(rig.sweep().await, 1);
    assert_eq!(rig.deliver().await, 1);
    assert_eq!(rig.apns.received().len(), 1);
    assert_eq!(rig.statuses().await, vec!["sent"]);

    // FCM's Retry-After is honoured.
    rig.register(
        &bo,
        "pixel",
        json!({ "provider": "fcm", "token": fcm_token() }),
    )
    .await
    .expect(StatusCode::OK, None);
    rig.fcm.script(429, Some(600));
    rig.follow(&ana, &bo).await;
    assert_eq!(rig.deliver().await, 1);
    let waits: bool = sqlx::query_scalar(
        "SELECT next_attempt_at > now() + interval '590 seconds' FROM push_outbox WHERE status = 'pending'",
    )
    .fetch_one(&rig.pool)
    .await
    .unwrap();
    assert!(waits, "Retry-After is honoured");
    rig.end_backoff().await;
    assert_eq!(rig.sweep().await, 1);
    assert_eq!(rig.deliver().await, 1);
    assert_eq!(rig.fcm.received().len(), 1);
}

#[tokio::test]
async fn with_the_provider_down_the_like_succeeds_and_the_push_goes_out_later() {
    let rig = rig().await;
    let (ana, bo) = (rig.user("ana").await, rig.user("bo").await);
    rig.apns_device(&ana).await;
    let mut env = worker_env(&rig.backing, Some(&rig.apns), None);
    let down = format!("http://127.0.0.1:{}", free_port());
    env.insert("PUSH_APNS_PRODUCTION_URL", down);
    let cut_off = TestApp::spawn(&rig.backing, env).await;
    let post_id = post(&rig.api, &rig.pool, &ana, "p").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    rig.like(&bo, &post_id).await;
    assert_eq!(rig.deliver_to(&cut_off).await, 1);
    let (status, error): (String, Option<String>) =
        sqlx::query_as("SELECT status::text, last_error FROM push_outbox")
            .fetch_one(&rig.pool)
            .await
            .unwrap();
    assert_eq!(status, "pending");
    assert!(error.is_some_and(|e| e.contains("unreachable")));
    // APNs is back.
    rig.end_backoff().await;
    assert_eq!(rig.sweep().await, 1);
    assert_eq!(rig.deliver().await, 1);
    assert_eq!(rig.apns.received().len(), 1);
    assert_eq!(rig.statuses().await, vec!["sent"]);
}

#[tokio::test]
async fn nothing_is_pushed_for_an_unlike_a_block_or_a_setting_off() {
    let rig = rig().await;
    let (ana, bo, cy) = (
        rig.user("ana").await,
        rig.user("bo").await,
        rig.user("cy").await,
    );
    rig.apns_device(&ana).await;
    let post_id = post(&rig.api, &rig.pool, &ana, "p").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Liked, then unliked before the worker ran.
    rig.like(&bo, &post_id).await;
    rig.api
        .delete(&format!("/v1/posts/{post_id}/like"), bo.token())
        .await
        .expect(StatusCode::NO_CONTENT, None);
    // Followed, then blocked.
    rig.follow(&cy, &ana).await;
    rig.api
        .post(
            &format!("/v1/users/{}/block", cy.handle),
            ana.token(),
            json!({}),
        )
        .await
        .expect(StatusCode::NO_CONTENT, None);
    assert_eq!(rig.deliver().await, 2);
    assert_eq!(rig.apns.requests(), 0);
    assert_eq!(rig.statuses().await, vec!["dropped"]);

    // Comments off: nothing is even written.
    patch(
        &rig.api,
        "/v1/me/notification-settings",
        ana.token(),
        json!({ "push": { "comment": "off" } }),
    )
    .await
    .expect(StatusCode::OK, None);
    rig.api
        .post(
            &format!("/v1/posts/{post_id}/comments"),
            bo.token(),
            json!({ "text": "hi" }),
        )
        .await
        .expect(StatusCode::CREATED, None);
    assert_eq!(rig.deliver().await, 0);
    assert_eq!(rig.apns.requests(), 0);
}

#[tokio::test]
async fn a_burst_of_likes_is_one_push() {
    let rig = rig().await;
    let ana = rig.user("ana").await;
    rig.apns_device(&ana).await;
    let post_id = post(&rig.api, &rig.pool, &ana, "p").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut likers = Vec::new();
    for _ in 0..4 {
        let liker = rig.user("fan").await;
        rig.like(&liker, &post_id).await;
        likers.push(liker);
    }
    assert_eq!(
        rig.statuses().await,
        vec!["pending"],
        "coalesced in the outbox"
    );
    rig.deliver().await;
    let received = rig.apns.received();
    assert_eq!(received.len(), 1);
    assert_eq!(
        received[0].payload["aps"]["alert"]["body"],
        format!("@{} and 3 others liked your post", likers[3].handle)
    );
    // A later like replaces it on the phone: same collapse id.
    let late = rig.user("late").await;
    rig.like(&late, &post_id).await;
    rig.deliver().await;
    let received = rig.apns.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].collapse_id, received[1].collapse_id);
    assert_eq!(
        received[1].payload["aps"]["alert"]["body"],
        format!("@{} and 4 others liked your post", late.handle)
    );
}

#[tokio::test]
async fn fcm_pushes_share_one_access_token_and_carry_no_caption() {
    let rig = rig().await;
    let ana = rig.user("ana").await;
    let token = fcm_token();
    rig.register(&ana, "pixel", json!({ "provider": "fcm", "token": token }))
        .await
        .expect(StatusCode::OK, None);
    let post_id = post(&rig.api, &rig.pool, &ana, "caption-secret-1").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    for _ in 0..2 {
        let fan = rig.user("fan").await;
        rig.like(&fan, &post_id).await;
        assert_eq!(rig.deliver().await, 1);
    }
    let received = rig.fcm.received();
    assert_eq!(received.len(), 2);
    assert_eq!(rig.fcm.grants(), 1, "the access token is reused");
    assert_eq!(received[0].message["token"], token);
    assert!(received[0].message["android"]["collapse_key"].is_string());
    assert_eq!(received[1].message["data"]["others"], "1");
    assert!(received.iter().all(|m| !m.raw.contains("secret")));
}

#[tokio::test]
async fn without_credentials_pushes_are_dropped_and_nothing_fails() {
    let backing = Backing::new().await;
    let api = TestApp::spawn(&backing, backing.env("api")).await;
    let worker = TestApp::spawn(&backing, worker_env(&backing, None, None)).await;
    let rig = Rig {
        pool: backing.pool().await,
        apns: ApnsServer::start().await,
        fcm: FcmServer::start().await,
        backing,
        api,
        worker,
    };
    let (ana, bo) = (rig.user("ana").await, rig.user("bo").await);
    rig.apns_device(&ana).await;
    rig.follow(&bo, &ana).await;
    assert_eq!(rig.deliver().await, 1);
    assert_eq!(rig.statuses().await, vec!["dropped"]);
    rig.expect_counted(
        r#"push_sent_total{provider="apns",result="unconfigured"}"#,
        1.0,
    )
    .await;
}

#[tokio::test]
async fn the_openapi_document_describes_the_push_routes() {
    let app = TestApp::api().await;
    let doc = app.get("/openapi.json", None).await.body;
    for (path, method) in [
        ("/v1/me/devices/{installation_id}", "put"),
        ("/v1/me/devices/{installation_id}", "delete"),
        ("/v1/me/notification-settings", "get"),
        ("/v1/me/notification-settings", "patch"),
        ("/v1/notifications/unread-count", "get"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{path} {method}");
    }
    let codes = &doc["paths"]["/v1/me/devices/{installation_id}"]["put"]["responses"]["422"];
    assert!(codes.is_object());
}

#[tokio::test]
async fn a_provider_token_apns_refuses_is_replaced_and_the_push_retried() {
    let rig = rig().await;
    let (ana, bo) = (rig.user("ana").await, rig.user("bo").await);
    rig.apns_device(&ana).await;
    let post_id = post(&rig.api, &rig.pool, &ana, "p").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    rig.like(&bo, &post_id).await;
    assert_eq!(rig.deliver().await, 1);
    assert_eq!(rig.apns.provider_tokens(), 1);
    // Another worker process uses the same provider token.
    let other = TestApp::spawn(
        &rig.backing,
        worker_env(&rig.backing, Some(&rig.apns), None),
    )
    .await;
    let cy = rig.user("cy").await;
    rig.like(&cy, &post_id).await;
    assert_eq!(rig.deliver_to(&other).await, 1);
    assert_eq!(rig.apns.received().len(), 2);
    assert_eq!(rig.apns.provider_tokens(), 1, "one token for all workers");
    // Apple says the token expired: the next push mints another.
    rig.apns.script(403, "ExpiredProviderToken");
    rig.follow(&bo, &ana).await;
    assert_eq!(rig.deliver().await, 1);
    assert_eq!(rig.statuses().await, vec!["sent", "sent", "pending"]);
    rig.end_backoff().await;
    assert_eq!(rig.sweep().await, 1);
    assert_eq!(rig.deliver().await, 1);
    assert_eq!(rig.apns.received().len(), 3);
    assert_eq!(rig.apns.provider_tokens(), 2, "a new provider token");
}

#[tokio::test]
async fn the_dev_process_sends_pushes_through_its_own_worker() {
    let backing = Backing::new().await;
    let apns = ApnsServer::start().await;
    let mut env = backing.env("dev");
    apns.env(&mut env);
    let app = TestApp::spawn(&backing, env).await;
    let ana = user(&app, &unique("ana")).await;
    let bo = user(&app, &unique("bo")).await;
    app.request(
        Method::PUT,
        "/v1/me/devices/iphone-1",
        ana.token(),
        Some(json!({ "provider": "apns", "token": apns_token() })),
    )
    .await
    .expect(StatusCode::OK, None);
    app.post(
        &format!("/v1/users/{}/follow", ana.handle),
        bo.token(),
        json!({}),
    )
    .await
    .expect(StatusCode::NO_CONTENT, None);
    let received = crate::common::eventually(Duration::from_secs(30), "the push", || async {
        let received = apns.received();
        (!received.is_empty()).then_some(received)
    })
    .await;
    assert_eq!(
        received[0].payload["aps"]["alert"]["body"],
        format!("@{} started following you", bo.handle)
    );
}
