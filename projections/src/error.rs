//! The library's error type. Binaries wrap it in `anyhow`; the library itself only classifies:
//! transient failures are retried in place, everything else is returned.

/// What went wrong in the relay, a projector, a catch-up, a retry or a rebuild.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Postgres failed.
    #[error("database error")]
    Database(#[from] sqlx::Error),
    /// Running the migrations of schema `projections` failed.
    #[error("migrating schema projections")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Reading the event store failed.
    #[error("reading the event store")]
    EventStore(#[from] event_store::ReadError),
    /// NATS or JetStream failed (connection, stream or consumer API, publish acknowledgement).
    #[error("NATS: {0}")]
    Nats(String),
    /// Elasticsearch failed or refused a request.
    #[error("Elasticsearch: {message}")]
    Search {
        /// What failed, in words.
        message: String,
        /// True for overload (429), server errors and lost connections: the same request may succeed later.
        transient: bool,
    },
    /// A setting or argument is invalid.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The operation was stopped by the shutdown signal.
    #[error("shut down")]
    ShutDown,
    /// Another maintenance job (rebuild, verification) holds the projection's maintenance lock.
    #[error("another rebuild or verification of {projection} is running; try again when it has finished")]
    Busy {
        /// The projection.
        projection: String,
    },
}

impl Error {
    /// True for failures after which retrying the same operation may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Database(error) => is_transient_database(error),
            Error::EventStore(error) => error.is_retryable(),
            Error::Nats(_) => true,
            Error::Search { transient, .. } => *transient,
            Error::Migrate(_) | Error::Config(_) | Error::ShutDown | Error::Busy { .. } => false,
        }
    }

    pub(crate) fn search(message: impl Into<String>, transient: bool) -> Self {
        Error::Search { message: message.into(), transient }
    }
}

/// Transient database failures: lost connections, pool timeouts, serialization failures, deadlocks,
/// server shutting down or not accepting connections yet.
pub(crate) fn is_transient_database(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => true,
        sqlx::Error::Database(database_error) => matches!(
            database_error.code().as_deref(),
            Some("40001" | "40P01" | "57P01" | "57P02" | "57P03" | "53300" | "55P03" | "08006" | "08003" | "08001")
        ),
        _ => false,
    }
}
