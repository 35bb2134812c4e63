//! Dependencies going away under the API: each outage is a 503 with
//! `Retry-After` (never a 500), nothing half-done is left behind, and the
//! API serves again on its own once the dependency is back.

use std::time::{Duration, Instant};

use crate::common::media::{PHOTO, complete, settled, upload};
use crate::common::proxy::Proxy;
use crate::common::{Backing, Reply, TestApp, eventually, media_state, queued_upload, unique};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// How soon the API must serve again once its dependency is back.
const RECOVERY: Duration = Duration::from_secs(5);

fn expect_unavailable(reply: &Reply, code: &str) {
    reply.expect(StatusCode::SERVICE_UNAVAILABLE, Some(code));
    let retry: u64 = reply
        .header("retry-after")
        .expect("a 503 says when to retry")
        .parse()
        .unwrap();
    assert!(retry >= 1);
}

/// `host:port` of a URL such as `postgres://u:p@127.0.0.1:5432/db`.
fn authority(url: &str) -> String {
    let rest = url.split_once("://").unwrap().1;
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    rest.split('/').next().unwrap().to_string()
}

#[tokio::test]
async fn a_database_outage_answers_503_and_the_api_serves_again_within_5_s() {
    let backing = Backing::new().await;
    let target = authority(&backing.database_url);
    let pg = Proxy::to(target.clone()).await;
    let mut env = backing.env("api");
    env.insert(
        "DATABASE_URL",
        backing.database_url.replace(&target, &pg.addr.to_string()),
    );
    let app = TestApp::spawn(&backing, env).await;
    let token = app.access_token(&unique("db")).await;
    app.get("/v1/me", Some(&token))
        .await
        .expect(StatusCode::OK, None);

    pg.down();
    let register = json!({
        "handle": unique("db"),
        "email": format!("{}@example.org", unique("db")),
        "password": "correct horse battery"
    });
    let (me, feed, registered) = tokio::join!(
        app.get("/v1/me", Some(&token)),
        app.get("/v1/feed", Some(&token)),
        app.post("/v1/auth/register", None, register.clone()),
    );
    for reply in [&me, &feed, &registered] {
        expect_unavailable(reply, "service_unavailable");
    }

    pg.up();
    let back = Instant::now();
    eventually(RECOVERY, "the API to serve again", || async {
        (app.get("/v1/me", Some(&token)).await.status == StatusCode::OK).then_some(())
    })
    .await;
    println!(
        "database back: the API served again after {:?}",
        back.elapsed()
    );
    // The sign-up that got a 503 wrote nothing: it can be made again.
    app.post("/v1/auth/register", None, register)
        .await
        .expect(StatusCode::CREATED, None);
}

#[tokio::test]
async fn storage_and_queue_outages_make_completion_503_and_lose_no_photo() {
    let backing = Backing::new().await;
    let s3_target = authority(&crate::common::s3_endpoint());
    let sqs_target = authority(&crate::common::sqs_endpoint());
    let s3 = Proxy::to(s3_target.clone()).await;
    let sqs = Proxy::to(sqs_target.clone()).await;
    let mut env = backing.env("api");
    env.insert(
        "S3_ENDPOINT",
        crate::common::s3_endpoint().replace(&s3_target, &s3.addr.to_string()),
    );
    env.insert(
        "QUEUE_ENDPOINT",
        crate::common::sqs_endpoint().replace(&sqs_target, &sqs.addr.to_string()),
    );
    let app = TestApp::spawn(&backing, env).await;
    let token = app.access_token(&unique("st")).await;
    let id = upload(&app, &token, PHOTO, "image/jpeg", PHOTO.len()).await;

    s3.down();
    expect_unavailable(&complete(&app, &token, id).await, "storage_unavailable");
    assert_eq!(media_state(&backing, id).await.0, "pending");
    s3.up();

    sqs.down();
    expect_unavailable(&complete(&app, &token, id).await, "queue_unavailable");
    // No message went out: the media waits for the app's retry, not for a
    // job that will never come.
    assert_eq!(media_state(&backing, id).await.0, "pending");
    sqs.up();

    complete(&app, &token, id)
        .await
        .expect(StatusCode::ACCEPTED, None);
    // A worker of its own, straight to the services: a long poll cut by the
    // outage above could still be waiting at the queue and take the job
    // into a dead connection (hidden for a visibility timeout), as it
    // would on a real network.
    let _worker = TestApp::spawn(&backing, backing.env("worker")).await;
    let media = settled(&app, &token, id).await;
    assert_eq!(media["status"], "ready", "{media}");
}

#[tokio::test]
async fn a_storage_outage_during_a_job_is_retried_and_loses_nothing() {
    let backing = Backing::new().await;
    let api = TestApp::spawn(&backing, backing.env("api")).await;
    let s3_target = authority(&crate::common::s3_endpoint());
    let s3 = Proxy::to(s3_target.clone()).await;
    let mut env = backing.env("serverless-worker");
    env.insert(
        "S3_ENDPOINT",
        crate::common::s3_endpoint().replace(&s3_target, &s3.addr.to_string()),
    );
    let worker = TestApp::spawn(&backing, env).await;
    let token = api.access_token(&unique("sj")).await;
    let (id, job) = queued_upload(&backing, &api, &token, PHOTO).await;
    // The trigger's delivery, as the worker sees it.
    let deliver = || async {
        let response = worker
            .client
            .post(worker.url("/"))
            .body(job.clone())
            .send()
            .await
            .unwrap();
        let status = response.status();
        (
            status,
            response.json::<Value>().await.unwrap_or(Value::Null),
        )
    };

    s3.down();
    let (status, _) = deliver().await;
    // A status >= 300 makes the trigger (or the queue) deliver again.
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let (state, code) = media_state(&backing, id).await;
    assert!(
        state == "queued" || state == "processing",
        "{state} {code:?}"
    );
    assert_eq!(code, None);

    s3.up();
    let (status, body) = deliver().await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["outcome"], "processed", "{body}");
    let media = settled(&api, &token, id).await;
    assert_eq!(media["status"], "ready", "{media}");
}
