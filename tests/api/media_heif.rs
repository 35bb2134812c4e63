//! Photos as phones take them: an iPhone-like HEIC (tile grid, irot, Display
//! P3, GPS) and an AVIF upload and come out right through each of the three
//! worker paths; the bad-HEIF corpus fails, each file with its own code.
//! The files are the committed corpus of
//! crates/imaging/tests/fixtures/make-heif-fixtures.py; the crafted ones are
//! made from it by crates/imaging/tests/craft/heif.rs. HEIC/AVIF are decoded
//! in children of the `ciel` binary, as in production (`isolation::init`).

#[path = "../../crates/imaging/tests/craft/heif.rs"]
mod craft_heif;

use std::time::Duration;

use crate::common::media::{complete, settled, upload};
use crate::common::{Backing, MediaJobs, TestApp, media_state, queued_upload, unique};
use reqwest::StatusCode;
use serde_json::Value;
use uuid::Uuid;

const IPHONE: &[u8] = include_bytes!("../../crates/imaging/tests/fixtures/iphone-like.heic");
const AVIF: &[u8] = include_bytes!("../../crates/imaging/tests/fixtures/photo.avif");
const TRUNCATED: &[u8] = include_bytes!("../../crates/imaging/tests/fixtures/truncated.heic");
const ISPE_HUGE: &[u8] = include_bytes!("../../crates/imaging/tests/fixtures/ispe-huge.heic");
const GARBAGE: &[u8] = include_bytes!("../../crates/imaging/tests/fixtures/garbage.heic");
const CODED_8K: &[u8] = include_bytes!("../../crates/imaging/tests/fixtures/coded-8k.heic");

/// HEIC/AVIF decodes of this test process run in children of the `ciel`
/// binary, started with its hidden decode argument, as `main` sets it up.
fn isolate() {
    ciel_imaging::isolation::use_program(env!("CARGO_BIN_EXE_ciel"));
}

/// (bytes, declared type, displayed width and height)
const PHOTOS: [(&[u8], &str, (i64, i64)); 2] = [
    // 4032x3024 stored, irot 90 deg clockwise: portrait
    (IPHONE, "image/heic", (3024, 4032)),
    (AVIF, "image/avif", (1200, 900)),
];

async fn upload_completed(app: &TestApp, token: &str, bytes: &[u8], content_type: &str) -> Uuid {
    let id = upload(app, token, bytes, content_type, bytes.len()).await;
    complete(app, token, id)
        .await
        .expect(StatusCode::ACCEPTED, None);
    id
}

