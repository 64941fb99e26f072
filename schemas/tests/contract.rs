//! Contract tests of the schema files themselves: every file is embedded and typed, every schema is
//! documented and closed, validation asserts formats and points at the offending field, and the golden
//! fixtures keep decoding forever.

use std::collections::BTreeSet;
use std::path::Path;
use std::path::PathBuf;

use schemas::all_schemas;
use schemas::command_schema;
use schemas::event_schema;
use schemas::order;
use schemas::order::command_name;
use schemas::order::event_type;
use schemas::order::OrderEvent;
use schemas::validate_command;
use schemas::validate_event;
use schemas::FieldError;
use schemas::Problem;
use schemas::SchemaKind;
use serde_json::json;
use serde_json::Value;

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn json_files(folder: &Path) -> BTreeSet<String> {
    std::fs::read_dir(folder)
        .unwrap_or_else(|error| panic!("{} is readable: {error}", folder.display()))
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .collect()
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{} is readable: {error}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{} is JSON: {error}", path.display()))
}

fn fixture(relative: &str) -> Value {
    read_json(&crate_dir().join("tests/fixtures").join(relative))
}

fn pointers(errors: &[FieldError]) -> Vec<&str> {
    errors.iter().map(FieldError::pointer).collect()
}

#[test]
fn every_schema_file_on_disk_is_embedded_and_every_embedded_schema_is_on_disk() {
    for (kind, folder) in [(SchemaKind::Command, "commands"), (SchemaKind::Event, "events")] {
        let on_disk = json_files(&crate_dir().join(folder));
        let embedded: BTreeSet<String> = all_schemas()
            .iter()
            .filter(|schema| schema.kind == kind)
            .map(|schema| schema.path.trim_start_matches(&format!("{folder}/")).to_owned())
            .collect();
        assert_eq!(on_disk, embedded, "files in schemas/{folder}/");
    }
}

#[test]
fn embedded_text_equals_the_file_and_the_file_name_follows_name_and_version() {
    for schema in all_schemas() {
        let on_disk = std::fs::read_to_string(crate_dir().join(schema.path)).unwrap();
        assert_eq!(schema.text, on_disk, "{}", schema.path);
        let expected_file = format!("{}.v{}.json", schema.name.replace('.', "_"), schema.version);
        assert!(schema.path.ends_with(&expected_file), "{} should end with {expected_file}", schema.path);
    }
}

#[test]
fn every_command_name_and_event_type_has_a_schema_at_its_current_version() {
    for name in command_name::ALL {
        assert!(command_schema(name, 1).is_some(), "command {name}");
    }
    for event in event_type::ALL {
        let version = OrderEvent::current_version(event).unwrap();
        assert!(event_schema(event, version).is_some(), "event {event} v{version}");
    }
    assert_eq!(OrderEvent::current_version("order.unknown"), None);
}

/// Walks every object schema: it must be closed, and every property must say what it means.
fn assert_documented_and_closed(path: &str, pointer: &str, schema: &Value) {
    let Some(object) = schema.as_object() else {
        return;
    };
    if object.get("type") == Some(&json!("object")) {
        assert_eq!(
            object.get("additionalProperties"),
            Some(&json!(false)),
            "{path}{pointer} must set additionalProperties: false"
        );
        if let Some(properties) = object.get("properties").and_then(Value::as_object) {
            for (name, property) in properties {
                let property_pointer = format!("{pointer}/properties/{name}");
                let description = property.get("description").and_then(Value::as_str).unwrap_or("");
                assert!(!description.is_empty(), "{path}{property_pointer} needs a description");
                assert_documented_and_closed(path, &property_pointer, property);
            }
        }
        for required in object.get("required").and_then(Value::as_array).into_iter().flatten() {
            let name = required.as_str().unwrap();
            assert!(
                object.get("properties").and_then(|properties| properties.get(name)).is_some(),
                "{path}{pointer} requires undeclared {name}"
            );
        }
    }
    if let Some(items) = object.get("items") {
        assert_documented_and_closed(path, &format!("{pointer}/items"), items);
    }
}

#[test]
fn every_schema_is_draft_2020_12_documented_and_closed() {
    for schema in all_schemas() {
        let document: Value = serde_json::from_str(schema.text).unwrap();
        assert_eq!(document["$schema"], json!("https://json-schema.org/draft/2020-12/schema"), "{}", schema.path);
        assert!(document["title"].as_str().is_some_and(|title| !title.is_empty()), "{}", schema.path);
        assert!(document["description"].as_str().is_some_and(|text| !text.is_empty()), "{}", schema.path);
        assert_documented_and_closed(schema.path, "", &document);
    }
}

