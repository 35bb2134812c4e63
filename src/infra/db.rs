use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use crate::config::DatabaseConfig;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Builds the pool without connecting: the process starts even while the
/// database is still coming up, and `/ready` says so.
pub fn pool(config: &DatabaseConfig) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(config.max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect_lazy(config.url.expose())
}

/// The pool for reads that may lag: the replica's when one is configured,
/// the primary's otherwise.
pub fn read_pool(config: &DatabaseConfig, primary: &PgPool) -> Result<PgPool, sqlx::Error> {
    match &config.read_url {
        Some(url) => PgPoolOptions::new()
            .max_connections(config.max_connections)
            .acquire_timeout(Duration::from_secs(5))
            .connect_lazy(url.expose()),
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
