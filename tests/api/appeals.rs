//! Statements of reasons and appeals (issue 29, EU DSA Art. 17 and 20):
//! a takedown or a strike is stated to its user with its ground; the user
//! appeals once; an admin upholds or reverses, and a reversal brings the
//! post back and withdraws the strike, on the record. And terms versions:
//! an account that has not accepted the terms in force cannot post.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::smtp::SmtpServer;
use crate::common::social::{User, id_of, post, user};
use crate::common::{Backing, TestApp, unique};
use crate::trust::{ADMIN, admin, login};

async fn moderated_app() -> TestApp {
    TestApp::api_with(|env| {
        env.insert("ADMIN_TOKEN", ADMIN.into());
    })
    .await
}

async fn decisions(app: &TestApp, who: &User) -> Vec<Value> {
    let reply = app.get("/v1/me/moderation-decisions", who.token()).await;
    reply.expect(StatusCode::OK, None);
    reply.body["items"].as_array().unwrap().clone()
}

async fn appeal(app: &TestApp, who: &User, decision: &Value, text: &str) -> crate::common::Reply {
    let path = format!("/v1/me/moderation-decisions/{}/appeal", id_of(decision));
    app.post(&path, who.token(), json!({ "text": text })).await
}

async fn answer(app: &TestApp, decision: &Value, outcome: &str) -> crate::common::Reply {
    let path = format!("/v1/admin/appeals/{}/decision", id_of(decision));
    let body = json!({ "outcome": outcome, "reason": "looked again" });
    admin(app, Method::POST, &path, Some(body)).await
}

#[tokio::test]
async fn an_appeal_that_wins_restores_the_post_and_withdraws_its_strike() {
    let app = moderated_app().await;
    let pool = app.backing.pool().await;
    let ana = user(&app, &unique("ana")).await;
    let bob = user(&app, &unique("bob")).await;
    let photo = post(&app, &pool, &ana, "a painting").await;
    let post_id = id_of(&photo);
    app.post(
        "/v1/reports",
        bob.token(),
        json!({ "target_type": "post", "target_id": post_id, "category": "violence", "reason": "gore" }),
    )
    .await
    .expect(StatusCode::CREATED, None);
    let path = format!("/v1/admin/posts/{post_id}/takedown?reason=graphic%20violence");
    admin(&app, Method::POST, &path, None)
        .await
        .expect(StatusCode::NO_CONTENT, None);
    // Asked twice, stated once.
    admin(&app, Method::POST, &path, None)
        .await
        .expect(StatusCode::NO_CONTENT, None);

    // The statement: what, on what ground, and that it may be appealed.
    let stated = decisions(&app, &ana).await;
    assert_eq!(stated.len(), 1, "{stated:?}");
    let decision = &stated[0];
    assert_eq!(decision["kind"], "post_takedown");
    assert_eq!(decision["subject_id"], post_id.to_string());
    assert_eq!(decision["ground"], "graphic violence");
    assert_eq!(decision["category"], "violence");
    assert_eq!(decision["appealable"], true);
    assert!(decision["strike_id"].is_string());
    assert!(decisions(&app, &bob).await.is_empty());
    // In the app, it is a notification too: no actor, the decision named,
    // counted in the badge; nobody else gets it.
    let told = app.get("/v1/notifications", ana.token()).await;
    let told = told.body["items"].as_array().unwrap().clone();
    let moderation: Vec<&Value> = told.iter().filter(|n| n["type"] == "moderation").collect();
    assert_eq!(moderation.len(), 1, "{told:?}");
    assert!(moderation[0]["actor"].is_null());
    assert!(moderation[0]["post"].is_null());
    assert_eq!(moderation[0]["decision_id"], decision["id"]);
    let badge = app.get("/v1/notifications/unread-count", ana.token()).await;
    assert_eq!(badge.body["count"], told.len());
    let bobs = app.get("/v1/notifications", bob.token()).await;
    assert!(
        !bobs.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["type"] == "moderation")
    );
    app.get(&format!("/v1/posts/{post_id}"), bob.token())
        .await
        .expect(StatusCode::NOT_FOUND, Some("post_not_found"));

    // Only its user appeals, once, with a text.
    appeal(&app, &bob, decision, "not mine to appeal")
        .await
        .expect(StatusCode::NOT_FOUND, Some("decision_not_found"));
    appeal(&app, &ana, decision, "   ")
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed"));
    answer(&app, decision, "reversed")
        .await
        .expect(StatusCode::NOT_FOUND, Some("appeal_not_found"));
    let appealed = appeal(&app, &ana, decision, "It is a painting of mine.").await;
    appealed.expect(StatusCode::OK, None);
    assert_eq!(appealed.body["appealable"], false);
    assert_eq!(appealed.body["appeal_text"], "It is a painting of mine.");
    appeal(&app, &ana, decision, "again")
        .await
        .expect(StatusCode::CONFLICT, Some("already_appealed"));

    // The admins' queue has it; reversing it brings the post back.
    let queue = admin(&app, Method::GET, "/v1/admin/appeals", None).await;
    queue.expect(StatusCode::OK, None);
    let queued: Vec<_> = queue.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect();
    assert_eq!(queued, [id_of(decision)]);
    let reversed = answer(&app, decision, "reversed").await;
    reversed.expect(StatusCode::OK, None);
    assert_eq!(reversed.body["appeal_outcome"], "reversed");
    assert_eq!(reversed.body["appeal_reason"], "looked again");
    answer(&app, decision, "upheld")
        .await
        .expect(StatusCode::CONFLICT, Some("appeal_already_decided"));
    app.get(&format!("/v1/posts/{post_id}"), bob.token())
        .await
        .expect(StatusCode::OK, None);
    let queue = admin(&app, Method::GET, "/v1/admin/appeals", None).await;
    assert!(queue.body["items"].as_array().unwrap().is_empty());

    // The strike no longer counts, and every step is on the record.
    let trust = app.get("/v1/me/trust", ana.token()).await;
    assert_eq!(trust.body["active_strikes"], 0);
    let record = admin(
        &app,
        Method::GET,
        &format!("/v1/admin/users/{}/trust", ana.handle),
        None,
    )
    .await;
    let actions: Vec<&str> = record.body["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    for expected in ["decide_appeal", "restore_post", "withdraw_strike", "strike"] {
        assert!(
            actions.contains(&expected),
            "{expected} missing from {actions:?}"
        );
    }
    let mine = decisions(&app, &ana).await;
    assert_eq!(mine[0]["appeal_outcome"], "reversed");
}

