//! Conversion between domain types and the versioned wire types of the `schemas` crate.
//!
//! Domain to wire is infallible (`From`); wire to domain is `TryFrom`, because stored or received data may be
//! old or invalid. Reading a stored event goes through [`decode_event`], which upcasts old schema versions first.
//! Command bodies become commands through the `*_command` functions, which report every invalid field by JSON pointer.
//! This is the only module of the crate that knows `schemas`.

use chrono::DateTime;
use chrono::Utc;
use schemas::order as wire;
use schemas::FieldError;
use schemas::JsonValue;

use crate::command::OrderCommand;
use crate::event::OrderEvent;
use crate::event::OrderTotals;
use crate::state::OrderLine;
use crate::state::OrderStatus;
use crate::values::AddressLine;
use crate::values::Amount;
use crate::values::CancelReason;
use crate::values::Carrier;
use crate::values::City;
use crate::values::CountryCode;
use crate::values::Currency;
use crate::values::CustomerId;
use crate::values::Money;
use crate::values::OrderId;
use crate::values::PaymentReference;
use crate::values::PostalCode;
use crate::values::ProductName;
use crate::values::Quantity;
use crate::values::RecipientName;
use crate::values::RefundReason;
use crate::values::Region;
use crate::values::ShippingAddress;
use crate::values::Sku;
use crate::values::TrackingNumber;
use crate::values::UnitPrice;
use crate::values::ValueError;

/// Why a wire event could not become a domain event.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// Unknown type or version, or a payload that does not fit its struct.
    #[error(transparent)]
    Decode(#[from] wire::DecodeError),
    /// A field holds a value the domain refuses.
    #[error("{field} {source}")]
    InvalidValue {
        /// JSON pointer of the field in the payload.
        field: String,
        /// What is wrong with it.
        source: ValueError,
    },
    /// A derived figure (a total or count) does not match what the payload's own data gives.
    #[error("{field} is {found} but the payload's lines give {expected}")]
    Inconsistent {
        /// JSON pointer of the field in the payload.
        field: &'static str,
        /// The value derived from the payload.
        expected: i64,
        /// The value stored.
        found: i64,
    },
    /// A status name that is not one of the statuses allowed there.
    #[error("{field} has the unexpected status `{found}`")]
    UnexpectedStatus {
        /// JSON pointer of the field in the payload.
        field: &'static str,
        /// The status text.
        found: String,
    },
    /// Serialising the payload to JSON failed.
    #[error("encoding the event payload failed: {0}")]
    Encode(String),
}

/// An event ready to be stored: its type string, schema version and JSON payload.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedEvent {
    /// Stable type string, for example `order.placed`.
    pub event_type: &'static str,
    /// Schema version the payload is written at.
    pub schema_version: u32,
    /// The payload, valid against the schema of that type and version.
    pub payload: JsonValue,
}

impl OrderEvent {
    /// The stable event type string (`order.placed`), as in `schemas::order::event_type`.
    pub fn event_type(&self) -> &'static str {
        use wire::event_type;
        match self {
            Self::Created { .. } => event_type::CREATED,
            Self::ItemAdded { .. } => event_type::ITEM_ADDED,
            Self::ItemRemoved { .. } => event_type::ITEM_REMOVED,
            Self::ItemQuantityChanged { .. } => event_type::ITEM_QUANTITY_CHANGED,
            Self::ShippingAddressSet { .. } => event_type::SHIPPING_ADDRESS_SET,
            Self::Placed { .. } => event_type::PLACED,
            Self::PaymentConfirmed { .. } => event_type::PAYMENT_CONFIRMED,
            Self::Shipped { .. } => event_type::SHIPPED,
            Self::Delivered { .. } => event_type::DELIVERED,
            Self::Cancelled { .. } => event_type::CANCELLED,
            Self::Refunded { .. } => event_type::REFUNDED,
        }
    }

    /// The schema version this event is written at (the newest for its type).
    pub fn schema_version(&self) -> u32 {
        wire::OrderEvent::current_version(self.event_type()).unwrap_or(1)
    }
}

