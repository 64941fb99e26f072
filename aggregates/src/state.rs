//! The state of one order, folded from its events, and the read-only view the query side uses for "as of" answers.
//!
//! The state holds no rules: `decide` reads it, `evolve` builds it. Its lifecycle stage is an enum
//! whose variants carry what that stage needs, so "shipped but not paid" cannot be represented.

use chrono::DateTime;
use chrono::Utc;

use crate::values::Amount;
use crate::values::CancelReason;
use crate::values::Carrier;
use crate::values::Currency;
use crate::values::CustomerId;
use crate::values::Money;
use crate::values::OrderId;
use crate::values::PaymentReference;
use crate::values::ProductName;
use crate::values::Quantity;
use crate::values::RefundReason;
use crate::values::ShippingAddress;
use crate::values::Sku;
use crate::values::TrackingNumber;
use crate::values::UnitPrice;

/// Most lines one order may have.
pub const MAX_LINES: usize = 100;

/// Where an order is in its lifecycle; the stable names are the `status` strings of every read model.
///
/// Allowed moves: draft → placed → paid → shipped → delivered → refunded;
/// draft, placed or paid → cancelled; cancelled (when a refund is owed) → refunded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OrderStatus {
    /// Open for changes: items and address may change.
    Draft,
    /// Frozen and waiting for payment.
    Placed,
    /// Paid in full, waiting to be shipped.
    Paid,
    /// With the carrier.
    Shipped,
    /// Delivered to the customer.
    Delivered,
    /// Cancelled before shipping; a refund may be owed.
    Cancelled,
    /// Money was paid back; the order is closed.
    Refunded,
}

impl OrderStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [Self; 7] =
        [Self::Draft, Self::Placed, Self::Paid, Self::Shipped, Self::Delivered, Self::Cancelled, Self::Refunded];

    /// Stable lower-case name: `draft`, `placed`, `paid`, `shipped`, `delivered`, `cancelled`, `refunded`.
    pub fn as_str(&self) -> &'static str {
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

    /// The status named by [`OrderStatus::as_str`], or `None`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == name)
    }

    /// Whether the lifecycle allows moving from `self` to `next` in one event.
    ///
    /// Staying in the same status (draft edits) is not a move and is not listed here.
    pub fn can_move_to(self, next: Self) -> bool {
        use OrderStatus::*;
        matches!(
            (self, next),
            (Draft, Placed)
                | (Placed, Paid)
                | (Paid, Shipped)
                | (Shipped, Delivered)
                | (Draft | Placed | Paid, Cancelled)
                | (Cancelled | Delivered, Refunded)
        )
    }
}

impl std::fmt::Display for OrderStatus {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// One line of an order: a sku, its name and price at the time of adding, and a quantity.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OrderLine {
    sku: Sku,
    name: ProductName,
    unit_price: UnitPrice,
    quantity: Quantity,
}

impl OrderLine {
    /// A line from valid parts; its total is derived, never stored separately.
    pub fn new(sku: Sku, name: ProductName, unit_price: UnitPrice, quantity: Quantity) -> Self {
        Self { sku, name, unit_price, quantity }
    }

    /// The sku, unique within the order.
    pub fn sku(&self) -> &Sku {
        &self.sku
    }

    /// Product name.
    pub fn name(&self) -> &ProductName {
        &self.name
    }

    /// Price of one unit, in the order's currency.
    pub fn unit_price(&self) -> UnitPrice {
        self.unit_price
    }

    /// Number of units.
    pub fn quantity(&self) -> Quantity {
        self.quantity
    }

    /// Unit price times quantity, in the order's currency.
    pub fn line_total(&self) -> Amount {
        self.unit_price.times(self.quantity)
    }

    /// The same line with another quantity.
    pub fn with_quantity(&self, quantity: Quantity) -> Self {
        Self { quantity, ..self.clone() }
    }
}

