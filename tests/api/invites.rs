//! Invite-only sign-up and the invite tree (issue 26, invites): codes
//! minted within a quota, redeemed atomically, previewed publicly, revoked,
//! and an admin's batches and branch suspensions.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{PASSWORD, Reply, TestApp, unique};

const ADMIN: &str = "moderator-secret-token";

async fn invite_app(
    tweak: impl FnOnce(&mut std::collections::HashMap<&'static str, String>),
) -> TestApp {
    TestApp::api_with(|env| {
        env.insert("SIGNUP_MODE", "invite".into());
        env.insert("ADMIN_TOKEN", ADMIN.into());
        env.insert("APP_LINK_BASE_URL", "https://links.example.org/app".into());
        tweak(env);
    })
    .await
}

async fn sign_up(app: &TestApp, handle: &str, code: Option<&str>) -> Reply {
    let mut body =
        json!({ "handle": handle, "email": format!("{handle}@example.org"), "password": PASSWORD });
    if let Some(code) = code {
        body["invite_code"] = json!(code);
    }
    app.post("/v1/auth/register", None, body).await
}

async fn admin_codes(app: &TestApp, body: Value) -> Vec<String> {
    let reply = app
        .client
        .post(app.url("/v1/admin/invites"))
        .header("X-Admin-Token", ADMIN)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::CREATED);
    let body: Value = reply.json().await.unwrap();
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["code"].as_str().unwrap().to_string())
        .collect()
}

async fn users_named(app: &TestApp, handle: &str) -> i64 {
    let pool = app.backing.pool().await;
    sqlx::query_scalar("SELECT count(*) FROM users WHERE handle = $1")
        .bind(handle)
        .fetch_one(&pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn invite_mode_needs_a_valid_code_and_says_the_same_of_every_bad_one() {
    let app = invite_app(|_| {}).await;
    let handle = unique("nc");
    sign_up(&app, &handle, None)
        .await
        .expect(StatusCode::FORBIDDEN, Some("invite_required"));
    let code = admin_codes(&app, json!({ "count": 1 })).await.remove(0);
    let expired = admin_codes(&app, json!({ "count": 1 })).await.remove(0);
    let pool = app.backing.pool().await;
    sqlx::query("UPDATE invites SET expires_at = now() - interval '1 second' WHERE code = $1")
        .bind(expired.replace('-', ""))
        .execute(&pool)
        .await
        .unwrap();
    for bad in ["nonsense", "0000-0000-0000-0000", expired.as_str()] {
        sign_up(&app, &handle, Some(bad))
            .await
            .expect(StatusCode::FORBIDDEN, Some("invite_invalid"));
        app.get(&format!("/v1/invites/{bad}"), None)
            .await
            .expect(StatusCode::FORBIDDEN, Some("invite_invalid"));
    }
    assert_eq!(users_named(&app, &handle).await, 0, "nothing written");

    // Typed loosely: lower case, no dashes, O for 0.
    let typed = code.replace('-', "").to_lowercase().replace('0', "o");
    let preview = app.get(&format!("/v1/invites/{typed}"), None).await;
    preview.expect(StatusCode::OK, None);
    assert!(preview.body["inviter"].is_null(), "an admin's code");
    sign_up(&app, &handle, Some(&typed))
        .await
        .expect(StatusCode::CREATED, None);
    // Used up: the same answer as for any other bad code.
    sign_up(&app, &unique("nd"), Some(&code))
        .await
        .expect(StatusCode::FORBIDDEN, Some("invite_invalid"));
}

#[tokio::test]
async fn a_one_use_code_redeemed_at_once_makes_exactly_one_account() {
    let app = invite_app(|_| {}).await;
    let code = admin_codes(&app, json!({ "count": 1 })).await.remove(0);
    let handles: Vec<String> = (0..8).map(|i| unique(&format!("r{i}"))).collect();
    let replies =
        futures::future::join_all(handles.iter().map(|h| sign_up(&app, h, Some(&code)))).await;
    let created = replies
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    assert_eq!(created, 1);
    for reply in replies.iter().filter(|r| r.status != StatusCode::CREATED) {
        reply.expect(StatusCode::FORBIDDEN, Some("invite_invalid"));
    }
    let pool = app.backing.pool().await;
    let (accounts, uses): (i64, i32) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM users WHERE handle = ANY($1)), uses FROM invites WHERE code = $2",
    )
    .bind(&handles)
    .bind(code.replace('-', ""))
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((accounts, uses), (1, 1));
}