/// Converts an event to its type, version and JSON payload, as the event store keeps it.
pub fn encode_event(event: &OrderEvent) -> Result<EncodedEvent, WireError> {
    let wire_event = wire::OrderEvent::from(event);
    let payload = wire_event.payload().map_err(|error| WireError::Encode(error.to_string()))?;
    Ok(EncodedEvent { event_type: wire_event.event_type(), schema_version: wire_event.schema_version(), payload })
}

/// Reads a stored event: decodes the payload at its version, upcasts it to the current one, and checks it.
///
/// Old versions (for example `order.shipping_address_set` v1) load through the upcaster in `schemas`.
pub fn decode_event(event_type: &str, schema_version: u32, payload: JsonValue) -> Result<OrderEvent, WireError> {
    OrderEvent::try_from(wire::OrderEvent::decode(event_type, schema_version, payload)?)
}

// ---- domain to wire ----

fn address_to_wire(address: &ShippingAddress) -> wire::AddressV1 {
    wire::AddressV1 {
        recipient_name: address.recipient_name.to_string(),
        line1: address.line1.to_string(),
        line2: address.line2.as_ref().map(ToString::to_string),
        city: address.city.to_string(),
        region: address.region.as_ref().map(ToString::to_string),
        postal_code: address.postal_code.to_string(),
        country: address.country.to_string(),
    }
}

fn line_to_wire(line: &OrderLine) -> wire::OrderLineV1 {
    wire::OrderLineV1 {
        sku: line.sku().to_string(),
        name: line.name().to_string(),
        unit_price_minor: line.unit_price().minor_units(),
        quantity: line.quantity().get(),
        line_total_minor: line.line_total().minor_units(),
    }
}

