//! Soak: a mixed workload against the `ciel` binary in dev mode (the API and
//! the worker in one process), first at full speed to find its peak, then
//! for `SOAK_MINUTES` (10) at half of it. Prints, every minute, the requests,
//! errors, p50 and p99 of each route and the process's RSS. Run with
//! `scripts/soak` (it starts the services); not part of CI.
//!
//! Errors must be 0, and the RSS flat within 10% after the warm-up
//! (`SOAK_WARM_UP_MINUTES`, 1): the run ends with an assertion on both. The
//! in-process cache of ready photos fills for about half an hour at the
//! default mix, so a run that shows the level it settles at is
//! `SOAK_MINUTES=45 SOAK_WARM_UP_MINUTES=30`.

#[path = "../tests/api/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::media::PHOTO;
use common::social::{User, ready_media};
use common::{Backing, PASSWORD, eventually, free_port, unique};
use rand::Rng;
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

const USERS: usize = 50;
const FOLLOWS_EACH: usize = 20;
/// Concurrency when finding the peak, and the most requests in flight after.
const CONNECTIONS: usize = 32;
const PEAK_FOR: Duration = Duration::from_secs(30);

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The server under test, as its own process, so that its RSS is its own.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    async fn start(backing: &Backing) -> Server {
        let addr = format!("127.0.0.1:{}", free_port());
        let mut env = backing.env("dev");
        env.insert("HTTP_ADDR", addr.clone());
        // Production pool size; limits that measure the routes, not the limiter.
        env.remove("DATABASE_MAX_CONNECTIONS");
        for limit in [
            "RATE_LIMIT_LOGIN",
            "RATE_LIMIT_WRITES",
            "RATE_LIMIT_REGISTER",
        ] {
            env.insert(limit, "100000000/1m".into());
        }
        env.insert("RUST_LOG", "warn".into());
        // As prod runs (a CDN in front of the variants: plain URLs). Without
        // one (SOAK_PRESIGNED=1, as dev runs), the API caches the presigned
        // URLs it hands out, up to 200,000 an hour, and the RSS grows with
        // them until the hour's window turns.
        if std::env::var_os("SOAK_PRESIGNED").is_none() {
            env.insert("S3_PUBLIC_ENDPOINT", "https://media.example.org".into());
            // No purge happens in a bench; the settings must be there.
            env.insert("CDN_PIPELINE_ID", "bench".into());
            env.insert("CDN_PURGE_SECRET_KEY", "bench".into());
            env.insert("CDN_PURGE_API_URL", "http://127.0.0.1:9".into());
        }
        let child = Command::new(env!("CARGO_BIN_EXE_ciel"))
            .env_clear()
            .envs(&env)
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            // glibc's allocator settings, to compare their effect on the RSS.
            .envs(std::env::vars().filter(|(k, _)| k.starts_with("MALLOC_")))
            .stdout(Stdio::null())
            .spawn()
            .expect("the ciel binary");
        let base = format!("http://{addr}");
        let client = reqwest::Client::new();
        eventually(Duration::from_secs(60), "the server to be ready", || {
            let (client, url) = (client.clone(), format!("{base}/ready"));
            async move {
                let ok = client.get(url).send().await.ok()?.status().is_success();
                ok.then_some(())
            }
        })
        .await;
        Server { child, base }
    }
}

/// Resident set size in MiB, from /proc; `None` once the process is gone.
fn rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The routes of the mix and their weights (per mille): mostly reading the
/// feed, as an app's users do. Photos are few (one request in 200, about one
/// a second at the rates of this machine): the worker in the same process
/// must keep up with them, or the soak measures a growing backlog.
const MIX: &[(&str, u32)] = &[
    ("GET /v1/feed", 360),
    ("GET /v1/me", 150),
    ("GET /v1/users/{handle}/posts", 100),
    ("GET /v1/posts/{id}/comments", 80),
    ("POST /v1/posts/{id}/like", 80),
    ("POST /v1/posts/{id}/comments", 50),
    ("POST /v1/posts", 40),
    ("POST /v1/users/{handle}/follow", 50),
    ("POST /v1/auth/login", 45),
    ("upload + complete", 5),
];

/// Access tokens last 15 minutes (`ACCESS_TOKEN_TTL_SECS`): each user's
/// app refreshes its session after this long, as the apps do.
const REFRESH_AFTER: Duration = Duration::from_secs(10 * 60);

/// A user's signed-in session, refreshed one request at a time (a refresh
/// token used twice would end the session).
struct Session {
    access: String,
    refresh: String,
    since: Instant,
}

