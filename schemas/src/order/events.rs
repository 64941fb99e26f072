//! Event payloads, one struct per file in `schemas/events/`, and the [`OrderEvent`] enum over their current versions.
//!
//! Payloads are enriched: each carries the totals and names that projections need after the change,
//! so no reader has to call back into the command side. Every payload carries `order_id` and `occurred_at`.

use chrono::DateTime;
use chrono::Utc;
use serde::Deserialize;
use serde::Serialize;
use uuid::Uuid;

use super::event_type;

/// A postal address as it appears in command bodies and event payloads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddressV1 {
    /// Person or company the parcel is addressed to.
    pub recipient_name: String,
    /// Street and number.
    pub line1: String,
    /// Apartment, floor, building; absent when not needed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    /// City or town.
    pub city: String,
    /// State, province or county; absent when not used in that country.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Postal or ZIP code.
    pub postal_code: String,
    /// ISO 3166-1 alpha-2 country code, upper case.
    pub country: String,
}

/// One line of an order as frozen in `order.placed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderLineV1 {
    /// Stock keeping unit, unique within the order.
    pub sku: String,
    /// Product name.
    pub name: String,
    /// Price of one unit in minor units.
    pub unit_price_minor: i64,
    /// Number of units.
    pub quantity: u32,
    /// `unit_price_minor * quantity`.
    pub line_total_minor: i64,
}

/// Payload of `order.created` v1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderCreatedV1 {
    /// The order (also the stream id).
    pub order_id: Uuid,
    /// Customer the order belongs to.
    pub customer_id: Uuid,
    /// ISO 4217 currency of every amount of this order.
    pub currency: String,
    /// When the draft was opened.
    pub occurred_at: DateTime<Utc>,
}

/// Payload of `order.item_added` v1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderItemAddedV1 {
    /// The order.
    pub order_id: Uuid,
    /// Sku of the new line.
    pub sku: String,
    /// Product name of the new line.
    pub name: String,
    /// Unit price in minor units.
    pub unit_price_minor: i64,
    /// Units on the new line.
    pub quantity: u32,
    /// Total of the new line in minor units.
    pub line_total_minor: i64,
    /// Order total after the change, in minor units.
    pub order_total_minor: i64,
    /// Sum of all quantities after the change.
    pub item_count: u32,
    /// Number of lines after the change.
    pub line_count: u32,
    /// Currency of all amounts.
    pub currency: String,
    /// When the line was added.
    pub occurred_at: DateTime<Utc>,
}

/// Payload of `order.item_removed` v1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderItemRemovedV1 {
    /// The order.
    pub order_id: Uuid,
    /// Sku of the removed line.
    pub sku: String,
    /// Product name of the removed line.
    pub name: String,
    /// Unit price the removed line had, in minor units.
    pub unit_price_minor: i64,
    /// Units the removed line had.
    pub quantity: u32,
    /// Total the removed line had, in minor units.
    pub line_total_minor: i64,
    /// Order total after the change, in minor units.
    pub order_total_minor: i64,
    /// Sum of all quantities after the change.
    pub item_count: u32,
    /// Number of lines after the change.
    pub line_count: u32,
    /// Currency of all amounts.
    pub currency: String,
    /// When the line was removed.
    pub occurred_at: DateTime<Utc>,
}

/// Payload of `order.item_quantity_changed` v1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderItemQuantityChangedV1 {
    /// The order.
    pub order_id: Uuid,
    /// Sku of the changed line.
    pub sku: String,
    /// Product name of the changed line.
    pub name: String,
    /// Unit price in minor units.
    pub unit_price_minor: i64,
    /// Units before the change.
    pub previous_quantity: u32,
    /// Units after the change.
    pub quantity: u32,
    /// Line total after the change, in minor units.
    pub line_total_minor: i64,
    /// Order total after the change, in minor units.
    pub order_total_minor: i64,
    /// Sum of all quantities after the change.
    pub item_count: u32,
    /// Number of lines after the change.
    pub line_count: u32,
    /// Currency of all amounts.
    pub currency: String,
    /// When the quantity changed.
    pub occurred_at: DateTime<Utc>,
}

/// Payload of `order.shipping_address_set` v1, the first contract, with one street line and no region.
///
/// It is no longer written; [`upcast_shipping_address_set_v1`](super::upcast_shipping_address_set_v1)
/// turns stored v1 payloads into [`OrderShippingAddressSetV2`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderShippingAddressSetV1 {
    /// The order.
    pub order_id: Uuid,
    /// Person or company the parcel is addressed to.
    pub recipient_name: String,
    /// Street, number and any further detail on one line.
    pub street: String,
    /// City or town.
    pub city: String,
    /// Postal or ZIP code.
    pub postal_code: String,
    /// ISO 3166-1 alpha-2 country code.
    pub country: String,
    /// When the address was set.
    pub occurred_at: DateTime<Utc>,
}

