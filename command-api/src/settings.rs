//! The one `Settings` struct of the service: command-line flags with environment fallbacks whose
//! defaults match the local stack. Tests build it directly with `Settings::for_database`.

use std::net::SocketAddr;
use std::time::Duration;

use secrecy::SecretString;

/// Default address, the command API's place in the local stack.
pub const DEFAULT_LISTEN_ADDR: &str = "127.0.0.1:8081";

/// Default database: the command side's role on the local stack's Postgres.
pub const DEFAULT_DATABASE_URL: &str = "postgres://orders_events:orders_events@127.0.0.1:55432/orders";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines with the span fields (correlation id, order id) in front.
    Text,
    /// One JSON object per line, with the fields of every open span.
    Json,
}

/// Everything the service reads from its environment, read once at start.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "command-api", version, about = "HTTP command API of the order system")]
pub struct Settings {
    /// Postgres connection string; the role must own schema `event_store` (migrations run at start).
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, hide_env_values = true, hide_default_value = true)]
    pub database_url: SecretString,

    /// Address and port to listen on.
    #[arg(long, env = "LISTEN_ADDR", default_value = DEFAULT_LISTEN_ADDR)]
    pub listen_addr: SocketAddr,

    /// `text` or `json` log lines.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,

    /// Log filter in `tracing_subscriber::EnvFilter` syntax, for example `info,command_api=debug`.
    #[arg(long, env = "RUST_LOG", default_value = "info")]
    pub log_filter: String,

    /// Store a snapshot of an order every this many events (0 switches snapshots off).
    #[arg(long, env = "SNAPSHOT_EVERY", default_value_t = 50)]
    pub snapshot_every: u32,

    /// A request that takes longer is answered with 503 `service-unavailable`.
    #[arg(long, env = "REQUEST_TIMEOUT_MS", default_value_t = 10_000)]
    pub request_timeout_ms: u64,

    /// Largest request body in bytes; a larger one is answered with 413.
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = 64 * 1024)]
    pub max_body_bytes: usize,

    /// Size of the Postgres connection pool.
    #[arg(long, env = "DB_MAX_CONNECTIONS", default_value_t = 32)]
    pub db_max_connections: u32,

    /// How long a request waits for a pooled connection before it is answered with 503.
    #[arg(long, env = "DB_ACQUIRE_TIMEOUT_MS", default_value_t = 3_000)]
    pub db_acquire_timeout_ms: u64,

    /// Orders whose state is kept in memory after a command, so the next command on them needs no load
    /// (0 switches the cache off). A stale entry only costs a reload: appends check the version.
    #[arg(long, env = "STATE_CACHE_ORDERS", default_value_t = 10_000)]
    pub state_cache_orders: usize,

    /// How often a command without `If-Match` is decided again after losing a race to another writer.
    #[arg(long, env = "MAX_CONFLICT_RETRIES", default_value_t = 5)]
    pub max_conflict_retries: u32,

    /// How long in-flight requests may run on after SIGTERM before the process exits anyway.
    #[arg(long, env = "SHUTDOWN_GRACE_MS", default_value_t = 20_000)]
    pub shutdown_grace_ms: u64,

    /// Hours a stored `Idempotency-Key` response is kept (0: forever). A retry after that still appends
    /// nothing and is answered from the command's record in the event store.
    #[arg(long, env = "IDEMPOTENCY_RETENTION_HOURS", default_value_t = 24)]
    pub idempotency_retention_hours: u64,
}

impl Settings {
    /// The defaults with another database and an ephemeral port, as tests and the benchmark need.
    pub fn for_database(database_url: &str) -> Self {
        Self {
            database_url: SecretString::from(database_url.to_owned()),
            listen_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            log_format: LogFormat::Text,
            log_filter: "info".to_owned(),
            snapshot_every: 50,
            request_timeout_ms: 10_000,
            max_body_bytes: 64 * 1024,
            db_max_connections: 32,
            db_acquire_timeout_ms: 3_000,
            state_cache_orders: 10_000,
            max_conflict_retries: 5,
            shutdown_grace_ms: 20_000,
            idempotency_retention_hours: 24,
        }
    }

    /// The request timeout as a duration.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_flags_are_consistent() {
        Settings::command().debug_assert();
    }

    /// Reads the declared defaults, not the environment, so an exported `LISTEN_ADDR` does not change the answer.
    #[test]
    fn defaults_match_the_local_stack() {
        let command = Settings::command();
        let default_of = |name: &str| {
            command
                .get_arguments()
                .find(|argument| argument.get_id() == name)
                .and_then(|argument| argument.get_default_values().first())
                .and_then(|value| value.to_str())
                .map(str::to_owned)
        };
        assert_eq!(default_of("listen_addr").as_deref(), Some(DEFAULT_LISTEN_ADDR));
        assert_eq!(default_of("database_url").as_deref(), Some(DEFAULT_DATABASE_URL));
        let listen: SocketAddr = DEFAULT_LISTEN_ADDR.parse().expect("a socket address");
        assert_eq!(listen.port(), 8081);
        assert!(Settings::for_database("postgres://x").request_timeout() > Duration::ZERO);
    }
}
