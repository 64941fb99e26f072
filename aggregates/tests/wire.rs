//! The wire boundary: stored golden fixtures (including the first, v1 address contract) load into domain
//! events, and command bodies become commands or field errors that point at the offending member.

use std::path::PathBuf;

use aggregates::replay;
use aggregates::wire;
use aggregates::OrderCommand;
use aggregates::OrderEvent;
use aggregates::OrderId;
use aggregates::OrderStatus;
use chrono::TimeZone;
use chrono::Utc;
use schemas::order;
use schemas::FieldError;
use serde_json::json;
use serde_json::Value;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schemas/tests/fixtures")
}

fn read(relative: &str) -> Value {
    let path = fixtures().join(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn generated_id() -> OrderId {
    OrderId::parse("0190f5d3-0000-7000-8000-000000000001").unwrap()
}

#[test]
fn every_golden_event_fixture_decodes_into_a_domain_event_and_encodes_back_at_the_current_version() {
    for schema in schemas::all_schemas().iter().filter(|schema| schema.kind == schemas::SchemaKind::Event) {
        let payload = read(schema.path);
        let event = wire::decode_event(schema.name, schema.version, payload.clone())
            .unwrap_or_else(|error| panic!("{}: {error}", schema.path));
        let encoded = wire::encode_event(&event).unwrap();
        assert_eq!(encoded.event_type, schema.name);
        assert_eq!(schemas::validate_event(encoded.event_type, encoded.schema_version, &encoded.payload), Ok(()));
        if order::OrderEvent::current_version(schema.name) == Some(schema.version) {
            assert_eq!(encoded.payload, payload, "{} re-encodes byte for byte (as JSON values)", schema.path);
        }
    }
}

#[test]
fn a_stream_written_with_the_v1_address_event_still_loads_and_places() {
    let stored = read("streams/order_with_v1_address.json");
    let events: Vec<OrderEvent> = stored
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            wire::decode_event(
                row["event_type"].as_str().unwrap(),
                u32::try_from(row["schema_version"].as_u64().unwrap()).unwrap(),
                row["payload"].clone(),
            )
            .unwrap()
        })
        .collect();
    let state = replay(&events);
    let details = state.details().unwrap();
    assert_eq!(details.status(), OrderStatus::Draft);
    assert_eq!(details.total().minor_units(), 9248);
    let address = details.shipping_address().unwrap();
    assert_eq!(address.line1.as_str(), "12 St James's Square");
    assert_eq!(address.line2, None);
    assert_eq!(address.city.as_str(), "London");
    // The upcast address is good enough to place the order, and is re-written at v2.
    let placed = aggregates::decide(
        &state,
        OrderCommand::Place { requested_at: Utc.with_ymd_and_hms(2026, 1, 10, 8, 4, 0).unwrap() },
    )
    .unwrap();
    let re_written = wire::encode_event(&events[3]).unwrap();
    assert_eq!(re_written.schema_version, 2);
    assert_eq!(re_written.payload["address"]["line1"], json!("12 St James's Square"));
    assert!(matches!(placed[..], [OrderEvent::Placed { .. }]));
}

#[test]
fn stored_events_with_inconsistent_totals_are_refused() {
    let mut payload = read("events/order_item_added.v1.json");
    payload["line_total_minor"] = json!(1);
    let error = wire::decode_event("order.item_added", 1, payload).unwrap_err();
    assert!(matches!(error, wire::WireError::Inconsistent { field: "/line_total_minor", .. }), "{error}");

    let mut payload = read("events/order_placed.v1.json");
    payload["order_total_minor"] = json!(5);
    let error = wire::decode_event("order.placed", 1, payload).unwrap_err();
    assert!(matches!(error, wire::WireError::Inconsistent { field: "/order_total_minor", .. }), "{error}");
}

