//! Tamper evidence: walking each stream's hash chain and checking every row against the bytes it hashed.
//!
//! What this cannot see from inside the database: the newest events of a stream deleted together with
//! nothing after them. Seals of the stream heads kept outside the database catch that (the `seal` module).

use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::Row;
use uuid::Uuid;

use crate::envelope::{canonical_value, chain_hash, EnvelopeFields, GENESIS_HASH};
use crate::error::ReadError;
use crate::store::EventStore;
use crate::types::{VerifyFailure, VerifyFailureKind, VerifyReport};

const VERIFY_BATCH: i64 = 1_000;

const VERIFY_COLUMNS: &str = "stream_id, stream_type, version, global_position, event_id, event_type, \
     schema_version, payload, metadata, recorded_at, envelope, hash";

impl EventStore {
    /// Walks the hash chain of one stream (`Some(id)`) or of all streams (`None`), in version order.
    ///
    /// For every event it checks that the versions run 1, 2, 3, ... without holes, that the row's columns
    /// are exactly the stored canonical envelope, and that the stored hash is SHA-256 of the previous
    /// event's hash (32 zero bytes before version 1) and that envelope.
    /// It reports the first failing event of each stream; the rest of a broken stream is not checked.
    /// An unknown stream id is [`ReadError::StreamNotFound`].
    /// It reads in batches of 1,000 rows and holds no lock.
    #[tracing::instrument(skip_all, fields(stream.id = ?stream), err(level = "debug"))]
    pub async fn verify(&self, stream: Option<Uuid>) -> Result<VerifyReport, ReadError> {
        let mut report = VerifyReport { streams_checked: 0, events_checked: 0, failures: Vec::new() };
        let mut walk: Option<StreamWalk> = None;
        let mut after = (Uuid::nil(), 0_i64);
        loop {
            let query = match stream {
                Some(_) => format!(
                    "SELECT {VERIFY_COLUMNS} FROM event_store.events \
                     WHERE stream_id = $1 AND version > $2 ORDER BY version LIMIT $3"
                ),
                None => format!(
                    "SELECT {VERIFY_COLUMNS} FROM event_store.events \
                     WHERE (stream_id, version) > ($1, $2) ORDER BY stream_id, version LIMIT $3"
                ),
            };
            let rows = sqlx::query(&query)
                .bind(stream.unwrap_or(after.0))
                .bind(after.1)
                .bind(VERIFY_BATCH)
                .fetch_all(&self.pool)
                .await?;
            for row in &rows {
                let stream_id: Uuid = row.try_get("stream_id")?;
                let version: i64 = row.try_get("version")?;
                after = (stream_id, version);
                if walk.as_ref().is_none_or(|walk| walk.stream_id != stream_id) {
                    report.streams_checked += 1;
                    walk =
                        Some(StreamWalk { stream_id, previous_version: 0, previous_hash: GENESIS_HASH, broken: false });
                }
                let Some(current) = walk.as_mut() else { continue };
                if current.broken {
                    continue;
                }
                report.events_checked += 1;
                if let Some(kind) = current.check(row, version)? {
                    current.broken = true;
                    report.failures.push(VerifyFailure {
                        stream_id,
                        version,
                        global_position: row.try_get("global_position")?,
                        event_id: row.try_get("event_id")?,
                        kind,
                    });
                }
            }
            if (rows.len() as i64) < VERIFY_BATCH {
                break;
            }
        }
        if let Some(stream_id) = stream {
            if report.streams_checked == 0 {
                return Err(ReadError::StreamNotFound { stream_id });
            }
        }
        Ok(report)
    }
}

/// The state of the walk through one stream.
struct StreamWalk {
    stream_id: Uuid,
    previous_version: i64,
    previous_hash: [u8; 32],
    broken: bool,
}

impl StreamWalk {
    fn check(&mut self, row: &PgRow, version: i64) -> Result<Option<VerifyFailureKind>, ReadError> {
        let expected = self.previous_version + 1;
        if version != expected {
            return Ok(Some(VerifyFailureKind::VersionSequence { expected, found: version }));
        }
        let global_position: i64 = row.try_get("global_position")?;
        let encode_failure =
            |error: serde_json::Error| ReadError::Decode { global_position, reason: error.to_string() };
        let payload: Value = row.try_get("payload")?;
        let metadata: Value = row.try_get("metadata")?;
        let stream_type: String = row.try_get("stream_type")?;
        let event_type: String = row.try_get("event_type")?;
        let fields = EnvelopeFields {
            stream_id: self.stream_id,
            stream_type: &stream_type,
            version,
            event_id: row.try_get("event_id")?,
            event_type: &event_type,
            schema_version: row.try_get("schema_version")?,
            canonical_payload: &canonical_value(&payload).map_err(encode_failure)?,
            canonical_metadata: &canonical_value(&metadata).map_err(encode_failure)?,
            recorded_at: row.try_get("recorded_at")?,
        };
        let stored_envelope: Vec<u8> = row.try_get("envelope")?;
        if fields.to_bytes().map_err(encode_failure)? != stored_envelope {
            return Ok(Some(VerifyFailureKind::EnvelopeMismatch));
        }
        let stored_hash: Vec<u8> = row.try_get("hash")?;
        let computed = chain_hash(&self.previous_hash, &stored_envelope);
        if stored_hash.as_slice() != computed.as_slice() {
            return Ok(Some(VerifyFailureKind::HashMismatch));
        }
        self.previous_version = version;
        self.previous_hash = computed;
        Ok(None)
    }
}
