//! Ours beside the original backend (github.com/ryanh2o3/Lumine-backend,
//! AGPL-3.0), on the same machine, the same PostgreSQL, S3 and SQS servers
//! and the same data: each system gets its own database, bucket, queue and
//! Redis servers, the data of `support/dataset.rs` is loaded into both
//! schemas, and the two are measured alternately, run by run, with the
//! same wrk load. Run with `scripts/bench-versus` (LUMINE_DIR: a checkout
//! of the original built with `cargo build --release`, outside this
//! repository: its code never enters ours; this file reads its migrations
//! to create its schema and its feed query's text for pgbench).
//!
//! Per system and run: sign-in (16 connections), the current user (16),
//! the home feed's first page and page 5 at 64 connections warm (its
//! cache filled) and cold (a Redis that refuses writes: nothing is cached,
//! every page is built from PostgreSQL while every other Redis call still
//! happens), and each system's first-page feed SQL with pgbench. Limits
//! are kept out of the way: ours through its settings, the original's
//! per-user limits by its highest trust level, and its sign-in limit (10
//! an hour per IP address, no setting) by signing in on its instance whose
//! Redis refuses writes, where the counter never counts. It prints
//! throughput, p50/p99 and the CPU per request of the app process, its
//! PostgreSQL backends and its Redis server, then the medians and the
//! ratios ours ÷ original.

#[path = "../tests/api/common/mod.rs"]
mod common;
#[path = "support/cpu.rs"]
mod cpu;
#[path = "support/dataset.rs"]
mod dataset;
#[path = "support/wrk.rs"]
mod wrk;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ciel::social::feed::FEED_SQL;
use common::{Backing, PASSWORD, TestApp, free_port};
use rand::seq::SliceRandom;
use serde_json::{Value, json};
use sqlx::{Connection, PgPool};
use uuid::Uuid;
use wrk::Request;

const VIEWERS: usize = 256;
const AUTH_CONNECTIONS: usize = 16;
const FEED_CONNECTIONS: usize = 64;
const SQL_CLIENTS: usize = 8;

/// A process of the bench's, stopped with it.
struct Running {
    child: Child,
}

