//! Given/when/then tests of every transition and every rejection of `decide`.

use chrono::DateTime;
use chrono::TimeZone;
use chrono::Utc;

use crate::command::CommandName;
use crate::command::OrderCommand;
use crate::decide;
use crate::error::OrderError;
use crate::event::OrderEvent;
use crate::event::OrderTotals;
use crate::replay;
use crate::state::Order;
use crate::state::OrderLine;
use crate::state::OrderStatus;
use crate::state::MAX_LINES;
use crate::values::*;

// ---- the given/when/then helper ----

struct Given {
    history: Vec<OrderEvent>,
}

struct When {
    state: Order,
    result: Result<Vec<OrderEvent>, OrderError>,
}

fn given(history: impl IntoIterator<Item = OrderEvent>) -> Given {
    Given { history: history.into_iter().collect() }
}

impl Given {
    fn when(self, command: OrderCommand) -> When {
        let state = replay(&self.history);
        let result = decide(&state, command);
        When { state, result }
    }
}

impl When {
    /// Asserts the exact events, and that they fold onto the state along an allowed lifecycle edge.
    #[track_caller]
    fn then(self, expected: impl IntoIterator<Item = OrderEvent>) -> Order {
        let expected: Vec<OrderEvent> = expected.into_iter().collect();
        let events = self.result.expect("the command is accepted");
        assert_eq!(events, expected);
        let before = self.state.status();
        let after = events.iter().fold(self.state, crate::evolve);
        if let (Some(before), Some(after)) = (before, after.status()) {
            assert!(before == after || before.can_move_to(after), "{before} -> {after}");
        }
        after
    }

    #[track_caller]
    fn then_rejects(self, expected: OrderError) {
        assert_eq!(self.result, Err(expected));
    }
}

// ---- fixtures ----

fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, minute, 0).unwrap()
}

fn order_id() -> OrderId {
    OrderId::parse("0190f5d2-7c3a-7b8e-9a41-2f6d8c1e5b07").unwrap()
}

fn customer_id() -> CustomerId {
    CustomerId::parse("0190f5d1-1111-7222-8333-444455556666").unwrap()
}

fn eur() -> Currency {
    Currency::parse("EUR").unwrap()
}

fn eur_minor(minor_units: i64) -> Money {
    Money::new(Amount::try_new(minor_units).unwrap(), eur())
}

fn line(sku: &str, name: &str, unit_price: i64, quantity: i64) -> OrderLine {
    OrderLine::new(
        Sku::parse(sku).unwrap(),
        ProductName::parse(name).unwrap(),
        UnitPrice::try_new(unit_price).unwrap(),
        Quantity::try_new(quantity).unwrap(),
    )
}

fn book(quantity: i64) -> OrderLine {
    line("BOOK-0042", "The Pragmatic Programmer", 3999, quantity)
}

fn mug() -> OrderLine {
    line("MUG-7", "Coffee mug", 1250, 1)
}

fn totals(order_total: i64, item_count: u32, line_count: u32) -> OrderTotals {
    OrderTotals { order_total: eur_minor(order_total), item_count, line_count }
}

fn address() -> ShippingAddress {
    ShippingAddress {
        recipient_name: RecipientName::parse("Ada Lovelace").unwrap(),
        line1: AddressLine::parse("12 St James's Square").unwrap(),
        line2: None,
        city: City::parse("London").unwrap(),
        region: None,
        postal_code: PostalCode::parse("SW1Y 4JH").unwrap(),
        country: CountryCode::parse("GB").unwrap(),
    }
}

fn create() -> OrderCommand {
    OrderCommand::Create { order_id: order_id(), customer_id: customer_id(), currency: eur(), requested_at: at(0) }
}

fn add(line: &OrderLine) -> OrderCommand {
    OrderCommand::AddItem {
        sku: line.sku().clone(),
        name: line.name().clone(),
        unit_price: line.unit_price(),
        quantity: line.quantity(),
        requested_at: at(10),
    }
}

fn set_address(address: ShippingAddress) -> OrderCommand {
    OrderCommand::SetShippingAddress { address, requested_at: at(11) }
}

fn pay(minor_units: i64) -> OrderCommand {
    OrderCommand::ConfirmPayment {
        amount: eur_minor(minor_units),
        payment_reference: Some(PaymentReference::parse("psp_8f2a1c").unwrap()),
        requested_at: at(20),
    }
}

