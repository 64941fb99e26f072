//! `EventStore`: the append path (one statement, one implicit transaction) and the reads of streams
//! and of the gap-safe global log. Snapshots, verification, subscriptions and HTTP idempotency
//! records live in their own modules as further `impl EventStore` blocks.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::postgres::{PgPool, PgRow};
use sqlx::Row;
use tokio::sync::watch;
use uuid::Uuid;

use crate::envelope::{canonical, canonical_value, EnvelopeFields};
use crate::error::{AppendError, ReadError};
use crate::position::LogPosition;
use crate::types::{AppendResult, AppendedEvent, ExpectedVersion, Metadata, NewEvent, RecordedEvent, StreamRef};

/// The largest payload of one event, measured as its RFC 8785 canonical JSON: 256 KiB.
///
/// Order events are a few KiB; the limit keeps one event well inside a NATS message (1 MiB by default).
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

/// The largest canonical metadata of one append: 16 KiB.
pub const MAX_METADATA_BYTES: usize = 16 * 1024;

/// The most events one append may carry.
pub const MAX_EVENTS_PER_APPEND: usize = 1_000;

/// The most rows one read returns; larger limits are reduced to this.
pub const MAX_READ_BATCH: i64 = 10_000;

/// How many times an `ExpectedVersion::Any` append re-reads the stream head after losing a race.
const ANY_VERSION_ATTEMPTS: usize = 16;

/// The INSERT statements of an append. Parameters: $1 stream id, $2 stream type, $3 expected version,
/// $4..$7 event id, type, schema version, payload (arrays for a batch), $8 metadata, $9 recorded at,
/// $10 command id (stored on the first event only), $11 envelope(s). They return (version, position, xid).
/// The `..._AFTER` forms read the hash of version $3 and insert nothing when it does not exist.
/// `OFFSET 0` keeps the planner from pulling the chain subquery up, which would compute the chain once per row.
const INSERT_ONE_AFTER: &str = "INSERT INTO event_store.events \
        (stream_id, stream_type, version, event_id, event_type, schema_version, payload, metadata, recorded_at, \
         command_id, envelope, hash) \
     SELECT $1, $2, $3 + 1, $4, $5, $6, $7, $8, $9, $10, $11, sha256(previous.hash || $11) \
       FROM event_store.events previous \
      WHERE previous.stream_id = $1 AND previous.version = $3 AND previous.stream_type = $2 \
     RETURNING version, global_position, transaction_id::text::bigint";
const INSERT_ONE_NEW: &str = "INSERT INTO event_store.events \
        (stream_id, stream_type, version, event_id, event_type, schema_version, payload, metadata, recorded_at, \
         command_id, envelope, hash) \
     VALUES ($1, $2, $3 + 1, $4, $5, $6, $7, $8, $9, $10, $11, \
             sha256('\\x0000000000000000000000000000000000000000000000000000000000000000'::bytea || $11)) \
     RETURNING version, global_position, transaction_id::text::bigint";
const INSERT_MANY_AFTER: &str = "INSERT INTO event_store.events \
        (stream_id, stream_type, version, event_id, event_type, schema_version, payload, metadata, recorded_at, \
         command_id, envelope, hash) \
     SELECT $1, $2, $3 + u.ord, u.event_id, u.event_type, u.schema_version, u.payload, $8, $9, \
            CASE WHEN u.ord = 1 THEN $10::uuid END, u.envelope, chain.hashes[u.ord] \
       FROM (SELECT event_store.chain_hashes(previous.hash, $11) AS hashes \
               FROM event_store.events previous \
              WHERE previous.stream_id = $1 AND previous.version = $3 AND previous.stream_type = $2 \
             OFFSET 0) chain, \
            unnest($4::uuid[], $5::text[], $6::integer[], $7::jsonb[], $11::bytea[]) \
                WITH ORDINALITY AS u(event_id, event_type, schema_version, payload, envelope, ord) \
      ORDER BY u.ord \
     RETURNING version, global_position, transaction_id::text::bigint";
