//! `ciel advise` against the real local services: each row of the seed's
//! decision matrix pushed past its threshold names its scenario, with the
//! terraform command and the step's monthly cost; all quiet names nothing.
//!
//! Nothing here loads the shared services: the Redis is the test's own
//! (a small `maxmemory`), the connection limit is a `CONNECTION LIMIT` on
//! the test's own database, the backlog is in the test's own queue, and the
//! `/metrics` pages are served by the test.

use std::collections::HashMap;
use std::process::Command;

use crate::common::redis::PrivateRedis;
use crate::common::*;
use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use futures::StreamExt;
use serde_json::Value;
use sqlx::Connection;

/// The variables `ciel advise` reads, as the API has them.
fn advise_env(backing: &Backing, redis_url: Option<&str>) -> HashMap<&'static str, String> {
    let mut env = backing.env("api");
    env.insert("QUEUE_DEAD_LETTER_NAME", backing.dlq_name.clone());
    match redis_url {
        Some(url) => env.insert("REDIS_URL", url.to_string()),
        None => env.remove("REDIS_URL"),
    };
    env
}

/// Runs the binary (off the runtime's thread, so the test's servers answer).
async fn run(env: HashMap<&'static str, String>, args: Vec<String>) -> (bool, String, String) {
    tokio::task::spawn_blocking(move || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ciel"));
        command
            .arg("advise")
            .args(&args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default());
        for (k, v) in &env {
            command.env(k, v);
        }
        let out = command.output().expect("ciel runs");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    })
    .await
    .unwrap()
}

/// The advice as `--json` prints it, computed in this process (the binary
/// itself is run by `bad_arguments_and_config_are_clear_errors`).
async fn advise_json(env: HashMap<&'static str, String>, metrics: &[String]) -> Value {
    serde_json::to_value(advise(env, metrics).await).unwrap()
}

async fn advise(env: HashMap<&'static str, String>, metrics: &[String]) -> ciel::advise::Advice {
    let config = ciel::config::Config::advise_from_lookup(|var| env.get(var).cloned())
        .expect("advise config");
    let args = ciel::advise::Args {
        metrics_urls: metrics.to_vec(),
        json: true,
    };
    ciel::advise::advise(&config, &args)
        .await
        .expect("ciel advise")
}

/// What `ciel advise` prints without --json.
async fn advise_text(env: HashMap<&'static str, String>, metrics: &[String]) -> String {
    ciel::advise::render(&advise(env, metrics).await)
}

fn row<'a>(advice: &'a Value, signal: &str) -> &'a Value {
    advice["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["signal"] == signal)
        .unwrap_or_else(|| panic!("no row {signal}: {advice:#}"))
}

