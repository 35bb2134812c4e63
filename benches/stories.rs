//! Stories under load, against the real app, PostgreSQL, Redis and S3.
//! Run with `scripts/bench-stories` (it starts the services).
//!
//! Seeds the feed benchmark's graph (10,001 users who each follow 200,
//! skewed, user 0 followed by all 10,000 others) and active stories: user 0
//! has 3, and 30 % of the others 1 to 3 each, some already seen. Measures:
//! - `GET /v1/stories/tray` at 64 connections for 15 s from 256 signed-in
//!   viewers: requests a second, p50 and p99, and the CPU per request of
//!   the app (with the load generator) and of PostgreSQL;
//! - `POST /v1/stories` by user 0, whose story reaches 10,000 followers:
//!   its latency and CPU, which do not grow with followers (a story is
//!   read through the tray, never fanned out).

#[path = "../tests/api/common/mod.rs"]
mod common;
#[path = "support/cpu.rs"]
mod cpu;
#[path = "support/dataset.rs"]
mod dataset;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Backing, PASSWORD, TestApp};
use rand::Rng;
use rand::seq::SliceRandom;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

const USERS: usize = 10_001;
const CONNECTIONS: usize = 64;
const VIEWERS: usize = 256;
const SECONDS: u64 = 15;
const STORY_POSTS: usize = 50;

/// Ready photos of `owners`, one each, as rows (four WebP variants).
async fn photos(conn: &mut sqlx::PgConnection, owners: &[Uuid]) -> Vec<Uuid> {
    let media: Vec<Uuid> = owners.iter().map(|_| Uuid::now_v7()).collect();
    sqlx::query(
        "INSERT INTO media (id, owner_id, status, declared_content_type, declared_bytes, original_key, width, height, blurhash)
         SELECT m, o, 'ready', 'image/jpeg', 1000, 'originals/' || o || '/' || m, 1080, 1350, 'LEHV6nWB2yk8pyo0adR*.7kCMdnj'
         FROM unnest($1::uuid[], $2::uuid[]) AS t (m, o)",
    )
    .bind(&media)
    .bind(owners)
    .execute(&mut *conn)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO media_variants (media_id, name, format, width, height, bytes, key)
         SELECT m, n, 'webp', 320, 400, 1000, 'variants/' || m || '/' || n || '.webp'
         FROM unnest($1::uuid[]) m, unnest(ARRAY['thumb', 'small', 'medium', 'large']) n",
    )
    .bind(&media)
    .execute(&mut *conn)
    .await
    .unwrap();
    media
}

/// The feed benchmarks' graph (no posts), then active stories.
async fn seed(pool: &PgPool, password_hash: &str, users: usize) -> Vec<Uuid> {
    let started = Instant::now();
    let data = dataset::generate(users, 0);
    dataset::load_ours(pool, &data, password_hash).await;
    let ids = data.users;
    let mut conn = pool.acquire().await.unwrap();
    let mut rng = rand::thread_rng();
    // Active stories: user 0 has 3, 30 % of the others 1 to 3, posted over
    // the last 23 hours.
    let mut authors = vec![ids[0]; 3];
    for id in &ids[1..] {
        if rng.gen_bool(0.3) {
            authors.extend(std::iter::repeat_n(*id, rng.gen_range(1..=3)));
        }
    }
    let mut story_ids = Vec::new();
    for chunk in authors.chunks(10_000) {
        let media = photos(&mut conn, chunk).await;
        let ages: Vec<f64> = chunk
            .iter()
            .map(|_| rng.gen_range(60.0..23.0 * 3600.0))
            .collect();
        let made: Vec<Uuid> = sqlx::query_scalar(
            "INSERT INTO stories (id, author_id, media_id, audience, created_at, expires_at)
             SELECT gen_random_uuid(), a, m, 'followers', now() - make_interval(secs => age),
                    now() - make_interval(secs => age) + interval '24 hours'
             FROM unnest($1::uuid[], $2::uuid[], $3::float8[]) AS t (a, m, age)
             RETURNING id",
        )
        .bind(chunk)
        .bind(&media)
        .bind(&ages)
        .fetch_all(&mut *conn)
        .await
        .unwrap();
        story_ids.extend(made);
    }
    sqlx::query(
        "UPDATE media SET variants_private = true WHERE id IN (SELECT media_id FROM stories)",
    )
    .execute(&mut *conn)
    .await
    .unwrap();
    // Some of them seen: each follower of an author saw a story of theirs
    // with probability 1/2 (as SQL: a view per follow and story, sampled).
    sqlx::query(
        "INSERT INTO story_views (story_id, viewer_id)
         SELECT s.id, f.follower_id FROM stories s JOIN follows f ON f.followee_id = s.author_id
         WHERE random() < 0.5",
    )
    .execute(&mut *conn)
    .await
    .unwrap();
    // As after the feed benchmark's load: nothing left for autovacuum.
    sqlx::query("VACUUM ANALYZE")
        .execute(&mut *conn)
        .await
        .unwrap();
    println!(
        "seeded {users} users, {} follows, {} active stories in {:.1} s",
        data.follows.len(),
        story_ids.len(),
        started.elapsed().as_secs_f64()
    );
    ids
}

struct Load {
    requests: usize,
    rps: f64,
    p50: Duration,
    p99: Duration,
    app_cpu_ms: f64,
    db_cpu_ms: f64,
}