struct World {
    client: reqwest::Client,
    base: String,
    users: Vec<User>,
    /// The session of each of `users`, by index.
    sessions: Vec<tokio::sync::Mutex<Session>>,
    posts: Vec<Uuid>,
    pool: PgPool,
    /// The routes this run sends, with their weights (see [`chosen_mix`]).
    mix: Vec<(&'static str, u32)>,
}

/// The routes of [`MIX`] this run sends: `SOAK_ONLY` keeps the routes whose
/// names contain it, `SOAK_EXCEPT` leaves out the one so named (to see what
/// one kind of request costs).
fn chosen_mix() -> Vec<(&'static str, u32)> {
    let only = std::env::var("SOAK_ONLY").unwrap_or_default();
    let except = std::env::var("SOAK_EXCEPT").unwrap_or_default();
    MIX.iter()
        .copied()
        .filter(|(route, _)| route.contains(&only) && *route != except)
        .collect()
}

impl World {
    /// A route of this run's mix, by weight.
    fn pick_route(&self, rng: &mut impl Rng) -> &'static str {
        let total: u32 = self.mix.iter().map(|(_, weight)| weight).sum();
        let mut roll = rng.gen_range(0..total.max(1));
        for &(route, weight) in &self.mix {
            if roll < weight {
                return route;
            }
            roll -= weight;
        }
        MIX[0].0
    }

    /// User `index`'s access token, refreshed first if it is due. A failed
    /// refresh keeps the old token, so the requests that follow fail and
    /// count as errors.
    async fn access_token(&self, index: usize) -> String {
        let mut session = self.sessions[index].lock().await;
        if session.since.elapsed() >= REFRESH_AFTER {
            let refreshed: Option<Value> = async {
                self.client
                    .post(format!("{}/v1/auth/refresh", self.base))
                    .json(&json!({ "refresh_token": session.refresh }))
                    .send()
                    .await
                    .ok()?
                    .error_for_status()
                    .ok()?
                    .json()
                    .await
                    .ok()
            }
            .await;
            if let Some(body) = refreshed {
                *session = Session {
                    access: body["access_token"].as_str().unwrap_or_default().into(),
                    refresh: body["refresh_token"].as_str().unwrap_or_default().into(),
                    since: Instant::now(),
                };
            }
        }
        session.access.clone()
    }

    /// One request of `route` as a random user; whether it succeeded.
    async fn request(&self, route: &str) -> bool {
        let (index, other, post) = {
            let mut rng = rand::thread_rng();
            (
                rng.gen_range(0..self.users.len()),
                &self.users[rng.gen_range(0..self.users.len())],
                self.posts[rng.gen_range(0..self.posts.len())],
            )
        };
        let me = &self.users[index];
        let token = self.access_token(index).await;
        let base = &self.base;
        let get = |path: String| self.client.get(format!("{base}{path}")).bearer_auth(&token);
        let post_json = |path: String, body: Value| {
            self.client
                .post(format!("{base}{path}"))
                .bearer_auth(&token)
                .json(&body)
        };
        let sent = match route {
            "GET /v1/feed" => get("/v1/feed".into()).send().await,
            "GET /v1/me" => get("/v1/me".into()).send().await,
            "GET /v1/users/{handle}/posts" => {
                get(format!("/v1/users/{}/posts", other.handle))
                    .send()
                    .await
            }
            "GET /v1/posts/{id}/comments" => get(format!("/v1/posts/{post}/comments")).send().await,
            "POST /v1/posts/{id}/like" => {
                post_json(format!("/v1/posts/{post}/like"), json!({}))
                    .send()
                    .await
            }
            "POST /v1/posts/{id}/comments" => {
                post_json(
                    format!("/v1/posts/{post}/comments"),
                    json!({ "text": "soak" }),
                )
                .send()
                .await
            }
            "POST /v1/posts" => {
                let media = ready_media(&self.pool, me.id, 1).await;
                post_json(
                    "/v1/posts".into(),
                    json!({ "caption": "soak", "media_ids": media }),
                )
                .send()
                .await
            }
            "POST /v1/users/{handle}/follow" if other.id != me.id => {
                post_json(format!("/v1/users/{}/follow", other.handle), json!({}))
                    .send()
                    .await
            }
            "POST /v1/users/{handle}/follow" => get("/v1/me".into()).send().await,
            "POST /v1/auth/login" => {
                self.client
                    .post(format!("{base}/v1/auth/login"))
                    .json(&json!({ "login": me.handle, "password": PASSWORD }))
                    .send()
                    .await
            }
            "upload + complete" => return self.upload(&token).await,
            other => unreachable!("{other} is not in the mix"),
        };
        sent.is_ok_and(|r| r.status().is_success())
    }

