//! Stories (issue 26): who sees them and for how long, the tray and its
//! paging, seen marks, viewers and reactions, close friends, highlights,
//! and what is left of a story's photo, against the real S3 server.

use std::time::{Duration, SystemTime};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use crate::common::social::{User, all_pages, follow, id_of, ready_media, user};
use crate::common::{TestApp, unique};

const ADMIN: &str = "story-moderator-token";

async fn app() -> TestApp {
    TestApp::api_with(|env| {
        env.insert("ADMIN_TOKEN", ADMIN.into());
    })
    .await
}

/// A ready photo of `owner` whose variant objects are where the worker puts
/// them.
pub(crate) async fn photo(app: &TestApp, pool: &PgPool, owner: &User) -> Uuid {
    let media = ready_media(pool, owner.id, 1).await[0];
    let keys: Vec<String> =
        sqlx::query_scalar("SELECT key FROM media_variants WHERE media_id = $1")
            .bind(media)
            .fetch_all(pool)
            .await
            .unwrap();
    let storage = app.backing.storage();
    for key in keys {
        storage
            .put(&key, key.as_bytes().to_vec(), "image/webp", "public")
            .await
            .unwrap();
    }
    media
}

async fn story(app: &TestApp, pool: &PgPool, author: &User, audience: &str) -> Value {
    let media = photo(app, pool, author).await;
    let reply = app
        .post(
            "/v1/stories",
            author.token(),
            json!({ "media_id": media, "caption": "today", "audience": audience }),
        )
        .await;
    reply.expect(StatusCode::CREATED, None);
    reply.body
}

async fn put(app: &TestApp, path: &str, who: &User, body: Option<Value>) -> crate::common::Reply {
    app.request(Method::PUT, path, who.token(), body).await
}

/// Ends a story's 24 hours now, as time would.
async fn expire(pool: &PgPool, story: Uuid) {
    sqlx::query(
        "UPDATE stories SET created_at = now() - interval '25 hours', expires_at = now() - interval '1 hour'
         WHERE id = $1",
    )
    .bind(story)
    .execute(pool)
    .await
    .unwrap();
}

async fn sweep(app: &TestApp) -> ciel::social::stories::sweep::Swept {
    let pool = app.backing.pool().await;
    ciel::social::stories::sweep::run(&pool, &app.backing.storage())
        .await
        .unwrap()
}

