//! Explore and keyword filters (issue 28): who explore leaves out, its
//! ranking and its paging over a snapshot; what filters hide or mark in
//! the home feed, comments, notifications and explore, and their bounds.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use crate::common::social::{User, all_pages, id_of, patch, post, user};
use crate::common::{TestApp, unique};

async fn act(app: &TestApp, method: Method, path: &str, who: &User) {
    let reply = app
        .request(method, path, who.token(), Some(json!({})))
        .await;
    assert!(
        reply.status.is_success(),
        "{path}: {} {}",
        reply.status,
        reply.body
    );
}

async fn likes(app: &TestApp, post: Uuid, fans: &[User]) {
    for fan in fans {
        act(app, Method::POST, &format!("/v1/posts/{post}/like"), fan).await;
    }
}

async fn trust(pool: &PgPool, who: &User, level: &str) {
    sqlx::query("UPDATE users SET trust_level = $2::trust_level WHERE id = $1")
        .bind(who.id)
        .bind(level)
        .execute(pool)
        .await
        .unwrap();
}

fn captions(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|p| p["caption"].as_str().unwrap().to_string())
        .collect()
}

/// Makes every explore snapshot due for renewal (the API's chores take one
/// at start-up, before the test's posts exist).
async fn snapshots_due(pool: &PgPool) {
    sqlx::query("UPDATE explore_generations SET created_at = created_at - interval '6 minutes'")
        .execute(pool)
        .await
        .unwrap();
}

async fn notes(app: &TestApp, who: &User) -> Vec<Value> {
    all_pages(app, "/v1/notifications", who.token(), 20).await
}

async fn filter(app: &TestApp, who: &User, body: Value) -> Value {
    let reply = app.post("/v1/me/filters", who.token(), body).await;
    reply.expect(StatusCode::CREATED, None);
    reply.body
}

#[tokio::test]
async fn explore_ranks_strangers_posts_by_engagement_and_leaves_out_what_the_viewer_should_not_see()
{
    let app = TestApp::api().await;
    let pool = app.backing.pool().await;
    let viewer = user(&app, &unique("viewer")).await;
    let fans: Vec<User> = {
        let mut fans = Vec::new();
        for i in 0..6 {
            fans.push(user(&app, &unique(&format!("fan{i}"))).await);
        }
        fans
    };
    // (name, trust, likes): each author posts once.
    let mut posts = Vec::new();
    for (name, level, fans_n) in [
        ("ana", "basic", 4),
        ("bob", "trusted", 2),
        ("cal", "new", 6),
        ("dan", "basic", 6),
        ("eve", "basic", 6),
        ("fay", "basic", 6),
        ("gus", "basic", 6),
        ("hal", "basic", 0),
        ("ivy", "basic", 6),
    ] {
        let author = user(&app, &unique(name)).await;
        trust(&pool, &author, level).await;
        let id = id_of(&post(&app, &pool, &author, &format!("{name}'s photo")).await);
        likes(&app, id, &fans[..fans_n]).await;
        posts.push((name, author, id));
    }
    let by = |name: &str| &posts.iter().find(|(n, _, _)| *n == name).unwrap().1;
    // bob's one commenter counts twice; his own comment not at all.
    let bobs = posts[1].2;
    for who in [&fans[5], by("bob")] {
        app.post(
            &format!("/v1/posts/{bobs}/comments"),
            who.token(),
            json!({ "text": "nice" }),
        )
        .await
        .expect(StatusCode::CREATED, None);
    }
    patch(&app, "/v1/me", by("dan").token(), json!({ "locked": true }))
        .await
        .expect(StatusCode::OK, None);
    act(
        &app,
        Method::POST,
        &format!("/v1/users/{}/block", by("eve").handle),
        &viewer,
    )
    .await;
    act(
        &app,
        Method::PUT,
        &format!("/v1/users/{}/mute", by("fay").handle),
        &viewer,
    )
    .await;
    act(
        &app,
        Method::POST,
        &format!("/v1/users/{}/follow", by("gus").handle),
        &viewer,
    )
    .await;
    sqlx::query("UPDATE users SET suspended_at = now() WHERE id = $1")
        .bind(by("ivy").id)
        .execute(&pool)
        .await
        .unwrap();
    trust(&pool, &viewer, "basic").await;
    let own = id_of(&post(&app, &pool, &viewer, "viewer's photo").await);
    likes(&app, own, &fans).await;

    // ana 4 likes; bob 2 likes + 1 commenter (2) = 4, a little later: ana
    // first by id order only if equal, so give bob one more fan to lead.
    likes(&app, bobs, &fans[2..3]).await;
    snapshots_due(&pool).await;
    let explored = all_pages(&app, "/v1/explore", viewer.token(), 1).await;
    assert_eq!(
        captions(&explored),
        ["bob's photo", "ana's photo"],
        "new (cal), locked (dan), blocked (eve), muted (fay), followed (gus), \
         unliked (hal), suspended (ivy) and own posts are left out"
    );
    assert_eq!(explored[0]["filtered"], json!([]));
    // Someone else (a follower of none of them) sees gus too.
    let other = user(&app, &unique("other")).await;
    let theirs = all_pages(&app, "/v1/explore", other.token(), 20).await;
    assert_eq!(theirs.len(), 6, "{:?}", captions(&theirs));
    assert!(captions(&theirs).contains(&"gus's photo".to_string()));
}