/// Payload of `order.shipping_address_set` v2: the address as a nested object with two lines and a region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderShippingAddressSetV2 {
    /// The order.
    pub order_id: Uuid,
    /// The new shipping address (city and country included for the search index).
    pub address: AddressV1,
    /// When the address was set.
    pub occurred_at: DateTime<Utc>,
}

/// Payload of `order.placed` v1: everything a reader needs about the order at the moment it was placed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderPlacedV1 {
    /// The order.
    pub order_id: Uuid,
    /// Customer the order belongs to.
    pub customer_id: Uuid,
    /// Currency of all amounts.
    pub currency: String,
    /// All lines, in the order they were added.
    pub lines: Vec<OrderLineV1>,
    /// Sum of the line totals, in minor units.
    pub order_total_minor: i64,
    /// Sum of all quantities.
    pub item_count: u32,
    /// Number of lines.
    pub line_count: u32,
    /// Where the order goes.
    pub shipping_address: AddressV1,
    /// When the order was placed.
    pub occurred_at: DateTime<Utc>,
}

/// Payload of `order.payment_confirmed` v1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderPaymentConfirmedV1 {
    /// The order.
    pub order_id: Uuid,
    /// Customer who paid.
    pub customer_id: Uuid,
    /// Amount received, in minor units (equal to the order total).
    pub amount_minor: i64,
    /// Currency of the amount.
    pub currency: String,
    /// Reference of the payment provider, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_reference: Option<String>,
    /// When the payment was confirmed.
    pub occurred_at: DateTime<Utc>,
}

/// Payload of `order.shipped` v1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderShippedV1 {
    /// The order.
    pub order_id: Uuid,
    /// Customer the order belongs to.
    pub customer_id: Uuid,
    /// Name of the carrier.
    pub carrier: String,
    /// The carrier's tracking number.
    pub tracking_number: String,
    /// When the order was handed over.
    pub occurred_at: DateTime<Utc>,
}

/// Payload of `order.delivered` v1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderDeliveredV1 {
    /// The order.
    pub order_id: Uuid,
    /// Customer the order belongs to.
    pub customer_id: Uuid,
    /// When the delivery was confirmed.
    pub occurred_at: DateTime<Utc>,
}

/// Payload of `order.cancelled` v1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderCancelledV1 {
    /// The order.
    pub order_id: Uuid,
    /// Customer the order belongs to.
    pub customer_id: Uuid,
    /// Why the order was cancelled.
    pub reason: String,
    /// Status before the cancellation: `draft`, `placed` or `paid`.
    pub previous_status: String,
    /// Order total at cancellation, in minor units.
    pub order_total_minor: i64,
    /// Amount now owed back to the customer, in minor units; 0 unless the order was paid.
    pub refund_due_minor: i64,
    /// Currency of all amounts.
    pub currency: String,
    /// When the order was cancelled.
    pub occurred_at: DateTime<Utc>,
}

/// Payload of `order.refunded` v1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderRefundedV1 {
    /// The order.
    pub order_id: Uuid,
    /// Customer who gets the money back.
    pub customer_id: Uuid,
    /// Amount paid back, in minor units.
    pub amount_minor: i64,
    /// Currency of the amount.
    pub currency: String,
    /// Why the money was paid back, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Status before the refund: `cancelled` or `delivered`.
    pub previous_status: String,
    /// When the refund was made.
    pub occurred_at: DateTime<Utc>,
}

/// An order event at the version this code writes, tagged by its stable type string.
///
/// Serialised as `{"type": "order.placed", "data": {...payload...}}`; the payload alone (see [`OrderEvent::payload`])
/// is what the event store keeps next to `event_type` and `schema_version`.
/// Read stored events with [`OrderEvent::decode`], which also upcasts older versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum OrderEvent {
    /// `order.created` v1.
    #[serde(rename = "order.created")]
    Created(OrderCreatedV1),
    /// `order.item_added` v1.
    #[serde(rename = "order.item_added")]
    ItemAdded(OrderItemAddedV1),
    /// `order.item_removed` v1.
    #[serde(rename = "order.item_removed")]
    ItemRemoved(OrderItemRemovedV1),
    /// `order.item_quantity_changed` v1.
    #[serde(rename = "order.item_quantity_changed")]
    ItemQuantityChanged(OrderItemQuantityChangedV1),
    /// `order.shipping_address_set` v2.
    #[serde(rename = "order.shipping_address_set")]
    ShippingAddressSet(OrderShippingAddressSetV2),
    /// `order.placed` v1.
    #[serde(rename = "order.placed")]
    Placed(OrderPlacedV1),
    /// `order.payment_confirmed` v1.
    #[serde(rename = "order.payment_confirmed")]
    PaymentConfirmed(OrderPaymentConfirmedV1),
    /// `order.shipped` v1.
    #[serde(rename = "order.shipped")]
    Shipped(OrderShippedV1),
    /// `order.delivered` v1.
    #[serde(rename = "order.delivered")]
    Delivered(OrderDeliveredV1),
    /// `order.cancelled` v1.
    #[serde(rename = "order.cancelled")]
    Cancelled(OrderCancelledV1),
    /// `order.refunded` v1.
    #[serde(rename = "order.refunded")]
    Refunded(OrderRefundedV1),
}

