//! Logging (`tracing` with text or JSON lines) and the Prometheus recorder of the `metrics` facade.
//! Metric names are defined here, once.

use std::sync::OnceLock;

use anyhow::Context;
use metrics_exporter_prometheus::Matcher;
use metrics_exporter_prometheus::PrometheusBuilder;
use metrics_exporter_prometheus::PrometheusHandle;
use tracing_subscriber::EnvFilter;

use crate::settings::LogFormat;

/// Requests answered, by `method`, `route` and `status`.
pub(crate) const HTTP_REQUESTS: &str = "query_api_http_requests_total";
/// Request latency in seconds, by `method`, `route` and `status`.
pub(crate) const HTTP_DURATION: &str = "query_api_http_request_duration_seconds";
/// Time a request with a consistency token waited for its projection, by `projection` and `outcome`
/// (`reached`, `timed_out`).
pub(crate) const CONSISTENCY_WAIT: &str = "query_api_consistency_wait_seconds";
/// Requests answered 503 because the projection did not reach the token in time, by `projection`.
pub(crate) const CONSISTENCY_TIMEOUTS: &str = "query_api_consistency_timeouts_total";
/// Latency of Elasticsearch searches in seconds, by `outcome`.
pub(crate) const SEARCH_DURATION: &str = "query_api_search_duration_seconds";
/// Log position (global position part) of each projection's checkpoint as last seen, by `projection`.
pub(crate) const CHECKPOINT_POSITION: &str = "query_api_checkpoint_position";

const LATENCY_BUCKETS: [f64; 14] =
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Installs the global `tracing` subscriber: `filter` in `EnvFilter` syntax, text or JSON lines.
pub fn init_tracing(format: LogFormat, filter: &str) -> anyhow::Result<()> {
    let filter = EnvFilter::try_new(filter).with_context(|| format!("parsing the log filter {filter:?}"))?;
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let result = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(false).with_span_list(true).try_init(),
    };
    result.map_err(|error| anyhow::anyhow!(error)).context("installing the tracing subscriber")
}

/// The process-wide Prometheus recorder, installed on first use.
///
/// When another recorder is already installed (a test binary that embeds several services), the
/// handle still renders, but this service's metrics go to the other recorder.
pub(crate) fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = || {
                PrometheusBuilder::new()
                    .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), &LATENCY_BUCKETS)
                    .unwrap_or_else(|_| PrometheusBuilder::new())
            };
            match builder().install_recorder() {
                Ok(handle) => {
                    describe_metrics();
                    handle
                }
                Err(error) => {
                    tracing::warn!(error = %error, "a metrics recorder is already installed; /metrics shows only its own data");
                    builder().build_recorder().handle()
                }
            }
        })
        .clone()
}

fn describe_metrics() {
    metrics::describe_counter!(HTTP_REQUESTS, "HTTP requests answered, by method, route and status");
    metrics::describe_histogram!(HTTP_DURATION, metrics::Unit::Seconds, "HTTP request latency");
    metrics::describe_histogram!(
        CONSISTENCY_WAIT,
        metrics::Unit::Seconds,
        "Time a request with a consistency token waited for its projection, by projection and outcome"
    );
    metrics::describe_counter!(
        CONSISTENCY_TIMEOUTS,
        "Requests answered 503 because the projection did not reach the consistency token in time"
    );
    metrics::describe_histogram!(SEARCH_DURATION, metrics::Unit::Seconds, "Latency of Elasticsearch searches");
    metrics::describe_gauge!(CHECKPOINT_POSITION, "Global position of each projection's checkpoint as last seen");
}