impl From<&OrderEvent> for wire::OrderEvent {
    fn from(event: &OrderEvent) -> Self {
        match event {
            OrderEvent::Created { order_id, customer_id, currency, occurred_at } => {
                Self::Created(wire::OrderCreatedV1 {
                    order_id: order_id.as_uuid(),
                    customer_id: customer_id.as_uuid(),
                    currency: currency.to_string(),
                    occurred_at: *occurred_at,
                })
            }
            OrderEvent::ItemAdded { order_id, line, totals, occurred_at } => Self::ItemAdded(wire::OrderItemAddedV1 {
                order_id: order_id.as_uuid(),
                sku: line.sku().to_string(),
                name: line.name().to_string(),
                unit_price_minor: line.unit_price().minor_units(),
                quantity: line.quantity().get(),
                line_total_minor: line.line_total().minor_units(),
                order_total_minor: totals.order_total.minor_units(),
                item_count: totals.item_count,
                line_count: totals.line_count,
                currency: totals.order_total.currency().to_string(),
                occurred_at: *occurred_at,
            }),
            OrderEvent::ItemRemoved { order_id, line, totals, occurred_at } => {
                Self::ItemRemoved(wire::OrderItemRemovedV1 {
                    order_id: order_id.as_uuid(),
                    sku: line.sku().to_string(),
                    name: line.name().to_string(),
                    unit_price_minor: line.unit_price().minor_units(),
                    quantity: line.quantity().get(),
                    line_total_minor: line.line_total().minor_units(),
                    order_total_minor: totals.order_total.minor_units(),
                    item_count: totals.item_count,
                    line_count: totals.line_count,
                    currency: totals.order_total.currency().to_string(),
                    occurred_at: *occurred_at,
                })
            }
            OrderEvent::ItemQuantityChanged { order_id, line, previous_quantity, totals, occurred_at } => {
                Self::ItemQuantityChanged(wire::OrderItemQuantityChangedV1 {
                    order_id: order_id.as_uuid(),
                    sku: line.sku().to_string(),
                    name: line.name().to_string(),
                    unit_price_minor: line.unit_price().minor_units(),
                    previous_quantity: previous_quantity.get(),
                    quantity: line.quantity().get(),
                    line_total_minor: line.line_total().minor_units(),
                    order_total_minor: totals.order_total.minor_units(),
                    item_count: totals.item_count,
                    line_count: totals.line_count,
                    currency: totals.order_total.currency().to_string(),
                    occurred_at: *occurred_at,
                })
            }
            OrderEvent::ShippingAddressSet { order_id, address, occurred_at } => {
                Self::ShippingAddressSet(wire::OrderShippingAddressSetV2 {
                    order_id: order_id.as_uuid(),
                    address: address_to_wire(address),
                    occurred_at: *occurred_at,
                })
            }
            OrderEvent::Placed { order_id, customer_id, lines, totals, shipping_address, occurred_at } => {
                Self::Placed(wire::OrderPlacedV1 {
                    order_id: order_id.as_uuid(),
                    customer_id: customer_id.as_uuid(),
                    currency: totals.order_total.currency().to_string(),
                    lines: lines.iter().map(line_to_wire).collect(),
                    order_total_minor: totals.order_total.minor_units(),
                    item_count: totals.item_count,
                    line_count: totals.line_count,
                    shipping_address: address_to_wire(shipping_address),
                    occurred_at: *occurred_at,
                })
            }
            OrderEvent::PaymentConfirmed { order_id, customer_id, amount, payment_reference, occurred_at } => {
                Self::PaymentConfirmed(wire::OrderPaymentConfirmedV1 {
                    order_id: order_id.as_uuid(),
                    customer_id: customer_id.as_uuid(),
                    amount_minor: amount.minor_units(),
                    currency: amount.currency().to_string(),
                    payment_reference: payment_reference.as_ref().map(ToString::to_string),
                    occurred_at: *occurred_at,
                })
            }
            OrderEvent::Shipped { order_id, customer_id, carrier, tracking_number, occurred_at } => {
                Self::Shipped(wire::OrderShippedV1 {
                    order_id: order_id.as_uuid(),
                    customer_id: customer_id.as_uuid(),
                    carrier: carrier.to_string(),
                    tracking_number: tracking_number.to_string(),
                    occurred_at: *occurred_at,
                })
            }
            OrderEvent::Delivered { order_id, customer_id, occurred_at } => Self::Delivered(wire::OrderDeliveredV1 {
                order_id: order_id.as_uuid(),
                customer_id: customer_id.as_uuid(),
                occurred_at: *occurred_at,
            }),
            OrderEvent::Cancelled {
                order_id,
                customer_id,
                reason,
                previous_status,
                order_total,
                refund_due,
                occurred_at,
            } => Self::Cancelled(wire::OrderCancelledV1 {
                order_id: order_id.as_uuid(),
                customer_id: customer_id.as_uuid(),
                reason: reason.to_string(),
                previous_status: previous_status.as_str().to_owned(),
                order_total_minor: order_total.minor_units(),
                refund_due_minor: refund_due.map_or(0, |due| due.minor_units()),
                currency: order_total.currency().to_string(),
                occurred_at: *occurred_at,
            }),
            OrderEvent::Refunded { order_id, customer_id, amount, reason, previous_status, occurred_at } => {
                Self::Refunded(wire::OrderRefundedV1 {
                    order_id: order_id.as_uuid(),
                    customer_id: customer_id.as_uuid(),
                    amount_minor: amount.minor_units(),
                    currency: amount.currency().to_string(),
                    reason: reason.as_ref().map(ToString::to_string),
                    previous_status: previous_status.as_str().to_owned(),
                    occurred_at: *occurred_at,
                })
            }
        }
    }
}

impl From<OrderEvent> for wire::OrderEvent {
    fn from(event: OrderEvent) -> Self {
        Self::from(&event)
    }
}

// ---- wire to domain ----

