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
pub(crate) const HTTP_REQUESTS: &str = "command_api_http_requests_total";
/// Request latency in seconds, by `method`, `route` and `status`.
pub(crate) const HTTP_DURATION: &str = "command_api_http_request_duration_seconds";
/// Version conflicts while appending, by `outcome` (`retried`, `exhausted`, `precondition_failed`).
pub(crate) const CONFLICTS: &str = "command_api_conflicts_total";
/// Appends, by `command` and `result` (`appended`, `deduplicated`, `no_events`).
pub(crate) const APPENDS: &str = "command_api_appends_total";
/// Events appended, by `command`.
pub(crate) const EVENTS_APPENDED: &str = "command_api_events_appended_total";
/// Time spent in the event store's append, in seconds.
pub(crate) const APPEND_DURATION: &str = "command_api_append_duration_seconds";
/// Events folded after the snapshot when loading an order.
pub(crate) const EVENTS_REPLAYED: &str = "command_api_load_events_replayed";
/// Responses replayed from an idempotency key.
pub(crate) const IDEMPOTENT_REPLAYS: &str = "command_api_idempotent_replays_total";
/// Snapshots stored, by `result` (`saved`, `skipped`, `failed`).
pub(crate) const SNAPSHOTS: &str = "command_api_snapshots_total";

const LATENCY_BUCKETS: [f64; 14] =
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
const COUNT_BUCKETS: [f64; 9] = [0.0, 1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 1000.0];

/// Installs the global `tracing` subscriber: `filter` in `EnvFilter` syntax, text or JSON lines.
///
/// JSON lines carry the fields of every open span, so the request span's `correlation.id` is on each line.
pub fn init_tracing(format: LogFormat, filter: &str) -> anyhow::Result<()> {
    let filter = EnvFilter::try_new(filter).with_context(|| format!("parsing the log filter {filter:?}"))?;
    tracing::subscriber::set_global_default(subscriber(format, filter, std::io::stdout))
        .context("installing the tracing subscriber")
}

/// The subscriber of `init_tracing`, writing to `writer`.
pub(crate) fn subscriber<W>(
    format: LogFormat,
    filter: EnvFilter,
    writer: W,
) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'writer> tracing_subscriber::fmt::MakeWriter<'writer> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer);
    match format {
        LogFormat::Text => Box::new(builder.finish()),
        LogFormat::Json => {
            Box::new(builder.json().flatten_event(true).with_current_span(false).with_span_list(true).finish())
        }
    }
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
                    .and_then(|builder| {
                        builder.set_buckets_for_metric(Matcher::Full(EVENTS_REPLAYED.to_owned()), &COUNT_BUCKETS)
                    })
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
    metrics::describe_counter!(CONFLICTS, "Version conflicts while appending, by outcome");
    metrics::describe_counter!(APPENDS, "Commands that reached the event store, by command and result");
    metrics::describe_counter!(EVENTS_APPENDED, "Events appended, by command");
    metrics::describe_histogram!(APPEND_DURATION, metrics::Unit::Seconds, "Latency of the event-store append");
    metrics::describe_histogram!(EVENTS_REPLAYED, "Events folded on top of the snapshot when loading an order");
    metrics::describe_counter!(IDEMPOTENT_REPLAYS, "Responses replayed for a repeated Idempotency-Key");
    metrics::describe_counter!(SNAPSHOTS, "Snapshots of orders, by result");
}
