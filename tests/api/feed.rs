//! The home feed: timelines in Redis in front of the SQL that defines them.

use std::time::Duration;

use crate::common::redis::{Partition, PrivateRedis};
use crate::common::social::{User, all_pages, follow, id_of, ids, post, user};
use crate::common::{Backing, TestApp, eventually, unique};
use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

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

/// The feed's plans, custom and generic (sqlx prepares its statements, so
/// PostgreSQL may switch to the generic plan after five runs).
async fn plans(pool: &PgPool, sql: &str, types: &str, args: &str) -> [String; 2] {
    let mut conn = pool.acquire().await.unwrap();
    sqlx::raw_sql(&format!("PREPARE feed_plan ({types}) AS {sql}"))
        .execute(&mut *conn)
        .await
        .unwrap();
    let mut out = Vec::new();
    for mode in ["force_custom_plan", "force_generic_plan"] {
        sqlx::raw_sql(&format!("SET plan_cache_mode = {mode}"))
            .execute(&mut *conn)
            .await
            .unwrap();
        let plan: Vec<String> = sqlx::query_scalar(&format!("EXPLAIN EXECUTE feed_plan ({args})"))
            .fetch_all(&mut *conn)
            .await
            .unwrap();
        out.push(plan.join("\n"));
    }
    [out.remove(0), out.remove(0)]
}

