//! The projection logic as plain functions: from the current state of an order's view and one decoded
//! wire event to the new state and the changes of the aggregate figures. No IO happens here;
//! the Postgres tables, the search documents, live projection and rebuilds are all derived from it.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use schemas::order::{AddressV1, OrderEvent, OrderLineV1};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Lifecycle status of an order as the read views show it (the stable names of `aggregates::OrderStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderStatus {
    /// Open for changes.
    Draft,
    /// Frozen, waiting for payment.
    Placed,
    /// Paid in full.
    Paid,
    /// With the carrier.
    Shipped,
    /// Delivered to the customer.
    Delivered,
    /// Cancelled before shipping.
    Cancelled,
    /// Money paid back; closed.
    Refunded,
}

impl OrderStatus {
    /// The stable lower-case name stored in `order_summary.status` and in the search document.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Placed => "placed",
            Self::Paid => "paid",
            Self::Shipped => "shipped",
            Self::Delivered => "delivered",
            Self::Cancelled => "cancelled",
            Self::Refunded => "refunded",
        }
    }

    /// The status of a stored name, or `None` for a name this code does not know.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Draft, Self::Placed, Self::Paid, Self::Shipped, Self::Delivered, Self::Cancelled, Self::Refunded]
            .into_iter()
            .find(|status| status.as_str() == name)
    }
}

/// One current line of an order (a row of `projections.order_lines`, an element of the document's `items`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineView {
    /// Stock keeping unit, unique within the order.
    pub sku: String,
    /// Product name.
    pub name: String,
    /// Price of one unit, minor units.
    pub unit_price_minor: i64,
    /// Units.
    pub quantity: i32,
    /// `unit_price_minor * quantity`.
    pub line_total_minor: i64,
    /// Stream version of the event that last changed this line.
    pub version: i64,
}

/// Everything the read side knows about one order after some prefix of its stream.
///
/// It is both the row of `projections.order_summary` (plus its `order_lines`) and, serialised as is,
/// the Elasticsearch document; `version` is the stream version of the last event folded in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderView {
    /// The order (stream id).
    pub order_id: Uuid,
    /// Its customer.
    pub customer_id: Uuid,
    /// Lifecycle status.
    pub status: OrderStatus,
    /// ISO 4217 currency of every amount.
    pub currency: String,
    /// Sum of the quantities.
    pub item_count: i32,
    /// Number of lines.
    pub line_count: i32,
    /// Order total, minor units.
    pub total_minor: i64,
    /// Payments received, minor units.
    pub paid_minor: i64,
    /// Amount still owed back to the customer after a cancellation, minor units.
    pub refund_due_minor: i64,
    /// Amount paid back, minor units.
    pub refunded_minor: i64,
    /// Current lines in the order they were added.
    pub items: Vec<LineView>,
    /// Shipping recipient.
    pub recipient_name: Option<String>,
    /// Street and number.
    pub address_line1: Option<String>,
    /// Further address detail.
    pub address_line2: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Region, state or province.
    pub region: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2 country code.
    pub country: Option<String>,
    /// Reference of the payment provider.
    pub payment_reference: Option<String>,
    /// Carrier name.
    pub carrier: Option<String>,
    /// Carrier tracking number.
    pub tracking_number: Option<String>,
    /// Why the order was cancelled.
    pub cancel_reason: Option<String>,
    /// Why money was paid back.
    pub refund_reason: Option<String>,
    /// When the draft was opened.
    pub created_at: DateTime<Utc>,
    /// When it was placed.
    pub placed_at: Option<DateTime<Utc>>,
    /// When payment was confirmed.
    pub paid_at: Option<DateTime<Utc>>,
    /// When it was shipped.
    pub shipped_at: Option<DateTime<Utc>>,
    /// When it was delivered.
    pub delivered_at: Option<DateTime<Utc>>,
    /// When it was cancelled.
    pub cancelled_at: Option<DateTime<Utc>>,
    /// When money was paid back.
    pub refunded_at: Option<DateTime<Utc>>,
    /// `occurred_at` of the last event folded in.
    pub updated_at: DateTime<Utc>,
    /// Stream version of the last event folded in.
    pub version: i64,
    /// Global position of the last event folded in.
    pub last_position: i64,
}

