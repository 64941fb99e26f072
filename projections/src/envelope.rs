//! The event as the read side handles it, whether it came from the event store or from a NATS message,
//! and the NATS message format the relay writes (subject, headers, payload).
//!
//! The payload of a message is the event's JSON payload; everything else travels in headers, so other
//! consumers can route and filter without parsing the body.

use async_nats::HeaderMap;
use chrono::{DateTime, SecondsFormat, Utc};
use event_store::{LogPosition, RecordedEvent};
use serde_json::Value;
use uuid::Uuid;

/// Header names of a published event (besides `Nats-Msg-Id`, which carries the event id).
pub mod header {
    /// JetStream's de-duplication id; the relay sets it to the event id.
    pub const MSG_ID: &str = "Nats-Msg-Id";
    /// The event id (also in `Nats-Msg-Id`, which a re-publishing tool may change).
    pub const EVENT_ID: &str = "Orders-Event-Id";
    /// Event type, for example `order.placed`.
    pub const EVENT_TYPE: &str = "Orders-Event-Type";
    /// Schema version of the payload.
    pub const SCHEMA_VERSION: &str = "Orders-Schema-Version";
    /// Stream id (the order id).
    pub const STREAM_ID: &str = "Orders-Stream-Id";
    /// Stream type (`order`).
    pub const STREAM_TYPE: &str = "Orders-Stream-Type";
    /// Version of the event in its stream.
    pub const STREAM_VERSION: &str = "Orders-Stream-Version";
    /// The writing transaction's xid8.
    pub const TRANSACTION_ID: &str = "Orders-Transaction-Id";
    /// The event's global position.
    pub const POSITION: &str = "Orders-Position";
    /// Log position `<xid8>:<position>` of the event the relay published (or passed) just before this one:
    /// a consumer whose checkpoint is below it has missed something.
    pub const PREVIOUS_POSITION: &str = "Orders-Previous-Position";
    /// When the event was appended (RFC 3339, microseconds).
    pub const RECORDED_AT: &str = "Orders-Recorded-At";
    /// Correlation id of the user action (from the event metadata).
    pub const CORRELATION_ID: &str = "Orders-Correlation-Id";
    /// Causation id, when the metadata has one.
    pub const CAUSATION_ID: &str = "Orders-Causation-Id";
    /// Id of the command that appended the event.
    pub const COMMAND_ID: &str = "Orders-Command-Id";
}

/// One event of the global log, as the projectors apply it.
#[derive(Debug, Clone, PartialEq)]
pub struct EventEnvelope {
    /// Place in the global log.
    pub log_position: LogPosition,
    /// From NATS: the log position the relay published before this event; `None` when read from the store.
    pub previous: Option<LogPosition>,
    /// Stream id (the order id for order streams).
    pub stream_id: Uuid,
    /// Stream type.
    pub stream_type: String,
    /// Version in the stream.
    pub version: i64,
    /// Event id.
    pub event_id: Uuid,
    /// Event type.
    pub event_type: String,
    /// Payload schema version.
    pub schema_version: i32,
    /// Payload.
    pub payload: Value,
    /// Append time.
    pub recorded_at: DateTime<Utc>,
    /// Correlation id of the user action, when known.
    pub correlation_id: Option<String>,
}

impl From<RecordedEvent> for EventEnvelope {
    fn from(event: RecordedEvent) -> Self {
        Self {
            log_position: event.log_position(),
            previous: None,
            stream_id: event.stream_id,
            stream_type: event.stream_type,
            version: event.version,
            event_id: event.event_id,
            event_type: event.event_type,
            schema_version: event.schema_version,
            payload: event.payload,
            recorded_at: event.recorded_at,
            correlation_id: Some(event.metadata.correlation_id),
        }
    }
}

/// Why a NATS message is not a published event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// A required header is absent.
    #[error("header {0} is missing")]
    MissingHeader(&'static str),
    /// A header does not parse.
    #[error("header {name} has an invalid value {value:?}")]
    InvalidHeader {
        /// The header.
        name: &'static str,
        /// Its value (shortened).
        value: String,
    },
    /// The payload is not JSON.
    #[error("payload is not JSON: {0}")]
    Payload(String),
}

