//! The flow planner against the real domain: every planned command is converted exactly as the command API
//! converts it (`aggregates::wire`) and run through `decide`/`evolve`. Valid steps must be accepted and
//! change the order, invalid ones must be refused, and each flow must end in the status it planned.

use aggregates::wire;
use aggregates::Order;
use aggregates::OrderCommand;
use aggregates::OrderId;
use aggregates::OrderStatus;
use bench::plan_flow;
use bench::Cart;
use bench::Ending;
use bench::FlowMix;
use bench::InvalidCommand;
use bench::Step;
use chrono::DateTime;
use chrono::Utc;
use schemas::order as body;

const FLOWS: u64 = 3_000;

fn at() -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600, 0).expect("a valid timestamp")
}

/// Runs a command that must be accepted and change the order; returns the new state.
fn accept(order: Order, command: Result<OrderCommand, Vec<schemas::FieldError>>, what: &str) -> Order {
    let command = command.unwrap_or_else(|errors| panic!("{what}: the body does not validate: {errors:?}"));
    let events = aggregates::decide(&order, command).unwrap_or_else(|error| panic!("{what}: refused: {error:?}"));
    assert!(!events.is_empty(), "{what}: accepted without a change, so it would have no consistency token");
    events.iter().fold(order, aggregates::evolve)
}

/// True when the command is refused, either by its body's validation or by `decide`.
fn is_refused(order: &Order, command: Result<OrderCommand, Vec<schemas::FieldError>>) -> bool {
    match command {
        Err(_) => true,
        Ok(command) => aggregates::decide(order, command).is_err(),
    }
}

fn total(order: &Order) -> i64 {
    match order {
        Order::Created(details) => details.total().minor_units(),
        Order::NotCreated => 0,
    }
}

fn replay_plan(seed: u64, mix: FlowMix) -> (Order, Ending, usize, usize) {
    let plan = plan_flow(seed, mix);
    let mut order = Order::NotCreated;
    let mut cart = Cart::default();
    let mut invalid = 0;
    let mut concurrent = 0;
    for (index, step) in plan.steps.iter().enumerate() {
        let what = format!("seed {seed}, step {index} {step:?}");
        order = match step {
            Step::Create => {
                let create = body::CreateOrderV1 {
                    order_id: Some(plan.order_id),
                    customer_id: plan.customer_id,
                    currency: plan.currency.clone(),
                };
                accept(order, wire::create_order_command(&create, OrderId::new(plan.order_id), at()), &what)
            }
            Step::AddItem(item) => {
                cart.add(item);
                accept(order, wire::add_item_command(item, at()), &what)
            }
            Step::AddItemsConcurrently(items) => {
                concurrent += 1;
                assert!(items.len() >= 2, "{what}: a concurrent add has at least two writers");
                items.iter().fold(order, |order, item| {
                    cart.add(item);
                    accept(order, wire::add_item_command(item, at()), &what)
                })
            }
            Step::ChangeQuantity { sku, quantity } => {
                cart.set_quantity(sku, *quantity);
                accept(
                    order,
                    wire::change_item_quantity_command(sku, &body::ChangeItemQuantityV1 { quantity: *quantity }, at()),
                    &what,
                )
            }
            Step::RaceQuantity { sku, quantities } => {
                concurrent += 1;
                assert_ne!(quantities[0], quantities[1], "{what}: the two writers set different quantities");
                // Both writers' commands change the order on their own, so whichever wins has an effect.
                for quantity in quantities {
                    let command = wire::change_item_quantity_command(
                        sku,
                        &body::ChangeItemQuantityV1 { quantity: *quantity },
                        at(),
                    );
                    accept(order.clone(), command, &what);
                }
                let winner = quantities[(seed % 2) as usize];
                cart.set_quantity(sku, winner);
                accept(
                    order,
                    wire::change_item_quantity_command(sku, &body::ChangeItemQuantityV1 { quantity: winner }, at()),
                    &what,
                )
            }
            Step::RemoveItem { sku } => {
                cart.remove(sku);
                accept(order, wire::remove_item_command(sku, &body::RemoveItemV1 {}, at()), &what)
            }
            Step::SetAddress(address) => accept(order, wire::set_shipping_address_command(address, at()), &what),
            Step::Place => accept(order, wire::place_order_command(&body::PlaceOrderV1 {}, at()), &what),
            Step::Pay => {
                assert_eq!(
                    cart.total_minor(),
                    total(&order),
                    "{what}: the runner's cart and the domain agree on the total"
                );
                let pay = body::ConfirmPaymentV1 {
                    amount_minor: cart.total_minor(),
                    currency: plan.currency.clone(),
                    payment_reference: Some("psp_1".into()),
                };
                accept(order, wire::confirm_payment_command(&pay, at()), &what)
            }
            Step::Ship(ship) => accept(order, wire::ship_order_command(ship, at()), &what),
            Step::Deliver => accept(order, wire::confirm_delivery_command(&body::ConfirmDeliveryV1 {}, at()), &what),
            Step::Cancel(cancel) => accept(order, wire::cancel_order_command(cancel, at()), &what),
            Step::Refund { portion, reason } => {
                let refund =
                    body::RefundOrderV1 { amount_minor: cart.refund_amount(*portion), reason: Some(reason.clone()) };
                accept(order, wire::refund_order_command(&refund, at()), &what)
            }
            Step::Invalid(refused) => {
                invalid += 1;
                let command = match refused {
                    InvalidCommand::WrongPaymentAmount => wire::confirm_payment_command(
                        &body::ConfirmPaymentV1 {
                            amount_minor: cart.total_minor() + 1,
                            currency: plan.currency.clone(),
                            payment_reference: None,
                        },
                        at(),
                    ),
                    InvalidCommand::ShipUnpaid(ship) => wire::ship_order_command(ship, at()),
                    InvalidCommand::AddItemAfterPlacing(item) | InvalidCommand::ZeroQuantity(item) => {
                        wire::add_item_command(item, at())
                    }
                    InvalidCommand::RefundNotOwed => wire::refund_order_command(&body::RefundOrderV1::default(), at()),
                };
                assert!(is_refused(&order, command), "{what}: an invalid command was accepted");
                order
            }
        };
    }
    (order, plan.ending, invalid, concurrent)
}

