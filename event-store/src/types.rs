//! The data types of the store's API: what an append takes and returns, and what reads hand out.
//! The store knows no domain: payloads are JSON objects typed only by `event_type` and `schema_version`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::position::{ConsistencyToken, LogPosition};

/// Identifies a stream: its id and its type (for example `order`).
///
/// A stream's type is fixed by its first append; appending with another type is refused.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StreamRef {
    /// The stream id, usually the aggregate id.
    pub id: Uuid,
    /// The stream type, usually the aggregate type.
    pub stream_type: String,
}

impl StreamRef {
    /// Makes a stream reference.
    pub fn new(id: Uuid, stream_type: impl Into<String>) -> Self {
        Self { id, stream_type: stream_type.into() }
    }
}

/// What the caller believes the stream's current version is.
///
/// Versions start at 1; a stream without events has version 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExpectedVersion {
    /// No expectation: the events go after whatever the stream holds.
    Any,
    /// The stream must have no events yet (the same as `Exact(0)`).
    NoStream,
    /// The stream's last version must be exactly this.
    Exact(i64),
}

/// An event to append.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewEvent {
    /// A UUID v7 chosen by the caller; unique across the store.
    pub event_id: Uuid,
    /// The event type, for example `order.placed` (1 to 200 characters).
    pub event_type: String,
    /// The version of the payload's schema for this event type.
    pub schema_version: i32,
    /// The event's data: a JSON object of at most [`MAX_PAYLOAD_BYTES`](crate::MAX_PAYLOAD_BYTES)
    /// in canonical form, without NUL characters (Postgres `jsonb` cannot store them).
    pub payload: Value,
}

impl NewEvent {
    /// Makes an event with a fresh UUID v7 as its id.
    pub fn new(event_type: impl Into<String>, schema_version: i32, payload: Value) -> Self {
        Self { event_id: Uuid::now_v7(), event_type: event_type.into(), schema_version, payload }
    }
}

/// Audit metadata stored with every event of an append.
///
/// `command_id` is also the idempotency key of the append: a command id is stored at most once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// The id of the command that produced the events; unique across the store.
    pub command_id: Uuid,
    /// Ties together everything one user action caused (HTTP request, events, projections).
    pub correlation_id: String,
    /// The id of the message that directly caused this command, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<String>,
    /// Who issued the command, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// Anything else an audit needs (client address, user agent, ...).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub extra: Map<String, Value>,
}

impl Metadata {
    /// Metadata with the given command id, the command id as correlation id, and nothing else.
    pub fn for_command(command_id: Uuid) -> Self {
        Self { command_id, correlation_id: command_id.to_string(), causation_id: None, actor: None, extra: Map::new() }
    }
}

/// Where one appended event landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendedEvent {
    /// The event's id.
    pub event_id: Uuid,
    /// Its version in the stream.
    pub version: i64,
    /// Its global position.
    pub global_position: i64,
}

/// The result of an append (or, when `deduplicated`, of the original append of the same command).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendResult {
    /// The stream the events were appended to.
    pub stream_id: Uuid,
    /// The version of the first appended event.
    pub first_version: i64,
    /// The version of the last appended event: the stream's version right after the append.
    pub last_version: i64,
    /// The global position of the last appended event.
    pub last_position: i64,
    /// The consistency token of the append: `(transaction id, last_position)`.
    pub token: ConsistencyToken,
    /// Every appended event, in version order.
    pub events: Vec<AppendedEvent>,
    /// True when the command id was already stored and nothing was written.
    pub deduplicated: bool,
}

