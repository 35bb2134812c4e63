//! Notices from anyone (issue 29, EU DSA Art. 16): a signed-out notice
//! joins the admin report queue (and can be upheld like any report), its
//! address is acknowledged by mail within a daily bound, and the route is
//! limited per network.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::smtp::SmtpServer;
use crate::common::social::{id_of, post, user};
use crate::common::{Backing, TestApp, unique};
use crate::trust::{ADMIN, admin};

fn notice(content: &str, good_faith: bool) -> Value {
    json!({
        "name": "Rita Notifier",
        "email": "rita@example.net",
        "target_type": "post",
        "content": content,
        "category": "child_safety",
        "explanation": "This photo shows my child without my consent.",
        "good_faith": good_faith,
    })
}

#[tokio::test]
async fn a_notice_joins_the_report_queue_and_is_acknowledged_within_bounds() {
    let smtp = SmtpServer::start().await;
    let backing = Backing::new().await;
    let mut env = backing.env("dev");
    env.insert("SMTP_URL", smtp.url());
    env.insert("MAIL_FROM", "Ciel <no-reply@mail.example.org>".into());
    env.insert("APP_LINK_BASE_URL", "https://links.example.org/app".into());
    env.insert("ADMIN_TOKEN", ADMIN.into());
    env.insert("RATE_LIMIT_NOTICES", "7/1h".into());
    let app = TestApp::spawn(&backing, env).await;
    let pool = backing.pool().await;
    let ana = user(&app, &unique("ana")).await;
    let post_id = id_of(&post(&app, &pool, &ana, "a beach").await);
    let link = format!("https://ciel.example/p/{post_id}");

    // Signed out; the statement of good faith is required, and the content
    // must exist.
    let filed = app.post("/v1/notices", None, notice(&link, true)).await;
    filed.expect(StatusCode::ACCEPTED, None);
    app.post("/v1/notices", None, notice(&link, false))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed"));
    app.post(
        "/v1/notices",
        None,
        notice("https://ciel.example/p/none", true),
    )
    .await
    .expect(StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed"));
    let unknown = format!("https://ciel.example/p/{}", uuid::Uuid::now_v7());
    app.post("/v1/notices", None, notice(&unknown, true))
        .await
        .expect(StatusCode::NOT_FOUND, Some("report_target_not_found"));

    // In the queue, child safety first, with who sent it.
    let queue = admin(&app, Method::GET, "/v1/admin/reports", None).await;
    queue.expect(StatusCode::OK, None);
    let first = &queue.body["items"][0];
    assert_eq!(first["id"], filed.body["id"]);
    assert!(first["reporter_id"].is_null());
    assert_eq!(first["notifier_name"], "Rita Notifier");
    assert_eq!(first["notifier_email"], "rita@example.net");
    assert_eq!(first["category"], "child_safety");
    assert_eq!(first["target_id"], post_id.to_string());
    let mail = smtp
        .mail("rita@example.net", "We received your notice")
        .await;
    assert!(mail.text.contains("received the notice"), "{}", mail.text);

    // Upheld like any report: a strike for the author.
    let path = format!("/v1/admin/reports/{}/resolution", id_of(&filed.body));
    let body = json!({ "resolution": "upheld", "reason": "as notified" });
    let resolved = admin(&app, Method::POST, &path, Some(body)).await;
    resolved.expect(StatusCode::OK, None);
    assert_eq!(resolved.body["strike"]["user_id"], ana.id.to_string());

    // Three acknowledgements a day per address: a fourth notice is filed
    // without a mail. Then the network's limit.
    for _ in 0..3 {
        app.post("/v1/notices", None, notice(&post_id.to_string(), true))
            .await
            .expect(StatusCode::ACCEPTED, None);
    }
    let acks: i64 =
        sqlx::query_scalar("SELECT count(*) FROM mail_outbox WHERE notice_id IS NOT NULL")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(acks, 3);
    let notices: i64 =
        sqlx::query_scalar("SELECT count(*) FROM reports WHERE notice_id IS NOT NULL")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(notices, 4);
    app.post("/v1/notices", None, notice(&link, true))
        .await
        .expect(StatusCode::TOO_MANY_REQUESTS, Some("rate_limited"));
}

#[tokio::test]
async fn the_notice_route_is_documented_with_its_errors() {
    let document = serde_json::to_value(ciel::http::openapi_document()).unwrap();
    let responses = &document["paths"]["/v1/notices"]["post"]["responses"];
    for status in ["202", "404", "422", "429"] {
        assert!(responses[status].is_object(), "{status}");
    }
    let good_faith =
        &document["components"]["schemas"]["NoticeRequest"]["properties"]["good_faith"];
    assert_eq!(good_faith["enum"], json!([true]), "{good_faith}");
    assert!(
        document["paths"]["/v1/notices"]["post"]["security"].is_null()
            || document["paths"]["/v1/notices"]["post"]["security"] == json!([])
    );
}