/// The confirmed payment of an order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Payment {
    /// Amount received; equal to the order total.
    pub amount: Money,
    /// Reference of the payment provider.
    pub reference: Option<PaymentReference>,
    /// When it was confirmed.
    pub paid_at: DateTime<Utc>,
}

/// How and when an order left the warehouse.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Shipment {
    /// The carrier.
    pub carrier: Carrier,
    /// The carrier's tracking number.
    pub tracking_number: TrackingNumber,
    /// When it was handed over.
    pub shipped_at: DateTime<Utc>,
}

/// Why and when an order was cancelled, and what is owed because of it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cancellation {
    /// Why.
    pub reason: CancelReason,
    /// Status just before: draft, placed or paid.
    pub previous_status: OrderStatus,
    /// The payment, when the order had been paid.
    pub payment: Option<Payment>,
    /// Amount owed back to the customer; `Some` only when the order was paid a non-zero amount.
    pub refund_due: Option<Money>,
    /// When.
    pub cancelled_at: DateTime<Utc>,
}

/// Money paid back to the customer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Refund {
    /// Amount paid back.
    pub amount: Money,
    /// Why, when given.
    pub reason: Option<RefundReason>,
    /// When.
    pub refunded_at: DateTime<Utc>,
}

/// The lifecycle stage of a created order, with the facts that stage guarantees.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Stage {
    /// Items and address may change.
    Draft,
    /// Frozen, waiting for payment.
    Placed,
    /// Paid in full.
    Paid {
        /// The payment.
        payment: Payment,
    },
    /// With the carrier.
    Shipped {
        /// The payment.
        payment: Payment,
        /// The shipment.
        shipment: Shipment,
    },
    /// Delivered.
    Delivered {
        /// The payment.
        payment: Payment,
        /// The shipment.
        shipment: Shipment,
        /// When delivery was confirmed.
        delivered_at: DateTime<Utc>,
    },
    /// Cancelled before shipping.
    Cancelled {
        /// Why, when, and what is owed.
        cancellation: Cancellation,
    },
    /// Money was paid back; `before` is the stage the refund closed (cancelled or delivered).
    Refunded {
        /// The refund.
        refund: Refund,
        /// The stage before the refund.
        before: Box<Stage>,
    },
}

impl Stage {
    /// The status name of this stage.
    pub fn status(&self) -> OrderStatus {
        match self {
            Self::Draft => OrderStatus::Draft,
            Self::Placed => OrderStatus::Placed,
            Self::Paid { .. } => OrderStatus::Paid,
            Self::Shipped { .. } => OrderStatus::Shipped,
            Self::Delivered { .. } => OrderStatus::Delivered,
            Self::Cancelled { .. } => OrderStatus::Cancelled,
            Self::Refunded { .. } => OrderStatus::Refunded,
        }
    }

    fn payment(&self) -> Option<&Payment> {
        match self {
            Self::Draft | Self::Placed => None,
            Self::Paid { payment } | Self::Shipped { payment, .. } | Self::Delivered { payment, .. } => Some(payment),
            Self::Cancelled { cancellation } => cancellation.payment.as_ref(),
            Self::Refunded { before, .. } => before.payment(),
        }
    }

    fn shipment(&self) -> Option<&Shipment> {
        match self {
            Self::Shipped { shipment, .. } | Self::Delivered { shipment, .. } => Some(shipment),
            Self::Refunded { before, .. } => before.shipment(),
            _ => None,
        }
    }

    fn delivered_at(&self) -> Option<DateTime<Utc>> {
        match self {
            Self::Delivered { delivered_at, .. } => Some(*delivered_at),
            Self::Refunded { before, .. } => before.delivered_at(),
            _ => None,
        }
    }

    fn cancellation(&self) -> Option<&Cancellation> {
        match self {
            Self::Cancelled { cancellation } => Some(cancellation),
            Self::Refunded { before, .. } => before.cancellation(),
            _ => None,
        }
    }
}

