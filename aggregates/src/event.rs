//! Events: facts about one order, in the past tense, carrying what readers need (totals after the change,
//! product names, the customer) so that no projection has to ask the command side.

use chrono::DateTime;
use chrono::Utc;

use crate::state::OrderLine;
use crate::state::OrderStatus;
use crate::values::CancelReason;
use crate::values::Carrier;
use crate::values::Currency;
use crate::values::CustomerId;
use crate::values::Money;
use crate::values::OrderId;
use crate::values::PaymentReference;
use crate::values::Quantity;
use crate::values::RefundReason;
use crate::values::ShippingAddress;
use crate::values::TrackingNumber;

/// Totals of a draft order right after a line changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OrderTotals {
    /// Sum of the line totals.
    pub order_total: Money,
    /// Sum of the quantities.
    pub item_count: u32,
    /// Number of lines.
    pub line_count: u32,
}

/// Something that happened to an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderEvent {
    /// A draft was opened.
    Created {
        /// The order.
        order_id: OrderId,
        /// The customer.
        customer_id: CustomerId,
        /// Currency of every amount.
        currency: Currency,
        /// When.
        occurred_at: DateTime<Utc>,
    },
    /// A line was added to the draft.
    ItemAdded {
        /// The order.
        order_id: OrderId,
        /// The new line.
        line: OrderLine,
        /// Totals after the change.
        totals: OrderTotals,
        /// When.
        occurred_at: DateTime<Utc>,
    },
    /// A line was removed from the draft.
    ItemRemoved {
        /// The order.
        order_id: OrderId,
        /// The line as it was before removal.
        line: OrderLine,
        /// Totals after the change.
        totals: OrderTotals,
        /// When.
        occurred_at: DateTime<Utc>,
    },
    /// The quantity of a line of the draft changed.
    ItemQuantityChanged {
        /// The order.
        order_id: OrderId,
        /// The line after the change.
        line: OrderLine,
        /// Quantity before the change.
        previous_quantity: Quantity,
        /// Totals after the change.
        totals: OrderTotals,
        /// When.
        occurred_at: DateTime<Utc>,
    },
    /// The draft's shipping address was set or replaced.
    ShippingAddressSet {
        /// The order.
        order_id: OrderId,
        /// The address.
        address: ShippingAddress,
        /// When.
        occurred_at: DateTime<Utc>,
    },
    /// The draft was placed; lines, total and address are frozen.
    Placed {
        /// The order.
        order_id: OrderId,
        /// The customer.
        customer_id: CustomerId,
        /// All lines.
        lines: Vec<OrderLine>,
        /// Totals of the order.
        totals: OrderTotals,
        /// Where it goes.
        shipping_address: ShippingAddress,
        /// When.
        occurred_at: DateTime<Utc>,
    },
    /// Payment of the full total was confirmed.
    PaymentConfirmed {
        /// The order.
        order_id: OrderId,
        /// The customer.
        customer_id: CustomerId,
        /// Amount received.
        amount: Money,
        /// Reference of the payment provider.
        payment_reference: Option<PaymentReference>,
        /// When.
        occurred_at: DateTime<Utc>,
    },
    /// The order was handed to a carrier.
    Shipped {
        /// The order.
        order_id: OrderId,
        /// The customer.
        customer_id: CustomerId,
        /// The carrier.
        carrier: Carrier,
        /// The carrier's tracking number.
        tracking_number: TrackingNumber,
        /// When.
        occurred_at: DateTime<Utc>,
    },
    /// The order was delivered.
    Delivered {
        /// The order.
        order_id: OrderId,
        /// The customer.
        customer_id: CustomerId,
        /// When.
        occurred_at: DateTime<Utc>,
    },
    /// The order was cancelled before shipping.
    Cancelled {
        /// The order.
        order_id: OrderId,
        /// The customer.
        customer_id: CustomerId,
        /// Why.
        reason: CancelReason,
        /// Status just before: draft, placed or paid.
        previous_status: OrderStatus,
        /// Order total at cancellation.
        order_total: Money,
        /// Amount owed back; `Some` only when a non-zero payment had been received.
        refund_due: Option<Money>,
        /// When.
        occurred_at: DateTime<Utc>,
    },
    /// Money was paid back.
    Refunded {
        /// The order.
        order_id: OrderId,
        /// The customer.
        customer_id: CustomerId,
        /// Amount paid back.
        amount: Money,
        /// Why.
        reason: Option<RefundReason>,
        /// Status just before: cancelled or delivered.
        previous_status: OrderStatus,
        /// When.
        occurred_at: DateTime<Utc>,
    },
}

impl OrderEvent {
    /// The order the event belongs to.
    pub fn order_id(&self) -> OrderId {
        match self {
            Self::Created { order_id, .. }
            | Self::ItemAdded { order_id, .. }
            | Self::ItemRemoved { order_id, .. }
            | Self::ItemQuantityChanged { order_id, .. }
            | Self::ShippingAddressSet { order_id, .. }
            | Self::Placed { order_id, .. }
            | Self::PaymentConfirmed { order_id, .. }
            | Self::Shipped { order_id, .. }
            | Self::Delivered { order_id, .. }
            | Self::Cancelled { order_id, .. }
            | Self::Refunded { order_id, .. } => *order_id,
        }
    }

    /// When it happened.
    pub fn occurred_at(&self) -> DateTime<Utc> {
        match self {
            Self::Created { occurred_at, .. }
            | Self::ItemAdded { occurred_at, .. }
            | Self::ItemRemoved { occurred_at, .. }
            | Self::ItemQuantityChanged { occurred_at, .. }
            | Self::ShippingAddressSet { occurred_at, .. }
            | Self::Placed { occurred_at, .. }
            | Self::PaymentConfirmed { occurred_at, .. }
            | Self::Shipped { occurred_at, .. }
            | Self::Delivered { occurred_at, .. }
            | Self::Cancelled { occurred_at, .. }
            | Self::Refunded { occurred_at, .. } => *occurred_at,
        }
    }
}