/// A ready photo: its size after irot, all four sizes in WebP (issue 30), each
/// served, of its stated size and orientation, and without any metadata.
async fn assert_ready(app: &TestApp, media: &Value, (width, height): (i64, i64)) {
    assert_eq!(media["status"], "ready", "{media}");
    assert_eq!(
        (media["width"].as_i64(), media["height"].as_i64()),
        (Some(width), Some(height)),
        "{media}"
    );
    let variants = media["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 4, "four sizes, WebP only: {media}");
    for variant in variants {
        let (w, h) = (
            variant["width"].as_i64().unwrap(),
            variant["height"].as_i64().unwrap(),
        );
        assert_eq!(w > h, width > height, "orientation kept: {variant}");
        let response = app
            .client
            .get(variant["url"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let bytes = response.bytes().await.unwrap();
        assert_eq!(bytes.len() as u64, variant["bytes"].as_u64().unwrap());
        let expected = match variant["format"].as_str() {
            Some("webp") => ciel_imaging::SourceFormat::Webp,
            _ => ciel_imaging::SourceFormat::Jpeg,
        };
        assert_eq!(ciel_imaging::sniff(&bytes), Some(expected), "{variant}");
        assert!(
            !ciel_imaging::has_metadata(&bytes),
            "{variant} carries metadata"
        );
        for word in [&b"Exif"[..], b"CielTest"] {
            assert!(
                !bytes.windows(word.len()).any(|w| w == word),
                "{variant}: no EXIF, no camera make (GPS lives there)"
            );
        }
    }
}

#[tokio::test]
async fn dev_mode_processes_heic_and_avif_even_when_declared_as_jpeg() {
    isolate();
    let backing = Backing::new().await;
    let app = TestApp::spawn(&backing, backing.env("dev")).await;
    let token = app.access_token(&unique("hd")).await;
    for (bytes, content_type, size) in PHOTOS {
        let id = upload_completed(&app, &token, bytes, content_type).await;
        assert_ready(&app, &settled(&app, &token, id).await, size).await;
    }
    // the worker sniffs the bytes: a HEIC declared as a JPEG is still a HEIC
    let id = upload_completed(&app, &token, AVIF, "image/jpeg").await;
    assert_ready(&app, &settled(&app, &token, id).await, (1200, 900)).await;
}

#[tokio::test]
async fn the_long_polling_worker_processes_heic_and_avif() {
    isolate();
    let backing = Backing::new().await;
    let api = TestApp::spawn(&backing, backing.env("api")).await;
    let _worker = TestApp::spawn(&backing, backing.env("worker")).await;
    let token = api.access_token(&unique("hw")).await;
    for (bytes, content_type, size) in PHOTOS {
        let id = upload_completed(&api, &token, bytes, content_type).await;
        assert_ready(&api, &settled(&api, &token, id).await, size).await;
    }
}

#[tokio::test]
async fn the_serverless_worker_processes_heic_and_avif() {
    isolate();
    let backing = Backing::new().await;
    let api = TestApp::spawn(&backing, backing.env("api")).await;
    let worker = TestApp::spawn(&backing, backing.env("serverless-worker")).await;
    let token = api.access_token(&unique("hs")).await;
    let queue = backing.queue();
    for (bytes, content_type, size) in PHOTOS {
        let id = upload_completed(&api, &token, bytes, content_type).await;
        // Scaleway's SQS trigger: the message body, POSTed to the worker.
        let messages = queue
            .receive_media(1, Duration::from_secs(5), Duration::from_secs(30))
            .await
            .unwrap();
        assert_eq!(messages.len(), 1);
        let response = worker
            .client
            .post(worker.url("/"))
            .body(messages[0].body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        queue.delete(&messages[0].receipt_handle).await.unwrap();
        assert_ready(&api, &settled(&api, &token, id).await, size).await;
    }
}

#[tokio::test]
async fn bad_heif_files_fail_each_with_its_own_code() {
    isolate();
    let backing = Backing::new().await;
    let app = TestApp::spawn(&backing, backing.env("dev")).await;
    let token = app.access_token(&unique("hb")).await;
    let cases: [(&str, &[u8], &str); 4] = [
        ("truncated HEIC", TRUNCATED, "corrupt_image"),
        ("ispe claiming 100000x100000", ISPE_HUGE, "image_too_large"),
        ("heic brand, then garbage", GARBAGE, "corrupt_image"),
        (
            "iPhone-like HEIC cut inside its tiles",
            &IPHONE[..IPHONE.len() * 2 / 3],
            "corrupt_image",
        ),
    ];
    let mut ids = Vec::new();
    for (_, bytes, _) in &cases {
        ids.push(upload_completed(&app, &token, bytes, "image/heic").await);
    }
    for (id, (what, _, code)) in ids.into_iter().zip(cases) {
        let media = settled(&app, &token, id).await;
        assert_eq!(media["status"], "failed", "{what}: {media}");
        assert_eq!(media["error"]["code"], code, "{what}: {media}");
        assert!(media["variants"].as_array().unwrap().is_empty());
    }
    // and the worker is still fine
    let id = upload_completed(&app, &token, AVIF, "image/avif").await;
    assert_eq!(settled(&app, &token, id).await["status"], "ready");
}

/// The audit's files: a HEIC declaring 64x48 that codes 8192x4320, a grid of
/// 48 references to it, the iPhone grid naming one tile everywhere, a 1x1
/// grid of 64x48 whose tile is 8192x4320, the same lie in an AVIF. Each
/// fails from its header, before a pixel exists, and the worker goes on.
#[tokio::test]
async fn crafted_heif_files_fail_before_any_decode() {
    isolate();
    let backing = Backing::new().await;
    let app = TestApp::spawn(&backing, backing.env("dev")).await;
    let token = app.access_token(&unique("hc")).await;
    let cases: [(&str, Vec<u8>); 5] = [
        (
            "ispe 64x48, coded 8192x4320",
            craft_heif::with_ispe(CODED_8K, 64, 48),
        ),
        (
            "48 references to that tile",
            craft_heif::grid_of_one_tile(CODED_8K, (64, 48), 6, 8, (512, 288)),
        ),
        (
            "one tile everywhere",
            craft_heif::with_first_tile_everywhere(IPHONE),
        ),
        (
            "a 1x1 grid of 64x48 made of an 8192x4320 tile",
            craft_heif::grid_of_one_tile(CODED_8K, (8192, 4320), 1, 1, (64, 48)),
        ),
        (
            "AVIF ispe 120x90, coded 1200x900",
            craft_heif::with_ispe(AVIF, 120, 90),
        ),
    ];
    let mut ids = Vec::new();
    for (_, bytes) in &cases {
        ids.push(upload_completed(&app, &token, bytes, "image/heic").await);
    }
    for (id, (what, _)) in ids.into_iter().zip(cases) {
        let media = settled(&app, &token, id).await;
        assert_eq!(media["status"], "failed", "{what}: {media}");
        assert_eq!(media["error"]["code"], "corrupt_image", "{what}: {media}");
    }
    let id = upload_completed(&app, &token, IPHONE, "image/heic").await;
    assert_eq!(settled(&app, &token, id).await["status"], "ready");
}

/// A decode that outlasts the job's time limit is killed with its child
/// (libheif 1.15 cannot be interrupted): the photo fails with its own code.
#[tokio::test]
async fn a_heif_decode_past_its_time_limit_is_stopped() {
    isolate();
    let backing = Backing::new().await;
    let api = TestApp::spawn(&backing, backing.env("api")).await;
    let mut env = backing.env("serverless-worker");
    // HEIC gets four times a JPEG's share, at most this: 50 ms for 12 MP
    env.insert("WORKER_JOB_TIME_LIMIT_SECS", "0.05".into());
    let worker = TestApp::spawn(&backing, env).await;
    let token = api.access_token(&unique("ht")).await;
    let (id, job) = queued_upload(&backing, &api, &token, IPHONE).await;
    let response = worker
        .client
        .post(worker.url("/"))
        .body(job)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        media_state(&backing, id).await,
        ("failed".into(), Some("processing_timed_out".into()))
    );
}