fn urls(story: &Value) -> Vec<String> {
    let urls: Vec<String> = story["media"]["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["url"].as_str().unwrap().to_string())
        .collect();
    assert!(!urls.is_empty());
    urls
}

async fn fetch(app: &TestApp, url: &str) -> StatusCode {
    app.client.get(url).send().await.unwrap().status()
}

fn tray_handles(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| i["author"]["handle"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_story_reaches_followers_for_a_day_from_a_private_prefix_then_its_photo_is_deleted() {
    let app = app().await;
    let pool = app.backing.pool().await;
    let ana = user(&app, &unique("ana")).await;
    let bob = user(&app, &unique("bob")).await;
    let eve = user(&app, &unique("eve")).await;
    follow(&app, &bob, &ana).await;
    let body = story(&app, &pool, &ana, "followers").await;
    let id = id_of(&body);
    assert_eq!(body["caption"], "today");
    assert_eq!(body["close_friends"], false);
    assert_eq!(body["viewer_count"], 0, "the author sees the count");

    // The photo left the prefix a CDN may serve; only presigned URLs that
    // live at most 30 minutes reach it.
    let storage = app.backing.storage();
    let media: Uuid = body["media"]["id"].as_str().unwrap().parse().unwrap();
    let private: bool = sqlx::query_scalar("SELECT variants_private FROM media WHERE id = $1")
        .bind(media)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(private);
    let keys: Vec<String> =
        sqlx::query_scalar("SELECT key FROM media_variants WHERE media_id = $1")
            .bind(media)
            .fetch_all(&pool)
            .await
            .unwrap();
    for key in &keys {
        assert!(storage.get(key).await.is_err(), "{key} left variants/");
        assert_eq!(
            storage.get(&ciel::media::keys::story(key)).await.unwrap(),
            key.as_bytes()
        );
    }
    let purges: i64 = sqlx::query_scalar("SELECT count(*) FROM cdn_purges")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        purges as usize,
        keys.len(),
        "the old public paths are purged"
    );

    let seen_by_bob = app.get(&format!("/v1/stories/{id}"), bob.token()).await;
    seen_by_bob.expect(StatusCode::OK, None);
    assert!(
        seen_by_bob.body["viewer_count"].is_null(),
        "only the author sees counts"
    );
    let handed_out = urls(&seen_by_bob.body);
    for url in &handed_out {
        assert!(url.contains("/stories/"), "{url}");
        let expires: u64 = url
            .split(['?', '&'])
            .find_map(|p| p.strip_prefix("X-Amz-Expires="))
            .expect("a presigned URL")
            .parse()
            .unwrap();
        assert!(expires <= 1800, "{url}");
        assert_eq!(fetch(&app, url).await, StatusCode::OK);
    }
    let listed = all_pages(
        &app,
        &format!("/v1/users/{}/stories", ana.handle),
        bob.token(),
        10,
    )
    .await;
    assert_eq!(listed.len(), 1);
    let tray = all_pages(&app, "/v1/stories/tray", bob.token(), 10).await;
    assert_eq!(tray_handles(&tray), vec![ana.handle.clone()]);
    assert_eq!(tray[0]["has_unseen"], true);
    assert_eq!(tray[0]["count"], 1);

    // Not a follower: nothing, and nothing to tell it exists.
    app.get(&format!("/v1/stories/{id}"), eve.token())
        .await
        .expect(StatusCode::NOT_FOUND, Some("story_not_found"));
    assert!(
        all_pages(&app, "/v1/stories/tray", eve.token(), 10)
            .await
            .is_empty()
    );
    assert!(
        all_pages(
            &app,
            &format!("/v1/users/{}/stories", ana.handle),
            eve.token(),
            10
        )
        .await
        .is_empty()
    );

    // Past its 24 hours every read refuses it, before any sweep.
    expire(&pool, id).await;
    app.get(&format!("/v1/stories/{id}"), bob.token())
        .await
        .expect(StatusCode::NOT_FOUND, Some("story_not_found"));
    assert!(
        all_pages(&app, "/v1/stories/tray", bob.token(), 10)
            .await
            .is_empty()
    );
    app.post(&format!("/v1/stories/{id}/seen"), bob.token(), json!({}))
        .await
        .expect(StatusCode::NOT_FOUND, Some("story_not_found"));

    // The sweep deletes its objects and rows: the URLs handed out die.
    assert_eq!(sweep(&app).await.stories, 1);
    for url in &handed_out {
        assert_eq!(fetch(&app, url).await, StatusCode::NOT_FOUND, "{url}");
    }
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM stories WHERE id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
}

#[tokio::test]
async fn a_story_url_expires_within_half_an_hour_on_the_real_s3_server() {
    let app = app().await;
    let storage = app.backing.storage();
    let key = format!("stories/{}/thumb.webp", Uuid::now_v7());
    storage
        .put(&key, b"photo".to_vec(), "image/webp", "private")
        .await
        .unwrap();
    let photos = ciel::social::stories::photos::URL_LIFETIME;
    assert!(photos <= Duration::from_secs(3600));
    let now = SystemTime::now();
    let fresh = ciel::social::stories::photos::url_at(&storage, &key, now)
        .await
        .unwrap();
    assert_eq!(fetch(&app, &fresh).await, StatusCode::OK);
    // The URL handed out at the last moment of a window, seen once its
    // lifetime has passed: the server refuses it.
    let handed_out_at = now - photos - Duration::from_secs(1);
    let stale = ciel::social::stories::photos::url_at(&storage, &key, handed_out_at)
        .await
        .unwrap();
    assert_eq!(fetch(&app, &stale).await, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn close_friends_stories_reach_only_followers_on_the_list_with_a_marker() {
    let app = app().await;
    let pool = app.backing.pool().await;
    let ana = user(&app, &unique("ana")).await;
    let bob = user(&app, &unique("bob")).await;
    let cid = user(&app, &unique("cid")).await;
    follow(&app, &bob, &ana).await;
    follow(&app, &cid, &ana).await;
    put(
        &app,
        &format!("/v1/me/close-friends/{}", bob.handle),
        &ana,
        None,
    )
    .await
    .expect(StatusCode::NO_CONTENT, None);
    put(
        &app,
        &format!("/v1/me/close-friends/{}", bob.handle),
        &ana,
        None,
    )
    .await
    .expect(StatusCode::NO_CONTENT, None);
    put(
        &app,
        &format!("/v1/me/close-friends/{}", ana.handle),
        &ana,
        None,
    )
    .await
    .expect(StatusCode::FORBIDDEN, Some("cannot_add_self"));
    let list = all_pages(&app, "/v1/me/close-friends", ana.token(), 10).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["handle"], bob.handle.as_str());
    // The list is the owner's alone: bob's own list says nothing of ana's.
    assert!(
        all_pages(&app, "/v1/me/close-friends", bob.token(), 10)
            .await
            .is_empty()
    );

    let id = id_of(&story(&app, &pool, &ana, "close_friends").await);
    let for_bob = app.get(&format!("/v1/stories/{id}"), bob.token()).await;
    for_bob.expect(StatusCode::OK, None);
    assert_eq!(for_bob.body["close_friends"], true);
    let tray = all_pages(&app, "/v1/stories/tray", bob.token(), 10).await;
    assert_eq!(tray[0]["close_friends"], true);
    app.get(&format!("/v1/stories/{id}"), cid.token())
        .await
        .expect(StatusCode::NOT_FOUND, Some("story_not_found"));
    assert!(
        all_pages(&app, "/v1/stories/tray", cid.token(), 10)
            .await
            .is_empty()
    );

    app.delete(&format!("/v1/me/close-friends/{}", bob.handle), ana.token())
        .await
        .expect(StatusCode::NO_CONTENT, None);
    app.get(&format!("/v1/stories/{id}"), bob.token())
        .await
        .expect(StatusCode::NOT_FOUND, Some("story_not_found"));
}

#[tokio::test]
async fn the_tray_puts_unseen_first_then_newest_and_pages_over_a_snapshot() {
    let app = app().await;
    let pool = app.backing.pool().await;
    let viewer = user(&app, &unique("viewer")).await;
    let mut authors = Vec::new();
    for n in 0..4 {
        let author = user(&app, &unique(&format!("author{n}"))).await;
        follow(&app, &viewer, &author).await;
        authors.push(author);
    }
    let mut stories = Vec::new();
    for author in &authors {
        stories.push(id_of(&story(&app, &pool, author, "followers").await));
    }
    // Seen: author0's and author1's. Unseen, newest first: 3, 2; then seen: 1, 0.
    for id in &stories[..2] {
        for _ in 0..2 {
            app.post(&format!("/v1/stories/{id}/seen"), viewer.token(), json!({}))
                .await
                .expect(StatusCode::NO_CONTENT, None);
        }
    }
    let own = id_of(&story(&app, &pool, &viewer, "followers").await);
    let tray = all_pages(&app, "/v1/stories/tray", viewer.token(), 10).await;
    let expected: Vec<String> = [3, 2]
        .iter()
        .map(|&i| authors[i].handle.clone())
        .chain([viewer.handle.clone()])
        .chain([1, 0].iter().map(|&i| authors[i].handle.clone()))
        .collect();
    assert_eq!(tray_handles(&tray), expected, "own stories count as seen");
    assert_eq!(
        tray.iter()
            .map(|i| i["has_unseen"].as_bool().unwrap())
            .collect::<Vec<_>>(),
        vec![true, true, false, false, false]
    );
    let _ = own;

    // Page one at a time; meanwhile author2's story expires, author3's is
    // seen and author1 posts again. Nobody is shown twice, the expired one
    // not at all, and the snapshot's order holds.
    let first = app.get("/v1/stories/tray?limit=1", viewer.token()).await;
    first.expect(StatusCode::OK, None);
    assert_eq!(
        tray_handles(first.body["items"].as_array().unwrap()),
        vec![authors[3].handle.clone()]
    );
    expire(&pool, stories[2]).await;
    app.post(
        &format!("/v1/stories/{}/seen", stories[3]),
        viewer.token(),
        json!({}),
    )
    .await
    .expect(StatusCode::NO_CONTENT, None);
    story(&app, &pool, &authors[1], "followers").await;
    let mut shown = tray_handles(first.body["items"].as_array().unwrap());
    let mut cursor = first.body["next_cursor"].as_str().map(str::to_string);
    while let Some(c) = cursor {
        let page = app
            .get(
                &format!("/v1/stories/tray?limit=1&cursor={c}"),
                viewer.token(),
            )
            .await;
        page.expect(StatusCode::OK, None);
        shown.extend(tray_handles(page.body["items"].as_array().unwrap()));
        cursor = page.body["next_cursor"].as_str().map(str::to_string);
    }
    assert_eq!(
        shown,
        vec![
            authors[3].handle.clone(),
            viewer.handle.clone(),
            authors[1].handle.clone(),
            authors[0].handle.clone()
        ]
    );
    // A fresh tray sees the present: author1's new story is unseen.
    let now = all_pages(&app, "/v1/stories/tray", viewer.token(), 10).await;
    assert_eq!(now[0]["author"]["handle"], authors[1].handle.as_str());
    assert_eq!(now[0]["count"], 2);
    app.get("/v1/stories/tray?cursor=bm9wZQ", viewer.token())
        .await
        .expect(StatusCode::BAD_REQUEST, Some("invalid_cursor"));
}

#[tokio::test]
async fn viewers_are_the_authors_to_see_and_one_reaction_notifies_once() {
    let app = app().await;
    let pool = app.backing.pool().await;
    let ana = user(&app, &unique("ana")).await;
    let bob = user(&app, &unique("bob")).await;
    let eve = user(&app, &unique("eve")).await;
    follow(&app, &bob, &ana).await;
    let id = id_of(&story(&app, &pool, &ana, "followers").await);
    let path = format!("/v1/stories/{id}/reaction");

    for _ in 0..2 {
        app.post(&format!("/v1/stories/{id}/seen"), bob.token(), json!({}))
            .await
            .expect(StatusCode::NO_CONTENT, None);
    }
    app.get(&format!("/v1/stories/{id}/viewers"), bob.token())
        .await
        .expect(StatusCode::FORBIDDEN, Some("not_story_author"));
    app.get(&format!("/v1/stories/{id}/viewers"), eve.token())
        .await
        .expect(StatusCode::NOT_FOUND, Some("story_not_found"));
    put(&app, &path, &eve, Some(json!({ "emoji": "🔥" })))
        .await
        .expect(StatusCode::NOT_FOUND, Some("story_not_found"));
    put(&app, &path, &ana, Some(json!({ "emoji": "🔥" })))
        .await
        .expect(StatusCode::FORBIDDEN, Some("cannot_react_to_own_story"));
    for bad in ["", "ok", "🔥 ", "a🔥", "\u{0}"] {
        put(&app, &path, &bob, Some(json!({ "emoji": bad })))
            .await
            .expect(StatusCode::BAD_REQUEST, Some("invalid_emoji"));
    }

    // Simultaneous reactions of one viewer: one reaction, one notification.
    let emojis = ["🔥", "❤️", "👍🏽", "👨‍👩‍👧", "🇫🇷", "😂", "🎉", "🔥"];
    let tries = emojis
        .iter()
        .map(|e| put(&app, &path, &bob, Some(json!({ "emoji": e }))));
    for reply in futures::future::join_all(tries).await {
        reply.expect(StatusCode::NO_CONTENT, None);
    }
    let reactions: i64 =
        sqlx::query_scalar("SELECT count(*) FROM story_reactions WHERE story_id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(reactions, 1);
    let notes = all_pages(&app, "/v1/notifications", ana.token(), 10).await;
    let reacted: Vec<&Value> = notes
        .iter()
        .filter(|n| n["type"] == "story_reaction")
        .collect();
    assert_eq!(reacted.len(), 1, "{notes:?}");
    assert_eq!(reacted[0]["story_id"], id.to_string().as_str());
    assert!(reacted[0]["post"].is_null());

    let viewers = all_pages(&app, &format!("/v1/stories/{id}/viewers"), ana.token(), 10).await;
    assert_eq!(viewers.len(), 1);
    assert_eq!(viewers[0]["user"]["handle"], bob.handle.as_str());
    assert!(viewers[0]["reaction"].is_string());
    let own = app.get(&format!("/v1/stories/{id}"), ana.token()).await;
    assert_eq!(own.body["viewer_count"], 1);

    // Taken back: so is the notification.
    app.delete(&path, bob.token())
        .await
        .expect(StatusCode::NO_CONTENT, None);
    app.delete(&path, bob.token())
        .await
        .expect(StatusCode::NO_CONTENT, None);
    let notes = all_pages(&app, "/v1/notifications", ana.token(), 10).await;
    assert!(
        notes.iter().all(|n| n["type"] != "story_reaction"),
        "{notes:?}"
    );
    let mine = app.get(&format!("/v1/stories/{id}"), bob.token()).await;
    assert!(mine.body["my_reaction"].is_null());
    assert_eq!(mine.body["seen"], true);
}

#[tokio::test]
async fn blocks_hide_stories_views_and_reactions_both_ways() {
    let app = app().await;
    let pool = app.backing.pool().await;
    let ana = user(&app, &unique("ana")).await;
    let bob = user(&app, &unique("bob")).await;
    follow(&app, &bob, &ana).await;
    follow(&app, &ana, &bob).await;
    put(
        &app,
        &format!("/v1/me/close-friends/{}", bob.handle),
        &ana,
        None,
    )
    .await
    .expect(StatusCode::NO_CONTENT, None);
    let anas = id_of(&story(&app, &pool, &ana, "followers").await);
    let bobs = id_of(&story(&app, &pool, &bob, "followers").await);
    put(
        &app,
        &format!("/v1/stories/{anas}/reaction"),
        &bob,
        Some(json!({ "emoji": "😂" })),
    )
    .await
    .expect(StatusCode::NO_CONTENT, None);

    app.post(
        &format!("/v1/users/{}/block", bob.handle),
        ana.token(),
        json!({}),
    )
    .await
    .expect(StatusCode::NO_CONTENT, None);
    for (who, id) in [(&bob, anas), (&ana, bobs)] {
        app.get(&format!("/v1/stories/{id}"), who.token())
            .await
            .expect(StatusCode::NOT_FOUND, Some("story_not_found"));
    }
    let bobs_tray = all_pages(&app, "/v1/stories/tray", bob.token(), 10).await;
    assert_eq!(tray_handles(&bobs_tray), vec![bob.handle.clone()]);
    let anas_tray = all_pages(&app, "/v1/stories/tray", ana.token(), 10).await;
    assert_eq!(tray_handles(&anas_tray), vec![ana.handle.clone()]);
    assert!(
        all_pages(
            &app,
            &format!("/v1/stories/{anas}/viewers"),
            ana.token(),
            10
        )
        .await
        .is_empty()
    );
    assert!(
        all_pages(&app, "/v1/me/close-friends", ana.token(), 10)
            .await
            .is_empty()
    );
    let reactions: i64 = sqlx::query_scalar("SELECT count(*) FROM story_reactions")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(reactions, 0);
    // An unblock brings back none of it: follows and the list were ended.
    app.delete(&format!("/v1/users/{}/block", bob.handle), ana.token())
        .await
        .expect(StatusCode::NO_CONTENT, None);
    app.get(&format!("/v1/stories/{anas}"), bob.token())
        .await
        .expect(StatusCode::NOT_FOUND, Some("story_not_found"));
}

#[tokio::test]
async fn takedowns_suspensions_and_deletions_end_stories_and_reports_keep_the_evidence() {
    let app = app().await;
    let pool = app.backing.pool().await;
    let ana = user(&app, &unique("ana")).await;
    let bob = user(&app, &unique("bob")).await;
    follow(&app, &bob, &ana).await;
    let reported = story(&app, &pool, &ana, "followers").await;
    let reported_id = id_of(&reported);
    let plain = story(&app, &pool, &ana, "followers").await;
    let plain_id = id_of(&plain);
    let deleted = story(&app, &pool, &ana, "followers").await;
    let deleted_id = id_of(&deleted);
    let plain_urls = urls(
        &app.get(&format!("/v1/stories/{plain_id}"), bob.token())
            .await
            .body,
    );
    let reported_urls = urls(
        &app.get(&format!("/v1/stories/{reported_id}"), bob.token())
            .await
            .body,
    );
    let deleted_urls = urls(
        &app.get(&format!("/v1/stories/{deleted_id}"), bob.token())
            .await
            .body,
    );

    app.post(
        "/v1/reports",
        bob.token(),
        json!({ "target_type": "story", "target_id": reported_id, "category": "harassment", "reason": "mean" }),
    )
    .await
    .expect(StatusCode::CREATED, None);

    // The author deletes one: gone at once, objects included.
    app.delete(&format!("/v1/stories/{deleted_id}"), bob.token())
        .await
        .expect(StatusCode::FORBIDDEN, Some("not_story_author"));
    app.delete(&format!("/v1/stories/{deleted_id}"), ana.token())
        .await
        .expect(StatusCode::NO_CONTENT, None);
    app.get(&format!("/v1/stories/{deleted_id}"), bob.token())
        .await
        .expect(StatusCode::NOT_FOUND, Some("story_not_found"));
    for url in &deleted_urls {
        assert_eq!(fetch(&app, url).await, StatusCode::NOT_FOUND);
    }

    // A takedown hides both at once; the unreported one's photo goes now,
    // the reported one's stays as evidence, through expiry and sweeps.
    for id in [reported_id, plain_id] {
        let reply = app
            .client
            .post(app.url(&format!("/v1/admin/stories/{id}/takedown")))
            .header("X-Admin-Token", ADMIN)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), StatusCode::NO_CONTENT);
        app.get(&format!("/v1/stories/{id}"), bob.token())
            .await
            .expect(StatusCode::NOT_FOUND, Some("story_not_found"));
    }
    for url in &plain_urls {
        assert_eq!(fetch(&app, url).await, StatusCode::NOT_FOUND);
    }
    expire(&pool, reported_id).await;
    sweep(&app).await;
    let storage = app.backing.storage();
    let media: Uuid = reported["media"]["id"].as_str().unwrap().parse().unwrap();
    let kept: Vec<String> =
        sqlx::query_scalar("SELECT key FROM media_variants WHERE media_id = $1")
            .bind(media)
            .fetch_all(&pool)
            .await
            .unwrap();
    assert!(!kept.is_empty(), "the evidence's rows are kept");
    for key in &kept {
        assert!(storage.get(&ciel::media::keys::story(key)).await.is_ok());
    }
    for url in &reported_urls {
        // Still signed for its half hour, but no read hands out new ones.
        assert_eq!(fetch(&app, url).await, StatusCode::OK);
    }

    // A suspension hides the author's stories at once.
    let live = id_of(&story(&app, &pool, &ana, "followers").await);
    let reply = app
        .client
        .post(app.url(&format!("/v1/admin/users/{}/suspend", ana.handle)))
        .header("X-Admin-Token", ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::NO_CONTENT);
    app.get(&format!("/v1/stories/{live}"), bob.token())
        .await
        .expect(StatusCode::NOT_FOUND, Some("story_not_found"));
    assert!(
        all_pages(&app, "/v1/stories/tray", bob.token(), 10)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn highlights_keep_stories_on_the_profile_past_their_day() {
    let app = app().await;
    let pool = app.backing.pool().await;
    let ana = user(&app, &unique("ana")).await;
    let bob = user(&app, &unique("bob")).await;
    let eve = user(&app, &unique("eve")).await;
    follow(&app, &bob, &ana).await;
    let first = id_of(&story(&app, &pool, &ana, "followers").await);
    let second = id_of(&story(&app, &pool, &ana, "close_friends").await);
    let others = id_of(&story(&app, &pool, &bob, "followers").await);

    app.post(
        "/v1/me/highlights",
        ana.token(),
        json!({ "title": "Lisbon", "story_ids": [others] }),
    )
    .await
    .expect(StatusCode::NOT_FOUND, Some("story_not_found"));
    app.post(
        "/v1/me/highlights",
        ana.token(),
        json!({ "title": " ", "story_ids": [first] }),
    )
    .await
    .expect(StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed"));
    let created = app
        .post(
            "/v1/me/highlights",
            ana.token(),
            json!({ "title": "Lisbon", "story_ids": [second, first] }),
        )
        .await;
    created.expect(StatusCode::CREATED, None);
    let highlight = id_of(&created.body);

    expire(&pool, first).await;
    expire(&pool, second).await;
    assert_eq!(sweep(&app).await.stories, 0, "highlighted stories are kept");
    // Gone from the tray, kept on the profile: to a stranger too, but the
    // close-friends one only to close friends (and its author).
    let tray = all_pages(&app, "/v1/stories/tray", bob.token(), 10).await;
    assert_eq!(tray_handles(&tray), vec![bob.handle.clone()]);
    for (who, count) in [(&eve, 1), (&bob, 1), (&ana, 2)] {
        let list = all_pages(
            &app,
            &format!("/v1/users/{}/highlights", ana.handle),
            who.token(),
            10,
        )
        .await;
        assert_eq!(list.len(), 1);
        assert_eq!(list[0]["title"], "Lisbon");
        assert_eq!(list[0]["story_count"], count);
        assert!(list[0]["cover"]["variants"].is_array());
        let one = app
            .get(&format!("/v1/highlights/{highlight}"), who.token())
            .await;
        one.expect(StatusCode::OK, None);
        assert_eq!(
            one.body["stories"].as_array().unwrap().len(),
            count as usize
        );
    }
    app.get(&format!("/v1/stories/{first}"), eve.token())
        .await
        .expect(StatusCode::OK, None);

    // Keep only the first: the second, expired and now in no highlight, goes.
    crate::common::social::patch(
        &app,
        &format!("/v1/me/highlights/{highlight}"),
        ana.token(),
        json!({ "story_ids": [first], "title": "Porto" }),
    )
    .await
    .expect(StatusCode::NO_CONTENT, None);
    assert_eq!(sweep(&app).await.stories, 1);
    app.delete(&format!("/v1/me/highlights/{highlight}"), bob.token())
        .await
        .expect(StatusCode::NOT_FOUND, Some("highlight_not_found"));
    app.delete(&format!("/v1/me/highlights/{highlight}"), ana.token())
        .await
        .expect(StatusCode::NO_CONTENT, None);
    assert_eq!(sweep(&app).await.stories, 1);
    app.get(&format!("/v1/highlights/{highlight}"), ana.token())
        .await
        .expect(StatusCode::NOT_FOUND, Some("highlight_not_found"));
}

#[tokio::test]
async fn a_photo_is_in_one_post_or_one_story_and_never_an_avatar_of_a_story() {
    let app = app().await;
    let pool = app.backing.pool().await;
    let ana = user(&app, &unique("ana")).await;
    let bob = user(&app, &unique("bob")).await;
    let media = photo(&app, &pool, &ana).await;

    // Two stories of one photo at once: exactly one is made.
    let body = json!({ "media_id": media, "audience": "followers" });
    let tries = (0..4).map(|_| app.post("/v1/stories", ana.token(), body.clone()));
    let replies = futures::future::join_all(tries).await;
    let made = replies
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    assert_eq!(made, 1);
    for reply in replies.iter().filter(|r| r.status != StatusCode::CREATED) {
        reply.expect(StatusCode::UNPROCESSABLE_ENTITY, Some("media_in_use"));
    }
    app.post("/v1/posts", ana.token(), json!({ "media_ids": [media] }))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY, Some("media_in_use"));
    crate::common::social::patch(
        &app,
        "/v1/me",
        ana.token(),
        json!({ "avatar_media_id": media }),
    )
    .await
    .expect(StatusCode::UNPROCESSABLE_ENTITY, Some("media_in_use"));
    app.post(
        "/v1/stories",
        bob.token(),
        json!({ "media_id": media, "audience": "followers" }),
    )
    .await
    .expect(StatusCode::NOT_FOUND, Some("media_not_found"));
    app.post(
        "/v1/stories",
        ana.token(),
        json!({ "media_id": media, "audience": "everyone" }),
    )
    .await
    .expect(StatusCode::UNPROCESSABLE_ENTITY, None);
    let long = "x".repeat(201);
    let other = photo(&app, &pool, &ana).await;
    app.post(
        "/v1/stories",
        ana.token(),
        json!({ "media_id": other, "audience": "followers", "caption": long }),
    )
    .await
    .expect(StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed"));

    // An idempotent retry answers the first story.
    let keyed = |key: &'static str| {
        app.client
            .post(app.url("/v1/stories"))
            .bearer_auth(&ana.token)
            .header("Idempotency-Key", key)
            .json(&json!({ "media_id": other, "audience": "followers" }))
            .send()
    };
    let first: Value = keyed("story-1").await.unwrap().json().await.unwrap();
    let again = keyed("story-1").await.unwrap();
    assert_eq!(again.status(), StatusCode::CREATED);
    let again: Value = again.json().await.unwrap();
    assert_eq!(first["id"], again["id"]);
}