fn field<T>(pointer: &str, parsed: Result<T, ValueError>) -> Result<T, WireError> {
    parsed.map_err(|source| WireError::InvalidValue { field: pointer.to_owned(), source })
}

fn optional<T>(
    pointer: &str,
    text: Option<&str>,
    parse: impl FnOnce(&str) -> Result<T, ValueError>,
) -> Result<Option<T>, WireError> {
    text.map(|text| field(pointer, parse(text))).transpose()
}

fn address_from_wire(prefix: &str, address: &wire::AddressV1) -> Result<ShippingAddress, ValueErrors> {
    let mut errors = ValueErrors::default();
    let recipient_name = errors.check(prefix, "recipient_name", RecipientName::parse(&address.recipient_name));
    let line1 = errors.check(prefix, "line1", AddressLine::parse(&address.line1));
    let line2 = address.line2.as_deref().map(|line2| errors.check(prefix, "line2", AddressLine::parse(line2)));
    let city = errors.check(prefix, "city", City::parse(&address.city));
    let region = address.region.as_deref().map(|region| errors.check(prefix, "region", Region::parse(region)));
    let postal_code = errors.check(prefix, "postal_code", PostalCode::parse(&address.postal_code));
    let country = errors.check(prefix, "country", CountryCode::parse(&address.country));
    match (recipient_name, line1, line2.transpose_all(), city, region.transpose_all(), postal_code, country) {
        (
            Some(recipient_name),
            Some(line1),
            Some(line2),
            Some(city),
            Some(region),
            Some(postal_code),
            Some(country),
        ) if errors.is_empty() => {
            Ok(ShippingAddress { recipient_name, line1, line2, city, region, postal_code, country })
        }
        _ => Err(errors),
    }
}

/// Field errors collected while parsing several fields, so a client learns about all of them at once.
#[derive(Debug, Default)]
struct ValueErrors {
    errors: Vec<(String, ValueError)>,
}

impl ValueErrors {
    fn check<T>(&mut self, prefix: &str, member: &str, parsed: Result<T, ValueError>) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(error) => {
                self.errors.push((format!("{prefix}/{member}"), error));
                None
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    fn into_field_errors(self) -> Vec<FieldError> {
        self.errors.into_iter().map(|(pointer, error)| FieldError::new(pointer, error.to_string())).collect()
    }

    fn into_wire_error(self) -> WireError {
        match self.errors.into_iter().next() {
            Some((field, source)) => WireError::InvalidValue { field, source },
            None => WireError::Encode("address rejected without a reason".to_owned()),
        }
    }
}

/// `Option<Option<T>>` where the outer `None` means "absent" and the inner `None` means "invalid".
trait TransposeAll<T> {
    /// `Some(None)` when absent, `Some(Some(value))` when valid, `None` when invalid.
    fn transpose_all(self) -> Option<Option<T>>;
}

impl<T> TransposeAll<T> for Option<Option<T>> {
    fn transpose_all(self) -> Option<Option<T>> {
        match self {
            None => Some(None),
            Some(Some(value)) => Some(Some(value)),
            Some(None) => None,
        }
    }
}

fn quantity_from_wire(pointer: &str, units: u32) -> Result<Quantity, WireError> {
    field(pointer, Quantity::try_new(i64::from(units)))
}

fn money_from_wire(pointer: &str, minor_units: i64, currency: Currency) -> Result<Money, WireError> {
    Ok(Money::new(field(pointer, Amount::try_new(minor_units))?, currency))
}

fn line_from_wire(
    prefix: &str,
    sku: &str,
    name: &str,
    unit_price_minor: i64,
    quantity: u32,
) -> Result<OrderLine, WireError> {
    Ok(OrderLine::new(
        field(&format!("{prefix}/sku"), Sku::parse(sku))?,
        field(&format!("{prefix}/name"), ProductName::parse(name))?,
        field(&format!("{prefix}/unit_price_minor"), UnitPrice::try_new(unit_price_minor))?,
        quantity_from_wire(&format!("{prefix}/quantity"), quantity)?,
    ))
}

fn check_derived(field: &'static str, expected: i64, found: i64) -> Result<(), WireError> {
    if expected == found {
        Ok(())
    } else {
        Err(WireError::Inconsistent { field, expected, found })
    }
}

fn status_from_wire(field: &'static str, name: &str, allowed: &[OrderStatus]) -> Result<OrderStatus, WireError> {
    OrderStatus::parse(name)
        .filter(|status| allowed.contains(status))
        .ok_or_else(|| WireError::UnexpectedStatus { field, found: name.to_owned() })
}

fn totals_from_wire(
    order_total_minor: i64,
    item_count: u32,
    line_count: u32,
    currency: Currency,
) -> Result<OrderTotals, WireError> {
    Ok(OrderTotals {
        order_total: money_from_wire("/order_total_minor", order_total_minor, currency)?,
        item_count,
        line_count,
    })
}

/// The fields the three item events (added, removed, quantity changed) carry alike.
struct ItemChangeFields<'a> {
    sku: &'a str,
    name: &'a str,
    unit_price_minor: i64,
    quantity: u32,
    line_total_minor: i64,
    order_total_minor: i64,
    item_count: u32,
    line_count: u32,
    currency: &'a str,
}