fn scenarios(advice: &Value) -> Vec<u64> {
    advice["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["scenario"].as_u64().unwrap())
        .collect()
}

/// The scenarios a quiet test may still see: the shared server's own
/// connection count is not the test's to control, so scenario 5 is allowed
/// only when the server really is past 80% of its connections now.
async fn server_connections_high(backing: &Backing) -> bool {
    let mut conn = sqlx::PgConnection::connect(&backing.database_url)
        .await
        .unwrap();
    let (used, max): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'), \
                current_setting('max_connections')::int8 - current_setting('superuser_reserved_connections')::int8",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    used as f64 > 0.8 * max as f64
}

fn assert_action(advice: &Value, scenario: u64, file: &str, delta: f64) {
    let action = advice["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["scenario"] == scenario)
        .unwrap_or_else(|| panic!("scenario {scenario} not advised: {advice:#}"));
    assert_eq!(action["file"], file);
    assert_eq!(
        action["command"],
        format!("cd terraform/environments/dev && terraform apply -var-file=scenarios/{file}")
    );
    let got = action["monthly_delta_eur"].as_f64().unwrap();
    assert!(
        (got - delta).abs() < 0.005,
        "scenario {scenario}: delta {got}, want {delta}"
    );
}

/// A `/metrics` page with a latency histogram whose p95 is about `p95_ms`,
/// answering only to `Authorization: Bearer <token>`.
async fn metrics_server(buckets: &'static str, token: &'static str) -> String {
    let app = Router::new().route(
        "/metrics",
        get(move |headers: HeaderMap| async move {
            let auth = headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            if auth != format!("Bearer {token}") {
                return (StatusCode::UNAUTHORIZED, String::new());
            }
            (StatusCode::OK, buckets.to_string())
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/metrics")
}

const FAST: &str = "\
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{method=\"GET\",route=\"/v1/feed\",status=\"2xx\",le=\"0.05\"} 980
http_request_duration_seconds_bucket{method=\"GET\",route=\"/v1/feed\",status=\"2xx\",le=\"0.1\"} 1000
http_request_duration_seconds_bucket{method=\"GET\",route=\"/v1/feed\",status=\"2xx\",le=\"0.5\"} 1000
http_request_duration_seconds_bucket{method=\"GET\",route=\"/v1/feed\",status=\"2xx\",le=\"1\"} 1000
http_request_duration_seconds_bucket{method=\"GET\",route=\"/v1/feed\",status=\"2xx\",le=\"+Inf\"} 1000
http_request_duration_seconds_sum{method=\"GET\",route=\"/v1/feed\",status=\"2xx\"} 30
http_request_duration_seconds_count{method=\"GET\",route=\"/v1/feed\",status=\"2xx\"} 1000
";

// Of 1000 requests, 200 took 0.5 to 1 s: with FAST's 1000, p95 of the two
// hosts is at rank 1900 of 2000, inside the 0.5..1 bucket.
const SLOW: &str = "\
http_request_duration_seconds_bucket{method=\"POST\",route=\"/v1/posts\",status=\"2xx\",le=\"0.05\"} 100
http_request_duration_seconds_bucket{method=\"POST\",route=\"/v1/posts\",status=\"2xx\",le=\"0.1\"} 300
http_request_duration_seconds_bucket{method=\"POST\",route=\"/v1/posts\",status=\"2xx\",le=\"0.5\"} 800
http_request_duration_seconds_bucket{method=\"POST\",route=\"/v1/posts\",status=\"2xx\",le=\"1\"} 1000
http_request_duration_seconds_bucket{method=\"POST\",route=\"/v1/posts\",status=\"2xx\",le=\"+Inf\"} 1000
";

const TOKEN: &str = "advise-test-token";

#[tokio::test]
async fn all_quiet_advises_nothing() {
    let backing = Backing::new().await;
    let redis = PrivateRedis::start_with(free_port(), &["--maxmemory", "64mb"]).await;
    let fast = metrics_server(FAST, TOKEN).await;
    let mut env = advise_env(&backing, Some(&redis.url()));
    env.insert("ADMIN_TOKEN", TOKEN.into());
    let advice = advise_json(env.clone(), std::slice::from_ref(&fast)).await;

    for signal in [
        "api_p95_latency",
        "redis_memory",
        "database_connections",
        "queue_depth",
        "dead_letters",
    ] {
        let r = row(&advice, signal);
        assert!(r["value"].is_number(), "{signal} unmeasured: {r}");
    }
    assert!(row(&advice, "api_p95_latency")["value"].as_f64().unwrap() <= 0.1);
    assert_eq!(row(&advice, "queue_depth")["value"], 0.0);
    assert_eq!(row(&advice, "dead_letters")["value"], 0.0);
    assert!(row(&advice, "redis_memory")["value"].as_f64().unwrap() < 0.2);
    let advised = scenarios(&advice);
    if advised == [5] {
        assert!(
            server_connections_high(&backing).await,
            "scenario 5 advised while the server's connections are low: {advice:#}"
        );
    } else {
        assert!(advised.is_empty(), "advised {advised:?}: {advice:#}");
        let out = advise_text(env, &[fast]).await;
        assert!(out.contains("Nothing to do"), "{out}");
    }
}

#[tokio::test]
async fn a_queue_backlog_calls_for_scenario_6() {
    let backing = Backing::new().await;
    let client = sqs_client();
    let url = client
        .get_queue_url()
        .queue_name(&backing.queue_name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    // 1,010 messages, ten a request, eight requests at a time.
    let sent = futures::stream::iter(0..101)
        .map(|batch| {
            let (client, url) = (client.clone(), url.clone());
            async move {
                let entries = (0..10)
                    .map(|i| {
                        aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                            .id(format!("m{i}"))
                            .message_body(format!("{{\"backlog\":{}}}", batch * 10 + i))
                            .build()
                            .unwrap()
                    })
                    .collect::<Vec<_>>();
                let sent = client
                    .send_message_batch()
                    .queue_url(url)
                    .set_entries(Some(entries))
                    .send()
                    .await
                    .unwrap();
                assert!(sent.failed.is_empty(), "{:?}", sent.failed);
                sent.successful.len()
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await;
    assert_eq!(sent.iter().sum::<usize>(), 1010);
    let advice = advise_json(advise_env(&backing, None), &[]).await;
    let depth = row(&advice, "queue_depth");
    assert_eq!(depth["value"], 1010.0, "{depth}");
    assert_eq!(depth["fires"], true);
    assert_action(&advice, 6, "06-scale-serverless-worker.tfvars", 0.0);
    assert!(!scenarios(&advice).iter().any(|s| [1, 2, 3].contains(s)));
    // Unset signals are reported, not guessed.
    let latency = row(&advice, "api_p95_latency");
    assert!(latency["value"].is_null());
    assert!(
        latency["detail"]
            .as_str()
            .unwrap()
            .contains("--metrics-url")
    );
    assert!(
        row(&advice, "redis_memory")["detail"]
            .as_str()
            .unwrap()
            .contains("REDIS_URL is not set")
    );
}

#[tokio::test]
async fn redis_past_80_percent_of_maxmemory_calls_for_scenario_1_or_2() {
    let backing = Backing::new().await;
    let redis = PrivateRedis::start_with(
        free_port(),
        &["--maxmemory", "4mb", "--maxmemory-policy", "noeviction"],
    )
    .await;
    let client = ::redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let chunk = vec![b'x'; 64 * 1024];
    let used_ratio = |info: String| {
        let field = |name: &str| {
            info.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
                .and_then(|v| v.trim().parse::<f64>().ok())
                .unwrap()
        };
        field("used_memory") / field("maxmemory")
    };
    for i in 0..200 {
        let info: String = ::redis::cmd("INFO")
            .arg("memory")
            .query_async(&mut conn)
            .await
            .unwrap();
        if used_ratio(info) > 0.85 {
            break;
        }
        let _: () = ::redis::cmd("SET")
            .arg(format!("fill:{i}"))
            .arg(&chunk)
            .query_async(&mut conn)
            .await
            .unwrap();
    }
    let advice = advise_json(advise_env(&backing, Some(&redis.url())), &[]).await;
    let memory = row(&advice, "redis_memory");
    assert!(memory["value"].as_f64().unwrap() > 0.8, "{memory}");
    assert_eq!(memory["fires"], true);
    assert!(
        memory["detail"]
            .as_str()
            .unwrap()
            .contains("maxmemory 4.0 MiB"),
        "{memory}"
    );
    // DEV1-L (+€19) or the split: API and Redis on two DEV1-S instead of the
    // DEV1-M (-€7).
    assert_action(&advice, 1, "01-upgrade-combined-instance.tfvars", 19.0);
    assert_action(&advice, 2, "02-split-api-redis.tfvars", -7.0);
}

#[tokio::test]
async fn connections_past_80_percent_of_the_limit_call_for_scenario_5() {
    let backing = Backing::new().await;
    let database = backing.database_url.rsplit('/').next().unwrap().to_string();
    let mut admin = sqlx::PgConnection::connect(&format!("{}/postgres", database_base()))
        .await
        .unwrap();
    // The test's own database gets a small limit, so five connections are
    // 100% of it without touching the server's max_connections.
    sqlx::query(&format!("ALTER DATABASE {database} CONNECTION LIMIT 5"))
        .execute(&mut admin)
        .await
        .unwrap();
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(
            sqlx::PgConnection::connect(&backing.database_url)
                .await
                .unwrap(),
        );
    }
    let advice = advise_json(advise_env(&backing, None), &[]).await;
    let connections = row(&advice, "database_connections");
    assert!(
        connections["value"].as_f64().unwrap() > 0.8,
        "{connections}"
    );
    assert_eq!(connections["fires"], true);
    let detail = connections["detail"].as_str().unwrap();
    assert!(
        detail.contains(&database) && detail.contains("CONNECTION LIMIT"),
        "{detail}"
    );
    assert_action(&advice, 5, "05-upgrade-database.tfvars", {
        let base = ciel_cost::Knobs::default();
        ciel_cost::scenario_delta(&base, 5, "dev", &ciel_cost::Prices::bundled())
            .unwrap()
            .1
    });
    for conn in held {
        conn.close().await.unwrap();
    }
}

#[tokio::test]
async fn a_slow_p95_calls_for_scenario_1_or_3_with_its_price() {
    let backing = Backing::new().await;
    let fast = metrics_server(FAST, TOKEN).await;
    let slow = metrics_server(SLOW, TOKEN).await;
    let mut env = advise_env(&backing, None);
    env.insert("ADMIN_TOKEN", TOKEN.into());
    let advice = advise_json(env.clone(), &[fast.clone(), slow.clone()]).await;
    let latency = row(&advice, "api_p95_latency");
    // Rank 1900 of 2000: 1800 done by 0.5 s, 2000 by 1 s -> 0.75 s.
    assert!(
        (latency["value"].as_f64().unwrap() - 0.75).abs() < 1e-6,
        "{latency}"
    );
    assert_eq!(latency["fires"], true);
    assert_action(&advice, 1, "01-upgrade-combined-instance.tfvars", 19.0);
    assert_action(&advice, 3, "03-load-balancer-multi-api.tfvars", 37.0);

    // The table says the same, with the commands and the prices.
    let out = advise_text(env.clone(), &[fast.clone(), slow]).await;
    assert!(out.contains("750 ms"), "{out}");
    assert!(
        out.contains("terraform apply -var-file=scenarios/01-upgrade-combined-instance.tfvars"),
        "{out}"
    );
    assert!(out.contains("+€19.00/month"), "{out}");
    assert!(out.contains("+€37.00/month"), "{out}");

    // Without the token, /metrics refuses and the row says why.
    env.remove("ADMIN_TOKEN");
    let advice = advise_json(env, &[fast]).await;
    let latency = row(&advice, "api_p95_latency");
    assert!(latency["value"].is_null());
    assert!(
        latency["detail"].as_str().unwrap().contains("401"),
        "{latency}"
    );
}

#[tokio::test]
async fn bad_arguments_and_config_are_clear_errors() {
    let (ok, _, err) = run(HashMap::new(), vec!["--json".into()]).await;
    assert!(!ok);
    assert!(err.contains("DATABASE_URL"), "{err}");
    let (ok, out, _) = run(HashMap::new(), vec!["--help".into()]).await;
    assert!(ok && out.contains("--metrics-url URL"), "{out}");
    let (ok, _, err) = run(HashMap::new(), vec!["--metrics-url".into()]).await;
    assert!(!ok);
    assert!(err.contains("--metrics-url needs a URL"), "{err}");
    // A signal that cannot be read is reported, the others still are.
    let backing = Backing::new().await;
    let mut env = advise_env(
        &backing,
        Some(&format!("redis://127.0.0.1:{}", free_port())),
    );
    env.insert("QUEUE_NAME", "ciel-test-no-such-queue".into());
    let (ok, out, err) = run(env, vec!["--json".into()]).await;
    assert!(ok, "ciel advise failed: {err}");
    let advice: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert!(row(&advice, "redis_memory")["value"].is_null());
    assert!(row(&advice, "queue_depth")["value"].is_null());
    assert!(row(&advice, "database_connections")["value"].is_number());
}
