//! Account recovery by email, end to end: a dev process (API and worker)
//! sends through a real SMTP server on loopback (aiosmtpd), and each test
//! follows the links of the delivered mails.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::common::smtp::SmtpServer;
use crate::common::{Backing, PASSWORD, TestApp, eventually, unique};
use reqwest::StatusCode;
use serde_json::{Value, json};

const LINKS: &str = "https://links.example.org/app";

fn mail_env(backing: &Backing, smtp_url: &str) -> HashMap<&'static str, String> {
    with_mail(backing.env("dev"), smtp_url)
}

fn with_mail(
    mut env: HashMap<&'static str, String>,
    smtp_url: &str,
) -> HashMap<&'static str, String> {
    env.insert("SMTP_URL", smtp_url.to_string());
    env.insert("MAIL_FROM", "Ciel <no-reply@mail.example.org>".into());
    env.insert("APP_LINK_BASE_URL", LINKS.into());
    env
}

async fn app_with_mail(
    tweak: impl FnOnce(&mut HashMap<&'static str, String>),
) -> (TestApp, SmtpServer) {
    let smtp = SmtpServer::start().await;
    let backing = Backing::new().await;
    let mut env = mail_env(&backing, &smtp.url());
    tweak(&mut env);
    (TestApp::spawn(&backing, env).await, smtp)
}

fn email_of(handle: &str) -> String {
    format!("{handle}@example.org")
}

async fn me(app: &TestApp, token: &str) -> Value {
    let reply = app.get("/v1/me", Some(token)).await;
    reply.expect(StatusCode::OK, None);
    reply.body
}

fn access(body: &Value) -> String {
    body["access_token"].as_str().unwrap().to_string()
}

async fn login(app: &TestApp, login: &str, password: &str) -> crate::common::Reply {
    app.post(
        "/v1/auth/login",
        None,
        json!({ "login": login, "password": password }),
    )
    .await
}

async fn verify_email(app: &TestApp, token: &str) -> crate::common::Reply {
    app.post("/v1/auth/email/verify", None, json!({ "token": token }))
        .await
}

async fn reset_password(app: &TestApp, token: &str, new_password: &str) -> crate::common::Reply {
    app.post(
        "/v1/auth/password/reset",
        None,
        json!({ "token": token, "new_password": new_password }),
    )
    .await
}

/// Registers and verifies, by the link of the sign-up mail.
async fn verified_user(app: &TestApp, smtp: &SmtpServer, handle: &str) -> Value {
    let body = app.register(handle).await;
    let mail = smtp.mail(&email_of(handle), "Confirm your email").await;
    verify_email(app, &mail.token())
        .await
        .expect(StatusCode::NO_CONTENT, None);
    body
}

#[tokio::test]
async fn sign_up_mails_a_link_that_verifies_the_address_once() {
    let (app, smtp) = app_with_mail(|_| {}).await;
    let handle = unique("ana");
    let body = app.register(&handle).await;
    let token = access(&body);
    assert_eq!(body["user"]["email_verified"], json!(false));
    assert_eq!(me(&app, &token).await["email_verified"], json!(false));

    let mail = smtp.mail(&email_of(&handle), "Confirm your email").await;
    // Plain text and HTML, no remote content, a deep link to the apps.
    assert!(mail.raw.contains("multipart/alternative"), "{}", mail.raw);
    assert!(mail.raw.contains("text/plain") && mail.raw.contains("text/html"));
    assert!(!mail.text.to_lowercase().contains("<img"));
    assert!(
        mail.link()
            .starts_with(&format!("{LINKS}/verify-email?token=")),
        "{}",
        mail.link()
    );
    let link_token = mail.token();
    assert_eq!(link_token.len(), 43);
    // Only the token's hash is stored.
    let pool = app.backing.pool().await;
    let (hashed, plain): (bool, bool) = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM account_tokens WHERE token_hash = sha256(convert_to($1, 'UTF8'))),
                EXISTS (SELECT 1 FROM account_tokens t JOIN mail_outbox o ON o.id = t.mail_id
                        WHERE position(convert_to($1, 'UTF8') in t.token_hash) > 0
                           OR o.recipient = $1 OR o.last_error LIKE '%' || $1 || '%')",
    )
    .bind(&link_token)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(hashed && !plain);

    verify_email(&app, &link_token)
        .await
        .expect(StatusCode::NO_CONTENT, None);
    assert_eq!(me(&app, &token).await["email_verified"], json!(true));
    // Single use.
    verify_email(&app, &link_token)
        .await
        .expect(StatusCode::BAD_REQUEST, Some("invalid_or_expired_token"));
    for bad in ["", "nonsense", &"x".repeat(300)] {
        verify_email(&app, bad)
            .await
            .expect(StatusCode::BAD_REQUEST, Some("invalid_or_expired_token"));
    }
    app.post("/v1/auth/email/verify", None, json!({}))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed"));
    // Verified: nothing to resend.
    app.post("/v1/auth/email/resend", Some(&token), json!({}))
        .await
        .expect(StatusCode::CONFLICT, Some("email_already_verified"));
}

