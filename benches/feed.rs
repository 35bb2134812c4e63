//! The home feed under load, against the real app, PostgreSQL and Redis.
//! Run with `scripts/bench-feed` (it installs wrk and starts the services).
//!
//! Seeds 10,001 users who each follow 200 (skewed: a few authors are
//! followed by many, one by all 10,000 others) and 200,000 posts with a
//! photo each; then measures, at 64 connections:
//! - `GET /v1/feed`, first page and five pages deep, with wrk;
//! - the best SQL form of the feed (top ids by index-only scans, then the
//!   rows) with pgbench, on the same viewers; and prints the ratio;
//! - how long a post by the author with 10,000 followers takes to reach
//!   every follower's timeline.

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

use std::process::Command;
use std::time::{Duration, Instant};

use ciel::social::feed::{FEED_SQL, Feed, Timelines};
use ciel::social::page::PageRequest;
use ciel::social::render::Photos;
use common::{Backing, PASSWORD, TestApp};
use rand::seq::SliceRandom;
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

const USERS: usize = 10_001;
const POSTS: usize = 200_000;
const CONNECTIONS: usize = 64;
const VIEWERS: usize = 256;
const SECONDS: u64 = 15;

async fn seed(pool: &PgPool, password_hash: &str, users: usize, posts: usize) -> Vec<Uuid> {
    let started = Instant::now();
    let data = dataset::generate(users, posts);
    dataset::load_ours(pool, &data, password_hash).await;
    println!(
        "seeded {users} users, {} follows, {posts} posts with a photo each in {:.0} s",
        data.follows.len(),
        started.elapsed().as_secs_f64()
    );
    data.users
}

