//! `ciel advise`: the seed's scaling decision matrix, measured.
//!
//! Reads the live signals of each row (API p95 latency from the
//! `http_request_duration_seconds` histograms of one or more `/metrics`
//! URLs, Redis `INFO memory` against `maxmemory`, PostgreSQL connections
//! against their limit, the media queue's and the dead-letter queue's depth),
//! prints each row with its measured value, threshold and whether it fires,
//! and, for each row that fires, the scenario to apply, its `terraform apply`
//! command and its monthly cost delta from the estimator (`ciel-cost`).

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context as _;
use serde::Serialize;
use sqlx::Connection as _;

use crate::config::AdviseConfig;
use crate::infra::queue::Queue;

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
    let token = config.admin_token.as_ref().map(|t| t.expose().clone());
    let (latency, redis, database, queues) = tokio::join!(
        api_p95(&http, &args.metrics_urls, token.as_deref()),
        deadline(redis_memory(config)),
        deadline(database_connections(config)),
        queue_depths(config),
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
    price(rows)
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
    })
}

async fn deadline(
    signal: impl std::future::Future<Output = Result<(f64, String), String>>,
) -> Result<(f64, String), String> {
    tokio::time::timeout(SIGNAL_DEADLINE, signal)
        .await
        .unwrap_or_else(|_| Err(format!("unmeasured: no answer within {SIGNAL_DEADLINE:?}")))
}

/// p95 of the summed `http_request_duration_seconds` histograms of every
/// URL, since each process started.
async fn api_p95(
    http: &reqwest::Client,
    urls: &[String],
    token: Option<&str>,
) -> Result<(f64, String), String> {
    if urls.is_empty() {
        return Err("unmeasured: no --metrics-url given".into());
    }
    let mut buckets = Buckets::default();
    for url in urls {
        let mut request = http.get(url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .map_err(|e| format!("unmeasured: {url}: {e}"))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("unmeasured: {url} answered {status}"));
        }
        let text = response
            .text()
            .await
            .map_err(|e| format!("unmeasured: {url}: {e}"))?;
        buckets.add_exposition(&text, "http_request_duration_seconds");
    }
    let count = buckets.count();
    let p95 = buckets
        .quantile(0.95)
        .ok_or_else(|| format!("unmeasured: no requests recorded at {}", urls.join(", ")))?;
    Ok((
        p95,
        format!(
            "{count:.0} requests at {} URL(s), since each process started",
            urls.len()
        ),
    ))
}

/// Cumulative histogram buckets summed over series: upper bound → count.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Buckets {
    by_bound: Vec<(f64, f64)>,
}

impl Buckets {
    /// Adds the `<name>_bucket` series of a Prometheus text exposition.
    pub fn add_exposition(&mut self, text: &str, name: &str) {
        let prefix = format!("{name}_bucket{{");
        for line in text.lines() {
            let Some(rest) = line.strip_prefix(&prefix) else {
                continue;
            };
            let Some((labels, value)) = rest.rsplit_once('}') else {
                continue;
            };
            let Some(le) = labels.split(',').find_map(|l| {
                l.trim()
                    .strip_prefix("le=\"")
                    .and_then(|v| v.strip_suffix('"'))
            }) else {
                continue;
            };
            let bound = if le == "+Inf" {
                f64::INFINITY
            } else {
                match le.parse::<f64>() {
                    Ok(b) => b,
                    Err(_) => continue,
                }
            };
            // "value" or "value timestamp".
            let Some(count) = value
                .split_whitespace()
                .next()
                .and_then(|v| v.parse::<f64>().ok())
            else {
                continue;
            };
            self.add(bound, count);
        }
    }

    fn add(&mut self, bound: f64, count: f64) {
        match self.by_bound.iter_mut().find(|(b, _)| *b == bound) {
            Some((_, c)) => *c += count,
            None => {
                self.by_bound.push((bound, count));
                self.by_bound.sort_by(|a, b| a.0.total_cmp(&b.0));
            }
        }
    }