fn ship() -> OrderCommand {
    OrderCommand::Ship {
        carrier: Carrier::parse("DHL").unwrap(),
        tracking_number: TrackingNumber::parse("JD0146").unwrap(),
        requested_at: at(30),
    }
}

fn cancel() -> OrderCommand {
    OrderCommand::Cancel { reason: CancelReason::parse("customer changed their mind").unwrap(), requested_at: at(40) }
}

fn refund(minor_units: Option<i64>) -> OrderCommand {
    OrderCommand::Refund {
        amount: minor_units.map(|minor_units| Amount::try_new(minor_units).unwrap()),
        reason: None,
        requested_at: at(50),
    }
}

fn created() -> OrderEvent {
    OrderEvent::Created { order_id: order_id(), customer_id: customer_id(), currency: eur(), occurred_at: at(0) }
}

fn book_added() -> OrderEvent {
    OrderEvent::ItemAdded { order_id: order_id(), line: book(2), totals: totals(7998, 2, 1), occurred_at: at(1) }
}

fn mug_added() -> OrderEvent {
    OrderEvent::ItemAdded { order_id: order_id(), line: mug(), totals: totals(9248, 3, 2), occurred_at: at(2) }
}

fn address_set() -> OrderEvent {
    OrderEvent::ShippingAddressSet { order_id: order_id(), address: address(), occurred_at: at(3) }
}

fn placed() -> OrderEvent {
    OrderEvent::Placed {
        order_id: order_id(),
        customer_id: customer_id(),
        lines: vec![book(2)],
        totals: totals(7998, 2, 1),
        shipping_address: address(),
        occurred_at: at(4),
    }
}

fn paid() -> OrderEvent {
    OrderEvent::PaymentConfirmed {
        order_id: order_id(),
        customer_id: customer_id(),
        amount: eur_minor(7998),
        payment_reference: None,
        occurred_at: at(5),
    }
}

fn shipped() -> OrderEvent {
    OrderEvent::Shipped {
        order_id: order_id(),
        customer_id: customer_id(),
        carrier: Carrier::parse("DHL").unwrap(),
        tracking_number: TrackingNumber::parse("JD0146").unwrap(),
        occurred_at: at(6),
    }
}

fn delivered() -> OrderEvent {
    OrderEvent::Delivered { order_id: order_id(), customer_id: customer_id(), occurred_at: at(7) }
}

fn cancelled(previous_status: OrderStatus, refund_due: Option<i64>) -> OrderEvent {
    OrderEvent::Cancelled {
        order_id: order_id(),
        customer_id: customer_id(),
        reason: CancelReason::parse("customer changed their mind").unwrap(),
        previous_status,
        order_total: eur_minor(7998),
        refund_due: refund_due.map(eur_minor),
        occurred_at: at(40),
    }
}

fn refunded(minor_units: i64, previous_status: OrderStatus) -> OrderEvent {
    OrderEvent::Refunded {
        order_id: order_id(),
        customer_id: customer_id(),
        amount: eur_minor(minor_units),
        reason: None,
        previous_status,
        occurred_at: at(50),
    }
}

fn draft_with_book() -> Vec<OrderEvent> {
    vec![created(), book_added()]
}

fn ready_draft() -> Vec<OrderEvent> {
    vec![created(), book_added(), address_set()]
}

fn placed_order() -> Vec<OrderEvent> {
    vec![created(), book_added(), address_set(), placed()]
}

fn paid_order() -> Vec<OrderEvent> {
    let mut history = placed_order();
    history.push(paid());
    history
}

fn shipped_order() -> Vec<OrderEvent> {
    let mut history = paid_order();
    history.push(shipped());
    history
}

fn delivered_order() -> Vec<OrderEvent> {
    let mut history = shipped_order();
    history.push(delivered());
    history
}

fn cancelled_paid_order() -> Vec<OrderEvent> {
    let mut history = paid_order();
    history.push(cancelled(OrderStatus::Paid, Some(7998)));
    history
}

// ---- create ----

#[test]
fn creating_an_order_opens_a_draft() {
    let state = given([]).when(create()).then([created()]);
    assert_eq!(state.status(), Some(OrderStatus::Draft));
    assert_eq!(state.details().unwrap().total(), eur_minor(0));
}

