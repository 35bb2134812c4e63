//! Data exports and legal holds (issue 29), against the real S3 server
//! (s3s-fs), SQS, PostgreSQL and SMTP: the export opened and checked file by
//! file; a purge that leaves what holds keep and deletes the rest, and the
//! hold's end that deletes what it kept.

use std::collections::{BTreeSet, HashMap};
use std::io::Read;
use std::time::Duration;

use crate::common::smtp::SmtpServer;
use crate::common::social::{User, delete_with, id_of, post, ready_media, user};
use crate::common::{Backing, PASSWORD, TestApp, eventually, unique};
use ciel::infra::s3::ObjectError;
use ciel::social::accounts::{self, Purge};
use ciel::social::export;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

const DEADLINE: Duration = Duration::from_secs(60);
const ADMIN: &str = "export-test-admin-token-0123456789";

async fn original_key(pool: &PgPool, id: Uuid) -> String {
    sqlx::query_scalar("SELECT original_key FROM media WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Photos as rows, with distinct original bytes on the real S3 server.
async fn photos_with_originals(
    backing: &Backing,
    pool: &PgPool,
    owner: Uuid,
    count: usize,
) -> Vec<(Uuid, Vec<u8>)> {
    let mut photos = Vec::new();
    for id in ready_media(pool, owner, count).await {
        let bytes = format!("\u{FF}\u{D8} original of {id}").into_bytes();
        backing
            .storage()
            .put(
                &original_key(pool, id).await,
                bytes.clone(),
                "image/jpeg",
                "no-cache",
            )
            .await
            .unwrap();
        photos.push((id, bytes));
    }
    photos
}

fn json_of(archive: &mut zip::ZipArchive<std::io::Cursor<Vec<u8>>>, name: &str) -> Value {
    let mut text = String::new();
    archive
        .by_name(name)
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn an_export_is_built_mailed_opened_file_by_file_and_deleted_after_a_week() {
    let smtp = SmtpServer::start().await;
    let backing = Backing::new().await;
    let mut env = backing.env("dev");
    env.insert("SMTP_URL", smtp.url());
    env.insert("MAIL_FROM", "Ciel <no-reply@mail.example.org>".into());
    env.insert("APP_LINK_BASE_URL", "https://links.example.org/app".into());
    let app = TestApp::spawn(&backing, env).await;
    let pool = backing.pool().await;
    let ana = user(&app, &unique("ana")).await;
    let bo = user(&app, &unique("bo")).await;

    let photos = photos_with_originals(&backing, &pool, ana.id, 2).await;
    let reply = app
        .post(
            "/v1/posts",
            ana.token(),
            json!({ "caption": "two photos, my caption #harbour",
                    "media": [{ "id": photos[0].0, "alt_text": "a red door" }, { "id": photos[1].0 }] }),
        )
        .await;
    reply.expect(StatusCode::CREATED, None);
    let anas = id_of(&reply.body);
    let bos = id_of(&post(&app, &pool, &bo, "bo's").await);
    app.post(
        &format!("/v1/posts/{bos}/comments"),
        ana.token(),
        json!({ "text": "nice one" }),
    )
    .await
    .expect(StatusCode::CREATED, None);
    app.post(&format!("/v1/posts/{bos}/like"), ana.token(), json!({}))
        .await
        .expect(StatusCode::NO_CONTENT, None);
    app.post(
        &format!("/v1/users/{}/follow", bo.handle),
        ana.token(),
        json!({}),
    )
    .await
    .expect(StatusCode::NO_CONTENT, None);
    app.request(
        Method::PUT,
        &format!("/v1/me/close-friends/{}", bo.handle),
        ana.token(),
        None,
    )
    .await
    .expect(StatusCode::NO_CONTENT, None);
    app.request(
        Method::PUT,
        &format!("/v1/users/{}/mute", bo.handle),
        ana.token(),
        Some(json!({ "notifications": false })),
    )
    .await
    .expect(StatusCode::NO_CONTENT, None);
    app.request(
        Method::PUT,
        "/v1/hashtags/Harbour/follow",
        ana.token(),
        None,
    )
    .await
    .expect(StatusCode::NO_CONTENT, None);
    let carl = user(&app, &unique("carl")).await;
    app.post(
        &format!("/v1/users/{}/block", carl.handle),
        ana.token(),
        json!({}),
    )
    .await
    .expect(StatusCode::NO_CONTENT, None);
    app.post(
        "/v1/reports",
        ana.token(),
        json!({ "target_type": "user", "target_id": carl.id, "reason": "rude", "category": "harassment" }),
    )
    .await
    .expect(StatusCode::CREATED, None);

    // The password confirms; none asked yet.
    app.get("/v1/me/export", ana.token())
        .await
        .expect(StatusCode::NOT_FOUND, Some("export_not_found"));
    app.post(
        "/v1/me/export",
        ana.token(),
        json!({ "password": "not the password" }),
    )
    .await
    .expect(StatusCode::FORBIDDEN, Some("wrong_password"));
    let asked = app
        .post(
            "/v1/me/export",
            ana.token(),
            json!({ "password": PASSWORD }),
        )
        .await;
    asked.expect(StatusCode::ACCEPTED, None);
    assert_eq!(asked.body["status"], "pending");
    assert!(asked.body["url"].is_null());
    app.post(
        "/v1/me/export",
        ana.token(),
        json!({ "password": PASSWORD }),
    )
    .await
    .expect(StatusCode::CONFLICT, Some("export_too_soon"));

    let ready = eventually(DEADLINE, "the export to be ready", || async {
        let reply = app.get("/v1/me/export", ana.token()).await;
        (reply.body["status"] == "ready").then_some(reply.body)
    })
    .await;
    assert_eq!(ready["id"], asked.body["id"]);
    let mail = smtp
        .mail(
            &format!("{}@example.org", ana.handle),
            "Your Ciel data export is ready",
        )
        .await;
    let mailed = mail.link();
    // The mailed link works (presigned, 24 h) and so does the one GET hands out.
    let mut archives = Vec::new();
    for url in [mailed.as_str(), ready["url"].as_str().unwrap()] {
        let response = app.client.get(url).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{url}");
        archives.push(response.bytes().await.unwrap().to_vec());
    }
    assert_eq!(archives[0], archives[1]);
    assert_eq!(ready["bytes"].as_i64().unwrap() as usize, archives[0].len());
    assert!(
        mailed.contains("X-Amz-Expires=86400"),
        "a link for 24 hours"
    );
    let link_kept: Option<String> = sqlx::query_scalar(
        "SELECT link FROM mail_outbox WHERE user_id = $1 AND kind = 'data_export'",
    )
    .bind(ana.id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(link_kept, None, "the outbox forgets the link once sent");

    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(archives.remove(0))).unwrap();
    let names: BTreeSet<String> = archive.file_names().map(str::to_owned).collect();
    let mut expected: BTreeSet<String> = [
        "profile.json",
        "posts.json",
        "comments.json",
        "likes.json",
        "following.json",
        "followers.json",
        "blocks.json",
        "close_friends.json",
        "mutes.json",
        "filters.json",
        "hashtags_followed.json",
        "stories.json",
        "highlights.json",
        "sessions.json",
        "reports.json",
        "notification_settings.json",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    for (id, _) in &photos {
        expected.insert(format!("photos/{id}.jpg"));
    }
    assert_eq!(names, expected);
    // Photos are stored, not deflated, and are the originals byte for byte.
    for (id, bytes) in &photos {
        let mut entry = archive.by_name(&format!("photos/{id}.jpg")).unwrap();
        assert_eq!(entry.compression(), zip::CompressionMethod::Stored);
        let mut read = Vec::new();
        entry.read_to_end(&mut read).unwrap();
        assert_eq!(&read, bytes);
    }
    let profile = json_of(&mut archive, "profile.json");
    assert_eq!(profile["handle"], ana.handle);
    assert_eq!(profile["email"], format!("{}@example.org", ana.handle));
    assert!(profile.get("password_hash").is_none(), "{profile}");
    let posts = json_of(&mut archive, "posts.json");
    assert_eq!(posts.as_array().unwrap().len(), 1);
    assert_eq!(posts[0]["id"], anas.to_string());
    assert_eq!(posts[0]["caption"], "two photos, my caption #harbour");
    assert_eq!(posts[0]["photos"][1]["media_id"], photos[1].0.to_string());
    assert_eq!(posts[0]["photos"][0]["alt_text"], "a red door");
    assert_eq!(
        json_of(&mut archive, "hashtags_followed.json")[0]["tag"],
        "harbour"
    );
    assert!(posts[0]["photos"][1]["alt_text"].is_null());
    assert_eq!(
        json_of(&mut archive, "comments.json")[0]["text"],
        "nice one"
    );
    assert_eq!(
        json_of(&mut archive, "likes.json")[0]["post_id"],
        bos.to_string()
    );
    assert_eq!(
        json_of(&mut archive, "following.json")[0]["handle"],
        bo.handle
    );
    assert_eq!(json_of(&mut archive, "followers.json"), json!([]));
    assert_eq!(
        json_of(&mut archive, "blocks.json")[0]["handle"],
        carl.handle
    );
    assert_eq!(
        json_of(&mut archive, "close_friends.json")[0]["handle"],
        bo.handle
    );
    assert_eq!(json_of(&mut archive, "filters.json"), json!([]));
    let mutes = json_of(&mut archive, "mutes.json");
    assert_eq!(mutes[0]["handle"], bo.handle);
    assert_eq!(mutes[0]["notifications"], false);
    let reports = json_of(&mut archive, "reports.json");
    assert_eq!(reports[0]["target_id"], carl.id.to_string());
    assert_eq!(reports[0]["category"], "harassment");
    assert_eq!(reports[0]["reason"], "rude");
    assert!(
        !json_of(&mut archive, "sessions.json")
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(json_of(&mut archive, "stories.json"), json!([]));
    assert!(json_of(&mut archive, "notification_settings.json").is_object());

    // A week later the chores delete the archive, object first.
    let key: String = sqlx::query_scalar("SELECT object_key FROM data_exports WHERE user_id = $1")
        .bind(ana.id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(key.starts_with(&format!("exports/{}/", ana.id)));
    sqlx::query(
        "UPDATE data_exports SET created_at = now() - interval '8 days' WHERE user_id = $1",
    )
    .bind(ana.id)
    .execute(&pool)
    .await
    .unwrap();
    let storage = backing.storage();
    let deleted = export::sweep(&pool, &storage, &backing.queue())
        .await
        .unwrap();
    assert!(deleted >= 1);
    assert!(matches!(
        storage.get(&key).await,
        Err(ObjectError::NotFound)
    ));
    app.get("/v1/me/export", ana.token())
        .await
        .expect(StatusCode::NOT_FOUND, Some("export_not_found"));
}

async fn objects_exist(backing: &Backing, keys: &[String]) -> Vec<bool> {
    let storage = backing.storage();
    let mut found = Vec::new();
    for key in keys {
        found.push(storage.get(key).await.is_ok());
    }
    found
}

async fn count(pool: &PgPool, sql: &str, id: Uuid) -> i64 {
    sqlx::query_scalar(sql)
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn admin(
    app: &TestApp,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = app
        .client
        .request(method, app.url(path))
        .header("X-Admin-Token", ADMIN);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_purge_leaves_what_legal_holds_keep_and_deletes_the_rest_until_the_hold_ends() {
    let backing = Backing::new().await;
    let mut env: HashMap<&'static str, String> = backing.env("api");
    env.insert("ADMIN_TOKEN", ADMIN.into());
    let app = TestApp::spawn(&backing, env).await;
    let pool = backing.pool().await;
    let storage = backing.storage();
    let gone: User = user(&app, &unique("held")).await;
    let other = user(&app, &unique("other")).await;

    let held_photos = photos_with_originals(&backing, &pool, gone.id, 1).await;
    let free_photos = photos_with_originals(&backing, &pool, gone.id, 1).await;
    let held_post = id_of(
        &app.post(
            "/v1/posts",
            gone.token(),
            json!({ "caption": "evidence", "media_ids": [held_photos[0].0] }),
        )
        .await
        .body,
    );
    let free_post = id_of(
        &app.post(
            "/v1/posts",
            gone.token(),
            json!({ "caption": "ordinary", "media_ids": [free_photos[0].0] }),
        )
        .await
        .body,
    );
    app.post(
        &format!("/v1/users/{}/follow", other.handle),
        gone.token(),
        json!({}),
    )
    .await
    .expect(StatusCode::NO_CONTENT, None);
    app.post(
        "/v1/reports",
        other.token(),
        json!({ "target_type": "post", "target_id": held_post, "reason": "abuse", "category": "child_safety" }),
    )
    .await
    .expect(StatusCode::CREATED, None);
    app.post(
        "/v1/reports",
        other.token(),
        json!({ "target_type": "post", "target_id": free_post, "reason": "spam", "category": "spam" }),
    )
    .await
    .expect(StatusCode::CREATED, None);
    let held_key = original_key(&pool, held_photos[0].0).await;
    let free_key = original_key(&pool, free_photos[0].0).await;

    // Holds need the token and a target that exists.
    let (status, _) = admin(
        &app,
        Method::POST,
        "/v1/admin/holds",
        Some(json!({
        "target_type": "post", "target_id": Uuid::new_v4(), "reason": "x" })),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, hold) = admin(
        &app,
        Method::POST,
        "/v1/admin/holds",
        Some(json!({
        "target_type": "post", "target_id": held_post, "reason": "CyberTipline report 1" })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{hold}");
    assert_eq!(hold["owner_id"], gone.id.to_string());
    let (_, listed) = admin(&app, Method::GET, "/v1/admin/holds", None).await;
    assert_eq!(listed["items"][0]["id"], hold["id"]);
    // A year by default.
    let days: f64 = sqlx::query_scalar(
        "SELECT extract(epoch FROM expires_at - created_at)::float8 / 86400 FROM legal_holds WHERE id = $1",
    )
    .bind(id_of(&hold))
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(days.round(), 365.0);

    // The author deletes the held post: hidden, not deleted.
    app.delete(&format!("/v1/posts/{held_post}"), gone.token())
        .await
        .expect(StatusCode::NO_CONTENT, None);
    app.get(&format!("/v1/posts/{held_post}"), other.token())
        .await
        .expect(StatusCode::NOT_FOUND, Some("post_not_found"));
    assert_eq!(
        count(&pool, "SELECT count(*) FROM posts WHERE id = $1", held_post).await,
        1
    );

    delete_with(
        &app,
        "/v1/me",
        gone.token(),
        json!({ "password": PASSWORD }),
    )
    .await
    .expect(StatusCode::ACCEPTED, None);
    // The purge job, as the worker runs it.
    assert_eq!(
        accounts::purge(&pool, &storage, gone.id).await.unwrap(),
        Purge::Held
    );
    // Held: the post, its photo's row and object, the report about it, the account row.
    assert_eq!(
        count(&pool, "SELECT count(*) FROM posts WHERE id = $1", held_post).await,
        1
    );
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM media WHERE id = $1",
            held_photos[0].0
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM reports WHERE target_id = $1",
            held_post
        )
        .await,
        1
    );
    assert_eq!(
        count(&pool, "SELECT count(*) FROM users WHERE id = $1", gone.id).await,
        1
    );
    // The rest is gone: the other post, its photo, its report, follows, sessions.
    assert_eq!(
        count(&pool, "SELECT count(*) FROM posts WHERE id = $1", free_post).await,
        0
    );
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM media WHERE id = $1",
            free_photos[0].0
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM reports WHERE target_id = $1",
            free_post
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM follows WHERE follower_id = $1",
            gone.id
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM auth_sessions WHERE user_id = $1",
            gone.id
        )
        .await,
        0
    );
    assert_eq!(
        objects_exist(&backing, &[held_key.clone(), free_key.clone()]).await,
        [true, false]
    );
    // Nobody but admins sees what is kept.
    app.get(&format!("/v1/posts/{held_post}"), other.token())
        .await
        .expect(StatusCode::NOT_FOUND, Some("post_not_found"));
    // Purging again (the re-queue, a redelivery) keeps it too; the stalled-purge sweep leaves it.
    assert_eq!(
        accounts::purge(&pool, &storage, gone.id).await.unwrap(),
        Purge::Held
    );
    assert_eq!(
        objects_exist(&backing, std::slice::from_ref(&held_key)).await,
        [true]
    );
    sqlx::query("UPDATE users SET deleted_at = now() - interval '1 hour' WHERE id = $1")
        .bind(gone.id)
        .execute(&pool)
        .await
        .unwrap();
    let requeued = accounts::requeue_stalled_purges(&pool, &backing.queue())
        .await
        .unwrap();
    assert_eq!(requeued, 0);

    // A chore before the end changes nothing; the end (an admin's release
    // here, the expiry otherwise) deletes what the hold kept.
    accounts::end_legal_holds(&pool, &storage).await.unwrap();
    assert_eq!(
        count(&pool, "SELECT count(*) FROM posts WHERE id = $1", held_post).await,
        1
    );
    let (status, released) = admin(
        &app,
        Method::DELETE,
        &format!("/v1/admin/holds/{}", hold["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(released["released_at"].is_string());
    accounts::end_legal_holds(&pool, &storage).await.unwrap();
    assert_eq!(
        count(&pool, "SELECT count(*) FROM users WHERE id = $1", gone.id).await,
        0
    );
    assert_eq!(
        count(&pool, "SELECT count(*) FROM posts WHERE id = $1", held_post).await,
        0
    );
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM media WHERE id = $1",
            held_photos[0].0
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM reports WHERE target_id = $1",
            held_post
        )
        .await,
        0
    );
    assert_eq!(objects_exist(&backing, &[held_key]).await, [false]);
}

#[tokio::test]
async fn an_expired_hold_on_a_live_post_deleted_meanwhile_deletes_it() {
    let backing = Backing::new().await;
    let mut env = backing.env("api");
    env.insert("ADMIN_TOKEN", ADMIN.into());
    let app = TestApp::spawn(&backing, env).await;
    let pool = backing.pool().await;
    let storage = backing.storage();
    let ana = user(&app, &unique("ana")).await;
    let photos = photos_with_originals(&backing, &pool, ana.id, 1).await;
    let key = original_key(&pool, photos[0].0).await;
    let (status, hold) = admin(&app, Method::POST, "/v1/admin/holds", Some(json!({
        "target_type": "media", "target_id": photos[0].0, "reason": "preservation request", "days": 1 }))).await;
    assert_eq!(status, StatusCode::CREATED, "{hold}");
    let posted = id_of(
        &app.post(
            "/v1/posts",
            ana.token(),
            json!({ "media_ids": [photos[0].0] }),
        )
        .await
        .body,
    );
    app.delete(&format!("/v1/posts/{posted}"), ana.token())
        .await
        .expect(StatusCode::NO_CONTENT, None);
    assert_eq!(
        objects_exist(&backing, std::slice::from_ref(&key)).await,
        [true]
    );
    assert_eq!(
        count(&pool, "SELECT count(*) FROM posts WHERE id = $1", posted).await,
        1
    );
    // The day passes.
    sqlx::query("UPDATE legal_holds SET created_at = now() - interval '2 days', expires_at = now() - interval '1 day' WHERE id = $1")
        .bind(id_of(&hold))
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(accounts::end_legal_holds(&pool, &storage).await.unwrap(), 1);
    assert_eq!(
        count(&pool, "SELECT count(*) FROM posts WHERE id = $1", posted).await,
        0
    );
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM media WHERE id = $1",
            photos[0].0
        )
        .await,
        0
    );
    assert_eq!(objects_exist(&backing, &[key]).await, [false]);
    assert_eq!(
        count(&pool, "SELECT count(*) FROM users WHERE id = $1", ana.id).await,
        1
    );
}

/// Production runs only the serverless worker: it acknowledges export jobs
/// without building them (its request timeout would cut a large one), and
/// the API's chores build them instead.
#[tokio::test]
async fn without_a_long_polling_worker_the_api_chores_build_the_export() {
    let backing = Backing::new().await;
    let api = TestApp::spawn(&backing, backing.env("api")).await;
    let serverless = TestApp::spawn(&backing, backing.env("serverless-worker")).await;
    let pool = backing.pool().await;
    let ana = user(&api, &unique("ana")).await;
    let photos = photos_with_originals(&backing, &pool, ana.id, 1).await;
    let asked = api
        .post(
            "/v1/me/export",
            ana.token(),
            json!({ "password": PASSWORD }),
        )
        .await;
    asked.expect(StatusCode::ACCEPTED, None);
    let export_id = id_of(&asked.body);
    let body = ciel::jobs::Job::BuildExport { export_id }.to_body();
    let reply = serverless
        .client
        .post(serverless.url("/"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::OK);
    assert_eq!(reply.json::<Value>().await.unwrap()["outcome"], "skipped");
    assert_eq!(
        api.get("/v1/me/export", ana.token()).await.body["status"],
        "pending"
    );

    let started = export::build_due(&pool, &backing.storage(), &backing.queue())
        .await
        .unwrap();
    assert_eq!(started, Some(export_id));
    let ready = eventually(DEADLINE, "the export to be ready", || async {
        let reply = api.get("/v1/me/export", ana.token()).await;
        (reply.body["status"] == "ready").then_some(reply.body)
    })
    .await;
    let zip = api
        .client
        .get(ready["url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
    let mut read = Vec::new();
    archive
        .by_name(&format!("photos/{}.jpg", photos[0].0))
        .unwrap()
        .read_to_end(&mut read)
        .unwrap();
    assert_eq!(read, photos[0].1);
    // Nothing left to build.
    let again = export::build_due(&pool, &backing.storage(), &backing.queue())
        .await
        .unwrap();
    assert_eq!(again, None);
}