#[tokio::test]
async fn users_mint_within_their_quota_share_revoke_and_see_who_joined() {
    let app = invite_app(|env| {
        env.insert("TRUST_LIMITS_NEW", "invites=2".into());
    })
    .await;
    let seed = admin_codes(&app, json!({ "count": 1, "max_uses": 5 }))
        .await
        .remove(0);
    let ana_handle = unique("ana");
    let ana = sign_up(&app, &ana_handle, Some(&seed)).await;
    ana.expect(StatusCode::CREATED, None);
    let token = ana.body["access_token"].as_str().unwrap().to_string();

    let minted = app
        .post(
            "/v1/invites",
            Some(&token),
            json!({ "max_uses": 2, "lifetime_days": 3 }),
        )
        .await;
    minted.expect(StatusCode::CREATED, None);
    let code = minted.body["code"].as_str().unwrap().to_string();
    assert_eq!(code.len(), 19, "four groups of four: {code}");
    assert_eq!(
        minted.body["link"],
        format!("https://links.example.org/app/invite?code={code}")
    );
    let second = app.post("/v1/invites", Some(&token), json!({})).await;
    second.expect(StatusCode::CREATED, None);
    app.post("/v1/invites", Some(&token), json!({}))
        .await
        .expect(StatusCode::FORBIDDEN, Some("invite_quota_exhausted"));
    for bad in [json!({ "max_uses": 0 }), json!({ "lifetime_days": 31 })] {
        app.post("/v1/invites", Some(&token), bad)
            .await
            .expect(StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed"));
    }
    let list = app.get("/v1/invites", Some(&token)).await;
    list.expect(StatusCode::OK, None);
    assert_eq!(list.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        (list.body["per_week"].clone(), list.body["left"].clone()),
        (json!(2), json!(0))
    );

    // The preview shows who invites.
    let preview = app.get(&format!("/v1/invites/{code}"), None).await;
    preview.expect(StatusCode::OK, None);
    assert_eq!(preview.body["inviter"]["handle"], ana_handle.as_str());

    let bo = unique("bo");
    sign_up(&app, &bo, Some(&code))
        .await
        .expect(StatusCode::CREATED, None);
    let joined = app.get("/v1/me/invitees", Some(&token)).await;
    joined.expect(StatusCode::OK, None);
    assert_eq!(joined.body["items"][0]["handle"], bo.as_str());

    // Revoked: nobody else joins with it; who joined stays.
    app.delete(&format!("/v1/invites/{code}"), Some(&token))
        .await
        .expect(StatusCode::NO_CONTENT, None);
    sign_up(&app, &unique("cy"), Some(&code))
        .await
        .expect(StatusCode::FORBIDDEN, Some("invite_invalid"));
    assert_eq!(users_named(&app, &bo).await, 1);
    // Nobody revokes someone else's code.
    let other = sign_up(&app, &unique("ot"), Some(&seed)).await;
    let other = other.body["access_token"].as_str().unwrap();
    let seconds = second.body["code"].as_str().unwrap();
    app.delete(&format!("/v1/invites/{seconds}"), Some(other))
        .await
        .expect(StatusCode::NOT_FOUND, Some("invite_not_found"));
    app.get(&format!("/v1/invites/{seconds}"), None)
        .await
        .expect(StatusCode::OK, None);
}

#[tokio::test]
async fn an_admin_lists_invitees_and_suspends_a_branch_of_the_tree() {
    let app = invite_app(|env| {
        env.insert("TRUST_LIMITS_NEW", "invites=5".into());
    })
    .await;
    let seed = admin_codes(&app, json!({ "count": 1, "max_uses": 3 }))
        .await
        .remove(0);
    let root = unique("root");
    let root_reply = sign_up(&app, &root, Some(&seed)).await;
    root_reply.expect(StatusCode::CREATED, None);
    let root_token = root_reply.body["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let bystander = unique("by");
    sign_up(&app, &bystander, Some(&seed))
        .await
        .expect(StatusCode::CREATED, None);

    let code = app
        .post("/v1/invites", Some(&root_token), json!({ "max_uses": 2 }))
        .await;
    let code = code.body["code"].as_str().unwrap().to_string();
    let child = unique("ch");
    let child_reply = sign_up(&app, &child, Some(&code)).await;
    let child_token = child_reply.body["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let grandchild_code = app.post("/v1/invites", Some(&child_token), json!({})).await;
    let grandchild = unique("gc");
    sign_up(
        &app,
        &grandchild,
        Some(grandchild_code.body["code"].as_str().unwrap()),
    )
    .await
    .expect(StatusCode::CREATED, None);

    let admin_get = |path: String| {
        app.client
            .get(app.url(&path))
            .header("X-Admin-Token", ADMIN)
            .send()
    };
    let invitees: Value = admin_get(format!("/v1/admin/users/{root}/invitees"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(invitees["items"][0]["handle"], child.as_str());

    let reply = app
        .client
        .post(app.url(&format!("/v1/admin/users/{root}/suspend-branch")))
        .header("X-Admin-Token", ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::OK);
    let body: Value = reply.json().await.unwrap();
    assert_eq!(body["suspended"], 3);
    for token in [&root_token, &child_token] {
        app.get("/v1/me", Some(token))
            .await
            .expect(StatusCode::UNAUTHORIZED, Some("session_revoked"));
    }
    let pool = app.backing.pool().await;
    let bystander_suspended: bool =
        sqlx::query_scalar("SELECT suspended_at IS NOT NULL FROM users WHERE handle = $1")
            .bind(&bystander)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(
        !bystander_suspended,
        "a sibling invited by the admin's code is not in the branch"
    );
}

#[tokio::test]
async fn open_mode_takes_no_code_and_still_records_one_given() {
    let app = TestApp::api_with(|env| {
        env.insert("ADMIN_TOKEN", ADMIN.into());
    })
    .await;
    sign_up(&app, &unique("op"), None)
        .await
        .expect(StatusCode::CREATED, None);
    let code = admin_codes(&app, json!({ "count": 1 })).await.remove(0);
    let handle = unique("oq");
    sign_up(&app, &handle, Some(&code))
        .await
        .expect(StatusCode::CREATED, None);
    let pool = app.backing.pool().await;
    let recorded: bool =
        sqlx::query_scalar("SELECT invite_id IS NOT NULL FROM users WHERE handle = $1")
            .bind(&handle)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(recorded);
    sign_up(&app, &unique("or"), Some("0000-0000-0000-0000"))
        .await
        .expect(StatusCode::FORBIDDEN, Some("invite_invalid"));
}
