//! The embedded JSON Schema files and lookup by (name, version).
//!
//! The files under `schemas/commands/` and `schemas/events/` are the source of truth; this table only embeds them.
//! A test checks that every file on disk appears here and the other way round.

/// Whether a schema describes a command body or an event payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SchemaKind {
    /// An HTTP request body of the command API, named by a [`command_name`](crate::order::command_name).
    Command,
    /// A stored and published event payload, named by an [`event_type`](crate::order::event_type).
    Event,
}

/// One embedded JSON Schema (draft 2020-12) file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaDocument {
    /// Command or event.
    pub kind: SchemaKind,
    /// Command name (`add_item`) or event type (`order.item_added`).
    pub name: &'static str,
    /// Schema version, also part of the file name.
    pub version: u32,
    /// Path of the file relative to the `schemas/` folder, for example `events/order_placed.v1.json`.
    pub path: &'static str,
    /// The file's text.
    pub text: &'static str,
}

macro_rules! schema {
    ($kind:ident, $name:expr, $version:literal, $path:literal) => {
        SchemaDocument {
            kind: SchemaKind::$kind,
            name: $name,
            version: $version,
            path: $path,
            text: include_str!(concat!("../", $path)),
        }
    };
}

use crate::order::command_name;
use crate::order::event_type;

static SCHEMAS: [SchemaDocument; 23] = [
    schema!(Command, command_name::CREATE_ORDER, 1, "commands/create_order.v1.json"),
    schema!(Command, command_name::ADD_ITEM, 1, "commands/add_item.v1.json"),
    schema!(Command, command_name::REMOVE_ITEM, 1, "commands/remove_item.v1.json"),
    schema!(Command, command_name::CHANGE_ITEM_QUANTITY, 1, "commands/change_item_quantity.v1.json"),
    schema!(Command, command_name::SET_SHIPPING_ADDRESS, 1, "commands/set_shipping_address.v1.json"),
    schema!(Command, command_name::PLACE_ORDER, 1, "commands/place_order.v1.json"),
    schema!(Command, command_name::CONFIRM_PAYMENT, 1, "commands/confirm_payment.v1.json"),
    schema!(Command, command_name::SHIP_ORDER, 1, "commands/ship_order.v1.json"),
    schema!(Command, command_name::CONFIRM_DELIVERY, 1, "commands/confirm_delivery.v1.json"),
    schema!(Command, command_name::CANCEL_ORDER, 1, "commands/cancel_order.v1.json"),
    schema!(Command, command_name::REFUND_ORDER, 1, "commands/refund_order.v1.json"),
    schema!(Event, event_type::CREATED, 1, "events/order_created.v1.json"),
    schema!(Event, event_type::ITEM_ADDED, 1, "events/order_item_added.v1.json"),
    schema!(Event, event_type::ITEM_REMOVED, 1, "events/order_item_removed.v1.json"),
    schema!(Event, event_type::ITEM_QUANTITY_CHANGED, 1, "events/order_item_quantity_changed.v1.json"),
    schema!(Event, event_type::SHIPPING_ADDRESS_SET, 1, "events/order_shipping_address_set.v1.json"),
    schema!(Event, event_type::SHIPPING_ADDRESS_SET, 2, "events/order_shipping_address_set.v2.json"),
    schema!(Event, event_type::PLACED, 1, "events/order_placed.v1.json"),
    schema!(Event, event_type::PAYMENT_CONFIRMED, 1, "events/order_payment_confirmed.v1.json"),
    schema!(Event, event_type::SHIPPED, 1, "events/order_shipped.v1.json"),
    schema!(Event, event_type::DELIVERED, 1, "events/order_delivered.v1.json"),
    schema!(Event, event_type::CANCELLED, 1, "events/order_cancelled.v1.json"),
    schema!(Event, event_type::REFUNDED, 1, "events/order_refunded.v1.json"),
];

/// Every embedded schema, commands first.
pub fn all_schemas() -> &'static [SchemaDocument] {
    &SCHEMAS
}

/// The schema of an event payload, by event type (`order.placed`) and schema version.
pub fn event_schema(event_type: &str, version: u32) -> Option<&'static SchemaDocument> {
    find(SchemaKind::Event, event_type, version)
}

/// The schema of a command body, by command name (`add_item`) and version.
pub fn command_schema(command_name: &str, version: u32) -> Option<&'static SchemaDocument> {
    find(SchemaKind::Command, command_name, version)
}

fn find(kind: SchemaKind, name: &str, version: u32) -> Option<&'static SchemaDocument> {
    SCHEMAS.iter().find(|schema| schema.kind == kind && schema.name == name && schema.version == version)
}