impl OrderEvent {
    /// The stable type string, for example `order.placed`.
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::Created(_) => event_type::CREATED,
            Self::ItemAdded(_) => event_type::ITEM_ADDED,
            Self::ItemRemoved(_) => event_type::ITEM_REMOVED,
            Self::ItemQuantityChanged(_) => event_type::ITEM_QUANTITY_CHANGED,
            Self::ShippingAddressSet(_) => event_type::SHIPPING_ADDRESS_SET,
            Self::Placed(_) => event_type::PLACED,
            Self::PaymentConfirmed(_) => event_type::PAYMENT_CONFIRMED,
            Self::Shipped(_) => event_type::SHIPPED,
            Self::Delivered(_) => event_type::DELIVERED,
            Self::Cancelled(_) => event_type::CANCELLED,
            Self::Refunded(_) => event_type::REFUNDED,
        }
    }

    /// The schema version this payload is written at (the newest one for its type).
    pub fn schema_version(&self) -> u32 {
        Self::current_version(self.event_type()).unwrap_or(1)
    }

    /// The version new events of `event_type` are written at, or `None` for an unknown type.
    pub fn current_version(event_type: &str) -> Option<u32> {
        match event_type {
            event_type::SHIPPING_ADDRESS_SET => Some(2),
            other if event_type::ALL.contains(&other) => Some(1),
            _ => None,
        }
    }

    /// The order (stream id) the event belongs to.
    pub fn order_id(&self) -> Uuid {
        match self {
            Self::Created(payload) => payload.order_id,
            Self::ItemAdded(payload) => payload.order_id,
            Self::ItemRemoved(payload) => payload.order_id,
            Self::ItemQuantityChanged(payload) => payload.order_id,
            Self::ShippingAddressSet(payload) => payload.order_id,
            Self::Placed(payload) => payload.order_id,
            Self::PaymentConfirmed(payload) => payload.order_id,
            Self::Shipped(payload) => payload.order_id,
            Self::Delivered(payload) => payload.order_id,
            Self::Cancelled(payload) => payload.order_id,
            Self::Refunded(payload) => payload.order_id,
        }
    }

    /// When the fact happened, as stated by the command that caused it.
    pub fn occurred_at(&self) -> DateTime<Utc> {
        match self {
            Self::Created(payload) => payload.occurred_at,
            Self::ItemAdded(payload) => payload.occurred_at,
            Self::ItemRemoved(payload) => payload.occurred_at,
            Self::ItemQuantityChanged(payload) => payload.occurred_at,
            Self::ShippingAddressSet(payload) => payload.occurred_at,
            Self::Placed(payload) => payload.occurred_at,
            Self::PaymentConfirmed(payload) => payload.occurred_at,
            Self::Shipped(payload) => payload.occurred_at,
            Self::Delivered(payload) => payload.occurred_at,
            Self::Cancelled(payload) => payload.occurred_at,
            Self::Refunded(payload) => payload.occurred_at,
        }
    }

    /// The payload as JSON, without the type tag: what the event store keeps and the schema validates.
    pub fn payload(&self) -> Result<serde_json::Value, serde_json::Error> {
        match self {
            Self::Created(payload) => serde_json::to_value(payload),
            Self::ItemAdded(payload) => serde_json::to_value(payload),
            Self::ItemRemoved(payload) => serde_json::to_value(payload),
            Self::ItemQuantityChanged(payload) => serde_json::to_value(payload),
            Self::ShippingAddressSet(payload) => serde_json::to_value(payload),
            Self::Placed(payload) => serde_json::to_value(payload),
            Self::PaymentConfirmed(payload) => serde_json::to_value(payload),
            Self::Shipped(payload) => serde_json::to_value(payload),
            Self::Delivered(payload) => serde_json::to_value(payload),
            Self::Cancelled(payload) => serde_json::to_value(payload),
            Self::Refunded(payload) => serde_json::to_value(payload),
        }
    }
}