#[tokio::test]
async fn explore_pages_one_snapshot_while_a_new_one_ranks_anew() {
    let app = TestApp::api().await;
    let pool = app.backing.pool().await;
    let viewer = user(&app, &unique("viewer")).await;
    let mut fans = Vec::new();
    for i in 0..5 {
        fans.push(user(&app, &unique(&format!("fan{i}"))).await);
    }
    let ana = user(&app, &unique("ana")).await;
    let bob = user(&app, &unique("bob")).await;
    for who in [&ana, &bob] {
        trust(&pool, who, "basic").await;
    }
    let anas = id_of(&post(&app, &pool, &ana, "ana's").await);
    let bobs = id_of(&post(&app, &pool, &bob, "bob's").await);
    likes(&app, anas, &fans[..2]).await;
    likes(&app, bobs, &fans[..1]).await;
    snapshots_due(&pool).await;

    let first = app.get("/v1/explore?limit=1", viewer.token()).await;
    first.expect(StatusCode::OK, None);
    assert_eq!(captions(first.body["items"].as_array().unwrap()), ["ana's"]);
    let cursor = first.body["next_cursor"].as_str().unwrap().to_string();

    // bob takes the lead; the snapshot is due again.
    likes(&app, bobs, &fans[1..5]).await;
    snapshots_due(&pool).await;
    let fresh = all_pages(&app, "/v1/explore", viewer.token(), 20).await;
    assert_eq!(captions(&fresh), ["bob's", "ana's"], "a new snapshot");
    // The reader of the old one finishes it as it was: no repeat, no gap.
    let rest = app
        .get(
            &format!("/v1/explore?limit=1&cursor={cursor}"),
            viewer.token(),
        )
        .await;
    rest.expect(StatusCode::OK, None);
    assert_eq!(captions(rest.body["items"].as_array().unwrap()), ["bob's"]);
    assert!(rest.body["next_cursor"].is_null(), "{}", rest.body);
    let generations: i64 = sqlx::query_scalar("SELECT count(*) FROM explore_generations")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(generations >= 2, "the old one is kept for its readers");
    app.get("/v1/explore?cursor=bm9wZQ", viewer.token())
        .await
        .expect(StatusCode::BAD_REQUEST, Some("invalid_cursor"));
}

