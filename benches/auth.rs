//! Login and `GET /v1/me` throughput and latency at a fixed concurrency,
//! against the real app, PostgreSQL and Redis. Run with `scripts/bench-auth`.

#[path = "../tests/api/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{Backing, PASSWORD, TestApp, unique};
use serde_json::json;

const CONCURRENCY: usize = 16;
const DURATION: Duration = Duration::from_secs(10);

struct Figures {
    requests: usize,
    errors: usize,
    latencies: Vec<Duration>,
    elapsed: Duration,
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
    }
}

async fn load<F, Fut>(request: F) -> Figures
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
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
    };
    for task in tasks {
        let (latencies, errors) = task.await.unwrap();
        figures.requests += latencies.len();
        figures.errors += errors;
        figures.latencies.extend(latencies);
    }
    figures.elapsed = started.elapsed();
    figures
}

#[tokio::main]
async fn main() {
    let backing = Backing::new().await;
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
    let mut login = load(move || {
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
    let mut me = load(move || {
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
