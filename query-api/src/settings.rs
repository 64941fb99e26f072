//! The one `Settings` struct of the service: command-line flags with environment fallbacks whose
//! defaults match the local stack. Tests build it directly with `Settings::for_database`.

use std::net::SocketAddr;
use std::time::Duration;

use secrecy::SecretString;

/// Default address, the query API's place in the local stack.
pub const DEFAULT_LISTEN_ADDR: &str = "127.0.0.1:8082";

/// Default database: the read-only query role on the local stack's Postgres.
pub const DEFAULT_DATABASE_URL: &str = "postgres://orders_query:orders_query@127.0.0.1:55432/orders";

/// Default Elasticsearch of the local stack.
pub const DEFAULT_ELASTICSEARCH_URL: &str = "http://127.0.0.1:19200";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines with the span fields (correlation id) in front.
    Text,
    /// One JSON object per line, with the fields of every open span.
    Json,
}

/// Everything the service reads from its environment, read once at start.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "query-api", version, about = "HTTP query API of the order system")]
pub struct Settings {
    /// Postgres connection string. Every session is read-only whatever the role; the `orders_query` role
    /// may only read the schemas `projections` and `event_store`.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, hide_env_values = true, hide_default_value = true)]
    pub database_url: SecretString,

    /// Elasticsearch base URL.
    #[arg(long, env = "ELASTICSEARCH_URL", default_value = DEFAULT_ELASTICSEARCH_URL)]
    pub elasticsearch_url: String,

    /// Alias the search reads (the projector writes through the same alias).
    #[arg(long, env = "SEARCH_ALIAS", default_value = schemas::ELASTICSEARCH_ALIAS)]
    pub search_alias: String,

    /// Address and port to listen on.
    #[arg(long, env = "LISTEN_ADDR", default_value = DEFAULT_LISTEN_ADDR)]
    pub listen_addr: SocketAddr,

    /// `text` or `json` log lines.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,

    /// Log filter in `tracing_subscriber::EnvFilter` syntax, for example `info,query_api=debug`.
    #[arg(long, env = "RUST_LOG", default_value = "info")]
    pub log_filter: String,

    /// Longest a request with a consistency token waits for the projection to reach it before it is
    /// answered with 503 `not-yet-consistent`.
    #[arg(long, env = "CONSISTENCY_WAIT_MS", default_value_t = 2_000)]
    pub consistency_wait_ms: u64,

    /// A request that takes longer is answered with 503 `service-unavailable`; also the Postgres
    /// statement timeout and the Elasticsearch request timeout.
    #[arg(long, env = "REQUEST_TIMEOUT_MS", default_value_t = 5_000)]
    pub request_timeout_ms: u64,

    /// Size of the Postgres connection pool.
    #[arg(long, env = "DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,

    /// How long a request waits for a pooled connection before it is answered with 503.
    #[arg(long, env = "DB_ACQUIRE_TIMEOUT_MS", default_value_t = 2_000)]
    pub db_acquire_timeout_ms: u64,

    /// How long in-flight requests may run on after SIGTERM before the process exits anyway.
    #[arg(long, env = "SHUTDOWN_GRACE_MS", default_value_t = 10_000)]
    pub shutdown_grace_ms: u64,
}

impl Settings {
    /// The defaults with another database and an ephemeral port, as tests and the benchmark need.
    pub fn for_database(database_url: &str) -> Self {
        Self {
            database_url: SecretString::from(database_url.to_owned()),
            elasticsearch_url: DEFAULT_ELASTICSEARCH_URL.to_owned(),
            search_alias: schemas::ELASTICSEARCH_ALIAS.to_owned(),
            listen_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            log_format: LogFormat::Text,
            log_filter: "info".to_owned(),
            consistency_wait_ms: 2_000,
            request_timeout_ms: 5_000,
            db_max_connections: 16,
            db_acquire_timeout_ms: 2_000,
            shutdown_grace_ms: 10_000,
        }
    }

    /// The request timeout as a duration.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    /// The read-your-writes wait as a duration.
    pub fn consistency_wait(&self) -> Duration {
        Duration::from_millis(self.consistency_wait_ms)
    }

    /// Refuses combinations that cannot work: the consistency wait must end well before the request timeout,
    /// so that a stale projection is answered with 503 `not-yet-consistent` rather than a timeout.
    pub fn validate(&self) -> Result<(), String> {
        if self.request_timeout_ms == 0 {
            return Err("REQUEST_TIMEOUT_MS must be positive".to_owned());
        }
        if self.consistency_wait_ms >= self.request_timeout_ms {
            return Err(format!(
                "CONSISTENCY_WAIT_MS ({}) must be below REQUEST_TIMEOUT_MS ({})",
                self.consistency_wait_ms, self.request_timeout_ms
            ));
        }
        if self.db_max_connections == 0 {
            return Err("DB_MAX_CONNECTIONS must be positive".to_owned());
        }
        if self.search_alias.trim().is_empty() {
            return Err("SEARCH_ALIAS must not be empty".to_owned());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;
    use clap::Parser;

    use super::*;

    #[test]
    fn the_flags_are_consistent() {
        Settings::command().debug_assert();
    }

    #[test]
    fn defaults_match_the_local_stack() {
        let settings = Settings::try_parse_from(["query-api"]).expect("defaults parse");
        assert_eq!(settings.listen_addr.port(), 8082);
        assert_eq!(settings.search_alias, "orders");
        // The environment may point the tests at another stack, so read the declared default.
        let declared_default = Settings::command()
            .get_arguments()
            .find(|argument| argument.get_id() == "elasticsearch_url")
            .and_then(|argument| argument.get_default_values().first().cloned())
            .expect("ELASTICSEARCH_URL has a default");
        assert_eq!(declared_default, "http://127.0.0.1:19200");
        assert_eq!(settings.consistency_wait(), Duration::from_secs(2));
        assert_eq!(settings.validate(), Ok(()));
    }

    #[test]
    fn a_consistency_wait_longer_than_the_request_timeout_is_refused() {
        let mut settings = Settings::for_database("postgres://unused");
        settings.consistency_wait_ms = 6_000;
        assert!(settings.validate().is_err());
    }
}
