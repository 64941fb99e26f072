//! The canonical envelope of an event (the bytes the hash chain covers) and the chain's hash step.
//!
//! The envelope is the RFC 8785 (JCS) canonical JSON of the object
//! `{event_id, event_type, metadata, payload, recorded_at, schema_version, stream_id, stream_type, version}`.
//! JCS is compositional (an object is its members sorted by key, each value canonical), so the envelope is
//! assembled from the separately canonicalised payload and metadata without canonicalising them twice.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The hash that precedes version 1 of every stream.
pub(crate) const GENESIS_HASH: [u8; 32] = [0; 32];

/// The fields of one event's envelope; payload and metadata already in canonical form.
pub(crate) struct EnvelopeFields<'a> {
    pub(crate) stream_id: Uuid,
    pub(crate) stream_type: &'a str,
    pub(crate) version: i64,
    pub(crate) event_id: Uuid,
    pub(crate) event_type: &'a str,
    pub(crate) schema_version: i32,
    pub(crate) canonical_payload: &'a [u8],
    pub(crate) canonical_metadata: &'a [u8],
    pub(crate) recorded_at: DateTime<Utc>,
}

/// Canonical JSON of any serialisable value.
pub(crate) fn canonical<T: Serialize>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    serde_json_canonicalizer::to_vec(value)
}

/// The text form of `recorded_at` inside the envelope: RFC 3339, microseconds, `Z`.
fn recorded_at_text(recorded_at: DateTime<Utc>) -> String {
    recorded_at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

impl EnvelopeFields<'_> {
    /// The canonical envelope bytes.
    pub(crate) fn to_bytes(&self) -> Result<Vec<u8>, serde_json::Error> {
        let mut bytes =
            Vec::with_capacity(self.canonical_payload.len() + self.canonical_metadata.len() + 320);
        // Members in JCS order: keys sorted by their UTF-16 code units (all ASCII here).
        bytes.extend_from_slice(b"{\"event_id\":");
        bytes.extend_from_slice(&canonical(&self.event_id)?);
        bytes.extend_from_slice(b",\"event_type\":");
        bytes.extend_from_slice(&canonical(&self.event_type)?);
        bytes.extend_from_slice(b",\"metadata\":");
        bytes.extend_from_slice(self.canonical_metadata);
        bytes.extend_from_slice(b",\"payload\":");
        bytes.extend_from_slice(self.canonical_payload);
        bytes.extend_from_slice(b",\"recorded_at\":");
        bytes.extend_from_slice(&canonical(&recorded_at_text(self.recorded_at))?);
        bytes.extend_from_slice(b",\"schema_version\":");
        bytes.extend_from_slice(self.schema_version.to_string().as_bytes());
        bytes.extend_from_slice(b",\"stream_id\":");
        bytes.extend_from_slice(&canonical(&self.stream_id)?);
        bytes.extend_from_slice(b",\"stream_type\":");
        bytes.extend_from_slice(&canonical(&self.stream_type)?);
        bytes.extend_from_slice(b",\"version\":");
        bytes.extend_from_slice(self.version.to_string().as_bytes());
        bytes.push(b'}');
        Ok(bytes)
    }
}

/// One step of a stream's hash chain: SHA-256(previous hash ‖ envelope).
pub(crate) fn chain_hash(previous: &[u8; 32], envelope: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(previous);
    hasher.update(envelope);
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_assembled_envelope_equals_the_canonical_form_of_the_whole_object() {
        let stream_id = Uuid::now_v7();
        let event_id = Uuid::now_v7();
        let recorded_at = DateTime::from_timestamp_micros(1_795_000_000_123_456).expect("a valid timestamp");
        let payload = json!({"z": 1.0, "a": ["é", "\u{1F600}", 1e21], "m": {"b": null, "a": "x\"y"}});
        let metadata = json!({"command_id": Uuid::nil(), "correlation_id": "c-1", "extra": {"ip": "::1"}});
        let fields = EnvelopeFields {
            stream_id,
            stream_type: "order",
            version: 12,
            event_id,
            event_type: "order.placed",
            schema_version: 3,
            canonical_payload: &canonical(&payload).expect("payload encodes"),
            canonical_metadata: &canonical(&metadata).expect("metadata encodes"),
            recorded_at,
        };
        let whole = json!({
            "version": 12, "stream_type": "order", "stream_id": stream_id, "schema_version": 3,
            "recorded_at": "2026-11-18T11:06:40.123456Z", "payload": payload, "metadata": metadata,
            "event_type": "order.placed", "event_id": event_id,
        });
        assert_eq!(
            String::from_utf8(fields.to_bytes().expect("envelope encodes")).expect("utf-8"),
            String::from_utf8(canonical(&whole).expect("object encodes")).expect("utf-8"),
        );
    }

    #[test]
    fn the_chain_hash_depends_on_the_previous_hash() {
        let first = chain_hash(&GENESIS_HASH, b"{}");
        assert_ne!(chain_hash(&first, b"{}"), first);
        assert_eq!(
            hex::encode(chain_hash(&GENESIS_HASH, b"")),
            // SHA-256 of 32 zero bytes.
            "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925"
        );
    }
}
