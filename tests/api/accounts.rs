//! Account deletion end to end: the purge job through each worker path
//! leaves no row and no object of the deleted account.

use crate::common::media::{DEADLINE, PHOTO, completed_photo, settled, upload};
use crate::common::social::{User, delete_with, id_of, patch, post, user};
use crate::common::{Backing, TestApp, eventually, unique};
use ciel::jobs::Job;
use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

/// Every id that belongs to the user: theirs, their media's, posts', comments'.
async fn owned_ids(pool: &PgPool, user: Uuid) -> Vec<Uuid> {
    sqlx::query_scalar(
        "SELECT $1::uuid UNION ALL SELECT id FROM media WHERE owner_id = $1
         UNION ALL SELECT id FROM posts WHERE author_id = $1
         UNION ALL SELECT id FROM comments WHERE author_id = $1",
    )
    .bind(user)
    .fetch_all(pool)
    .await
    .unwrap()
}

/// Rows, in any table, whose text mentions one of `ids`.
async fn rows_mentioning(pool: &PgPool, ids: &[Uuid]) -> Vec<String> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' AND tablename <> '_sqlx_migrations'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(tables.len() >= 14, "every table is checked: {tables:?}");
    let mut found = Vec::new();
    for table in tables {
        for id in ids {
            let count: i64 = sqlx::query_scalar(&format!(
                "SELECT count(*) FROM {table} t WHERE t::text LIKE '%' || $1 || '%'"
            ))
            .bind(id.to_string())
            .fetch_one(pool)
            .await
            .unwrap();
            if count > 0 {
                found.push(format!("{table}: {count} row(s) with {id}"));
            }
        }
    }
    found
}

async fn objects_mentioning(backing: &Backing, ids: &[Uuid]) -> Vec<String> {
    let keys = backing.storage().list_keys("").await.unwrap();
    keys.into_iter()
        .filter(|key| ids.iter().any(|id| key.contains(&id.to_string())))
        .collect()
}