/// [`ItemChangeFields`] of an item event payload: the three payload types name these fields alike.
macro_rules! item_change_fields {
    ($payload:expr) => {
        ItemChangeFields {
            sku: &$payload.sku,
            name: &$payload.name,
            unit_price_minor: $payload.unit_price_minor,
            quantity: $payload.quantity,
            line_total_minor: $payload.line_total_minor,
            order_total_minor: $payload.order_total_minor,
            item_count: $payload.item_count,
            line_count: $payload.line_count,
            currency: &$payload.currency,
        }
    };
}

/// The line and the order totals of an item event, with the stored line total checked against the one
/// the line implies.
fn item_change_from_wire(fields: &ItemChangeFields<'_>) -> Result<(OrderLine, OrderTotals), WireError> {
    let currency = field("/currency", Currency::parse(fields.currency))?;
    let line = line_from_wire("", fields.sku, fields.name, fields.unit_price_minor, fields.quantity)?;
    check_derived("/line_total_minor", line.line_total().minor_units(), fields.line_total_minor)?;
    let totals = totals_from_wire(fields.order_total_minor, fields.item_count, fields.line_count, currency)?;
    Ok((line, totals))
}

fn ids(order_id: uuid::Uuid, customer_id: uuid::Uuid) -> (OrderId, CustomerId) {
    (OrderId::new(order_id), CustomerId::new(customer_id))
}

impl TryFrom<wire::OrderEvent> for OrderEvent {
    type Error = WireError;

