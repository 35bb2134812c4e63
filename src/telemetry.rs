//! Logs (JSON by default, honouring `RUST_LOG`) and the Prometheus recorder.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use metrics_util::MetricKindMask;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

pub fn init_logs(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second call (tests start several apps) keeps the first subscriber.
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

const LATENCY_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0,
];
const JOB_BUCKETS: &[f64] = &[0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0];

/// Counters and histograms not updated for this long leave `/metrics` (and
/// memory) until they are updated again; Prometheus reads the return as a
/// counter reset. Labels come from fixed sets anyway (see
/// `http::record_request_metrics`): this bounds what a label combination
/// seen once keeps.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60 * 60);

/// Installs the process-wide recorder once and hands out its handle.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("http_request_duration_seconds".into()),
                    LATENCY_BUCKETS,
                )
                .expect("valid buckets")
                .set_buckets_for_metric(
                    Matcher::Full("media_job_duration_seconds".into()),
                    JOB_BUCKETS,
                )
                .expect("valid buckets")
                .idle_timeout(
                    MetricKindMask::COUNTER | MetricKindMask::HISTOGRAM,
                    Some(IDLE_TIMEOUT),
                )
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).expect("the metrics recorder is installed once");
            handle
        })
        .clone()
}