async fn tray_load(app: &TestApp, pool: &PgPool, database: &str, tokens: Arc<Vec<String>>) -> Load {
    let pids = cpu::backends(pool, database).await;
    let db_before = cpu::snapshot(&pids);
    let app_before = cpu::of_self();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(SECONDS);
    let url = app.url("/v1/stories/tray");
    let mut tasks = Vec::new();
    for c in 0..CONNECTIONS {
        let (client, url, tokens) = (app.client.clone(), url.clone(), tokens.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut i = c;
            while Instant::now() < deadline {
                let token = &tokens[i % tokens.len()];
                let at = Instant::now();
                let reply = client.get(&url).bearer_auth(token).send().await.unwrap();
                assert!(reply.status().is_success(), "{}", reply.status());
                reply.bytes().await.unwrap();
                latencies.push(at.elapsed());
                i += CONNECTIONS;
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    let elapsed = started.elapsed();
    let pids = cpu::backends(pool, database).await;
    let db = cpu::spent_since(&db_before, &pids);
    let app_cpu = cpu::of_self().since(&app_before);
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    Load {
        requests: latencies.len(),
        rps: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: at(0.5),
        p99: at(0.99),
        app_cpu_ms: cpu::per_request(app_cpu.total(), latencies.len()),
        db_cpu_ms: cpu::per_request(db.total(), latencies.len()),
    }
}

#[tokio::main]
async fn main() {
    let users = dataset::env_or("BENCH_STORIES_USERS", USERS);
    let backing = Backing::new().await;
    let pool = backing.pool().await;
    let database = backing.database_url.rsplit('/').next().unwrap().to_string();
    let mut env = backing.env("api");
    env.remove("DATABASE_MAX_CONNECTIONS");
    env.insert("RATE_LIMIT_LOGIN", "1000000/1m".into());
    env.insert("RATE_LIMIT_WRITES", "1000000/1m".into());
    let app = TestApp::spawn(&backing, env).await;
    app.register("bench_template").await;
    let hash: String =
        sqlx::query_scalar("SELECT password_hash FROM users WHERE handle = 'bench_template'")
            .fetch_one(&pool)
            .await
            .unwrap();
    let ids = seed(&pool, &hash, users).await;

    let mut rng = rand::thread_rng();
    let mut viewer_idx: Vec<usize> = (1..users).collect();
    viewer_idx.shuffle(&mut rng);
    viewer_idx.truncate(VIEWERS);
    let mut tokens = Vec::new();
    for &i in &viewer_idx {
        let reply = app
            .post(
                "/v1/auth/login",
                None,
                json!({ "login": dataset::handle(i), "password": PASSWORD }),
            )
            .await;
        tokens.push(reply.body["access_token"].as_str().unwrap().to_string());
    }
    let tokens = Arc::new(tokens);
    let sample = app.get("/v1/stories/tray?limit=20", Some(&tokens[0])).await;
    println!(
        "a tray page: {} authors, next page: {}",
        sample.body["items"].as_array().map_or(0, Vec::len),
        sample.body["next_cursor"].is_string()
    );
    // Warm the pools and caches, then measure.
    tray_load(&app, &pool, &database, tokens.clone()).await;
    let load = tray_load(&app, &pool, &database, tokens.clone()).await;
    println!(
        "GET /v1/stories/tray, {CONNECTIONS} connections, {SECONDS} s: {} requests, {:.0} req/s, p50 {:.1} ms, p99 {:.1} ms, CPU per request: app + load {:.2} ms, PostgreSQL {:.2} ms",
        load.requests,
        load.rps,
        load.p50.as_secs_f64() * 1000.0,
        load.p99.as_secs_f64() * 1000.0,
        load.app_cpu_ms,
        load.db_cpu_ms
    );

    // Story posts by user 0 (10,000 followers), objects in place so the
    // move to the private prefix copies real objects.
    let author_token = app
        .post(
            "/v1/auth/login",
            None,
            json!({ "login": "user_00000", "password": PASSWORD }),
        )
        .await
        .body["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let storage = backing.storage();
    let mut conn = pool.acquire().await.unwrap();
    let media = photos(&mut conn, &vec![ids[0]; STORY_POSTS]).await;
    drop(conn);
    for m in &media {
        for name in ["thumb", "small", "medium", "large"] {
            storage
                .put(
                    &format!("variants/{m}/{name}.webp"),
                    vec![0u8; 20_000],
                    "image/webp",
                    "public",
                )
                .await
                .unwrap();
        }
    }
    let pids = cpu::backends(&pool, &database).await;
    let db_before = cpu::snapshot(&pids);
    let app_before = cpu::of_self();
    let mut latencies = Vec::new();
    for m in &media {
        let at = Instant::now();
        let reply = app
            .post(
                "/v1/stories",
                Some(&author_token),
                json!({ "media_id": m, "audience": "followers" }),
            )
            .await;
        assert_eq!(reply.status, reqwest::StatusCode::CREATED, "{}", reply.body);
        latencies.push(at.elapsed());
    }
    let pids = cpu::backends(&pool, &database).await;
    let db = cpu::spent_since(&db_before, &pids);
    let app_cpu = cpu::of_self().since(&app_before);
    latencies.sort();
    println!(
        "POST /v1/stories by the author with {} followers, {STORY_POSTS} in a row: p50 {:.1} ms, max {:.1} ms, CPU per post: app + S3 client {:.2} ms, PostgreSQL {:.2} ms (no fan-out: the same for any number of followers)",
        users - 1,
        latencies[latencies.len() / 2].as_secs_f64() * 1000.0,
        latencies.last().unwrap().as_secs_f64() * 1000.0,
        cpu::per_request(app_cpu.total(), STORY_POSTS),
        cpu::per_request(db.total(), STORY_POSTS)
    );
    app.stop().await;
}