#[test]
fn creating_an_order_that_exists_is_rejected() {
    given([created()]).when(create()).then_rejects(OrderError::AlreadyCreated);
}

#[test]
fn every_other_command_on_a_missing_order_is_rejected_as_not_created() {
    for command in [
        add(&book(1)),
        set_address(address()),
        OrderCommand::Place { requested_at: at(1) },
        pay(1),
        ship(),
        cancel(),
        refund(None),
    ] {
        given([]).when(command).then_rejects(OrderError::NotCreated);
    }
}

// ---- items ----

#[test]
fn adding_an_item_reports_the_line_and_the_order_totals_after_the_change() {
    given([created()]).when(add(&book(2))).then([OrderEvent::ItemAdded {
        order_id: order_id(),
        line: book(2),
        totals: totals(7998, 2, 1),
        occurred_at: at(10),
    }]);
}

#[test]
fn adding_a_second_item_adds_to_the_totals() {
    given(draft_with_book()).when(add(&mug())).then([OrderEvent::ItemAdded {
        order_id: order_id(),
        line: mug(),
        totals: totals(9248, 3, 2),
        occurred_at: at(10),
    }]);
}

#[test]
fn adding_a_sku_that_is_already_on_the_order_is_rejected() {
    given(draft_with_book())
        .when(add(&book(5)))
        .then_rejects(OrderError::ItemAlreadyInOrder { sku: book(1).sku().clone() });
}

#[test]
fn adding_a_line_beyond_the_limit_is_rejected() {
    let mut history = vec![created()];
    let mut state = replay(&history);
    for index in 0..MAX_LINES {
        let events = decide(&state, add(&line(&format!("SKU-{index}"), "Thing", 1, 1))).unwrap();
        state = events.iter().fold(state, crate::evolve);
        history.extend(events);
    }
    given(history).when(add(&mug())).then_rejects(OrderError::TooManyLines { max: MAX_LINES });
}

#[test]
fn adding_an_item_to_a_placed_order_is_rejected() {
    given(placed_order())
        .when(add(&mug()))
        .then_rejects(OrderError::CannotAddItemWhenPlaced { status: OrderStatus::Placed });
}

#[test]
fn adding_an_item_to_a_cancelled_draft_is_rejected() {
    let mut history = draft_with_book();
    history.push(cancelled(OrderStatus::Draft, None));
    given(history)
        .when(add(&mug()))
        .then_rejects(OrderError::CannotAddItemWhenPlaced { status: OrderStatus::Cancelled });
}

#[test]
fn removing_an_item_reports_the_removed_line_and_the_totals_after_the_change() {
    let mut history = draft_with_book();
    history.push(mug_added());
    let state =
        given(history).when(OrderCommand::RemoveItem { sku: mug().sku().clone(), requested_at: at(12) }).then([
            OrderEvent::ItemRemoved {
                order_id: order_id(),
                line: mug(),
                totals: totals(7998, 2, 1),
                occurred_at: at(12),
            },
        ]);
    assert_eq!(state.details().unwrap().lines(), [book(2)]);
}

#[test]
fn removing_a_sku_that_is_not_on_the_order_is_rejected() {
    given(draft_with_book())
        .when(OrderCommand::RemoveItem { sku: mug().sku().clone(), requested_at: at(12) })
        .then_rejects(OrderError::ItemNotInOrder { sku: mug().sku().clone() });
}

#[test]
fn removing_an_item_from_a_paid_order_is_rejected() {
    given(paid_order())
        .when(OrderCommand::RemoveItem { sku: book(1).sku().clone(), requested_at: at(12) })
        .then_rejects(OrderError::CannotRemoveItemWhenPlaced { status: OrderStatus::Paid });
}

fn change_book_quantity(quantity: i64) -> OrderCommand {
    OrderCommand::ChangeItemQuantity {
        sku: book(1).sku().clone(),
        quantity: Quantity::try_new(quantity).unwrap(),
        requested_at: at(13),
    }
}

#[test]
fn changing_a_quantity_reports_the_previous_quantity_and_the_new_totals() {
    given(draft_with_book()).when(change_book_quantity(3)).then([OrderEvent::ItemQuantityChanged {
        order_id: order_id(),
        line: book(3),
        previous_quantity: Quantity::try_new(2).unwrap(),
        totals: totals(11997, 3, 1),
        occurred_at: at(13),
    }]);
}