/// Figures of one customer in one currency, or a change to add to them (a row of `customer_figures`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CustomerFigures {
    /// Orders placed.
    pub orders_placed: i64,
    /// Orders cancelled after being placed.
    pub orders_cancelled: i64,
    /// Payments received, minor units.
    pub paid_minor: i64,
    /// Refunds paid, minor units.
    pub refunded_minor: i64,
    /// `paid_minor - refunded_minor`.
    pub lifetime_value_minor: i64,
    /// Earliest placing time.
    pub first_order_at: Option<DateTime<Utc>>,
    /// Latest placing time.
    pub last_order_at: Option<DateTime<Utc>>,
}

/// Sales of one day in one currency, or a change to add to them (a row of `daily_sales`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DailySales {
    /// Orders placed that day.
    pub orders_placed: i64,
    /// Sum of the totals of the orders placed that day.
    pub placed_value_minor: i64,
    /// Payments confirmed that day.
    pub payments: i64,
    /// Sum of the payments confirmed that day.
    pub revenue_minor: i64,
    /// Orders cancelled that day after being placed.
    pub orders_cancelled: i64,
    /// Sum of the totals of those orders.
    pub cancelled_value_minor: i64,
    /// Refunds paid that day.
    pub refunds: i64,
    /// Sum of those refunds.
    pub refunded_minor: i64,
}

impl CustomerFigures {
    /// Adds `other` (counts and sums add, first/last times take the minimum/maximum).
    ///
    /// The merge is commutative and associative, so changes from different orders may be applied
    /// in any order, once each.
    pub fn merge(&mut self, other: &CustomerFigures) {
        self.orders_placed += other.orders_placed;
        self.orders_cancelled += other.orders_cancelled;
        self.paid_minor += other.paid_minor;
        self.refunded_minor += other.refunded_minor;
        self.lifetime_value_minor += other.lifetime_value_minor;
        self.first_order_at = min_time(self.first_order_at, other.first_order_at);
        self.last_order_at = max_time(self.last_order_at, other.last_order_at);
    }
}

impl DailySales {
    /// Adds `other` field by field (commutative and associative).
    pub fn merge(&mut self, other: &DailySales) {
        self.orders_placed += other.orders_placed;
        self.placed_value_minor += other.placed_value_minor;
        self.payments += other.payments;
        self.revenue_minor += other.revenue_minor;
        self.orders_cancelled += other.orders_cancelled;
        self.cancelled_value_minor += other.cancelled_value_minor;
        self.refunds += other.refunds;
        self.refunded_minor += other.refunded_minor;
    }
}

fn min_time(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn max_time(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// Where an event sits: its stream version and global position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventPlace {
    /// Version in the order's stream (from 1).
    pub version: i64,
    /// Global position in the event store.
    pub position: i64,
}

/// What one event changes in the read side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewChange {
    /// The order's view after the event.
    pub order: OrderView,
    /// Change of the customer's figures, keyed by `(customer_id, currency)`.
    pub customer: Option<((Uuid, String), CustomerFigures)>,
    /// Change of one day's sales, keyed by `(UTC day, currency)`.
    pub daily: Option<((NaiveDate, String), DailySales)>,
}

/// Why an event cannot be applied to the order's view: the history breaks an invariant the views rely on.
///
/// These are poison events: retrying will not help until the code or the data is fixed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    /// The first event of an order is not `order.created`.
    #[error("{event_type} for order {order_id}, which has no order.created")]
    NotCreated {
        /// The order.
        order_id: Uuid,
        /// The event type found.
        event_type: &'static str,
    },
    /// A second `order.created`.
    #[error("order {order_id} is created twice")]
    AlreadyCreated {
        /// The order.
        order_id: Uuid,
    },
    /// The payload's order id is not the stream's.
    #[error("event of stream {stream_id} is about order {order_id}")]
    WrongOrder {
        /// The stream the event is stored in.
        stream_id: Uuid,
        /// The order named by the payload.
        order_id: Uuid,
    },
    /// An amount is in another currency than the order's.
    #[error("order {order_id} is in {expected}, the event says {found}")]
    CurrencyMismatch {
        /// The order.
        order_id: Uuid,
        /// The order's currency.
        expected: String,
        /// The event's currency.
        found: String,
    },
    /// A line is added twice.
    #[error("order {order_id} already has a line for sku {sku}")]
    DuplicateLine {
        /// The order.
        order_id: Uuid,
        /// The sku.
        sku: String,
    },
    /// A line that does not exist is changed or removed.
    #[error("order {order_id} has no line for sku {sku}")]
    UnknownLine {
        /// The order.
        order_id: Uuid,
        /// The sku.
        sku: String,
    },
    /// A quantity does not fit the view's integer columns.
    #[error("a quantity or count of order {order_id} is out of range")]
    OutOfRange {
        /// The order.
        order_id: Uuid,
    },
}

