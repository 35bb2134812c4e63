//! The home feed: timelines in Redis in front of the SQL that defines them.

use std::time::Duration;

use crate::common::redis::{Partition, PrivateRedis};
use crate::common::social::{User, all_pages, id_of, ids, post, user};
use crate::common::{Backing, TestApp, eventually, unique};
use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

async fn follow(app: &TestApp, who: &User, whom: &User) {
    app.post(
        &format!("/v1/users/{}/follow", whom.handle),
        who.token(),
        json!({}),
    )
    .await
    .expect(StatusCode::NO_CONTENT, None);
}

async fn feed(app: &TestApp, who: &User) -> Vec<Uuid> {
    ids(&all_pages(app, "/v1/feed", who.token(), 2).await)
}

async fn redis_connection() -> redis::aio::MultiplexedConnection {
    redis::Client::open(crate::common::redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// The members of a user's timeline in Redis, newest first, or None when cold.
async fn timeline(backing: &Backing, user: Uuid) -> Option<Vec<String>> {
    let mut conn = redis_connection().await;
    let prefix = format!("ciel-test-{}", backing.id);
    let generation: Option<String> = redis::cmd("GET")
        .arg(format!("{prefix}:tl:generation"))
        .query_async(&mut conn)
        .await
        .unwrap();
    let key = format!(
        "{prefix}:tl:{}:{user}",
        generation.unwrap_or_else(|| "0".into())
    );
    let members: Vec<String> = redis::cmd("ZREVRANGE")
        .arg(&key)
        .arg(0)
        .arg(-1)
        .query_async(&mut conn)
        .await
        .unwrap();
    (!members.is_empty()).then(|| members.into_iter().filter(|m| m != "0").collect())
}

/// Posts inserted straight into the database, oldest first.
async fn many_posts(pool: &PgPool, author: Uuid, count: usize) -> Vec<Uuid> {
    let ids: Vec<Uuid> = (0..count).map(|_| Uuid::now_v7()).collect();
    sqlx::query("INSERT INTO posts (id, author_id, caption) SELECT id, $2, 'seeded' FROM unnest($1::uuid[]) id")
        .bind(&ids)
        .bind(author)
        .execute(pool)
        .await
        .unwrap();
    ids
}

#[tokio::test]
async fn the_home_feed_shows_followed_authors_and_your_own_newest_first_and_stays_exact() {
    let app = TestApp::api().await;
    let pool = app.backing.pool().await;
    let viewer = user(&app, &unique("viewer")).await;
    let ana = user(&app, &unique("ana")).await;
    let bo = user(&app, &unique("bo")).await;
    let stranger = user(&app, &unique("stranger")).await;
    follow(&app, &viewer, &ana).await;
    follow(&app, &viewer, &bo).await;
    let a1 = id_of(&post(&app, &pool, &ana, "a1").await);
    let b1 = id_of(&post(&app, &pool, &bo, "b1").await);
    let v1 = id_of(&post(&app, &pool, &viewer, "v1").await);
    post(&app, &pool, &stranger, "not followed").await;
    let a2 = id_of(&post(&app, &pool, &ana, "a2").await);

    assert_eq!(feed(&app, &viewer).await, [a2, v1, b1, a1]);
    let warm = timeline(&app.backing, viewer.id)
        .await
        .expect("the read warmed the timeline");
    assert_eq!(warm.len(), 4);

    // A new post reaches the warm timeline on write.
    let b2 = id_of(&post(&app, &pool, &bo, "b2").await);
    assert_eq!(
        timeline(&app.backing, viewer.id).await.unwrap()[0],
        b2.to_string()
    );

    // Posts that arrive while paging are neither repeated nor skipped.
    let first = app.get("/v1/feed?limit=2", viewer.token()).await;
    assert_eq!(ids(first.body["items"].as_array().unwrap()), [b2, a2]);
    let a3 = id_of(&post(&app, &pool, &ana, "a3").await);
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let rest = app
        .get(
            &format!("/v1/feed?limit=50&cursor={cursor}"),
            viewer.token(),
        )
        .await;
    assert_eq!(ids(rest.body["items"].as_array().unwrap()), [v1, b1, a1]);
    assert!(rest.body["next_cursor"].is_null());
    assert_eq!(feed(&app, &viewer).await, [a3, b2, a2, v1, b1, a1]);

    // Unfollowing removes an author's posts; following again brings them back.
    app.delete(&format!("/v1/users/{}/follow", ana.handle), viewer.token())
        .await
        .expect(StatusCode::NO_CONTENT, None);
    assert_eq!(feed(&app, &viewer).await, [b2, v1, b1]);
    follow(&app, &viewer, &ana).await;
    assert_eq!(feed(&app, &viewer).await, [a3, b2, a2, v1, b1, a1]);

    // Deleted posts and blocked authors leave the feed.
    app.delete(&format!("/v1/posts/{a2}"), ana.token())
        .await
        .expect(StatusCode::NO_CONTENT, None);
    app.post(
        &format!("/v1/users/{}/block", bo.handle),
        viewer.token(),
        json!({}),
    )
    .await
    .expect(StatusCode::NO_CONTENT, None);
    assert_eq!(feed(&app, &viewer).await, [a3, v1, a1]);
    // And the blocked author's feed loses the blocker's posts.
    follow(&app, &bo, &ana).await;
    assert_eq!(feed(&app, &bo).await, [a3, b2, b1, a1]);
}

#[tokio::test]
async fn feed_pages_past_the_timeline_cap_continue_in_sql_without_a_gap() {
    let app = TestApp::api().await;
    let pool = app.backing.pool().await;
    let viewer = user(&app, &unique("viewer")).await;
    let ana = user(&app, &unique("ana")).await;
    follow(&app, &viewer, &ana).await;
    let mut expected = many_posts(&pool, ana.id, ciel::social::feed::TIMELINE_CAP + 30).await;
    expected.reverse();

    let seen = ids(&all_pages(&app, "/v1/feed", viewer.token(), 50).await);
    assert_eq!(seen.len(), expected.len());
    assert_eq!(seen, expected);
    let warm = timeline(&app.backing, viewer.id).await.unwrap();
    assert_eq!(warm.len(), ciel::social::feed::TIMELINE_CAP);

    // A post pushed to a full timeline trims its oldest id; paging still
    // reaches every post exactly once.
    let newest = id_of(&post(&app, &pool, &ana, "newest").await);
    expected.insert(0, newest);
    assert_eq!(
        timeline(&app.backing, viewer.id).await.unwrap().len(),
        ciel::social::feed::TIMELINE_CAP
    );
    let seen = ids(&all_pages(&app, "/v1/feed", viewer.token(), 50).await);
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn the_feed_answers_from_postgres_when_redis_is_down_or_has_lost_its_data() {
    let backing = Backing::new().await;
    let mut env = backing.env("api");
    env.insert(
        "REDIS_URL",
        format!("redis://127.0.0.1:{}", crate::common::free_port()),
    );
    let no_redis = TestApp::spawn(&backing, env).await;
    let pool = backing.pool().await;
    let viewer = user(&no_redis, &unique("viewer")).await;
    let ana = user(&no_redis, &unique("ana")).await;
    follow(&no_redis, &viewer, &ana).await;
    let a1 = id_of(&post(&no_redis, &pool, &ana, "a1").await);
    let v1 = id_of(&post(&no_redis, &pool, &viewer, "v1").await);
    assert_eq!(feed(&no_redis, &viewer).await, [v1, a1]);
    no_redis.stop().await;

    // With Redis: warm, then lose every key of this deployment.
    let app = TestApp::spawn(&backing, backing.env("api")).await;
    assert_eq!(feed(&app, &viewer).await, [v1, a1]);
    let mut conn = redis_connection().await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("ciel-test-{}:*", backing.id))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(!keys.is_empty());
    let _: () = redis::cmd("DEL")
        .arg(&keys)
        .query_async(&mut conn)
        .await
        .unwrap();
    let a2 = id_of(&post(&app, &pool, &ana, "a2").await);
    assert_eq!(feed(&app, &viewer).await, [a2, v1, a1]);
}

#[tokio::test]
async fn a_fan_out_that_missed_redis_makes_every_timeline_rebuild() {
    let redis = PrivateRedis::start().await;
    let partition = Partition::in_front_of(redis.port()).await;
    let backing = Backing::new().await;
    let mut env = backing.env("api");
    env.insert("REDIS_URL", partition.url());
    let cut_off = TestApp::spawn(&backing, env).await;
    let mut env = backing.env("api");
    env.insert("REDIS_URL", redis.url());
    let connected = TestApp::spawn(&backing, env).await;
    let pool = backing.pool().await;
    let viewer = user(&connected, &unique("viewer")).await;
    let ana = user(&connected, &unique("ana")).await;
    follow(&connected, &viewer, &ana).await;
    let a1 = id_of(&post(&connected, &pool, &ana, "a1").await);
    assert_eq!(feed(&connected, &viewer).await, [a1], "warm timeline");

    // The post is made where Redis cannot be reached: its fan-out is lost.
    partition.cut();
    let ana_token = cut_off
        .post(
            "/v1/auth/login",
            None,
            json!({ "login": ana.handle, "password": crate::common::PASSWORD }),
        )
        .await
        .body["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let ana_there = User {
        token: ana_token,
        ..ana.clone()
    };
    let a2 = id_of(&post(&cut_off, &pool, &ana_there, "a2").await);
    partition.restore();

    // The other process's warm timeline lacked it; once the first process
    // reaches Redis again, a new generation makes timelines rebuild.
    eventually(
        Duration::from_secs(10),
        "the lost fan-out to be repaired",
        || async {
            let seen = feed(&connected, &viewer).await;
            (seen == [a2, a1]).then_some(())
        },
    )
    .await;
}

#[tokio::test]
async fn the_feed_sql_is_an_index_only_scan_per_followed_author() {
    let backing = Backing::new().await;
    let pool = backing.pool().await;
    let mut users = Vec::new();
    for i in 0..60 {
        let id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO users (id, handle, email, password_hash) VALUES ($1, $2, $3, 'x')",
        )
        .bind(id)
        .bind(format!("user_{i}"))
        .bind(format!("user{i}@example.org"))
        .execute(&pool)
        .await
        .unwrap();
        users.push(id);
    }
    let viewer = users[0];
    for author in &users[1..] {
        sqlx::query("INSERT INTO follows (follower_id, followee_id) VALUES ($1, $2)")
            .bind(viewer)
            .bind(author)
            .execute(&pool)
            .await
            .unwrap();
        many_posts(&pool, *author, 50).await;
    }
    sqlx::query("VACUUM ANALYZE").execute(&pool).await.unwrap();
    let plan: Vec<String> =
        sqlx::query_scalar(&format!("EXPLAIN {}", ciel::social::feed::FEED_SQL))
            .bind(viewer)
            .bind(Uuid::max())
            .bind(Uuid::nil())
            .bind(21_i64)
            .fetch_all(&pool)
            .await
            .unwrap();
    let plan = plan.join("\n");
    assert!(
        plan.contains("Index Only Scan using posts_by_author"),
        "the feed reads each author's newest posts from the index alone:\n{plan}"
    );
    assert!(!plan.contains("Seq Scan on posts"), "{plan}");
}