#[tokio::test]
async fn the_feed_sql_reads_posts_by_index_and_never_scans_users() {
    let backing = Backing::new().await;
    let pool = backing.pool().await;
    // 3,000 users (a few hidden) who follow 20 each, the viewer 1,111;
    // 30,000 posts.
    sqlx::raw_sql(
        "INSERT INTO users (id, handle, email, password_hash, suspended_at)
         SELECT gen_random_uuid(), 'user_' || n, 'user' || n || '@example.org', 'x',
                CASE WHEN n % 97 = 0 THEN now() END
         FROM generate_series(1, 3000) n;
         INSERT INTO follows (follower_id, followee_id)
         SELECT v.id, u.id FROM users v, users u
         WHERE v.handle = 'user_1' AND u.handle <> 'user_1' AND u.handle < 'user_3';
         INSERT INTO follows (follower_id, followee_id)
         SELECT v.id, u.id FROM users v CROSS JOIN LATERAL (
             SELECT id FROM users WHERE id <> v.id ORDER BY random() LIMIT 20) u
         WHERE v.handle <> 'user_1';
         INSERT INTO posts (id, author_id, caption)
         SELECT (lpad(to_hex(1700000000000 + n), 12, '0') || '7000' || '8000' ||
                 lpad(to_hex(n), 12, '0'))::uuid,
                (SELECT id FROM users WHERE handle = 'user_' || (n % 3000 + 1)), 'seeded'
         FROM generate_series(1, 30000) n;",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("VACUUM ANALYZE").execute(&pool).await.unwrap();
    let viewer: Uuid = sqlx::query_scalar("SELECT id FROM users WHERE handle = 'user_1'")
        .fetch_one(&pool)
        .await
        .unwrap();
    let follows: i64 = sqlx::query_scalar("SELECT count(*) FROM follows WHERE follower_id = $1")
        .bind(viewer)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(follows > 100, "{follows}");
    let (max, nil) = (Uuid::max(), Uuid::nil());
    for plan in plans(
        &pool,
        ciel::social::feed::FEED_SQL,
        "uuid, uuid, uuid, bigint, bigint",
        &format!("'{viewer}', '{max}', '{nil}', 21, 1000"),
    )
    .await
    {
        // posts_newest where the visibility map lets it answer alone, the
        // primary key otherwise: either way the newest posts, in order.
        assert!(
            plan.contains("Index Only Scan using posts_newest")
                || plan.contains("Index Scan Backward using posts_pkey"),
            "the feed reads the newest posts in id order:\n{plan}"
        );
        assert!(
            plan.contains("hashed SubPlan"),
            "follows as a hashed set:\n{plan}"
        );
        assert!(
            plan.contains("users_hidden"),
            "one small probe per kept post:\n{plan}"
        );
        assert!(!plan.contains("Seq Scan"), "{plan}");
        assert!(
            !plan.contains("Join"),
            "no join over users or follows:\n{plan}"
        );
    }
    for plan in plans(
        &pool,
        ciel::social::feed::FEED_OLDER_SQL,
        "uuid, uuid, uuid, bigint",
        &format!("'{viewer}', '{max}', '{nil}', 21"),
    )
    .await
    {
        assert!(
            plan.contains("Index Only Scan using posts_by_author"),
            "past the window, each author's newest posts from the index alone:\n{plan}"
        );
        assert!(plan.contains("users_hidden"), "{plan}");
        assert!(!plan.contains("Seq Scan"), "{plan}");
        assert!(!plan.contains("Hash Join"), "{plan}");
    }
}

/// Every post of the viewer and of the visible authors they follow, newest
/// first: what `ids_sql` must answer, page by page, whichever way it reads.
async fn reference(pool: &PgPool, viewer: Uuid) -> Vec<Uuid> {
    sqlx::query_scalar(
        "SELECT p.id FROM posts p JOIN users u ON u.id = p.author_id
         WHERE p.taken_down_at IS NULL
           AND (p.author_id = $1 OR (u.suspended_at IS NULL AND u.deleted_at IS NULL
                AND EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = $1 AND f.followee_id = p.author_id)))
         ORDER BY p.id DESC",
    )
    .bind(viewer)
    .fetch_all(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn the_feed_sql_is_exact_within_and_past_the_newest_posts() {
    let app = TestApp::api().await;
    let pool = app.backing.pool().await;
    let viewer = user(&app, &unique("viewer")).await;
    let (ana, bo, hidden, stranger) = (
        user(&app, &unique("ana")).await,
        user(&app, &unique("bo")).await,
        user(&app, &unique("hidden")).await,
        user(&app, &unique("stranger")).await,
    );
    for whom in [&ana, &bo, &hidden] {
        follow(&app, &viewer, whom).await;
    }
    // Old posts of the people followed, then more than a window of newer
    // posts by a stranger, then a few new ones: pages cross from the
    // newest posts to the author-by-author read.
    let mut taken_down = many_posts(&pool, ana.id, 30).await;
    many_posts(&pool, bo.id, 25).await;
    many_posts(&pool, hidden.id, 10).await;
    many_posts(&pool, viewer.id, 5).await;
    many_posts(&pool, stranger.id, 3500).await;
    many_posts(&pool, bo.id, 7).await;
    many_posts(&pool, viewer.id, 2).await;
    taken_down.truncate(4);
    sqlx::query("UPDATE posts SET taken_down_at = now() WHERE id = ANY($1)")
        .bind(&taken_down)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE users SET suspended_at = now() WHERE id = $1")
        .bind(hidden.id)
        .execute(&pool)
        .await
        .unwrap();
    let expected = reference(&pool, viewer.id).await;
    assert_eq!(expected.len(), 30 - 4 + 25 + 5 + 7 + 2);
    for limit in [1, 7, 21, 800] {
        let mut seen: Vec<Uuid> = Vec::new();
        let mut before = None;
        loop {
            let page = ciel::social::feed::ids_sql(&pool, None, viewer.id, before, None, limit)
                .await
                .unwrap();
            assert!(page.len() <= limit);
            seen.extend(&page);
            if page.len() < limit {
                break;
            }
            before = page.last().copied();
        }
        assert_eq!(seen, expected, "pages of {limit}");
    }
    // Since: only what is newer, in both reads.
    let since = expected[expected.len() - 3];
    let newer = ciel::social::feed::ids_sql(&pool, None, viewer.id, None, Some(since), 800)
        .await
        .unwrap();
    assert_eq!(newer, expected[..expected.len() - 3]);
}

#[tokio::test]
async fn author_by_author_feed_reads_are_held_to_a_budget_per_user() {
    let backing = Backing::new().await;
    let mut env = backing.env("api");
    env.insert("RATE_LIMIT_FEED_SCANS", "2/1m".into());
    // Without Redis every page is read from PostgreSQL (and the budget is
    // counted in the process).
    env.insert(
        "REDIS_URL",
        format!("redis://127.0.0.1:{}", crate::common::free_port()),
    );
    let app = TestApp::spawn(&backing, env).await;
    let pool = backing.pool().await;
    let sparse = user(&app, &unique("sparse")).await;
    let dense = user(&app, &unique("dense")).await;
    let ana = user(&app, &unique("ana")).await;
    let busy = user(&app, &unique("busy")).await;
    follow(&app, &sparse, &ana).await;
    follow(&app, &dense, &busy).await;
    many_posts(&pool, ana.id, 30).await;
    many_posts(&pool, busy.id, 1200).await;

    // The newest 1,000 posts hold none of ana's: each page of `sparse` goes
    // author by author, within the budget.
    for _ in 0..2 {
        let page = app.get("/v1/feed?limit=20", sparse.token()).await;
        page.expect(StatusCode::OK, None);
        assert_eq!(page.body["items"].as_array().unwrap().len(), 20);
    }
    let refused = app.get("/v1/feed?limit=20", sparse.token()).await;
    refused.expect(StatusCode::TOO_MANY_REQUESTS, Some("rate_limited"));
    assert_eq!(refused.body["error"]["details"]["policy"], "feed_scans");
    // A reader whose page is among the newest posts spends nothing.
    for _ in 0..5 {
        app.get("/v1/feed?limit=20", dense.token())
            .await
            .expect(StatusCode::OK, None);
    }
}