#[tokio::test]
async fn resend_mails_a_new_link_and_expired_links_fail() {
    let (app, smtp) = app_with_mail(|_| {}).await;
    let handle = unique("bo");
    let token = access(&app.register(&handle).await);
    let first = smtp.mail(&email_of(&handle), "Confirm your email").await;
    let reply = app
        .post("/v1/auth/email/resend", Some(&token), json!({}))
        .await;
    reply.expect(StatusCode::ACCEPTED, None);
    assert_eq!(reply.body["status"], "accepted");
    let second = smtp
        .nth_mail(2, &email_of(&handle), "Confirm your email")
        .await;
    assert_ne!(first.token(), second.token());
    app.post("/v1/auth/email/resend", None, json!({}))
        .await
        .expect(StatusCode::UNAUTHORIZED, Some("missing_token"));

    // The second link expires: it no longer verifies.
    let pool = app.backing.pool().await;
    sqlx::query(
        "UPDATE account_tokens SET expires_at = now() - interval '1 second'
         WHERE token_hash = sha256(convert_to($1, 'UTF8'))",
    )
    .bind(second.token())
    .execute(&pool)
    .await
    .unwrap();
    verify_email(&app, &second.token())
        .await
        .expect(StatusCode::BAD_REQUEST, Some("invalid_or_expired_token"));
    assert_eq!(me(&app, &token).await["email_verified"], json!(false));
    // The first still works, once.
    verify_email(&app, &first.token())
        .await
        .expect(StatusCode::NO_CONTENT, None);
    assert_eq!(me(&app, &token).await["email_verified"], json!(true));
}

#[tokio::test]
async fn a_reset_link_sets_the_password_ends_every_session_and_works_once() {
    let (app, smtp) = app_with_mail(|_| {}).await;
    let handle = unique("cy");
    let first = verified_user(&app, &smtp, &handle).await;
    let second = login(&app, &handle, PASSWORD).await;
    second.expect(StatusCode::OK, None);
    let sessions = [access(&first), access(&second.body)];
    let refresh = second.body["refresh_token"].as_str().unwrap().to_string();

    let reply = app
        .post(
            "/v1/auth/password/forgot",
            None,
            json!({ "email": email_of(&handle).to_uppercase() }),
        )
        .await;
    reply.expect(StatusCode::ACCEPTED, None);
    let mail = smtp
        .mail(&email_of(&handle), "Reset your Ciel password")
        .await;
    assert!(
        mail.link()
            .starts_with(&format!("{LINKS}/reset-password?token="))
    );
    let token = mail.token();

    // A password too short is refused without using the link.
    reset_password(&app, &token, "short")
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed"));
    let new_password = "a brand new passphrase";
    reset_password(&app, &token, new_password)
        .await
        .expect(StatusCode::NO_CONTENT, None);

    for access_token in &sessions {
        app.get("/v1/me", Some(access_token))
            .await
            .expect(StatusCode::UNAUTHORIZED, Some("session_revoked"));
    }
    app.post(
        "/v1/auth/refresh",
        None,
        json!({ "refresh_token": refresh }),
    )
    .await
    .expect(StatusCode::UNAUTHORIZED, None);
    login(&app, &handle, PASSWORD)
        .await
        .expect(StatusCode::UNAUTHORIZED, Some("invalid_credentials"));
    login(&app, &handle, new_password)
        .await
        .expect(StatusCode::OK, None);
    let notice = smtp.mail(&email_of(&handle), "password was changed").await;
    assert!(!notice.text.contains("token="));

    // Used: the same link fails, with the one code.
    reset_password(&app, &token, "yet another passphrase")
        .await
        .expect(StatusCode::BAD_REQUEST, Some("invalid_or_expired_token"));
    // A verification token is no reset token.
    reset_password(
        &app,
        &smtp
            .mail(&email_of(&handle), "Confirm your email")
            .await
            .token(),
        "yet another passphrase",
    )
    .await
    .expect(StatusCode::BAD_REQUEST, Some("invalid_or_expired_token"));
}

