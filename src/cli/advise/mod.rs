//! `ciel advise`: the seed's scaling decision matrix, measured.
//!
//! Reads the live signals of each row (API p95 latency from the
//! `http_request_duration_seconds` histograms of one or more `/metrics`
//! URLs, Redis `INFO memory` against `maxmemory`, PostgreSQL connections
//! against their limit, the media queue's and the dead-letter queue's depth),
//! prints each row with its measured value, threshold and whether it fires,
//! and, for each row that fires, the scenario to apply, its `terraform apply`
//! command and its monthly cost delta from the estimator (`ciel-cost`).

pub mod costs;
mod prometheus;
mod render;

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context as _;
use serde::Serialize;
use sqlx::Connection as _;

pub use self::prometheus::Buckets;
use self::prometheus::api_p95;
pub use self::render::render;
use crate::config::AdviseConfig;
use crate::infra::queue::Queue;
use crate::infra::redis::RedisHandle;
use crate::infra::signals;

/// How long one signal may take before it is reported unmeasured.
const SIGNAL_DEADLINE: Duration = Duration::from_secs(10);

pub const USAGE: &str = "\
usage: ciel advise [--metrics-url URL]... [--json]
  --metrics-url URL  an API process's /metrics (repeatable: one per API host or pod);
                     sent ADMIN_TOKEN as a bearer token when it is set
  --json             one JSON document instead of the table
Reads DATABASE_URL, REDIS_URL (REDIS_CA_CERT), QUEUE_* and ADMIN_TOKEN like the API.";

#[derive(Debug, Clone, PartialEq)]
pub struct Args {
    pub metrics_urls: Vec<String>,
    pub json: bool,
}

impl Args {
    pub fn parse(args: &[String]) -> Result<Args, String> {
        let mut parsed = Args {
            metrics_urls: Vec::new(),
            json: false,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--json" => parsed.json = true,
                "--metrics-url" => {
                    let url = args.next().ok_or("--metrics-url needs a URL")?;
                    if !url.starts_with("http://") {
                        return Err(format!(
                            "--metrics-url {url}: expected an http:// URL (the API's private address)"
                        ));
                    }
                    parsed.metrics_urls.push(url.clone());
                }
                other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
            }
        }
        Ok(parsed)
    }
}

/// One row of the decision matrix, measured.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Stable identifier: `api_p95_latency`, `redis_memory`,
    /// `database_connections`, `queue_depth`, `dead_letters`.
    pub signal: &'static str,
    pub symptom: &'static str,
    /// The measured value (seconds, a ratio, or messages); `None` when the
    /// signal could not be read.
    pub value: Option<f64>,
    pub threshold: f64,
    pub unit: &'static str,
    pub fires: bool,
    /// How it was measured, or why it was not.
    pub detail: String,
    /// The seed's action: the scenarios to choose from when the row fires.
    pub scenarios: Vec<u32>,
}

impl Row {
    fn new(
        signal: &'static str,
        symptom: &'static str,
        threshold: f64,
        unit: &'static str,
        scenarios: Vec<u32>,
        measured: Result<(f64, String), String>,
    ) -> Row {
        let (value, detail) = match measured {
            Ok((value, detail)) => (Some(value), detail),
            Err(why) => (None, why),
        };
        Row {
            signal,
            symptom,
            fires: value.is_some_and(|v| v > threshold),
            value,
            threshold,
            unit,
            detail,
            scenarios,
        }
    }
}

