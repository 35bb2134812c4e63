//! The social API against the real services: profiles, follows, blocks,
//! posts, likes, comments, notifications, moderation.

use crate::common::social::{
    User, all_pages, delete_with, id_of, ids, patch, post, ready_media, user,
};
use crate::common::{TestApp, unique};
use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

#[tokio::test]
async fn profiles_follows_and_counts() {
    let app = TestApp::api().await;
    let pool = app.backing.pool().await;
    let ana = user(&app, &unique("ana")).await;
    let bo = user(&app, &unique("bo")).await;

    for _ in 0..2 {
        app.post(
            &format!("/v1/users/{}/follow", ana.handle),
            bo.token(),
            json!({}),
        )
        .await
        .expect(StatusCode::NO_CONTENT, None);
    }
    app.post(
        &format!("/v1/users/{}/follow", bo.handle),
        bo.token(),
        json!({}),
    )
    .await
    .expect(StatusCode::FORBIDDEN, Some("cannot_follow_self"));
    app.post("/v1/users/nobody_here/follow", bo.token(), json!({}))
        .await
        .expect(StatusCode::NOT_FOUND, Some("user_not_found"));

    let seen_by_bo = app
        .get(&format!("/v1/users/{}", ana.handle), bo.token())
        .await;
    seen_by_bo.expect(StatusCode::OK, None);
    assert_eq!(seen_by_bo.body["followers_count"], 1);
    assert_eq!(seen_by_bo.body["following"], true);
    assert_eq!(seen_by_bo.body["followed_by"], false);
    assert_eq!(seen_by_bo.body["blocking"], false);
    let seen_by_ana = app
        .get(&format!("/v1/users/{}", bo.handle), ana.token())
        .await;
    assert_eq!(seen_by_ana.body["following_count"], 1);
    assert_eq!(seen_by_ana.body["followed_by"], true);

    // Profile edits, with an avatar that must be a ready photo of one's own.
    let avatar = ready_media(&pool, ana.id, 1).await[0];
    let bos_photo = ready_media(&pool, bo.id, 1).await[0];
    let reply = patch(
        &app,
        "/v1/me",
        ana.token(),
        json!({ "display_name": "Ana", "bio": "Light and harbours", "avatar_media_id": avatar }),
    )
    .await;
    reply.expect(StatusCode::OK, None);
    assert_eq!(reply.body["bio"], "Light and harbours");
    assert_eq!(reply.body["avatar"]["id"], avatar.to_string());
    let urls: Vec<&str> = reply.body["avatar"]["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["url"].as_str().unwrap())
        .collect();
    assert_eq!(
        urls.len(),
        4,
        "thumb and small, webp and jpeg: {}",
        reply.body
    );
    patch(
        &app,
        "/v1/me",
        ana.token(),
        json!({ "avatar_media_id": bos_photo }),
    )
    .await
    .expect(StatusCode::NOT_FOUND, Some("media_not_found"));
    patch(
        &app,
        "/v1/me",
        ana.token(),
        json!({ "bio": "x".repeat(301) }),
    )
    .await
    .expect(StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed"));
    // Absent fields stay; null clears.
    let reply = patch(
        &app,
        "/v1/me",
        ana.token(),
        json!({ "avatar_media_id": null }),
    )
    .await;
    reply.expect(StatusCode::OK, None);
    assert_eq!(reply.body["bio"], "Light and harbours");
    assert!(reply.body["avatar"].is_null());

    let followers = all_pages(
        &app,
        &format!("/v1/users/{}/followers", ana.handle),
        bo.token(),
        20,
    )
    .await;
    assert_eq!(ids(&followers), vec![bo.id]);
    let following = all_pages(
        &app,
        &format!("/v1/users/{}/following", bo.handle),
        ana.token(),
        20,
    )
    .await;
    assert_eq!(ids(&following), vec![ana.id]);

    for _ in 0..2 {
        app.delete(&format!("/v1/users/{}/follow", ana.handle), bo.token())
            .await
            .expect(StatusCode::NO_CONTENT, None);
    }
    let profile = app
        .get(&format!("/v1/users/{}", ana.handle), bo.token())
        .await;
    assert_eq!(profile.body["followers_count"], 0);
    assert_eq!(profile.body["following"], false);
}

#[tokio::test]
async fn follower_lists_page_without_gaps_while_follows_arrive() {
    let app = TestApp::api().await;
    let star = user(&app, &unique("star")).await;
    let mut fans = Vec::new();
    for i in 0..7 {
        let fan = user(&app, &unique(&format!("fan{i}"))).await;
        app.post(
            &format!("/v1/users/{}/follow", star.handle),
            fan.token(),
            json!({}),
        )
        .await
        .expect(StatusCode::NO_CONTENT, None);
        fans.push(fan);
    }
    let path = format!("/v1/users/{}/followers?limit=3", star.handle);
    let first = app.get(&path, star.token()).await;
    assert_eq!(first.body["items"].as_array().unwrap().len(), 3);
    // A follow that arrives between pages lands before the cursor: no repeat, no skip.
    let late = user(&app, &unique("late")).await;
    app.post(
        &format!("/v1/users/{}/follow", star.handle),
        late.token(),
        json!({}),
    )
    .await
    .expect(StatusCode::NO_CONTENT, None);
    let mut seen = ids(first.body["items"].as_array().unwrap());
    let mut cursor = first.body["next_cursor"].as_str().map(str::to_owned);
    while let Some(c) = cursor {
        let page = app.get(&format!("{path}&cursor={c}"), star.token()).await;
        page.expect(StatusCode::OK, None);
        seen.extend(ids(page.body["items"].as_array().unwrap()));
        cursor = page.body["next_cursor"].as_str().map(str::to_owned);
    }
    let mut expected: Vec<Uuid> = fans.iter().rev().map(|f| f.id).collect();
    assert_eq!(seen, expected, "newest first, each once");
    expected.insert(0, late.id);
    let all = all_pages(
        &app,
        &format!("/v1/users/{}/followers", star.handle),
        star.token(),
        50,
    )
    .await;
    assert_eq!(ids(&all), expected);

    app.get(&format!("{path}&cursor=not-a-cursor"), star.token())
        .await
        .expect(StatusCode::BAD_REQUEST, Some("invalid_cursor"));
    app.get(
        &format!("/v1/users/{}/followers?limit=51", star.handle),
        star.token(),
    )
    .await
    .expect(StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed"));
}

#[tokio::test]
async fn posts_are_created_shown_and_deleted_by_their_author_only() {
    let app = TestApp::api().await;
    let pool = app.backing.pool().await;
    let ana = user(&app, &unique("ana")).await;
    let bo = user(&app, &unique("bo")).await;
    let media = ready_media(&pool, ana.id, 3).await;

    let created = app
        .post(
            "/v1/posts",
            ana.token(),
            json!({ "caption": "Three photos", "media_ids": media }),
        )
        .await;
    created.expect(StatusCode::CREATED, None);
    let post = &created.body;
    assert_eq!(post["caption"], "Three photos");
    assert_eq!(post["author"]["handle"], ana.handle);
    assert_eq!(post["like_count"], 0);
    assert_eq!(post["comment_count"], 0);
    assert_eq!(post["liked_by_me"], false);
    let shown: Vec<Uuid> = post["media"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect();
    assert_eq!(shown, media, "photos keep the author's order");
    let variant = &post["media"][0]["variants"][0];
    for field in ["name", "format", "width", "height", "url"] {
        assert!(!variant[field].is_null(), "variant has {field}: {variant}");
    }
    let id = id_of(post);

    // Photos belong to one post; others' or unprocessed photos are refused.
    app.post("/v1/posts", ana.token(), json!({ "media_ids": [media[0]] }))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY, Some("media_in_use"));
    let bos = ready_media(&pool, bo.id, 1).await;
    app.post("/v1/posts", ana.token(), json!({ "media_ids": bos }))
        .await
        .expect(StatusCode::NOT_FOUND, Some("media_not_found"));
    let pending: Uuid = Uuid::new_v4();
    sqlx::query("INSERT INTO media (id, owner_id, declared_content_type, declared_bytes, original_key) VALUES ($1, $2, 'image/jpeg', 10, 'originals/x')")
        .bind(pending)
        .bind(ana.id)
        .execute(&pool)
        .await
        .unwrap();
    app.post("/v1/posts", ana.token(), json!({ "media_ids": [pending] }))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY, Some("media_not_ready"));
    for body in [
        json!({ "media_ids": [] }),
        json!({ "media_ids": ready_media(&pool, ana.id, 11).await }),
        json!({ "caption": "c".repeat(2201), "media_ids": ready_media(&pool, ana.id, 1).await }),
        json!({ "media_ids": [media[1], media[1]] }),
    ] {
        app.post("/v1/posts", ana.token(), body)
            .await
            .expect(StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed"));
    }

    let seen = app.get(&format!("/v1/posts/{id}"), bo.token()).await;
    seen.expect(StatusCode::OK, None);
    assert_eq!(seen.body["id"], id.to_string());
    let listed = all_pages(
        &app,
        &format!("/v1/users/{}/posts", ana.handle),
        bo.token(),
        20,
    )
    .await;
    assert_eq!(ids(&listed), vec![id]);
    let profile = app
        .get(&format!("/v1/users/{}", ana.handle), bo.token())
        .await;
    assert_eq!(profile.body["posts_count"], 1);

    app.delete(&format!("/v1/posts/{id}"), bo.token())
        .await
        .expect(StatusCode::FORBIDDEN, Some("not_post_author"));
    app.delete(&format!("/v1/posts/{id}"), ana.token())
        .await
        .expect(StatusCode::NO_CONTENT, None);
    app.get(&format!("/v1/posts/{id}"), ana.token())
        .await
        .expect(StatusCode::NOT_FOUND, Some("post_not_found"));
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM media WHERE id = ANY($1)")
        .bind(&media)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(left, 0, "a deleted post takes its photos with it");
    let profile = app
        .get(&format!("/v1/users/{}", ana.handle), bo.token())
        .await;
    assert_eq!(profile.body["posts_count"], 0);
}

#[tokio::test]
async fn idempotency_keys_make_a_retried_create_return_the_first_post() {
    let app = TestApp::api().await;
    let pool = app.backing.pool().await;
    let ana = user(&app, &unique("ana")).await;
    let media = ready_media(&pool, ana.id, 1).await;
    let body = json!({ "caption": "once", "media_ids": media });
    let send = |key: &'static str, body: serde_json::Value| {
        let request = app
            .client
            .post(app.url("/v1/posts"))
            .bearer_auth(&ana.token)
            .header("Idempotency-Key", key)
            .json(&body);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            (status, response.json::<serde_json::Value>().await.unwrap())
        }
    };
    // Concurrent retries of one request: one post, the same answer.
    let results = futures::future::join_all((0..5).map(|_| send("key-1", body.clone()))).await;
    let first_id = results[0].1["id"].clone();
    for (status, reply) in &results {
        assert_eq!(*status, StatusCode::CREATED, "{reply}");
        assert_eq!(reply["id"], first_id);
        assert_eq!(reply["caption"], "once");
    }
    let posts: i64 = sqlx::query_scalar("SELECT count(*) FROM posts WHERE author_id = $1")
        .bind(ana.id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(posts, 1);
    // The same key with another body is a client mistake.
    let (status, reply) = send("key-1", json!({ "caption": "twice", "media_ids": media })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply["error"]["code"], "idempotency_key_reused");
    // A deleted post's key still answers as the first time.
    let id = first_id.as_str().unwrap();
    app.delete(&format!("/v1/posts/{id}"), ana.token())
        .await
        .expect(StatusCode::NO_CONTENT, None);
    let (status, reply) = send("key-1", body.clone()).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(reply["id"], first_id);
    // Keys are per user.
    let bo = user(&app, &unique("bo")).await;
    let bos = ready_media(&pool, bo.id, 1).await;
    let reply = app
        .client
        .post(app.url("/v1/posts"))
        .bearer_auth(&bo.token)
        .header("Idempotency-Key", "key-1")
        .json(&json!({ "media_ids": bos }))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::CREATED);
    let bad = app
        .client
        .post(app.url("/v1/posts"))
        .bearer_auth(&bo.token)
        .header("Idempotency-Key", "x".repeat(256))
        .json(&json!({ "media_ids": bos }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn counts_stay_exact_under_concurrent_likes_comments_and_follows() {
    // Production's pool size: 96 writes at once (each with its trust check)
    // queue on the test default of 5 past the 5 s acquire timeout when the
    // whole suite loads the machine; this test is about exact counts.
    let app = TestApp::api_with(|env| {
        env.insert("DATABASE_MAX_CONNECTIONS", "10".into());
    })
    .await;
    let pool = app.backing.pool().await;
    let ana = user(&app, &unique("ana")).await;
    let post = post(&app, &pool, &ana, "popular").await;
    let id = id_of(&post);
    let mut fans = Vec::new();
    for i in 0..24 {
        fans.push(user(&app, &unique(&format!("f{i}"))).await);
    }
    // Everyone likes twice, follows and comments, all at once.
    let actions = fans.iter().flat_map(|fan| {
        let like = format!("/v1/posts/{id}/like");
        let follow = format!("/v1/users/{}/follow", ana.handle);
        let comments = format!("/v1/posts/{id}/comments");
        [
            (like.clone(), json!({})),
            (like, json!({})),
            (follow, json!({})),
            (comments, json!({ "text": "nice" })),
        ]
        .map(move |(path, body)| (fan.clone(), path, body))
    });
    let app = &app;
    let replies = futures::future::join_all(
        actions.map(|(fan, path, body)| async move { app.post(&path, fan.token(), body).await }),
    )
    .await;
    for reply in &replies {
        assert!(reply.status.is_success(), "{} {}", reply.status, reply.body);
    }
    // Half of them unlike, twice, at once.
    let unlikes = futures::future::join_all(fans.iter().take(12).flat_map(|fan| {
        let path = format!("/v1/posts/{id}/like");
        [path.clone(), path].map(move |path| async move { app.delete(&path, fan.token()).await })
    }))
    .await;
    assert!(unlikes.iter().all(|r| r.status == StatusCode::NO_CONTENT));

    let seen = app.get(&format!("/v1/posts/{id}"), ana.token()).await;
    assert_eq!(seen.body["like_count"], 12);
    assert_eq!(seen.body["comment_count"], 24);
    let profile = app
        .get(&format!("/v1/users/{}", ana.handle), ana.token())
        .await;
    assert_eq!(profile.body["followers_count"], 24);
    let (likes, follows): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM likes WHERE post_id = $1), (SELECT count(*) FROM follows WHERE followee_id = $2)",
    )
    .bind(id)
    .bind(ana.id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((likes, follows), (12, 24));
    let liked_by_fan = app.get(&format!("/v1/posts/{id}"), fans[20].token()).await;
    assert_eq!(liked_by_fan.body["liked_by_me"], true);
    let unliked_by_fan = app.get(&format!("/v1/posts/{id}"), fans[0].token()).await;
    assert_eq!(unliked_by_fan.body["liked_by_me"], false);
}

#[tokio::test]
async fn comments_list_oldest_first_and_are_deleted_by_their_or_the_posts_author() {
    let app = TestApp::api().await;
    let pool = app.backing.pool().await;
    let ana = user(&app, &unique("ana")).await;
    let bo = user(&app, &unique("bo")).await;
    let cy = user(&app, &unique("cy")).await;
    let id = id_of(&post(&app, &pool, &ana, "talk to me").await);
    let mut comment_ids = Vec::new();
    for (who, text) in [(&bo, "first"), (&cy, "second"), (&bo, "third")] {
        let reply = app
            .post(
                &format!("/v1/posts/{id}/comments"),
                who.token(),
                json!({ "text": text }),
            )
            .await;
        reply.expect(StatusCode::CREATED, None);
        assert_eq!(reply.body["author"]["handle"], who.handle);
        comment_ids.push(id_of(&reply.body));
    }
    app.post(
        &format!("/v1/posts/{id}/comments"),
        bo.token(),
        json!({ "text": "  " }),
    )
    .await
    .expect(StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed"));
    app.post(
        &format!("/v1/posts/{id}/comments"),
        bo.token(),
        json!({ "text": "x".repeat(1001) }),
    )
    .await
    .expect(StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed"));
    let listed = all_pages(&app, &format!("/v1/posts/{id}/comments"), cy.token(), 2).await;
    assert_eq!(ids(&listed), comment_ids);
    let texts: Vec<&str> = listed.iter().map(|c| c["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["first", "second", "third"]);

    // cy may not delete bo's comment on ana's post; bo and ana may.
    app.delete(&format!("/v1/comments/{}", comment_ids[0]), cy.token())
        .await
        .expect(StatusCode::FORBIDDEN, Some("not_comment_author"));
    app.delete(&format!("/v1/comments/{}", comment_ids[0]), bo.token())
        .await
        .expect(StatusCode::NO_CONTENT, None);
    app.delete(&format!("/v1/comments/{}", comment_ids[1]), ana.token())
        .await
        .expect(StatusCode::NO_CONTENT, None);
    app.delete(&format!("/v1/comments/{}", comment_ids[1]), ana.token())
        .await
        .expect(StatusCode::NOT_FOUND, Some("comment_not_found"));
    let post = app.get(&format!("/v1/posts/{id}"), ana.token()).await;
    assert_eq!(post.body["comment_count"], 1);
}

#[tokio::test]
async fn notifications_for_follows_likes_and_comments_but_not_for_yourself_or_the_blocked() {
    let app = TestApp::api().await;
    let pool = app.backing.pool().await;
    let ana = user(&app, &unique("ana")).await;
    let bo = user(&app, &unique("bo")).await;
    let cy = user(&app, &unique("cy")).await;
    let id = id_of(&post(&app, &pool, &ana, "notify me").await);

    // Your own actions make none.
    app.post(&format!("/v1/posts/{id}/like"), ana.token(), json!({}))
        .await;
    app.post(
        &format!("/v1/posts/{id}/comments"),
        ana.token(),
        json!({ "text": "me" }),
    )
    .await;
    // Like, unlike, like: one notification.
    for method_like in [true, false, true] {
        if method_like {
            app.post(&format!("/v1/posts/{id}/like"), bo.token(), json!({}))
                .await;
        } else {
            app.delete(&format!("/v1/posts/{id}/like"), bo.token())
                .await;
        }
    }
    app.post(
        &format!("/v1/users/{}/follow", ana.handle),
        bo.token(),
        json!({}),
    )
    .await;
    app.post(
        &format!("/v1/posts/{id}/comments"),
        bo.token(),
        json!({ "text": "hi" }),
    )
    .await;
    app.post(&format!("/v1/posts/{id}/like"), cy.token(), json!({}))
        .await;

    let items = all_pages(&app, "/v1/notifications", ana.token(), 2).await;
    let kinds: Vec<(&str, &str)> = items
        .iter()
        .map(|n| {
            (
                n["type"].as_str().unwrap(),
                n["actor"]["handle"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("like", cy.handle.as_str()),
            ("comment", &bo.handle),
            ("follow", &bo.handle),
            ("like", &bo.handle)
        ]
    );
    assert!(items.iter().all(|n| n["read"] == false));
    assert_eq!(items[0]["post"]["id"], id.to_string());
    assert!(items[2]["post"].is_null());

    // Blocking cy drops cy's notification; marking read by id, then all.
    app.post(
        &format!("/v1/users/{}/block", cy.handle),
        ana.token(),
        json!({}),
    )
    .await
    .expect(StatusCode::NO_CONTENT, None);
    let items = all_pages(&app, "/v1/notifications", ana.token(), 20).await;
    assert_eq!(items.len(), 3);
    let first = items[0]["id"].clone();
    let reply = app
        .post(
            "/v1/notifications/read",
            ana.token(),
            json!({ "ids": [first] }),
        )
        .await;
    reply.expect(StatusCode::OK, None);
    assert_eq!(reply.body["marked"], 1);
    // Someone else's ids change nothing.
    let reply = app
        .post(
            "/v1/notifications/read",
            bo.token(),
            json!({ "ids": [items[1]["id"]] }),
        )
        .await;
    assert_eq!(reply.body["marked"], 0);
    let reply = app
        .post(
            "/v1/notifications/read",
            ana.token(),
            json!({ "all": true }),
        )
        .await;
    assert_eq!(reply.body["marked"], 2);
    let items = all_pages(&app, "/v1/notifications", ana.token(), 20).await;
    assert!(items.iter().all(|n| n["read"] == true));
    // Nothing named: nothing changes.
    let none = app
        .post("/v1/notifications/read", ana.token(), json!({}))
        .await;
    none.expect(StatusCode::OK, None);
    assert_eq!(none.body["marked"], 0);
    app.post(
        "/v1/notifications/read",
        ana.token(),
        json!({ "ids": vec![uuid::Uuid::nil(); 201] }),
    )
    .await
    .expect(StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed"));
}

#[tokio::test]
async fn blocks_hide_both_ways_and_end_follows() {
    let app = TestApp::api().await;
    let pool = app.backing.pool().await;
    let ana = user(&app, &unique("ana")).await;
    let bo = user(&app, &unique("bo")).await;
    let cy = user(&app, &unique("cy")).await;
    let anas = id_of(&post(&app, &pool, &ana, "ana's").await);
    let bos = id_of(&post(&app, &pool, &bo, "bo's").await);
    let cys = id_of(&post(&app, &pool, &cy, "cy's").await);
    app.post(
        &format!("/v1/users/{}/follow", ana.handle),
        bo.token(),
        json!({}),
    )
    .await;
    app.post(
        &format!("/v1/users/{}/follow", bo.handle),
        ana.token(),
        json!({}),
    )
    .await;
    let bo_comment = app
        .post(
            &format!("/v1/posts/{cys}/comments"),
            bo.token(),
            json!({ "text": "from bo" }),
        )
        .await;

    app.post(
        &format!("/v1/users/{}/block", bo.handle),
        ana.token(),
        json!({}),
    )
    .await
    .expect(StatusCode::NO_CONTENT, None);
    app.post(
        &format!("/v1/users/{}/block", ana.handle),
        ana.token(),
        json!({}),
    )
    .await
    .expect(StatusCode::FORBIDDEN, Some("cannot_block_self"));

    let counts = app
        .get(&format!("/v1/users/{}", bo.handle), ana.token())
        .await;
    counts.expect(StatusCode::OK, None);
    assert_eq!(
        counts.body["blocking"], true,
        "the blocker still finds whom they blocked"
    );
    assert_eq!(counts.body["followers_count"], 0, "both follows ended");
    assert_eq!(counts.body["following_count"], 0);
    // The blocked one sees nothing of the blocker.
    app.get(&format!("/v1/users/{}", ana.handle), bo.token())
        .await
        .expect(StatusCode::NOT_FOUND, Some("user_not_found"));
    for (who, path) in [
        (&bo, format!("/v1/posts/{anas}")),
        (&ana, format!("/v1/posts/{bos}")),
        (&bo, format!("/v1/users/{}/posts", ana.handle)),
        (&ana, format!("/v1/users/{}/posts", bo.handle)),
        (&bo, format!("/v1/users/{}/followers", ana.handle)),
        (&ana, format!("/v1/users/{}/following", bo.handle)),
        (&bo, format!("/v1/posts/{anas}/comments")),
    ] {
        let reply = app.get(&path, who.token()).await;
        assert_eq!(
            reply.status,
            StatusCode::NOT_FOUND,
            "{path}: {}",
            reply.body
        );
    }
    // Neither can follow, like or comment.
    for (who, path, body) in [
        (&bo, format!("/v1/users/{}/follow", ana.handle), json!({})),
        (&ana, format!("/v1/users/{}/follow", bo.handle), json!({})),
        (&bo, format!("/v1/posts/{anas}/like"), json!({})),
        (
            &ana,
            format!("/v1/posts/{bos}/comments"),
            json!({ "text": "hi" }),
        ),
    ] {
        let reply = app.post(&path, who.token(), body).await;
        assert_eq!(
            reply.status,
            StatusCode::NOT_FOUND,
            "{path}: {}",
            reply.body
        );
    }
    // A third party's post: bo's comment is hidden from ana, not from cy.
    let comments = all_pages(&app, &format!("/v1/posts/{cys}/comments"), ana.token(), 20).await;
    assert!(comments.is_empty());
    let comments = all_pages(&app, &format!("/v1/posts/{cys}/comments"), cy.token(), 20).await;
    assert_eq!(ids(&comments), vec![id_of(&bo_comment.body)]);
    let feed = all_pages(&app, "/v1/feed", ana.token(), 20).await;
    assert_eq!(ids(&feed), vec![anas]);

    app.delete(&format!("/v1/users/{}/block", bo.handle), ana.token())
        .await
        .expect(StatusCode::NO_CONTENT, None);
    app.get(&format!("/v1/posts/{anas}"), bo.token())
        .await
        .expect(StatusCode::OK, None);
    let profile = app
        .get(&format!("/v1/users/{}", bo.handle), ana.token())
        .await;
    assert_eq!(
        profile.body["following"], false,
        "unblocking restores no follow"
    );
}

#[tokio::test]
async fn admin_routes_need_the_token_and_moderate() {
    let closed = TestApp::api().await;
    let someone = user(&closed, &unique("someone")).await;
    closed
        .get("/v1/admin/reports", someone.token())
        .await
        .expect(StatusCode::NOT_FOUND, Some("not_found"));

    let app = TestApp::api_with(|env| {
        env.insert("ADMIN_TOKEN", "moderator-secret-token".into());
    })
    .await;
    let pool = app.backing.pool().await;
    let ana = user(&app, &unique("ana")).await;
    let bo = user(&app, &unique("bo")).await;
    let reported = post(&app, &pool, &ana, "reported").await;
    let anas = id_of(&reported);
    let reported_photo = reported["media"][0]["id"].as_str().unwrap().to_string();
    let admin = |method: reqwest::Method, path: &str, token: &str| {
        app.client
            .request(method, app.url(path))
            .header("X-Admin-Token", token)
            .send()
    };

    for (target_type, target_id) in [("post", anas), ("user", ana.id)] {
        let reply = app
            .post(
                "/v1/reports",
                bo.token(),
                json!({ "target_type": target_type, "target_id": target_id, "reason": "spam" }),
            )
            .await;
        reply.expect(StatusCode::CREATED, None);
    }
    app.post(
        "/v1/reports",
        bo.token(),
        json!({ "target_type": "comment", "target_id": Uuid::new_v4(), "reason": "spam" }),
    )
    .await
    .expect(StatusCode::NOT_FOUND, Some("report_target_not_found"));
    app.post(
        "/v1/reports",
        bo.token(),
        json!({ "target_type": "planet", "target_id": anas, "reason": "spam" }),
    )
    .await
    .expect(StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed"));

    let wrong = admin(reqwest::Method::GET, "/v1/admin/reports", "guess")
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let reports = admin(
        reqwest::Method::GET,
        "/v1/admin/reports",
        "moderator-secret-token",
    )
    .await
    .unwrap();
    assert_eq!(reports.status(), StatusCode::OK);
    let reports: serde_json::Value = reports.json().await.unwrap();
    assert_eq!(reports["items"].as_array().unwrap().len(), 2);
    assert_eq!(reports["items"][0]["target_type"], "user");

    // A takedown hides the post everywhere.
    app.post(
        &format!("/v1/users/{}/follow", ana.handle),
        bo.token(),
        json!({}),
    )
    .await;
    let feed = all_pages(&app, "/v1/feed", bo.token(), 20).await;
    assert_eq!(ids(&feed), vec![anas]);
    let down = admin(
        reqwest::Method::POST,
        &format!("/v1/admin/posts/{anas}/takedown"),
        "moderator-secret-token",
    )
    .await
    .unwrap();
    assert_eq!(down.status(), StatusCode::NO_CONTENT);
    for token in [bo.token(), ana.token()] {
        app.get(&format!("/v1/posts/{anas}"), token)
            .await
            .expect(StatusCode::NOT_FOUND, Some("post_not_found"));
    }
    assert!(all_pages(&app, "/v1/feed", bo.token(), 20).await.is_empty());
    assert!(
        all_pages(
            &app,
            &format!("/v1/users/{}/posts", ana.handle),
            bo.token(),
            20
        )
        .await
        .is_empty()
    );
    // Its photo cannot come back as the author's avatar (issue 25, finding 2).
    patch(
        &app,
        "/v1/me",
        ana.token(),
        json!({ "avatar_media_id": reported_photo }),
    )
    .await
    .expect(StatusCode::NOT_FOUND, Some("media_not_found"));

    // A suspension ends every session and hides the user and their posts.
    let second = id_of(&post(&app, &pool, &ana, "second").await);
    let suspend = admin(
        reqwest::Method::POST,
        &format!("/v1/admin/users/{}/suspend", ana.handle),
        "moderator-secret-token",
    )
    .await
    .unwrap();
    assert_eq!(suspend.status(), StatusCode::NO_CONTENT);
    app.get("/v1/me", ana.token())
        .await
        .expect(StatusCode::UNAUTHORIZED, Some("session_revoked"));
    app.post(
        "/v1/auth/login",
        None,
        json!({ "login": ana.handle, "password": crate::common::PASSWORD }),
    )
    .await
    .expect(StatusCode::FORBIDDEN, Some("account_suspended"));
    app.get(&format!("/v1/users/{}", ana.handle), bo.token())
        .await
        .expect(StatusCode::NOT_FOUND, Some("user_not_found"));
    app.get(&format!("/v1/posts/{second}"), bo.token())
        .await
        .expect(StatusCode::NOT_FOUND, Some("post_not_found"));
    assert!(all_pages(&app, "/v1/feed", bo.token(), 20).await.is_empty());

    let lifted = admin(
        reqwest::Method::POST,
        &format!("/v1/admin/users/{}/unsuspend", ana.handle),
        "moderator-secret-token",
    )
    .await
    .unwrap();
    assert_eq!(lifted.status(), StatusCode::NO_CONTENT);
    let feed = all_pages(&app, "/v1/feed", bo.token(), 20).await;
    assert_eq!(
        ids(&feed),
        vec![second],
        "back, but the taken-down post stays down"
    );
    app.post(
        "/v1/auth/login",
        None,
        json!({ "login": ana.handle, "password": crate::common::PASSWORD }),
    )
    .await
    .expect(StatusCode::OK, None);
}

#[tokio::test]
async fn account_deletion_needs_the_password_and_hides_the_account_at_once() {
    let app = TestApp::api().await;
    let pool = app.backing.pool().await;
    let ana = user(&app, &unique("ana")).await;
    let bo = user(&app, &unique("bo")).await;
    let anas = id_of(&post(&app, &pool, &ana, "soon gone").await);
    delete_with(
        &app,
        "/v1/me",
        ana.token(),
        json!({ "password": "not the password" }),
    )
    .await
    .expect(StatusCode::FORBIDDEN, Some("wrong_password"));
    delete_with(
        &app,
        "/v1/me",
        ana.token(),
        json!({ "password": crate::common::PASSWORD }),
    )
    .await
    .expect(StatusCode::ACCEPTED, None);
    app.get("/v1/me", ana.token())
        .await
        .expect(StatusCode::UNAUTHORIZED, Some("session_revoked"));
    app.get(&format!("/v1/users/{}", ana.handle), bo.token())
        .await
        .expect(StatusCode::NOT_FOUND, Some("user_not_found"));
    app.get(&format!("/v1/posts/{anas}"), bo.token())
        .await
        .expect(StatusCode::NOT_FOUND, Some("post_not_found"));
    app.post(
        "/v1/auth/login",
        None,
        json!({ "login": ana.handle, "password": crate::common::PASSWORD }),
    )
    .await
    .expect(StatusCode::UNAUTHORIZED, Some("invalid_credentials"));
}

/// Every write route, tried by a second user on the first user's objects
/// and by a user the first one blocked: nothing happens, and the answer is
/// 403 or 404. And no GET shows a blocked or suspended user's content.
#[tokio::test]
async fn nobody_touches_what_is_not_theirs_and_blocks_and_suspensions_hide_everything() {
    let app = TestApp::api_with(|env| {
        env.insert("ADMIN_TOKEN", "moderator-secret-token".into());
    })
    .await;
    let pool = app.backing.pool().await;
    let ana = user(&app, &unique("ana")).await;
    let other = user(&app, &unique("other")).await;
    let blocked = user(&app, &unique("blocked")).await;
    let cy = user(&app, &unique("cy")).await;
    app.post(
        &format!("/v1/users/{}/follow", ana.handle),
        blocked.token(),
        json!({}),
    )
    .await;
    let anas = id_of(&post(&app, &pool, &ana, "ana's").await);
    let media = ready_media(&pool, ana.id, 1).await[0];
    app.post(&format!("/v1/posts/{anas}/like"), other.token(), json!({}))
        .await
        .expect(StatusCode::NO_CONTENT, None);
    let comment = id_of(
        &app.post(
            &format!("/v1/posts/{anas}/comments"),
            ana.token(),
            json!({ "text": "mine" }),
        )
        .await
        .body,
    );
    let cys = id_of(&post(&app, &pool, &cy, "cy's").await);
    let anas_comment_elsewhere = id_of(
        &app.post(
            &format!("/v1/posts/{cys}/comments"),
            ana.token(),
            json!({ "text": "on cy's" }),
        )
        .await
        .body,
    );
    let session = app.get("/v1/auth/sessions", ana.token()).await.body["sessions"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.post(
        &format!("/v1/users/{}/block", blocked.handle),
        ana.token(),
        json!({}),
    )
    .await
    .expect(StatusCode::NO_CONTENT, None);

    let other_writes: Vec<(reqwest::Method, String, serde_json::Value)> = vec![
        (
            reqwest::Method::DELETE,
            format!("/v1/auth/sessions/{session}"),
            json!(null),
        ),
        (
            reqwest::Method::POST,
            format!("/v1/media/{media}/complete"),
            json!({}),
        ),
        (
            reqwest::Method::DELETE,
            format!("/v1/media/{media}"),
            json!(null),
        ),
        (
            reqwest::Method::POST,
            "/v1/posts".into(),
            json!({ "media_ids": [media] }),
        ),
        (
            reqwest::Method::PATCH,
            "/v1/me".into(),
            json!({ "avatar_media_id": media }),
        ),
        (
            reqwest::Method::DELETE,
            format!("/v1/posts/{anas}"),
            json!(null),
        ),
        (
            reqwest::Method::DELETE,
            format!("/v1/comments/{comment}"),
            json!(null),
        ),
        (
            reqwest::Method::DELETE,
            format!("/v1/comments/{anas_comment_elsewhere}"),
            json!(null),
        ),
    ];
    let blocked_writes: Vec<(reqwest::Method, String, serde_json::Value)> = vec![
        (
            reqwest::Method::POST,
            format!("/v1/users/{}/follow", ana.handle),
            json!({}),
        ),
        (
            reqwest::Method::POST,
            format!("/v1/posts/{anas}/like"),
            json!({}),
        ),
        (
            reqwest::Method::DELETE,
            format!("/v1/posts/{anas}/like"),
            json!(null),
        ),
        (
            reqwest::Method::POST,
            format!("/v1/posts/{anas}/comments"),
            json!({ "text": "hey" }),
        ),
        (
            reqwest::Method::POST,
            "/v1/reports".into(),
            json!({ "target_type": "post", "target_id": anas, "reason": "x" }),
        ),
        (
            reqwest::Method::POST,
            "/v1/reports".into(),
            json!({ "target_type": "user", "target_id": ana.id, "reason": "x" }),
        ),
        (
            reqwest::Method::DELETE,
            format!("/v1/posts/{anas}"),
            json!(null),
        ),
        (
            reqwest::Method::DELETE,
            format!("/v1/comments/{comment}"),
            json!(null),
        ),
    ];
    for (who, writes) in [(&other, &other_writes), (&blocked, &blocked_writes)] {
        for (method, path, body) in writes {
            let body = (!body.is_null()).then(|| body.clone());
            let reply = app.request(method.clone(), path, who.token(), body).await;
            assert!(
                matches!(reply.status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
                "{} {method} {path}: {} {}",
                who.handle,
                reply.status,
                reply.body
            );
        }
    }
    // Notifications of someone else are left as they were.
    let ana_notes = all_pages(&app, "/v1/notifications", ana.token(), 20).await;
    let note_ids: Vec<_> = ana_notes.iter().map(|n| n["id"].clone()).collect();
    assert_eq!(note_ids.len(), 1, "other's like");
    let reply = app
        .post(
            "/v1/notifications/read",
            other.token(),
            json!({ "ids": note_ids }),
        )
        .await;
    assert_eq!(reply.body["marked"], 0);
    // Nothing changed.
    let unchanged: (i64, i64, i64, i64, i32) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM posts WHERE author_id = $1),
                (SELECT count(*) FROM comments WHERE author_id = $1),
                (SELECT count(*) FROM media WHERE owner_id = $1),
                (SELECT count(*) FROM auth_sessions WHERE user_id = $1 AND revoked_at IS NULL),
                (SELECT followers_count FROM users WHERE id = $1)",
    )
    .bind(ana.id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(unchanged, (1, 2, 2, 1, 0));

    // The blocked user sees nothing of ana, through any GET.
    let leaks_to = |who: User| {
        let app = &app;
        let ana = ana.clone();
        async move {
            let mut leaks = Vec::new();
            for path in [
                format!("/v1/users/{}", ana.handle),
                format!("/v1/posts/{anas}"),
                format!("/v1/users/{}/posts", ana.handle),
                format!("/v1/users/{}/followers", ana.handle),
                format!("/v1/users/{}/following", ana.handle),
                format!("/v1/posts/{anas}/comments"),
            ] {
                let reply = app.get(&path, who.token()).await;
                if reply.status != StatusCode::NOT_FOUND {
                    leaks.push(format!("{path}: {}", reply.status));
                }
            }
            let body = app
                .get(&format!("/v1/posts/{cys}/comments"), who.token())
                .await
                .body
                .to_string();
            let feed = app.get("/v1/feed", who.token()).await.body.to_string();
            for (place, text) in [("cy's comments", body), ("feed", feed)] {
                if text.contains(&ana.id.to_string()) {
                    leaks.push(format!("{place} mentions ana"));
                }
            }
            leaks
        }
    };
    assert_eq!(leaks_to(blocked.clone()).await, Vec::<String>::new());

    // Once suspended, nobody sees anything of ana either.
    app.client
        .post(app.url(&format!("/v1/admin/users/{}/suspend", ana.handle)))
        .header("X-Admin-Token", "moderator-secret-token")
        .send()
        .await
        .unwrap();
    assert_eq!(leaks_to(other.clone()).await, Vec::<String>::new());
    assert_eq!(leaks_to(cy.clone()).await, Vec::<String>::new());
    let cys_notes = app
        .get("/v1/notifications", cy.token())
        .await
        .body
        .to_string();
    assert!(!cys_notes.contains(&ana.id.to_string()), "{cys_notes}");
}

#[tokio::test]
async fn reads_that_may_lag_go_to_the_replica_and_your_own_writes_do_not() {
    let backing = crate::common::Backing::new().await;
    // The "replica": a second database with the same schema, which the test
    // fills itself, so that what is read from it can be told apart.
    let replica = format!(
        "{}_replica",
        backing.database_url.rsplit('/').next().unwrap()
    );
    let admin = sqlx::PgPool::connect(&format!("{}/postgres", crate::common::database_base()))
        .await
        .unwrap();
    sqlx::query(&format!("CREATE DATABASE {replica}"))
        .execute(&admin)
        .await
        .unwrap();
    let replica_url = format!("{}/{replica}", crate::common::database_base());
    let replica_pool = sqlx::PgPool::connect(&replica_url).await.unwrap();
    ciel::infra::db::migrate(&replica_pool).await.unwrap();
    let mut env = backing.env("api");
    env.insert("DATABASE_READ_URL", replica_url);
    let app = TestApp::spawn(&backing, env).await;
    let pool = backing.pool().await;
    let ana = user(&app, &unique("ana")).await;
    sqlx::query("INSERT INTO users (id, handle, email, password_hash, bio) VALUES ($1, $2, 'r@example.org', 'x', 'from the replica')")
        .bind(ana.id)
        .bind(&ana.handle)
        .execute(&replica_pool)
        .await
        .unwrap();

    let profile = app
        .get(&format!("/v1/users/{}", ana.handle), ana.token())
        .await;
    assert_eq!(
        profile.body["bio"], "from the replica",
        "profiles read the replica"
    );
    let own = patch(
        &app,
        "/v1/me",
        ana.token(),
        json!({ "bio": "just written" }),
    )
    .await;
    assert_eq!(
        own.body["bio"], "just written",
        "a read after your own write: the primary"
    );
    let anas = id_of(&post(&app, &pool, &ana, "new").await);
    app.get(&format!("/v1/posts/{anas}"), ana.token())
        .await
        .expect(StatusCode::OK, None);
    app.post(&format!("/v1/posts/{anas}/like"), ana.token(), json!({}))
        .await
        .expect(StatusCode::NO_CONTENT, None);
    let seen = app.get(&format!("/v1/posts/{anas}"), ana.token()).await;
    assert_eq!(seen.body["liked_by_me"], true, "your own like: the primary");
    assert_eq!(all_pages(&app, "/v1/feed", ana.token(), 20).await.len(), 1);
    // Another user's list may lag: it comes from the replica.
    let listed = all_pages(
        &app,
        &format!("/v1/users/{}/posts", ana.handle),
        ana.token(),
        20,
    )
    .await;
    assert!(listed.is_empty(), "the replica has not seen the post");
    app.get(&format!("/v1/posts/{anas}/comments"), ana.token())
        .await
        .expect(StatusCode::NOT_FOUND, Some("post_not_found"));
}

#[tokio::test]
async fn the_openapi_document_covers_the_social_routes_with_their_constraints() {
    let doc = serde_json::to_value(ciel::http::openapi_document()).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    for (path, methods) in [
        ("/v1/me", &["get", "patch", "delete"][..]),
        ("/v1/users/{handle}", &["get"]),
        ("/v1/users/{handle}/follow", &["post", "delete"]),
        ("/v1/users/{handle}/block", &["post", "delete"]),
        ("/v1/users/{handle}/followers", &["get"]),
        ("/v1/users/{handle}/following", &["get"]),
        ("/v1/users/{handle}/posts", &["get"]),
        ("/v1/posts", &["post"]),
        ("/v1/posts/{id}", &["get", "delete"]),
        ("/v1/posts/{id}/like", &["post", "delete"]),
        ("/v1/posts/{id}/comments", &["get", "post"]),
        ("/v1/comments/{id}", &["delete"]),
        ("/v1/feed", &["get"]),
        ("/v1/notifications", &["get"]),
        ("/v1/notifications/read", &["post"]),
        ("/v1/reports", &["post"]),
        ("/v1/admin/reports", &["get"]),
        ("/v1/admin/posts/{id}/takedown", &["post"]),
        ("/v1/admin/users/{handle}/suspend", &["post"]),
        ("/v1/admin/users/{handle}/unsuspend", &["post"]),
    ] {
        for method in methods {
            let operation = &paths[path][method];
            assert!(operation.is_object(), "{method} {path} is documented");
            let responses = operation["responses"].as_object().unwrap();
            assert!(responses.contains_key("401"), "{method} {path} lists 401");
            if *method != "get" && !path.starts_with("/v1/admin") {
                assert!(responses.contains_key("429"), "{method} {path} lists 429");
            }
        }
    }
    let schemas = &doc["components"]["schemas"];
    let post = &schemas["CreatePostWithMediaIds"]["properties"];
    assert_eq!(post["media_ids"]["minItems"], 1);
    assert_eq!(post["media_ids"]["maxItems"], 10);
    assert_eq!(post["caption"]["maxLength"], 2200);
    assert_eq!(
        schemas["CreateCommentRequest"]["properties"]["text"]["maxLength"],
        1000
    );
    assert_eq!(
        schemas["UpdateProfileRequest"]["properties"]["bio"]["maxLength"],
        300
    );
    let limit = paths["/v1/feed"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limit")
        .unwrap();
    assert_eq!(
        (
            limit["schema"]["minimum"].as_i64(),
            limit["schema"]["maximum"].as_i64()
        ),
        (Some(1), Some(50))
    );
    assert!(doc["components"]["securitySchemes"]["admin_token"].is_object());
}

/// Two follows in opposite directions at once lock the same two users'
/// counters: the rows are locked in id order, so neither is aborted as a
/// deadlock. The test holds the lower id's row until both wait behind it,
/// which interleaves them the way a deadlock needs.
#[tokio::test]
async fn follows_each_way_at_once_do_not_deadlock() {
    let app = TestApp::api().await;
    let (a, b) = (
        user(&app, &unique("dl")).await,
        user(&app, &unique("dl")).await,
    );
    let (low, high) = if a.id < b.id {
        (a.id, b.id)
    } else {
        (b.id, a.id)
    };
    let pool = app.backing.pool().await;
    let mut holder = pool.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE")
        .bind(low)
        .execute(&mut *holder)
        .await
        .unwrap();
    let follow = |follower: Uuid, followee: Uuid| {
        let pool = pool.clone();
        tokio::spawn(async move {
            sqlx::query("INSERT INTO follows (follower_id, followee_id) VALUES ($1, $2)")
                .bind(follower)
                .bind(followee)
                .execute(&pool)
                .await
        })
    };
    let up = follow(low, high);
    crate::common::until_queries_wait_on_locks(&pool, 1).await;
    let down = follow(high, low);
    crate::common::until_queries_wait_on_locks(&pool, 2).await;
    holder.rollback().await.unwrap();
    up.await.unwrap().expect("the first follow");
    down.await.unwrap().expect("the follow the other way");
    let counts: Vec<(i32, i32)> =
        sqlx::query_as("SELECT followers_count, following_count FROM users WHERE id = ANY($1)")
            .bind(vec![low, high])
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(counts, vec![(1, 1), (1, 1)]);
}

/// Issue 25, finding 6: a follow checked before a block committed, and
/// inserted after the block ended the pair's follows, must not survive it.
#[tokio::test]
async fn a_follow_racing_a_block_does_not_survive_it() {
    let app = TestApp::api().await;
    let pool = app.backing.pool().await;
    let (blocker, follower) = (
        user(&app, &unique("rb")).await,
        user(&app, &unique("rf")).await,
    );
    let blockers_post = id_of(&post(&app, &pool, &blocker, "not for the blocked").await);
    // The follow's counter update waits on this row lock, so the follow is
    // checked and inserted but not committed when the block comes.
    let low = blocker.id.min(follower.id);
    let mut holder = pool.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE")
        .bind(low)
        .execute(&mut *holder)
        .await
        .unwrap();
    let follow = {
        let (client, url, token) = (
            app.client.clone(),
            format!("{}/v1/users/{}/follow", app.base, blocker.handle),
            follower.token.clone(),
        );
        tokio::spawn(async move {
            let sent = client.post(url).bearer_auth(token).json(&json!({})).send();
            sent.await.unwrap().status()
        })
    };
    crate::common::until_queries_wait_on_locks(&pool, 1).await;
    let block = {
        let (client, url, token) = (
            app.client.clone(),
            format!("{}/v1/users/{}/block", app.base, follower.handle),
            blocker.token.clone(),
        );
        tokio::spawn(async move {
            let sent = client.post(url).bearer_auth(token).json(&json!({})).send();
            sent.await.unwrap().status()
        })
    };
    // The block either finishes at once (nothing serialises it with the
    // follow) or waits for the follow's transaction.
    crate::common::eventually(
        std::time::Duration::from_secs(60),
        "the block to run or wait",
        || {
            let (pool, block) = (&pool, &block);
            async move {
                let waiting = crate::common::queries_waiting_on_locks(pool).await;
                (block.is_finished() || waiting >= 2).then_some(())
            }
        },
    )
    .await;
    holder.rollback().await.unwrap();
    let followed = follow.await.unwrap();
    assert_eq!(block.await.unwrap(), StatusCode::NO_CONTENT);
    assert!(
        followed == StatusCode::NO_CONTENT || followed == StatusCode::NOT_FOUND,
        "follow: {followed}"
    );
    let follows: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM follows WHERE (follower_id = $1 AND followee_id = $2) OR (follower_id = $2 AND followee_id = $1)",
    )
    .bind(blocker.id)
    .bind(follower.id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(follows, 0, "a follow outlived the block");
    let feed = all_pages(&app, "/v1/feed", follower.token(), 20).await;
    assert!(!ids(&feed).contains(&blockers_post));
}

/// Issue 25, finding 7: the blocked user cannot tell a blocker from a
/// stranger by blocking, unblocking or unfollowing them.
#[tokio::test]
async fn a_blocker_answers_the_blocked_as_a_stranger_would() {
    let app = TestApp::api().await;
    let (blocker, blocked) = (
        user(&app, &unique("bk")).await,
        user(&app, &unique("bd")).await,
    );
    app.post(
        &format!("/v1/users/{}/block", blocked.handle),
        blocker.token(),
        json!({}),
    )
    .await
    .expect(StatusCode::NO_CONTENT, None);
    let stranger = unique("nobody");
    for target in [&blocker.handle, &stranger] {
        let path = format!("/v1/users/{target}/block");
        app.post(&path, blocked.token(), json!({}))
            .await
            .expect(StatusCode::NOT_FOUND, Some("user_not_found"));
        app.delete(&path, blocked.token())
            .await
            .expect(StatusCode::NOT_FOUND, Some("user_not_found"));
        app.delete(&format!("/v1/users/{target}/follow"), blocked.token())
            .await
            .expect(StatusCode::NOT_FOUND, Some("user_not_found"));
    }
    // The blocker still finds whom they block, to unblock them.
    app.delete(
        &format!("/v1/users/{}/block", blocked.handle),
        blocker.token(),
    )
    .await
    .expect(StatusCode::NO_CONTENT, None);
}

/// Issue 25, finding 10: liking again after an unlike restores the first
/// notification (read stays read), and a reporter's repeats of one report
/// merge into it.
#[tokio::test]
async fn a_like_again_restores_its_notification_and_repeated_reports_merge() {
    let app = TestApp::api().await;
    let pool = app.backing.pool().await;
    let (ana, bo) = (
        user(&app, &unique("ana")).await,
        user(&app, &unique("bo")).await,
    );
    let post_id = id_of(&post(&app, &pool, &ana, "like me").await);
    let like = format!("/v1/posts/{post_id}/like");
    app.post(&like, bo.token(), json!({})).await;
    let first = all_pages(&app, "/v1/notifications", ana.token(), 20).await;
    assert_eq!(first.len(), 1);
    app.post(
        "/v1/notifications/read",
        ana.token(),
        json!({ "all": true }),
    )
    .await
    .expect(StatusCode::OK, None);
    app.delete(&like, bo.token()).await;
    assert!(
        all_pages(&app, "/v1/notifications", ana.token(), 20)
            .await
            .is_empty(),
        "an unlike takes its notification back"
    );
    for _ in 0..3 {
        app.post(&like, bo.token(), json!({})).await;
        app.delete(&like, bo.token()).await;
    }
    app.post(&like, bo.token(), json!({})).await;
    let again = all_pages(&app, "/v1/notifications", ana.token(), 20).await;
    assert_eq!(again.len(), 1, "{again:?}");
    assert_eq!(again[0]["id"], first[0]["id"], "the first one, restored");
    assert_eq!(again[0]["read"], true, "nothing new to read");

    let report = |reason: &'static str| {
        app.post(
            "/v1/reports",
            bo.token(),
            json!({ "target_type": "post", "target_id": post_id, "reason": reason }),
        )
    };
    let one = report("spam").await;
    one.expect(StatusCode::CREATED, None);
    let two = report("spam, and a scam").await;
    two.expect(StatusCode::CREATED, None);
    assert_eq!(one.body["id"], two.body["id"]);
    let (count, reason): (i64, String) =
        sqlx::query_as("SELECT count(*) OVER (), reason FROM reports WHERE target_id = $1")
            .bind(post_id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((count, reason.as_str()), (1, "spam, and a scam"));
}

/// Issue 28: a post's likers, newest like first, paged, without the people
/// the viewer blocks or who block the viewer.
#[tokio::test]
async fn likers_are_listed_newest_first_without_blocks_either_way() {
    let app = TestApp::api().await;
    let pool = app.backing.pool().await;
    let ana = user(&app, &unique("ana")).await;
    let post_id = id_of(&post(&app, &pool, &ana, "liked").await);
    let mut likers = Vec::new();
    for name in ["bo", "cy", "di", "ed"] {
        let liker = user(&app, &unique(name)).await;
        app.post(
            &format!("/v1/posts/{post_id}/like"),
            liker.token(),
            json!({}),
        )
        .await
        .expect(StatusCode::NO_CONTENT, None);
        likers.push(liker);
    }
    let [bo, cy, di, ed] = [0, 1, 2, 3].map(|i| likers[i].clone());
    // Ana blocks cy; ed blocks ana.
    app.post(
        &format!("/v1/users/{}/block", cy.handle),
        ana.token(),
        json!({}),
    )
    .await
    .expect(StatusCode::NO_CONTENT, None);
    app.post(
        &format!("/v1/users/{}/block", ana.handle),
        ed.token(),
        json!({}),
    )
    .await
    .expect(StatusCode::NO_CONTENT, None);

    let path = format!("/v1/posts/{post_id}/likes");
    let listed = all_pages(&app, &path, ana.token(), 1).await;
    let handles: Vec<&str> = listed
        .iter()
        .map(|card| card["handle"].as_str().unwrap())
        .collect();
    assert_eq!(handles, vec![di.handle.as_str(), bo.handle.as_str()]);
    // Those who cannot see the post cannot list its likers.
    for token in [cy.token(), ed.token()] {
        app.get(&path, token)
            .await
            .expect(StatusCode::NOT_FOUND, Some("post_not_found"));
    }
    app.get(
        &format!("/v1/posts/{}/likes", uuid::Uuid::new_v4()),
        bo.token(),
    )
    .await
    .expect(StatusCode::NOT_FOUND, Some("post_not_found"));
}

/// Issue 28: people found by handle (exact, prefix, a typo away) and by
/// any word of their name, best first, paged, never across a block.
#[tokio::test]
async fn people_are_found_by_handle_and_name_ranked_paged_and_never_across_a_block() {
    let app = TestApp::api().await;
    // Each test has its own database: these handles meet nobody else's.
    let viewer = user(&app, "zed_viewer").await;
    let mut by_handle = std::collections::HashMap::new();
    for (handle, name) in [
        ("ana_lima", None),
        ("anabel", None),
        ("anna", None),
        ("photog", Some("Ana Lima")),
        ("bob", Some("Robert")),
    ] {
        let someone = user(&app, handle).await;
        if let Some(name) = name {
            patch(
                &app,
                "/v1/me",
                someone.token(),
                json!({ "display_name": name }),
            )
            .await
            .expect(StatusCode::OK, None);
        }
        by_handle.insert(handle, someone);
    }
    let search = |q: &str| format!("/v1/search/users?q={}", urlencode(q));
    let found = |items: Vec<serde_json::Value>| -> Vec<String> {
        items
            .iter()
            .map(|c| c["handle"].as_str().unwrap().to_string())
            .collect()
    };

    let exact = found(all_pages(&app, &search("@Ana_Lima"), viewer.token(), 50).await);
    assert_eq!(exact[0], "ana_lima", "{exact:?}");
    let ana = found(all_pages(&app, &search("ana"), viewer.token(), 50).await);
    let prefixes: std::collections::BTreeSet<&str> = ana[..2].iter().map(String::as_str).collect();
    assert_eq!(
        prefixes,
        ["ana_lima", "anabel"].into(),
        "prefixes first: {ana:?}"
    );
    assert!(ana.contains(&"anna".to_string()), "a typo away: {ana:?}");
    assert!(!ana.contains(&"bob".to_string()), "{ana:?}");
    // Paged one by one, the same people in the same order.
    assert_eq!(
        found(all_pages(&app, &search("ana"), viewer.token(), 1).await),
        ana
    );
    let lima = found(all_pages(&app, &search("lima"), viewer.token(), 50).await);
    assert!(
        lima.contains(&"photog".to_string()),
        "by a word of the name: {lima:?}"
    );
    let typo = found(all_pages(&app, &search("anabell"), viewer.token(), 50).await);
    assert_eq!(typo.first().map(String::as_str), Some("anabel"), "{typo:?}");

    app.post(
        "/v1/users/zed_viewer/block",
        by_handle["anabel"].token(),
        json!({}),
    )
    .await
    .expect(StatusCode::NO_CONTENT, None);
    let after_block = found(all_pages(&app, &search("ana"), viewer.token(), 50).await);
    assert!(
        !after_block.contains(&"anabel".to_string()),
        "{after_block:?}"
    );

    for bad in ["", "%20%20", "a%00b"] {
        app.get(&format!("/v1/search/users?q={bad}"), viewer.token())
            .await
            .expect(StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed"));
    }
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'-' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Issue 29: reports carry a category; the admin queue takes child safety
/// first, then violence, harassment, spam and the rest, newest first within
/// each, paged.
#[tokio::test]
async fn the_report_queue_takes_child_safety_first() {
    let app = TestApp::api_with(|env| {
        env.insert("ADMIN_TOKEN", "moderator-secret-token".into());
    })
    .await;
    let pool = app.backing.pool().await;
    let reporter = user(&app, &unique("rep")).await;
    let mut filed = Vec::new();
    for (caption, category) in [
        ("one", Some("spam")),
        ("two", Some("child_safety")),
        ("three", None),
        ("four", Some("child_safety")),
        ("five", Some("violence")),
    ] {
        let author = user(&app, &unique("au")).await;
        let target = id_of(&post(&app, &pool, &author, caption).await);
        let mut body = json!({ "target_type": "post", "target_id": target, "reason": caption });
        if let Some(category) = category {
            body["category"] = json!(category);
        }
        app.post("/v1/reports", reporter.token(), body)
            .await
            .expect(StatusCode::CREATED, None);
        filed.push(caption);
    }
    app.post(
        "/v1/reports",
        reporter.token(),
        json!({ "target_type": "user", "target_id": reporter.id, "reason": "x", "category": "gossip" }),
    )
    .await
    .expect(StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed"));

    let mut queue = Vec::new();
    let mut cursor = String::new();
    loop {
        let reply = app
            .client
            .get(app.url(&format!("/v1/admin/reports?limit=2&cursor={cursor}")))
            .header("X-Admin-Token", "moderator-secret-token")
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), StatusCode::OK);
        let page: serde_json::Value = reply.json().await.unwrap();
        for report in page["items"].as_array().unwrap() {
            queue.push((
                report["category"].as_str().unwrap().to_string(),
                report["reason"].as_str().unwrap().to_string(),
            ));
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_string(),
            None => break,
        }
    }
    let expected: Vec<(String, String)> = [
        ("child_safety", "four"),
        ("child_safety", "two"),
        ("violence", "five"),
        ("spam", "one"),
        ("other", "three"),
    ]
    .iter()
    .map(|(c, r)| (c.to_string(), r.to_string()))
    .collect();
    assert_eq!(queue, expected);
    assert_eq!(filed.len(), 5);
}