#[test]
fn setting_the_current_quantity_again_changes_nothing() {
    given(draft_with_book()).when(change_book_quantity(2)).then([]);
}

#[test]
fn changing_the_quantity_of_a_sku_that_is_not_on_the_order_is_rejected() {
    given([created()])
        .when(change_book_quantity(2))
        .then_rejects(OrderError::ItemNotInOrder { sku: book(1).sku().clone() });
}

#[test]
fn changing_a_quantity_on_a_shipped_order_is_rejected() {
    given(shipped_order())
        .when(change_book_quantity(3))
        .then_rejects(OrderError::CannotChangeQuantityWhenPlaced { status: OrderStatus::Shipped });
}

// ---- address ----

#[test]
fn setting_the_shipping_address_records_it_with_city_and_country() {
    let state = given(draft_with_book()).when(set_address(address())).then([OrderEvent::ShippingAddressSet {
        order_id: order_id(),
        address: address(),
        occurred_at: at(11),
    }]);
    assert_eq!(state.details().unwrap().shipping_address(), Some(&address()));
}

#[test]
fn replacing_the_shipping_address_records_the_new_one() {
    let mut other = address();
    other.city = City::parse("Manchester").unwrap();
    given(ready_draft()).when(set_address(other.clone())).then([OrderEvent::ShippingAddressSet {
        order_id: order_id(),
        address: other,
        occurred_at: at(11),
    }]);
}

#[test]
fn setting_the_same_shipping_address_again_changes_nothing() {
    given(ready_draft()).when(set_address(address())).then([]);
}

#[test]
fn setting_the_address_of_a_placed_order_is_rejected() {
    given(placed_order())
        .when(set_address(address()))
        .then_rejects(OrderError::CannotSetAddressWhenPlaced { status: OrderStatus::Placed });
}

// ---- place ----

#[test]
fn placing_a_draft_with_items_and_an_address_freezes_lines_total_and_address() {
    let state = given(ready_draft()).when(OrderCommand::Place { requested_at: at(4) }).then([placed()]);
    let details = state.details().unwrap();
    assert_eq!(details.status(), OrderStatus::Placed);
    assert_eq!(details.placed_at(), Some(at(4)));
    assert_eq!(details.total(), eur_minor(7998));
}

#[test]
fn placing_an_order_without_items_is_rejected() {
    given([created(), address_set()])
        .when(OrderCommand::Place { requested_at: at(4) })
        .then_rejects(OrderError::CannotPlaceWithoutItems);
}

#[test]
fn placing_an_order_without_an_address_is_rejected() {
    given(draft_with_book())
        .when(OrderCommand::Place { requested_at: at(4) })
        .then_rejects(OrderError::CannotPlaceWithoutAddress);
}

#[test]
fn placing_an_order_twice_is_rejected() {
    given(placed_order())
        .when(OrderCommand::Place { requested_at: at(4) })
        .then_rejects(OrderError::InvalidTransition { from: OrderStatus::Placed, command: CommandName::PlaceOrder });
}

// ---- payment ----

#[test]
fn paying_exactly_the_order_total_confirms_the_payment() {
    let state = given(placed_order()).when(pay(7998)).then([OrderEvent::PaymentConfirmed {
        order_id: order_id(),
        customer_id: customer_id(),
        amount: eur_minor(7998),
        payment_reference: Some(PaymentReference::parse("psp_8f2a1c").unwrap()),
        occurred_at: at(20),
    }]);
    assert_eq!(state.details().unwrap().payment().unwrap().amount, eur_minor(7998));
}

#[test]
fn paying_another_amount_is_rejected_with_both_amounts() {
    given(placed_order())
        .when(pay(7000))
        .then_rejects(OrderError::PaymentAmountMismatch { expected: eur_minor(7998), got: eur_minor(7000) });
}

#[test]
fn paying_in_another_currency_is_rejected_with_both_amounts() {
    let usd = Money::new(Amount::try_new(7998).unwrap(), Currency::parse("USD").unwrap());
    given(placed_order())
        .when(OrderCommand::ConfirmPayment { amount: usd, payment_reference: None, requested_at: at(20) })
        .then_rejects(OrderError::PaymentAmountMismatch { expected: eur_minor(7998), got: usd });
}

