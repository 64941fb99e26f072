//! One handler per order command, each documented for the OpenAPI document, plus the operational routes.
//! Handlers only adapt HTTP to `handler::handle`; the rules live in `aggregates`.

use aggregates::wire as commands;
use aggregates::OrderId;
use axum::extract::State;
use axum::http::Method;
use axum::http::StatusCode;
use axum::http::Uri;
use axum::response::Response;
use schemas::order as wire;
use uuid::Uuid;

use crate::extract::CommandHeaders;
use crate::extract::CommandJson;
use crate::extract::ItemPath;
use crate::extract::OrderPath;
use crate::handler;
use crate::handler::CommandRequest;
use crate::observe::RequestContext;
use crate::openapi::CommandHeaderParams;
use crate::openapi::CommandProblems;
use crate::response::CommandAccepted;
use crate::state::AppState;

/// Shared parameters of a command on an existing order.
struct Common<'a> {
    method: &'a Method,
    uri: &'a Uri,
    context: RequestContext,
    headers: CommandHeaders,
}

impl<'a> Common<'a> {
    fn request(self, document: &'a serde_json::Value, order_id: Uuid) -> CommandRequest<'a> {
        CommandRequest {
            method: self.method,
            path: self.uri.path(),
            context: self.context,
            headers: self.headers,
            document,
            order_id,
            order_id_generated: false,
            success: StatusCode::OK,
        }
    }
}

/// Open a draft order.
#[utoipa::path(
    post, path = "/orders", operation_id = "create_order", tag = "orders",
    request_body(content = serde_json::Value, description = "`create_order` v1", content_type = "application/json"),
    params(CommandHeaderParams),
    responses(
        (status = 201, description = "Created; `Location` names the order", body = CommandAccepted,
         headers(("ETag" = String, description = "The order's version in quotes"),
                 ("X-Consistency-Token" = String, description = "`<xid8>:<position>` of the last event"),
                 ("Location" = String, description = "`/orders/{order_id}`"))),
        CommandProblems,
    )
)]
pub(crate) async fn create_order(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    context: RequestContext,
    headers: CommandHeaders,
    CommandJson { body, document }: CommandJson<wire::CreateOrderV1>,
) -> Response {
    // A UUID v7 made here, at the edge, when the client did not choose the id.
    let generated = Uuid::now_v7();
    let request = CommandRequest {
        method: &method,
        path: uri.path(),
        context,
        headers,
        document: &document,
        order_id: body.order_id.unwrap_or(generated),
        order_id_generated: body.order_id.is_none(),
        success: StatusCode::CREATED,
    };
    handler::handle(&state, request, |at| commands::create_order_command(&body, OrderId::new(generated), at)).await
}

macro_rules! order_command {
    (
        $(#[$doc:meta])*
        $name:ident, $method:ident, $path:literal, $body:ty, $build:path
    ) => {
        $(#[$doc])*
        #[utoipa::path(
            $method, path = $path, operation_id = stringify!($name), tag = "orders",
            request_body(content = serde_json::Value, description = concat!("`", stringify!($name), "` v1"), content_type = "application/json"),
            params(("order_id" = Uuid, Path, description = "The order"), CommandHeaderParams),
            responses(
                (status = 200, description = "Accepted", body = CommandAccepted,
                 headers(("ETag" = String, description = "The order's version in quotes"),
                         ("X-Consistency-Token" = String, description = "`<xid8>:<position>` of the last event; absent when nothing changed"))),
                CommandProblems,
            )
        )]
        pub(crate) async fn $name(
            State(state): State<AppState>,
            method: Method,
            uri: Uri,
            context: RequestContext,
            headers: CommandHeaders,
            OrderPath(order_id): OrderPath,
            CommandJson { body, document }: CommandJson<$body>,
        ) -> Response {
            let common = Common { method: &method, uri: &uri, context, headers };
            handler::handle(&state, common.request(&document, order_id), |at| $build(&body, at)).await
        }
    };
}