    /// Observations in all (the `+Inf` bucket).
    pub fn count(&self) -> f64 {
        self.by_bound.last().map_or(0.0, |&(_, c)| c)
    }

    /// Prometheus's `histogram_quantile`: linear within the bucket; a rank
    /// in the `+Inf` bucket answers the highest finite bound.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let total = self.count();
        if total <= 0.0 {
            return None;
        }
        let rank = q * total;
        let mut previous = (0.0, 0.0);
        for &(bound, count) in &self.by_bound {
            if count >= rank {
                if bound.is_infinite() {
                    return Some(previous.0);
                }
                let in_bucket = count - previous.1;
                if in_bucket <= 0.0 {
                    return Some(bound);
                }
                return Some(previous.0 + (bound - previous.0) * (rank - previous.1) / in_bucket);
            }
            previous = (bound, count);
        }
        Some(previous.0)
    }
}

/// `used_memory` / `maxmemory` from `INFO memory`.
async fn redis_memory(config: &AdviseConfig) -> Result<(f64, String), String> {
    let url = config
        .redis_url
        .as_ref()
        .ok_or("unmeasured: REDIS_URL is not set")?;
    let client = match &config.redis_ca_cert {
        None => redis::Client::open(url.expose().as_str()),
        Some(pem) => redis::Client::build_with_tls(
            url.expose().as_str(),
            redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(pem.clone()),
            },
        ),
    }
    .map_err(|e| format!("unmeasured: REDIS_URL: {e}"))?;
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .map_err(|e| format!("unmeasured: Redis: {e}"))?;
    let info: String = redis::cmd("INFO")
        .arg("memory")
        .query_async(&mut conn)
        .await
        .map_err(|e| format!("unmeasured: Redis INFO memory: {e}"))?;
    let field = |name: &str| {
        info.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    let used = field("used_memory").ok_or("unmeasured: INFO memory has no used_memory")?;
    let max = field("maxmemory").ok_or("unmeasured: INFO memory has no maxmemory")?;
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

/// Client connections against the tightest limit that applies: the
/// server's `max_connections` (less the superuser reserve), or a
/// `CONNECTION LIMIT` on the database or on the role the app connects as.
async fn database_connections(config: &AdviseConfig) -> Result<(f64, String), String> {
    let mut conn = sqlx::PgConnection::connect(config.database.url.expose())
        .await
        .map_err(|e| format!("unmeasured: database: {e}"))?;
    let row: (i64, i64, i64, i32, i64, i32, String, String) = sqlx::query_as(
        "SELECT \
           (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'), \
           current_setting('max_connections')::int8 \
             - current_setting('superuser_reserved_connections')::int8, \
           (SELECT count(*) FROM pg_stat_activity \
              WHERE backend_type = 'client backend' AND datname = current_database()), \
           (SELECT datconnlimit FROM pg_database WHERE datname = current_database()), \
           (SELECT count(*) FROM pg_stat_activity \
              WHERE backend_type = 'client backend' AND usename = current_user), \
           (SELECT rolconnlimit FROM pg_roles WHERE rolname = current_user), \
           current_database()::text, current_user::text",
    )
    .fetch_one(&mut conn)
    .await
    .map_err(|e| format!("unmeasured: pg_stat_activity: {e}"))?;
    let _ = conn.close().await;
    let (server, server_max, db, db_max, role, role_max, db_name, role_name) = row;
    let mut limits = vec![(
        server,
        server_max,
        "the server's max_connections".to_string(),
    )];
    if db_max >= 0 {
        limits.push((
            db,
            db_max.into(),
            format!("database {db_name}'s CONNECTION LIMIT"),
        ));
    }
    if role_max >= 0 {
        limits.push((
            role,
            role_max.into(),
            format!("role {role_name}'s CONNECTION LIMIT"),
        ));
    }
    let (used, max, what) = limits
        .into_iter()
        .max_by(|a, b| ratio(a.0, a.1).total_cmp(&ratio(b.0, b.1)))
        .expect("the server's limit is always there");
    Ok((ratio(used, max), format!("{used} of {max} ({what})")))
}

fn ratio(used: i64, max: i64) -> f64 {
    if max <= 0 {
        f64::INFINITY
    } else {
        used as f64 / max as f64
    }
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

/// The advice as a table and a list of steps.
pub fn render(advice: &Advice) -> String {
    let mut out = String::from("Scaling decision matrix (terraform/README.md), measured now\n\n");
    out.push_str(&format!(
        "{:<30} {:>12} {:>12}  {:<5} {}\n",
        "symptom", "measured", "threshold", "fires", "how"
    ));
    for row in &advice.rows {
        let show = |v: f64| match row.unit {
            "s" => format!("{:.0} ms", v * 1000.0),
            "ratio" => format!("{:.0}%", v * 100.0),
            _ => format!("{v:.0}"),
        };
        out.push_str(&format!(
            "{:<30} {:>12} {:>12}  {:<5} {}\n",
            row.symptom,
            row.value.map_or_else(|| "-".to_string(), show),
            format!("> {}", show(row.threshold)),
            if row.fires { "YES" } else { "no" },
            row.detail,
        ));
    }
    out.push('\n');
    if advice.actions.is_empty() {
        if advice.rows.iter().any(|r| r.fires) {
            out.push_str("No scaling step: the dead-letter queue holds failed jobs; see which photos failed (processing_abandoned).\n");
        } else {
            out.push_str("Nothing to do: no row fires.\n");
        }
        return out;
    }
    out.push_str(&format!(
        "Steps (costs from crates/cost/prices.json of {}, against dev at €{:.2}/month):\n",
        advice.prices_as_of, advice.baseline_monthly_eur
    ));
    for action in &advice.actions {
        out.push_str(&format!(
            "  Scenario {}: {} (because: {})\n    {}\n    cost: {}/month (€{:.2}/month in all)\n",
            action.scenario,
            action.title,
            action.because.join(", "),
            action.command,
            ciel_cost::signed_eur(action.monthly_delta_eur),
            action.monthly_total_eur,
        ));
    }
    let alternatives: Vec<&Row> = advice
        .rows
        .iter()
        .filter(|r| r.fires && r.scenarios.len() > 1)
        .collect();
    for row in alternatives {
        let list: Vec<String> = row.scenarios.iter().map(|n| n.to_string()).collect();
        out.push_str(&format!(
            "  \"{}\": the seed offers scenario {} (either)\n",
            row.symptom,
            list.join(" or ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exposition(buckets: &[(&str, u64)]) -> String {
        buckets
            .iter()
            .map(|(le, n)| {
                format!(
                    "http_request_duration_seconds_bucket{{method=\"GET\",route=\"/v1/feed\",status=\"2xx\",le=\"{le}\"}} {n}\n"
                )
            })
            .collect()
    }

    #[test]
    fn p95_interpolates_within_the_bucket_like_prometheus() {
        let mut b = Buckets::default();
        b.add_exposition(
            &exposition(&[("0.1", 50), ("0.5", 90), ("1", 100), ("+Inf", 100)]),
            "http_request_duration_seconds",
        );
        // rank 95 lies halfway through the 0.5..1 bucket (90..100).
        assert!((b.quantile(0.95).unwrap() - 0.75).abs() < 1e-9);
        assert_eq!(b.count(), 100.0);
    }

    #[test]
    fn series_and_urls_add_up_and_other_metrics_are_ignored() {
        let mut b = Buckets::default();
        let text = format!(
            "# TYPE http_request_duration_seconds histogram\n{}{}media_job_duration_seconds_bucket{{le=\"0.1\"}} 999\n",
            exposition(&[("0.1", 10), ("+Inf", 10)]),
            exposition(&[("0.1", 0), ("+Inf", 10)]),
        );
        b.add_exposition(&text, "http_request_duration_seconds");
        assert_eq!(b.count(), 20.0);
        // Half the requests took longer than 0.1 s: the +Inf bucket answers
        // the highest finite bound.
        assert_eq!(b.quantile(0.95), Some(0.1));
        assert_eq!(Buckets::default().quantile(0.95), None);
    }

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
