//! Login and `GET /v1/me` throughput and latency at a fixed concurrency,
//! against the real app, PostgreSQL and Redis. Run with `scripts/bench-auth`.

#[path = "../tests/api/common/mod.rs"]
mod common;
#[path = "support/cpu.rs"]
mod cpu;

use std::time::{Duration, Instant};

use common::{Backing, PASSWORD, TestApp, unique};
use serde_json::json;
use sqlx::PgPool;

const CONCURRENCY: usize = 16;
const DURATION: Duration = Duration::from_secs(10);

struct Figures {
    requests: usize,
    errors: usize,
    latencies: Vec<Duration>,
    elapsed: Duration,
    /// This process: the app and the load generator.
    process: cpu::Cpu,
    /// The app's PostgreSQL backends.
    postgres: cpu::Cpu,
}

impl Figures {
    fn print(&mut self, name: &str) {
        self.latencies.sort();
        let pct = |p: f64| {
            let i = ((self.latencies.len() as f64 * p).ceil() as usize)
                .clamp(1, self.latencies.len())
                - 1;
            self.latencies[i].as_secs_f64() * 1000.0
        };
        println!(
            "{name:<12} concurrency {CONCURRENCY:>3}  {:>8.1} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  ({} requests, {} errors)",
            self.requests as f64 / self.elapsed.as_secs_f64(),
            pct(0.50),
            pct(0.99),
            self.requests,
            self.errors,
        );
        println!(
            "{:<12} CPU per request: process {:.3} ms (user {:.3}, kernel {:.3}; app and load generator), PostgreSQL {:.3} ms",
            "",
            cpu::per_request(self.process.total(), self.requests),
            cpu::per_request(self.process.user, self.requests),
            cpu::per_request(self.process.system, self.requests),
            cpu::per_request(self.postgres.total(), self.requests),
        );
    }
}

async fn load<F, Fut>(db: &PgPool, database: &str, request: F) -> Figures
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let backends = cpu::snapshot(&cpu::backends(db, database).await);
    let process = cpu::of_self();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENCY {
        let request = request.clone();
        tasks.push(tokio::spawn(async move {
            let (mut latencies, mut errors) = (Vec::new(), 0);
            while started.elapsed() < DURATION {
                let t = Instant::now();
                if !request().await {
                    errors += 1;
                }
                latencies.push(t.elapsed());
            }
            (latencies, errors)
        }));
    }
    let mut figures = Figures {
        requests: 0,
        errors: 0,
        latencies: Vec::new(),
        elapsed: Duration::ZERO,
        process: cpu::Cpu::default(),
        postgres: cpu::Cpu::default(),
    };
    for task in tasks {
        let (latencies, errors) = task.await.unwrap();
        figures.requests += latencies.len();
        figures.errors += errors;
        figures.latencies.extend(latencies);
    }
    figures.elapsed = started.elapsed();
    figures.process = cpu::of_self().since(&process);
    figures.postgres = cpu::spent_since(&backends, &cpu::backends(db, database).await);
    figures
}

fn main() {
    // As the binary does, before any thread: argon2's blocks are then
    // mapped, not kept in glibc's arenas.
    ciel::app::return_large_blocks_to_the_system();
    hashing_alone();
    tokio::runtime::Runtime::new().unwrap().block_on(run());
}

/// One thread's CPU per argon2id hash (the app's parameters), with a block
/// allocated per hash (what sign-in did before) and with one block reused
/// (what each hashing slot does now).
fn hashing_alone() {
    use argon2::{Algorithm, Argon2, Block, Params, Version};
    const HASHES: u32 = 20;
    let params = Params::new(19 * 1024, 2, 1, None).unwrap();
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut out = [0u8; 32];
    let mut block = vec![Block::default(); params.block_count()];
    let mut measure = |name: &str, reuse: bool| {
        let before = cpu::of_pid("thread-self");
        for _ in 0..HASHES {
            if reuse {
                argon2
                    .hash_password_into_with_memory(
                        b"password",
                        b"saltsaltsalt",
                        &mut out,
                        &mut block,
                    )
                    .unwrap();
            } else {
                argon2
                    .hash_password_into(b"password", b"saltsaltsalt", &mut out)
                    .unwrap();
            }
        }
        let spent = cpu::of_pid("thread-self").since(&before);
        println!(
            "argon2id alone, {name:<22} user {:>5.1} ms  kernel {:>5.1} ms per hash",
            spent.user.as_secs_f64() * 1000.0 / f64::from(HASHES),
            spent.system.as_secs_f64() * 1000.0 / f64::from(HASHES),
        );
    };
    measure("a new block per hash", false);
    measure("one block reused", true);
}

async fn run() {
    let backing = Backing::new().await;
    let db = backing.pool().await;
    let database = backing.database_url.rsplit('/').next().unwrap().to_string();
    let mut env = backing.env("api");
    // Production settings, not the test harness's small pool; limits high
    // enough that the bench measures the endpoints, not the limiter.
    env.remove("DATABASE_MAX_CONNECTIONS");
    env.insert("RATE_LIMIT_LOGIN", "1000000/1m".into());
    let app = TestApp::spawn(&backing, env).await;
    let handle = unique("bench");
    let token = app.access_token(&handle).await;
    let (client, base) = (app.client.clone(), app.base.clone());

    let (c, b, h) = (client.clone(), base.clone(), handle.clone());
    let mut login = load(&db, &database, move || {
        let (c, b, h) = (c.clone(), b.clone(), h.clone());
        async move {
            c.post(format!("{b}/v1/auth/login"))
                .json(&json!({ "login": h, "password": PASSWORD }))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        }
    })
    .await;
    let (c, b) = (client, base);
    let mut me = load(&db, &database, move || {
        let (c, b, t) = (c.clone(), b.clone(), token.clone());
        async move {
            c.get(format!("{b}/v1/me"))
                .bearer_auth(t)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        }
    })
    .await;
    println!(
        "auth benchmark, {} s per endpoint, {} cores",
        DURATION.as_secs(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    login.print("login");
    me.print("GET /v1/me");
    // Figures that include failures measure the wrong thing.
    assert_eq!(login.errors + me.errors, 0, "some requests failed");
}
