//! The canonical envelope of an event (the bytes the hash chain covers) and the chain's hash step.
//!
//! The envelope is the RFC 8785 (JCS) canonical JSON of the object
//! `{event_id, event_type, metadata, payload, recorded_at, schema_version, stream_id, stream_type, version}`.
//! JCS is compositional (an object is its members sorted by key, each value canonical), so the envelope is
//! assembled from the separately canonicalised payload and metadata without canonicalising them twice.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::Value;
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

/// Canonical JSON of a JSON value: the same bytes as [`canonical`], written without its per-key
/// re-parsing (payloads are canonicalised on every append).
pub(crate) fn canonical_value(value: &Value) -> Result<Vec<u8>, serde_json::Error> {
    let mut bytes = Vec::with_capacity(256);
    write_canonical(value, &mut bytes)?;
    Ok(bytes)
}

fn write_canonical(value: &Value, bytes: &mut Vec<u8>) -> Result<(), serde_json::Error> {
    match value {
        Value::Null | Value::Bool(_) | Value::String(_) => serde_json::to_writer(bytes, value),
        // JSON numbers are IEEE doubles in JCS: integers up to 2^53 print as they are, every other number
        // in the ECMAScript form of its nearest double, which the reference implementation writes.
        Value::Number(number) if number.as_i64().is_some_and(|integer| integer.unsigned_abs() <= 1 << 53) => {
            serde_json::to_writer(bytes, number)
        }
        Value::Number(number) => serde_json_canonicalizer::to_writer(number, bytes),
        Value::Array(items) => {
            bytes.push(b'[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    bytes.push(b',');
                }
                write_canonical(item, bytes)?;
            }
            bytes.push(b']');
            Ok(())
        }
        Value::Object(members) => {
            // JCS sorts members by the UTF-16 code units of their keys.
            let mut sorted: Vec<(&String, &Value)> = members.iter().collect();
            sorted.sort_unstable_by(|(left, _), (right, _)| left.encode_utf16().cmp(right.encode_utf16()));
            bytes.push(b'{');
            for (index, (key, member)) in sorted.into_iter().enumerate() {
                if index > 0 {
                    bytes.push(b',');
                }
                serde_json::to_writer(&mut *bytes, key)?;
                bytes.push(b':');
                write_canonical(member, bytes)?;
            }
            bytes.push(b'}');
            Ok(())
        }
    }
}

/// The text form of `recorded_at` inside the envelope: RFC 3339, microseconds, `Z`.
fn recorded_at_text(recorded_at: DateTime<Utc>) -> String {
    recorded_at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

impl EnvelopeFields<'_> {
    /// The canonical envelope bytes.
    ///
    /// Strings are written by `serde_json`, whose escaping is the one JCS prescribes (`\"`, `\\`, the short
    /// forms `\b \t \n \f \r`, other control characters as lowercase `\u00xx`, everything else as is);
    /// ids and the timestamp need no escaping at all.
    pub(crate) fn to_bytes(&self) -> Result<Vec<u8>, serde_json::Error> {
        let mut bytes = Vec::with_capacity(self.canonical_payload.len() + self.canonical_metadata.len() + 320);
        // Members in JCS order: keys sorted by their UTF-16 code units (all ASCII here).
        bytes.extend_from_slice(b"{\"event_id\":\"");
        bytes.extend_from_slice(self.event_id.hyphenated().encode_lower(&mut Uuid::encode_buffer()).as_bytes());
        bytes.extend_from_slice(b"\",\"event_type\":");
        serde_json::to_writer(&mut bytes, self.event_type)?;
        bytes.extend_from_slice(b",\"metadata\":");
        bytes.extend_from_slice(self.canonical_metadata);
        bytes.extend_from_slice(b",\"payload\":");
        bytes.extend_from_slice(self.canonical_payload);
        bytes.extend_from_slice(b",\"recorded_at\":\"");
        bytes.extend_from_slice(recorded_at_text(self.recorded_at).as_bytes());
        bytes.extend_from_slice(b"\",\"schema_version\":");
        bytes.extend_from_slice(self.schema_version.to_string().as_bytes());
        bytes.extend_from_slice(b",\"stream_id\":\"");
        bytes.extend_from_slice(self.stream_id.hyphenated().encode_lower(&mut Uuid::encode_buffer()).as_bytes());
        bytes.extend_from_slice(b"\",\"stream_type\":");
        serde_json::to_writer(&mut bytes, self.stream_type)?;
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
            stream_type: "or\"der\u{1}\\/é",
            version: 12,
            event_id,
            event_type: "order.placed\n\t\u{7f}",
            schema_version: 3,
            canonical_payload: &canonical(&payload).expect("payload encodes"),
            canonical_metadata: &canonical(&metadata).expect("metadata encodes"),
            recorded_at,
        };
        let whole = json!({
            "version": 12, "stream_type": "or\"der\u{1}\\/é", "stream_id": stream_id, "schema_version": 3,
            "recorded_at": "2026-11-18T11:06:40.123456Z", "payload": payload, "metadata": metadata,
            "event_type": "order.placed\n\t\u{7f}", "event_id": event_id,
        });
        assert_eq!(
            String::from_utf8(fields.to_bytes().expect("envelope encodes")).expect("utf-8"),
            String::from_utf8(canonical(&whole).expect("object encodes")).expect("utf-8"),
        );
    }

    #[test]
    fn value_canonicalisation_matches_the_reference_implementation() {
        let values = [
            json!({"b": 1, "a": {"d": [1.5, -0.0, 1e-7, 123456789012345678_u64, -9007199254740993_i64], "c": null}}),
            json!({"\u{1F600}": 1, "\u{FFFD}": 2, "é": 3, "Z": 4, "a\"b": 5, "": 6, "\u{7f}\u{1}": [true, false]}),
            json!([1e21, 1e-6, 0.1, 100.0, 5e-324, 1.7976931348623157e308, "line\nbreak\t\u{8}\u{c}"]),
            json!({"nested": {"z": {"y": {"x": []}}, "a": {}}, "number": 3.0}),
            json!("just a string"),
        ];
        for value in values {
            assert_eq!(
                String::from_utf8(canonical_value(&value).expect("encodes")).expect("utf-8"),
                String::from_utf8(canonical(&value).expect("encodes")).expect("utf-8"),
                "{value}"
            );
        }
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