/// Applies one event to an order's view: the read side's whole logic for order events.
///
/// `current` is the view before the event (`None` before `order.created`); duplicates and gaps are the
/// caller's business (compare `place.version` with `current.version` first).
/// Returns the new view and the changes of the aggregate figures, or the invariant the event breaks.
pub fn project(current: Option<&OrderView>, event: &OrderEvent, place: EventPlace) -> Result<ViewChange, ApplyError> {
    let order_id = event.order_id();
    let occurred_at = event.occurred_at();
    let mut customer = None;
    let mut daily = None;
    let mut view = match (current, event) {
        (Some(_), OrderEvent::Created(_)) => return Err(ApplyError::AlreadyCreated { order_id }),
        (None, OrderEvent::Created(created)) => OrderView {
            order_id,
            customer_id: created.customer_id,
            status: OrderStatus::Draft,
            currency: created.currency.clone(),
            item_count: 0,
            line_count: 0,
            total_minor: 0,
            paid_minor: 0,
            refund_due_minor: 0,
            refunded_minor: 0,
            items: Vec::new(),
            recipient_name: None,
            address_line1: None,
            address_line2: None,
            city: None,
            region: None,
            postal_code: None,
            country: None,
            payment_reference: None,
            carrier: None,
            tracking_number: None,
            cancel_reason: None,
            refund_reason: None,
            created_at: created.occurred_at,
            placed_at: None,
            paid_at: None,
            shipped_at: None,
            delivered_at: None,
            cancelled_at: None,
            refunded_at: None,
            updated_at: occurred_at,
            version: place.version,
            last_position: place.position,
        },
        (None, other) => return Err(ApplyError::NotCreated { order_id, event_type: other.event_type() }),
        (Some(current), _) => current.clone(),
    };
    let count = |value: u32| i32::try_from(value).map_err(|_| ApplyError::OutOfRange { order_id });
    let same_currency = |view: &OrderView, found: &str| {
        if view.currency == found {
            Ok(())
        } else {
            Err(ApplyError::CurrencyMismatch { order_id, expected: view.currency.clone(), found: found.to_owned() })
        }
    };
    match event {
        OrderEvent::Created(_) => {}
        OrderEvent::ItemAdded(added) => {
            same_currency(&view, &added.currency)?;
            if view.items.iter().any(|line| line.sku == added.sku) {
                return Err(ApplyError::DuplicateLine { order_id, sku: added.sku.clone() });
            }
            view.items.push(LineView {
                sku: added.sku.clone(),
                name: added.name.clone(),
                unit_price_minor: added.unit_price_minor,
                quantity: count(added.quantity)?,
                line_total_minor: added.line_total_minor,
                version: place.version,
            });
            view.total_minor = added.order_total_minor;
            view.item_count = count(added.item_count)?;
            view.line_count = count(added.line_count)?;
        }
        OrderEvent::ItemRemoved(removed) => {
            same_currency(&view, &removed.currency)?;
            let index = view
                .items
                .iter()
                .position(|line| line.sku == removed.sku)
                .ok_or_else(|| ApplyError::UnknownLine { order_id, sku: removed.sku.clone() })?;
            view.items.remove(index);
            view.total_minor = removed.order_total_minor;
            view.item_count = count(removed.item_count)?;
            view.line_count = count(removed.line_count)?;
        }
        OrderEvent::ItemQuantityChanged(changed) => {
            same_currency(&view, &changed.currency)?;
            let quantity = count(changed.quantity)?;
            let line = view
                .items
                .iter_mut()
                .find(|line| line.sku == changed.sku)
                .ok_or_else(|| ApplyError::UnknownLine { order_id, sku: changed.sku.clone() })?;
            line.name.clone_from(&changed.name);
            line.unit_price_minor = changed.unit_price_minor;
            line.quantity = quantity;
            line.line_total_minor = changed.line_total_minor;
            line.version = place.version;
            view.total_minor = changed.order_total_minor;
            view.item_count = count(changed.item_count)?;
            view.line_count = count(changed.line_count)?;
        }
        OrderEvent::ShippingAddressSet(set) => set_address(&mut view, &set.address),
        OrderEvent::Placed(placed) => {
            same_currency(&view, &placed.currency)?;
            view.customer_id = placed.customer_id;
            view.items = placed
                .lines
                .iter()
                .map(|line| line_view(line, place.version))
                .collect::<Result<_, _>>()
                .map_err(|_| ApplyError::OutOfRange { order_id })?;
            view.total_minor = placed.order_total_minor;
            view.item_count = count(placed.item_count)?;
            view.line_count = count(placed.line_count)?;
            set_address(&mut view, &placed.shipping_address);
            view.status = OrderStatus::Placed;
            view.placed_at = Some(placed.occurred_at);
            customer = Some(CustomerFigures {
                orders_placed: 1,
                first_order_at: Some(placed.occurred_at),
                last_order_at: Some(placed.occurred_at),
                ..CustomerFigures::default()
            });
            daily = Some(DailySales {
                orders_placed: 1,
                placed_value_minor: placed.order_total_minor,
                ..DailySales::default()
            });
        }
        OrderEvent::PaymentConfirmed(paid) => {
            same_currency(&view, &paid.currency)?;
            view.status = OrderStatus::Paid;
            view.paid_minor += paid.amount_minor;
            view.paid_at = Some(paid.occurred_at);
            view.payment_reference.clone_from(&paid.payment_reference);
            customer = Some(CustomerFigures {
                paid_minor: paid.amount_minor,
                lifetime_value_minor: paid.amount_minor,
                ..CustomerFigures::default()
            });
            daily = Some(DailySales { payments: 1, revenue_minor: paid.amount_minor, ..DailySales::default() });
        }
        OrderEvent::Shipped(shipped) => {
            view.status = OrderStatus::Shipped;
            view.shipped_at = Some(shipped.occurred_at);
            view.carrier = Some(shipped.carrier.clone());
            view.tracking_number = Some(shipped.tracking_number.clone());
        }
        OrderEvent::Delivered(delivered) => {
            view.status = OrderStatus::Delivered;
            view.delivered_at = Some(delivered.occurred_at);
        }
        OrderEvent::Cancelled(cancelled) => {
            same_currency(&view, &cancelled.currency)?;
            view.status = OrderStatus::Cancelled;
            view.cancelled_at = Some(cancelled.occurred_at);
            view.cancel_reason = Some(cancelled.reason.clone());
            view.refund_due_minor = cancelled.refund_due_minor;
            // A draft that is dropped was never a sale; only placed orders count as cancellations.
            if cancelled.previous_status != OrderStatus::Draft.as_str() {
                customer = Some(CustomerFigures { orders_cancelled: 1, ..CustomerFigures::default() });
                daily = Some(DailySales {
                    orders_cancelled: 1,
                    cancelled_value_minor: cancelled.order_total_minor,
                    ..DailySales::default()
                });
            }
        }
        OrderEvent::Refunded(refunded) => {
            same_currency(&view, &refunded.currency)?;
            view.status = OrderStatus::Refunded;
            view.refunded_at = Some(refunded.occurred_at);
            view.refunded_minor += refunded.amount_minor;
            view.refund_due_minor = (view.refund_due_minor - refunded.amount_minor).max(0);
            view.refund_reason.clone_from(&refunded.reason);
            customer = Some(CustomerFigures {
                refunded_minor: refunded.amount_minor,
                lifetime_value_minor: -refunded.amount_minor,
                ..CustomerFigures::default()
            });
            daily = Some(DailySales { refunds: 1, refunded_minor: refunded.amount_minor, ..DailySales::default() });
        }
    }
    view.updated_at = occurred_at;
    view.version = place.version;
    view.last_position = place.position;
    let currency = view.currency.clone();
    Ok(ViewChange {
        customer: customer.map(|figures| ((view.customer_id, currency.clone()), figures)),
        daily: daily.map(|sales| ((occurred_at.date_naive(), currency), sales)),
        order: view,
    })
}