#[test]
fn every_planned_flow_is_a_valid_command_sequence_that_ends_as_planned() {
    let mix = FlowMix { invalid: 0.3, concurrent: 0.4 };
    let mut invalid_total = 0;
    let mut concurrent_total = 0;
    let mut endings = std::collections::HashMap::new();
    for seed in 0..FLOWS {
        let (order, ending, invalid, concurrent) = replay_plan(seed, mix);
        invalid_total += invalid;
        concurrent_total += concurrent;
        *endings.entry(ending).or_insert(0) += 1;
        let expected = match ending {
            Ending::Delivered => OrderStatus::Delivered,
            Ending::DeliveredThenRefunded | Ending::CancelledPaidThenRefunded => OrderStatus::Refunded,
            Ending::CancelledDraft | Ending::CancelledPlaced => OrderStatus::Cancelled,
            Ending::AbandonedDraft => OrderStatus::Draft,
        };
        assert_eq!(order.status(), Some(expected), "seed {seed} ends as planned ({ending:?})");
    }
    // The mix really exercises what it promises.
    assert!(invalid_total > FLOWS as usize / 10, "invalid commands are planned ({invalid_total})");
    assert!(concurrent_total > FLOWS as usize / 10, "concurrent edits are planned ({concurrent_total})");
    assert_eq!(endings.len(), 6, "every ending occurs: {endings:?}");
}

#[test]
fn flows_have_between_one_and_ten_items_and_unique_order_ids() {
    let mut order_ids = std::collections::HashSet::new();
    for seed in 0..FLOWS {
        let plan = plan_flow(seed, FlowMix::default());
        assert!(order_ids.insert(plan.order_id), "seed {seed} repeats an order id");
        let added: usize = plan
            .steps
            .iter()
            .map(|step| match step {
                Step::AddItem(_) => 1,
                Step::AddItemsConcurrently(items) => items.len(),
                _ => 0,
            })
            .sum();
        assert!((1..=10).contains(&added), "seed {seed} adds {added} items");
        assert_eq!(plan.steps.first(), Some(&Step::Create));
    }
}