#[test]
fn uuid_fields_declare_the_uuid_format_and_timestamps_the_date_time_format() {
    for schema in all_schemas() {
        let document: Value = serde_json::from_str(schema.text).unwrap();
        for (name, property) in document["properties"].as_object().unwrap() {
            if name.ends_with("_id") {
                assert_eq!(property["format"], json!("uuid"), "{} {name}", schema.path);
            }
            if name.ends_with("_at") {
                assert_eq!(property["format"], json!("date-time"), "{} {name}", schema.path);
            }
        }
    }
}

#[test]
fn every_example_in_a_schema_is_valid_against_it() {
    for schema in all_schemas() {
        let document: Value = serde_json::from_str(schema.text).unwrap();
        for example in document["examples"].as_array().into_iter().flatten() {
            let result = match schema.kind {
                SchemaKind::Command => validate_command(schema.name, schema.version, example),
                SchemaKind::Event => validate_event(schema.name, schema.version, example),
            };
            assert_eq!(result, Ok(()), "example of {}", schema.path);
        }
    }
}

#[test]
fn every_event_fixture_is_valid_and_round_trips_through_its_wire_type() {
    let folder = crate_dir().join("tests/fixtures/events");
    let files = json_files(&folder);
    let expected: BTreeSet<String> = all_schemas()
        .iter()
        .filter(|schema| schema.kind == SchemaKind::Event)
        .map(|schema| schema.path.trim_start_matches("events/").to_owned())
        .collect();
    assert_eq!(files, expected, "one golden fixture per event type and version");
    for schema in all_schemas().iter().filter(|schema| schema.kind == SchemaKind::Event) {
        let payload = read_json(&folder.join(schema.path.trim_start_matches("events/")));
        assert_eq!(validate_event(schema.name, schema.version, &payload), Ok(()), "{}", schema.path);
        let decoded = OrderEvent::decode(schema.name, schema.version, payload.clone())
            .unwrap_or_else(|error| panic!("{} decodes: {error}", schema.path));
        assert_eq!(decoded.event_type(), schema.name);
        if OrderEvent::current_version(schema.name) == Some(schema.version) {
            assert_eq!(decoded.payload().unwrap(), payload, "{} re-encodes to the same JSON", schema.path);
        }
        let re_encoded = decoded.payload().unwrap();
        assert_eq!(
            validate_event(decoded.event_type(), decoded.schema_version(), &re_encoded),
            Ok(()),
            "{} after decoding",
            schema.path
        );
    }
}

#[test]
fn every_command_fixture_is_valid_and_round_trips_through_its_body_type() {
    fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(body: &Value) -> Value {
        serde_json::to_value(serde_json::from_value::<T>(body.clone()).unwrap()).unwrap()
    }
    let folder = crate_dir().join("tests/fixtures/commands");
    assert_eq!(json_files(&folder).len(), command_name::ALL.len());
    for name in command_name::ALL {
        let body = read_json(&folder.join(format!("{name}.v1.json")));
        assert_eq!(validate_command(name, 1, &body), Ok(()), "{name}");
        let again = match name {
            command_name::CREATE_ORDER => round_trip::<order::CreateOrderV1>(&body),
            command_name::ADD_ITEM => round_trip::<order::AddItemV1>(&body),
            command_name::REMOVE_ITEM => round_trip::<order::RemoveItemV1>(&body),
            command_name::CHANGE_ITEM_QUANTITY => round_trip::<order::ChangeItemQuantityV1>(&body),
            command_name::SET_SHIPPING_ADDRESS => round_trip::<order::SetShippingAddressV1>(&body),
            command_name::PLACE_ORDER => round_trip::<order::PlaceOrderV1>(&body),
            command_name::CONFIRM_PAYMENT => round_trip::<order::ConfirmPaymentV1>(&body),
            command_name::SHIP_ORDER => round_trip::<order::ShipOrderV1>(&body),
            command_name::CONFIRM_DELIVERY => round_trip::<order::ConfirmDeliveryV1>(&body),
            command_name::CANCEL_ORDER => round_trip::<order::CancelOrderV1>(&body),
            command_name::REFUND_ORDER => round_trip::<order::RefundOrderV1>(&body),
            other => panic!("no body type for {other}"),
        };
        assert_eq!(again, body, "{name}");
    }
}