#[tokio::test]
async fn an_expired_reset_link_fails() {
    let (app, smtp) = app_with_mail(|_| {}).await;
    let handle = unique("di");
    verified_user(&app, &smtp, &handle).await;
    app.post(
        "/v1/auth/password/forgot",
        None,
        json!({ "email": email_of(&handle) }),
    )
    .await
    .expect(StatusCode::ACCEPTED, None);
    let token = smtp
        .mail(&email_of(&handle), "Reset your Ciel password")
        .await
        .token();
    let pool = app.backing.pool().await;
    let expires_in: f64 = sqlx::query_scalar(
        "SELECT EXTRACT(EPOCH FROM expires_at - created_at)::float8 FROM account_tokens
         WHERE token_hash = sha256(convert_to($1, 'UTF8'))",
    )
    .bind(&token)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(expires_in, 1800.0, "reset links last 30 minutes");
    sqlx::query(
        "UPDATE account_tokens SET expires_at = now() - interval '1 second'
         WHERE token_hash = sha256(convert_to($1, 'UTF8'))",
    )
    .bind(&token)
    .execute(&pool)
    .await
    .unwrap();
    reset_password(&app, &token, "a brand new passphrase")
        .await
        .expect(StatusCode::BAD_REQUEST, Some("invalid_or_expired_token"));
    login(&app, &handle, PASSWORD)
        .await
        .expect(StatusCode::OK, None);
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

#[tokio::test]
async fn forgot_answers_alike_whether_the_account_exists_or_not() {
    let (app, smtp) = app_with_mail(|_| {}).await;
    let verified = unique("ed");
    verified_user(&app, &smtp, &verified).await;
    let unverified = unique("fa");
    app.register(&unverified).await;
    let unknown = format!("{}@example.org", unique("nobody"));

    let ask = |email: String| {
        let app = &app;
        async move {
            let started = Instant::now();
            let reply = app
                .post("/v1/auth/password/forgot", None, json!({ "email": email }))
                .await;
            (started.elapsed(), reply)
        }
    };
    let (_, known_reply) = ask(email_of(&verified)).await;
    let (_, unknown_reply) = ask(unknown.clone()).await;
    let (_, unverified_reply) = ask(email_of(&unverified)).await;
    for reply in [&known_reply, &unknown_reply, &unverified_reply] {
        reply.expect(StatusCode::ACCEPTED, None);
    }
    assert_eq!(known_reply.body, unknown_reply.body);
    assert_eq!(known_reply.body, unverified_reply.body);

    // Timing: interleaved, so load on the machine hits both alike.
    let (mut known, mut absent) = (Vec::new(), Vec::new());
    for _ in 0..15 {
        known.push(ask(email_of(&verified)).await.0);
        absent.push(ask(unknown.clone()).await.0);
    }
    let (known, absent) = (median(known), median(absent));
    let gap = known.abs_diff(absent);
    println!("forgot: median {known:?} with an account, {absent:?} without (gap {gap:?})");
    assert!(
        gap < Duration::from_millis(25),
        "forgot's timing tells accounts apart: {known:?} vs {absent:?}"
    );

    // Only the verified account got reset mails (16 of them), no one else.
    eventually(Duration::from_secs(30), "16 reset mails", || async {
        (smtp.mails_to(&email_of(&verified), "Reset").len() == 16).then_some(())
    })
    .await;
    let pool = app.backing.pool().await;
    let resets: i64 =
        sqlx::query_scalar("SELECT count(*) FROM mail_outbox WHERE kind = 'password_reset'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(resets, 16);
    assert!(smtp.mails_to(&email_of(&unverified), "Reset").is_empty());
    assert!(smtp.mails_to(&unknown, "").is_empty());
    // Malformed input is a validation error, account or not.
    app.post(
        "/v1/auth/password/forgot",
        None,
        json!({ "email": "not-an-address" }),
    )
    .await
    .expect(StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed"));
}

#[tokio::test]
async fn changing_the_password_ends_the_other_sessions_only() {
    let (app, smtp) = app_with_mail(|_| {}).await;
    let handle = unique("gu");
    let this = access(&app.register(&handle).await);
    let other = access(&login(&app, &handle, PASSWORD).await.body);
    let change = |current: &str, new: &str| {
        app.post(
            "/v1/me/password",
            Some(&this),
            json!({ "current_password": current, "new_password": new }),
        )
    };
    change("wrong password!", "a brand new passphrase")
        .await
        .expect(StatusCode::FORBIDDEN, Some("wrong_password"));
    change(PASSWORD, "short")
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed"));
    change(PASSWORD, "a brand new passphrase")
        .await
        .expect(StatusCode::NO_CONTENT, None);
    me(&app, &this).await;
    app.get("/v1/me", Some(&other))
        .await
        .expect(StatusCode::UNAUTHORIZED, Some("session_revoked"));
    login(&app, &handle, "a brand new passphrase")
        .await
        .expect(StatusCode::OK, None);
    smtp.mail(&email_of(&handle), "password was changed").await;
}

#[tokio::test]
async fn an_email_change_waits_for_the_new_address_to_be_verified() {
    let (app, smtp) = app_with_mail(|_| {}).await;
    let handle = unique("ha");
    let token = access(&verified_user(&app, &smtp, &handle).await);
    let old = email_of(&handle);
    let new = format!("{handle}@example.net");
    let change = |password: &str, email: &str| {
        app.post(
            "/v1/me/email",
            Some(&token),
            json!({ "current_password": password, "new_email": email }),
        )
    };
    change("wrong password!", &new)
        .await
        .expect(StatusCode::FORBIDDEN, Some("wrong_password"));
    change(PASSWORD, "nope")
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed"));
    change(PASSWORD, &old.to_uppercase())
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY, Some("email_unchanged"));
    change(PASSWORD, &new)
        .await
        .expect(StatusCode::ACCEPTED, None);

    let notice = smtp.mail(&old, "being changed").await;
    assert!(
        !notice.text.contains(&new),
        "the notice masks the new address"
    );
    let link = smtp.mail(&new, "Confirm your new email").await;
    assert!(
        link.link()
            .starts_with(&format!("{LINKS}/confirm-email?token="))
    );
    // Nothing changed yet.
    let before = me(&app, &token).await;
    assert_eq!(before["email"], json!(old));
    assert_eq!(before["email_verified"], json!(true));
    login(&app, &new, PASSWORD)
        .await
        .expect(StatusCode::UNAUTHORIZED, Some("invalid_credentials"));

    verify_email(&app, &link.token())
        .await
        .expect(StatusCode::NO_CONTENT, None);
    let after = me(&app, &token).await;
    assert_eq!(after["email"], json!(new));
    assert_eq!(after["email_verified"], json!(true));
    login(&app, &new, PASSWORD)
        .await
        .expect(StatusCode::OK, None);
    login(&app, &old, PASSWORD)
        .await
        .expect(StatusCode::UNAUTHORIZED, Some("invalid_credentials"));
    verify_email(&app, &link.token())
        .await
        .expect(StatusCode::BAD_REQUEST, Some("invalid_or_expired_token"));
}

#[tokio::test]
async fn recovery_routes_are_rate_limited() {
    let (app, smtp) = app_with_mail(|env| {
        env.insert("RATE_LIMIT_FORGOT", "4/1h".into());
        env.insert("RATE_LIMIT_FORGOT_ADDRESS", "2/1h".into());
        env.insert("RATE_LIMIT_ACCOUNT_MAIL", "1/1h".into());
        env.insert("RATE_LIMIT_ACCOUNT_TOKEN", "3/1h".into());
    })
    .await;
    let handle = unique("jo");
    let token = access(&app.register(&handle).await);
    smtp.mail(&email_of(&handle), "Confirm your email").await;
    let forgot =
        |email: String| app.post("/v1/auth/password/forgot", None, json!({ "email": email }));
    forgot(email_of(&handle))
        .await
        .expect(StatusCode::ACCEPTED, None);
    forgot(email_of(&handle))
        .await
        .expect(StatusCode::ACCEPTED, None);
    let limited = forgot(email_of(&handle)).await;
    limited.expect(StatusCode::TOO_MANY_REQUESTS, Some("rate_limited"));
    assert_eq!(limited.body["error"]["details"]["policy"], "forgot_address");
    assert!(limited.header("retry-after").is_some());
    // Per client network: the fourth request of this network passes (other
    // address), the fifth does not, whatever the address.
    forgot("someone@example.org".into())
        .await
        .expect(StatusCode::ACCEPTED, None);
    let limited = forgot("someone.else@example.org".into()).await;
    limited.expect(StatusCode::TOO_MANY_REQUESTS, Some("rate_limited"));
    assert_eq!(limited.body["error"]["details"]["policy"], "forgot");

    app.post("/v1/auth/email/resend", Some(&token), json!({}))
        .await
        .expect(StatusCode::ACCEPTED, None);
    let limited = app
        .post("/v1/auth/email/resend", Some(&token), json!({}))
        .await;
    limited.expect(StatusCode::TOO_MANY_REQUESTS, Some("rate_limited"));
    assert_eq!(limited.body["error"]["details"]["policy"], "account_mail");

    for _ in 0..3 {
        verify_email(&app, "guess")
            .await
            .expect(StatusCode::BAD_REQUEST, Some("invalid_or_expired_token"));
    }
    let limited = app
        .post("/v1/auth/email/verify", None, json!({ "token": "guess" }))
        .await;
    limited.expect(StatusCode::TOO_MANY_REQUESTS, Some("rate_limited"));
    assert_eq!(limited.body["error"]["details"]["policy"], "account_token");
}

#[tokio::test]
async fn sign_up_succeeds_with_the_mail_server_down_and_the_mail_goes_out_later() {
    let port = crate::common::free_port();
    let backing = Backing::new().await;
    let app = TestApp::spawn(
        &backing,
        mail_env(&backing, &format!("smtp://127.0.0.1:{port}")),
    )
    .await;
    let handle = unique("ki");
    let started = Instant::now();
    let token = access(&app.register(&handle).await);
    assert!(started.elapsed() < Duration::from_secs(5));
    let pool = backing.pool().await;
    // The worker tried, failed, and left the mail pending.
    let error: String = eventually(Duration::from_secs(30), "a failed attempt", || async {
        sqlx::query_scalar::<_, Option<String>>(
            "SELECT last_error FROM mail_outbox WHERE kind = 'verify_email' AND status = 'pending' AND attempts >= 1",
        )
        .fetch_optional(&pool)
        .await
        .unwrap()
        .flatten()
    })
    .await;
    assert!(!error.is_empty());

    let smtp = SmtpServer::start_on(port).await;
    // The API's sweep (every minute) queues pending mails again.
    let queued = ciel::mail::requeue_pending(&pool, &backing.queue(), Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(queued, 1);
    let mail = smtp.mail(&email_of(&handle), "Confirm your email").await;
    verify_email(&app, &mail.token())
        .await
        .expect(StatusCode::NO_CONTENT, None);
    assert_eq!(me(&app, &token).await["email_verified"], json!(true));
    let status: String =
        sqlx::query_scalar("SELECT status::text FROM mail_outbox WHERE kind = 'verify_email'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(status, "sent");
}

#[tokio::test]
async fn the_serverless_worker_sends_mail_jobs_and_keeps_them_without_smtp() {
    let smtp = SmtpServer::start().await;
    let backing = Backing::new().await;
    let api = TestApp::spawn(&backing, backing.env("api")).await;
    let handle = unique("lu");
    api.register(&handle).await;
    let pool = backing.pool().await;
    let mail_id: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM mail_outbox WHERE kind = 'verify_email'")
            .fetch_one(&pool)
            .await
            .unwrap();
    let body = json!({ "type": "send_mail", "mail_id": mail_id });

    // Without mail settings it starts, and keeps the mail for later.
    let bare = TestApp::spawn(&backing, backing.env("serverless-worker")).await;
    let reply = bare.post("/", None, body.clone()).await;
    reply.expect(StatusCode::SERVICE_UNAVAILABLE, Some("transient_failure"));

    let worker = TestApp::spawn(&backing, mail_worker_env(&backing, &smtp)).await;
    let reply = worker.post("/", None, body.clone()).await;
    reply.expect(StatusCode::OK, None);
    assert_eq!(reply.body["outcome"], "processed");
    smtp.mail(&email_of(&handle), "Confirm your email").await;
    // A redelivery sends nothing more.
    let reply = worker.post("/", None, body).await;
    assert_eq!(reply.body["outcome"], "skipped");
    assert_eq!(smtp.mails_to(&email_of(&handle), "").len(), 1);
}

/// A serverless worker that sends through `smtp`: mail jobs are posted to
/// it by hand, so a test decides when and how often each is delivered.
fn mail_worker_env(backing: &Backing, smtp: &SmtpServer) -> HashMap<&'static str, String> {
    with_mail(backing.env("serverless-worker"), &smtp.url())
}

/// Registers through an API without a worker; returns the access token and
/// the sign-up mail's job, still undelivered.
async fn signed_up_with_mail_pending(api: &TestApp, handle: &str) -> (String, Value) {
    let token = access(&api.register(handle).await);
    let pool = api.backing.pool().await;
    let mail_id: uuid::Uuid = sqlx::query_scalar(
        "SELECT o.id FROM mail_outbox o JOIN users u ON u.id = o.user_id
         WHERE u.handle = $1 AND o.kind = 'verify_email'",
    )
    .bind(handle)
    .fetch_one(&pool)
    .await
    .unwrap();
    (token, json!({ "type": "send_mail", "mail_id": mail_id }))
}

#[tokio::test]
async fn two_deliveries_of_one_mail_at_once_send_it_once_with_a_working_link() {
    let smtp = SmtpServer::start().await;
    let backing = Backing::new().await;
    let api = TestApp::spawn(&backing, backing.env("api")).await;
    let worker = TestApp::spawn(&backing, mail_worker_env(&backing, &smtp)).await;
    for _ in 0..5 {
        let handle = unique("tw");
        let (token, job) = signed_up_with_mail_pending(&api, &handle).await;
        let (a, b) = tokio::join!(
            worker.post("/", None, job.clone()),
            worker.post("/", None, job)
        );
        let mut outcomes = [a.body["outcome"].clone(), b.body["outcome"].clone()];
        outcomes.sort_by_key(|o| o.to_string());
        assert_eq!(outcomes, [json!("processed"), json!("skipped")]);
        let mails = smtp.mails_to(&email_of(&handle), "Confirm your email");
        assert_eq!(mails.len(), 1);
        verify_email(&api, &mails[0].token())
            .await
            .expect(StatusCode::NO_CONTENT, None);
        assert_eq!(me(&api, &token).await["email_verified"], json!(true));
    }
}

#[tokio::test]
async fn a_mail_sent_again_after_its_send_went_unrecorded_keeps_the_first_link_working() {
    let smtp = SmtpServer::start().await;
    let backing = Backing::new().await;
    let api = TestApp::spawn(&backing, backing.env("api")).await;
    let worker = TestApp::spawn(&backing, mail_worker_env(&backing, &smtp)).await;
    let handle = unique("ag");
    let (token, job) = signed_up_with_mail_pending(&api, &handle).await;
    worker
        .post("/", None, job.clone())
        .await
        .expect(StatusCode::OK, None);
    let first = smtp.mail(&email_of(&handle), "Confirm your email").await;
    // The mail server took it, but the worker died before recording that:
    // the row is still pending and the queue delivers the job again.
    let pool = backing.pool().await;
    sqlx::query(
        "UPDATE mail_outbox SET status = 'pending', sent_at = NULL, sending_until = NULL
         WHERE id = $1",
    )
    .bind(
        job["mail_id"]
            .as_str()
            .unwrap()
            .parse::<uuid::Uuid>()
            .unwrap(),
    )
    .execute(&pool)
    .await
    .unwrap();
    let reply = worker.post("/", None, job).await;
    assert_eq!(reply.body["outcome"], "processed");
    let second = smtp
        .nth_mail(2, &email_of(&handle), "Confirm your email")
        .await;
    assert_ne!(first.token(), second.token());
    // The user follows the link of the mail that came first.
    verify_email(&api, &first.token())
        .await
        .expect(StatusCode::NO_CONTENT, None);
    assert_eq!(me(&api, &token).await["email_verified"], json!(true));
    // Using one link spent the other.
    verify_email(&api, &second.token())
        .await
        .expect(StatusCode::BAD_REQUEST, Some("invalid_or_expired_token"));
}

#[tokio::test]
async fn the_sweep_leaves_a_mail_just_written_to_the_request_that_queues_it() {
    let backing = Backing::new().await;
    let api = TestApp::spawn(&backing, backing.env("api")).await;
    let handle = unique("sw");
    let (_, job) = signed_up_with_mail_pending(&api, &handle).await;
    let mail_id: uuid::Uuid = job["mail_id"].as_str().unwrap().parse().unwrap();
    let pool = backing.pool().await;
    // As if the request that wrote it had not queued it yet.
    sqlx::query("UPDATE mail_outbox SET queued_at = NULL WHERE id = $1")
        .bind(mail_id)
        .execute(&pool)
        .await
        .unwrap();
    let queue = backing.queue();
    let requeued = ciel::mail::requeue_pending(&pool, &queue, ciel::mail::MAIL_RETRY_AFTER)
        .await
        .unwrap();
    assert_eq!(requeued, 0);
    // Written long ago and never queued: the job was lost.
    sqlx::query("UPDATE mail_outbox SET created_at = now() - interval '10 minutes' WHERE id = $1")
        .bind(mail_id)
        .execute(&pool)
        .await
        .unwrap();
    let requeued = ciel::mail::requeue_pending(&pool, &queue, ciel::mail::MAIL_RETRY_AFTER)
        .await
        .unwrap();
    assert_eq!(requeued, 1);
}

#[tokio::test]
async fn bounced_addresses_get_no_mail() {
    let (app, smtp) = app_with_mail(|_| {}).await;
    let handle = unique("mo");
    let pool = app.backing.pool().await;
    // As the bounce handling records it: lower-cased.
    sqlx::query("INSERT INTO mail_suppressions (address, reason) VALUES (lower($1), 'bounce')")
        .bind(email_of(&handle).to_uppercase())
        .execute(&pool)
        .await
        .unwrap();
    app.register(&handle).await;
    let status: String = eventually(Duration::from_secs(30), "the mail to settle", || async {
        sqlx::query_scalar::<_, String>(
            "SELECT status::text FROM mail_outbox WHERE kind = 'verify_email' AND status <> 'pending'",
        )
        .fetch_optional(&pool)
        .await
        .unwrap()
    })
    .await;
    assert_eq!(status, "suppressed");
    // Another address in the same process still gets its mail: the worker ran.
    let other = unique("no");
    app.register(&other).await;
    smtp.mail(&email_of(&other), "Confirm your email").await;
    assert!(smtp.mails_to(&email_of(&handle), "").is_empty());
}

#[tokio::test]
async fn the_openapi_document_describes_every_recovery_route() {
    let app = TestApp::api().await;
    let doc = app.get("/openapi.json", None).await.body;
    let routes: [(&str, &[&str]); 7] = [
        ("/v1/mail/sns", &["204", "400", "404"]),
        (
            "/v1/auth/email/verify",
            &["204", "400", "409", "422", "429"],
        ),
        ("/v1/auth/email/resend", &["202", "401", "409", "429"]),
        ("/v1/auth/password/forgot", &["202", "400", "422", "429"]),
        ("/v1/auth/password/reset", &["204", "400", "422", "429"]),
        ("/v1/me/password", &["204", "401", "403", "422", "429"]),
        ("/v1/me/email", &["202", "401", "403", "422", "429"]),
    ];
    // Whoever owns an address, changing to it answers alike (issue 25,
    // finding 11).
    assert!(doc["paths"]["/v1/me/email"]["post"]["responses"]["409"].is_null());
    for (path, statuses) in routes {
        let responses = &doc["paths"][path]["post"]["responses"];
        for status in statuses {
            assert!(
                responses.get(*status).is_some(),
                "{path} does not document {status}: {responses}"
            );
        }
    }
    let schemas = &doc["components"]["schemas"];
    for (schema, field) in [
        ("ForgotRequest", "email"),
        ("ResetRequest", "new_password"),
        ("ChangeEmailRequest", "new_email"),
        ("TokenRequest", "token"),
    ] {
        let property = &schemas[schema]["properties"][field];
        assert!(
            property.get("example").is_some(),
            "{schema}.{field}: {property}"
        );
        assert!(
            property.get("maxLength").is_some(),
            "{schema}.{field}: {property}"
        );
    }
    assert_eq!(
        schemas["UserResponse"]["properties"]["email_verified"]["type"],
        "boolean"
    );
}

/// A CA standing in for Scaleway's SNS trust chain, a signing certificate
/// it issued, and a rogue self-signed one, made with the openssl CLI.
struct SnsKeys {
    dir: std::path::PathBuf,
    /// Base URL the certificates are served from.
    certs: String,
    /// The signed `Timestamp` of the messages: now, unless a test replays.
    timestamp: String,
}

fn openssl(dir: &std::path::Path, args: &[&str]) {
    let status = std::process::Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("the openssl CLI");
    assert!(status.success(), "openssl {args:?}");
}

impl SnsKeys {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("ciel-sns-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        openssl(
            &dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                "/CN=Test SNS CA",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign",
            ],
        );
        openssl(
            &dir,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "leaf.key",
                "-out",
                "leaf.csr",
                "-subj",
                "/CN=sns.test",
            ],
        );
        std::fs::write(
            dir.join("leaf.ext"),
            "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nsubjectAltName=DNS:sns.test\n",
        )
        .unwrap();
        openssl(
            &dir,
            &[
                "x509",
                "-req",
                "-in",
                "leaf.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "leaf.pem",
                "-days",
                "2",
                "-extfile",
                "leaf.ext",
            ],
        );
        openssl(
            &dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "rogue.key",
                "-out",
                "rogue.pem",
                "-days",
                "2",
                "-subj",
                "/CN=sns.test",
            ],
        );
        SnsKeys {
            dir,
            certs: String::new(),
            timestamp: rfc3339(time::OffsetDateTime::now_utc()),
        }
    }

    /// Base64 signature of `text` by `key` (leaf or rogue), SHA1 for
    /// version 1, SHA256 for version 2.
    fn sign(&self, key: &str, version: u8, text: &str) -> String {
        use base64::Engine as _;
        let input = self
            .dir
            .join(format!("{}.txt", uuid::Uuid::new_v4().simple()));
        std::fs::write(&input, text).unwrap();
        let digest = if version == 1 { "-sha1" } else { "-sha256" };
        let out = std::process::Command::new("openssl")
            .args(["dgst", digest, "-sign"])
            .arg(self.dir.join(format!("{key}.key")))
            .arg(&input)
            .output()
            .expect("openssl dgst");
        assert!(out.status.success());
        base64::engine::general_purpose::STANDARD.encode(out.stdout)
    }
}