    /// An app's upload: create, PUT to the presigned URL, complete (the
    /// worker in the same process then decodes it).
    async fn upload(&self, token: &str) -> bool {
        let base = &self.base;
        let Ok(created) = self
            .client
            .post(format!("{base}/v1/media/uploads"))
            .bearer_auth(token)
            .json(&json!({ "content_type": "image/jpeg", "byte_size": PHOTO.len() }))
            .send()
            .await
        else {
            return false;
        };
        let Ok(created) = created.json::<Value>().await else {
            return false;
        };
        let Some(url) = created["upload"]["url"].as_str() else {
            return false;
        };
        let mut put = self.client.put(url).body(PHOTO.to_vec());
        if let Some(headers) = created["upload"]["headers"].as_object() {
            for (name, value) in headers {
                if !name.eq_ignore_ascii_case("content-length") {
                    put = put.header(name.as_str(), value.as_str().unwrap_or_default());
                }
            }
        }
        if !put.send().await.is_ok_and(|r| r.status().is_success()) {
            return false;
        }
        let id = created["media_id"].as_str().unwrap_or_default();
        self.client
            .post(format!("{base}/v1/media/{id}/complete"))
            .bearer_auth(token)
            .json(&json!({}))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    }
}

#[derive(Default)]
struct Window {
    latencies: BTreeMap<&'static str, Vec<Duration>>,
    errors: BTreeMap<&'static str, usize>,
}

impl Window {
    fn record(&mut self, route: &'static str, took: Duration, ok: bool) {
        self.latencies.entry(route).or_default().push(took);
        if !ok {
            *self.errors.entry(route).or_default() += 1;
        }
    }

    fn requests(&self) -> usize {
        self.latencies.values().map(Vec::len).sum()
    }

    fn error_count(&self) -> usize {
        self.errors.values().sum()
    }

    fn print(&mut self, minute: u64, floor: f64, peak: f64, backlog: i64) {
        println!(
            "minute {minute:>2}: {:>6} requests, {} errors, RSS floor {floor:.1} MiB peak {peak:.1} MiB, \
             {backlog} photos waiting for the worker",
            self.requests(),
            self.error_count()
        );
        for (route, latencies) in &mut self.latencies {
            latencies.sort();
            let pct = |p: f64| {
                let i =
                    ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
                latencies[i].as_secs_f64() * 1000.0
            };
            println!(
                "    {route:<32} {:>6} req  p50 {:>7.2} ms  p99 {:>7.2} ms  errors {}",
                latencies.len(),
                pct(0.50),
                pct(0.99),
                self.errors.get(route).copied().unwrap_or(0)
            );
        }
    }
}

