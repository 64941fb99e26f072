//! Reading stored events: from `(event_type, schema_version, payload)` to the current [`OrderEvent`],
//! upcasting payloads written at an older schema version on the way.
//!
//! Upcasters are pure functions from an old payload struct to the next version, so a stream written
//! years ago still loads without anyone rewriting stored rows.

use serde::de::DeserializeOwned;

use super::event_type;
use super::events::AddressV1;
use super::events::OrderEvent;
use super::events::OrderShippingAddressSetV1;
use super::events::OrderShippingAddressSetV2;

/// Why a stored event could not be read as an [`OrderEvent`].
#[derive(Debug)]
pub enum DecodeError {
    /// The event type is not an order event type this code knows.
    UnknownEventType {
        /// The type string that was found.
        event_type: String,
    },
    /// The type is known but this schema version is not (for example a version written by newer code).
    UnknownSchemaVersion {
        /// The type string.
        event_type: String,
        /// The version that was found.
        schema_version: u32,
    },
    /// The payload does not match the payload struct of that type and version.
    InvalidPayload {
        /// The type string.
        event_type: String,
        /// The version the payload claims.
        schema_version: u32,
        /// What serde found wrong.
        source: serde_json::Error,
    },
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UnknownEventType { event_type } => {
                write!(formatter, "unknown order event type `{event_type}`")
            }
            Self::UnknownSchemaVersion { event_type, schema_version } => {
                write!(formatter, "unknown schema version {schema_version} of event type `{event_type}`")
            }
            Self::InvalidPayload { event_type, schema_version, source } => {
                write!(formatter, "payload of `{event_type}` v{schema_version} does not match its schema: {source}")
            }
        }
    }
}

impl std::error::Error for DecodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::InvalidPayload { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Upcasts `order.shipping_address_set` v1 to v2.
///
/// v1 had a single `street` line and no region; it becomes `address.line1`, with `line2` and `region` absent.
pub fn upcast_shipping_address_set_v1(old: OrderShippingAddressSetV1) -> OrderShippingAddressSetV2 {
    OrderShippingAddressSetV2 {
        order_id: old.order_id,
        address: AddressV1 {
            recipient_name: old.recipient_name,
            line1: old.street,
            line2: None,
            city: old.city,
            region: None,
            postal_code: old.postal_code,
            country: old.country,
        },
        occurred_at: old.occurred_at,
    }
}

impl OrderEvent {
    /// Reads a stored event, upcasting older schema versions to the current one.
    ///
    /// Fails with [`DecodeError`] for an unknown type or version or a payload that does not fit;
    /// it does not run the JSON Schema (use [`validate_event`](crate::validate_event) for that).
    pub fn decode(event_type: &str, schema_version: u32, payload: serde_json::Value) -> Result<Self, DecodeError> {
        let stored = Payload { event_type, schema_version, payload };
        match (event_type, schema_version) {
            (event_type::CREATED, 1) => stored.parse_as().map(Self::Created),
            (event_type::ITEM_ADDED, 1) => stored.parse_as().map(Self::ItemAdded),
            (event_type::ITEM_REMOVED, 1) => stored.parse_as().map(Self::ItemRemoved),
            (event_type::ITEM_QUANTITY_CHANGED, 1) => stored.parse_as().map(Self::ItemQuantityChanged),
            (event_type::SHIPPING_ADDRESS_SET, 1) => {
                stored.parse_as().map(|old| Self::ShippingAddressSet(upcast_shipping_address_set_v1(old)))
            }
            (event_type::SHIPPING_ADDRESS_SET, 2) => stored.parse_as().map(Self::ShippingAddressSet),
            (event_type::PLACED, 1) => stored.parse_as().map(Self::Placed),
            (event_type::PAYMENT_CONFIRMED, 1) => stored.parse_as().map(Self::PaymentConfirmed),
            (event_type::SHIPPED, 1) => stored.parse_as().map(Self::Shipped),
            (event_type::DELIVERED, 1) => stored.parse_as().map(Self::Delivered),
            (event_type::CANCELLED, 1) => stored.parse_as().map(Self::Cancelled),
            (event_type::REFUNDED, 1) => stored.parse_as().map(Self::Refunded),
            (known, _) if event_type::ALL.contains(&known) => {
                Err(DecodeError::UnknownSchemaVersion { event_type: known.to_owned(), schema_version })
            }
            (unknown, _) => Err(DecodeError::UnknownEventType { event_type: unknown.to_owned() }),
        }
    }
}

/// A stored payload together with the names needed to report a failure to parse it.
struct Payload<'a> {
    event_type: &'a str,
    schema_version: u32,
    payload: serde_json::Value,
}

impl Payload<'_> {
    fn parse_as<T: DeserializeOwned>(self) -> Result<T, DecodeError> {
        serde_json::from_value(self.payload).map_err(|source| DecodeError::InvalidPayload {
            event_type: self.event_type.to_owned(),
            schema_version: self.schema_version,
            source,
        })
    }
}