fn rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

impl Drop for SnsKeys {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const TOPIC: &str = "arn:scw:sns:fr-par:project-test:ciel-mail-events";

/// A signed SNS message; `tamper` changes the Message after signing.
impl SnsKeys {
    #[allow(clippy::too_many_arguments)]
    fn message(
        &self,
        key: &str,
        version: u8,
        kind: &str,
        message: &str,
        topic: &str,
        subscribe_url: Option<&str>,
    ) -> Value {
        let (id, timestamp, token) = (
            uuid::Uuid::new_v4().to_string(),
            self.timestamp.as_str(),
            "tok-123",
        );
        let mut signed = format!("Message\n{message}\nMessageId\n{id}\n");
        if let Some(url) = subscribe_url {
            signed.push_str(&format!(
                "SubscribeURL\n{url}\nTimestamp\n{timestamp}\nToken\n{token}\n"
            ));
        } else {
            signed.push_str(&format!("Timestamp\n{timestamp}\n"));
        }
        signed.push_str(&format!("TopicArn\n{topic}\nType\n{kind}\n"));
        let mut body = json!({
            "Type": kind, "MessageId": id, "TopicArn": topic, "Message": message,
            "Timestamp": timestamp, "SignatureVersion": version.to_string(),
            "Signature": self.sign(key, version, &signed),
            "SigningCertURL": format!("{}/{key}.pem", self.certs),
        });
        if let Some(url) = subscribe_url {
            body["SubscribeURL"] = json!(url);
            body["Token"] = json!(token);
        }
        body
    }
}

#[tokio::test]
async fn signed_bounces_make_an_address_undeliverable_and_forgeries_do_nothing() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let mut keys = SnsKeys::new();
    // The certificates' host, and the SubscribeURL the confirmation GETs.
    let confirmed = Arc::new(AtomicUsize::new(0));
    let dir = keys.dir.clone();
    let hits = confirmed.clone();
    let files = axum::Router::new()
        .route(
            "/confirm",
            axum::routing::get(move || {
                let hits = hits.clone();
                async move {
                    hits.fetch_add(1, Ordering::SeqCst);
                    "ok"
                }
            }),
        )
        .route(
            "/{file}",
            axum::routing::get(
                move |axum::extract::Path(file): axum::extract::Path<String>| {
                    let dir = dir.clone();
                    async move { std::fs::read_to_string(dir.join(file)).unwrap_or_default() }
                },
            ),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let certs = format!("http://{}", listener.local_addr().unwrap());
    keys.certs = certs.clone();
    tokio::spawn(async move { axum::serve(listener, files).await });

    let ca = keys.dir.join("ca.pem").to_string_lossy().into_owned();
    let (app, smtp) = app_with_mail(|env| {
        env.insert("SNS_TOPIC_ARN", TOPIC.into());
        env.insert("SNS_TRUST_CHAIN", ca);
        env.insert("SNS_CERT_URL_PREFIX", format!("{certs}/"));
    })
    .await;
    let pool = app.backing.pool().await;
    let suppressed = |address: String| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, String>(
                "SELECT reason FROM mail_suppressions WHERE address = lower($1)",
            )
            .bind(address)
            .fetch_optional(&pool)
            .await
            .unwrap()
        }
    };
    let post = |body: Value| {
        let app = &app;
        async move {
            let reply = app
                .client
                .post(app.url("/v1/mail/sns"))
                .header("content-type", "text/plain; charset=UTF-8")
                .body(body.to_string())
                .send()
                .await
                .unwrap();
            assert_eq!(reply.status(), StatusCode::NO_CONTENT);
        }
    };

    // The subscription is confirmed, once it verifies.
    let confirm_url = format!("{certs}/confirm");
    post(keys.message(
        "rogue",
        2,
        "SubscriptionConfirmation",
        "join",
        TOPIC,
        Some(&confirm_url),
    ))
    .await;
    assert_eq!(
        confirmed.load(Ordering::SeqCst),
        0,
        "a rogue confirmation is ignored"
    );
    post(keys.message(
        "leaf",
        2,
        "SubscriptionConfirmation",
        "join",
        TOPIC,
        Some(&confirm_url),
    ))
    .await;
    assert_eq!(confirmed.load(Ordering::SeqCst), 1);

    let victim = format!("{}@example.org", unique("pa"));
    let event = |kind: &str, to: &str| json!({ "type": kind, "email_to": to }).to_string();
    // Forgeries: a certificate outside the CA, another topic, a changed message.
    post(keys.message(
        "rogue",
        2,
        "Notification",
        &event("email_mailbox_not_found", &victim),
        TOPIC,
        None,
    ))
    .await;
    post(keys.message(
        "leaf",
        2,
        "Notification",
        &event("email_mailbox_not_found", &victim),
        "arn:scw:sns:fr-par:other:topic",
        None,
    ))
    .await;
    let mut tampered = keys.message(
        "leaf",
        2,
        "Notification",
        &event("email_delivered", &victim),
        TOPIC,
        None,
    );
    tampered["Message"] = json!(event("email_mailbox_not_found", &victim));
    post(tampered).await;
    assert_eq!(suppressed(victim.clone()).await, None);
    // A genuine message of two hours ago is a replay (issue 25, finding 3).
    let now = std::mem::replace(
        &mut keys.timestamp,
        rfc3339(time::OffsetDateTime::now_utc() - time::Duration::hours(2)),
    );
    post(keys.message(
        "leaf",
        2,
        "Notification",
        &event("email_mailbox_not_found", &victim),
        TOPIC,
        None,
    ))
    .await;
    assert_eq!(suppressed(victim.clone()).await, None, "a replay was taken");
    keys.timestamp = now;

    // Genuine: signature version 2 (SHA256) and 1 (SHA1).
    post(keys.message(
        "leaf",
        2,
        "Notification",
        &event("email_mailbox_not_found", &victim.to_uppercase()),
        TOPIC,
        None,
    ))
    .await;
    assert_eq!(suppressed(victim.clone()).await.as_deref(), Some("bounce"));
    let complainer = format!("{}@example.org", unique("qi"));
    post(keys.message(
        "leaf",
        1,
        "Notification",
        &event("email_spam", &complainer),
        TOPIC,
        None,
    ))
    .await;
    assert_eq!(suppressed(complainer).await.as_deref(), Some("complaint"));

    // Not JSON: 400. No mail goes to the bounced address.
    let reply = app
        .client
        .post(app.url("/v1/mail/sns"))
        .body("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::BAD_REQUEST);
    let handle = victim.split('@').next().unwrap().to_string();
    app.register(&handle).await;
    eventually(
        Duration::from_secs(30),
        "the mail to be suppressed",
        || async {
            sqlx::query_scalar::<_, String>(
            "SELECT status::text FROM mail_outbox WHERE recipient = $1 AND status = 'suppressed'",
        )
        .bind(&victim)
        .fetch_optional(&pool)
        .await
        .unwrap()
        },
    )
    .await;
    assert!(smtp.mails_to(&victim, "").is_empty());

    // Without SNS_TOPIC_ARN the route does not exist.
    let plain = TestApp::api().await;
    plain
        .post("/v1/mail/sns", None, json!({}))
        .await
        .expect(StatusCode::NOT_FOUND, Some("not_found"));
}

