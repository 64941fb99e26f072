//! Settings of the two binaries, read from flags with environment fallbacks (clap). The defaults are the
//! local stack's addresses; `compose.yaml` sets the same variables, which a test checks.

use std::net::SocketAddr;
use std::time::Duration;

use secrecy::SecretString;

use crate::projector::{ProjectorOptions, ORDER_SEARCH, ORDER_VIEWS};
use crate::relay::RelayOptions;
use crate::topology::NatsTopology;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

fn secret(value: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::from(value))
}

/// Where JetStream is and which stream and subjects to use.
#[derive(Debug, Clone, clap::Args)]
pub struct NatsSettings {
    /// NATS server URL.
    #[arg(long, env = "NATS_URL", default_value = "nats://127.0.0.1:14222")]
    pub nats_url: String,
    /// JetStream stream of the order events.
    #[arg(long, env = "NATS_STREAM", default_value = schemas::NATS_STREAM_NAME)]
    pub stream_name: String,
    /// Subject prefix: subjects are `<prefix>.p<NN>.<order_id>.<event name>`.
    #[arg(long, env = "NATS_SUBJECT_PREFIX", default_value = schemas::NATS_SUBJECT_PREFIX)]
    pub subject_prefix: String,
}

impl NatsSettings {
    /// The stream topology these settings name.
    pub fn topology(&self) -> NatsTopology {
        NatsTopology::new(&self.stream_name, &self.subject_prefix)
    }
}

/// Settings of the `relay` binary.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "relay", about = "Publishes the event store's global log to NATS JetStream")]
pub struct RelaySettings {
    /// Postgres URL of a role that may read `event_store` and write `projections` (orders_projections).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, value_parser = secret,
          default_value = "postgres://orders_projections:orders_projections@127.0.0.1:55432/orders")]
    pub database_url: SecretString,
    /// NATS settings.
    #[command(flatten)]
    pub nats: NatsSettings,
    /// Address of the health and metrics endpoint (`/health/live`, `/health/ready`, `/metrics`).
    #[arg(long, env = "LISTEN_ADDR", default_value = "127.0.0.1:8084")]
    pub listen_addr: SocketAddr,
    /// Log line format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Log filter (tracing-subscriber `EnvFilter` syntax).
    #[arg(long, env = "RUST_LOG", default_value = "info")]
    pub log_filter: String,
    /// Most events published per round.
    #[arg(long, env = "RELAY_BATCH_SIZE", default_value_t = 500)]
    pub batch_size: i64,
    /// Longest wait between two polls of an idle event store, in milliseconds.
    #[arg(long, env = "RELAY_MAX_POLL_INTERVAL_MS", default_value_t = 20)]
    pub max_poll_interval_ms: u64,
    /// Seconds between two seals of the stream heads to the `<stream>_SEALS` JetStream stream, which
    /// `ordersctl verify-log --seals` checks; 0 publishes no seals.
    #[arg(long, env = "RELAY_SEAL_INTERVAL_SECS", default_value_t = 10)]
    pub seal_interval_secs: u64,
}

impl RelaySettings {
    /// The relay tuning these settings describe.
    pub fn relay_options(&self) -> RelayOptions {
        RelayOptions {
            batch_size: self.batch_size,
            max_poll_interval: Duration::from_millis(self.max_poll_interval_ms),
            seal_interval: (self.seal_interval_secs > 0).then(|| Duration::from_secs(self.seal_interval_secs)),
            ..RelayOptions::default()
        }
    }
}

/// Settings of the `projections` binary.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "projections", about = "Projects order events into the Postgres read views and the search index")]
pub struct ProjectionsSettings {
    /// Postgres URL of a role that may read `event_store` and write `projections` (orders_projections).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, value_parser = secret,
          default_value = "postgres://orders_projections:orders_projections@127.0.0.1:55432/orders")]
    pub database_url: SecretString,
    /// NATS settings.
    #[command(flatten)]
    pub nats: NatsSettings,
    /// Elasticsearch URL.
    #[arg(long, env = "ELASTICSEARCH_URL", default_value = "http://127.0.0.1:19200")]
    pub elasticsearch_url: String,
    /// Alias of the order search index (readers and the projector use only the alias).
    #[arg(long, env = "ELASTICSEARCH_ALIAS", default_value = schemas::ELASTICSEARCH_ALIAS)]
    pub search_alias: String,
    /// Prefix of the concrete indices behind the alias.
    #[arg(long, env = "ELASTICSEARCH_INDEX_PREFIX", default_value = schemas::ELASTICSEARCH_INDEX_PREFIX)]
    pub search_index_prefix: String,
    /// Refresh interval of new search indices: the longest a write waits until it is searchable.
    #[arg(long, env = "ELASTICSEARCH_REFRESH_INTERVAL", default_value = "250ms")]
    pub search_refresh_interval: String,
    /// Projections to run (comma-separated): `order_views`, `order_search`.
    #[arg(long, env = "PROJECTIONS", value_delimiter = ',', default_value = "order_views,order_search")]
    pub projections: Vec<String>,
    /// Projections to rebuild from position 0 when the service starts (comma-separated, a subset of
    /// PROJECTIONS): a new or changed projection is filled in a shadow copy while the current one keeps
    /// serving, then swapped in. Every start rebuilds again, so unset it once the rebuild is done.
    #[arg(long, env = "PROJECTIONS_REBUILD_ON_START", value_delimiter = ',')]
    pub rebuild_on_start: Vec<String>,
    /// Address of the health and metrics endpoint (`/health/live`, `/health/ready`, `/metrics`).
    #[arg(long, env = "LISTEN_ADDR", default_value = "127.0.0.1:8083")]
    pub listen_addr: SocketAddr,
    /// Log line format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Log filter (tracing-subscriber `EnvFilter` syntax).
    #[arg(long, env = "RUST_LOG", default_value = "info")]
    pub log_filter: String,
    /// Most messages applied per transaction.
    #[arg(long, env = "PROJECTION_BATCH_SIZE", default_value_t = 1_000)]
    pub batch_size: usize,
    /// Attempts at an event before it is dead-lettered and its order parked.
    #[arg(long, env = "PROJECTION_RETRY_BUDGET", default_value_t = 3)]
    pub retry_budget: u32,
    /// Seconds before JetStream redelivers an unacknowledged message.
    #[arg(long, env = "PROJECTION_ACK_WAIT_SECS", default_value_t = 30)]
    pub ack_wait_secs: u64,
}

impl ProjectionsSettings {
    /// The projector tuning these settings describe.
    pub fn projector_options(&self) -> ProjectorOptions {
        ProjectorOptions {
            batch_size: self.batch_size.max(1),
            retry_budget: self.retry_budget.max(1),
            ack_wait: Duration::from_secs(self.ack_wait_secs.max(1)),
            ..ProjectorOptions::default()
        }
    }

    /// Checks the lists of projections.
    pub fn validate(&self) -> Result<(), crate::Error> {
        for name in &self.projections {
            if name != ORDER_VIEWS && name != ORDER_SEARCH {
                return Err(crate::Error::Config(format!(
                    "unknown projection {name:?} (known: {ORDER_VIEWS}, {ORDER_SEARCH})"
                )));
            }
        }
        for name in self.rebuild_on_start.iter().filter(|name| !name.is_empty()) {
            if !self.projections.contains(name) {
                return Err(crate::Error::Config(format!(
                    "PROJECTIONS_REBUILD_ON_START names {name:?}, which is not one of PROJECTIONS ({})",
                    self.projections.join(",")
                )));
            }
        }
        Ok(())
    }
}