/// A scenario to apply, with its command and price.
#[derive(Debug, Clone, Serialize)]
pub struct Action {
    pub scenario: u32,
    pub title: &'static str,
    pub file: &'static str,
    pub command: String,
    /// The month's cost after the step minus before it, in EUR.
    pub monthly_delta_eur: f64,
    pub monthly_total_eur: f64,
    /// The signals that call for it.
    pub because: Vec<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Advice {
    pub rows: Vec<Row>,
    pub actions: Vec<Action>,
    pub prices_as_of: String,
    /// The estimate the deltas start from: the dev environment of
    /// terraform/environments/dev, where the scenario files live.
    pub baseline_monthly_eur: f64,
    /// What the bill grows with over a year of the measured uploads; storage
    /// and egress named when they dominate (issue 30).
    pub cost_drivers: Option<costs::CostDrivers>,
}

/// The matrix's thresholds (terraform/README.md, "Scaling decision matrix").
pub const P95_THRESHOLD_SECONDS: f64 = 0.5;
pub const REDIS_MEMORY_THRESHOLD: f64 = 0.8;
pub const DATABASE_CONNECTIONS_THRESHOLD: f64 = 0.8;
pub const QUEUE_DEPTH_THRESHOLD: f64 = 1000.0;

/// Measures every signal and prices the steps the firing rows call for.
pub async fn advise(config: &AdviseConfig, args: &Args) -> anyhow::Result<Advice> {
    let http = reqwest::Client::builder()
        .timeout(SIGNAL_DEADLINE)
        .build()
        .context("HTTP client")?;
    let token = config.metrics_token.as_ref().map(|t| t.expose().clone());
    let (latency, redis, database, queues, uploads) = tokio::join!(
        api_p95(&http, &args.metrics_urls, token.as_deref()),
        deadline(redis_memory(config)),
        deadline(database_connections(config)),
        queue_depths(config),
        tokio::time::timeout(SIGNAL_DEADLINE, recent_uploads(config)),
    );
    let (jobs, dead_letters) = queues;
    let rows = vec![
        Row::new(
            "api_p95_latency",
            "API P95 latency > 500ms",
            P95_THRESHOLD_SECONDS,
            "s",
            vec![1, 3],
            latency,
        ),
        Row::new(
            "redis_memory",
            "Redis memory > 80%",
            REDIS_MEMORY_THRESHOLD,
            "ratio",
            vec![1, 2],
            redis,
        ),
        Row::new(
            "database_connections",
            "DB connections > 80% max",
            DATABASE_CONNECTIONS_THRESHOLD,
            "ratio",
            vec![5],
            database,
        ),
        Row::new(
            "queue_depth",
            "Media queue depth > 1000",
            QUEUE_DEPTH_THRESHOLD,
            "messages",
            vec![6],
            jobs,
        ),
        // Not a row of the seed's matrix: dead letters are failed photos,
        // not a capacity problem, so no scenario; shown so they are seen.
        Row::new(
            "dead_letters",
            "Dead-letter queue not empty",
            0.0,
            "messages",
            vec![],
            dead_letters,
        ),
    ];
    let mut advice = price(rows)?;
    let uploads = match uploads {
        Ok(Ok((photos, uploaders))) => Some(costs::Uploads { photos, uploaders }),
        Ok(Err(why)) => {
            tracing::info!(why, "uploads unmeasured; projecting the dev profile");
            None
        }
        Err(_) => None,
    };
    advice.cost_drivers = match costs::project(&ciel_cost::Knobs::default(), uploads) {
        Ok(drivers) => Some(drivers),
        Err(e) => {
            tracing::warn!(error = %e, "could not project the media costs");
            None
        }
    };
    Ok(advice)
}

/// Photos made ready in the last 30 days and their uploaders (the
/// projection's usage), from the database.
async fn recent_uploads(config: &AdviseConfig) -> Result<(f64, f64), String> {
    let mut conn = sqlx::PgConnection::connect(config.database.url.expose())
        .await
        .map_err(|e| format!("unmeasured: database: {e}"))?;
    let (photos, uploaders) = crate::media::posted_in_the_last_30_days(&mut conn)
        .await
        .map_err(|e| format!("unmeasured: media: {e}"))?;
    let _ = conn.close().await;
    Ok((photos as f64, uploaders as f64))
}

/// The actions of the firing rows, each scenario once, priced.
fn price(rows: Vec<Row>) -> anyhow::Result<Advice> {
    let prices = ciel_cost::Prices::bundled();
    let base = ciel_cost::Knobs::default();
    let baseline = ciel_cost::estimate(&base, "dev", &prices).map_err(anyhow::Error::msg)?;
    let mut wanted: BTreeMap<u32, Vec<&'static str>> = BTreeMap::new();
    for row in rows.iter().filter(|r| r.fires) {
        for &n in &row.scenarios {
            wanted.entry(n).or_default().push(row.signal);
        }
    }
    let mut actions = Vec::new();
    for (number, because) in wanted {
        let scenario = ciel_cost::scenario(number)
            .with_context(|| format!("scenario {number} is not in ciel-cost"))?;
        let (after, delta) =
            ciel_cost::scenario_delta(&base, number, "dev", &prices).map_err(anyhow::Error::msg)?;
        actions.push(Action {
            scenario: number,
            title: scenario.title,
            file: scenario.file,
            command: format!(
                "cd terraform/environments/dev && terraform apply -var-file=scenarios/{}",
                scenario.file
            ),
            monthly_delta_eur: delta,
            monthly_total_eur: after.total,
            because,
        });
    }
    Ok(Advice {
        rows,
        actions,
        prices_as_of: prices.as_of,
        baseline_monthly_eur: baseline.total,
        cost_drivers: None,
    })
}

async fn deadline(
    signal: impl std::future::Future<Output = Result<(f64, String), String>>,
) -> Result<(f64, String), String> {
    tokio::time::timeout(SIGNAL_DEADLINE, signal)
        .await
        .unwrap_or_else(|_| Err(format!("unmeasured: no answer within {SIGNAL_DEADLINE:?}")))
}

/// `used_memory` / `maxmemory`, measured as `/metrics` measures it.
async fn redis_memory(config: &AdviseConfig) -> Result<(f64, String), String> {
    let url = config
        .redis_url
        .as_ref()
        .ok_or("unmeasured: REDIS_URL is not set")?;
    let redis = RedisHandle::new(url.expose(), config.redis_ca_cert.as_deref())
        .map_err(|e| format!("unmeasured: REDIS_URL: {e}"))?;
    let (used, max) = signals::redis_memory(&redis)
        .await
        .ok_or("unmeasured: Redis unreachable, or INFO memory unreadable")?;
    if max == 0 {
        return Err(format!(
            "unmeasured: maxmemory is 0 (no limit); used_memory {}",
            mib(used)
        ));
    }
    Ok((
        used as f64 / max as f64,
        format!("used_memory {} of maxmemory {}", mib(used), mib(max)),
    ))
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// Client connections against the tightest limit, measured as `/metrics`
/// measures them.
async fn database_connections(config: &AdviseConfig) -> Result<(f64, String), String> {
    let mut conn = sqlx::PgConnection::connect(config.database.url.expose())
        .await
        .map_err(|e| format!("unmeasured: database: {e}"))?;
    let measured = signals::database_connections(&mut conn)
        .await
        .map_err(|e| format!("unmeasured: pg_stat_activity: {e}"))?;
    let _ = conn.close().await;
    Ok((
        measured.ratio(),
        format!("{} of {} ({})", measured.used, measured.max, measured.limit),
    ))
}

async fn queue_depths(
    config: &AdviseConfig,
) -> (Result<(f64, String), String>, Result<(f64, String), String>) {
    let Some(queue_config) = &config.queue else {
        let why = || Err("unmeasured: QUEUE_NAME is not set".to_string());
        return (why(), why());
    };
    let jobs = Queue::new(queue_config);
    let depth = |queue: Queue, name: String| async move {
        deadline(async move {
            queue
                .approximate_depth()
                .await
                .map(|d| (d as f64, format!("ApproximateNumberOfMessages of {name}")))
                .map_err(|e| format!("unmeasured: {e:#}"))
        })
        .await
    };
    let dead = match jobs.dead_letters() {
        Some(queue) => {
            let name = queue_config.dead_letter_name.clone().unwrap_or_default();
            depth(queue, name).await
        }
        None => Err("unmeasured: QUEUE_DEAD_LETTER_NAME is not set".into()),
    };
    (depth(jobs, queue_config.name.clone()).await, dead)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_checked() {
        let args = |a: &[&str]| Args::parse(&a.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        let parsed = args(&[
            "--metrics-url",
            "http://a/metrics",
            "--metrics-url",
            "http://b/metrics",
            "--json",
        ])
        .unwrap();
        assert_eq!(parsed.metrics_urls.len(), 2);
        assert!(parsed.json);
        assert!(
            args(&["--metrics-url"])
                .unwrap_err()
                .contains("needs a URL")
        );
        assert!(
            args(&["--metrics-url", "https://x"])
                .unwrap_err()
                .contains("http://")
        );
        assert!(
            args(&["--frobnicate"])
                .unwrap_err()
                .contains("unknown argument")
        );
    }
}