/// Issue 25, finding 4: a mistyped address's link that goes out after the
/// user asked again for the right address must not work.
#[tokio::test]
async fn a_superseded_email_change_mailed_late_carries_no_working_link() {
    let smtp = SmtpServer::start().await;
    let backing = Backing::new().await;
    // An API without a worker: the mails wait until this test delivers them.
    let api = TestApp::spawn(&backing, backing.env("api")).await;
    let worker = TestApp::spawn(&backing, mail_worker_env(&backing, &smtp)).await;
    let handle = unique("ec");
    let token = access(&api.register(&handle).await);
    let (typo, meant) = (
        format!("{}@example.org", unique("typo")),
        format!("{}@example.org", unique("meant")),
    );
    for address in [&typo, &meant] {
        api.post(
            "/v1/me/email",
            Some(&token),
            json!({ "current_password": PASSWORD, "new_email": address }),
        )
        .await
        .expect(StatusCode::ACCEPTED, None);
    }
    let pool = backing.pool().await;
    let job_to = |address: String| {
        let pool = pool.clone();
        async move {
            let id: uuid::Uuid = sqlx::query_scalar(
                "SELECT id FROM mail_outbox WHERE kind = 'email_change' AND recipient = $1",
            )
            .bind(address)
            .fetch_one(&pool)
            .await
            .unwrap();
            json!({ "type": "send_mail", "mail_id": id })
        }
    };
    // The mistyped address's mail goes out late: it is not sent.
    let late = worker.post("/", None, job_to(typo.clone()).await).await;
    late.expect(StatusCode::OK, None);
    assert_eq!(late.body["outcome"], "skipped", "{}", late.body);
    let tokens: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM account_tokens WHERE purpose = 'email_change' AND email = $1",
    )
    .bind(&typo)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(tokens, 0, "a link was minted for the superseded address");
    assert!(smtp.mails_to(&typo, "").is_empty());
    // The address the user meant gets its link, and it works.
    let sent = worker.post("/", None, job_to(meant.clone()).await).await;
    assert_eq!(sent.body["outcome"], "processed", "{}", sent.body);
    let link = smtp.mail(&meant, "Confirm your new email").await;
    verify_email(&api, &link.token())
        .await
        .expect(StatusCode::NO_CONTENT, None);
    assert_eq!(me(&api, &token).await["email"], json!(meant));
}

