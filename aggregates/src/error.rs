//! Business rejections of `decide`, one variant per rule, so the HTTP layer can map each to a stable problem type.

use crate::command::CommandName;
use crate::state::OrderStatus;
use crate::values::Money;
use crate::values::Sku;

/// Why `decide` refused a command. A refused command produces no events.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    /// The command needs an existing order, but the stream has no events.
    #[error("the order does not exist")]
    NotCreated,
    /// A create command for an order id that already has events.
    #[error("an order with this id already exists")]
    AlreadyCreated,
    /// Items can only be added while the order is a draft.
    #[error("items can only be added to a draft order; this order is {status}")]
    CannotAddItemWhenPlaced {
        /// The order's status.
        status: OrderStatus,
    },
    /// Items can only be removed while the order is a draft.
    #[error("items can only be removed from a draft order; this order is {status}")]
    CannotRemoveItemWhenPlaced {
        /// The order's status.
        status: OrderStatus,
    },
    /// Quantities can only change while the order is a draft.
    #[error("quantities can only change on a draft order; this order is {status}")]
    CannotChangeQuantityWhenPlaced {
        /// The order's status.
        status: OrderStatus,
    },
    /// The shipping address can only change while the order is a draft.
    #[error("the shipping address can only change on a draft order; this order is {status}")]
    CannotSetAddressWhenPlaced {
        /// The order's status.
        status: OrderStatus,
    },
    /// The sku already has a line; change its quantity instead.
    #[error("sku {sku} is already on the order; change its quantity instead")]
    ItemAlreadyInOrder {
        /// The sku.
        sku: Sku,
    },
    /// The sku has no line on the order.
    #[error("sku {sku} is not on the order")]
    ItemNotInOrder {
        /// The sku.
        sku: Sku,
    },
    /// The order already has the most lines allowed.
    #[error("an order may have at most {max} lines")]
    TooManyLines {
        /// The limit.
        max: usize,
    },
    /// An order without lines cannot be placed.
    #[error("an order needs at least one item to be placed")]
    CannotPlaceWithoutItems,
    /// An order without a shipping address cannot be placed.
    #[error("an order needs a shipping address to be placed")]
    CannotPlaceWithoutAddress,
    /// The payment does not equal the order total (amount or currency).
    #[error("payment of {got} does not equal the order total of {expected}")]
    PaymentAmountMismatch {
        /// The order total.
        expected: Money,
        /// What was paid.
        got: Money,
    },
    /// Orders can only be cancelled before they are shipped.
    #[error("an order can only be cancelled before it is shipped; this order is {status}")]
    CannotCancelAfterShipping {
        /// The order's status.
        status: OrderStatus,
    },
    /// There is nothing to pay back: the cancelled order was never paid, or paid nothing.
    #[error("no refund is owed for this order")]
    NothingToRefund,
    /// A cancelled order is refunded in full: the amount must equal what is owed.
    #[error("the refund of {got} does not equal the {expected} owed")]
    RefundAmountMismatch {
        /// The amount owed.
        expected: Money,
        /// The amount requested.
        got: Money,
    },
    /// A refund of a delivered order may not exceed what was paid.
    #[error("the refund of {requested} exceeds the {paid} paid")]
    RefundExceedsPayment {
        /// What was paid.
        paid: Money,
        /// The amount requested.
        requested: Money,
    },
    /// A line change would push the order total past the largest amount the system handles.
    #[error("the order total would exceed the largest amount allowed")]
    TotalTooLarge,
    /// The command is not allowed in the order's current status.
    #[error("{command} is not allowed when the order is {from}")]
    InvalidTransition {
        /// The order's status.
        from: OrderStatus,
        /// The refused command.
        command: CommandName,
    },
}

/// The name used for the same errors in the task description and other services' docs.
pub type DomainError = OrderError;

impl OrderError {
    /// Stable snake-case rule name, suitable for the `code` member of a problem+json body.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotCreated => "order_not_found",
            Self::AlreadyCreated => "order_already_exists",
            Self::CannotAddItemWhenPlaced { .. } => "cannot_add_item_when_placed",
            Self::CannotRemoveItemWhenPlaced { .. } => "cannot_remove_item_when_placed",
            Self::CannotChangeQuantityWhenPlaced { .. } => "cannot_change_quantity_when_placed",
            Self::CannotSetAddressWhenPlaced { .. } => "cannot_set_address_when_placed",
            Self::ItemAlreadyInOrder { .. } => "item_already_in_order",
            Self::ItemNotInOrder { .. } => "item_not_in_order",
            Self::TooManyLines { .. } => "too_many_lines",
            Self::CannotPlaceWithoutItems => "cannot_place_without_items",
            Self::CannotPlaceWithoutAddress => "cannot_place_without_address",
            Self::PaymentAmountMismatch { .. } => "payment_amount_mismatch",
            Self::CannotCancelAfterShipping { .. } => "cannot_cancel_after_shipping",
            Self::NothingToRefund => "nothing_to_refund",
            Self::RefundAmountMismatch { .. } => "refund_amount_mismatch",
            Self::RefundExceedsPayment { .. } => "refund_exceeds_payment",
            Self::TotalTooLarge => "total_too_large",
            Self::InvalidTransition { .. } => "invalid_transition",
        }
    }

    /// Whether the rejection is about the order's current state (HTTP 409) rather than the command's content (422).
    ///
    /// `NotCreated` is neither; it is a 404.
    pub fn is_state_conflict(&self) -> bool {
        matches!(
            self,
            Self::AlreadyCreated
                | Self::CannotAddItemWhenPlaced { .. }
                | Self::CannotRemoveItemWhenPlaced { .. }
                | Self::CannotChangeQuantityWhenPlaced { .. }
                | Self::CannotSetAddressWhenPlaced { .. }
                | Self::ItemAlreadyInOrder { .. }
                | Self::CannotCancelAfterShipping { .. }
                | Self::NothingToRefund
                | Self::InvalidTransition { .. }
        )
    }
}