#[tokio::test]
async fn an_upheld_report_is_stated_and_an_upheld_appeal_keeps_the_strike() {
    let app = moderated_app().await;
    let ana = user(&app, &unique("ana")).await;
    let bob = user(&app, &unique("bob")).await;
    let reply = app
        .post(
            "/v1/reports",
            bob.token(),
            json!({ "target_type": "user", "target_id": ana.id, "category": "harassment", "reason": "insults" }),
        )
        .await;
    reply.expect(StatusCode::CREATED, None);
    let path = format!("/v1/admin/reports/{}/resolution", id_of(&reply.body));
    let body = json!({ "resolution": "upheld", "reason": "insults in the bio" });
    let resolved = admin(&app, Method::POST, &path, Some(body)).await;
    resolved.expect(StatusCode::OK, None);

    let stated = decisions(&app, &ana).await;
    assert_eq!(stated.len(), 1);
    assert_eq!(stated[0]["kind"], "strike");
    assert_eq!(stated[0]["category"], "harassment");
    assert_eq!(stated[0]["ground"], "insults in the bio");
    assert_eq!(
        stated[0]["subject_id"],
        resolved.body["strike"]["strike_id"]
    );
    appeal(&app, &ana, &stated[0], "They were jokes between friends.")
        .await
        .expect(StatusCode::OK, None);
    let upheld = answer(&app, &stated[0], "upheld").await;
    upheld.expect(StatusCode::OK, None);
    assert_eq!(upheld.body["appeal_outcome"], "upheld");
    let trust = app.get("/v1/me/trust", ana.token()).await;
    assert_eq!(trust.body["active_strikes"], 1);
}

#[tokio::test]
async fn posting_waits_for_the_terms_in_force_to_be_accepted() {
    let app = TestApp::api_with(|env| {
        env.insert("TERMS_VERSION", "2026-12".into());
    })
    .await;
    let pool = app.backing.pool().await;
    // A client that sends no version (as before versions) signs up...
    let old = user(&app, &unique("old")).await;
    let photo = crate::common::social::ready_media(&pool, old.id, 1).await;
    let posting = json!({ "caption": "hi", "media_ids": photo });
    // ... and must accept before posting or commenting.
    app.post("/v1/posts", old.token(), posting.clone())
        .await
        .expect(StatusCode::FORBIDDEN, Some("terms_not_accepted"));
    app.post("/v1/me/terms", old.token(), json!({ "version": "2026-11" }))
        .await
        .expect(StatusCode::CONFLICT, Some("terms_version_not_current"));
    app.post("/v1/me/terms", old.token(), json!({ "version": "2026-12" }))
        .await
        .expect(StatusCode::NO_CONTENT, None);
    let posted = app.post("/v1/posts", old.token(), posting).await;
    posted.expect(StatusCode::CREATED, None);
    let comments = format!("/v1/posts/{}/comments", id_of(&posted.body));

    // A sign-up naming the current version may post at once; another
    // version is refused.
    let handle = unique("new");
    let register = |version: &'static str, handle: String| {
        let app = &app;
        async move {
            app.post(
                "/v1/auth/register",
                None,
                json!({ "handle": handle, "email": format!("{handle}@example.org"),
                        "password": crate::common::PASSWORD, "terms_version": version }),
            )
            .await
        }
    };
    register("2025-01", handle.clone())
        .await
        .expect(StatusCode::CONFLICT, Some("terms_version_not_current"));
    let signed_up = register("2026-12", handle).await;
    signed_up.expect(StatusCode::CREATED, None);
    let token = signed_up.body["access_token"].as_str().unwrap();
    app.post(&comments, Some(token), json!({ "text": "nice" }))
        .await
        .expect(StatusCode::CREATED, None);

    // A new version in force: both accept again.
    let backing = app.backing.clone();
    app.stop().await;
    let mut env = backing.env("api");
    env.insert("TERMS_VERSION", "2027-01".into());
    let app = TestApp::spawn(&backing, env).await;
    app.post(&comments, Some(token), json!({ "text": "again" }))
        .await
        .expect(StatusCode::FORBIDDEN, Some("terms_not_accepted"));
    app.post("/v1/me/terms", Some(token), json!({ "version": "2027-01" }))
        .await
        .expect(StatusCode::NO_CONTENT, None);
    app.post(&comments, Some(token), json!({ "text": "again" }))
        .await
        .expect(StatusCode::CREATED, None);
}

