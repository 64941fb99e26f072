//! Property tests over random command sequences: totals, lifecycle edges, replay, rejection and the wire contract.

use aggregates::decide;
use aggregates::evolve;
use aggregates::replay;
use aggregates::wire;
use aggregates::AddressLine;
use aggregates::Amount;
use aggregates::CancelReason;
use aggregates::Carrier;
use aggregates::City;
use aggregates::CountryCode;
use aggregates::Currency;
use aggregates::CustomerId;
use aggregates::Money;
use aggregates::Order;
use aggregates::OrderCommand;
use aggregates::OrderEvent;
use aggregates::OrderId;
use aggregates::PaymentReference;
use aggregates::PostalCode;
use aggregates::ProductName;
use aggregates::Quantity;
use aggregates::RecipientName;
use aggregates::RefundReason;
use aggregates::Region;
use aggregates::ShippingAddress;
use aggregates::Sku;
use aggregates::TrackingNumber;
use aggregates::UnitPrice;
use chrono::DateTime;
use chrono::TimeZone;
use chrono::Utc;
use proptest::prelude::*;
use serde_json::json;

/// A command before it meets a state: "pay exactly the total" needs the state to become concrete.
#[derive(Debug, Clone)]
enum Step {
    Create { currency: &'static str },
    AddItem { sku: usize, unit_price: i64, quantity: i64 },
    RemoveItem { sku: usize },
    ChangeItemQuantity { sku: usize, quantity: i64 },
    SetShippingAddress { city: usize, with_optional_parts: bool },
    Place,
    PayExactTotal { with_reference: bool },
    PayAmount { minor_units: i64, currency: &'static str },
    Ship,
    ConfirmDelivery,
    Cancel,
    Refund { amount: Option<i64>, with_reason: bool },
}

const SKUS: [&str; 5] = ["BOOK-0042", "MUG-7", "pen.blue_01", "X", "9-LIVES"];
const CITIES: [&str; 3] = ["London", "São Paulo", "Zürich"];

fn step() -> impl Strategy<Value = Step> {
    let sku = 0..SKUS.len();
    let quantity = prop_oneof![1i64..=5, 1i64..=1000];
    let unit_price = prop_oneof![Just(0i64), 1i64..=10_000, 0i64..=UnitPrice::MAX];
    prop_oneof![
        1 => prop_oneof![Just("EUR"), Just("JPY")].prop_map(|currency| Step::Create { currency }),
        6 => (sku.clone(), unit_price, quantity.clone())
            .prop_map(|(sku, unit_price, quantity)| Step::AddItem { sku, unit_price, quantity }),
        2 => sku.clone().prop_map(|sku| Step::RemoveItem { sku }),
        2 => (sku, quantity).prop_map(|(sku, quantity)| Step::ChangeItemQuantity { sku, quantity }),
        2 => (0..CITIES.len(), any::<bool>())
            .prop_map(|(city, with_optional_parts)| Step::SetShippingAddress { city, with_optional_parts }),
        3 => Just(Step::Place),
        3 => any::<bool>().prop_map(|with_reference| Step::PayExactTotal { with_reference }),
        1 => (0i64..=50_000, prop_oneof![Just("EUR"), Just("USD")])
            .prop_map(|(minor_units, currency)| Step::PayAmount { minor_units, currency }),
        2 => Just(Step::Ship),
        2 => Just(Step::ConfirmDelivery),
        2 => Just(Step::Cancel),
        2 => (proptest::option::of(0i64..=50_000), any::<bool>())
            .prop_map(|(amount, with_reason)| Step::Refund { amount, with_reason }),
    ]
}

fn scenario() -> impl Strategy<Value = Vec<Step>> {
    // Most sequences start with a create, so that they reach the later stages.
    (any::<bool>(), proptest::collection::vec(step(), 0..40)).prop_map(|(start_with_create, mut steps)| {
        if start_with_create {
            steps.insert(0, Step::Create { currency: "EUR" });
        }
        steps
    })
}

fn time(index: usize) -> DateTime<Utc> {
    let seconds = i64::try_from(index).unwrap() * 61;
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap() + chrono::Duration::milliseconds(seconds * 1000 + 250)
}

fn address(city: usize, with_optional_parts: bool) -> ShippingAddress {
    ShippingAddress {
        recipient_name: RecipientName::parse("Ada Lovelace").unwrap(),
        line1: AddressLine::parse("12 St James's Square").unwrap(),
        line2: with_optional_parts.then(|| AddressLine::parse("Flat 3").unwrap()),
        city: City::parse(CITIES[city]).unwrap(),
        region: with_optional_parts.then(|| Region::parse("Greater London").unwrap()),
        postal_code: PostalCode::parse("SW1Y 4JH").unwrap(),
        country: CountryCode::parse("GB").unwrap(),
    }
}

fn concrete(step: &Step, state: &Order, index: usize) -> OrderCommand {
    let requested_at = time(index);
    let currency_of_order =
        state.details().map(|details| details.currency()).unwrap_or_else(|| Currency::parse("EUR").unwrap());
    match step {
        Step::Create { currency } => OrderCommand::Create {
            order_id: OrderId::parse("0190f5d2-7c3a-7b8e-9a41-2f6d8c1e5b07").unwrap(),
            customer_id: CustomerId::parse("0190f5d1-1111-7222-8333-444455556666").unwrap(),
            currency: Currency::parse(currency).unwrap(),
            requested_at,
        },
        Step::AddItem { sku, unit_price, quantity } => OrderCommand::AddItem {
            sku: Sku::parse(SKUS[*sku]).unwrap(),
            name: ProductName::parse(&format!("Product «{}»", SKUS[*sku])).unwrap(),
            unit_price: UnitPrice::try_new(*unit_price).unwrap(),
            quantity: Quantity::try_new(*quantity).unwrap(),
            requested_at,
        },
        Step::RemoveItem { sku } => OrderCommand::RemoveItem { sku: Sku::parse(SKUS[*sku]).unwrap(), requested_at },
        Step::ChangeItemQuantity { sku, quantity } => OrderCommand::ChangeItemQuantity {
            sku: Sku::parse(SKUS[*sku]).unwrap(),
            quantity: Quantity::try_new(*quantity).unwrap(),
            requested_at,
        },
        Step::SetShippingAddress { city, with_optional_parts } => {
            OrderCommand::SetShippingAddress { address: address(*city, *with_optional_parts), requested_at }
        }
        Step::Place => OrderCommand::Place { requested_at },
        Step::PayExactTotal { with_reference } => OrderCommand::ConfirmPayment {
            amount: state.details().map(|details| details.total()).unwrap_or_else(|| Money::zero(currency_of_order)),
            payment_reference: with_reference.then(|| PaymentReference::parse("psp_1").unwrap()),
            requested_at,
        },
        Step::PayAmount { minor_units, currency } => OrderCommand::ConfirmPayment {
            amount: Money::try_new(*minor_units, currency).unwrap(),
            payment_reference: None,
            requested_at,
        },
        Step::Ship => OrderCommand::Ship {
            carrier: Carrier::parse("DHL").unwrap(),
            tracking_number: TrackingNumber::parse("JD0146").unwrap(),
            requested_at,
        },
        Step::ConfirmDelivery => OrderCommand::ConfirmDelivery { requested_at },
        Step::Cancel => OrderCommand::Cancel { reason: CancelReason::parse("changed my mind").unwrap(), requested_at },
        Step::Refund { amount, with_reason } => OrderCommand::Refund {
            amount: amount.map(|minor_units| Amount::try_new(minor_units).unwrap()),
            reason: with_reason.then(|| RefundReason::parse("returned").unwrap()),
            requested_at,
        },
    }
}

/// Runs a scenario and checks the per-step properties; returns the final state and every event emitted.
fn run(steps: &[Step]) -> Result<(Order, Vec<OrderEvent>), TestCaseError> {
    let mut state = Order::NotCreated;
    let mut history = Vec::new();
    for (index, step) in steps.iter().enumerate() {
        let command = concrete(step, &state, index);
        match decide(&state, command.clone()) {
            Err(_) => {
                // (d) A rejected command emits nothing: the state stays exactly what it was.
                prop_assert_eq!(replay(&history), state.clone());
            }
            Ok(events) => {
                let before = state.status();
                for event in &events {
                    state = evolve(state, event);
                    check_wire_contract(event)?;
                    check_totals_match_event(&state, event)?;
                }
                // (b) Status only moves along the allowed edges.
                if let (Some(before), Some(after)) = (before, state.status()) {
                    prop_assert!(
                        before == after || before.can_move_to(after),
                        "{} -> {} by {:?}",
                        before,
                        after,
                        command
                    );
                }
                history.extend(events);
            }
        }
        check_totals_equal_lines(&state)?;
    }
    Ok((state, history))
}

/// (a) The state's total always equals the sum of its lines, in the order's currency.
fn check_totals_equal_lines(state: &Order) -> Result<(), TestCaseError> {
    if let Some(details) = state.details() {
        let sum: i64 = details.lines().iter().map(|line| line.line_total().minor_units()).sum();
        prop_assert_eq!(details.total().minor_units(), sum);
        prop_assert_eq!(details.total().currency(), details.currency());
        prop_assert!(details.line_count() <= aggregates::MAX_LINES);
    }
    Ok(())
}

/// Enriched totals in events agree with the state they produce.
fn check_totals_match_event(state: &Order, event: &OrderEvent) -> Result<(), TestCaseError> {
    let details = state.details().expect("an event always leaves a created order");
    let totals = match event {
        OrderEvent::ItemAdded { totals, .. }
        | OrderEvent::ItemRemoved { totals, .. }
        | OrderEvent::ItemQuantityChanged { totals, .. }
        | OrderEvent::Placed { totals, .. } => Some(totals),
        _ => None,
    };
    if let Some(totals) = totals {
        prop_assert_eq!(totals.order_total, details.total());
        prop_assert_eq!(totals.item_count, details.item_count());
        prop_assert_eq!(usize::try_from(totals.line_count).unwrap(), details.line_count());
    }
    prop_assert_eq!(event.occurred_at(), details.updated_at());
    Ok(())
}

/// Every emitted event validates against its schema and survives the wire in both directions.
fn check_wire_contract(event: &OrderEvent) -> Result<(), TestCaseError> {
    let encoded = wire::encode_event(event).map_err(|error| TestCaseError::fail(error.to_string()))?;
    prop_assert_eq!(encoded.event_type, event.event_type());
    if let Err(errors) = schemas::validate_event(encoded.event_type, encoded.schema_version, &encoded.payload) {
        return Err(TestCaseError::fail(format!("{} violates its schema: {errors:?}", encoded.event_type)));
    }
    let stored_text = serde_json::to_string(&encoded.payload).unwrap();
    let reloaded: serde_json::Value = serde_json::from_str(&stored_text).unwrap();
    let decoded = wire::decode_event(encoded.event_type, encoded.schema_version, reloaded)
        .map_err(|error| TestCaseError::fail(error.to_string()))?;
    prop_assert_eq!(&decoded, event);
    let tagged = serde_json::to_string(&schemas::order::OrderEvent::from(event)).unwrap();
    let wire_again: schemas::order::OrderEvent = serde_json::from_str(&tagged).unwrap();
    prop_assert_eq!(
        OrderEvent::try_from(wire_again).map_err(|error| TestCaseError::fail(error.to_string()))?,
        event.clone()
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_command_sequences_keep_every_invariant(steps in scenario()) {
        let (state, history) = run(&steps)?;
        // (c) Folding the emitted events from scratch reproduces the state.
        prop_assert_eq!(replay(&history), state.clone());
        prop_assert_eq!(history.iter().fold(Order::NotCreated, aggregates::apply), state);
    }

    #[test]
    fn product_names_accepted_by_the_domain_are_exactly_those_the_schema_accepts(
        name in prop_oneof![
            "[a-zA-Z0-9 éü–«»\t\n\u{7f}]{0,8}",
            "[a-z]{195,205}",
            " {0,3}[a-z]{0,3} {0,3}",
        ]
    ) {
        let body = json!({"sku": "SKU-1", "name": name, "unit_price_minor": 1, "quantity": 1});
        let schema_accepts = schemas::validate_command("add_item", 1, &body).is_ok();
        prop_assert_eq!(ProductName::parse(&name).is_ok(), schema_accepts, "name {:?}", name);
    }

    #[test]
    fn skus_accepted_by_the_domain_are_exactly_those_the_schema_accepts(sku in "[A-Za-z0-9._ -]{0,66}") {
        let body = json!({"sku": sku, "name": "Thing", "unit_price_minor": 1, "quantity": 1});
        let schema_accepts = schemas::validate_command("add_item", 1, &body).is_ok();
        prop_assert_eq!(Sku::parse(&sku).is_ok(), schema_accepts, "sku {:?}", sku);
    }

    #[test]
    fn quantities_and_prices_accepted_by_the_domain_are_exactly_those_the_schema_accepts(
        quantity in -5i64..=1005,
        unit_price_minor in prop_oneof![-5i64..=5, (UnitPrice::MAX - 5)..=(UnitPrice::MAX + 5)],
    ) {
        let body = json!({"sku": "SKU-1", "name": "Thing", "unit_price_minor": unit_price_minor, "quantity": quantity});
        let schema_accepts = schemas::validate_command("add_item", 1, &body).is_ok();
        let domain_accepts = Quantity::try_new(quantity).is_ok() && UnitPrice::try_new(unit_price_minor).is_ok();
        prop_assert_eq!(domain_accepts, schema_accepts);
    }
}

/// Guards the generator itself: properties over sequences that never leave draft would prove little.
#[test]
fn random_scenarios_reach_every_status() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let mut runner = TestRunner::deterministic();
    let mut reached = std::collections::BTreeSet::new();
    for _ in 0..256 {
        let steps = scenario().new_tree(&mut runner).unwrap().current();
        let (state, history) = run(&steps).unwrap();
        reached.extend(history.iter().map(|event| event.event_type()));
        reached.extend(state.status().map(|status| status.as_str()));
    }
    for status in aggregates::OrderStatus::ALL {
        assert!(reached.contains(status.as_str()), "no scenario reached {status}: {reached:?}");
    }
    for event_type in schemas::order::event_type::ALL {
        assert!(reached.contains(event_type), "no scenario emitted {event_type}");
    }
}