#[test]
fn paying_a_draft_is_rejected() {
    given(ready_draft())
        .when(pay(7998))
        .then_rejects(OrderError::InvalidTransition { from: OrderStatus::Draft, command: CommandName::ConfirmPayment });
}

#[test]
fn paying_twice_is_rejected() {
    given(paid_order())
        .when(pay(7998))
        .then_rejects(OrderError::InvalidTransition { from: OrderStatus::Paid, command: CommandName::ConfirmPayment });
}

// ---- shipping and delivery ----

#[test]
fn shipping_a_paid_order_records_carrier_and_tracking_number() {
    let state = given(paid_order()).when(ship()).then([OrderEvent::Shipped {
        order_id: order_id(),
        customer_id: customer_id(),
        carrier: Carrier::parse("DHL").unwrap(),
        tracking_number: TrackingNumber::parse("JD0146").unwrap(),
        occurred_at: at(30),
    }]);
    assert_eq!(state.details().unwrap().shipment().unwrap().carrier.as_str(), "DHL");
}

#[test]
fn shipping_an_unpaid_order_is_rejected() {
    given(placed_order())
        .when(ship())
        .then_rejects(OrderError::InvalidTransition { from: OrderStatus::Placed, command: CommandName::ShipOrder });
}

#[test]
fn confirming_delivery_of_a_shipped_order_records_it() {
    let state = given(shipped_order()).when(OrderCommand::ConfirmDelivery { requested_at: at(7) }).then([delivered()]);
    assert_eq!(state.details().unwrap().delivered_at(), Some(at(7)));
}

#[test]
fn confirming_delivery_of_an_order_that_was_not_shipped_is_rejected() {
    given(paid_order())
        .when(OrderCommand::ConfirmDelivery { requested_at: at(7) })
        .then_rejects(OrderError::InvalidTransition { from: OrderStatus::Paid, command: CommandName::ConfirmDelivery });
}

// ---- cancel ----

#[test]
fn cancelling_a_draft_owes_nothing() {
    given(ready_draft()).when(cancel()).then([cancelled(OrderStatus::Draft, None)]);
}

#[test]
fn cancelling_a_placed_unpaid_order_owes_nothing() {
    let state = given(placed_order()).when(cancel()).then([cancelled(OrderStatus::Placed, None)]);
    assert_eq!(state.details().unwrap().refund_due(), None);
}

#[test]
fn cancelling_a_paid_order_records_that_the_payment_is_owed_back() {
    let state = given(paid_order()).when(cancel()).then([cancelled(OrderStatus::Paid, Some(7998))]);
    assert_eq!(state.details().unwrap().refund_due(), Some(eur_minor(7998)));
}

#[test]
fn cancelling_a_shipped_order_is_rejected() {
    given(shipped_order())
        .when(cancel())
        .then_rejects(OrderError::CannotCancelAfterShipping { status: OrderStatus::Shipped });
}

#[test]
fn cancelling_a_delivered_order_is_rejected() {
    given(delivered_order())
        .when(cancel())
        .then_rejects(OrderError::CannotCancelAfterShipping { status: OrderStatus::Delivered });
}

#[test]
fn cancelling_twice_is_rejected() {
    given(cancelled_paid_order()).when(cancel()).then_rejects(OrderError::InvalidTransition {
        from: OrderStatus::Cancelled,
        command: CommandName::CancelOrder,
    });
}

// ---- refund ----

#[test]
fn refunding_a_cancelled_paid_order_pays_back_what_is_owed() {
    let state = given(cancelled_paid_order()).when(refund(None)).then([refunded(7998, OrderStatus::Cancelled)]);
    let details = state.details().unwrap();
    assert_eq!(details.status(), OrderStatus::Refunded);
    assert_eq!(details.refund_due(), None);
    assert_eq!(details.cancellation().unwrap().refund_due, Some(eur_minor(7998)));
    assert_eq!(details.payment().unwrap().amount, eur_minor(7998));
}

#[test]
fn refunding_a_cancelled_paid_order_with_the_exact_amount_is_accepted() {
    given(cancelled_paid_order()).when(refund(Some(7998))).then([refunded(7998, OrderStatus::Cancelled)]);
}

