use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection as _, PgPool};

use crate::config::DatabaseConfig;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A connection idle for less than this is handed out without a ping.
const TRUSTED_IDLE: Duration = Duration::from_secs(1);

/// sqlx pings every connection it hands out by default: a second round trip
/// (over TLS) for every query of a request, which `GET /v1/me` paid on each
/// call (issue 31). A connection back in the pool for less than
/// [`TRUSTED_IDLE`] was just used and is handed out as is; one idle for
/// longer (after a quiet spell, or while the database restarts) is pinged
/// and replaced if the ping fails, as before.
fn options(config: &DatabaseConfig) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(config.max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for < TRUSTED_IDLE {
                    return Ok(true);
                }
                conn.ping().await.map(|()| true)
            })
        })
}

/// Builds the pool without connecting: the process starts even while the
/// database is still coming up, and `/ready` says so.
pub fn pool(config: &DatabaseConfig) -> Result<PgPool, sqlx::Error> {
    options(config).connect_lazy(config.url.expose())
}

/// The pool for reads that may lag: the replica's when one is configured,
/// the primary's otherwise.
pub fn read_pool(config: &DatabaseConfig, primary: &PgPool) -> Result<PgPool, sqlx::Error> {
    match &config.read_url {
        Some(url) => options(config).connect_lazy(url.expose()),
        None => Ok(primary.clone()),
    }
}

pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}

/// Publishes pool usage for the "DB connections > 80%" alert.
pub fn record_pool_metrics(pool: &PgPool) {
    let in_use = pool.size().saturating_sub(pool.num_idle() as u32);
    metrics::gauge!("db_pool_connections_in_use").set(f64::from(in_use));
    metrics::gauge!("db_pool_connections_max").set(f64::from(pool.options().get_max_connections()));
}