async fn sign_up(app: &TestApp, handle: &str, email: &str, password: &str) -> Value {
    let reply = app
        .post(
            "/v1/auth/register",
            None,
            json!({ "handle": handle, "email": email, "password": password }),
        )
        .await;
    reply.expect(StatusCode::CREATED, None);
    reply.body
}

/// Issue 25, finding 11: whoever owns an address, signing up with it or
/// moving an account to it answers alike; the owner is told by mail, and
/// no link that could verify it goes anywhere.
#[tokio::test]
async fn sign_up_and_email_change_never_tell_whether_an_address_has_an_account() {
    let (app, smtp) = app_with_mail(|_| {}).await;
    let owner = unique("ow");
    verified_user(&app, &smtp, &owner).await;
    let address = email_of(&owner);

    let newcomer = unique("nc");
    sign_up(
        &app,
        &newcomer,
        &address.to_uppercase(),
        "the newcomer's passphrase",
    )
    .await;
    let notice = smtp.mail(&address, "already has a Ciel account").await;
    assert!(
        notice.text.contains(&format!("@{owner}")),
        "{}",
        notice.text
    );
    assert!(!notice.text.contains("token="), "{}", notice.text);

    let mover = unique("mv");
    let moving = access(&verified_user(&app, &smtp, &mover).await);
    app.post(
        "/v1/me/email",
        Some(&moving),
        json!({ "current_password": PASSWORD, "new_email": address }),
    )
    .await
    .expect(StatusCode::ACCEPTED, None);
    smtp.mail(&email_of(&mover), "being changed").await;
    smtp.nth_mail(2, &address, "already has a Ciel account")
        .await;
    assert_eq!(
        smtp.mails_to(&address, "Confirm your email").len(),
        1,
        "only the owner's own sign-up mail"
    );
    assert!(smtp.mails_to(&address, "Confirm your new email").is_empty());

    // The address signs its owner in; the newcomer signs in by handle.
    let signed_in = login(&app, &address, PASSWORD).await;
    signed_in.expect(StatusCode::OK, None);
    assert_eq!(signed_in.body["user"]["handle"], owner.as_str());
    login(&app, &address, "the newcomer's passphrase")
        .await
        .expect(StatusCode::UNAUTHORIZED, Some("invalid_credentials"));
    login(&app, &newcomer, "the newcomer's passphrase")
        .await
        .expect(StatusCode::OK, None);
}

