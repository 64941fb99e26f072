//! The happy path of every route, driven through the typed client, and what each command stores.

use command_api::client::CommandOptions;
use event_store::LogPosition;
use schemas::order as wire;
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::address_body;
use crate::helpers::create_body;
use crate::helpers::item_body;
use crate::helpers::TestApp;

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn creating_an_order_answers_201_with_location_version_etag_and_token(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let created = app.client.create_order(&create_body(), &CommandOptions::default()).await.expect("created");
    assert_eq!(created.status, 201);
    assert_eq!(created.version(), 1);
    assert_eq!(created.etag.as_deref(), Some("\"1\""));
    assert_eq!(created.location, Some(format!("/orders/{}", created.order_id())));
    let token: LogPosition =
        created.body.consistency_token.as_deref().expect("a token").parse().expect("<xid8>:<position>");
    let events = app.events_of(created.order_id()).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type, "order.created");
    assert_eq!(token, events[0].log_position());
    assert_eq!(created.order_id().get_version_num(), 7, "a server-made order id is a UUID v7");
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn a_client_chosen_order_id_is_used(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let order_id = Uuid::new_v4();
    let body = wire::CreateOrderV1 { order_id: Some(order_id), ..create_body() };
    let created = app.client.create_order(&body, &CommandOptions::default()).await.expect("created");
    assert_eq!(created.order_id(), order_id);
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn every_command_route_accepts_its_command_through_a_whole_lifecycle(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let options = CommandOptions::default();
    let client = &app.client;
    let order_id = app.create_order().await;

    let added = client.add_item(order_id, &item_body("BOOK-1", 1999, 2), &options).await.expect("add_item");
    assert_eq!(added.version(), 2);
    client.add_item(order_id, &item_body("PEN-7", 250, 4), &options).await.expect("second add_item");
    let changed = client
        .change_item_quantity(order_id, "PEN-7", &wire::ChangeItemQuantityV1 { quantity: 1 }, &options)
        .await
        .expect("change_item_quantity");
    assert_eq!(changed.version(), 4);
    let removed = client.remove_item(order_id, "PEN-7", &options).await.expect("remove_item");
    assert_eq!(removed.version(), 5);
    client.set_shipping_address(order_id, &address_body(), &options).await.expect("set_shipping_address");
    let placed = client.place_order(order_id, &options).await.expect("place_order");
    assert_eq!(placed.version(), 7);
    let payment =
        wire::ConfirmPaymentV1 { amount_minor: 3998, currency: "EUR".into(), payment_reference: Some("psp-1".into()) };
    client.confirm_payment(order_id, &payment, &options).await.expect("confirm_payment");
    let shipment = wire::ShipOrderV1 { carrier: "DHL".into(), tracking_number: "JD0146".into() };
    client.ship_order(order_id, &shipment, &options).await.expect("ship_order");
    client.confirm_delivery(order_id, &options).await.expect("confirm_delivery");
    let refund = wire::RefundOrderV1 { amount_minor: Some(1999), reason: Some("one book returned".into()) };
    let refunded = client.refund_order(order_id, &refund, &options).await.expect("refund_order");
    assert_eq!(refunded.version(), 11);

    let types: Vec<String> = app.events_of(order_id).await.into_iter().map(|event| event.event_type).collect();
    assert_eq!(
        types,
        [
            "order.created",
            "order.item_added",
            "order.item_added",
            "order.item_quantity_changed",
            "order.item_removed",
            "order.shipping_address_set",
            "order.placed",
            "order.payment_confirmed",
            "order.shipped",
            "order.delivered",
            "order.refunded",
        ]
    );
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn a_paid_order_can_be_cancelled_and_refunded(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let options = CommandOptions::default();
    let order_id = app.placed_order().await;
    let payment = wire::ConfirmPaymentV1 { amount_minor: 3998, currency: "EUR".into(), payment_reference: None };
    app.client.confirm_payment(order_id, &payment, &options).await.expect("paid");
    let cancel = wire::CancelOrderV1 { reason: "customer changed their mind".into() };
    app.client.cancel_order(order_id, &cancel, &options).await.expect("cancelled");
    let refunded =
        app.client.refund_order(order_id, &wire::RefundOrderV1::default(), &options).await.expect("refunded");
    let last = app.events_of(order_id).await.pop().expect("events");
    assert_eq!(last.event_type, "order.refunded");
    assert_eq!(last.payload["amount_minor"], 3998);
    assert_eq!(refunded.version(), last.version);
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn the_short_aliases_pay_ship_and_deliver_work(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let order_id = app.placed_order().await;
    let send = |path: &str, body: serde_json::Value| {
        app.http.post(format!("{}/orders/{order_id}/{path}", app.address)).json(&body).send()
    };
    let paid = send("pay", serde_json::json!({"amount_minor": 3998, "currency": "EUR"})).await.expect("an answer");
    assert_eq!(paid.status(), 200);
    let shipped =
        send("ship", serde_json::json!({"carrier": "DHL", "tracking_number": "X1"})).await.expect("an answer");
    assert_eq!(shipped.status(), 200);
    let delivered =
        app.http.post(format!("{}/orders/{order_id}/deliver", app.address)).send().await.expect("an answer");
    assert_eq!(delivered.status(), 200);
    assert_eq!(delivered.headers()["etag"], "\"7\"");
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn a_command_that_changes_nothing_answers_without_a_token(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let order_id = app.create_order().await;
    let options = CommandOptions::default();
    app.client.add_item(order_id, &item_body("BOOK-1", 1999, 2), &options).await.expect("added");
    let same = app
        .client
        .change_item_quantity(order_id, "BOOK-1", &wire::ChangeItemQuantityV1 { quantity: 2 }, &options)
        .await
        .expect("accepted");
    assert_eq!(same.version(), 2);
    assert_eq!(same.body.consistency_token, None);
    assert_eq!(app.events_of(order_id).await.len(), 2);
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn each_event_stores_command_correlation_causation_actor_path_and_time(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let order_id = app.create_order().await;
    let options = CommandOptions {
        correlation_id: Some("checkout-4711".into()),
        actor: Some("user:ada".into()),
        idempotency_key: Some(Uuid::now_v7().to_string()),
        ..CommandOptions::default()
    };
    let added = app.client.add_item(order_id, &item_body("BOOK-1", 1999, 2), &options).await.expect("added");
    assert_eq!(added.correlation_id.as_deref(), Some("checkout-4711"));
    let event = app.events_of(order_id).await.pop().expect("an event");
    let metadata = &event.metadata;
    let command_id = Uuid::parse_str(options.idempotency_key.as_deref().expect("a key")).expect("a uuid");
    assert_eq!(metadata.command_id, command_id, "a uuid Idempotency-Key is the command id");
    assert_eq!(metadata.correlation_id, "checkout-4711");
    assert_eq!(metadata.causation_id.as_deref(), Some(command_id.to_string().as_str()));
    assert_eq!(metadata.actor.as_deref(), Some("user:ada"));
    assert_eq!(metadata.extra["request_path"], format!("/orders/{order_id}/items"));
    assert_eq!(metadata.extra["http_method"], "POST");
    assert!(metadata.extra["requested_at"].as_str().is_some_and(|text| text.ends_with('Z')));
    assert_eq!(event.event_id.get_version_num(), 7);
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn without_headers_the_actor_is_anonymous_and_ids_are_generated(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let created = app.client.create_order(&create_body(), &CommandOptions::default()).await.expect("created");
    let event = app.events_of(created.order_id()).await.pop().expect("an event");
    assert_eq!(event.metadata.actor.as_deref(), Some("anonymous"));
    let correlation_id = created.correlation_id.expect("a generated correlation id");
    assert_eq!(event.metadata.correlation_id, correlation_id);
    assert_eq!(event.metadata.causation_id, Some(event.metadata.command_id.to_string()));
}
