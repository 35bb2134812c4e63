//! Media jobs under attack: crafted photos that would hold a worker for
//! ever, forged trigger messages, deliveries past the job cap, and requests
//! that go away while their job runs.

#[path = "../../crates/imaging/tests/craft/mod.rs"]
mod craft;

use std::time::Duration;

use crate::common::media::{PHOTO, upload};
use crate::common::{Backing, TestApp, eventually, media_state, queued_upload, unique};
use reqwest::StatusCode;
use serde_json::{Value, json};

const DEADLINE: Duration = Duration::from_secs(60);

async fn post(worker: &TestApp, path: &str, body: String) -> (StatusCode, Value) {
    let response = worker
        .client
        .post(worker.url(path))
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_job_past_its_time_limit_fails_with_its_own_code() {
    let backing = Backing::new().await;
    let api = TestApp::spawn(&backing, backing.env("api")).await;
    let mut env = backing.env("serverless-worker");
    // a 12 MP photo gets a quarter of this: 0.25 ms
    env.insert("WORKER_JOB_TIME_LIMIT_SECS", "0.001".into());
    let worker = TestApp::spawn(&backing, env).await;
    let token = api.access_token(&unique("tl")).await;
    // 12 MP and 200 legitimate scans: each a pass over 190,000 blocks
    let slow = craft::jpeg(
        4000,
        3000,
        1,
        true,
        &craft::long_progression(200),
        false,
        true,
    );
    let (id, job) = queued_upload(&backing, &api, &token, &slow).await;

    let (status, body) = post(&worker, "/", job).await;
    assert_eq!(status, StatusCode::OK, "a failure for good is acknowledged");
    assert_eq!(body["outcome"], "failed");
    assert_eq!(
        media_state(&backing, id).await,
        ("failed".into(), Some("processing_timed_out".into()))
    );
}

#[tokio::test]
async fn forged_messages_change_no_photo_that_is_not_queued() {
    let backing = Backing::new().await;
    let api = TestApp::spawn(&backing, backing.env("api")).await;
    let worker = TestApp::spawn(&backing, backing.env("serverless-worker")).await;
    let token = api.access_token(&unique("fg")).await;
    // someone else's upload, PUT but not completed yet
    let pending = upload(&api, &token, PHOTO, "image/jpeg", PHOTO.len()).await;
    let forged = json!({ "media_id": pending }).to_string();
    for path in ["/", "/dead-letters"] {
        let (status, body) = post(&worker, path, forged.clone()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["outcome"], "skipped", "{path}");
        assert_eq!(
            media_state(&backing, pending).await,
            ("pending".into(), None)
        );
    }
    // completing it still works as if nothing happened
    api.post(
        &format!("/v1/media/{pending}/complete"),
        Some(&token),
        json!({}),
    )
    .await
    .expect(StatusCode::ACCEPTED, None);
}

#[tokio::test]
async fn a_delivery_past_the_job_cap_waits_for_a_slot_instead_of_a_429() {
    let backing = Backing::new().await;
    let api = TestApp::spawn(&backing, backing.env("api")).await;
    let mut env = backing.env("serverless-worker");
    env.insert("WORKER_CONCURRENCY", "1".into());
    let worker = TestApp::spawn(&backing, env).await;
    let token = api.access_token(&unique("cc")).await;
    let (first_id, first_job) = queued_upload(&backing, &api, &token, PHOTO).await;
    let (second_id, second_job) = queued_upload(&backing, &api, &token, PHOTO).await;

    // Hold the media table so the first job blocks inside the worker.
    let pool = backing.pool().await;
    let mut lock = pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE media IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *lock)
        .await
        .unwrap();
    let send = |body: String| {
        let request = worker.client.post(worker.url("/")).body(body);
        tokio::spawn(async move { request.send().await.unwrap().status() })
    };
    let first = send(first_job);
    crate::common::until_a_query_waits_on_a_lock(&pool).await;
    let second = send(second_job);
    eventually(
        DEADLINE,
        "the second delivery to wait for a slot",
        || async {
            let waiting = worker
                .metrics()
                .await
                .lines()
                .find_map(|l| l.strip_prefix("media_jobs_waiting_for_slot "))
                .and_then(|v| v.parse::<f64>().ok());
            waiting.is_some_and(|w| w >= 1.0).then_some(())
        },
    )
    .await;
    lock.rollback().await.unwrap();
    assert_eq!(first.await.unwrap(), StatusCode::OK);
    assert_eq!(second.await.unwrap(), StatusCode::OK);
    for id in [first_id, second_id] {
        assert_eq!(media_state(&backing, id).await.0, "ready");
    }
}