/// The headers the relay sends with `event`, whose predecessor in the published log is `previous`.
pub(crate) fn nats_headers(event: &RecordedEvent, previous: LogPosition) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(header::MSG_ID, event.event_id.to_string());
    headers.insert(header::EVENT_ID, event.event_id.to_string());
    headers.insert(header::EVENT_TYPE, event.event_type.as_str());
    headers.insert(header::SCHEMA_VERSION, event.schema_version.to_string());
    headers.insert(header::STREAM_ID, event.stream_id.to_string());
    headers.insert(header::STREAM_TYPE, event.stream_type.as_str());
    headers.insert(header::STREAM_VERSION, event.version.to_string());
    headers.insert(header::TRANSACTION_ID, event.transaction_id.to_string());
    headers.insert(header::POSITION, event.global_position.to_string());
    headers.insert(header::PREVIOUS_POSITION, previous.to_string());
    headers.insert(header::RECORDED_AT, event.recorded_at.to_rfc3339_opts(SecondsFormat::Micros, true));
    headers.insert(header::CORRELATION_ID, event.metadata.correlation_id.as_str());
    if let Some(causation_id) = &event.metadata.causation_id {
        headers.insert(header::CAUSATION_ID, causation_id.as_str());
    }
    headers.insert(header::COMMAND_ID, event.metadata.command_id.to_string());
    headers
}

fn header_text(value: &async_nats::HeaderValue) -> &str {
    value.as_ref()
}

impl EventEnvelope {
    /// Reads a message published by the relay.
    pub fn from_nats(headers: Option<&HeaderMap>, payload: &[u8]) -> Result<Self, EnvelopeError> {
        let headers = headers.ok_or(EnvelopeError::MissingHeader(header::POSITION))?;
        let text = |name: &'static str| -> Result<&str, EnvelopeError> {
            headers.get(name).map(header_text).ok_or(EnvelopeError::MissingHeader(name))
        };
        fn parsed<T: std::str::FromStr>(name: &'static str, value: &str) -> Result<T, EnvelopeError> {
            value.parse().map_err(|_| EnvelopeError::InvalidHeader { name, value: value.chars().take(80).collect() })
        }
        let transaction_id: u64 = parsed(header::TRANSACTION_ID, text(header::TRANSACTION_ID)?)?;
        let position: i64 = parsed(header::POSITION, text(header::POSITION)?)?;
        let recorded_at = text(header::RECORDED_AT)?;
        Ok(Self {
            log_position: LogPosition::new(transaction_id, position),
            previous: Some(parsed(header::PREVIOUS_POSITION, text(header::PREVIOUS_POSITION)?)?),
            stream_id: parsed(header::STREAM_ID, text(header::STREAM_ID)?)?,
            stream_type: text(header::STREAM_TYPE)?.to_owned(),
            version: parsed(header::STREAM_VERSION, text(header::STREAM_VERSION)?)?,
            event_id: parsed(header::EVENT_ID, text(header::EVENT_ID)?)?,
            event_type: text(header::EVENT_TYPE)?.to_owned(),
            schema_version: parsed(header::SCHEMA_VERSION, text(header::SCHEMA_VERSION)?)?,
            payload: serde_json::from_slice(payload).map_err(|error| EnvelopeError::Payload(error.to_string()))?,
            recorded_at: DateTime::parse_from_rfc3339(recorded_at)
                .map_err(|_| EnvelopeError::InvalidHeader {
                    name: header::RECORDED_AT,
                    value: recorded_at.chars().take(80).collect(),
                })?
                .with_timezone(&Utc),
            correlation_id: headers.get(header::CORRELATION_ID).map(|value| header_text(value).to_owned()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use event_store::Metadata;

    #[test]
    fn a_published_event_reads_back_from_its_headers_and_payload() {
        let mut metadata = Metadata::for_command(Uuid::now_v7());
        metadata.correlation_id = "request-7".into();
        let recorded_at = DateTime::from_timestamp_micros(1_795_000_000_123_456).expect("a valid time");
        let event = RecordedEvent {
            global_position: 1051,
            transaction_id: 7432,
            stream_id: Uuid::now_v7(),
            stream_type: "order".into(),
            version: 3,
            event_id: Uuid::now_v7(),
            event_type: "order.placed".into(),
            schema_version: 1,
            payload: serde_json::json!({"order_id": "x"}),
            metadata,
            recorded_at,
            hash: [0; 32],
        };
        let headers = nats_headers(&event, LogPosition::new(7431, 1049));
        let payload = serde_json::to_vec(&event.payload).expect("serialises");
        let envelope = EventEnvelope::from_nats(Some(&headers), &payload).expect("reads back");
        let mut expected = EventEnvelope::from(event);
        expected.previous = Some(LogPosition::new(7431, 1049));
        assert_eq!(envelope, expected);
        assert_eq!(envelope.correlation_id.as_deref(), Some("request-7"));
    }

    #[test]
    fn a_foreign_message_is_refused() {
        assert_eq!(EventEnvelope::from_nats(None, b"{}"), Err(EnvelopeError::MissingHeader(header::POSITION)));
        let mut headers = HeaderMap::new();
        headers.insert(header::TRANSACTION_ID, "x");
        assert!(matches!(
            EventEnvelope::from_nats(Some(&headers), b"{}"),
            Err(EnvelopeError::InvalidHeader { name: header::TRANSACTION_ID, .. })
        ));
    }
}