const INSERT_MANY_NEW: &str = "INSERT INTO event_store.events \
        (stream_id, stream_type, version, event_id, event_type, schema_version, payload, metadata, recorded_at, \
         command_id, envelope, hash) \
     SELECT $1, $2, $3 + u.ord, u.event_id, u.event_type, u.schema_version, u.payload, $8, $9, \
            CASE WHEN u.ord = 1 THEN $10::uuid END, u.envelope, chain.hashes[u.ord] \
       FROM (SELECT event_store.chain_hashes('\\x0000000000000000000000000000000000000000000000000000000000000000'::bytea, $11) \
                AS hashes OFFSET 0) chain, \
            unnest($4::uuid[], $5::text[], $6::integer[], $7::jsonb[], $11::bytea[]) \
                WITH ORDINALITY AS u(event_id, event_type, schema_version, payload, envelope, ord) \
      ORDER BY u.ord \
     RETURNING version, global_position, transaction_id::text::bigint";

const EVENT_COLUMNS: &str = "global_position, transaction_id::text::bigint AS transaction_id, stream_id, \
     stream_type, version, event_id, event_type, schema_version, payload, metadata, recorded_at, hash";

/// The event store: a cheap-to-clone handle on a Postgres pool.
///
/// Clones share the pool and the in-process wake-up channel of subscriptions.
/// The pool's role needs `SELECT` on schema `event_store` for reads, `INSERT` on `event_store.events`
/// for appends, and write access to `event_store.snapshots` and `event_store.idempotency_keys` for those;
/// no superuser rights. Run [`MIGRATOR`](crate::MIGRATOR) first.
#[derive(Debug, Clone)]
pub struct EventStore {
    pub(crate) pool: PgPool,
    /// The newest token this process appended; subscriptions wake up when it changes.
    pub(crate) appended: Arc<watch::Sender<LogPosition>>,
}

impl EventStore {
    /// Wraps a pool. Does no IO.
    pub fn new(pool: PgPool) -> Self {
        Self { pool, appended: Arc::new(watch::Sender::new(LogPosition::START)) }
    }