#[test]
fn shipping_address_v1_is_upcast_to_v2_when_read() {
    let decoded =
        OrderEvent::decode(event_type::SHIPPING_ADDRESS_SET, 1, fixture("events/order_shipping_address_set.v1.json"))
            .unwrap();
    let OrderEvent::ShippingAddressSet(payload) = &decoded else {
        panic!("decoded as {decoded:?}");
    };
    assert_eq!(payload.address.line1, "12 St James's Square");
    assert_eq!(payload.address.line2, None);
    assert_eq!(payload.address.region, None);
    assert_eq!(payload.address.city, "London");
    assert_eq!(payload.address.country, "GB");
    assert_eq!(decoded.schema_version(), 2);
    assert_eq!(validate_event(event_type::SHIPPING_ADDRESS_SET, 2, &decoded.payload().unwrap()), Ok(()));
}

#[test]
fn the_v1_address_payload_is_not_valid_as_v2_and_the_v2_payload_is_not_valid_as_v1() {
    let v1 = fixture("events/order_shipping_address_set.v1.json");
    let v2 = fixture("events/order_shipping_address_set.v2.json");
    assert!(validate_event(event_type::SHIPPING_ADDRESS_SET, 2, &v1).is_err());
    assert!(validate_event(event_type::SHIPPING_ADDRESS_SET, 1, &v2).is_err());
}

#[test]
fn unknown_event_types_and_versions_are_decode_errors() {
    let payload = fixture("events/order_created.v1.json");
    assert!(matches!(
        OrderEvent::decode("order.exploded", 1, payload.clone()),
        Err(order::DecodeError::UnknownEventType { .. })
    ));
    assert!(matches!(
        OrderEvent::decode(event_type::CREATED, 9, payload),
        Err(order::DecodeError::UnknownSchemaVersion { schema_version: 9, .. })
    ));
    let broken = json!({"order_id": "not-a-uuid"});
    assert!(matches!(
        OrderEvent::decode(event_type::CREATED, 1, broken),
        Err(order::DecodeError::InvalidPayload { .. })
    ));
}

#[test]
fn an_invalid_uuid_is_rejected_because_formats_are_asserted() {
    let mut body = fixture("commands/create_order.v1.json");
    body["customer_id"] = json!("not-a-uuid");
    let errors = validate_command(command_name::CREATE_ORDER, 1, &body).unwrap_err();
    assert_eq!(pointers(&errors), ["/customer_id"]);
    assert!(errors[0].message.contains("uuid"), "{}", errors[0].message);
}

#[test]
fn an_invalid_date_time_is_rejected_because_formats_are_asserted() {
    let mut payload = fixture("events/order_created.v1.json");
    payload["occurred_at"] = json!("yesterday at noon");
    let errors = validate_event(event_type::CREATED, 1, &payload).unwrap_err();
    assert_eq!(pointers(&errors), ["/occurred_at"]);
    assert!(errors[0].message.contains("date-time"), "{}", errors[0].message);
}

#[test]
fn a_missing_field_is_reported_at_its_own_pointer() {
    let body = json!({"sku": "BOOK-1", "name": "Book", "unit_price_minor": 100});
    let errors = validate_command(command_name::ADD_ITEM, 1, &body).unwrap_err();
    assert_eq!(errors, [FieldError::new("/quantity", "is required")]);
}

#[test]
fn an_unexpected_field_is_reported_at_its_own_pointer() {
    let body = json!({"quantity": 2, "price": 5});
    let errors = validate_command(command_name::CHANGE_ITEM_QUANTITY, 1, &body).unwrap_err();
    assert_eq!(errors, [FieldError::new("/price", "is not an allowed member")]);
}

#[test]
fn every_violation_is_reported_with_a_pointer_into_nested_documents() {
    let mut payload = fixture("events/order_placed.v1.json");
    payload["lines"][0]["quantity"] = json!(0);
    payload["shipping_address"]["country"] = json!("gb");
    payload["order_total_minor"] = json!(12.5);
    let errors = validate_event(event_type::PLACED, 1, &payload).unwrap_err();
    assert_eq!(pointers(&errors), ["/lines/0/quantity", "/order_total_minor", "/shipping_address/country"]);
}