/// An account that never verified its address holds nothing: the address
/// goes to whoever follows a link to it first, and a squatter's link then
/// fails.
#[tokio::test]
async fn an_address_nobody_verified_goes_to_whoever_verifies_it() {
    let (app, smtp) = app_with_mail(|_| {}).await;
    let owner = unique("ow");
    let address = email_of(&owner);
    let squatter = unique("sq");
    sign_up(&app, &squatter, &address, "the squatter's passphrase").await;
    sign_up(&app, &owner, &address, PASSWORD).await;

    let links = eventually(Duration::from_secs(30), "two sign-up mails", || async {
        let mails = smtp.mails_to(&address, "Confirm your email");
        (mails.len() == 2).then_some(mails)
    })
    .await;
    let link_for = |handle: &str| {
        links
            .iter()
            .find(|m| m.text.contains(&format!("@{handle},")))
            .unwrap_or_else(|| panic!("no mail for @{handle}"))
            .token()
    };
    let (owners, squatters) = (link_for(&owner), link_for(&squatter));
    verify_email(&app, &owners)
        .await
        .expect(StatusCode::NO_CONTENT, None);
    verify_email(&app, &squatters)
        .await
        .expect(StatusCode::CONFLICT, Some("email_taken"));
    let signed_in = login(&app, &address, PASSWORD).await;
    signed_in.expect(StatusCode::OK, None);
    assert_eq!(signed_in.body["user"]["handle"], owner.as_str());
}