fn set_address(view: &mut OrderView, address: &AddressV1) {
    view.recipient_name = Some(address.recipient_name.clone());
    view.address_line1 = Some(address.line1.clone());
    view.address_line2.clone_from(&address.line2);
    view.city = Some(address.city.clone());
    view.region.clone_from(&address.region);
    view.postal_code = Some(address.postal_code.clone());
    view.country = Some(address.country.clone());
}

fn line_view(line: &OrderLineV1, version: i64) -> Result<LineView, std::num::TryFromIntError> {
    Ok(LineView {
        sku: line.sku.clone(),
        name: line.name.clone(),
        unit_price_minor: line.unit_price_minor,
        quantity: i32::try_from(line.quantity)?,
        line_total_minor: line.line_total_minor,
        version,
    })
}

/// The folded effect of many events: the final view of every touched order and the summed figure changes.
///
/// Folding a batch per order in memory and writing each row once is what makes catch-up and rebuilds fast;
/// the live projector uses the same fold for the messages of one pull.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FoldedChanges {
    /// Final view per touched order.
    pub orders: HashMap<Uuid, OrderView>,
    /// Summed changes per `(customer_id, currency)`.
    pub customers: HashMap<(Uuid, String), CustomerFigures>,
    /// Summed changes per `(day, currency)`.
    pub daily: HashMap<(NaiveDate, String), DailySales>,
}

