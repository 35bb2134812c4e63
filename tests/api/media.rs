//! The media pipeline end to end: presigned uploads to a real S3 server,
//! jobs through a real SQS server, and each of the three delivery paths.

use std::time::Duration;

use crate::common::media::{DEADLINE, PHOTO, complete, completed_photo, settled, upload};
use crate::common::{Backing, MediaJobs, TestApp, eventually, unique};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

/// Checks a ready media of the fixture: rotated, variants served, no metadata.
async fn assert_fixture_ready(app: &TestApp, media: &Value) {
    assert_eq!(media["status"], "ready", "{media}");
    assert_eq!(
        (media["width"].as_i64(), media["height"].as_i64()),
        (Some(480), Some(640)),
        "EXIF orientation 6 applied"
    );
    assert!(media["blurhash"].as_str().is_some_and(|b| b.len() >= 6));
    let variants = media["variants"].as_array().unwrap();
    let mut names: Vec<(String, String)> = variants
        .iter()
        .map(|v| {
            (
                v["name"].as_str().unwrap().to_string(),
                v["format"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        // Issue 30: new photos are WebP only (no JPEG copies).
        [("small", "webp"), ("thumb", "webp")].map(|(a, b)| (a.to_string(), b.to_string()))
    );
    for variant in variants {
        let (w, h) = (
            variant["width"].as_u64().unwrap(),
            variant["height"].as_u64().unwrap(),
        );
        assert!(h > w, "portrait after rotation: {variant}");
        assert!(h <= 640, "never upscaled: {variant}");
        let url = variant["url"].as_str().unwrap();
        assert!(!url.contains("originals/"));
        let response = app.client.get(url).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let cache = response
            .headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap().to_string());
        let bytes = response.bytes().await.unwrap();
        assert_eq!(bytes.len() as u64, variant["bytes"].as_u64().unwrap());
        assert!(
            !ciel_imaging::has_metadata(&bytes),
            "variant {variant} carries metadata"
        );
        assert!(
            !bytes.windows(4).any(|w| w == b"Exif"),
            "no EXIF block at all"
        );
        if let Some(cache) = cache {
            assert!(cache.contains("immutable"), "{cache}");
        }
    }
}

#[tokio::test]
async fn dev_mode_processes_an_upload_in_process() {
    let backing = Backing::new().await;
    let app = TestApp::spawn(&backing, backing.env("dev")).await;
    let token = app.access_token(&unique("dv")).await;
    let id = upload(&app, &token, PHOTO, "image/jpeg", PHOTO.len()).await;
    let pending = app.get(&format!("/v1/media/{id}"), Some(&token)).await;
    assert_eq!(pending.body["status"], "pending");
    complete(&app, &token, id)
        .await
        .expect(StatusCode::ACCEPTED, None);
    let media = settled(&app, &token, id).await;
    assert_fixture_ready(&app, &media).await;
    let original = backing
        .storage()
        .get(&format!("originals/{}/{id}", user_id(&app, &token).await))
        .await;
    assert!(original.is_ok(), "the original is kept, privately");
}

async fn user_id(app: &TestApp, token: &str) -> String {
    app.get("/v1/me", Some(token)).await.body["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn the_long_polling_worker_processes_jobs_from_the_queue() {
    let backing = Backing::new().await;
    let api = TestApp::spawn(&backing, backing.env("api")).await;
    let _worker = TestApp::spawn(&backing, backing.env("worker")).await;
    let token = api.access_token(&unique("wk")).await;
    let id = completed_photo(&api, &token).await;
    let media = settled(&api, &token, id).await;
    assert_fixture_ready(&api, &media).await;
    // Deleted once done: nothing left on the queue.
    let left = backing
        .queue()
        .receive_media(10, Duration::from_secs(0), Duration::from_secs(0))
        .await
        .unwrap();
    assert!(left.is_empty());
}

/// Plays Scaleway's SQS trigger: takes the queued messages and POSTs each
/// body to the serverless worker, deleting the message on a 2xx.
async fn trigger(backing: &Backing, worker: &TestApp) -> Vec<StatusCode> {
    let queue = backing.queue();
    let messages = queue
        .receive_media(10, Duration::from_secs(1), Duration::from_secs(30))
        .await
        .unwrap();
    let mut statuses = Vec::new();
    for message in messages {
        let status = worker
            .client
            .post(worker.url("/"))
            .body(message.body)
            .send()
            .await
            .unwrap()
            .status();
        if status.is_success() {
            queue.delete(&message.receipt_handle).await.unwrap();
        }
        statuses.push(status);
    }
    statuses
}

#[tokio::test]
async fn the_serverless_worker_processes_what_the_trigger_posts() {
    let backing = Backing::new().await;
    let api = TestApp::spawn(&backing, backing.env("api")).await;
    let worker = TestApp::spawn(&backing, backing.env("serverless-worker")).await;
    let token = api.access_token(&unique("sv")).await;
    let id = completed_photo(&api, &token).await;
    // Completing again is harmless: still one message.
    complete(&api, &token, id)
        .await
        .expect(StatusCode::ACCEPTED, None);
    assert_eq!(trigger(&backing, &worker).await, vec![StatusCode::OK]);
    let media = settled(&api, &token, id).await;
    assert_fixture_ready(&api, &media).await;
}

#[tokio::test]
async fn variant_urls_use_the_public_endpoint_when_there_is_a_cdn() {
    let backing = Backing::new().await;
    let mut env = backing.env("dev");
    env.insert("S3_PUBLIC_ENDPOINT", "https://media.example.org/".into());
    // Nothing is purged here (tests/api/takedowns.rs covers it).
    env.insert("CDN_PIPELINE_ID", "pipeline".into());
    env.insert("CDN_PURGE_SECRET_KEY", "unused".into());
    env.insert("CDN_PURGE_API_URL", "http://127.0.0.1:9".into());
    let app = TestApp::spawn(&backing, env).await;
    let token = app.access_token(&unique("cd")).await;
    let id = completed_photo(&app, &token).await;
    let media = settled(&app, &token, id).await;
    for variant in media["variants"].as_array().unwrap() {
        let url = variant["url"].as_str().unwrap();
        assert!(
            url.starts_with(&format!("https://media.example.org/variants/{id}/")),
            "{url}"
        );
    }
}

fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend(width.to_be_bytes());
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(13u32.to_be_bytes());
    png.extend(&ihdr);
    png.extend(crc32(&ihdr).to_be_bytes());
    png
}

#[tokio::test]
async fn bad_input_fails_cleanly_with_its_own_code_and_the_worker_keeps_serving() {
    let backing = Backing::new().await;
    let app = TestApp::spawn(&backing, backing.env("dev")).await;
    let token = app.access_token(&unique("bad")).await;

    let truncated = &PHOTO[..PHOTO.len() / 3];
    let cases: [(&str, &[u8], &str, &str); 3] = [
        ("truncated JPEG", truncated, "image/jpeg", "corrupt_image"),
        (
            "text declared as JPEG",
            b"hello, this is not a photo at all",
            "image/jpeg",
            "unsupported_format",
        ),
        (
            "PNG claiming 100000x100000",
            &png_claiming(100_000, 100_000),
            "image/png",
            "image_too_large",
        ),
    ];
    let mut ids = Vec::new();
    for (what, bytes, content_type, _) in &cases {
        let id = upload(&app, &token, bytes, content_type, bytes.len()).await;
        complete(&app, &token, id)
            .await
            .expect(StatusCode::ACCEPTED, None);
        ids.push((what, id));
    }
    for ((what, id), (_, _, _, code)) in ids.iter().zip(cases.iter()) {
        let media = settled(&app, &token, *id).await;
        assert_eq!(media["status"], "failed", "{what}: {media}");
        assert_eq!(media["error"]["code"], *code, "{what}: {media}");
        assert!(
            media["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
        assert!(media["variants"].as_array().unwrap().is_empty());
    }

    // Empty and short uploads never get past completion, and lose their
    // object. (Written straight to storage: a presigned PUT of the wrong
    // size is already refused by the signature.)
    let owner = user_id(&app, &token).await;
    for bytes in [&b""[..], &PHOTO[..100]] {
        let created = app
            .post(
                "/v1/media/uploads",
                Some(&token),
                json!({ "content_type": "image/jpeg", "byte_size": PHOTO.len() }),
            )
            .await;
        let id: Uuid = created.body["media_id"].as_str().unwrap().parse().unwrap();
        let key = format!("originals/{owner}/{id}");
        backing
            .storage()
            .put(&key, bytes.to_vec(), "image/jpeg", "private")
            .await
            .unwrap();
        complete(&app, &token, id).await.expect(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("upload_size_mismatch"),
        );
        assert!(matches!(
            backing.storage().size_of(&key).await,
            Err(ciel::infra::s3::ObjectError::NotFound)
        ));
        let media = app.get(&format!("/v1/media/{id}"), Some(&token)).await;
        assert_eq!(
            media.body["status"], "pending",
            "a mismatch can be uploaded again"
        );
    }

    // Completing before uploading.
    let created = app
        .post(
            "/v1/media/uploads",
            Some(&token),
            json!({ "content_type": "image/png", "byte_size": 10 }),
        )
        .await;
    let id = created.body["media_id"].as_str().unwrap();
    app.post(&format!("/v1/media/{id}/complete"), Some(&token), json!({}))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY, Some("upload_missing"));

    // Refused at the door.
    for (body, code) in [
        (
            json!({ "content_type": "image/gif", "byte_size": 10 }),
            "unsupported_content_type",
        ),
        (
            json!({ "content_type": "image/jpeg", "byte_size": 0 }),
            "validation_failed",
        ),
        (
            json!({ "content_type": "image/jpeg", "byte_size": -5 }),
            "validation_failed",
        ),
        (
            json!({ "content_type": "image/jpeg", "byte_size": 26_214_401 }),
            "file_too_large",
        ),
        (json!({ "content_type": "image/jpeg" }), "validation_failed"),
    ] {
        app.post("/v1/media/uploads", Some(&token), body)
            .await
            .expect(StatusCode::UNPROCESSABLE_ENTITY, Some(code));
    }

    // The worker is still fine.
    let id = completed_photo(&app, &token).await;
    assert_eq!(settled(&app, &token, id).await["status"], "ready");
}

#[tokio::test]
async fn poison_messages_are_recorded_and_acknowledged() {
    let backing = Backing::new().await;
    let worker = TestApp::spawn(&backing, backing.env("serverless-worker")).await;
    for body in ["not json", "{\"media_id\": 42}", ""] {
        let response = worker
            .client
            .post(worker.url("/"))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "{body:?} must not be retried"
        );
        let outcome: Value = response.json().await.unwrap();
        assert_eq!(outcome["outcome"], "unreadable");
    }
    // A job for a media that does not exist (deleted meanwhile) is dropped.
    let body = json!({ "media_id": Uuid::new_v4() }).to_string();
    let response = worker
        .client
        .post(worker.url("/"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let pool = backing.pool().await;
    let recorded: i64 = sqlx::query_scalar("SELECT count(*) FROM media_job_failures")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(recorded, 3);
}

/// Uploads the fixture and completes it through an API process, returning
/// the queued message body without letting anyone process it.
async fn queued_job(backing: &Backing, api: &TestApp, token: &str) -> (Uuid, String) {
    let id = completed_photo(api, token).await;
    let messages = backing
        .queue()
        .receive_media(1, Duration::from_secs(1), Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(messages.len(), 1);
    backing
        .queue()
        .delete(&messages[0].receipt_handle)
        .await
        .unwrap();
    (id, messages[0].body.clone())
}

async fn variant_rows(backing: &Backing, id: Uuid) -> i64 {
    let pool = backing.pool().await;
    sqlx::query_scalar("SELECT count(*) FROM media_variants WHERE media_id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn duplicates_and_racing_deliveries_are_processed_once_in_effect() {
    let backing = Backing::new().await;
    let api = TestApp::spawn(&backing, backing.env("api")).await;
    let worker = TestApp::spawn(&backing, backing.env("serverless-worker")).await;
    let other_worker = TestApp::spawn(&backing, backing.env("serverless-worker")).await;
    let token = api.access_token(&unique("du")).await;
    let (id, body) = queued_job(&backing, &api, &token).await;

    // Two workers race on the same message.
    let (a, b) = tokio::join!(
        worker
            .client
            .post(worker.url("/"))
            .body(body.clone())
            .send(),
        other_worker
            .client
            .post(other_worker.url("/"))
            .body(body.clone())
            .send(),
    );
    assert!(a.unwrap().status().is_success());
    assert!(b.unwrap().status().is_success());
    let first = settled(&api, &token, id).await;
    assert_eq!(first["status"], "ready");
    assert_eq!(variant_rows(&backing, id).await, 2);

    // A late duplicate changes nothing.
    let late = worker
        .client
        .post(worker.url("/"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(late.json::<Value>().await.unwrap()["outcome"], "skipped");
    assert_eq!(variant_rows(&backing, id).await, 2);
    let again = settled(&api, &token, id).await;
    let strip_urls = |v: &Value| {
        let mut v = v.clone();
        for variant in v["variants"].as_array_mut().unwrap() {
            variant.as_object_mut().unwrap().remove("url");
        }
        v
    };
    assert_eq!(strip_urls(&first), strip_urls(&again));
}

#[tokio::test]
async fn a_job_redelivered_after_a_crash_mid_job_completes() {
    let backing = Backing::new().await;
    let api = TestApp::spawn(&backing, backing.env("api")).await;
    let token = api.access_token(&unique("cr")).await;
    let id = completed_photo(&api, &token).await;

    // A consumer takes the message, starts the job, and dies: the media is
    // left `processing` with a stray object, and the message is not deleted.
    let queue = backing.queue();
    let taken = queue
        .receive_media(1, Duration::from_secs(1), Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(taken.len(), 1);
    let pool = backing.pool().await;
    sqlx::query("UPDATE media SET status = 'processing', attempts = 1 WHERE id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    backing
        .storage()
        .put(
            &format!("variants/{id}/thumb.webp"),
            b"half-written".to_vec(),
            "image/webp",
            "no-cache",
        )
        .await
        .unwrap();

    // The queue redelivers once the visibility timeout passes.
    let _worker = TestApp::spawn(&backing, backing.env("worker")).await;
    let media = settled(&api, &token, id).await;
    assert_fixture_ready(&api, &media).await;
    assert_eq!(variant_rows(&backing, id).await, 2);
    let attempts: i32 = sqlx::query_scalar("SELECT attempts FROM media WHERE id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(attempts, 2);
}

#[tokio::test]
async fn a_transient_storage_failure_is_retried_not_failed() {
    let backing = Backing::new().await;
    let api = TestApp::spawn(&backing, backing.env("api")).await;
    let token = api.access_token(&unique("tr")).await;
    let (id, body) = queued_job(&backing, &api, &token).await;

    let mut broken = backing.env("serverless-worker");
    broken.insert("S3_ENDPOINT", "http://127.0.0.1:1".into());
    let broken = TestApp::spawn(&backing, broken).await;
    let response = broken
        .client
        .post(broken.url("/"))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "the trigger must retry"
    );
    let media = api.get(&format!("/v1/media/{id}"), Some(&token)).await;
    assert_ne!(media.body["status"], "failed");

    let healthy = TestApp::spawn(&backing, backing.env("serverless-worker")).await;
    let response = healthy
        .client
        .post(healthy.url("/"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(settled(&api, &token, id).await["status"], "ready");
}

#[tokio::test]
async fn a_job_that_keeps_failing_ends_in_the_dead_letter_queue() {
    let backing = Backing::new().await;
    let api = TestApp::spawn(&backing, backing.env("api")).await;
    let token = api.access_token(&unique("dl")).await;
    let id = completed_photo(&api, &token).await;

    let mut broken = backing.env("worker");
    broken.insert("S3_ENDPOINT", "http://127.0.0.1:1".into());
    broken.insert("WORKER_VISIBILITY_TIMEOUT_SECS", "2".into());
    let _worker = TestApp::spawn(&backing, broken).await;
    let dlq = backing.dead_letter_queue();
    let dead = eventually(
        DEADLINE,
        "the job to reach the dead-letter queue",
        || async {
            let messages = dlq
                .receive_media(1, Duration::from_secs(1), Duration::from_secs(30))
                .await
                .unwrap();
            messages.into_iter().next()
        },
    )
    .await;
    assert!(dead.body.contains(&id.to_string()));
    let media = api.get(&format!("/v1/media/{id}"), Some(&token)).await;
    assert_ne!(
        media.body["status"], "failed",
        "transient trouble never marks the photo failed"
    );

    // A worker told of the dead-letter queue settles the photo as failed,
    // so the app stops waiting for it, and drops the dead letter.
    dlq.extend_visibility(&dead.receipt_handle, Duration::ZERO)
        .await
        .unwrap();
    let mut healthy = backing.env("worker");
    healthy.insert("QUEUE_DEAD_LETTER_NAME", backing.dlq_name.clone());
    let _healthy = TestApp::spawn(&backing, healthy).await;
    let media = settled(&api, &token, id).await;
    assert_eq!(media["status"], "failed", "{media}");
    assert_eq!(media["error"]["code"], "processing_abandoned");
    eventually(DEADLINE, "the dead letter to be deleted", || async {
        let left = dlq
            .receive_media(1, Duration::from_secs(1), Duration::ZERO)
            .await
            .unwrap();
        left.is_empty().then_some(())
    })
    .await;
}

#[tokio::test]
async fn the_dead_letter_trigger_fails_stuck_photos_and_leaves_settled_ones_alone() {
    let backing = Backing::new().await;
    let api = TestApp::spawn(&backing, backing.env("api")).await;
    let worker = TestApp::spawn(&backing, backing.env("serverless-worker")).await;
    let token = api.access_token(&unique("dt")).await;
    let post = |path: &'static str, body: String| {
        let request = worker.client.post(worker.url(path)).body(body);
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            response.json::<Value>().await.unwrap()["outcome"].clone()
        }
    };

    let (stuck, stuck_job) = queued_job(&backing, &api, &token).await;
    assert_eq!(post("/dead-letters", stuck_job.clone()).await, "failed");
    let media = api.get(&format!("/v1/media/{stuck}"), Some(&token)).await;
    assert_eq!(media.body["status"], "failed");
    assert_eq!(media.body["error"]["code"], "processing_abandoned");
    assert_eq!(post("/dead-letters", stuck_job).await, "skipped");

    // A dead letter that arrives after a redelivery succeeded changes nothing.
    let (done, done_job) = queued_job(&backing, &api, &token).await;
    assert_eq!(post("/", done_job.clone()).await, "processed");
    assert_eq!(post("/dead-letters", done_job).await, "skipped");
    let media = api.get(&format!("/v1/media/{done}"), Some(&token)).await;
    assert_fixture_ready(&api, &media.body).await;

    assert_eq!(post("/dead-letters", "{oops".into()).await, "unreadable");
}

#[tokio::test]
async fn jobs_wait_for_memory_when_the_budget_is_taken() {
    let backing = Backing::new().await;
    let api = TestApp::spawn(&backing, backing.env("api")).await;
    let mut env = backing.env("serverless-worker");
    env.insert("WORKER_CONCURRENCY", "2".into());
    // Every photo needs more than 1 MiB: each job takes the whole budget.
    env.insert("WORKER_MEMORY_BUDGET_MB", "1".into());
    let worker = TestApp::spawn(&backing, env).await;
    let token = api.access_token(&unique("mb")).await;
    let (first_id, first_job) = queued_job(&backing, &api, &token).await;
    let (second_id, second_job) = queued_job(&backing, &api, &token).await;
    let post = |body: String| {
        let request = worker.client.post(worker.url("/")).body(body);
        tokio::spawn(async move { request.send().await.unwrap().status() })
    };

    // The first job stops at its last write, still holding its memory.
    let pool = backing.pool().await;
    let mut lock = pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE media_variants IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *lock)
        .await
        .unwrap();
    let first = post(first_job);
    crate::common::until_a_query_waits_on_a_lock(&pool).await;
    let second = post(second_job);
    eventually(DEADLINE, "the second job to wait for memory", || async {
        let waiting = worker
            .metrics()
            .await
            .lines()
            .find_map(|l| l.strip_prefix("media_jobs_waiting_for_memory "))
            .and_then(|v| v.parse::<f64>().ok());
        waiting.is_some_and(|w| w >= 1.0).then_some(())
    })
    .await;

    lock.rollback().await.unwrap();
    assert_eq!(first.await.unwrap(), StatusCode::OK);
    assert_eq!(second.await.unwrap(), StatusCode::OK);
    for id in [first_id, second_id] {
        assert_eq!(settled(&api, &token, id).await["status"], "ready");
    }
}

#[tokio::test]
async fn only_the_owner_may_complete_see_or_delete_a_media() {
    let backing = Backing::new().await;
    let app = TestApp::spawn(&backing, backing.env("dev")).await;
    let owner = app.access_token(&unique("ow")).await;
    let stranger = app.access_token(&unique("st")).await;
    let id = upload(&app, &owner, PHOTO, "image/jpeg", PHOTO.len()).await;
    let path = format!("/v1/media/{id}");
    app.post(&format!("{path}/complete"), Some(&stranger), json!({}))
        .await
        .expect(StatusCode::NOT_FOUND, Some("media_not_found"));
    app.get(&path, Some(&stranger))
        .await
        .expect(StatusCode::NOT_FOUND, Some("media_not_found"));
    app.delete(&path, Some(&stranger))
        .await
        .expect(StatusCode::NOT_FOUND, Some("media_not_found"));
    app.get(&path, None)
        .await
        .expect(StatusCode::UNAUTHORIZED, Some("missing_token"));

    complete(&app, &owner, id)
        .await
        .expect(StatusCode::ACCEPTED, None);
    assert_eq!(settled(&app, &owner, id).await["status"], "ready");

    let reply = app.delete(&path, Some(&owner)).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    app.get(&path, Some(&owner))
        .await
        .expect(StatusCode::NOT_FOUND, Some("media_not_found"));
    let storage = backing.storage();
    let owner_id = user_id(&app, &owner).await;
    for key in [
        format!("originals/{owner_id}/{id}"),
        format!("variants/{id}/thumb.webp"),
        format!("variants/{id}/small.jpg"),
    ] {
        assert!(
            matches!(
                storage.size_of(&key).await,
                Err(ciel::infra::s3::ObjectError::NotFound)
            ),
            "{key} survived the delete"
        );
    }
    let pool = backing.pool().await;
    assert_eq!(variant_rows(&backing, id).await, 0);
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM media")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(rows, 0);
}

#[tokio::test]
async fn the_presigned_put_is_bound_to_its_key_and_content_type() {
    let app = TestApp::api().await;
    let token = app.access_token(&unique("ps")).await;
    let created = app
        .post(
            "/v1/media/uploads",
            Some(&token),
            json!({ "content_type": "image/png", "byte_size": 4 }),
        )
        .await;
    let url = created.body["upload"]["url"].as_str().unwrap();
    let wrong_type = app
        .client
        .put(url)
        .header("content-type", "text/html")
        .body("abcd")
        .send()
        .await
        .unwrap();
    assert!(
        wrong_type.status().is_client_error(),
        "signed content type must be enforced: {}",
        wrong_type.status()
    );
    let other_key = url.replace("originals/", "originals/x");
    let moved = app
        .client
        .put(other_key)
        .header("content-type", "image/png")
        .body("abcd")
        .send()
        .await
        .unwrap();
    assert!(
        moved.status().is_client_error(),
        "the signature covers the key"
    );
}
