//! The scaling signals of the seed's decision matrix, sampled in the
//! background and exported on `/metrics`:
//!
//! - `ciel_queue_depth{queue="jobs"|"dead_letters"}`: messages waiting in the
//!   media queue and its dead-letter queue (SQS `ApproximateNumberOfMessages`);
//! - `ciel_database_connections` / `ciel_database_max_connections`: client
//!   connections (`pg_stat_activity`, all processes together, not this
//!   process's pool) against the tightest limit that applies (see
//!   [`database_connections`]);
//! - `ciel_redis_memory_used_bytes` / `ciel_redis_memory_max_bytes`: Redis's
//!   `used_memory` against its `maxmemory` (0: no limit), from `INFO memory`.
//!   The app samples it rather than a redis_exporter on each Redis host: it
//!   already holds a connection to whichever Redis it uses (embedded,
//!   self-hosted or managed), and the self-hosted Redis host has no agent.
//!
//! One sample per interval, whatever the number of scrapes, so scraping stays
//! cheap. A signal that cannot be read keeps its last value and counts
//! `ciel_signal_errors_total{signal}`; it never stops the others.

use std::future::Future;
use std::time::Duration;

use sqlx::PgPool;

use crate::infra::queue::Queue;
use crate::infra::redis::RedisHandle;

/// How often the API samples the signals (alerts look at 10-minute windows).
pub const SAMPLE_INTERVAL: Duration = Duration::from_secs(30);

/// The first sample waits this long after start, so that it never competes
/// with the first requests for the new Redis and database connections.
pub const FIRST_SAMPLE_AFTER: Duration = Duration::from_secs(5);

/// What the API process samples: the database always, the queues and Redis
/// when it has them.
#[derive(Clone)]
pub struct Signals {
    db: PgPool,
    jobs: Option<Queue>,
    dead_letters: Option<Queue>,
    redis: Option<RedisHandle>,
}

impl Signals {
    pub fn new(db: PgPool, queue: Option<Queue>, redis: Option<RedisHandle>) -> Self {
        let dead_letters = queue.as_ref().and_then(Queue::dead_letters);
        Self {
            db,
            jobs: queue,
            dead_letters,
            redis,
        }
    }

    /// Takes one sample of every signal and sets the gauges.
    pub async fn sample(&self) {
        let queues = [("jobs", &self.jobs), ("dead_letters", &self.dead_letters)];
        for (label, queue) in queues {
            let Some(queue) = queue else { continue };
            match queue.approximate_depth().await {
                Ok(depth) => {
                    metrics::gauge!("ciel_queue_depth", "queue" => label).set(depth as f64)
                }
                Err(error) => failed("queue_depth", &format!("{error:#}")),
            }
        }
        match database_connections(&self.db).await {
            Ok(connections) => {
                metrics::gauge!("ciel_database_connections").set(connections.used as f64);
                metrics::gauge!("ciel_database_max_connections").set(connections.max as f64);
            }
            Err(error) => failed("database_connections", &error.to_string()),
        }
        if let Some(redis) = &self.redis {
            match redis_memory(redis).await {
                Some((used, max)) => {
                    metrics::gauge!("ciel_redis_memory_used_bytes").set(used as f64);
                    metrics::gauge!("ciel_redis_memory_max_bytes").set(max as f64);
                }
                None => failed("redis_memory", "redis unavailable or INFO unreadable"),
            }
        }
    }

    /// Samples every `interval`, the first time after [`FIRST_SAMPLE_AFTER`],
    /// until `stopped` resolves.
    pub async fn run(self, interval: Duration, stopped: impl Future<Output = ()>) {
        let start = tokio::time::Instant::now() + FIRST_SAMPLE_AFTER;
        let mut ticks = tokio::time::interval_at(start, interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(stopped);
        loop {
            tokio::select! {
                _ = &mut stopped => return,
                _ = ticks.tick() => self.sample().await,
            }
        }
    }
}

fn failed(signal: &'static str, error: &str) {
    metrics::counter!("ciel_signal_errors_total", "signal" => signal).increment(1);
    tracing::warn!(signal, %error, "could not sample a scaling signal");
}

/// Client connections against the tightest limit that applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionUse {
    pub used: i64,
    pub max: i64,
    /// Which limit: the server's, the database's or the role's.
    pub limit: String,
}

impl ConnectionUse {
    pub fn ratio(&self) -> f64 {
        ratio(self.used, self.max)
    }
}

fn ratio(used: i64, max: i64) -> f64 {
    if max <= 0 {
        f64::INFINITY
    } else {
        used as f64 / max as f64
    }
}

/// Client connections against the tightest limit that applies: the
/// server's `max_connections` (less the superuser reserve), or a
/// `CONNECTION LIMIT` on the database or on the role the app connects as.
/// `/metrics` and `ciel advise` both measure with it, so they agree.
pub async fn database_connections(
    db: impl sqlx::PgExecutor<'_>,
) -> Result<ConnectionUse, sqlx::Error> {
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
    .fetch_one(db)
    .await?;
    let (server, server_max, db, db_max, role, role_max, db_name, role_name) = row;
    let mut limits = vec![ConnectionUse {
        used: server,
        max: server_max,
        limit: "the server's max_connections".to_string(),
    }];
    if db_max >= 0 {
        limits.push(ConnectionUse {
            used: db,
            max: db_max.into(),
            limit: format!("database {db_name}'s CONNECTION LIMIT"),
        });
    }
    if role_max >= 0 {
        limits.push(ConnectionUse {
            used: role,
            max: role_max.into(),
            limit: format!("role {role_name}'s CONNECTION LIMIT"),
        });
    }
    Ok(limits
        .into_iter()
        .max_by(|a, b| a.ratio().total_cmp(&b.ratio()))
        .expect("the server's limit is always there"))
}

/// `used_memory` and `maxmemory` (0: no limit) from `INFO memory`.
pub async fn redis_memory(redis: &RedisHandle) -> Option<(u64, u64)> {
    let info = redis
        .run(|mut conn| async move {
            redis::cmd("INFO")
                .arg("memory")
                .query_async::<String>(&mut conn)
                .await
        })
        .await?;
    memory_of(&info)
}

fn memory_of(info: &str) -> Option<(u64, u64)> {
    let field = |name: &str| {
        info.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    Some((field("used_memory")?, field("maxmemory")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_memory_is_read_from_info() {
        let info =
            "# Memory\r\nused_memory:1048576\r\nused_memory_human:1.00M\r\nmaxmemory:4194304\r\n";
        assert_eq!(memory_of(info), Some((1 << 20, 4 << 20)));
        assert_eq!(memory_of("used_memory:1\r\n"), None);
    }

    #[test]
    fn the_tightest_limit_is_the_one_nearest_its_end() {
        let loose = ConnectionUse {
            used: 10,
            max: 100,
            limit: "a".into(),
        };
        let tight = ConnectionUse {
            used: 9,
            max: 10,
            limit: "b".into(),
        };
        assert!(tight.ratio() > loose.ratio());
        assert!(
            ConnectionUse {
                used: 1,
                max: 0,
                limit: "c".into()
            }
            .ratio()
            .is_infinite()
        );
    }
}
