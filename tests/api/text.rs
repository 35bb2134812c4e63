//! Issue 28's text features against the real services: alt text on
//! photos, caption edits and their history, hashtags and mentions.

use crate::common::social::{
    User, all_pages, delete_with, follow, id_of, patch, post, ready_media, user,
};
use crate::common::{PASSWORD, TestApp, unique};
use ciel::social::accounts::{self, Purge};
use reqwest::{Method, StatusCode};
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

    // A story's photo carries its alt text too.
    let story_photo = crate::stories::photo(&app, &pool, &ana).await;
    patch(
        &app,
        &format!("/v1/media/{story_photo}"),
        ana.token(),
        json!({ "alt_text": "Fog over the bay" }),
    )
    .await
    .expect(StatusCode::OK, None);
    let story = app
        .post(
            "/v1/stories",
            ana.token(),
            json!({ "media_id": story_photo, "audience": "followers" }),
        )
        .await;
    story.expect(StatusCode::CREATED, None);
    let seen = app
        .get(&format!("/v1/stories/{}", id_of(&story.body)), bo.token())
        .await;
    seen.expect(StatusCode::OK, None);
    assert_eq!(seen.body["media"]["alt_text"], "Fog over the bay");
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

async fn post_with(app: &TestApp, pool: &PgPool, author: &User, caption: &str) -> Value {
    post(app, pool, author, caption).await
}

async fn block(app: &TestApp, who: &User, whom: &User) {
    app.post(
        &format!("/v1/users/{}/block", whom.handle),
        who.token(),
        json!({}),
    )
    .await
    .expect(StatusCode::NO_CONTENT, None);
}

async fn mute(app: &TestApp, who: &User, whom: &User, notifications: bool) {
    app.request(
        Method::PUT,
        &format!("/v1/users/{}/mute", whom.handle),
        who.token(),
        Some(json!({ "notifications": notifications })),
    )
    .await
    .expect(StatusCode::NO_CONTENT, None);
}

async fn lock(app: &TestApp, who: &User) {
    patch(app, "/v1/me", who.token(), json!({ "locked": true }))
        .await
        .expect(StatusCode::OK, None);
}

fn post_ids(items: &[Value]) -> Vec<Uuid> {
    items.iter().map(id_of).collect()
}