    /// The underlying pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Appends `events` to `stream` atomically, with consecutive versions, or writes nothing.
    ///
    /// - `expected` is checked against the stream's last version; a mismatch returns
    ///   [`AppendError::Conflict`] with the actual version.
    ///   A concurrent append that took the same version first (a unique violation on `(stream_id, version)`)
    ///   is also reported as `Conflict`.
    ///   With `ExpectedVersion::Any` the store retries such races itself.
    /// - `metadata.command_id` makes the append idempotent: if it is already stored, nothing is written and
    ///   the original result is returned with `deduplicated: true` (even if the stream has moved on since).
    ///   A command id stored for another stream is [`AppendError::CommandIdReused`].
    /// - A stream keeps the type of its first append ([`AppendError::StreamTypeMismatch`]); an event id that
    ///   is already stored under another command is [`AppendError::DuplicateEventId`].
    /// - Invalid input is refused before any IO: empty batch, more than [`MAX_EVENTS_PER_APPEND`] events,
    ///   a payload that is not a JSON object or larger than [`MAX_PAYLOAD_BYTES`], an event id that is not a
    ///   UUID v7, an empty or overlong event type, NUL characters.
    ///
    /// The append runs as one INSERT statement in its own transaction, so it is always the first write of
    /// that transaction, as the gap-safe global log requires. It takes no global lock, and it extends the
    /// stream's hash chain in the same statement. Transient database failures are
    /// [`AppendError::Database`] with [`AppendError::is_retryable`] true; retrying with the same command id
    /// is safe. Subscriptions of this process are woken after a successful append.
    #[tracing::instrument(
        skip_all,
        fields(stream.id = %stream.id, stream.type = %stream.stream_type, command.id = %metadata.command_id, events = events.len()),
        err(level = "debug")
    )]
    pub async fn append(
        &self,
        stream: &StreamRef,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
        metadata: &Metadata,
    ) -> Result<AppendResult, AppendError> {
        let prepared = PreparedAppend::new(stream, &events, metadata)?;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let expected_version = match expected {
                ExpectedVersion::Exact(version) => version,
                ExpectedVersion::NoStream => 0,
                ExpectedVersion::Any => self.fetch_stream_version(stream.id).await?,
            };
            match self.insert_events(stream, expected_version, &events, metadata, &prepared).await {
                Ok(Some(result)) => {
                    self.appended.send_if_modified(|newest| {
                        let is_newer = result.token > *newest;
                        if is_newer {
                            *newest = result.token;
                        }
                        is_newer
                    });
                    return Ok(result);
                }
                // The stream is not at `expected_version`, or has another type: explained below.
                Ok(None) => {}
                Err(error) => match unique_violation(&error) {
                    // A concurrent append took the version, or this command id is stored already.
                    Some("events_stream_version_key" | "events_command_id_key") => {}
                    Some("events_event_id_key") => {
                        if let Some(original) = self.command_result(metadata.command_id).await? {
                            return original_result(original, stream, metadata);
                        }
                        let event_id = self.stored_event_id(&events).await?.unwrap_or(events[0].event_id);
                        return Err(AppendError::DuplicateEventId { event_id });
                    }
                    _ => return Err(AppendError::Database(error)),
                },
            }
            // Nothing was written. A stored command id wins (idempotency); otherwise the stream head says why.
            if let Some(original) = self.command_result(metadata.command_id).await? {
                return original_result(original, stream, metadata);
            }
            let head = self.fetch_stream_head(stream.id).await?;
            if let Some((_, stored_type)) = head.as_ref().filter(|(_, stored_type)| *stored_type != stream.stream_type)
            {
                return Err(AppendError::StreamTypeMismatch {
                    stream_id: stream.id,
                    stored: stored_type.clone(),
                    given: stream.stream_type.clone(),
                });
            }
            let actual = head.map_or(0, |(version, _)| version);
            // `Any` re-reads the head and tries again; `Exact` only when the head it missed has just committed.
            let may_retry = match expected {
                ExpectedVersion::Any => attempts < ANY_VERSION_ATTEMPTS,
                ExpectedVersion::NoStream | ExpectedVersion::Exact(_) => actual == expected_version && attempts < 3,
            };
            if !may_retry {
                return Err(AppendError::Conflict { expected: expected_version, actual });
            }
        }
    }

    /// One INSERT statement (so one implicit transaction, and the append is its first write): it reads the
    /// hash of version `expected_version` and inserts the events after it. Returns `None` when it inserted
    /// nothing because that version does not exist or the stream has another type; a concurrent append of
    /// the same version or command id fails with a unique violation.
    async fn insert_events(
        &self,
        stream: &StreamRef,
        expected_version: i64,
        events: &[NewEvent],
        metadata: &Metadata,
        prepared: &PreparedAppend,
    ) -> Result<Option<AppendResult>, sqlx::Error> {
        let mut envelopes = Vec::with_capacity(events.len());
        for (offset, (event, canonical_payload)) in events.iter().zip(&prepared.canonical_payloads).enumerate() {
            let fields = EnvelopeFields {
                stream_id: stream.id,
                stream_type: &stream.stream_type,
                version: expected_version + 1 + offset as i64,
                event_id: event.event_id,
                event_type: &event.event_type,
                schema_version: event.schema_version,
                canonical_payload,
                canonical_metadata: &prepared.canonical_metadata,
                recorded_at: prepared.recorded_at,
            };
            envelopes.push(fields.to_bytes().map_err(|error| sqlx::Error::Encode(Box::new(error)))?);
        }
        let is_new_stream = expected_version == 0;
        let query = match events {
            [event] => sqlx::query(if is_new_stream { INSERT_ONE_NEW } else { INSERT_ONE_AFTER })
                .bind(stream.id)
                .bind(&stream.stream_type)
                .bind(expected_version)
                .bind(event.event_id)
                .bind(&event.event_type)
                .bind(event.schema_version)
                .bind(&event.payload)
                .bind(sqlx::types::Json(metadata))
                .bind(prepared.recorded_at)
                .bind(metadata.command_id)
                .bind(envelopes.pop()),
            _ => sqlx::query(if is_new_stream { INSERT_MANY_NEW } else { INSERT_MANY_AFTER })
                .bind(stream.id)
                .bind(&stream.stream_type)
                .bind(expected_version)
                .bind(events.iter().map(|event| event.event_id).collect::<Vec<_>>())
                .bind(events.iter().map(|event| event.event_type.as_str()).collect::<Vec<_>>())
                .bind(events.iter().map(|event| event.schema_version).collect::<Vec<_>>())
                .bind(events.iter().map(|event| &event.payload).collect::<Vec<_>>())
                .bind(sqlx::types::Json(metadata))
                .bind(prepared.recorded_at)
                .bind(metadata.command_id)
                .bind(envelopes),
        };
        let mut rows: Vec<(i64, i64, i64)> = query
            .try_map(|row: PgRow| Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?)))
            .fetch_all(&self.pool)
            .await?;
        if rows.is_empty() {
            return Ok(None);
        }
        rows.sort_unstable();
        let appended = rows
            .iter()
            .zip(events)
            .map(|(&(version, global_position, transaction_id), event)| {
                (AppendedEvent { event_id: event.event_id, version, global_position }, transaction_id)
            })
            .collect();
        Ok(Some(append_result(stream.id, appended, false)))
    }

    /// The result of the append that stored `command_id`: its first event (the one carrying the command id)
    /// and the stream's later events of the same transaction.
    async fn command_result(&self, command_id: Uuid) -> Result<Option<AppendResult>, sqlx::Error> {
        let rows: Vec<(Uuid, i64, i64, Uuid, i64)> = sqlx::query_as(
            "SELECT e.stream_id, e.version, e.global_position, e.event_id, e.transaction_id::text::bigint \
               FROM event_store.events first \
               JOIN event_store.events e ON e.stream_id = first.stream_id AND e.version >= first.version \
                                        AND e.transaction_id = first.transaction_id \
              WHERE first.command_id = $1 \
              ORDER BY e.version",
        )
        .bind(command_id)
        .fetch_all(&self.pool)
        .await?;
        let Some(&(stream_id, ..)) = rows.first() else { return Ok(None) };
        let appended = rows
            .into_iter()
            .map(|(_, version, global_position, event_id, transaction_id)| {
                (AppendedEvent { event_id, version, global_position }, transaction_id)
            })
            .collect();
        Ok(Some(append_result(stream_id, appended, true)))
    }

    /// The first of `events`' ids that is already stored.
    async fn stored_event_id(&self, events: &[NewEvent]) -> Result<Option<Uuid>, sqlx::Error> {
        sqlx::query_scalar("SELECT event_id FROM event_store.events WHERE event_id = ANY($1) LIMIT 1")
            .bind(events.iter().map(|event| event.event_id).collect::<Vec<_>>())
            .fetch_optional(&self.pool)
            .await
    }

    /// The stream's current version: its last event's version, or 0 when it has no events.
    #[tracing::instrument(skip_all, fields(stream.id = %stream_id), err(level = "debug"))]
    pub async fn stream_version(&self, stream_id: Uuid) -> Result<i64, ReadError> {
        Ok(self.fetch_stream_version(stream_id).await?)
    }

    pub(crate) async fn fetch_stream_version(&self, stream_id: Uuid) -> Result<i64, sqlx::Error> {
        Ok(self.fetch_stream_head(stream_id).await?.map_or(0, |(version, _)| version))
    }

    /// The stream's last version and its type, or `None` for a stream without events.
    async fn fetch_stream_head(&self, stream_id: Uuid) -> Result<Option<(i64, String)>, sqlx::Error> {
        sqlx::query_as(
            "SELECT version, stream_type FROM event_store.events WHERE stream_id = $1 ORDER BY version DESC LIMIT 1",
        )
        .bind(stream_id)
        .fetch_optional(&self.pool)
        .await
    }

    /// Up to `limit` events of a stream with `version >= from_version`, in version order.
    ///
    /// `limit` is clamped to `1..=MAX_READ_BATCH`; page by passing the last version + 1.
    /// A stream with no events at all is [`ReadError::StreamNotFound`]; a known stream read past its end
    /// gives an empty list.
    #[tracing::instrument(skip_all, fields(stream.id = %stream_id, stream.version = from_version), err(level = "debug"))]
    pub async fn read_stream(
        &self,
        stream_id: Uuid,
        from_version: i64,
        limit: i64,
    ) -> Result<Vec<RecordedEvent>, ReadError> {
        let events = self.read_stream_page(stream_id, from_version, limit).await?;
        if events.is_empty() && self.fetch_stream_version(stream_id).await? == 0 {
            return Err(ReadError::StreamNotFound { stream_id });
        }
        Ok(events)
    }

    /// `read_stream` without the check that the stream exists.
    pub(crate) async fn read_stream_page(
        &self,
        stream_id: Uuid,
        from_version: i64,
        limit: i64,
    ) -> Result<Vec<RecordedEvent>, ReadError> {
        let rows = sqlx::query(&format!(
            "SELECT {EVENT_COLUMNS} FROM event_store.events \
             WHERE stream_id = $1 AND version >= $2 ORDER BY version LIMIT $3"
        ))
        .bind(stream_id)
        .bind(from_version)
        .bind(limit.clamp(1, MAX_READ_BATCH))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(recorded_event_from_row).collect()
    }

    /// Up to `limit` events of the global log strictly after `checkpoint`, in log order.
    ///
    /// Gap-safe: only events of transactions older than every transaction still running are returned,
    /// ordered by `(transaction_id, global_position)`. A transaction that commits later has a larger
    /// transaction id than every event returned now, so a reader that continues from the last returned
    /// event's [`RecordedEvent::log_position`] never skips anything and never waits on a timeout.
    /// An open writing transaction anywhere in the cluster holds the log back until it ends.
    /// `limit` is clamped to `1..=MAX_READ_BATCH`.
    #[tracing::instrument(skip_all, fields(event.position = %checkpoint), err(level = "debug"))]
    pub async fn read_all_from(&self, checkpoint: LogPosition, limit: i64) -> Result<Vec<RecordedEvent>, ReadError> {
        // ORDER BY names the table's columns: the select list aliases a bigint cast as
        // `transaction_id`, and sorting by that alias would bypass the primary key index.
        let rows = sqlx::query(&format!(
            "SELECT {EVENT_COLUMNS} FROM event_store.events \
             WHERE (transaction_id, global_position) > ($1::text::xid8, $2) \
               AND transaction_id < pg_snapshot_xmin(pg_current_snapshot()) \
             ORDER BY events.transaction_id, events.global_position LIMIT $3"
        ))
        .bind(checkpoint.transaction_id.to_string())
        .bind(checkpoint.position)
        .bind(limit.clamp(1, MAX_READ_BATCH))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(recorded_event_from_row).collect()
    }

    /// The newest position a gap-safe reader can reach now ([`LogPosition::START`] for an empty log).
    ///
    /// A reader's lag is the distance between its checkpoint and this.
    #[tracing::instrument(skip_all, err(level = "debug"))]
    pub async fn head(&self) -> Result<LogPosition, ReadError> {
        let row: Option<(i64, i64)> = sqlx::query_as(
            "SELECT transaction_id::text::bigint, global_position FROM event_store.events \
             WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot()) \
             ORDER BY transaction_id DESC, global_position DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(row
            .map_or(LogPosition::START, |(transaction_id, position)| LogPosition::new(transaction_id as u64, position)))
    }
}

