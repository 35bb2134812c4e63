//! Perceptual hash matching (issue 29), through the real worker path: uploads to the real S3
//! server, jobs on the real queue, the long-polling worker hashing each photo with PDQ, and
//! PostgreSQL matching it against the block list. A photo one pixel off a taken-down one is
//! held for review, cannot be posted or used as an avatar (`media_quarantined`), shows in the
//! moderators' queue with a preview, and is usable once released; a confirmed one is gone.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use crate::common::media::{DEADLINE, complete, settled, upload};
use crate::common::social::{User, id_of, user};
use crate::common::{Reply, TestApp, eventually, unique};

const ADMIN: &str = "hash-matching-admin-token";

async fn admin(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> Reply {
    let mut request = app
        .client
        .request(method, app.url(path))
        .header("X-Admin-Token", ADMIN);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    Reply {
        status,
        headers,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
    }
}

/// A 480x360 picture with the texture of a photo (PDQ quality well above 50), as a PNG, with
/// the pixel at `changed` (if any) inverted.
fn picture(changed: Option<(u32, u32)>) -> Vec<u8> {
    picture_of(9.0, changed)
}

/// [`picture`] with waves of another frequency: another picture.
fn picture_of(frequency: f32, changed: Option<(u32, u32)>) -> Vec<u8> {
    let (w, h) = (480u32, 360u32);
    let mut rgb = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            let (fx, fy) = (x as f32 / w as f32, y as f32 / h as f32);
            let v = 0.5
                + 0.25 * (fx * frequency + (fy * 4.0).sin() * 2.0).sin()
                + 0.25 * (fy * 13.0 - fx * 5.0).cos();
            let c = (v.clamp(0.0, 1.0) * 255.0) as u8;
            let mut px = [c, c.wrapping_add((x % 7) as u8), 255 - c];
            if changed == Some((x, y)) {
                px = px.map(|v| 255 - v);
            }
            rgb.extend_from_slice(&px);
        }
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(&rgb).unwrap();
    writer.finish().unwrap();
    out
}

/// Uploads `bytes` and waits for the worker to make the photo ready.
async fn processed_photo(app: &TestApp, owner: &User, bytes: &[u8]) -> Uuid {
    let id = upload(app, &owner.token, bytes, "image/png", bytes.len()).await;
    complete(app, &owner.token, id)
        .await
        .expect(StatusCode::ACCEPTED, None);
    let media = settled(app, &owner.token, id).await;
    assert_eq!(media["status"], "ready", "{media}");
    id
}