/// pgbench on the best SQL form of the feed: the ids, then the rows.
fn pgbench(database_url: &str) -> f64 {
    let dir = std::env::temp_dir().join(format!("ciel-bench-feed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("feed.sql");
    let ids_sql = FEED_SQL
        .replace("$1", "(SELECT id FROM bench_viewers WHERE n = :n)")
        .replace("$2", "'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid")
        .replace("$3", "'00000000-0000-0000-0000-000000000000'::uuid")
        .replace("$4", "21")
        .replace("$5", "1000");
    let sql = format!(
        "\\set n random(1, {VIEWERS})\nSELECT p.id, p.author_id, p.caption, p.like_count, p.comment_count, p.created_at FROM posts p WHERE p.id IN ({}) ORDER BY p.id DESC;\n",
        ids_sql.split_whitespace().collect::<Vec<_>>().join(" ")
    );
    std::fs::write(&script, sql).unwrap();
    let output = Command::new("pgbench")
        .args([
            "-n",
            "-M",
            "prepared",
            "-c",
            &CONNECTIONS.to_string(),
            "-j",
            "2",
            "-T",
            &SECONDS.to_string(),
            "-f",
        ])
        .arg(&script)
        .arg(database_url)
        .output()
        .expect("pgbench");
    let text = String::from_utf8_lossy(&output.stdout);
    let tps = text
        .lines()
        .find(|l| l.starts_with("tps = "))
        .unwrap_or_else(|| panic!("pgbench: {text}{}", String::from_utf8_lossy(&output.stderr)));
    tps.split_whitespace().nth(2).unwrap().parse().unwrap()
}

#[tokio::main]
async fn main() {
    let users = dataset::env_or("BENCH_FEED_USERS", USERS);
    let posts = dataset::env_or("BENCH_FEED_POSTS", POSTS);
    let backing = Backing::new().await;
    let pool = backing.pool().await;
    let mut env = backing.env("api");
    env.remove("DATABASE_MAX_CONNECTIONS");
    env.insert("RATE_LIMIT_LOGIN", "1000000/1m".into());
    env.insert("RATE_LIMIT_WRITES", "1000000/1m".into());
    env.insert("RATE_LIMIT_FEED_SCANS", "1000000/1m".into());
    // Production serves variants through the CDN: plain URLs.
    env.insert("S3_PUBLIC_ENDPOINT", "https://media.example.org".into());
    // No purge happens in a bench; the settings must be there.
    env.insert("CDN_PIPELINE_ID", "bench".into());
    env.insert("CDN_PURGE_SECRET_KEY", "bench".into());
    env.insert("CDN_PURGE_API_URL", "http://127.0.0.1:9".into());
    let app = TestApp::spawn(&backing, env.clone()).await;
    let template = app.register("bench_template").await;
    let hash: String =
        sqlx::query_scalar("SELECT password_hash FROM users WHERE handle = 'bench_template'")
            .fetch_one(&pool)
            .await
            .unwrap();
    let _ = template;
    let ids = seed(&pool, &hash, users, posts).await;

    // Viewers: random users, signed in through the API.
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
                json!({ "login": format!("user_{i:05}"), "password": PASSWORD }),
            )
            .await;
        tokens.push(reply.body["access_token"].as_str().unwrap().to_string());
    }
    let viewer_ids: Vec<Uuid> = viewer_idx.iter().map(|&i| ids[i]).collect();
    sqlx::query("CREATE TABLE bench_viewers AS SELECT n, id FROM unnest($1::uuid[]) WITH ORDINALITY AS t (id, n)")
        .bind(&viewer_ids)
        .execute(&pool)
        .await
        .unwrap();

    // Cursors for page five, and warm timelines.
    let mut first_pages = Vec::new();
    let mut deep_pages = Vec::new();
    for token in &tokens {
        let mut path = "/v1/feed?limit=20".to_string();
        first_pages.push((path.clone(), token.clone()));
        for _ in 0..4 {
            let page = app.get(&path, Some(token)).await;
            assert_eq!(page.status, 200, "{}", page.body);
            let cursor = page.body["next_cursor"]
                .as_str()
                .expect("five pages of feed")
                .to_string();
            path = format!("/v1/feed?limit=20&cursor={cursor}");
        }
        deep_pages.push((path, token.clone()));
    }
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "feed benchmark: {CONNECTIONS} connections, {SECONDS} s per run, {VIEWERS} viewers, {cores} cores"
    );
    let sql_tps = pgbench(&backing.database_url);
    println!("SQL best form (pgbench)    {sql_tps:>8.0} tps");
    let database = backing.database_url.rsplit('/').next().unwrap().to_string();
    let first = load::measured(
        &pool,
        &database,
        &app.base,
        &first_pages,
        CONNECTIONS,
        SECONDS,
    )
    .await;
    let deep = load::measured(
        &pool,
        &database,
        &app.base,
        &deep_pages,
        CONNECTIONS,
        SECONDS,
    )
    .await;
    // The cold path: an API whose Redis is unreachable reads every page (and
    // every session's revocation) from PostgreSQL.
    let mut cold_env = env.clone();
    cold_env.insert(
        "REDIS_URL",
        format!("redis://127.0.0.1:{}", common::free_port()),
    );
    let cold_app = TestApp::spawn(&backing, cold_env).await;
    let cold = load::measured(
        &pool,
        &database,
        &cold_app.base,
        &first_pages,
        CONNECTIONS,
        SECONDS,
    )
    .await;
    cold_app.stop().await;
    for (name, load) in [
        ("GET /v1/feed first page", &first),
        ("GET /v1/feed page 5", &deep),
        ("GET /v1/feed, no Redis", &cold),
    ] {
        load.print(name, &format!("  {:.2}x SQL", load.figures.rps / sql_tps));
    }

    // A post by the author everyone follows, into every warm timeline.
    let feed = Feed::new(
        ciel::social::Db {
            primary: pool.clone(),
            replica: pool.clone(),
        },
        Timelines::new(
            ciel::infra::redis::RedisHandle::new(&common::redis_url(), None).unwrap(),
            &format!("ciel-test-{}", backing.id),
        ),
    );
    let urls = Photos::new(backing.storage());
    let celebrity = ids[0];
    let audience: Vec<Uuid> =
        sqlx::query_scalar("SELECT follower_id FROM follows WHERE followee_id = $1")
            .bind(celebrity)
            .fetch_all(&pool)
            .await
            .unwrap();
    let warming = Instant::now();
    let first_page = PageRequest::parse(None, Some(1)).unwrap();
    futures::future::join_all(audience.chunks(audience.len().div_ceil(16)).map(|chunk| {
        let (feed, urls) = (feed.clone(), &urls);
        async move {
            for follower in chunk {
                feed.page(urls, *follower, &first_page).await.unwrap();
            }
        }
    }))
    .await;
    println!(
        "warmed {} follower timelines in {:.0} s",
        audience.len(),
        warming.elapsed().as_secs_f64()
    );
    let celebrity_token = app
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
    let media = common::social::ready_media(&pool, celebrity, 1).await;
    let started = Instant::now();
    let created = app
        .post(
            "/v1/posts",
            Some(&celebrity_token),
            json!({ "caption": "to everyone", "media_ids": media }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let answered = started.elapsed();
    let post_id = created.body["id"].as_str().unwrap().to_string();
    let mut redis = redis::Client::open(common::redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let prefix = format!("ciel-test-{}", backing.id);
    loop {
        let generation: Option<String> = redis::cmd("GET")
            .arg(format!("{prefix}:tl:generation"))
            .query_async(&mut redis)
            .await
            .unwrap();
        let generation = generation.unwrap_or_else(|| "0".into());
        let mut pipe = redis::pipe();
        for follower in &audience {
            pipe.cmd("ZSCORE")
                .arg(format!("{prefix}:tl:{generation}:{follower}"))
                .arg(&post_id);
        }
        let scores: Vec<Option<f64>> = pipe.query_async(&mut redis).await.unwrap();
        if scores.iter().all(Option::is_some) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the fan-out did not finish"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let everywhere = started.elapsed();
    // And the app shows it, for a sample of followers.
    for token in tokens.iter().take(20) {
        let page = app.get("/v1/feed?limit=1", Some(token)).await;
        let first: &Value = &page.body["items"][0];
        assert_eq!(first["id"].as_str(), Some(post_id.as_str()));
    }
    println!(
        "post by an author with {} followers: answered in {:.0} ms, in every follower's timeline after {:.0} ms",
        audience.len(),
        answered.as_secs_f64() * 1000.0,
        everywhere.as_secs_f64() * 1000.0
    );
    assert_eq!(
        first.figures.errors + deep.figures.errors + cold.figures.errors,
        0,
        "some requests failed"
    );
}
