//! The error type of every command. The binary wraps it in `anyhow` to print the cause chain;
//! "found a difference" is not an error but an [`Outcome`](crate::Outcome).

use uuid::Uuid;

/// Why a command could not do its job.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Postgres could not be reached or refused the login.
    #[error("connecting to Postgres ({target})")]
    Connect {
        /// Host, port and database, without the password.
        target: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// A query failed.
    #[error("database error")]
    Database(#[from] sqlx::Error),
    /// Running the event store's migrations (before an import) failed.
    #[error("migrating the event store schema")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Reading the event store failed.
    #[error("reading the event store")]
    Read(#[from] event_store::ReadError),
    /// Appending to the event store failed.
    #[error("appending to the event store")]
    Append(#[from] event_store::AppendError),
    /// The projections library failed.
    #[error("projections")]
    Projections(#[from] projections::Error),
    /// Elasticsearch failed or refused a request.
    #[error("Elasticsearch: {0}")]
    Search(String),
    /// Reading or writing a file or a standard stream failed.
    #[error("input/output")]
    Io(#[from] std::io::Error),
    /// A line of an import file is not an exported event.
    #[error("line {line} of the import is not an exported event")]
    ImportLine {
        /// 1-based line number.
        line: u64,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// The import target already holds events.
    #[error("the target event store already holds {events} events; import only into an empty (scratch) store")]
    ImportTargetNotEmpty {
        /// Events found.
        events: i64,
    },
    /// No event was ever appended to this order.
    #[error("order {0} has no events")]
    OrderNotFound(Uuid),
    /// Encoding JSON failed.
    #[error("encoding JSON")]
    Json(#[from] serde_json::Error),
    /// NATS could not be reached or JetStream refused a request.
    #[error("NATS: {0}")]
    Nats(String),
    /// The arguments do not make sense together.
    #[error("{0}")]
    Usage(String),
}