async fn seed(backing: &Backing, server: &Server) -> World {
    let client = reqwest::Client::new();
    let app_client = |path: &str, token: Option<&str>, body: Value| {
        let mut request = client.post(format!("{}{path}", server.base)).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    let (mut users, mut sessions) = (Vec::new(), Vec::new());
    for _ in 0..USERS {
        let handle = unique("soak");
        let body: Value = app_client(
            "/v1/auth/register",
            None,
            json!({ "handle": handle, "email": format!("{handle}@example.org"), "password": PASSWORD }),
        )
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        let access = body["access_token"].as_str().unwrap().to_string();
        sessions.push(tokio::sync::Mutex::new(Session {
            access: access.clone(),
            refresh: body["refresh_token"].as_str().unwrap().to_string(),
            since: Instant::now(),
        }));
        users.push(User {
            handle,
            id: body["user"]["id"].as_str().unwrap().parse().unwrap(),
            token: access,
        });
    }
    let pool = backing.pool().await;
    let mut posts = Vec::new();
    for (i, user) in users.iter().enumerate() {
        for j in 1..=FOLLOWS_EACH {
            let other = &users[(i + j) % users.len()];
            app_client(
                &format!("/v1/users/{}/follow", other.handle),
                Some(&user.token),
                json!({}),
            )
            .await
            .unwrap();
        }
        for media in ready_media(&pool, user.id, 4).await {
            let body: Value = app_client(
                "/v1/posts",
                Some(&user.token),
                json!({ "caption": "seed", "media_ids": [media] }),
            )
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
            posts.push(body["id"].as_str().unwrap().parse().unwrap());
        }
    }
    World {
        client,
        base: server.base.clone(),
        users,
        sessions,
        posts,
        pool,
        mix: chosen_mix(),
    }
}

/// Full speed, `CONNECTIONS` at once: requests per second.
async fn peak(world: &Arc<World>) -> f64 {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CONNECTIONS {
        let world = world.clone();
        tasks.push(tokio::spawn(async move {
            let mut done = 0usize;
            while started.elapsed() < PEAK_FOR {
                let route = world.pick_route(&mut rand::thread_rng());
                world.request(route).await;
                done += 1;
            }
            done
        }));
    }
    let mut done = 0;
    for task in tasks {
        done += task.await.unwrap();
    }
    done as f64 / started.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    let minutes = env_or("SOAK_MINUTES", 10);
    let warm_up = env_or("SOAK_WARM_UP_MINUTES", 1);
    assert!(
        warm_up < minutes,
        "SOAK_WARM_UP_MINUTES must be less than SOAK_MINUTES"
    );
    let backing = Backing::new().await;
    let server = Server::start(&backing).await;
    let world = Arc::new(seed(&backing, &server).await);
    let peak = peak(&world).await;
    let rate = peak / 2.0;
    println!(
        "soak: peak {peak:.0} req/s over {} s at {CONNECTIONS} connections; now {rate:.0} req/s for {minutes} min ({} cores)",
        PEAK_FOR.as_secs(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    let window = Arc::new(Mutex::new(Window::default()));
    let samples = sample_rss(server.child.id());
    let in_flight = Arc::new(tokio::sync::Semaphore::new(CONNECTIONS));
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let autovacuum = autovacuum_is_on(&world.pool).await;
    if !autovacuum {
        println!(
            "soak: PostgreSQL runs without autovacuum here; the soak analyzes every minute instead"
        );
    }
    let (mut floors, mut errors, mut skipped, mut backlog) = (Vec::new(), 0usize, 0usize, 0);
    let started = Instant::now();
    let mut next_report = started + Duration::from_secs(60);
    let mut minute = 0;
    while minute < minutes {
        ticks.tick().await;
        // An open loop: a request is sent on its tick whatever the others
        // are doing, unless CONNECTIONS are already waiting (then counted).
        match in_flight.clone().try_acquire_owned() {
            Ok(permit) => {
                let (world, window) = (world.clone(), window.clone());
                tokio::spawn(async move {
                    let route = world.pick_route(&mut rand::thread_rng());
                    let t = Instant::now();
                    let ok = world.request(route).await;
                    window.lock().unwrap().record(route, t.elapsed(), ok);
                    drop(permit);
                });
            }
            Err(_) => skipped += 1,
        }
        if Instant::now() >= next_report {
            minute += 1;
            next_report += Duration::from_secs(60);
            let mut done = std::mem::take(&mut *window.lock().unwrap());
            errors += done.error_count();
            let rss = std::mem::take(&mut *samples.lock().unwrap());
            let floor = rss.iter().copied().fold(f64::MAX, f64::min);
            let peak = rss.iter().copied().fold(0.0, f64::max);
            floors.push(floor);
            backlog = waiting_for_the_worker(&world.pool).await;
            if !autovacuum {
                analyze(&world.pool).await;
            }
            done.print(minute, floor, peak, backlog);
        }
    }
    let after_warm_up = &floors[warm_up as usize..];
    let (low, high) = after_warm_up
        .iter()
        .fold((f64::MAX, 0f64), |(lo, hi), &r| (lo.min(r), hi.max(r)));
    println!(
        "soak done: {errors} errors, {skipped} ticks skipped (all {CONNECTIONS} connections busy), \
         RSS floor after a {warm_up}-minute warm-up {low:.1}–{high:.1} MiB ({:+.1}%), {backlog} photos waiting at the end",
        (high - low) / low * 100.0
    );
    assert_eq!(errors, 0, "requests failed during the soak");
    assert!(
        high <= low * 1.10,
        "the RSS floor grew more than 10% after warm-up"
    );
    assert!(
        backlog <= 100,
        "the worker fell behind: {backlog} photos waiting"
    );
}

/// The server's RSS, every second, until the process ends.
fn sample_rss(pid: u32) -> Arc<Mutex<Vec<f64>>> {
    let samples = Arc::new(Mutex::new(Vec::new()));
    let into = samples.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(1));
        while let Some(rss) = rss_mib(pid) {
            into.lock().unwrap().push(rss);
            every.tick().await;
        }
    });
    samples
}

/// Photos completed and not yet processed.
/// Whether the server analyzes tables as they grow. Without it the planner
/// keeps the statistics of the empty tables the soak started from, and
/// latencies climb through the run for no reason production would share.
async fn autovacuum_is_on(pool: &PgPool) -> bool {
    let setting: String = sqlx::query_scalar("SELECT current_setting('autovacuum')")
        .fetch_one(pool)
        .await
        .unwrap();
    setting == "on"
}

/// What autovacuum's analyze would have done by now.
async fn analyze(pool: &PgPool) {
    sqlx::query("ANALYZE").execute(pool).await.unwrap();
}

async fn waiting_for_the_worker(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM media WHERE status IN ('queued', 'processing')")
        .fetch_one(pool)
        .await
        .unwrap()
}
