//! A Redis handle that never blocks a request for long: operations have a
//! short deadline, and after a failure Redis is skipped for a moment instead
//! of being retried by every request. Callers get `None` and fall back.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use redis::RedisResult;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::Mutex;

const OPERATION_DEADLINE: Duration = Duration::from_millis(300);
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct RedisHandle {
    inner: Arc<Inner>,
}

struct Inner {
    client: redis::Client,
    connection: Mutex<Option<ConnectionManager>>,
    skip_until: std::sync::Mutex<Option<Instant>>,
    up: AtomicBool,
}

impl RedisHandle {
    /// Parses the URL only; the connection is made on first use, so the API
    /// starts (degraded) even when Redis is down. With `ca_cert` (PEM), a
    /// `rediss://` server must present a certificate signed by it.
    pub fn new(url: &str, ca_cert: Option<&[u8]>) -> RedisResult<Self> {
        let client = match ca_cert {
            None => redis::Client::open(url)?,
            Some(pem) => redis::Client::build_with_tls(
                url,
                redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(pem.to_vec()),
                },
            )?,
        };
        let handle = Self {
            inner: Arc::new(Inner {
                client,
                connection: Mutex::new(None),
                skip_until: std::sync::Mutex::new(None),
                // Optimistic until the first operation, so that a Redis
                // that is down from the start is logged like one that goes away.
                up: AtomicBool::new(true),
            }),
        };
        Ok(handle)
    }

    pub fn is_up(&self) -> bool {
        self.inner.up.load(Ordering::Relaxed)
    }

    /// Runs `op` on a connection. `None` means Redis is unavailable now.
    pub async fn run<T, F, Fut>(&self, op: F) -> Option<T>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        if self.skipping() {
            return None;
        }
        let outcome = tokio::time::timeout(OPERATION_DEADLINE, async {
            let conn = self.connection().await?;
            op(conn).await
        })
        .await;
        match outcome {
            Ok(Ok(value)) => {
                self.mark(true, None);
                Some(value)
            }
            Ok(Err(e)) => {
                self.mark(false, Some(&e.to_string()));
                None
            }
            Err(_) => {
                self.mark(false, Some("operation timed out"));
                None
            }
        }
    }

    pub async fn ping(&self) -> bool {
        self.run(
            |mut conn| async move { redis::cmd("PING").query_async::<String>(&mut conn).await },
        )
        .await
        .is_some()
    }

    async fn connection(&self) -> RedisResult<ConnectionManager> {
        let mut slot = self.inner.connection.lock().await;
        if let Some(conn) = slot.as_ref() {
            return Ok(conn.clone());
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(OPERATION_DEADLINE)
            .set_response_timeout(OPERATION_DEADLINE)
            .set_number_of_retries(1);
        let conn = ConnectionManager::new_with_config(self.inner.client.clone(), config).await?;
        *slot = Some(conn.clone());
        Ok(conn)
    }

    fn skipping(&self) -> bool {
        let skip_until = self
            .inner
            .skip_until
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        skip_until.is_some_and(|until| Instant::now() < until)
    }

    fn mark(&self, up: bool, error: Option<&str>) {
        let was_up = self.inner.up.swap(up, Ordering::Relaxed);
        let mut skip_until = self
            .inner
            .skip_until
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        *skip_until = if up {
            None
        } else {
            Some(Instant::now() + RETRY_AFTER_FAILURE)
        };
        metrics::gauge!("redis_up").set(if up { 1.0 } else { 0.0 });
        if was_up != up {
            match error {
                None => tracing::info!("redis reachable again"),
                Some(error) => {
                    tracing::warn!(%error, "redis unreachable; rate limits fall back to this process")
                }
            }
        }
    }
}