async fn hash_of(pool: &PgPool, media: Uuid) -> (String, i16) {
    sqlx::query_as("SELECT encode(pdq, 'hex'), pdq_quality FROM media WHERE id = $1")
        .bind(media)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn quarantine_state(pool: &PgPool, media: Uuid) -> Option<(String, i16)> {
    sqlx::query_as("SELECT state::text, distance FROM media_quarantine WHERE media_id = $1")
        .bind(media)
        .fetch_optional(pool)
        .await
        .unwrap()
}

async fn withheld(pool: &PgPool, media: Uuid) -> bool {
    sqlx::query_scalar("SELECT variants_withheld FROM media WHERE id = $1")
        .bind(media)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn try_post(app: &TestApp, author: &User, media: Uuid) -> Reply {
    app.post(
        "/v1/posts",
        author.token(),
        json!({ "caption": "harbour", "media_ids": [media] }),
    )
    .await
}

fn distance(a: &str, b: &str) -> u32 {
    let (a, b) = (hex(a), hex(b));
    a.iter().zip(&b).map(|(x, y)| (x ^ y).count_ones()).sum()
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

async fn app_and_worker() -> (TestApp, TestApp) {
    let app = TestApp::api_with(|env| {
        env.insert("ADMIN_TOKEN", ADMIN.into());
    })
    .await;
    let worker = TestApp::spawn(&app.backing, app.backing.env("worker")).await;
    (app, worker)
}

#[tokio::test]
async fn a_photo_one_pixel_off_a_taken_down_photo_is_held_for_review() {
    let (app, _worker) = app_and_worker().await;
    let pool = app.backing.pool().await;
    let ana = user(&app, &unique("ana")).await;
    let bo = user(&app, &unique("bo")).await;

    // Ana posts a photo; a moderator takes the post down, which puts its hash on the list.
    let original = processed_photo(&app, &ana, &picture(None)).await;
    let (original_hash, quality) = hash_of(&pool, original).await;
    assert!(
        quality >= 50,
        "a textured picture hashes with quality {quality}"
    );
    let post = try_post(&app, &ana, original).await;
    post.expect(StatusCode::CREATED, None);
    let post_id = id_of(&post.body);
    admin(
        &app,
        Method::POST,
        &format!("/v1/admin/posts/{post_id}/takedown"),
        None,
    )
    .await
    .expect(StatusCode::NO_CONTENT, None);
    let list = admin(&app, Method::GET, "/v1/admin/blocked-hashes", None).await;
    list.expect(StatusCode::OK, None);
    let entries = list.body["items"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{}", list.body);
    assert_eq!(entries[0]["hash"], original_hash.as_str());
    assert_eq!(entries[0]["source"], "takedown");
    assert_eq!(entries[0]["post_id"], post_id.to_string());

    // Bo uploads the same picture with one pixel changed: the worker holds it for review.
    let copy = processed_photo(&app, &bo, &picture(Some((200, 150)))).await;
    let (copy_hash, _) = hash_of(&pool, copy).await;
    let bits = distance(&original_hash, &copy_hash);
    println!("one pixel moved the PDQ hash by {bits} bits");
    assert!(bits <= 31, "one pixel moved the hash by {bits} bits");
    let (state, recorded) = quarantine_state(&pool, copy).await.expect("quarantined");
    assert_eq!(state, "pending");
    assert_eq!(recorded as u32, bits);
    let withheld_now = eventually(DEADLINE, "the held photo's variants withheld", || async {
        withheld(&pool, copy).await.then_some(true)
    })
    .await;
    assert!(withheld_now);

    // It can be neither posted nor made an avatar, with a code the app can explain.
    try_post(&app, &bo, copy)
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY, Some("media_quarantined"));
    app.request(
        Method::PATCH,
        "/v1/me",
        bo.token(),
        Some(json!({ "avatar_media_id": copy })),
    )
    .await
    .expect(StatusCode::UNPROCESSABLE_ENTITY, Some("media_quarantined"));

    // The moderators' queue shows it, what it matched and a preview they can open.
    let queue = admin(&app, Method::GET, "/v1/admin/quarantine", None).await;
    queue.expect(StatusCode::OK, None);
    let held = &queue.body["items"][0];
    assert_eq!(held["media_id"], copy.to_string(), "{}", queue.body);
    assert_eq!(held["owner_handle"], bo.handle.as_str());
    assert_eq!(held["matched_hash"], original_hash.as_str());
    assert_eq!(held["distance"], bits);
    let preview = held["preview_url"].as_str().expect("a preview URL");
    let fetched = app.client.get(preview).send().await.unwrap();
    assert_eq!(fetched.status(), StatusCode::OK, "the preview opens");

    // Released, it is Bo's to post, and its variants are public again.
    admin(
        &app,
        Method::POST,
        &format!("/v1/admin/quarantine/{copy}/release"),
        None,
    )
    .await
    .expect(StatusCode::NO_CONTENT, None);
    assert_eq!(quarantine_state(&pool, copy).await.unwrap().0, "released");
    assert!(!withheld(&pool, copy).await);
    try_post(&app, &bo, copy)
        .await
        .expect(StatusCode::CREATED, None);
    let queue = admin(&app, Method::GET, "/v1/admin/quarantine", None).await;
    assert_eq!(queue.body["items"], json!([]), "{}", queue.body);

    // Reversing the takedown takes its hashes off the list.
    admin(
        &app,
        Method::DELETE,
        &format!("/v1/admin/posts/{post_id}/takedown"),
        None,
    )
    .await
    .expect(StatusCode::NO_CONTENT, None);
    let list = admin(&app, Method::GET, "/v1/admin/blocked-hashes", None).await;
    assert_eq!(list.body["items"], json!([]), "{}", list.body);
}

#[tokio::test]
async fn moderators_manage_the_list_and_a_confirmed_match_is_gone() {
    let (app, _worker) = app_and_worker().await;
    let pool = app.backing.pool().await;
    let cy = user(&app, &unique("cy")).await;

    // Without the token, nothing; bad hashes and reasons are refused.
    let anonymous = app
        .client
        .get(app.url("/v1/admin/blocked-hashes"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    for body in [
        json!({ "hash": "abc", "reason": "x" }),
        json!({ "hash": "g".repeat(64), "reason": "x" }),
        json!({ "hash": "0".repeat(64), "reason": "  " }),
    ] {
        admin(&app, Method::POST, "/v1/admin/blocked-hashes", Some(body))
            .await
            .expect(StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed"));
    }

    // A photo processed before its hash was listed stays usable; the list changes the next
    // upload: a moderator lists the hash with one bit flipped.
    let bytes = picture(None);
    let first = processed_photo(&app, &cy, &bytes).await;
    assert_eq!(quarantine_state(&pool, first).await, None);
    let (hash, _) = hash_of(&pool, first).await;
    let mut flipped = hex(&hash);
    flipped[31] ^= 1;
    let flipped: String = flipped.iter().map(|b| format!("{b:02x}")).collect();
    let added = admin(
        &app,
        Method::POST,
        "/v1/admin/blocked-hashes",
        Some(json!({ "hash": flipped.to_uppercase(), "reason": "known abusive image" })),
    )
    .await;
    added.expect(StatusCode::CREATED, None);
    assert_eq!(added.body["hash"], flipped.as_str());
    assert_eq!(added.body["source"], "admin");
    let entry = id_of(&added.body);
    admin(
        &app,
        Method::POST,
        "/v1/admin/blocked-hashes",
        Some(json!({ "hash": flipped, "reason": "again" })),
    )
    .await
    .expect(StatusCode::CONFLICT, Some("hash_already_blocked"));

    let second = processed_photo(&app, &cy, &bytes).await;
    assert_eq!(
        quarantine_state(&pool, second).await,
        Some(("pending".into(), 1))
    );
    // Another picture is not near it, and posts.
    let other = processed_photo(&app, &cy, &picture_of(23.0, None)).await;
    let (other_hash, _) = hash_of(&pool, other).await;
    assert!(
        distance(&other_hash, &flipped) > 31,
        "{other_hash} vs {flipped}"
    );
    assert_eq!(quarantine_state(&pool, other).await, None);
    try_post(&app, &cy, other)
        .await
        .expect(StatusCode::CREATED, None);

    // Confirmed: removed as a takedown removes a photo, and its own hash joins the list.
    admin(
        &app,
        Method::POST,
        &format!("/v1/admin/quarantine/{second}/confirm"),
        None,
    )
    .await
    .expect(StatusCode::NO_CONTENT, None);
    try_post(&app, &cy, second)
        .await
        .expect(StatusCode::NOT_FOUND, Some("media_not_found"));
    assert!(withheld(&pool, second).await);
    let list = admin(&app, Method::GET, "/v1/admin/blocked-hashes?limit=1", None).await;
    list.expect(StatusCode::OK, None);
    assert_eq!(
        list.body["items"][0]["source"], "quarantine",
        "{}",
        list.body
    );
    assert_eq!(list.body["items"][0]["hash"], hash.as_str());
    assert_eq!(list.body["items"][0]["media_id"], second.to_string());
    let cursor = list.body["next_cursor"].as_str().expect("a second page");
    let rest = admin(
        &app,
        Method::GET,
        &format!("/v1/admin/blocked-hashes?limit=1&cursor={cursor}"),
        None,
    )
    .await;
    assert_eq!(
        rest.body["items"][0]["id"],
        entry.to_string(),
        "{}",
        rest.body
    );

    // A decision is made once; entries are removed once.
    for decision in ["release", "confirm"] {
        admin(
            &app,
            Method::POST,
            &format!("/v1/admin/quarantine/{second}/{decision}"),
            None,
        )
        .await
        .expect(StatusCode::NOT_FOUND, Some("quarantine_not_found"));
    }
    let path = format!("/v1/admin/blocked-hashes/{entry}");
    admin(&app, Method::DELETE, &path, None)
        .await
        .expect(StatusCode::NO_CONTENT, None);
    admin(&app, Method::DELETE, &path, None)
        .await
        .expect(StatusCode::NOT_FOUND, Some("blocked_hash_not_found"));

    // The first photo, never matched, posts as before.
    try_post(&app, &cy, first)
        .await
        .expect(StatusCode::CREATED, None);
}