#[test]
fn refunding_a_cancelled_paid_order_partially_is_rejected() {
    given(cancelled_paid_order())
        .when(refund(Some(100)))
        .then_rejects(OrderError::RefundAmountMismatch { expected: eur_minor(7998), got: eur_minor(100) });
}

#[test]
fn refunding_a_cancelled_unpaid_order_is_rejected() {
    let mut history = placed_order();
    history.push(cancelled(OrderStatus::Placed, None));
    given(history).when(refund(None)).then_rejects(OrderError::NothingToRefund);
}

#[test]
fn refunding_part_of_a_delivered_order_is_accepted() {
    let state = given(delivered_order()).when(refund(Some(3999))).then([refunded(3999, OrderStatus::Delivered)]);
    let details = state.details().unwrap();
    assert_eq!(details.refund().unwrap().amount, eur_minor(3999));
    assert_eq!(details.delivered_at(), Some(at(7)));
    assert!(details.shipment().is_some());
}

#[test]
fn refunding_more_than_was_paid_for_a_delivered_order_is_rejected() {
    given(delivered_order())
        .when(refund(Some(9000)))
        .then_rejects(OrderError::RefundExceedsPayment { paid: eur_minor(7998), requested: eur_minor(9000) });
}

#[test]
fn refunding_an_order_that_is_only_placed_is_rejected() {
    given(placed_order())
        .when(refund(None))
        .then_rejects(OrderError::InvalidTransition { from: OrderStatus::Placed, command: CommandName::RefundOrder });
}

#[test]
fn refunding_twice_is_rejected() {
    let mut history = cancelled_paid_order();
    history.push(refunded(7998, OrderStatus::Cancelled));
    given(history)
        .when(refund(None))
        .then_rejects(OrderError::InvalidTransition { from: OrderStatus::Refunded, command: CommandName::RefundOrder });
}

#[test]
fn a_free_order_that_is_paid_and_cancelled_owes_nothing() {
    let free = line("GIFT-1", "Gift card sleeve", 0, 1);
    let mut history = vec![
        created(),
        OrderEvent::ItemAdded { order_id: order_id(), line: free.clone(), totals: totals(0, 1, 1), occurred_at: at(1) },
        address_set(),
        OrderEvent::Placed {
            order_id: order_id(),
            customer_id: customer_id(),
            lines: vec![free],
            totals: totals(0, 1, 1),
            shipping_address: address(),
            occurred_at: at(4),
        },
        OrderEvent::PaymentConfirmed {
            order_id: order_id(),
            customer_id: customer_id(),
            amount: eur_minor(0),
            payment_reference: None,
            occurred_at: at(5),
        },
    ];
    let mut expected = cancelled(OrderStatus::Paid, None);
    if let OrderEvent::Cancelled { order_total, .. } = &mut expected {
        *order_total = eur_minor(0);
    }
    given(history.clone()).when(cancel()).then([expected.clone()]);
    history.push(expected);
    given(history).when(refund(None)).then_rejects(OrderError::NothingToRefund);
}

// ---- the state view ----

#[test]
fn the_state_view_reports_everything_the_query_side_needs() {
    let state = replay(&delivered_order());
    let details = state.details().unwrap();
    assert_eq!(state.status().map(|status| status.as_str()), Some("delivered"));
    assert_eq!(details.order_id(), order_id());
    assert_eq!(details.customer_id(), customer_id());
    assert_eq!(details.currency(), eur());
    assert_eq!(details.lines(), [book(2)]);
    assert_eq!(details.item_count(), 2);
    assert_eq!(details.line_count(), 1);
    assert_eq!(details.total(), eur_minor(7998));
    assert_eq!(details.shipping_address().unwrap().country.as_str(), "GB");
    assert_eq!(details.created_at(), at(0));
    assert_eq!(details.updated_at(), at(7));
    assert_eq!(details.placed_at(), Some(at(4)));
    assert!(details.payment().is_some());
    assert!(details.cancellation().is_none());
}

#[test]
fn a_rejected_command_leaves_nothing_to_fold() {
    let state = replay(&shipped_order());
    assert!(decide(&state, cancel()).is_err());
    assert_eq!(replay(&shipped_order()), state);
}
