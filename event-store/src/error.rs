//! The error types of the store, one per kind of operation.

use uuid::Uuid;

/// Why an append wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    /// The stream's version is not the expected one (`expected` 0 means `NoStream`).
    /// Also returned when a concurrent append took the same version first (unique violation).
    #[error("stream version conflict: expected version {expected}, the stream is at version {actual}")]
    Conflict {
        /// The version the caller expected.
        expected: i64,
        /// The stream's version when the append was refused.
        actual: i64,
    },
    /// The append contained no events.
    #[error("an append needs at least one event")]
    EmptyBatch,
    /// More events than [`MAX_EVENTS_PER_APPEND`](crate::MAX_EVENTS_PER_APPEND).
    #[error("{count} events in one append, at most {max} are allowed")]
    TooManyEvents {
        /// The number of events given.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// An event's canonical payload is larger than [`MAX_PAYLOAD_BYTES`](crate::MAX_PAYLOAD_BYTES).
    #[error("payload of event {event_id} is {size} bytes, at most {max} are allowed")]
    PayloadTooLarge {
        /// The offending event.
        event_id: Uuid,
        /// Its canonical size in bytes.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// An event's payload is not a JSON object.
    #[error("payload of event {event_id} is not a JSON object")]
    PayloadNotObject {
        /// The offending event.
        event_id: Uuid,
    },
    /// An event is malformed in another way (id not a UUID v7, empty or long type, NUL character, ...).
    #[error("event {event_id} is invalid: {reason}")]
    InvalidEvent {
        /// The offending event.
        event_id: Uuid,
        /// What is wrong, in words.
        reason: String,
    },
    /// The metadata is not storable (too large or containing a NUL character).
    #[error("metadata is invalid: {reason}")]
    InvalidMetadata {
        /// What is wrong, in words.
        reason: String,
    },
    /// The stream exists with another stream type.
    #[error("stream {stream_id} has type {stored:?}, not {given:?}")]
    StreamTypeMismatch {
        /// The stream.
        stream_id: Uuid,
        /// Its stored type.
        stored: String,
        /// The type given to the append.
        given: String,
    },
    /// The command id was already used for an append to another stream.
    #[error("command {command_id} already appended to stream {stream_id}")]
    CommandIdReused {
        /// The command id.
        command_id: Uuid,
        /// The stream its original append went to.
        stream_id: Uuid,
    },
    /// An event id of the batch is already stored.
    #[error("event id {event_id} is already stored")]
    DuplicateEventId {
        /// The duplicated id.
        event_id: Uuid,
    },
    /// Encoding an envelope to canonical JSON failed.
    #[error("encoding the event envelope")]
    Encode(#[source] serde_json::Error),
    /// The database failed; see [`AppendError::is_retryable`].
    #[error("database error during append")]
    Database(#[from] sqlx::Error),
}

impl AppendError {
    /// True for transient failures (pool timeout, lost connection, serialization failure, deadlock)
    /// after which the same append may succeed; the command id makes retrying it safe.
    pub fn is_retryable(&self) -> bool {
        matches!(self, AppendError::Database(error) if is_transient(error))
    }
}

/// Why a read failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// No event was ever appended to this stream.
    #[error("stream {stream_id} not found")]
    StreamNotFound {
        /// The stream.
        stream_id: Uuid,
    },
    /// A stored row could not be decoded (for example its metadata does not have the expected shape).
    #[error("decoding stored event at global position {global_position}: {reason}")]
    Decode {
        /// The row's global position.
        global_position: i64,
        /// What failed, in words.
        reason: String,
    },
    /// The database failed; see [`ReadError::is_retryable`].
    #[error("database error during read")]
    Database(#[from] sqlx::Error),
}

impl ReadError {
    /// True for transient failures (pool timeout, lost connection) after which the read may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, ReadError::Database(error) if is_transient(error))
    }
}

/// Why a snapshot was not stored.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// No event was ever appended to this stream.
    #[error("stream {stream_id} not found")]
    StreamNotFound {
        /// The stream.
        stream_id: Uuid,
    },
    /// The snapshot's version is below 1 or past the stream's current version.
    #[error("snapshot version {version} is outside 1..={stream_version} of the stream")]
    VersionOutOfRange {
        /// The snapshot's version.
        version: i64,
        /// The stream's current version.
        stream_version: i64,
    },
    /// The database failed.
    #[error("database error while storing a snapshot")]
    Database(#[from] sqlx::Error),
}

/// Why an idempotency response could not be stored or read.
#[derive(Debug, thiserror::Error)]
pub enum IdempotencyError {
    /// The key is empty or longer than 255 bytes, or the status is not an HTTP status.
    #[error("invalid idempotency record: {reason}")]
    Invalid {
        /// What is wrong, in words.
        reason: String,
    },
    /// The key is already stored for a request with another fingerprint.
    #[error("idempotency key {key:?} was already used for a different request")]
    FingerprintMismatch {
        /// The key.
        key: String,
    },
    /// The database failed.
    #[error("database error on idempotency keys")]
    Database(#[from] sqlx::Error),
}

/// Transient database failures: retrying the same operation may succeed.
pub(crate) fn is_transient(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) => true,
        sqlx::Error::Database(database_error) => matches!(
            database_error.code().as_deref(),
            // serialization_failure, deadlock_detected, admin_shutdown, cannot_connect_now, too_many_connections
            Some("40001" | "40P01" | "57P01" | "57P03" | "53300")
        ),
        _ => false,
    }
}
