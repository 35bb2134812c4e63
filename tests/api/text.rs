//! Issue 28's text features against the real services: alt text on
//! photos, caption edits and their history, hashtags and mentions.

use crate::common::social::{all_pages, follow, id_of, patch, ready_media, user};
use crate::common::{TestApp, unique};
use reqwest::StatusCode;
use serde_json::{Value, json};

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