/// The validated, canonicalised parts of an append that do not depend on the versions.
struct PreparedAppend {
    canonical_payloads: Vec<Vec<u8>>,
    canonical_metadata: Vec<u8>,
    recorded_at: DateTime<Utc>,
}

impl PreparedAppend {
    fn new(stream: &StreamRef, events: &[NewEvent], metadata: &Metadata) -> Result<Self, AppendError> {
        if events.is_empty() {
            return Err(AppendError::EmptyBatch);
        }
        if events.len() > MAX_EVENTS_PER_APPEND {
            return Err(AppendError::TooManyEvents { count: events.len(), max: MAX_EVENTS_PER_APPEND });
        }
        if stream.stream_type.is_empty() || stream.stream_type.len() > 200 || stream.stream_type.contains('\0') {
            return Err(AppendError::InvalidMetadata {
                reason: "the stream type must be 1 to 200 bytes without NUL characters".to_owned(),
            });
        }
        let canonical_metadata = canonical(metadata).map_err(AppendError::Encode)?;
        if canonical_metadata.len() > MAX_METADATA_BYTES {
            return Err(AppendError::InvalidMetadata {
                reason: format!("{} bytes, at most {MAX_METADATA_BYTES} are allowed", canonical_metadata.len()),
            });
        }
        if metadata_contains_nul(metadata) {
            return Err(AppendError::InvalidMetadata { reason: "it contains a NUL character".to_owned() });
        }
        let mut canonical_payloads = Vec::with_capacity(events.len());
        for (index, event) in events.iter().enumerate() {
            let invalid =
                |reason: &str| AppendError::InvalidEvent { event_id: event.event_id, reason: reason.to_owned() };
            if event.event_id.get_version_num() != 7 {
                return Err(invalid("the event id must be a UUID v7"));
            }
            if events[..index].iter().any(|earlier| earlier.event_id == event.event_id) {
                return Err(invalid("the event id appears twice in the append"));
            }
            if event.event_type.is_empty() || event.event_type.len() > 200 || event.event_type.contains('\0') {
                return Err(invalid("the event type must be 1 to 200 bytes without NUL characters"));
            }
            if !event.payload.is_object() {
                return Err(AppendError::PayloadNotObject { event_id: event.event_id });
            }
            let canonical_payload = canonical_value(&event.payload).map_err(AppendError::Encode)?;
            if canonical_payload.len() > MAX_PAYLOAD_BYTES {
                return Err(AppendError::PayloadTooLarge {
                    event_id: event.event_id,
                    size: canonical_payload.len(),
                    max: MAX_PAYLOAD_BYTES,
                });
            }
            if contains_nul(&event.payload) {
                return Err(invalid("the payload contains a NUL character, which jsonb cannot store"));
            }
            canonical_payloads.push(canonical_payload);
        }
        // Postgres keeps microseconds; the envelope must hash exactly what the row stores.
        let now = Utc::now();
        let recorded_at = DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now);
        Ok(Self { canonical_payloads, canonical_metadata, recorded_at })
    }
}

