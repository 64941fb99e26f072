//! Commands: what a client asks the order to do, already parsed into valid values.
//!
//! Every command carries `requested_at`, the time stamped at the HTTP edge, because `decide` reads no clock.

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

/// A request to change one order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderCommand {
    /// Open a draft order for a customer in one currency.
    Create {
        /// Id of the new order (client-chosen or generated at the edge).
        order_id: OrderId,
        /// The customer.
        customer_id: CustomerId,
        /// Currency of every amount of the order.
        currency: Currency,
        /// When the request was received.
        requested_at: DateTime<Utc>,
    },
    /// Add a line to a draft order.
    AddItem {
        /// Sku of the new line; must not be on the order yet.
        sku: Sku,
        /// Product name.
        name: ProductName,
        /// Price of one unit in the order's currency.
        unit_price: UnitPrice,
        /// Units.
        quantity: Quantity,
        /// When the request was received.
        requested_at: DateTime<Utc>,
    },
    /// Remove the line of a sku from a draft order.
    RemoveItem {
        /// Sku of the line.
        sku: Sku,
        /// When the request was received.
        requested_at: DateTime<Utc>,
    },
    /// Set the quantity of the line of a sku on a draft order.
    ChangeItemQuantity {
        /// Sku of the line.
        sku: Sku,
        /// New quantity.
        quantity: Quantity,
        /// When the request was received.
        requested_at: DateTime<Utc>,
    },
    /// Set or replace the shipping address of a draft order.
    SetShippingAddress {
        /// The address.
        address: ShippingAddress,
        /// When the request was received.
        requested_at: DateTime<Utc>,
    },
    /// Place a draft order that has at least one line and an address.
    Place {
        /// When the request was received.
        requested_at: DateTime<Utc>,
    },
    /// Record the payment of a placed order; amount and currency must equal the order total.
    ConfirmPayment {
        /// Amount received.
        amount: Money,
        /// Reference of the payment provider.
        payment_reference: Option<PaymentReference>,
        /// When the request was received.
        requested_at: DateTime<Utc>,
    },
    /// Record that a paid order was handed to a carrier.
    Ship {
        /// The carrier.
        carrier: Carrier,
        /// The carrier's tracking number.
        tracking_number: TrackingNumber,
        /// When the request was received.
        requested_at: DateTime<Utc>,
    },
    /// Record that a shipped order was delivered.
    ConfirmDelivery {
        /// When the request was received.
        requested_at: DateTime<Utc>,
    },
    /// Cancel an order that has not been shipped.
    Cancel {
        /// Why.
        reason: CancelReason,
        /// When the request was received.
        requested_at: DateTime<Utc>,
    },
    /// Pay money back: the amount owed by a cancelled paid order, or up to the amount paid for a delivered one.
    Refund {
        /// Amount in the order's currency; the full refundable amount when `None`.
        amount: Option<Amount>,
        /// Why.
        reason: Option<RefundReason>,
        /// When the request was received.
        requested_at: DateTime<Utc>,
    },
}

impl OrderCommand {
    /// The command's stable name, which is also the name of its body schema.
    pub fn name(&self) -> CommandName {
        match self {
            Self::Create { .. } => CommandName::CreateOrder,
            Self::AddItem { .. } => CommandName::AddItem,
            Self::RemoveItem { .. } => CommandName::RemoveItem,
            Self::ChangeItemQuantity { .. } => CommandName::ChangeItemQuantity,
            Self::SetShippingAddress { .. } => CommandName::SetShippingAddress,
            Self::Place { .. } => CommandName::PlaceOrder,
            Self::ConfirmPayment { .. } => CommandName::ConfirmPayment,
            Self::Ship { .. } => CommandName::ShipOrder,
            Self::ConfirmDelivery { .. } => CommandName::ConfirmDelivery,
            Self::Cancel { .. } => CommandName::CancelOrder,
            Self::Refund { .. } => CommandName::RefundOrder,
        }
    }

    /// When the request was received.
    pub fn requested_at(&self) -> DateTime<Utc> {
        match self {
            Self::Create { requested_at, .. }
            | Self::AddItem { requested_at, .. }
            | Self::RemoveItem { requested_at, .. }
            | Self::ChangeItemQuantity { requested_at, .. }
            | Self::SetShippingAddress { requested_at, .. }
            | Self::Place { requested_at }
            | Self::ConfirmPayment { requested_at, .. }
            | Self::Ship { requested_at, .. }
            | Self::ConfirmDelivery { requested_at }
            | Self::Cancel { requested_at, .. }
            | Self::Refund { requested_at, .. } => *requested_at,
        }
    }
}

/// Names of the commands, without their data; used in errors and to pick a body schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommandName {
    /// `create_order`.
    CreateOrder,
    /// `add_item`.
    AddItem,
    /// `remove_item`.
    RemoveItem,
    /// `change_item_quantity`.
    ChangeItemQuantity,
    /// `set_shipping_address`.
    SetShippingAddress,
    /// `place_order`.
    PlaceOrder,
    /// `confirm_payment`.
    ConfirmPayment,
    /// `ship_order`.
    ShipOrder,
    /// `confirm_delivery`.
    ConfirmDelivery,
    /// `cancel_order`.
    CancelOrder,
    /// `refund_order`.
    RefundOrder,
}

impl CommandName {
    /// Every command name.
    pub const ALL: [Self; 11] = [
        Self::CreateOrder,
        Self::AddItem,
        Self::RemoveItem,
        Self::ChangeItemQuantity,
        Self::SetShippingAddress,
        Self::PlaceOrder,
        Self::ConfirmPayment,
        Self::ShipOrder,
        Self::ConfirmDelivery,
        Self::CancelOrder,
        Self::RefundOrder,
    ];

    /// The stable snake-case name, equal to the command schema's name (`add_item`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::CreateOrder => "create_order",
            Self::AddItem => "add_item",
            Self::RemoveItem => "remove_item",
            Self::ChangeItemQuantity => "change_item_quantity",
            Self::SetShippingAddress => "set_shipping_address",
            Self::PlaceOrder => "place_order",
            Self::ConfirmPayment => "confirm_payment",
            Self::ShipOrder => "ship_order",
            Self::ConfirmDelivery => "confirm_delivery",
            Self::CancelOrder => "cancel_order",
            Self::RefundOrder => "refund_order",
        }
    }
}

impl std::fmt::Display for CommandName {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}