    fn try_from(event: wire::OrderEvent) -> Result<Self, Self::Error> {
        Ok(match event {
            wire::OrderEvent::Created(payload) => Self::Created {
                order_id: OrderId::new(payload.order_id),
                customer_id: CustomerId::new(payload.customer_id),
                currency: field("/currency", Currency::parse(&payload.currency))?,
                occurred_at: payload.occurred_at,
            },
            wire::OrderEvent::ItemAdded(payload) => {
                let (line, totals) = item_change_from_wire(&item_change_fields!(payload))?;
                Self::ItemAdded {
                    order_id: OrderId::new(payload.order_id),
                    line,
                    totals,
                    occurred_at: payload.occurred_at,
                }
            }
            wire::OrderEvent::ItemRemoved(payload) => {
                let (line, totals) = item_change_from_wire(&item_change_fields!(payload))?;
                Self::ItemRemoved {
                    order_id: OrderId::new(payload.order_id),
                    line,
                    totals,
                    occurred_at: payload.occurred_at,
                }
            }
            wire::OrderEvent::ItemQuantityChanged(payload) => {
                let (line, totals) = item_change_from_wire(&item_change_fields!(payload))?;
                Self::ItemQuantityChanged {
                    order_id: OrderId::new(payload.order_id),
                    line,
                    previous_quantity: quantity_from_wire("/previous_quantity", payload.previous_quantity)?,
                    totals,
                    occurred_at: payload.occurred_at,
                }
            }
            wire::OrderEvent::ShippingAddressSet(payload) => Self::ShippingAddressSet {
                order_id: OrderId::new(payload.order_id),
                address: address_from_wire("/address", &payload.address).map_err(ValueErrors::into_wire_error)?,
                occurred_at: payload.occurred_at,
            },
            wire::OrderEvent::Placed(payload) => {
                let currency = field("/currency", Currency::parse(&payload.currency))?;
                let lines = payload
                    .lines
                    .iter()
                    .enumerate()
                    .map(|(index, line)| {
                        let prefix = format!("/lines/{index}");
                        let parsed =
                            line_from_wire(&prefix, &line.sku, &line.name, line.unit_price_minor, line.quantity)?;
                        check_derived(
                            "/lines/*/line_total_minor",
                            parsed.line_total().minor_units(),
                            line.line_total_minor,
                        )?;
                        Ok(parsed)
                    })
                    .collect::<Result<Vec<_>, WireError>>()?;
                let sum: i64 = lines.iter().map(|line| line.line_total().minor_units()).sum();
                check_derived("/order_total_minor", sum, payload.order_total_minor)?;
                let (order_id, customer_id) = ids(payload.order_id, payload.customer_id);
                Self::Placed {
                    order_id,
                    customer_id,
                    lines,
                    totals: totals_from_wire(
                        payload.order_total_minor,
                        payload.item_count,
                        payload.line_count,
                        currency,
                    )?,
                    shipping_address: address_from_wire("/shipping_address", &payload.shipping_address)
                        .map_err(ValueErrors::into_wire_error)?,
                    occurred_at: payload.occurred_at,
                }
            }
            wire::OrderEvent::PaymentConfirmed(payload) => {
                let currency = field("/currency", Currency::parse(&payload.currency))?;
                let (order_id, customer_id) = ids(payload.order_id, payload.customer_id);
                Self::PaymentConfirmed {
                    order_id,
                    customer_id,
                    amount: money_from_wire("/amount_minor", payload.amount_minor, currency)?,
                    payment_reference: optional(
                        "/payment_reference",
                        payload.payment_reference.as_deref(),
                        PaymentReference::parse,
                    )?,
                    occurred_at: payload.occurred_at,
                }
            }
            wire::OrderEvent::Shipped(payload) => {
                let (order_id, customer_id) = ids(payload.order_id, payload.customer_id);
                Self::Shipped {
                    order_id,
                    customer_id,
                    carrier: field("/carrier", Carrier::parse(&payload.carrier))?,
                    tracking_number: field("/tracking_number", TrackingNumber::parse(&payload.tracking_number))?,
                    occurred_at: payload.occurred_at,
                }
            }
            wire::OrderEvent::Delivered(payload) => {
                let (order_id, customer_id) = ids(payload.order_id, payload.customer_id);
                Self::Delivered { order_id, customer_id, occurred_at: payload.occurred_at }
            }
            wire::OrderEvent::Cancelled(payload) => {
                let currency = field("/currency", Currency::parse(&payload.currency))?;
                let (order_id, customer_id) = ids(payload.order_id, payload.customer_id);
                let refund_due = money_from_wire("/refund_due_minor", payload.refund_due_minor, currency)?;
                Self::Cancelled {
                    order_id,
                    customer_id,
                    reason: field("/reason", CancelReason::parse(&payload.reason))?,
                    previous_status: status_from_wire(
                        "/previous_status",
                        &payload.previous_status,
                        &[OrderStatus::Draft, OrderStatus::Placed, OrderStatus::Paid],
                    )?,
                    order_total: money_from_wire("/order_total_minor", payload.order_total_minor, currency)?,
                    refund_due: Some(refund_due).filter(|due| due.minor_units() > 0),
                    occurred_at: payload.occurred_at,
                }
            }
            wire::OrderEvent::Refunded(payload) => {
                let currency = field("/currency", Currency::parse(&payload.currency))?;
                let (order_id, customer_id) = ids(payload.order_id, payload.customer_id);
                Self::Refunded {
                    order_id,
                    customer_id,
                    amount: money_from_wire("/amount_minor", payload.amount_minor, currency)?,
                    reason: optional("/reason", payload.reason.as_deref(), RefundReason::parse)?,
                    previous_status: status_from_wire(
                        "/previous_status",
                        &payload.previous_status,
                        &[OrderStatus::Cancelled, OrderStatus::Delivered],
                    )?,
                    occurred_at: payload.occurred_at,
                }
            }
        })
    }
}

