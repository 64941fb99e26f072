//! Wire types of the order stream: event payloads, the `OrderEvent` envelope enum, command bodies,
//! the names that identify them, and the upcaster that reads old event versions.
//!
//! Every struct here mirrors one JSON Schema file under `schemas/commands/` or `schemas/events/`
//! field for field; the contract tests keep the two in step.

mod commands;
mod decode;
mod events;

pub use commands::AddItemV1;
pub use commands::CancelOrderV1;
pub use commands::ChangeItemQuantityV1;
pub use commands::ConfirmDeliveryV1;
pub use commands::ConfirmPaymentV1;
pub use commands::CreateOrderV1;
pub use commands::PlaceOrderV1;
pub use commands::RefundOrderV1;
pub use commands::RemoveItemV1;
pub use commands::SetShippingAddressV1;
pub use commands::ShipOrderV1;
pub use decode::upcast_shipping_address_set_v1;
pub use decode::DecodeError;
pub use events::AddressV1;
pub use events::OrderCancelledV1;
pub use events::OrderCreatedV1;
pub use events::OrderDeliveredV1;
pub use events::OrderEvent;
pub use events::OrderItemAddedV1;
pub use events::OrderItemQuantityChangedV1;
pub use events::OrderItemRemovedV1;
pub use events::OrderLineV1;
pub use events::OrderPaymentConfirmedV1;
pub use events::OrderPlacedV1;
pub use events::OrderRefundedV1;
pub use events::OrderShippedV1;
pub use events::OrderShippingAddressSetV1;
pub use events::OrderShippingAddressSetV2;

/// Stable event type strings, stored in the event store's `event_type` column and sent in NATS headers.
///
/// The schema version travels separately (column `schema_version`); the type string never carries it.
pub mod event_type {
    /// A draft order was opened for a customer in one currency.
    pub const CREATED: &str = "order.created";
    /// A line was added to a draft order.
    pub const ITEM_ADDED: &str = "order.item_added";
    /// A line was removed from a draft order.
    pub const ITEM_REMOVED: &str = "order.item_removed";
    /// The quantity of a line of a draft order changed.
    pub const ITEM_QUANTITY_CHANGED: &str = "order.item_quantity_changed";
    /// The shipping address of a draft order was set or replaced.
    pub const SHIPPING_ADDRESS_SET: &str = "order.shipping_address_set";
    /// The draft was placed; its lines, total and address are frozen from here on.
    pub const PLACED: &str = "order.placed";
    /// Payment of the full order total was confirmed.
    pub const PAYMENT_CONFIRMED: &str = "order.payment_confirmed";
    /// The order was handed to a carrier.
    pub const SHIPPED: &str = "order.shipped";
    /// The carrier delivered the order.
    pub const DELIVERED: &str = "order.delivered";
    /// The order was cancelled before shipping, possibly owing a refund.
    pub const CANCELLED: &str = "order.cancelled";
    /// Money was paid back to the customer.
    pub const REFUNDED: &str = "order.refunded";

    /// Every event type, in lifecycle order.
    pub const ALL: [&str; 11] = [
        CREATED,
        ITEM_ADDED,
        ITEM_REMOVED,
        ITEM_QUANTITY_CHANGED,
        SHIPPING_ADDRESS_SET,
        PLACED,
        PAYMENT_CONFIRMED,
        SHIPPED,
        DELIVERED,
        CANCELLED,
        REFUNDED,
    ];
}

/// Stable command names; each one names a JSON Schema for the body of one HTTP endpoint.
pub mod command_name {
    /// `POST /orders`: body [`CreateOrderV1`](super::CreateOrderV1).
    pub const CREATE_ORDER: &str = "create_order";
    /// `POST /orders/{order_id}/items`: body [`AddItemV1`](super::AddItemV1).
    pub const ADD_ITEM: &str = "add_item";
    /// `DELETE /orders/{order_id}/items/{sku}`: empty body [`RemoveItemV1`](super::RemoveItemV1).
    pub const REMOVE_ITEM: &str = "remove_item";
    /// `PATCH /orders/{order_id}/items/{sku}`: body [`ChangeItemQuantityV1`](super::ChangeItemQuantityV1).
    pub const CHANGE_ITEM_QUANTITY: &str = "change_item_quantity";
    /// `PUT /orders/{order_id}/shipping-address`: body [`SetShippingAddressV1`](super::SetShippingAddressV1).
    pub const SET_SHIPPING_ADDRESS: &str = "set_shipping_address";
    /// `POST /orders/{order_id}/place`: empty body [`PlaceOrderV1`](super::PlaceOrderV1).
    pub const PLACE_ORDER: &str = "place_order";
    /// `POST /orders/{order_id}/payment`: body [`ConfirmPaymentV1`](super::ConfirmPaymentV1).
    pub const CONFIRM_PAYMENT: &str = "confirm_payment";
    /// `POST /orders/{order_id}/shipment`: body [`ShipOrderV1`](super::ShipOrderV1).
    pub const SHIP_ORDER: &str = "ship_order";
    /// `POST /orders/{order_id}/delivery`: empty body [`ConfirmDeliveryV1`](super::ConfirmDeliveryV1).
    pub const CONFIRM_DELIVERY: &str = "confirm_delivery";
    /// `POST /orders/{order_id}/cancel`: body [`CancelOrderV1`](super::CancelOrderV1).
    pub const CANCEL_ORDER: &str = "cancel_order";
    /// `POST /orders/{order_id}/refund`: body [`RefundOrderV1`](super::RefundOrderV1).
    pub const REFUND_ORDER: &str = "refund_order";

    /// Every command name, in lifecycle order.
    pub const ALL: [&str; 11] = [
        CREATE_ORDER,
        ADD_ITEM,
        REMOVE_ITEM,
        CHANGE_ITEM_QUANTITY,
        SET_SHIPPING_ADDRESS,
        PLACE_ORDER,
        CONFIRM_PAYMENT,
        SHIP_ORDER,
        CONFIRM_DELIVERY,
        CANCEL_ORDER,
        REFUND_ORDER,
    ];
}
