//! Issue 28's text features against the real services: alt text on
//! photos, caption edits and their history, hashtags and mentions.

use crate::common::social::{
    User, all_pages, delete_with, follow, id_of, patch, post, ready_media, user,
};
use crate::common::{PASSWORD, TestApp, unique};
use ciel::social::accounts::{self, Purge};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

fn alt_texts(post: &Value) -> Vec<Value> {
    post["media"]
        .as_array()
        .unwrap()
        .iter()
        .map(|photo| photo["alt_text"].clone())
        .collect()
}

#[tokio::test]
async fn alt_text_is_set_when_posting_and_after_and_shown_on_every_photo() {
    let app = TestApp::api().await;
    let pool = app.backing.pool().await;
    let ana = user(&app, &unique("ana")).await;
    let bo = user(&app, &unique("bo")).await;
    follow(&app, &bo, &ana).await;
    let photos = ready_media(&pool, ana.id, 3).await;

    // Both ways of naming photos at once, or neither, are refused.
    for body in [
        json!({ "media_ids": [photos[0]], "media": [{ "id": photos[0] }] }),
        json!({ "caption": "no photos" }),
    ] {
        app.post("/v1/posts", ana.token(), body)
            .await
            .expect(StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed"));
    }
    let too_long = "x".repeat(1501);
    app.post(
        "/v1/posts",
        ana.token(),
        json!({ "media": [{ "id": photos[0], "alt_text": too_long }] }),
    )
    .await
    .expect(StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed"));

    // Set beforehand on one photo, given at post time on another, none on the third.
    let reply = patch(
        &app,
        &format!("/v1/media/{}", photos[2]),
        ana.token(),
        json!({ "alt_text": "  set before posting " }),
    )
    .await;
    reply.expect(StatusCode::OK, None);
    assert_eq!(reply.body["alt_text"], "set before posting");
    let reply = app
        .post(
            "/v1/posts",
            ana.token(),
            json!({ "caption": "three", "media": [
                { "id": photos[0], "alt_text": "A cat asleep on a 🧶 ball" },
                { "id": photos[1], "alt_text": null },
                { "id": photos[2] },
            ] }),
        )
        .await;
    reply.expect(StatusCode::CREATED, None);
    let post_id = id_of(&reply.body);
    assert_eq!(
        alt_texts(&reply.body),
        [
            json!("A cat asleep on a 🧶 ball"),
            Value::Null,
            json!("set before posting")
        ]
    );

    // Changed after posting, by the owner only; a blank one removes it.
    patch(
        &app,
        &format!("/v1/media/{}", photos[1]),
        bo.token(),
        json!({ "alt_text": "not mine" }),
    )
    .await
    .expect(StatusCode::NOT_FOUND, Some("media_not_found"));
    patch(
        &app,
        &format!("/v1/media/{}", photos[1]),
        ana.token(),
        json!({ "alt_text": &too_long }),
    )
    .await
    .expect(StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed"));
    patch(
        &app,
        &format!("/v1/media/{}", photos[1]),
        ana.token(),
        json!({ "alt_text": "A dog" }),
    )
    .await
    .expect(StatusCode::OK, None);
    patch(
        &app,
        &format!("/v1/media/{}", photos[2]),
        ana.token(),
        json!({ "alt_text": "   " }),
    )
    .await
    .expect(StatusCode::OK, None);
    let expected = [
        json!("A cat asleep on a 🧶 ball"),
        json!("A dog"),
        Value::Null,
    ];

    // The post, the feed and the profile grid show the same.
    let single = app.get(&format!("/v1/posts/{post_id}"), bo.token()).await;
    single.expect(StatusCode::OK, None);
    assert_eq!(alt_texts(&single.body), expected);
    let feed = all_pages(&app, "/v1/feed", bo.token(), 10).await;
    assert_eq!(alt_texts(&feed[0]), expected);
    let grid = all_pages(
        &app,
        &format!("/v1/users/{}/posts", ana.handle),
        bo.token(),
        10,
    )
    .await;
    assert_eq!(alt_texts(&grid[0]), expected);
    let media = app
        .get(&format!("/v1/media/{}", photos[1]), ana.token())
        .await;
    assert_eq!(media.body["alt_text"], "A dog");
}

const ADMIN: &str = "text-test-admin-token-0123456789";

async fn admin_get(app: &TestApp, path: &str) -> (StatusCode, Value) {
    let response = app
        .client
        .get(app.url(path))
        .header("X-Admin-Token", ADMIN)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn edit(app: &TestApp, who: &User, post: Uuid, caption: &str) -> crate::common::Reply {
    patch(
        app,
        &format!("/v1/posts/{post}"),
        who.token(),
        json!({ "caption": caption }),
    )
    .await
}

async fn edit_count(pool: &PgPool, post: Uuid) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM post_edits WHERE post_id = $1")
        .bind(post)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn captions_are_edited_by_their_author_and_the_history_kept_for_moderators_until_the_purge() {
    let app = TestApp::api_with(|env| {
        env.insert("ADMIN_TOKEN", ADMIN.into());
    })
    .await;
    let pool = app.backing.pool().await;
    let ana = user(&app, &unique("ana")).await;
    let bo = user(&app, &unique("bo")).await;
    let carl = user(&app, &unique("carl")).await;
    follow(&app, &bo, &ana).await;
    let held = id_of(&post(&app, &pool, &ana, "first words").await);
    let free = id_of(&post(&app, &pool, &ana, "free").await);
    let fresh = app.get(&format!("/v1/posts/{held}"), bo.token()).await;
    assert!(fresh.body["edited_at"].is_null(), "{}", fresh.body);

    // Only the author edits; the limits are those of a new post.
    edit(&app, &bo, held, "mine now")
        .await
        .expect(StatusCode::FORBIDDEN, Some("not_post_author"));
    app.post(
        &format!("/v1/users/{}/block", carl.handle),
        ana.token(),
        json!({}),
    )
    .await
    .expect(StatusCode::NO_CONTENT, None);
    edit(&app, &carl, held, "x")
        .await
        .expect(StatusCode::NOT_FOUND, Some("post_not_found"));
    edit(&app, &ana, Uuid::now_v7(), "x")
        .await
        .expect(StatusCode::NOT_FOUND, Some("post_not_found"));
    edit(&app, &ana, held, &"x".repeat(2201))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed"));
    edit(&app, &ana, held, "a\u{7}bell")
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed"));

    let edited = edit(&app, &ana, held, "  second words ").await;
    edited.expect(StatusCode::OK, None);
    assert_eq!(edited.body["caption"], "second words");
    let edited_at = edited.body["edited_at"].as_str().unwrap().to_string();
    // The same caption again is no edit.
    let again = edit(&app, &ana, held, "second words").await;
    again.expect(StatusCode::OK, None);
    assert_eq!(again.body["edited_at"], edited_at.as_str());
    edit(&app, &ana, held, "third words")
        .await
        .expect(StatusCode::OK, None);
    edit(&app, &ana, free, "free, edited")
        .await
        .expect(StatusCode::OK, None);

    // Readers see the new caption at once, in the post and the feed.
    let seen = app.get(&format!("/v1/posts/{held}"), bo.token()).await;
    assert_eq!(seen.body["caption"], "third words");
    assert!(seen.body["edited_at"].is_string());
    let feed = all_pages(&app, "/v1/feed", bo.token(), 10).await;
    let in_feed = feed.iter().find(|p| id_of(p) == held).unwrap();
    assert_eq!(in_feed["caption"], "third words");

    // Moderators read the history, newest edit first, paged.
    let (status, _) = admin_get(&app, &format!("/v1/admin/posts/{}/edits", Uuid::now_v7())).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, first) = admin_get(&app, &format!("/v1/admin/posts/{held}/edits?limit=1")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(first["items"][0]["caption"], "second words");
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = admin_get(
        &app,
        &format!("/v1/admin/posts/{held}/edits?limit=1&cursor={cursor}"),
    )
    .await;
    assert_eq!(second["items"][0]["caption"], "first words");
    assert!(second["next_cursor"].is_null());
    let unauthenticated = app
        .get(&format!("/v1/admin/posts/{held}/edits"), ana.token())
        .await;
    unauthenticated.expect(StatusCode::UNAUTHORIZED, Some("admin_token_required"));

    // The purge deletes the history with the posts, but for a held post's.
    let hold = app
        .client
        .post(app.url("/v1/admin/holds"))
        .header("X-Admin-Token", ADMIN)
        .json(
            &json!({ "target_type": "post", "target_id": held, "reason": "preservation request" }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(hold.status(), StatusCode::CREATED);
    delete_with(&app, "/v1/me", ana.token(), json!({ "password": PASSWORD }))
        .await
        .expect(StatusCode::ACCEPTED, None);
    assert_eq!(
        accounts::purge(&pool, &app.backing.storage(), ana.id)
            .await
            .unwrap(),
        Purge::Held
    );
    assert_eq!(edit_count(&pool, held).await, 2);
    assert_eq!(edit_count(&pool, free).await, 0);
    let (status, kept) = admin_get(&app, &format!("/v1/admin/posts/{held}/edits")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(kept["items"].as_array().unwrap().len(), 2);
}