// ---- command bodies to commands ----

/// `create_order` v1: the body's `order_id` wins; `generated_order_id` (a UUID v7 made at the edge) is used without it.
pub fn create_order_command(
    body: &wire::CreateOrderV1,
    generated_order_id: OrderId,
    requested_at: DateTime<Utc>,
) -> Result<OrderCommand, Vec<FieldError>> {
    let currency =
        Currency::parse(&body.currency).map_err(|error| vec![FieldError::new("/currency", error.to_string())])?;
    Ok(OrderCommand::Create {
        order_id: body.order_id.map_or(generated_order_id, OrderId::new),
        customer_id: CustomerId::new(body.customer_id),
        currency,
        requested_at,
    })
}

/// `add_item` v1.
pub fn add_item_command(body: &wire::AddItemV1, requested_at: DateTime<Utc>) -> Result<OrderCommand, Vec<FieldError>> {
    let mut errors = ValueErrors::default();
    let sku = errors.check("", "sku", Sku::parse(&body.sku));
    let name = errors.check("", "name", ProductName::parse(&body.name));
    let unit_price = errors.check("", "unit_price_minor", UnitPrice::try_new(body.unit_price_minor));
    let quantity = errors.check("", "quantity", Quantity::try_new(body.quantity));
    match (sku, name, unit_price, quantity) {
        (Some(sku), Some(name), Some(unit_price), Some(quantity)) => {
            Ok(OrderCommand::AddItem { sku, name, unit_price, quantity, requested_at })
        }
        _ => Err(errors.into_field_errors()),
    }
}

/// `remove_item` v1; the sku comes from the path and is reported at pointer `/sku` when invalid.
pub fn remove_item_command(
    sku: &str,
    _body: &wire::RemoveItemV1,
    requested_at: DateTime<Utc>,
) -> Result<OrderCommand, Vec<FieldError>> {
    let sku = Sku::parse(sku).map_err(|error| vec![FieldError::new("/sku", error.to_string())])?;
    Ok(OrderCommand::RemoveItem { sku, requested_at })
}

/// `change_item_quantity` v1; the sku comes from the path and is reported at pointer `/sku` when invalid.
pub fn change_item_quantity_command(
    sku: &str,
    body: &wire::ChangeItemQuantityV1,
    requested_at: DateTime<Utc>,
) -> Result<OrderCommand, Vec<FieldError>> {
    let mut errors = ValueErrors::default();
    let sku = errors.check("", "sku", Sku::parse(sku));
    let quantity = errors.check("", "quantity", Quantity::try_new(body.quantity));
    match (sku, quantity) {
        (Some(sku), Some(quantity)) => Ok(OrderCommand::ChangeItemQuantity { sku, quantity, requested_at }),
        _ => Err(errors.into_field_errors()),
    }
}