#[tokio::test]
async fn a_job_outlives_its_request_and_shutdown_waits_for_it() {
    let backing = Backing::new().await;
    let api = TestApp::spawn(&backing, backing.env("api")).await;
    let mut env = backing.env("serverless-worker");
    env.insert("WORKER_CONCURRENCY", "1".into());
    let worker = TestApp::spawn(&backing, env).await;
    let token = api.access_token(&unique("ol")).await;
    let (id, job) = queued_upload(&backing, &api, &token, PHOTO).await;

    // The job stops at its last write, after the decode, holding its slot.
    let pool = backing.pool().await;
    let mut lock = pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE media_variants IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *lock)
        .await
        .unwrap();
    let request = {
        let request = worker.client.post(worker.url("/")).body(job);
        tokio::spawn(async move { request.send().await })
    };
    crate::common::until_a_query_waits_on_a_lock(&pool).await;
    // The caller gives up (as the API's timeout layer did): the connection closes.
    request.abort();
    let _ = request.await;
    let stopped = tokio::spawn(worker.stop());
    lock.rollback().await.unwrap();
    stopped.await.unwrap();
    // Shutdown returned only once the job had finished.
    assert_eq!(media_state(&backing, id).await.0, "ready");
}

#[tokio::test]
async fn a_long_polling_worker_stops_extending_a_job_past_its_request_timeout() {
    let backing = Backing::new().await;
    let api = TestApp::spawn(&backing, backing.env("api")).await;
    let token = api.access_token(&unique("rt")).await;
    // The job, sent afresh: a receive of its own would count towards the
    // queue's dead-letter limit (two receives).
    let (id, job) = queued_upload(&backing, &api, &token, PHOTO).await;
    let queue = backing.queue();
    queue.send(job).await.unwrap();

    // The job's claim waits on this row lock for as long as the test holds it.
    let pool = backing.pool().await;
    let mut lock = pool.begin().await.unwrap();
    sqlx::query("SELECT id FROM media WHERE id = $1 FOR UPDATE")
        .bind(id)
        .execute(&mut *lock)
        .await
        .unwrap();
    let mut env = backing.env("worker");
    env.insert("WORKER_CONCURRENCY", "1".into());
    env.insert("WORKER_VISIBILITY_TIMEOUT_SECS", "2".into());
    env.insert("WORKER_JOB_TIME_LIMIT_SECS", "0.001".into());
    env.insert("WORKER_REQUEST_TIMEOUT_SECS", "31".into());
    let worker = TestApp::spawn(&backing, env).await;
    crate::common::until_a_query_waits_on_a_lock(&pool).await;
    let held = tokio::time::Instant::now();

    // While the job runs, its 2 s visibility is extended: the message stays hidden.
    let early = queue
        .receive(1, Duration::from_secs(20), Duration::from_secs(60))
        .await
        .unwrap();
    assert!(
        early.is_empty(),
        "the job's message reappeared while the job ran"
    );
    // Past the request timeout (31 s) the worker gives the message up, so the
    // queue can redeliver it (and, after enough receives, dead-letter it).
    let again = eventually(DEADLINE, "the held job's message to reappear", || async {
        let got = queue
            .receive(1, Duration::from_secs(2), Duration::from_secs(60))
            .await
            .unwrap();
        got.into_iter().next()
    })
    .await;
    let after = held.elapsed();
    assert!(
        again.receive_count >= 2,
        "a redelivery: {}",
        again.receive_count
    );
    assert!(
        after >= Duration::from_secs(25),
        "visibility stopped being extended after only {after:?}"
    );
    lock.rollback().await.unwrap();
    worker.stop().await;
}
