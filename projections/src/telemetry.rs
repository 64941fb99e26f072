//! Logging set-up of the binaries: `tracing` with an `EnvFilter` (`RUST_LOG`) as text or JSON lines.

use tracing_subscriber::EnvFilter;

use crate::error::Error;
use crate::settings::LogFormat;

/// Installs the global tracing subscriber. JSON lines carry the current span's fields
/// (`event.type`, `event.position`, `order.id`, `correlation.id` of the projected event).
pub fn init_telemetry(format: LogFormat, filter: &str) -> Result<(), Error> {
    let filter = EnvFilter::try_new(filter).map_err(|error| Error::Config(format!("RUST_LOG {filter:?}: {error}")))?;
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let installed = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).with_span_list(false).try_init(),
    };
    installed.map_err(|error| Error::Config(format!("installing the log subscriber: {error}")))
}