async fn purged(pool: &PgPool, user: Uuid) {
    eventually(DEADLINE, "the account to be purged", || async {
        let left: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE id = $1")
            .bind(user)
            .fetch_one(pool)
            .await
            .unwrap();
        (left == 0).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_deleted_account_leaves_no_row_and_no_object_once_purged() {
    let backing = Backing::new().await;
    let app = TestApp::spawn(&backing, backing.env("dev")).await;
    let pool = backing.pool().await;
    let ana = user(&app, &unique("ana")).await;
    let bo = user(&app, &unique("bo")).await;

    // Everything an active user leaves behind: processed photos (a post and
    // an avatar), an upload never completed, follows, likes, comments,
    // notifications, reports and an idempotency key, on both sides.
    let avatar = completed_photo(&app, &ana.token).await;
    let photo = completed_photo(&app, &ana.token).await;
    for id in [avatar, photo] {
        assert_eq!(settled(&app, &ana.token, id).await["status"], "ready");
    }
    let pending = upload(&app, &ana.token, PHOTO, "image/jpeg", PHOTO.len()).await;
    patch(
        &app,
        "/v1/me",
        ana.token(),
        json!({ "avatar_media_id": avatar }),
    )
    .await
    .expect(StatusCode::OK, None);
    let anas = app
        .client
        .post(app.url("/v1/posts"))
        .bearer_auth(&ana.token)
        .header("Idempotency-Key", "first-post")
        .json(&json!({ "caption": "mine", "media_ids": [photo] }))
        .send()
        .await
        .unwrap();
    assert_eq!(anas.status(), StatusCode::CREATED);
    let anas: Uuid = anas.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    // Every viewer can load the post's photos through the URLs it carries.
    let shown = app.get(&format!("/v1/posts/{anas}"), bo.token()).await;
    let variants = shown.body["media"][0]["variants"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(variants.len(), 2, "thumb and small, WebP only");
    for variant in variants {
        let response = app
            .client
            .get(variant["url"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{variant}");
    }
    let bos = id_of(&post(&app, &pool, &bo, "bo's").await);
    for (who, whom) in [(&ana, &bo), (&bo, &ana)] {
        app.post(
            &format!("/v1/users/{}/follow", whom.handle),
            who.token(),
            json!({}),
        )
        .await;
    }
    for (who, post) in [(&ana, bos), (&bo, anas)] {
        app.post(&format!("/v1/posts/{post}/like"), who.token(), json!({}))
            .await;
        app.post(
            &format!("/v1/posts/{post}/comments"),
            who.token(),
            json!({ "text": "hi" }),
        )
        .await
        .expect(StatusCode::CREATED, None);
    }
    app.post(
        "/v1/reports",
        ana.token(),
        json!({ "target_type": "post", "target_id": bos, "reason": "meh" }),
    )
    .await
    .expect(StatusCode::CREATED, None);
    app.post(
        "/v1/reports",
        bo.token(),
        json!({ "target_type": "user", "target_id": ana.id, "reason": "meh" }),
    )
    .await
    .expect(StatusCode::CREATED, None);
    let mut ids = owned_ids(&pool, ana.id).await;
    ids.push(pending);
    assert!(!rows_mentioning(&pool, &ids).await.is_empty());
    // Two originals with two WebP variants each (the fixture is small), and
    // the original of the upload never completed.
    assert_eq!(objects_mentioning(&backing, &ids).await.len(), 2 * 3 + 1);

    delete_with(
        &app,
        "/v1/me",
        ana.token(),
        json!({ "password": crate::common::PASSWORD }),
    )
    .await
    .expect(StatusCode::ACCEPTED, None);
    purged(&pool, ana.id).await;

    assert_eq!(rows_mentioning(&pool, &ids).await, Vec::<String>::new());
    assert_eq!(
        objects_mentioning(&backing, &ids).await,
        Vec::<String>::new()
    );
    // What was counted on the other side is counted no more.
    let profile = app
        .get(&format!("/v1/users/{}", bo.handle), bo.token())
        .await;
    assert_eq!(profile.body["followers_count"], 0);
    assert_eq!(profile.body["following_count"], 0);
    let post = app.get(&format!("/v1/posts/{bos}"), bo.token()).await;
    assert_eq!(
        (
            post.body["like_count"].as_i64(),
            post.body["comment_count"].as_i64()
        ),
        (Some(0), Some(0))
    );
    // The handle is free again.
    app.post(
        "/v1/auth/register",
        None,
        json!({ "handle": ana.handle, "email": format!("{}@example.org", ana.handle), "password": crate::common::PASSWORD }),
    )
    .await
    .expect(StatusCode::CREATED, None);
}

/// An account deleted through the API (whose purge message waits in the
/// queue), with a post whose objects exist.
async fn deleted_account(api: &TestApp, backing: &Backing) -> (User, Vec<Uuid>) {
    let pool = backing.pool().await;
    let who = user(api, &unique("gone")).await;
    let post = post(api, &pool, &who, "bye").await;
    let storage = backing.storage();
    for key in sqlx::query_scalar::<_, String>(
        "SELECT key FROM media_variants v JOIN media m ON m.id = v.media_id WHERE m.owner_id = $1
         UNION ALL SELECT original_key FROM media WHERE owner_id = $1",
    )
    .bind(who.id)
    .fetch_all(&pool)
    .await
    .unwrap()
    {
        storage
            .put(&key, b"bytes".to_vec(), "image/jpeg", "no-cache")
            .await
            .unwrap();
    }
    delete_with(
        api,
        "/v1/me",
        who.token(),
        json!({ "password": crate::common::PASSWORD }),
    )
    .await
    .expect(StatusCode::ACCEPTED, None);
    let mut ids = owned_ids(&pool, who.id).await;
    ids.push(id_of(&post));
    (who, ids)
}

#[tokio::test]
async fn the_purge_survives_redelivery_and_a_crash_halfway_through_the_serverless_trigger() {
    let backing = Backing::new().await;
    let api = TestApp::spawn(&backing, backing.env("api")).await;
    let worker = TestApp::spawn(&backing, backing.env("serverless-worker")).await;
    let pool = backing.pool().await;
    let (gone, ids) = deleted_account(&api, &backing).await;
    let body = Job::PurgeAccount { user_id: gone.id }.to_body();

    // A crash halfway: some objects already deleted, every row still there.
    let objects = objects_mentioning(&backing, &ids).await;
    assert!(objects.len() >= 2);
    backing.storage().delete(&objects[0]).await.unwrap();

    // A forged purge of a live account does nothing.
    let alive = user(&api, &unique("alive")).await;
    let forged = Job::PurgeAccount { user_id: alive.id }.to_body();
    for (body, outcome) in [
        (&forged, "skipped"),
        (&body, "processed"),
        (&body, "skipped"),
    ] {
        let reply = worker
            .client
            .post(worker.url("/"))
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), StatusCode::OK);
        let reply: serde_json::Value = reply.json().await.unwrap();
        assert_eq!(reply["outcome"], outcome);
    }
    assert_eq!(rows_mentioning(&pool, &ids).await, Vec::<String>::new());
    assert_eq!(
        objects_mentioning(&backing, &ids).await,
        Vec::<String>::new()
    );
    api.get("/v1/me", alive.token())
        .await
        .expect(StatusCode::OK, None);
}

#[tokio::test]
async fn the_long_polling_worker_runs_the_queued_purge() {
    let backing = Backing::new().await;
    let api = TestApp::spawn(&backing, backing.env("api")).await;
    let pool = backing.pool().await;
    let (gone, ids) = deleted_account(&api, &backing).await;
    let _worker = TestApp::spawn(&backing, backing.env("worker")).await;
    purged(&pool, gone.id).await;
    assert_eq!(rows_mentioning(&pool, &ids).await, Vec::<String>::new());
    assert_eq!(
        objects_mentioning(&backing, &ids).await,
        Vec::<String>::new()
    );
}