/// Everything known about a created order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderDetails {
    pub(crate) order_id: OrderId,
    pub(crate) customer_id: CustomerId,
    pub(crate) currency: Currency,
    pub(crate) lines: Vec<OrderLine>,
    pub(crate) total: Money,
    pub(crate) shipping_address: Option<ShippingAddress>,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
    pub(crate) placed_at: Option<DateTime<Utc>>,
    pub(crate) stage: Stage,
}

impl OrderDetails {
    /// The order id (stream id).
    pub fn order_id(&self) -> OrderId {
        self.order_id
    }

    /// The customer.
    pub fn customer_id(&self) -> CustomerId {
        self.customer_id
    }

    /// Currency of every amount of the order.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// The lifecycle status.
    pub fn status(&self) -> OrderStatus {
        self.stage.status()
    }

    /// The lifecycle stage with its facts.
    pub fn stage(&self) -> &Stage {
        &self.stage
    }

    /// Lines in the order they were added.
    pub fn lines(&self) -> &[OrderLine] {
        &self.lines
    }

    /// The line of a sku, if any.
    pub fn line(&self, sku: &Sku) -> Option<&OrderLine> {
        self.lines.iter().find(|line| line.sku() == sku)
    }

    /// Order total as last reported by an event; always equal to the sum of the line totals.
    pub fn total(&self) -> Money {
        self.total
    }

    /// Sum of the quantities of all lines.
    pub fn item_count(&self) -> u32 {
        self.lines.iter().map(|line| line.quantity().get()).sum()
    }

    /// Number of lines.
    pub fn line_count(&self) -> usize {
        self.lines.len()
    }

    /// The shipping address, once set.
    pub fn shipping_address(&self) -> Option<&ShippingAddress> {
        self.shipping_address.as_ref()
    }

    /// When the draft was opened.
    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }

    /// Time of the latest event.
    pub fn updated_at(&self) -> DateTime<Utc> {
        self.updated_at
    }

    /// When the order was placed, if it was.
    pub fn placed_at(&self) -> Option<DateTime<Utc>> {
        self.placed_at
    }

    /// The payment, if the order was paid (also after cancellation or refund).
    pub fn payment(&self) -> Option<&Payment> {
        self.stage.payment()
    }

    /// The shipment, if the order was shipped.
    pub fn shipment(&self) -> Option<&Shipment> {
        self.stage.shipment()
    }

    /// When delivery was confirmed, if it was.
    pub fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.stage.delivered_at()
    }

    /// The cancellation, if the order was cancelled (also after a refund).
    pub fn cancellation(&self) -> Option<&Cancellation> {
        self.stage.cancellation()
    }

    /// The refund, if one was made.
    pub fn refund(&self) -> Option<&Refund> {
        match &self.stage {
            Stage::Refunded { refund, .. } => Some(refund),
            _ => None,
        }
    }

    /// Amount owed back to the customer right now: set by cancelling a paid order, cleared by the refund.
    pub fn refund_due(&self) -> Option<Money> {
        match &self.stage {
            Stage::Cancelled { cancellation } => cancellation.refund_due,
            _ => None,
        }
    }
}

/// The state of one order stream.
///
/// `NotCreated` is the state before the first event; only a create command is accepted there.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Order {
    /// No event yet.
    #[default]
    NotCreated,
    /// Created; see [`OrderDetails`] for the read-only view.
    /// Boxed so that the empty state stays small and moving the state through `evolve` stays cheap.
    Created(Box<OrderDetails>),
}

impl Order {
    /// The details of a created order, or `None` before the first event.
    pub fn details(&self) -> Option<&OrderDetails> {
        match self {
            Self::NotCreated => None,
            Self::Created(details) => Some(details.as_ref()),
        }
    }

    /// The lifecycle status, or `None` before the first event.
    pub fn status(&self) -> Option<OrderStatus> {
        self.details().map(OrderDetails::status)
    }

    /// The order id, or `None` before the first event.
    pub fn order_id(&self) -> Option<OrderId> {
        self.details().map(OrderDetails::order_id)
    }
}