/// An event as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedEvent {
    /// Unique across all streams; assigned at insert, so not in commit order (see [`LogPosition`]).
    pub global_position: i64,
    /// The `xid8` of the transaction that appended it.
    pub transaction_id: u64,
    /// The stream id.
    pub stream_id: Uuid,
    /// The stream type.
    pub stream_type: String,
    /// The version in the stream, from 1 without holes.
    pub version: i64,
    /// The event id (UUID v7).
    pub event_id: Uuid,
    /// The event type.
    pub event_type: String,
    /// The payload's schema version.
    pub schema_version: i32,
    /// The payload (a JSON object).
    pub payload: Value,
    /// The metadata of the append that wrote it.
    pub metadata: Metadata,
    /// When the append was made (microsecond precision, clock of the appending process).
    pub recorded_at: DateTime<Utc>,
    /// SHA-256 of the previous event's hash in the stream and this event's canonical envelope, hex-encoded.
    #[serde(with = "hex_hash")]
    pub hash: [u8; 32],
}

impl RecordedEvent {
    /// The event's place in the global log, usable as a checkpoint.
    pub fn log_position(&self) -> LogPosition {
        LogPosition::new(self.transaction_id, self.global_position)
    }
}

/// A stored aggregate snapshot: a cache of the state after `version`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The stream it belongs to.
    pub stream_id: Uuid,
    /// The stream version the state reflects.
    pub version: i64,
    /// The version of the state's schema; a reader ignores snapshots of other versions.
    pub schema_version: i32,
    /// The state.
    pub state: Value,
    /// When it was stored.
    pub taken_at: DateTime<Utc>,
}

/// A stream loaded for a command: the latest usable snapshot and the events after it.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedStream {
    /// The snapshot to start from, if one of the requested schema version exists.
    pub snapshot: Option<Snapshot>,
    /// The events after the snapshot (or all events), in version order.
    pub events: Vec<RecordedEvent>,
    /// The stream's current version (0 for a stream without events): pass it as `ExpectedVersion::Exact`.
    pub version: i64,
}

/// What [`EventStore::verify`](crate::EventStore::verify) found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyReport {
    /// How many streams were walked.
    pub streams_checked: u64,
    /// How many events were walked.
    pub events_checked: u64,
    /// The first broken event of each broken stream, in stream id order; empty when all is intact.
    pub failures: Vec<VerifyFailure>,
}

impl VerifyReport {
    /// True when no failure was found.
    pub fn is_intact(&self) -> bool {
        self.failures.is_empty()
    }
}

/// The first event of a stream that does not match its hash chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyFailure {
    /// The stream.
    pub stream_id: Uuid,
    /// The version of the offending row.
    pub version: i64,
    /// The global position of the offending row.
    pub global_position: i64,
    /// The event id of the offending row.
    pub event_id: Uuid,
    /// What does not match.
    pub kind: VerifyFailureKind,
}

/// How an event fails verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum VerifyFailureKind {
    /// The versions are not 1, 2, 3, ...: an event is missing or duplicated before this one.
    VersionSequence {
        /// The version that should have come next.
        expected: i64,
        /// The version found.
        found: i64,
    },
    /// The row's columns (payload, metadata, type, ...) differ from the envelope bytes that were hashed.
    EnvelopeMismatch,
    /// The stored hash is not SHA-256 of the previous hash and the stored envelope.
    HashMismatch,
}

/// A stored HTTP response for an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotentResponse {
    /// The client's idempotency key (1 to 255 bytes).
    pub key: String,
    /// A fingerprint of the request (for example a hash of method, path and body), to refuse key reuse
    /// with a different request.
    pub request_fingerprint: String,
    /// The HTTP status of the response.
    pub status: u16,
    /// The response's content type.
    pub content_type: String,
    /// The response body.
    pub body: Vec<u8>,
    /// When it was stored.
    pub created_at: DateTime<Utc>,
}

pub(crate) mod hex_hash {
    //! Serialises a 32-byte hash as lowercase hex.

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(hash: &[u8; 32], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex::encode(hash))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(deserializer)?;
        let mut hash = [0u8; 32];
        hex::decode_to_slice(text, &mut hash).map_err(serde::de::Error::custom)?;
        Ok(hash)
    }
}
