//! Search and explore under load, against the real app, PostgreSQL and
//! Redis. Run with `scripts/bench-discovery` (it installs wrk and starts
//! the services).
//!
//! Seeds the feed benchmark's data (10,001 users who each follow 200,
//! 200,000 posts over 30 days), display names for the users, engagement on
//! the last week's posts (likes counted on a skewed share of them, some
//! comments) and a few keyword filters; then measures, at 64 connections:
//! - `GET /v1/search/users?q=` over a mix of handle prefixes, whole handles,
//!   one-typo handles and name words;
//! - `GET /v1/explore`, first page, for 256 viewers of whom a quarter have
//!   filters for explore;
//! - how long one explore snapshot takes to score the week's posts.

#[path = "../tests/api/common/mod.rs"]
mod common;
#[path = "support/cpu.rs"]
mod cpu;
#[path = "support/dataset.rs"]
mod dataset;
#[path = "support/load.rs"]
mod load;
#[path = "support/wrk.rs"]
mod wrk;

use std::time::Instant;

use common::{Backing, PASSWORD, TestApp};
use rand::Rng;
use rand::seq::SliceRandom;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

const USERS: usize = 10_001;
const POSTS: usize = 200_000;
const CONNECTIONS: usize = 64;
const VIEWERS: usize = 256;
const SECONDS: u64 = 15;

const NAMES: [&str; 12] = [
    "Ana", "Bruno", "Chloé", "Dmitri", "Emma", "Farid", "Greta", "Hugo", "Inès", "Jonas", "Kenji",
    "Léa",
];

async fn seed(pool: &PgPool, password_hash: &str, users: usize, posts: usize) -> Vec<Uuid> {
    let started = Instant::now();
    let data = dataset::generate(users, posts);
    dataset::load_ours(pool, &data, password_hash).await;
    let mut conn = pool.acquire().await.unwrap();
    // Names for the name search, and trust for explore's authors.
    sqlx::query(
        "UPDATE users SET display_name = ($1::text[])[1 + abs(hashtext(handle)) % 12] || ' '
                || ($1::text[])[1 + abs(hashtext(handle || 'x')) % 12] || 'son',
                trust_level = 'basic'",
    )
    .bind(NAMES.map(str::to_string).to_vec())
    .execute(&mut *conn)
    .await
    .unwrap();
    // Engagement on the week's posts: skewed like counts (counters only;
    // the score reads them), comments from distinct users on some.
    sqlx::query(
        "UPDATE posts SET like_count = floor(power(random(), 6) * 400)::int
          WHERE created_at > now() - interval '7 days'",
    )
    .execute(&mut *conn)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO comments (id, post_id, author_id, text)
         SELECT gen_random_uuid(), p.id, u.id, 'Lovely light'
           FROM (SELECT id FROM posts WHERE created_at > now() - interval '7 days'
                  ORDER BY random() LIMIT 2000) p
          CROSS JOIN LATERAL (SELECT id FROM users ORDER BY random() LIMIT 3) u",
    )
    .execute(&mut *conn)
    .await
    .unwrap();
    sqlx::query("VACUUM ANALYZE")
        .execute(&mut *conn)
        .await
        .unwrap();
    println!(
        "seeded {users} users, {} follows, {posts} posts, the week's engagement in {:.0} s",
        data.follows.len(),
        started.elapsed().as_secs_f64()
    );
    data.users
}

/// A search query of each kind, at random.
fn search_query(rng: &mut impl Rng, users: usize) -> String {
    let i = rng.gen_range(0..users);
    let handle = dataset::handle(i);
    match rng.gen_range(0..4) {
        0 => handle[..rng.gen_range(3..handle.len())].to_string(),
        1 => handle,
        2 => {
            // One character changed.
            let mut chars: Vec<char> = handle.chars().collect();
            let at = rng.gen_range(5..chars.len());
            chars[at] = if chars[at] == '1' { '2' } else { '1' };
            chars.into_iter().collect()
        }
        _ => NAMES[rng.gen_range(0..NAMES.len())].to_string(),
    }
}

fn encode(q: &str) -> String {
    q.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::main]
async fn main() {
    let users = dataset::env_or("BENCH_DISCOVERY_USERS", USERS);
    let posts = dataset::env_or("BENCH_DISCOVERY_POSTS", POSTS);
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
    seed(&pool, &hash, users, posts).await;

    let mut rng = rand::thread_rng();
    let mut viewers: Vec<usize> = (1..users).collect();
    viewers.shuffle(&mut rng);
    viewers.truncate(VIEWERS);
    let mut tokens = Vec::new();
    for (n, &i) in viewers.iter().enumerate() {
        let reply = app
            .post(
                "/v1/auth/login",
                None,
                json!({ "login": dataset::handle(i), "password": PASSWORD }),
            )
            .await;
        let token = reply.body["access_token"].as_str().unwrap().to_string();
        if n % 4 == 0 {
            app.post(
                "/v1/me/filters",
                Some(&token),
                json!({ "title": "Not today", "contexts": ["explore", "home"], "action": "hide",
                        "keywords": [{ "keyword": "spoiler" }, { "keyword": "#politics" }] }),
            )
            .await;
        }
        tokens.push(token);
    }

    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "discovery benchmark: {CONNECTIONS} connections, {SECONDS} s per run, {VIEWERS} viewers, {cores} cores"
    );
    sqlx::query("DELETE FROM explore_generations")
        .execute(&pool)
        .await
        .unwrap();
    let started = Instant::now();
    assert!(ciel::social::explore::refresh(&pool).await.unwrap());
    let ranked: i64 = sqlx::query_scalar("SELECT count(*) FROM explore_entries")
        .fetch_one(&pool)
        .await
        .unwrap();
    println!(
        "explore snapshot: {ranked} posts ranked of the week's in {:.0} ms",
        started.elapsed().as_secs_f64() * 1000.0
    );

    let searches: Vec<(String, String)> = (0..4096)
        .map(|n| {
            let q = search_query(&mut rng, users);
            (
                format!("/v1/search/users?q={}&limit=20", encode(&q)),
                tokens[n % tokens.len()].clone(),
            )
        })
        .collect();
    let sample = app.get(&searches[0].0, Some(&searches[0].1)).await;
    assert!(sample.status.is_success(), "{}", sample.body);
    let explores: Vec<(String, String)> = tokens
        .iter()
        .map(|t| ("/v1/explore?limit=20".to_string(), t.clone()))
        .collect();
    let sample = app.get(&explores[0].0, Some(&explores[0].1)).await;
    println!(
        "an explore page: {} posts, next page: {}",
        sample.body["items"].as_array().map_or(0, Vec::len),
        sample.body["next_cursor"].is_string()
    );
    // Warm, then measure.
    load::measured(&pool, &database, &app.base, &searches, CONNECTIONS, 5).await;
    let search = load::measured(&pool, &database, &app.base, &searches, CONNECTIONS, SECONDS).await;
    let explore =
        load::measured(&pool, &database, &app.base, &explores, CONNECTIONS, SECONDS).await;
    search.print("GET /v1/search/users", "");
    explore.print("GET /v1/explore", "");
    app.stop().await;
}