#[tokio::test]
async fn hashtags_and_mentions_are_entities_with_utf16_ranges_and_tags_list_their_posts() {
    let app = TestApp::api().await;
    let pool = app.backing.pool().await;
    let ana = user(&app, &unique("ana")).await;
    let bo = user(&app, &unique("bo")).await;
    let viewer = user(&app, &unique("viewer")).await;

    // 🌅 is two UTF-16 code units: the tag starts at 2, not 1 or 4.
    let caption = format!(
        "🌅#Café with @{} and @nobody_here #cafe\u{301} #2024",
        bo.handle.to_uppercase()
    );
    let first = post_with(&app, &pool, &ana, &caption).await;
    let entities = first["entities"].as_array().unwrap();
    assert_eq!(entities.len(), 3, "{first}");
    assert_eq!(
        entities[0],
        json!({ "type": "hashtag", "start": 2, "end": 7, "tag": "café" })
    );
    let at = caption
        .find(&format!("@{}", bo.handle.to_uppercase()))
        .unwrap();
    let mention_start = caption[..at].encode_utf16().count();
    assert_eq!(
        entities[1],
        json!({ "type": "mention", "start": mention_start, "end": mention_start + 1 + bo.handle.len(),
                "user_id": bo.id, "handle": bo.handle })
    );
    assert_eq!(entities[2]["tag"], "café");
    // The same entities when read back.
    let read = app
        .get(&format!("/v1/posts/{}", id_of(&first)), viewer.token())
        .await;
    assert_eq!(read.body["entities"], first["entities"]);

    // Comments carry entities too.
    let comment = app
        .post(
            &format!("/v1/posts/{}/comments", id_of(&first)),
            bo.token(),
            json!({ "text": format!("@{} ＃ＣＡＦÉ!", ana.handle) }),
        )
        .await;
    comment.expect(StatusCode::CREATED, None);
    assert_eq!(comment.body["entities"][0]["user_id"], ana.id.to_string());
    assert_eq!(comment.body["entities"][1]["tag"], "café");
    let listed = all_pages(
        &app,
        &format!("/v1/posts/{}/comments", id_of(&first)),
        viewer.token(),
        10,
    )
    .await;
    assert_eq!(listed[0]["entities"], comment.body["entities"]);

    // Bounds: 30 hashtags, 20 mentions.
    let many: String = (0..31).map(|i| format!("#tag{i} ")).collect();
    let media = ready_media(&pool, ana.id, 1).await;
    app.post(
        "/v1/posts",
        ana.token(),
        json!({ "caption": many, "media_ids": media }),
    )
    .await
    .expect(StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed"));
    let mentions: String = (0..21).map(|i| format!("@someone{i} ")).collect();
    app.post(
        &format!("/v1/posts/{}/comments", id_of(&first)),
        bo.token(),
        json!({ "text": mentions }),
    )
    .await
    .expect(StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed"));

    // A tag's posts, newest first, paged, as the viewer may see them.
    let second = post_with(&app, &pool, &bo, "#CAFÉ again").await;
    let locked = user(&app, &unique("locked")).await;
    lock(&app, &locked).await;
    post_with(&app, &pool, &locked, "#café for my followers").await;
    let blocker = user(&app, &unique("blocker")).await;
    post_with(&app, &pool, &blocker, "#café, blocked").await;
    block(&app, &blocker, &viewer).await;
    let muted = user(&app, &unique("muted")).await;
    post_with(&app, &pool, &muted, "#café, muted").await;
    mute(&app, &viewer, &muted, false).await;
    let third = post_with(&app, &pool, &ana, "#café thrice").await;
    let tagged = all_pages(&app, "/v1/hashtags/Caf%C3%A9/posts", viewer.token(), 2).await;
    assert_eq!(
        post_ids(&tagged),
        [id_of(&third), id_of(&second), id_of(&first)]
    );
    // The author of the locked account sees their own.
    let theirs = all_pages(&app, "/v1/hashtags/caf%C3%A9/posts", locked.token(), 50).await;
    assert_eq!(theirs.len(), 6);
    let card = app.get("/v1/hashtags/%23CAF%C3%89", viewer.token()).await;
    card.expect(StatusCode::OK, None);
    assert_eq!(
        card.body,
        json!({ "tag": "café", "post_count": 6, "following": false })
    );
    let unused = app.get("/v1/hashtags/never_used", viewer.token()).await;
    assert_eq!(unused.body["post_count"], 0);
    for bad in ["2024", "a%20b", "x%00"] {
        app.get(&format!("/v1/hashtags/{bad}"), viewer.token())
            .await
            .expect(StatusCode::NOT_FOUND, Some("hashtag_not_found"));
    }

    // An edit moves the post between tags.
    edit(&app, &ana, id_of(&third), "now #harbour")
        .await
        .expect(StatusCode::OK, None);
    let tagged = all_pages(&app, "/v1/hashtags/caf%C3%A9/posts", viewer.token(), 10).await;
    assert_eq!(post_ids(&tagged), [id_of(&second), id_of(&first)]);
    let harbour = all_pages(&app, "/v1/hashtags/harbour/posts", viewer.token(), 10).await;
    assert_eq!(post_ids(&harbour), [id_of(&third)]);
    assert_eq!(
        app.get("/v1/hashtags/caf%C3%A9", viewer.token()).await.body["post_count"],
        5
    );

    // Search by prefix, the most used first; unused tags are left out.
    post_with(&app, &pool, &bo, "#cafeteria").await;
    post_with(&app, &pool, &bo, "#cafeteria #cafe_au_lait").await;
    post_with(&app, &pool, &bo, "#cafeteria").await;
    let found = all_pages(&app, "/v1/search/hashtags?q=%23CAF", viewer.token(), 1).await;
    let names: Vec<&str> = found.iter().map(|h| h["tag"].as_str().unwrap()).collect();
    assert_eq!(names, ["café", "cafeteria", "cafe_au_lait"]);
    assert_eq!(found[1]["post_count"], 3);
    let none = app.get("/v1/search/hashtags?q=never", viewer.token()).await;
    assert_eq!(none.body["items"], json!([]));
    // What no hashtag can start with finds nothing; an empty query is refused.
    let spaced = app.get("/v1/search/hashtags?q=a%20b", viewer.token()).await;
    spaced.expect(StatusCode::OK, None);
    assert_eq!(spaced.body["items"], json!([]));
    app.get("/v1/search/hashtags?q=", viewer.token())
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed"));
}

#[tokio::test]
async fn a_followed_hashtag_brings_strangers_posts_into_the_home_feed_but_not_hidden_ones() {
    let app = TestApp::api().await;
    let pool = app.backing.pool().await;
    let eve = user(&app, &unique("eve")).await;
    let stranger = user(&app, &unique("stranger")).await;
    let locked = user(&app, &unique("locked")).await;
    lock(&app, &locked).await;
    let blocker = user(&app, &unique("blocker")).await;
    block(&app, &blocker, &eve).await;
    let muted = user(&app, &unique("muted")).await;
    mute(&app, &eve, &muted, false).await;
    let before = id_of(&post_with(&app, &pool, &stranger, "#Harbour at dawn").await);
    // Only hashtags that posts carry can be followed: follows create none.
    app.request(
        Method::PUT,
        "/v1/hashtags/nobody_used/follow",
        eve.token(),
        None,
    )
    .await
    .expect(StatusCode::NOT_FOUND, Some("hashtag_not_found"));

    app.request(
        Method::PUT,
        "/v1/hashtags/harbour/follow",
        eve.token(),
        None,
    )
    .await
    .expect(StatusCode::NO_CONTENT, None);
    app.request(
        Method::PUT,
        "/v1/hashtags/HARBOUR/follow",
        eve.token(),
        None,
    )
    .await
    .expect(StatusCode::NO_CONTENT, None);
    let mine = all_pages(&app, "/v1/me/hashtags", eve.token(), 10).await;
    assert_eq!(
        mine,
        [json!({ "tag": "harbour", "post_count": 1, "following": true })]
    );
    // The follow rebuilt the timeline with the tag's earlier post.
    assert_eq!(
        post_ids(&all_pages(&app, "/v1/feed", eve.token(), 10).await),
        [before]
    );
    // New posts come in by the fan-out to the warm timeline; hidden
    // authors' do not.
    post_with(&app, &pool, &locked, "#harbour, followers only").await;
    post_with(&app, &pool, &blocker, "#harbour, blocked").await;
    post_with(&app, &pool, &muted, "#harbour, muted").await;
    post_with(&app, &pool, &stranger, "no tag").await;
    let after = id_of(&post_with(&app, &pool, &stranger, "#harbour at dusk").await);
    assert_eq!(
        post_ids(&all_pages(&app, "/v1/feed", eve.token(), 10).await),
        [after, before]
    );
    // The same from SQL, when the timeline is cold or Redis is away.
    let from_sql = ciel::social::feed::ids_sql(&pool, None, eve.id, None, None, 50)
        .await
        .unwrap();
    assert_eq!(from_sql, [after, before]);
    let the_card = app.get("/v1/hashtags/harbour", eve.token()).await;
    assert_eq!(the_card.body["following"], true);

    // Unfollowed: gone from the feed.
    app.delete("/v1/hashtags/harbour/follow", eve.token())
        .await
        .expect(StatusCode::NO_CONTENT, None);
    app.delete("/v1/hashtags/harbour/follow", eve.token())
        .await
        .expect(StatusCode::NO_CONTENT, None);
    assert!(
        all_pages(&app, "/v1/feed", eve.token(), 10)
            .await
            .is_empty()
    );
    assert!(
        all_pages(&app, "/v1/me/hashtags", eve.token(), 10)
            .await
            .is_empty()
    );

    // At most 500 followed hashtags; following one again is still fine.
    sqlx::query(
        "WITH made AS (
             INSERT INTO hashtags (id, tag) SELECT gen_random_uuid(), 'bulk' || n
             FROM generate_series(1, 500) n RETURNING id)
         INSERT INTO hashtag_follows (user_id, hashtag_id) SELECT $1, id FROM made",
    )
    .bind(eve.id)
    .execute(&pool)
    .await
    .unwrap();
    app.request(
        Method::PUT,
        "/v1/hashtags/harbour/follow",
        eve.token(),
        None,
    )
    .await
    .expect(
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("hashtag_follows_full"),
    );
    app.request(Method::PUT, "/v1/hashtags/bulk7/follow", eve.token(), None)
        .await
        .expect(StatusCode::NO_CONTENT, None);
}

async fn mentions_of(app: &TestApp, who: &User) -> Vec<Value> {
    all_pages(app, "/v1/notifications", who.token(), 50)
        .await
        .into_iter()
        .filter(|n| n["type"] == "mention")
        .collect()
}

#[tokio::test]
async fn mentions_notify_unless_blocked_muted_or_unable_to_see_the_post() {
    let app = TestApp::api().await;
    let pool = app.backing.pool().await;
    let ana = user(&app, &unique("ana")).await;
    let bo = user(&app, &unique("bo")).await;
    let blocked = user(&app, &unique("blocked")).await;
    block(&app, &ana, &blocked).await;
    let muter = user(&app, &unique("muter")).await;
    mute(&app, &muter, &ana, true).await;
    let quiet_muter = user(&app, &unique("quiet")).await;
    mute(&app, &quiet_muter, &ana, false).await;

    let caption = format!(
        "@{} @{} @{} @{} @{} hello",
        bo.handle, blocked.handle, muter.handle, quiet_muter.handle, ana.handle
    );
    let made = post_with(&app, &pool, &ana, &caption).await;
    let post_id = id_of(&made);
    let mentioned: Vec<&str> = made["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["handle"].as_str().unwrap())
        .collect();
    // A blocked user is no entity: the writer cannot see them.
    assert_eq!(
        mentioned,
        [
            bo.handle.as_str(),
            muter.handle.as_str(),
            quiet_muter.handle.as_str(),
            ana.handle.as_str()
        ]
    );
    // Someone bo blocks does not see bo's mention as a link (nor does
    // anyone once bo is gone).
    let eve = user(&app, &unique("eve")).await;
    block(&app, &bo, &eve).await;
    let seen = app.get(&format!("/v1/posts/{post_id}"), eve.token()).await;
    let handles: Vec<&str> = seen.body["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["handle"].as_str().unwrap())
        .collect();
    assert!(!handles.contains(&bo.handle.as_str()), "{handles:?}");
    assert_eq!(handles.len(), 3);
    let told = mentions_of(&app, &bo).await;
    assert_eq!(told.len(), 1);
    assert_eq!(told[0]["actor"]["id"], ana.id.to_string());
    assert_eq!(told[0]["post"]["id"], post_id.to_string());
    assert!(mentions_of(&app, &blocked).await.is_empty());
    assert!(mentions_of(&app, &muter).await.is_empty());
    // A mute that spares notifications spares this one.
    assert_eq!(mentions_of(&app, &quiet_muter).await.len(), 1);
    assert!(mentions_of(&app, &ana).await.is_empty(), "not for yourself");

    // Editing the caption tells the newly mentioned, once.
    let cy = user(&app, &unique("cy")).await;
    for _ in 0..2 {
        edit(
            &app,
            &ana,
            post_id,
            &format!("@{} and @{}", bo.handle, cy.handle),
        )
        .await
        .expect(StatusCode::OK, None);
        edit(
            &app,
            &ana,
            post_id,
            &format!("@{} and @{}!", bo.handle, cy.handle),
        )
        .await
        .expect(StatusCode::OK, None);
    }
    assert_eq!(mentions_of(&app, &cy).await.len(), 1);
    assert_eq!(mentions_of(&app, &bo).await.len(), 1);

    // A locked author's mention reaches only those who may see the post.
    let locked = user(&app, &unique("locked")).await;
    let follower = user(&app, &unique("follower")).await;
    follow(&app, &follower, &locked).await;
    lock(&app, &locked).await;
    let stranger = user(&app, &unique("stranger")).await;
    post_with(
        &app,
        &pool,
        &locked,
        &format!("@{} @{}", follower.handle, stranger.handle),
    )
    .await;
    assert_eq!(mentions_of(&app, &follower).await.len(), 1);
    assert!(mentions_of(&app, &stranger).await.is_empty());

    // In a comment: the comment is named; a blocked pair is skipped.
    let dee = user(&app, &unique("dee")).await;
    let comment = app
        .post(
            &format!("/v1/posts/{post_id}/comments"),
            bo.token(),
            json!({ "text": format!("@{} look", dee.handle) }),
        )
        .await;
    comment.expect(StatusCode::CREATED, None);
    let told = mentions_of(&app, &dee).await;
    assert_eq!(told.len(), 1);
    assert_eq!(told[0]["actor"]["id"], bo.id.to_string());
    assert_eq!(told[0]["comment_id"], comment.body["id"]);
    // The post's author mentioned in a comment on it gets the comment's
    // notification only.
    let before = mentions_of(&app, &ana).await.len();
    app.post(
        &format!("/v1/posts/{post_id}/comments"),
        bo.token(),
        json!({ "text": format!("@{} nice", ana.handle) }),
    )
    .await
    .expect(StatusCode::CREATED, None);
    assert_eq!(mentions_of(&app, &ana).await.len(), before);
    // Someone the post's author blocks is not told of a comment on it.
    app.post(
        &format!("/v1/posts/{post_id}/comments"),
        bo.token(),
        json!({ "text": format!("@{} look", blocked.handle) }),
    )
    .await
    .expect(StatusCode::CREATED, None);
    assert!(mentions_of(&app, &blocked).await.is_empty());
}

#[tokio::test]
async fn posts_tagging_the_same_hashtags_at_once_neither_deadlock_nor_miscount() {
    let app = TestApp::api().await;
    let pool = app.backing.pool().await;
    let ana = user(&app, &unique("ana")).await;
    let media = ready_media(&pool, ana.id, 12).await;
    let sends = media.iter().enumerate().map(|(i, photo)| {
        // Half name the tags one way round, half the other.
        let caption = if i % 2 == 0 {
            "#zeta #alpha #Mid"
        } else {
            "#mid #ALPHA #zeta"
        };
        app.post(
            "/v1/posts",
            ana.token(),
            json!({ "caption": caption, "media_ids": [photo] }),
        )
    });
    for reply in futures::future::join_all(sends).await {
        reply.expect(StatusCode::CREATED, None);
    }
    for tag in ["alpha", "mid", "zeta"] {
        let card = app.get(&format!("/v1/hashtags/{tag}"), ana.token()).await;
        assert_eq!(card.body["post_count"], 12, "{tag}");
    }
    let posts = all_pages(&app, "/v1/hashtags/alpha/posts", ana.token(), 5).await;
    assert_eq!(posts.len(), 12);
    // Deleting a post takes it off its tags.
    app.delete(&format!("/v1/posts/{}", id_of(&posts[0])), ana.token())
        .await
        .expect(StatusCode::NO_CONTENT, None);
    assert_eq!(
        app.get("/v1/hashtags/alpha", ana.token()).await.body["post_count"],
        11
    );
}