#[tokio::test]
async fn filters_hide_or_mark_words_in_their_contexts_until_they_expire() {
    let app = TestApp::api().await;
    let pool = app.backing.pool().await;
    let me = user(&app, &unique("me")).await;
    let ana = user(&app, &unique("ana")).await;
    act(
        &app,
        Method::POST,
        &format!("/v1/users/{}/follow", ana.handle),
        &me,
    )
    .await;
    for caption in [
        "The cat sat",
        "category theory",
        "a ＣＡＴ in full width",
        "#Spoilers ahead",
    ] {
        post(&app, &pool, &ana, caption).await;
    }
    let mine = id_of(&post(&app, &pool, &me, "my cat, my feed").await);

    let hide = filter(
        &app,
        &me,
        json!({ "title": "No cats", "keywords": [{ "keyword": "cat" }, { "keyword": "pills", "whole_word": false }],
                "contexts": ["home", "comments"], "action": "hide" }),
    )
    .await;
    let warn = filter(
        &app,
        &me,
        json!({ "title": "Spoilers", "keywords": [{ "keyword": "#spoilers" }],
                "contexts": ["home"], "action": "warn", "expires_in_secs": 3600.0 }),
    )
    .await;
    assert_eq!(
        hide["keywords"][0],
        json!({ "keyword": "cat", "whole_word": true })
    );
    assert!(warn["expires_at"].is_string());

    let feed = all_pages(&app, "/v1/feed", me.token(), 20).await;
    assert_eq!(
        captions(&feed),
        ["my cat, my feed", "#Spoilers ahead", "category theory"],
        "whole words, any case, full width folded; your own posts stay"
    );
    assert_eq!(
        feed[1]["filtered"],
        json!([{ "filter_id": warn["id"], "title": "Spoilers" }])
    );
    assert_eq!(feed[0]["filtered"], json!([]));
    assert_eq!(feed[2]["filtered"], json!([]));

    // Comments: hidden in the list; the notification stays until the
    // filter covers notifications too.
    app.post(
        &format!("/v1/posts/{mine}/comments"),
        ana.token(),
        json!({ "text": "buy cheap PILLS now" }),
    )
    .await
    .expect(StatusCode::CREATED, None);
    let comments = all_pages(&app, &format!("/v1/posts/{mine}/comments"), me.token(), 20).await;
    assert!(comments.is_empty(), "{comments:?}");
    let theirs = all_pages(&app, &format!("/v1/posts/{mine}/comments"), ana.token(), 20).await;
    assert_eq!(theirs.len(), 1, "only the filter's owner is spared");
    assert_eq!(notes(&app, &me).await.len(), 1);
    let unread = app.get("/v1/notifications/unread-count", me.token()).await;
    assert_eq!(unread.body["count"], 1);
    let id = hide["id"].as_str().unwrap();
    let changed = patch(
        &app,
        &format!("/v1/me/filters/{id}"),
        me.token(),
        json!({ "contexts": ["home", "comments", "notifications"] }),
    )
    .await;
    changed.expect(StatusCode::OK, None);
    assert_eq!(changed.body["title"], "No cats", "absent fields stay");
    assert!(notes(&app, &me).await.is_empty());
    let unread = app.get("/v1/notifications/unread-count", me.token()).await;
    assert_eq!(
        unread.body["count"], 0,
        "the badge counts what the list shows"
    );

    // Expired: everything is back.
    sqlx::query("UPDATE filters SET expires_at = now() - interval '1 second' WHERE id = $1")
        .bind(id.parse::<Uuid>().unwrap())
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(all_pages(&app, "/v1/feed", me.token(), 20).await.len(), 5);
    assert_eq!(notes(&app, &me).await.len(), 1);
    let listed = app.get("/v1/me/filters", me.token()).await;
    assert_eq!(listed.body.as_array().unwrap().len(), 2);

    // Explore has its own context.
    trust(&pool, &ana, "basic").await;
    let stranger = user(&app, &unique("stranger")).await;
    for p in all_pages(
        &app,
        &format!("/v1/users/{}/posts", ana.handle),
        me.token(),
        20,
    )
    .await
    {
        likes(&app, id_of(&p), std::slice::from_ref(&stranger)).await;
    }
    filter(
        &app,
        &stranger,
        json!({ "title": "t", "keywords": [{ "keyword": "theory" }], "contexts": ["explore"], "action": "hide" }),
    )
    .await;
    snapshots_due(&pool).await;
    let explored = all_pages(&app, "/v1/explore", stranger.token(), 20).await;
    assert_eq!(explored.len(), 3, "{:?}", captions(&explored));
    assert!(!captions(&explored).contains(&"category theory".to_string()));
}

#[tokio::test]
async fn filters_are_their_owners_bounded_and_checked() {
    let app = TestApp::api().await;
    let me = user(&app, &unique("me")).await;
    let other = user(&app, &unique("other")).await;
    let body = |title: &str| json!({ "title": title, "keywords": [{ "keyword": "x" }], "contexts": ["home"], "action": "warn" });
    let first = filter(&app, &me, body("first")).await;
    let path = format!("/v1/me/filters/{}", first["id"].as_str().unwrap());
    app.get(&path, other.token())
        .await
        .expect(StatusCode::NOT_FOUND, Some("filter_not_found"));
    patch(&app, &path, other.token(), json!({ "title": "mine" }))
        .await
        .expect(StatusCode::NOT_FOUND, Some("filter_not_found"));
    app.request(Method::DELETE, &path, other.token(), None)
        .await
        .expect(StatusCode::NOT_FOUND, Some("filter_not_found"));
    for bad in [
        json!({ "title": "t", "keywords": [], "contexts": ["home"], "action": "hide" }),
        json!({ "title": "t", "keywords": [{ "keyword": "x" }], "contexts": [], "action": "hide" }),
        json!({ "title": " ", "keywords": [{ "keyword": "x" }], "contexts": ["home"], "action": "hide" }),
        json!({ "title": "t", "keywords": [{ "keyword": "x" }], "contexts": ["home"], "action": "hide", "expires_in_secs": 5 }),
        json!({ "title": "t", "keywords": [{ "keyword": "x" }], "contexts": ["home"], "action": "hide", "expires_in_secs": 90.5 }),
    ] {
        app.post("/v1/me/filters", me.token(), bad.clone())
            .await
            .expect(StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed"));
    }
    for i in 1..20 {
        filter(&app, &me, body(&format!("f{i}"))).await;
    }
    app.post("/v1/me/filters", me.token(), body("one too many"))
        .await
        .expect(StatusCode::CONFLICT, Some("filters_full"));
    app.request(Method::DELETE, &path, me.token(), None)
        .await
        .expect(StatusCode::NO_CONTENT, None);
    filter(&app, &me, body("room again")).await;
    let cleared = patch(
        &app,
        &format!("/v1/me/filters/{}", first["id"].as_str().unwrap()),
        me.token(),
        json!({}),
    )
    .await;
    cleared.expect(StatusCode::NOT_FOUND, Some("filter_not_found"));
}