impl FoldedChanges {
    /// Adds one change: replaces the order's view and merges the figure changes.
    pub fn add(&mut self, change: ViewChange) {
        if let Some((key, figures)) = change.customer {
            self.customers.entry(key).or_default().merge(&figures);
        }
        if let Some((key, sales)) = change.daily {
            self.daily.entry(key).or_default().merge(&sales);
        }
        self.orders.insert(change.order.order_id, change.order);
    }

    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        self.orders.is_empty() && self.customers.is_empty() && self.daily.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use schemas::order::*;

    fn at(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 21, 10, minute, 0).single().expect("valid time")
    }

    fn order_id() -> Uuid {
        Uuid::from_u128(0x0190_f5d2_7c3a_7b8e_9a41_2f6d_8c1e_5b07)
    }

    fn customer_id() -> Uuid {
        Uuid::from_u128(42)
    }

    fn address() -> AddressV1 {
        AddressV1 {
            recipient_name: "Ada Lovelace".into(),
            line1: "12 St James's Square".into(),
            line2: None,
            city: "London".into(),
            region: None,
            postal_code: "SW1Y 4JH".into(),
            country: "GB".into(),
        }
    }

    fn created() -> OrderEvent {
        OrderEvent::Created(OrderCreatedV1 {
            order_id: order_id(),
            customer_id: customer_id(),
            currency: "EUR".into(),
            occurred_at: at(0),
        })
    }

    fn item_added(sku: &str, quantity: u32, total: i64, items: u32, lines: u32) -> OrderEvent {
        OrderEvent::ItemAdded(OrderItemAddedV1 {
            order_id: order_id(),
            sku: sku.into(),
            name: format!("Product {sku}"),
            unit_price_minor: 250,
            quantity,
            line_total_minor: 250 * i64::from(quantity),
            order_total_minor: total,
            item_count: items,
            line_count: lines,
            currency: "EUR".into(),
            occurred_at: at(1),
        })
    }

    fn placed() -> OrderEvent {
        OrderEvent::Placed(OrderPlacedV1 {
            order_id: order_id(),
            customer_id: customer_id(),
            currency: "EUR".into(),
            lines: vec![OrderLineV1 {
                sku: "A-1".into(),
                name: "Product A-1".into(),
                unit_price_minor: 250,
                quantity: 2,
                line_total_minor: 500,
            }],
            order_total_minor: 500,
            item_count: 2,
            line_count: 1,
            shipping_address: address(),
            occurred_at: at(5),
        })
    }

    fn paid() -> OrderEvent {
        OrderEvent::PaymentConfirmed(OrderPaymentConfirmedV1 {
            order_id: order_id(),
            customer_id: customer_id(),
            amount_minor: 500,
            currency: "EUR".into(),
            payment_reference: Some("psp-1".into()),
            occurred_at: at(6),
        })
    }

    fn cancelled(previous_status: &str, refund_due: i64) -> OrderEvent {
        OrderEvent::Cancelled(OrderCancelledV1 {
            order_id: order_id(),
            customer_id: customer_id(),
            reason: "changed mind".into(),
            previous_status: previous_status.into(),
            order_total_minor: 500,
            refund_due_minor: refund_due,
            currency: "EUR".into(),
            occurred_at: at(7),
        })
    }

    fn refunded(amount: i64) -> OrderEvent {
        OrderEvent::Refunded(OrderRefundedV1 {
            order_id: order_id(),
            customer_id: customer_id(),
            amount_minor: amount,
            currency: "EUR".into(),
            reason: None,
            previous_status: "cancelled".into(),
            occurred_at: at(8),
        })
    }

    /// Folds events with versions 1, 2, ... and positions 10, 20, ...
    fn fold(events: &[OrderEvent]) -> Result<(Option<OrderView>, FoldedChanges), ApplyError> {
        let mut view: Option<OrderView> = None;
        let mut changes = FoldedChanges::default();
        for (index, event) in events.iter().enumerate() {
            let version = index as i64 + 1;
            let change = project(view.as_ref(), event, EventPlace { version, position: version * 10 })?;
            view = Some(change.order.clone());
            changes.add(change);
        }
        Ok((view, changes))
    }

    #[test]
    fn a_created_order_is_an_empty_draft() {
        let (view, changes) = fold(&[created()]).expect("applies");
        let view = view.expect("a view");
        assert_eq!(view.status, OrderStatus::Draft);
        assert_eq!((view.item_count, view.total_minor, view.version), (0, 0, 1));
        assert!(changes.customers.is_empty() && changes.daily.is_empty());
    }

    #[test]
    fn draft_edits_keep_lines_in_adding_order_and_take_totals_from_the_event() {
        let changed = OrderEvent::ItemQuantityChanged(OrderItemQuantityChangedV1 {
            order_id: order_id(),
            sku: "B-2".into(),
            name: "Product B-2".into(),
            unit_price_minor: 250,
            previous_quantity: 1,
            quantity: 3,
            line_total_minor: 750,
            order_total_minor: 1000,
            item_count: 4,
            line_count: 2,
            currency: "EUR".into(),
            occurred_at: at(3),
        });
        let removed = OrderEvent::ItemRemoved(OrderItemRemovedV1 {
            order_id: order_id(),
            sku: "A-1".into(),
            name: "Product A-1".into(),
            unit_price_minor: 250,
            quantity: 1,
            line_total_minor: 250,
            order_total_minor: 750,
            item_count: 3,
            line_count: 1,
            currency: "EUR".into(),
            occurred_at: at(4),
        });
        let events = [created(), item_added("A-1", 1, 250, 1, 1), item_added("B-2", 1, 500, 2, 2), changed];
        let (view, _) = fold(&events).expect("applies");
        let view = view.expect("a view");
        let skus: Vec<_> = view.items.iter().map(|line| (line.sku.as_str(), line.quantity, line.version)).collect();
        assert_eq!(skus, [("A-1", 1, 2), ("B-2", 3, 4)]);
        assert_eq!((view.total_minor, view.item_count, view.line_count), (1000, 4, 2));

        let (view, _) = fold(&[events.as_slice(), &[removed]].concat()).expect("applies");
        let view = view.expect("a view");
        assert_eq!(view.items.len(), 1);
        assert_eq!(view.items[0].sku, "B-2");
        assert_eq!(view.total_minor, 750);
    }

    #[test]
    fn a_v1_shipping_address_is_upcast_into_the_address_columns() {
        let v1 = serde_json::json!({
            "order_id": order_id(), "recipient_name": "Ada", "street": "1 Main St", "city": "Paris",
            "postal_code": "75001", "country": "FR", "occurred_at": at(2),
        });
        let event = OrderEvent::decode(event_type::SHIPPING_ADDRESS_SET, 1, v1).expect("v1 decodes");
        let (view, _) = fold(&[created(), event]).expect("applies");
        let view = view.expect("a view");
        assert_eq!(view.address_line1.as_deref(), Some("1 Main St"));
        assert_eq!(
            (view.city.as_deref(), view.country.as_deref(), view.region.as_deref()),
            (Some("Paris"), Some("FR"), None)
        );
    }

    #[test]
    fn placing_freezes_lines_and_counts_a_sale_for_the_customer_and_the_day() {
        let (view, changes) = fold(&[created(), item_added("A-1", 2, 500, 2, 1), placed()]).expect("applies");
        let view = view.expect("a view");
        assert_eq!(view.status, OrderStatus::Placed);
        assert_eq!(view.placed_at, Some(at(5)));
        assert_eq!(view.items[0].version, 3);
        assert_eq!(view.city.as_deref(), Some("London"));
        let figures = &changes.customers[&(customer_id(), "EUR".to_owned())];
        assert_eq!((figures.orders_placed, figures.first_order_at), (1, Some(at(5))));
        let day = &changes.daily[&(at(5).date_naive(), "EUR".to_owned())];
        assert_eq!((day.orders_placed, day.placed_value_minor), (1, 500));
    }

    #[test]
    fn payment_cancellation_and_refund_move_money_figures() {
        let events =
            [created(), item_added("A-1", 2, 500, 2, 1), placed(), paid(), cancelled("paid", 500), refunded(500)];
        let (view, changes) = fold(&events).expect("applies");
        let view = view.expect("a view");
        assert_eq!(view.status, OrderStatus::Refunded);
        assert_eq!((view.paid_minor, view.refunded_minor, view.refund_due_minor), (500, 500, 0));
        let figures = &changes.customers[&(customer_id(), "EUR".to_owned())];
        assert_eq!(
            (
                figures.orders_placed,
                figures.orders_cancelled,
                figures.paid_minor,
                figures.refunded_minor,
                figures.lifetime_value_minor
            ),
            (1, 1, 500, 500, 0)
        );
        let day = &changes.daily[&(at(0).date_naive(), "EUR".to_owned())];
        assert_eq!(
            (day.payments, day.revenue_minor, day.orders_cancelled, day.refunds, day.refunded_minor),
            (1, 500, 1, 1, 500)
        );
    }

    #[test]
    fn cancelling_a_draft_is_not_a_lost_sale() {
        let (view, changes) = fold(&[created(), cancelled("draft", 0)]).expect("applies");
        assert_eq!(view.expect("a view").status, OrderStatus::Cancelled);
        assert!(changes.customers.is_empty() && changes.daily.is_empty());
    }

    #[test]
    fn broken_histories_are_refused_with_the_invariant_they_break() {
        assert_eq!(
            fold(&[placed()]).unwrap_err(),
            ApplyError::NotCreated { order_id: order_id(), event_type: event_type::PLACED }
        );
        assert_eq!(fold(&[created(), created()]).unwrap_err(), ApplyError::AlreadyCreated { order_id: order_id() });
        assert!(matches!(
            fold(&[created(), item_added("A-1", 1, 250, 1, 1), item_added("A-1", 1, 500, 2, 1)]).unwrap_err(),
            ApplyError::DuplicateLine { .. }
        ));
        let mut dollars = paid();
        if let OrderEvent::PaymentConfirmed(payload) = &mut dollars {
            payload.currency = "USD".into();
        }
        assert!(matches!(fold(&[created(), dollars]).unwrap_err(), ApplyError::CurrencyMismatch { .. }));
    }

    #[test]
    fn figure_changes_merge_in_any_order() {
        let first = CustomerFigures {
            orders_placed: 1,
            first_order_at: Some(at(3)),
            last_order_at: Some(at(3)),
            ..Default::default()
        };
        let second = CustomerFigures {
            orders_placed: 1,
            paid_minor: 7,
            first_order_at: Some(at(1)),
            last_order_at: Some(at(1)),
            ..Default::default()
        };
        let mut forwards = first.clone();
        forwards.merge(&second);
        let mut backwards = second.clone();
        backwards.merge(&first);
        assert_eq!(forwards, backwards);
        assert_eq!((forwards.first_order_at, forwards.last_order_at), (Some(at(1)), Some(at(3))));
    }

    #[test]
    fn the_search_document_round_trips_through_json() {
        let (view, _) = fold(&[created(), item_added("A-1", 2, 500, 2, 1), placed(), paid()]).expect("applies");
        let view = view.expect("a view");
        let document = serde_json::to_value(&view).expect("serialises");
        assert_eq!(document["status"], "paid");
        assert_eq!(document["items"][0]["sku"], "A-1");
        let back: OrderView = serde_json::from_value(document).expect("deserialises");
        assert_eq!(back, view);
    }
}