fn metadata_contains_nul(metadata: &Metadata) -> bool {
    metadata.correlation_id.contains('\0')
        || metadata.causation_id.as_deref().is_some_and(|id| id.contains('\0'))
        || metadata.actor.as_deref().is_some_and(|actor| actor.contains('\0'))
        || metadata.extra.iter().any(|(key, value)| key.contains('\0') || contains_nul(value))
}

fn contains_nul(value: &Value) -> bool {
    match value {
        Value::String(text) => text.contains('\0'),
        Value::Array(items) => items.iter().any(contains_nul),
        Value::Object(members) => members.iter().any(|(key, member)| key.contains('\0') || contains_nul(member)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

/// Builds an append result from its events in version order, each with its transaction id.
fn append_result(stream_id: Uuid, appended: Vec<(AppendedEvent, i64)>, deduplicated: bool) -> AppendResult {
    let transaction_id = appended.first().map_or(0, |&(_, transaction_id)| transaction_id as u64);
    let events: Vec<AppendedEvent> = appended.into_iter().map(|(event, _)| event).collect();
    let first_version = events.first().map_or(0, |event| event.version);
    let last_version = events.last().map_or(0, |event| event.version);
    // Positions grow with versions inside one append, but take the maximum rather than rely on it.
    let last_position = events.iter().map(|event| event.global_position).max().unwrap_or_default();
    AppendResult {
        stream_id,
        first_version,
        last_version,
        last_position,
        token: LogPosition::new(transaction_id, last_position),
        events,
        deduplicated,
    }
}

/// The stored result of a command id, unless it was stored for another stream.
fn original_result(
    original: AppendResult,
    stream: &StreamRef,
    metadata: &Metadata,
) -> Result<AppendResult, AppendError> {
    if original.stream_id != stream.id {
        return Err(AppendError::CommandIdReused { command_id: metadata.command_id, stream_id: original.stream_id });
    }
    Ok(original)
}

pub(crate) fn recorded_event_from_row(row: &PgRow) -> Result<RecordedEvent, ReadError> {
    let global_position: i64 = row.try_get("global_position")?;
    let decode = |reason: String| ReadError::Decode { global_position, reason };
    let metadata: Value = row.try_get("metadata")?;
    let hash: Vec<u8> = row.try_get("hash")?;
    let transaction_id: i64 = row.try_get("transaction_id")?;
    Ok(RecordedEvent {
        global_position,
        transaction_id: u64::try_from(transaction_id).map_err(|error| decode(error.to_string()))?,
        stream_id: row.try_get("stream_id")?,
        stream_type: row.try_get("stream_type")?,
        version: row.try_get("version")?,
        event_id: row.try_get("event_id")?,
        event_type: row.try_get("event_type")?,
        schema_version: row.try_get("schema_version")?,
        payload: row.try_get("payload")?,
        metadata: serde_json::from_value(metadata).map_err(|error| decode(format!("metadata: {error}")))?,
        recorded_at: row.try_get("recorded_at")?,
        hash: hash.try_into().map_err(|_| decode("hash is not 32 bytes".to_owned()))?,
    })
}

fn unique_violation(error: &sqlx::Error) -> Option<&str> {
    match error {
        sqlx::Error::Database(database_error) if database_error.code().as_deref() == Some("23505") => {
            database_error.constraint()
        }
        _ => None,
    }
}
