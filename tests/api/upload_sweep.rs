//! Uploads that are never completed, and PUTs that come after a DELETE,
//! leave nothing behind; and a user cannot pile up uncompleted uploads.

use crate::common::media::{PHOTO, upload};
use crate::common::{TestApp, unique};
use ciel::infra::s3::ObjectError;
use ciel::media::sweep;
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

async fn original_exists(app: &TestApp, key: &str) -> bool {
    match app.backing.storage().get(key).await {
        Ok(_) => true,
        Err(ObjectError::NotFound) => false,
        Err(ObjectError::Unavailable(e)) => panic!("storage: {e:#}"),
    }
}

async fn put(app: &TestApp, upload: &Value) {
    let mut put = app
        .client
        .put(upload["url"].as_str().unwrap())
        .body(PHOTO.to_vec());
    for (name, value) in upload["headers"].as_object().unwrap() {
        if !name.eq_ignore_ascii_case("content-length") {
            put = put.header(name.as_str(), value.as_str().unwrap());
        }
    }
    assert!(put.send().await.unwrap().status().is_success());
}

#[tokio::test]
async fn abandoned_uploads_and_puts_after_delete_are_swept() {
    let app = TestApp::api().await;
    let pool = app.backing.pool().await;
    let storage = app.backing.storage();
    let token = app.access_token(&unique("sw")).await;
    let user = app.get("/v1/me", Some(&token)).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let key = |id: Uuid| format!("originals/{user}/{id}");

    // An upload PUT but never completed, and one still in its time.
    let abandoned = upload(&app, &token, PHOTO, "image/jpeg", PHOTO.len()).await;
    let recent = upload(&app, &token, PHOTO, "image/jpeg", PHOTO.len()).await;
    sqlx::query("UPDATE media SET created_at = now() - interval '2 hours' WHERE id = $1")
        .bind(abandoned)
        .execute(&pool)
        .await
        .unwrap();

    // PUT, DELETE, then PUT again with the same URL: an object no row names.
    let created = app
        .post(
            "/v1/media/uploads",
            Some(&token),
            json!({ "content_type": "image/jpeg", "byte_size": PHOTO.len() }),
        )
        .await;
    created.expect(StatusCode::CREATED, None);
    let deleted: Uuid = created.body["media_id"].as_str().unwrap().parse().unwrap();
    put(&app, &created.body["upload"]).await;
    app.delete(&format!("/v1/media/{deleted}"), Some(&token))
        .await
        .expect(StatusCode::NO_CONTENT, None);
    put(&app, &created.body["upload"]).await;
    assert!(original_exists(&app, &key(deleted)).await);

    let swept = sweep::run(&pool, &storage).await.unwrap();
    assert_eq!(swept.expired_uploads, 1);
    assert!(!original_exists(&app, &key(abandoned)).await);
    app.get(&format!("/v1/media/{abandoned}"), Some(&token))
        .await
        .expect(StatusCode::NOT_FOUND, Some("media_not_found"));
    assert!(
        original_exists(&app, &key(recent)).await,
        "still in its time"
    );
    app.post(
        &format!("/v1/media/{recent}/complete"),
        Some(&token),
        json!({}),
    )
    .await
    .expect(StatusCode::ACCEPTED, None);
    // the URL may still write the deleted media's key: not yet
    assert!(original_exists(&app, &key(deleted)).await);

    // once the URL is dead, the orphan goes
    sqlx::query("UPDATE media_object_tombstones SET purge_after = now() - interval '1 second'")
        .execute(&pool)
        .await
        .unwrap();
    let swept = sweep::run(&pool, &storage).await.unwrap();
    assert_eq!(swept.objects, 1);
    assert!(!original_exists(&app, &key(deleted)).await);
    assert!(
        original_exists(&app, &key(recent)).await,
        "completed uploads stay"
    );
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM media_object_tombstones")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
    assert_eq!(
        sweep::run(&pool, &storage).await.unwrap(),
        sweep::Swept::default()
    );
}

#[tokio::test]
async fn uncompleted_uploads_are_capped_per_user() {
    let app = TestApp::api().await;
    let token = app.access_token(&unique("cap")).await;
    let start = || {
        app.post(
            "/v1/media/uploads",
            Some(&token),
            json!({ "content_type": "image/jpeg", "byte_size": 1000 }),
        )
    };
    for _ in 0..ciel::media::MAX_PENDING_UPLOADS {
        start().await.expect(StatusCode::CREATED, None);
    }
    let refused = start().await;
    refused.expect(StatusCode::TOO_MANY_REQUESTS, Some("rate_limited"));
    assert_eq!(
        refused.body["error"]["details"]["policy"],
        "pending_uploads"
    );
    assert!(refused.header("retry-after").is_some());
    // someone else is not affected
    let other = app.access_token(&unique("cap")).await;
    app.post(
        "/v1/media/uploads",
        Some(&other),
        json!({ "content_type": "image/jpeg", "byte_size": 1000 }),
    )
    .await
    .expect(StatusCode::CREATED, None);
}
