//! The scaling signals of the decision matrix, sampled against the real
//! SQS server (moto), PostgreSQL and Redis, and as `/metrics` shows them.

use std::time::Duration;

use crate::common::*;
use ciel::infra::redis::RedisHandle;
use ciel::infra::signals::Signals;
use sqlx::Row as _;

/// The value of the sample named `series` (name and labels, as rendered).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        l.strip_prefix(series)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

#[tokio::test]
async fn the_api_exports_queue_database_and_redis_signals() {
    // The recorder must exist before the gauges are set (the app installs it
    // in Application::build).
    let metrics = ciel::telemetry::metrics_handle();
    let backing = Backing::new().await;
    let queue = backing.queue();
    for i in 0..3 {
        queue.send(format!("job {i}")).await.unwrap();
    }
    backing
        .dead_letter_queue()
        .send("gave up".into())
        .await
        .unwrap();

    let pool = backing.pool().await;
    let mut jobs_config = backing.queue_config(&backing.queue_name);
    jobs_config.dead_letter_name = Some(backing.dlq_name.clone());
    let jobs = ciel::infra::queue::Queue::new(&jobs_config);
    let redis = RedisHandle::new(&redis_url(), None).unwrap();
    let signals = Signals::new(pool.clone(), Some(jobs), Some(redis));

    signals.sample().await;
    let text = metrics.render();

    assert_eq!(sample(&text, "ciel_queue_depth{queue=\"jobs\"}"), Some(3.0));
    assert_eq!(
        sample(&text, "ciel_queue_depth{queue=\"dead_letters\"}"),
        Some(1.0)
    );

    // The server's connections, against the tightest limit: here the
    // server's max_connections less its superuser reserve (the test database
    // and role have no CONNECTION LIMIT), as `ciel advise` measures it too.
    let max: i64 = sqlx::query(
        "SELECT current_setting('max_connections')::int8
                - current_setting('superuser_reserved_connections')::int8",
    )
    .fetch_one(&pool)
    .await
    .unwrap()
    .get(0);
    assert_eq!(
        sample(&text, "ciel_database_max_connections"),
        Some(max as f64)
    );
    let used = sample(&text, "ciel_database_connections").expect("connections sampled");
    assert!(used >= 1.0 && used <= max as f64, "connections: {used}");

    // Redis: its used memory, and its maxmemory as CONFIG GET reports it.
    let client = ::redis::Client::open(redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let (_, maxmemory): (String, u64) = ::redis::cmd("CONFIG")
        .arg("GET")
        .arg("maxmemory")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        sample(&text, "ciel_redis_memory_max_bytes"),
        Some(maxmemory as f64)
    );
    assert!(sample(&text, "ciel_redis_memory_used_bytes").unwrap() > 0.0);

    // A new sample follows the queue.
    backing.queue().send("job 3".into()).await.unwrap();
    signals.sample().await;
    let text = metrics.render();
    assert_eq!(sample(&text, "ciel_queue_depth{queue=\"jobs\"}"), Some(4.0));

    // The API process samples in the background (first sample 5 s after start) and
    // serves the gauges on /metrics. (One test: the recorder is per process.)
    let backing = Backing::new().await;
    for i in 0..5 {
        backing.queue().send(format!("job {i}")).await.unwrap();
    }
    let app = TestApp::spawn(&backing, backing.env("api")).await;
    eventually(Duration::from_secs(20), "the API's queue depth", || async {
        let text = app.metrics().await;
        (sample(&text, "ciel_queue_depth{queue=\"jobs\"}") == Some(5.0)).then_some(())
    })
    .await;
    app.stop().await;
}