#[test]
fn limits_of_the_domain_are_part_of_the_contract() {
    let valid = fixture("commands/add_item.v1.json");
    for (member, value) in [
        ("quantity", json!(1001)),
        ("quantity", json!(0)),
        ("unit_price_minor", json!(-1)),
        ("unit_price_minor", json!(10_000_000_001_i64)),
        ("name", json!("")),
        ("name", json!("   ")),
        ("name", json!("x".repeat(201))),
        ("name", json!("tab\there")),
        ("sku", json!("-starts-with-dash")),
        ("sku", json!("A".repeat(65))),
    ] {
        let mut body = valid.clone();
        body[member] = value.clone();
        let errors = validate_command(command_name::ADD_ITEM, 1, &body)
            .expect_err(&format!("{member} = {value} must be rejected"));
        let mut offending = pointers(&errors);
        // One value may break several keywords (an empty name is both too short and blank).
        offending.dedup();
        assert_eq!(offending, [format!("/{member}")], "{member} = {value}");
    }
    let mut body = valid;
    body["name"] = json!("Crème brûlée – 200 g");
    assert_eq!(validate_command(command_name::ADD_ITEM, 1, &body), Ok(()));
}

#[test]
fn the_order_id_of_a_create_body_is_optional() {
    let body = json!({"customer_id": "0190f5d1-1111-7222-8333-444455556666", "currency": "EUR"});
    assert_eq!(validate_command(command_name::CREATE_ORDER, 1, &body), Ok(()));
    let parsed: order::CreateOrderV1 = serde_json::from_value(body).unwrap();
    assert_eq!(parsed.order_id, None);
}

#[test]
fn unknown_schemas_are_reported_on_the_whole_document() {
    let errors = validate_command("launch_rocket", 1, &json!({})).unwrap_err();
    assert_eq!(pointers(&errors), [""]);
    let errors = validate_event(event_type::PLACED, 7, &json!({})).unwrap_err();
    assert_eq!(pointers(&errors), [""]);
}

#[test]
fn problem_bodies_use_type_and_omit_absent_members() {
    let problem = Problem {
        problem_type: "/problems/validation-failed".to_owned(),
        title: "Validation failed".to_owned(),
        status: 422,
        detail: "quantity must be between 1 and 1000".to_owned(),
        instance: None,
        code: None,
        errors: Some(vec![FieldError::new("/quantity", "must be between 1 and 1000")]),
    };
    let encoded = serde_json::to_value(&problem).unwrap();
    assert_eq!(
        encoded,
        json!({
            "type": "/problems/validation-failed",
            "title": "Validation failed",
            "status": 422,
            "detail": "quantity must be between 1 and 1000",
            "errors": [{"field": "/quantity", "message": "must be between 1 and 1000"}]
        })
    );
    assert_eq!(serde_json::from_value::<Problem>(encoded).unwrap(), problem);
}

#[test]
fn wire_events_serialise_with_their_type_tag() {
    let payload = fixture("events/order_delivered.v1.json");
    let event = OrderEvent::decode(event_type::DELIVERED, 1, payload.clone()).unwrap();
    let tagged = serde_json::to_value(&event).unwrap();
    assert_eq!(tagged, json!({"type": "order.delivered", "data": payload}));
    assert_eq!(serde_json::from_value::<OrderEvent>(tagged).unwrap(), event);
}

#[test]
fn every_top_level_schema_property_is_a_field_of_its_wire_type() {
    // The fixtures fill every optional member, so after a trip through the wire type their keys must be
    // exactly the schema's properties; `deny_unknown_fields` already refuses members the schema lacks.
    for schema in all_schemas() {
        let document: Value = serde_json::from_str(schema.text).unwrap();
        let declared: BTreeSet<String> = document["properties"].as_object().unwrap().keys().cloned().collect();
        let fixture_path = match schema.kind {
            SchemaKind::Command => format!("commands/{}.v{}.json", schema.name, schema.version),
            SchemaKind::Event => schema.path.to_owned(),
        };
        let document = fixture(&fixture_path);
        let through_wire = match schema.kind {
            SchemaKind::Event => {
                let event = OrderEvent::decode(schema.name, schema.version, document.clone()).unwrap();
                if OrderEvent::current_version(schema.name) == Some(schema.version) {
                    event.payload().unwrap()
                } else {
                    document
                }
            }
            SchemaKind::Command => document,
        };
        let present: BTreeSet<String> = through_wire.as_object().unwrap().keys().cloned().collect();
        assert_eq!(present, declared, "{}", schema.path);
    }
}