/// `set_shipping_address` v1.
pub fn set_shipping_address_command(
    body: &wire::SetShippingAddressV1,
    requested_at: DateTime<Utc>,
) -> Result<OrderCommand, Vec<FieldError>> {
    let address = address_from_wire("", body).map_err(ValueErrors::into_field_errors)?;
    Ok(OrderCommand::SetShippingAddress { address, requested_at })
}

/// `place_order` v1.
pub fn place_order_command(
    _body: &wire::PlaceOrderV1,
    requested_at: DateTime<Utc>,
) -> Result<OrderCommand, Vec<FieldError>> {
    Ok(OrderCommand::Place { requested_at })
}

/// `confirm_payment` v1.
pub fn confirm_payment_command(
    body: &wire::ConfirmPaymentV1,
    requested_at: DateTime<Utc>,
) -> Result<OrderCommand, Vec<FieldError>> {
    let mut errors = ValueErrors::default();
    let amount = errors.check("", "amount_minor", Amount::try_new(body.amount_minor));
    let currency = errors.check("", "currency", Currency::parse(&body.currency));
    let payment_reference = body
        .payment_reference
        .as_deref()
        .map(|reference| errors.check("", "payment_reference", PaymentReference::parse(reference)))
        .transpose_all();
    match (amount, currency, payment_reference) {
        (Some(amount), Some(currency), Some(payment_reference)) => {
            Ok(OrderCommand::ConfirmPayment { amount: Money::new(amount, currency), payment_reference, requested_at })
        }
        _ => Err(errors.into_field_errors()),
    }
}

/// `ship_order` v1.
pub fn ship_order_command(
    body: &wire::ShipOrderV1,
    requested_at: DateTime<Utc>,
) -> Result<OrderCommand, Vec<FieldError>> {
    let mut errors = ValueErrors::default();
    let carrier = errors.check("", "carrier", Carrier::parse(&body.carrier));
    let tracking_number = errors.check("", "tracking_number", TrackingNumber::parse(&body.tracking_number));
    match (carrier, tracking_number) {
        (Some(carrier), Some(tracking_number)) => Ok(OrderCommand::Ship { carrier, tracking_number, requested_at }),
        _ => Err(errors.into_field_errors()),
    }
}

/// `confirm_delivery` v1.
pub fn confirm_delivery_command(
    _body: &wire::ConfirmDeliveryV1,
    requested_at: DateTime<Utc>,
) -> Result<OrderCommand, Vec<FieldError>> {
    Ok(OrderCommand::ConfirmDelivery { requested_at })
}

/// `cancel_order` v1.
pub fn cancel_order_command(
    body: &wire::CancelOrderV1,
    requested_at: DateTime<Utc>,
) -> Result<OrderCommand, Vec<FieldError>> {
    let reason =
        CancelReason::parse(&body.reason).map_err(|error| vec![FieldError::new("/reason", error.to_string())])?;
    Ok(OrderCommand::Cancel { reason, requested_at })
}

/// `refund_order` v1; a zero `amount_minor` is refused here, as the schema does.
pub fn refund_order_command(
    body: &wire::RefundOrderV1,
    requested_at: DateTime<Utc>,
) -> Result<OrderCommand, Vec<FieldError>> {
    let mut errors = ValueErrors::default();
    let amount = body
        .amount_minor
        .map(|minor_units| {
            let positive = Amount::try_new(minor_units).and_then(|amount| {
                if amount.minor_units() > 0 {
                    Ok(amount)
                } else {
                    Err(ValueError::OutOfRange { min: 1, max: Amount::MAX })
                }
            });
            errors.check("", "amount_minor", positive)
        })
        .transpose_all();
    let reason =
        body.reason.as_deref().map(|reason| errors.check("", "reason", RefundReason::parse(reason))).transpose_all();
    match (amount, reason) {
        (Some(amount), Some(reason)) => Ok(OrderCommand::Refund { amount, reason, requested_at }),
        _ => Err(errors.into_field_errors()),
    }
}