#[tokio::test]
async fn the_appeal_and_terms_routes_are_documented_with_their_errors() {
    let document = serde_json::to_value(ciel::http::openapi_document()).unwrap();
    let codes = |path: &str, method: &str, status: &str| -> Vec<String> {
        document["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]
            ["properties"]["error"]["allOf"][1]["properties"]["code"]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{method} {path} {status}"))
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect()
    };
    let appeal = "/v1/me/moderation-decisions/{id}/appeal";
    assert!(codes(appeal, "post", "409").contains(&"already_appealed".into()));
    assert!(codes(appeal, "post", "404").contains(&"decision_not_found".into()));
    let decide = "/v1/admin/appeals/{id}/decision";
    assert!(codes(decide, "post", "409").contains(&"appeal_already_decided".into()));
    assert!(codes(decide, "post", "404").contains(&"appeal_not_found".into()));
    assert!(document["paths"]["/v1/admin/appeals"]["get"]["responses"]["200"].is_object());
    assert!(
        document["paths"]["/v1/me/moderation-decisions"]["get"]["responses"]["200"].is_object()
    );
    assert!(codes("/v1/me/terms", "post", "409").contains(&"terms_version_not_current".into()));
    assert!(
        codes("/v1/auth/register", "post", "409").contains(&"terms_version_not_current".into())
    );
    for path in ["/v1/posts", "/v1/stories", "/v1/posts/{id}/comments"] {
        assert!(
            codes(path, "post", "403").contains(&"terms_not_accepted".into()),
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_suspended_user_reads_and_appeals_by_the_mailed_link() {
    let smtp = SmtpServer::start().await;
    let backing = Backing::new().await;
    let mut env = backing.env("dev");
    env.insert("SMTP_URL", smtp.url());
    env.insert("MAIL_FROM", "Ciel <no-reply@mail.example.org>".into());
    env.insert("APP_LINK_BASE_URL", "https://links.example.org/app".into());
    env.insert("ADMIN_TOKEN", ADMIN.into());
    let app = TestApp::spawn(&backing, env).await;
    let ana = user(&app, &unique("ana")).await;
    let path = format!(
        "/v1/admin/users/{}/suspend?reason=a%20spam%20bot",
        ana.handle
    );
    admin(&app, Method::POST, &path, None)
        .await
        .expect(StatusCode::NO_CONTENT, None);
    login(&app, &ana)
        .await
        .expect(StatusCode::FORBIDDEN, Some("account_suspended"));

    // The mail states what and why, with a link that works signed out.
    let address = format!("{}@example.org", ana.handle);
    let mail = smtp
        .mail(&address, "A moderation decision about your Ciel account")
        .await;
    assert!(
        mail.text.contains("suspended your account"),
        "{}",
        mail.text
    );
    assert!(mail.text.contains("a spam bot"), "{}", mail.text);
    assert!(
        mail.link()
            .starts_with("https://links.example.org/app/appeal?token=")
    );
    let token = mail.token();
    let read = app
        .post("/v1/appeals/decision", None, json!({ "token": token }))
        .await;
    read.expect(StatusCode::OK, None);
    assert_eq!(read.body["kind"], "suspension");
    assert_eq!(read.body["ground"], "a spam bot");
    app.post(
        "/v1/appeals/decision",
        None,
        json!({ "token": "x".repeat(43) }),
    )
    .await
    .expect(StatusCode::BAD_REQUEST, Some("invalid_or_expired_token"));

    // One appeal, signed out; reversing it lifts the suspension.
    let appeal = json!({ "token": token, "text": "I am a person, not a bot." });
    let appealed = app.post("/v1/appeals", None, appeal.clone()).await;
    appealed.expect(StatusCode::OK, None);
    assert_eq!(appealed.body["appeal_text"], "I am a person, not a bot.");
    app.post("/v1/appeals", None, appeal)
        .await
        .expect(StatusCode::CONFLICT, Some("already_appealed"));
    answer(&app, &appealed.body, "reversed")
        .await
        .expect(StatusCode::OK, None);
    login(&app, &ana).await.expect(StatusCode::OK, None);
    let reread = app
        .post("/v1/appeals/decision", None, json!({ "token": token }))
        .await;
    assert_eq!(reread.body["appeal_outcome"], "reversed");
}