#[test]
fn stored_events_with_values_the_domain_refuses_are_refused_with_the_field() {
    let mut payload = read("events/order_created.v1.json");
    payload["currency"] = json!("XYZ");
    let error = wire::decode_event("order.created", 1, payload).unwrap_err();
    assert!(matches!(&error, wire::WireError::InvalidValue { field, .. } if field == "/currency"), "{error}");

    let mut payload = read("events/order_cancelled.v1.json");
    payload["previous_status"] = json!("shipped");
    let error = wire::decode_event("order.cancelled", 1, payload).unwrap_err();
    assert!(matches!(error, wire::WireError::UnexpectedStatus { .. }), "{error}");

    let error = wire::decode_event("order.teleported", 1, json!({})).unwrap_err();
    assert!(matches!(error, wire::WireError::Decode(_)), "{error}");
}

#[test]
fn every_command_fixture_becomes_a_command() {
    let at = Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap();
    let body = |name: &str| read(&format!("commands/{name}.v1.json"));
    let commands = [
        wire::create_order_command(&serde_json::from_value(body("create_order")).unwrap(), generated_id(), at),
        wire::add_item_command(&serde_json::from_value(body("add_item")).unwrap(), at),
        wire::remove_item_command("BOOK-0042", &serde_json::from_value(body("remove_item")).unwrap(), at),
        wire::change_item_quantity_command(
            "BOOK-0042",
            &serde_json::from_value(body("change_item_quantity")).unwrap(),
            at,
        ),
        wire::set_shipping_address_command(&serde_json::from_value(body("set_shipping_address")).unwrap(), at),
        wire::place_order_command(&serde_json::from_value(body("place_order")).unwrap(), at),
        wire::confirm_payment_command(&serde_json::from_value(body("confirm_payment")).unwrap(), at),
        wire::ship_order_command(&serde_json::from_value(body("ship_order")).unwrap(), at),
        wire::confirm_delivery_command(&serde_json::from_value(body("confirm_delivery")).unwrap(), at),
        wire::cancel_order_command(&serde_json::from_value(body("cancel_order")).unwrap(), at),
        wire::refund_order_command(&serde_json::from_value(body("refund_order")).unwrap(), at),
    ];
    let names: Vec<&str> = commands
        .into_iter()
        .map(|command| command.unwrap_or_else(|errors| panic!("{errors:?}")).name().as_str())
        .collect();
    assert_eq!(names, schemas::order::command_name::ALL);
}

#[test]
fn a_create_body_without_an_order_id_uses_the_generated_one() {
    let at = Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap();
    let body = order::CreateOrderV1 { order_id: None, customer_id: uuid::Uuid::nil(), currency: "EUR".to_owned() };
    let command = wire::create_order_command(&body, generated_id(), at).unwrap();
    assert!(matches!(command, OrderCommand::Create { order_id, .. } if order_id == generated_id()));
}

#[test]
fn invalid_body_values_are_reported_together_each_at_its_pointer() {
    let at = Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap();
    let body =
        order::AddItemV1 { sku: "not a sku".to_owned(), name: " ".to_owned(), unit_price_minor: -3, quantity: 0 };
    let errors = wire::add_item_command(&body, at).unwrap_err();
    let pointers: Vec<&str> = errors.iter().map(FieldError::pointer).collect();
    assert_eq!(pointers, ["/sku", "/name", "/unit_price_minor", "/quantity"]);
    assert_eq!(errors[3].message, "must be between 1 and 1000");

    let mut address: order::SetShippingAddressV1 =
        serde_json::from_value(read("commands/set_shipping_address.v1.json")).unwrap();
    address.country = "gb".to_owned();
    address.line2 = Some(String::new());
    let errors = wire::set_shipping_address_command(&address, at).unwrap_err();
    let pointers: Vec<&str> = errors.iter().map(FieldError::pointer).collect();
    assert_eq!(pointers, ["/line2", "/country"]);

    let errors = wire::confirm_payment_command(
        &order::ConfirmPaymentV1 { amount_minor: 10, currency: "EURO".to_owned(), payment_reference: None },
        at,
    )
    .unwrap_err();
    assert_eq!(errors, [FieldError::new("/currency", "is not an ISO 4217 currency code")]);

    let errors =
        wire::refund_order_command(&order::RefundOrderV1 { amount_minor: Some(0), reason: None }, at).unwrap_err();
    assert_eq!(errors[0].pointer(), "/amount_minor");
}