impl Running {
    fn pid(&self) -> String {
        self.child.id().to_string()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Redis server of one system's. `refusing`: every write is refused
/// (maxmemory 1 byte, no eviction), so nothing is ever cached.
fn redis_server(refusing: bool) -> (Running, u16) {
    let port = free_port();
    let mut command = Command::new("redis-server");
    command.args([
        "--bind",
        "127.0.0.1",
        "--port",
        &port.to_string(),
        "--save",
        "",
        "--appendonly",
        "no",
    ]);
    if refusing {
        command.args(["--maxmemory", "1", "--maxmemory-policy", "noeviction"]);
    }
    let child = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server");
    wait_for_port(port);
    (Running { child }, port)
}

fn wait_for_port(port: u16) {
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(30), "port {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One system as the load sees it.
struct Target {
    base: String,
    /// The app's process; None: this one (ours runs in process).
    pid: Option<String>,
    redis_pid: String,
}

struct Measured {
    load: wrk::Figures,
    app: cpu::Cpu,
    postgres: cpu::Cpu,
    redis: cpu::Cpu,
}

impl Measured {
    fn per_request(&self, cpu: cpu::Cpu) -> f64 {
        cpu::per_request(cpu.total(), self.load.requests as usize)
    }
}

async fn measured(
    admin: &PgPool,
    database: &str,
    target: &Target,
    requests: &[Request],
    connections: usize,
    seconds: u64,
) -> Measured {
    let app_cpu = || target.pid.as_deref().map_or_else(cpu::of_self, cpu::of_pid);
    let backends = cpu::snapshot(&cpu::backends(admin, database).await);
    let (app, redis) = (app_cpu(), cpu::of_pid(&target.redis_pid));
    let load = wrk::run(&target.base, requests, connections, seconds);
    Measured {
        load,
        app: app_cpu().since(&app),
        redis: cpu::of_pid(&target.redis_pid).since(&redis),
        postgres: cpu::spent_since(&backends, &cpu::backends(admin, database).await),
    }
}

/// The original, built in LUMINE_DIR, as its own process.
fn start_original(dir: &Path, env: &[(&str, String)], log: &Path) -> (Running, String) {
    let port = free_port();
    let child = Command::new(dir.join("target/release/ciel"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("HTTP_ADDR", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("the original's binary (cargo build --release in LUMINE_DIR)");
    wait_for_port(port);
    (Running { child }, format!("http://127.0.0.1:{port}"))
}

/// Its schema, from its own migrations, in order.
fn migrate_original(dir: &Path, database_url: &str) {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("migrations"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    for file in files {
        let status = Command::new("psql")
            .args([database_url, "-q", "-v", "ON_ERROR_STOP=1", "-f"])
            .arg(&file)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "{}", file.display());
    }
}

/// The same data in its schema: users (display name = handle), follows,
/// one photo per post (its media rows carry keys, not variants), and every
/// user at its highest trust level, whose limits (20,000 feed requests an
/// hour per user) keep its per-user limiter out of the way, as ours gets
/// its limits raised.
async fn load_original(pool: &PgPool, data: &dataset::Dataset, password_hash: &str) {
    let mut conn = pool.acquire().await.unwrap();
    sqlx::query("SET session_replication_role = replica")
        .execute(&mut *conn)
        .await
        .unwrap();
    let n = data.users.len();
    let handles: Vec<String> = (0..n).map(dataset::handle).collect();
    sqlx::query(
        "INSERT INTO users (id, handle, email, display_name, password_hash)
         SELECT id, h, e, h, $4 FROM unnest($1::uuid[], $2::text[], $3::text[]) AS t (id, h, e)",
    )
    .bind(&data.users)
    .bind(&handles)
    .bind((0..n).map(dataset::email).collect::<Vec<_>>())
    .bind(password_hash)
    .execute(&mut *conn)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO user_trust_scores (user_id, trust_level) SELECT unnest($1::uuid[]), 3",
    )
    .bind(&data.users)
    .execute(&mut *conn)
    .await
    .unwrap();
    for chunk in data.follows.chunks(100_000) {
        sqlx::query("INSERT INTO follows (follower_id, followee_id) SELECT * FROM unnest($1::uuid[], $2::uuid[])")
            .bind(dataset::column(chunk, |f| f.0))
            .bind(dataset::column(chunk, |f| f.1))
            .execute(&mut *conn)
            .await
            .unwrap();
    }
    for chunk in data.posts.chunks(20_000) {
        let media = dataset::column(chunk, |p| p.media);
        let authors = dataset::column(chunk, |p| p.author);
        let times = dataset::times(chunk);
        sqlx::query(
            "INSERT INTO media (id, owner_id, original_key, thumb_key, medium_key, width, height, bytes, created_at)
             SELECT m, a, 'originals/' || a || '/' || m, 'variants/' || m || '/thumb.webp',
                    'variants/' || m || '/medium.webp', 4032, 3024, 2400000, t
             FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[]) AS u (m, a, t)",
        )
        .bind(&media)
        .bind(&authors)
        .bind(&times)
        .execute(&mut *conn)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO posts (id, owner_id, media_id, caption, created_at)
             SELECT p, a, m, 'A photo of the day', t
             FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::timestamptz[]) AS u (p, a, m, t)",
        )
        .bind(dataset::column(chunk, |p| p.id))
        .bind(&authors)
        .bind(&media)
        .bind(&times)
        .execute(&mut *conn)
        .await
        .unwrap();
    }
    sqlx::query("SET session_replication_role = DEFAULT")
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    sqlx::query("VACUUM ANALYZE").execute(pool).await.unwrap();
}

/// The original's first-page feed query, as its source has it (read at
/// run time from LUMINE_DIR, never copied here): the string literal of
/// `src/app/feed.rs` that ends with `LIMIT $2`.
fn original_feed_sql(dir: &Path) -> String {
    let source = std::fs::read_to_string(dir.join("src/app/feed.rs")).unwrap();
    let literals: Vec<String> = source
        .split("sqlx::query(")
        .skip(1)
        .filter_map(|rest| {
            let start = rest.find('"')? + 1;
            let end = start + rest[start..].find("\",")?;
            Some(
                rest[start..end]
                    .split('\\')
                    .map(str::trim)
                    .collect::<Vec<_>>()
                    .join(" "),
            )
        })
        .collect();
    literals
        .into_iter()
        .find(|sql| sql.trim_end().ends_with("LIMIT $2") && sql.contains("FROM posts"))
        .expect("the original's first-page feed query in src/app/feed.rs")
}

struct SqlFigures {
    tps: f64,
    latency_ms: f64,
    /// PostgreSQL's CPU per query, over the middle of the run.
    cpu_ms: f64,
}

/// pgbench on `sql` (`:viewer` a random one of the bench's viewers).
async fn pgbench(
    admin: &PgPool,
    database_url: &str,
    database: &str,
    sql: &str,
    seconds: u64,
) -> Option<SqlFigures> {
    let dir = std::env::temp_dir().join(format!("ciel-bench-versus-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join(format!("{database}.sql"));
    let one_line = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    std::fs::write(
        &script,
        format!("\\set n random(1, {VIEWERS})\n{one_line};\n"),
    )
    .unwrap();
    let child = Command::new("pgbench")
        .args([
            "-n",
            "-M",
            "prepared",
            "-c",
            &SQL_CLIENTS.to_string(),
            "-j",
            "2",
            "-T",
            &seconds.to_string(),
            "-f",
        ])
        .arg(&script)
        .arg(database_url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("pgbench");
    // The backends' CPU from 1 s in to 1 s before the end.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let pids = cpu::backends(admin, database).await;
    let before = cpu::snapshot(&pids);
    let window = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds - 2)).await;
    let spent = cpu::spent_since(&before, &pids);
    let window = window.elapsed().as_secs_f64();
    let output = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    let field = |prefix: &str| -> Option<f64> {
        text.lines()
            .find(|l| l.starts_with(prefix))?
            .trim_start_matches(prefix)
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    };
    // PostgreSQL's max_connections is shared with whatever else runs on the
    // machine: a pgbench that could not connect is reported, not fatal.
    let (Some(tps), Some(latency_ms)) = (field("tps = "), field("latency average = ")) else {
        println!(
            "pgbench failed on {database}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
        return None;
    };
    Some(SqlFigures {
        tps,
        latency_ms,
        cpu_ms: spent.total().as_secs_f64() * 1000.0 / (tps * window).max(1.0),
    })
}

/// Signs every viewer in through `base`; the access tokens.
async fn sign_in(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    bodies: &[Value],
) -> Vec<String> {
    let mut tokens = Vec::new();
    for body in bodies {
        let reply: Value = client
            .post(format!("{base}{path}"))
            .json(body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        tokens.push(
            reply["access_token"]
                .as_str()
                .unwrap_or_else(|| panic!("{path}: {reply}"))
                .to_string(),
        );
    }
    tokens
}

/// Page 5's path for each viewer, through the API's cursors.
async fn fifth_pages(
    client: &reqwest::Client,
    base: &str,
    tokens: &[String],
    cursor_param: impl Fn(&str) -> String,
) -> Vec<String> {
    let mut paths = Vec::new();
    for token in tokens {
        let mut path = "/v1/feed?limit=20".to_string();
        for _ in 0..4 {
            let page: Value = client
                .get(format!("{base}{path}"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let cursor = page["next_cursor"]
                .as_str()
                .unwrap_or_else(|| panic!("five pages of feed: {page}"));
            path = format!("/v1/feed?limit=20&cursor={}", cursor_param(cursor));
        }
        paths.push(path);
    }
    paths
}

/// One request per viewer: fills a feed cache before a warm run.
async fn warm(client: &reqwest::Client, base: &str, requests: &[Request]) {
    for r in requests {
        let reply = client
            .get(format!("{base}{}", r.path))
            .bearer_auth(r.token.as_deref().unwrap())
            .send()
            .await
            .unwrap();
        assert!(reply.status().is_success(), "{}", r.path);
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// Everything the load needs of one system.
struct System {
    name: &'static str,
    warm: Target,
    cold: Target,
    database: String,
    /// Sign-in runs on `cold` (the original: see above) or `warm`.
    sign_in_cold: bool,
    logins: Vec<Request>,
    me: Vec<Request>,
    first: Vec<Request>,
    deep: Vec<Request>,
}

#[tokio::main]
async fn main() {
    let lumine = PathBuf::from(
        std::env::var("LUMINE_DIR").unwrap_or_else(|_| "/work/lumine/src-lumine".into()),
    );
    assert!(
        lumine.join("target/release/ciel").is_file(),
        "build the original first: cargo build --release --locked in {} (LUMINE_DIR)",
        lumine.display()
    );
    let users = dataset::env_or("BENCH_FEED_USERS", 10_001);
    let posts = dataset::env_or("BENCH_FEED_POSTS", 200_000);
    let runs = dataset::env_or("BENCH_VERSUS_RUNS", 3);
    let seconds = dataset::env_or("BENCH_VERSUS_SECONDS", 10) as u64;

    // Ours: the bench-feed setup, with Redis servers of its own.
    let backing = Backing::new().await;
    let pool = backing.pool().await;
    let (our_redis, our_redis_port) = redis_server(false);
    let (our_refusing, our_refusing_port) = redis_server(true);
    let mut env = backing.env("api");
    env.remove("DATABASE_MAX_CONNECTIONS");
    env.insert("RATE_LIMIT_LOGIN", "1000000/1m".into());
    env.insert("RATE_LIMIT_WRITES", "1000000/1m".into());
    env.insert("RATE_LIMIT_FEED_SCANS", "1000000/1m".into());
    env.insert("S3_PUBLIC_ENDPOINT", "https://media.example.org".into());
    env.insert("CDN_PIPELINE_ID", "bench".into());
    env.insert("CDN_PURGE_SECRET_KEY", "bench".into());
    env.insert("CDN_PURGE_API_URL", "http://127.0.0.1:9".into());
    env.insert("REDIS_URL", format!("redis://127.0.0.1:{our_redis_port}"));
    let app = TestApp::spawn(&backing, env.clone()).await;
    app.register("bench_template").await;
    let hash: String =
        sqlx::query_scalar("SELECT password_hash FROM users WHERE handle = 'bench_template'")
            .fetch_one(&pool)
            .await
            .unwrap();
    let started = Instant::now();
    let data = dataset::generate(users, posts);
    dataset::load_ours(&pool, &data, &hash).await;
    println!(
        "ours: {users} users, {} follows, {posts} posts loaded in {:.0} s",
        data.follows.len(),
        started.elapsed().as_secs_f64()
    );
    let mut cold_env = env.clone();
    cold_env.insert(
        "REDIS_URL",
        format!("redis://127.0.0.1:{our_refusing_port}"),
    );
    let cold_app = TestApp::spawn(&backing, cold_env).await;

    // The original: its own database, bucket, queue and Redis servers.
    let original_db = format!("lumine_bench_{}", backing.id);
    let mut admin = sqlx::PgConnection::connect(&format!("{}/postgres", common::database_base()))
        .await
        .unwrap();
    sqlx::query(&format!("CREATE DATABASE {original_db}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let original_url = format!("{}/{original_db}", common::database_base());
    migrate_original(&lumine, &original_url);
    let original_pool = PgPool::connect(&original_url).await.unwrap();
    let started = Instant::now();
    load_original(&original_pool, &data, &hash).await;
    println!(
        "original: the same data loaded in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    let mut s3 = backing.s3_config(&common::s3_endpoint());
    s3.bucket = format!("lumine-bench-{}", backing.id);
    ciel::infra::s3::Storage::new(&s3)
        .ensure_bucket()
        .await
        .unwrap();
    let (original_redis, original_redis_port) = redis_server(false);
    let (original_refusing, original_refusing_port) = redis_server(true);
    let log_dir = std::env::temp_dir().join(format!("ciel-bench-versus-{}", std::process::id()));
    std::fs::create_dir_all(&log_dir).unwrap();
    let original_env = |redis_port: u16| {
        vec![
            ("APP_MODE", "api".to_string()),
            ("DATABASE_URL", original_url.clone()),
            ("REDIS_URL", format!("redis://127.0.0.1:{redis_port}/")),
            ("S3_ENDPOINT", common::s3_endpoint()),
            ("S3_REGION", "fr-par".into()),
            ("S3_BUCKET", s3.bucket.clone()),
            ("S3_PUBLIC_ENDPOINT", "https://media.example.org".into()),
            ("QUEUE_ENDPOINT", common::sqs_endpoint()),
            ("QUEUE_REGION", common::SQS_REGION.into()),
            ("QUEUE_NAME", format!("lumine-bench-{}", backing.id)),
            ("AWS_ACCESS_KEY_ID", common::s3_access_key()),
            ("AWS_SECRET_ACCESS_KEY", common::s3_secret_key()),
            ("PASETO_ACCESS_KEY", common::ACCESS_KEY.into()),
            ("PASETO_REFRESH_KEY", common::REFRESH_KEY.into()),
        ]
    };
    let (original, original_base) = start_original(
        &lumine,
        &original_env(original_redis_port),
        &log_dir.join("original.log"),
    );
    let (original_cold, original_cold_base) = start_original(
        &lumine,
        &original_env(original_refusing_port),
        &log_dir.join("original-cold.log"),
    );

    // The same viewers on both, signed in through each API.
    let mut rng = rand::thread_rng();
    let mut viewers: Vec<usize> = (1..users).collect();
    viewers.shuffle(&mut rng);
    viewers.truncate(VIEWERS);
    let client = reqwest::Client::new();
    let our_tokens = sign_in(
        &client,
        &app.base,
        "/v1/auth/login",
        &viewers
            .iter()
            .map(|&i| json!({ "login": dataset::handle(i), "password": PASSWORD }))
            .collect::<Vec<_>>(),
    )
    .await;
    // Its sign-in allows 10 an hour per IP address (no setting): the
    // instance whose Redis refuses writes never counts them.
    let original_tokens = sign_in(
        &client,
        &original_cold_base,
        "/v1/auth/login",
        &viewers
            .iter()
            .map(|&i| json!({ "email": dataset::email(i), "password": PASSWORD }))
            .collect::<Vec<_>>(),
    )
    .await;
    for (pool, database) in [(&pool, "ours"), (&original_pool, "original")] {
        sqlx::query("CREATE TABLE bench_viewers AS SELECT n, id FROM unnest($1::uuid[]) WITH ORDINALITY AS t (id, n)")
            .bind(viewers.iter().map(|&i| data.users[i]).collect::<Vec<Uuid>>())
            .execute(pool)
            .await
            .unwrap_or_else(|e| panic!("{database}: {e}"));
    }
    let our_deep = fifth_pages(&client, &app.base, &our_tokens, str::to_string).await;
    // The original's cursor is "time/id"; its cache answers pages without
    // a cursor, so the walk comes first, on an empty cache.
    let original_deep = fifth_pages(&client, &original_base, &original_tokens, |c| {
        c.replace('+', "%2B").replace(':', "%3A")
    })
    .await;
    let logins = |body: &dyn Fn(usize) -> Value| -> Vec<Request> {
        viewers
            .iter()
            .map(|&i| Request::post("/v1/auth/login", body(i).to_string()))
            .collect()
    };
    let gets = |paths: &[String], tokens: &[String]| -> Vec<Request> {
        paths
            .iter()
            .zip(tokens)
            .map(|(p, t)| Request::get(p.clone(), t))
            .collect()
    };
    let first_paths = vec!["/v1/feed?limit=20".to_string(); VIEWERS];
    let systems = [
        System {
            name: "ours",
            warm: Target {
                base: app.base.clone(),
                pid: None,
                redis_pid: our_redis.pid(),
            },
            cold: Target {
                base: cold_app.base.clone(),
                pid: None,
                redis_pid: our_refusing.pid(),
            },
            database: backing.database_url.rsplit('/').next().unwrap().to_string(),
            sign_in_cold: false,
            logins: logins(&|i| json!({ "login": dataset::handle(i), "password": PASSWORD })),
            me: gets(&vec!["/v1/me".to_string(); VIEWERS], &our_tokens),
            first: gets(&first_paths, &our_tokens),
            deep: gets(&our_deep, &our_tokens),
        },
        System {
            name: "original",
            warm: Target {
                base: original_base.clone(),
                pid: Some(original.pid()),
                redis_pid: original_redis.pid(),
            },
            cold: Target {
                base: original_cold_base.clone(),
                pid: Some(original_cold.pid()),
                redis_pid: original_refusing.pid(),
            },
            database: original_db.clone(),
            sign_in_cold: true,
            logins: logins(&|i| json!({ "email": dataset::email(i), "password": PASSWORD })),
            me: gets(&vec!["/v1/auth/me".to_string(); VIEWERS], &original_tokens),
            first: gets(&first_paths, &original_tokens),
            deep: gets(&original_deep, &original_tokens),
        },
    ];

    let our_sql = format!(
        "SELECT p.id, p.author_id, p.caption, p.like_count, p.comment_count, p.created_at FROM posts p WHERE p.id IN ({}) ORDER BY p.id DESC",
        FEED_SQL
            .replace("$1", "(SELECT id FROM bench_viewers WHERE n = :n)")
            .replace("$2", "'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid")
            .replace("$3", "'00000000-0000-0000-0000-000000000000'::uuid")
            .replace("$4", "21")
            .replace("$5", "1000")
    );
    let original_sql = original_feed_sql(&lumine)
        .replace("$1", "(SELECT id FROM bench_viewers WHERE n = :n)")
        .replace("$2", "21");

    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "versus: {runs} runs of {seconds} s per route and system, alternating; {VIEWERS} viewers; {cores} cores; load average at start {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    // (system, route) -> runs of (req/s, p99, app ms, PostgreSQL ms, Redis ms).
    let mut table: BTreeMap<(&str, &str), Vec<[f64; 5]>> = BTreeMap::new();
    let mut errors = 0;
    for run in 0..runs {
        let order: Vec<&System> = if run % 2 == 0 {
            systems.iter().collect()
        } else {
            systems.iter().rev().collect()
        };
        for system in order {
            warm(&client, &system.warm.base, &system.first).await;
            warm(&client, &system.warm.base, &system.deep).await;
            let routes: [(&str, &Target, &[Request], usize); 6] = [
                (
                    "sign-in",
                    if system.sign_in_cold {
                        &system.cold
                    } else {
                        &system.warm
                    },
                    &system.logins,
                    AUTH_CONNECTIONS,
                ),
                ("current user", &system.warm, &system.me, AUTH_CONNECTIONS),
                (
                    "feed first page, warm",
                    &system.warm,
                    &system.first,
                    FEED_CONNECTIONS,
                ),
                (
                    "feed page 5, warm",
                    &system.warm,
                    &system.deep,
                    FEED_CONNECTIONS,
                ),
                (
                    "feed first page, cold",
                    &system.cold,
                    &system.first,
                    FEED_CONNECTIONS,
                ),
                (
                    "feed page 5, cold",
                    &system.cold,
                    &system.deep,
                    FEED_CONNECTIONS,
                ),
            ];
            for (route, target, requests, connections) in routes {
                let admin_pool = if system.name == "ours" {
                    &pool
                } else {
                    &original_pool
                };
                let m = measured(
                    admin_pool,
                    &system.database,
                    target,
                    requests,
                    connections,
                    seconds,
                )
                .await;
                errors += m.load.errors;
                println!(
                    "run {} {:<9} {route:<22} {:>7.0} req/s  p50 {:>6.1} ms  p99 {:>6.1} ms  CPU per request: app {:.3} ms, PostgreSQL {:.3} ms, Redis {:.3} ms  ({} errors)",
                    run + 1,
                    system.name,
                    m.load.rps,
                    m.load.p50_ms,
                    m.load.p99_ms,
                    m.per_request(m.app),
                    m.per_request(m.postgres),
                    m.per_request(m.redis),
                    m.load.errors
                );
                table.entry((system.name, route)).or_default().push([
                    m.load.rps,
                    m.load.p99_ms,
                    m.per_request(m.app),
                    m.per_request(m.postgres),
                    m.per_request(m.redis),
                ]);
            }
            let (url, database, sql) = if system.name == "ours" {
                (&backing.database_url, &system.database, &our_sql)
            } else {
                (&original_url, &system.database, &original_sql)
            };
            let admin_pool = if system.name == "ours" {
                &pool
            } else {
                &original_pool
            };
            let Some(f) = pgbench(admin_pool, url, database, sql, seconds.max(4)).await else {
                continue;
            };
            println!(
                "run {} {:<9} {:<22} {:>7.0} tps    latency {:.2} ms  PostgreSQL CPU per query {:.3} ms",
                run + 1,
                system.name,
                "feed SQL (pgbench)",
                f.tps,
                f.latency_ms,
                f.cpu_ms
            );
            table
                .entry((system.name, "feed SQL (pgbench)"))
                .or_default()
                .push([f.tps, f.latency_ms, 0.0, f.cpu_ms, 0.0]);
        }
    }

    println!(
        "\nmedians of {runs} runs (ours ÷ original: throughput; CPU per request app + PostgreSQL + Redis)"
    );
    let routes: Vec<&str> = table
        .keys()
        .filter(|(s, r)| *s == "ours" && table.contains_key(&("original", *r)))
        .map(|(_, r)| *r)
        .collect();
    for route in routes {
        let med = |system: &str, i: usize| {
            median(
                &mut table[&(system, route)]
                    .iter()
                    .map(|v| v[i])
                    .collect::<Vec<_>>(),
            )
        };
        let cpu = |system: &str| med(system, 2) + med(system, 3) + med(system, 4);
        println!(
            "{route:<22} ours {:>7.0}/s p99 {:>6.1} ms CPU {:.3} ms | original {:>7.0}/s p99 {:>6.1} ms CPU {:.3} ms | {:.2}x throughput, {:.2}x CPU",
            med("ours", 0),
            med("ours", 1),
            cpu("ours"),
            med("original", 0),
            med("original", 1),
            cpu("original"),
            med("ours", 0) / med("original", 0),
            cpu("ours") / cpu("original"),
        );
    }
    println!(
        "load average at the end {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    drop((original, original_cold));
    original_pool.close().await;
    let _ = sqlx::query(&format!(
        "DROP DATABASE IF EXISTS {original_db} WITH (FORCE)"
    ))
    .execute(&mut admin)
    .await;
    cold_app.stop().await;
    assert_eq!(errors, 0, "some requests failed");
}