macro_rules! item_command {
    (
        $(#[$doc:meta])*
        $name:ident, $method:ident, $path:literal, $body:ty, $build:path
    ) => {
        $(#[$doc])*
        #[utoipa::path(
            $method, path = $path, operation_id = stringify!($name), tag = "orders",
            request_body(content = serde_json::Value, description = concat!("`", stringify!($name), "` v1"), content_type = "application/json"),
            params(("order_id" = Uuid, Path, description = "The order"), ("sku" = String, Path, description = "Sku of the line"), CommandHeaderParams),
            responses(
                (status = 200, description = "Accepted", body = CommandAccepted,
                 headers(("ETag" = String, description = "The order's version in quotes"),
                         ("X-Consistency-Token" = String, description = "`<xid8>:<position>` of the last event; absent when nothing changed"))),
                CommandProblems,
            )
        )]
        pub(crate) async fn $name(
            State(state): State<AppState>,
            method: Method,
            uri: Uri,
            context: RequestContext,
            headers: CommandHeaders,
            ItemPath(order_id, sku): ItemPath,
            CommandJson { body, document }: CommandJson<$body>,
        ) -> Response {
            let common = Common { method: &method, uri: &uri, context, headers };
            handler::handle(&state, common.request(&document, order_id), |at| $build(&sku, &body, at)).await
        }
    };
}

order_command!(
    /// Add a line to a draft order.
    add_item, post, "/orders/{order_id}/items", wire::AddItemV1, commands::add_item_command
);
item_command!(
    /// Set the quantity of a line of a draft order.
    change_item_quantity, patch, "/orders/{order_id}/items/{sku}", wire::ChangeItemQuantityV1,
    commands::change_item_quantity_command
);
item_command!(
    /// Remove a line from a draft order; the body may be absent.
    remove_item, delete, "/orders/{order_id}/items/{sku}", wire::RemoveItemV1, commands::remove_item_command
);
order_command!(
    /// Set or replace the shipping address of a draft order.
    set_shipping_address, put, "/orders/{order_id}/shipping-address", wire::SetShippingAddressV1,
    commands::set_shipping_address_command
);
order_command!(
    /// Place a draft order; the body may be absent.
    place_order, post, "/orders/{order_id}/place", wire::PlaceOrderV1, commands::place_order_command
);
order_command!(
    /// Record the payment of a placed order.
    confirm_payment, post, "/orders/{order_id}/payment", wire::ConfirmPaymentV1, commands::confirm_payment_command
);
order_command!(
    /// Record the payment of a placed order (short alias of `/payment`).
    pay, post, "/orders/{order_id}/pay", wire::ConfirmPaymentV1, commands::confirm_payment_command
);
order_command!(
    /// Record that a paid order was handed to a carrier.
    ship_order, post, "/orders/{order_id}/shipment", wire::ShipOrderV1, commands::ship_order_command
);
order_command!(
    /// Record that a paid order was handed to a carrier (short alias of `/shipment`).
    ship, post, "/orders/{order_id}/ship", wire::ShipOrderV1, commands::ship_order_command
);
order_command!(
    /// Record that a shipped order was delivered; the body may be absent.
    confirm_delivery, post, "/orders/{order_id}/delivery", wire::ConfirmDeliveryV1, commands::confirm_delivery_command
);
order_command!(
    /// Record that a shipped order was delivered (short alias of `/delivery`).
    deliver, post, "/orders/{order_id}/deliver", wire::ConfirmDeliveryV1, commands::confirm_delivery_command
);
order_command!(
    /// Cancel an order that has not been shipped.
    cancel_order, post, "/orders/{order_id}/cancel", wire::CancelOrderV1, commands::cancel_order_command
);
order_command!(
    /// Pay money back for a cancelled paid order or a delivered one; the body may be absent.
    refund_order, post, "/orders/{order_id}/refund", wire::RefundOrderV1, commands::refund_order_command
);
