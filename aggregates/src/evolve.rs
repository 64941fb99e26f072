//! `evolve` (also exported as `apply`): folds one event onto the state. It holds no rules and cannot fail,
//! because history is fact; a combination `decide` never produces is flagged in debug builds and ignored.

use crate::event::OrderEvent;
use crate::state::Cancellation;
use crate::state::Order;
use crate::state::OrderDetails;
use crate::state::Payment;
use crate::state::Refund;
use crate::state::Shipment;
use crate::state::Stage;
use crate::values::Money;

/// Returns the state after `event`. Total for every event `decide` can produce in that state.
///
/// Replaying a stream is `events.iter().fold(Order::NotCreated, evolve)`; see [`replay`].
pub fn evolve(order: Order, event: &OrderEvent) -> Order {
    match order {
        Order::NotCreated => match event {
            OrderEvent::Created { order_id, customer_id, currency, occurred_at } => {
                Order::Created(Box::new(OrderDetails {
                    order_id: *order_id,
                    customer_id: *customer_id,
                    currency: *currency,
                    lines: Vec::new(),
                    total: Money::zero(*currency),
                    shipping_address: None,
                    created_at: *occurred_at,
                    updated_at: *occurred_at,
                    placed_at: None,
                    stage: Stage::Draft,
                }))
            }
            _ => unexpected(Order::NotCreated, event),
        },
        Order::Created(details) => {
            debug_assert_eq!(details.order_id, event.order_id(), "event of another order");
            evolve_created(details, event)
        }
    }
}

/// The name the task and other services use for [`evolve`]; identical behaviour.
pub fn apply(order: Order, event: &OrderEvent) -> Order {
    evolve(order, event)
}

/// Folds a whole history from the empty state, for example the first N events to answer "as of version N".
pub fn replay<'a>(events: impl IntoIterator<Item = &'a OrderEvent>) -> Order {
    events.into_iter().fold(Order::NotCreated, evolve)
}

fn evolve_created(mut order: Box<OrderDetails>, event: &OrderEvent) -> Order {
    let stage = std::mem::replace(&mut order.stage, Stage::Draft);
    let stage = match (stage, event) {
        (Stage::Draft, OrderEvent::ItemAdded { line, totals, .. }) => {
            order.lines.push(line.clone());
            order.total = totals.order_total;
            Stage::Draft
        }
        (Stage::Draft, OrderEvent::ItemRemoved { line, totals, .. }) => {
            order.lines.retain(|candidate| candidate.sku() != line.sku());
            order.total = totals.order_total;
            Stage::Draft
        }
        (Stage::Draft, OrderEvent::ItemQuantityChanged { line, totals, .. }) => {
            for candidate in order.lines.iter_mut().filter(|candidate| candidate.sku() == line.sku()) {
                *candidate = line.clone();
            }
            order.total = totals.order_total;
            Stage::Draft
        }
        (Stage::Draft, OrderEvent::ShippingAddressSet { address, .. }) => {
            order.shipping_address = Some(address.clone());
            Stage::Draft
        }
        (Stage::Draft, OrderEvent::Placed { lines, totals, shipping_address, occurred_at, .. }) => {
            // The placed event is the frozen truth, so the state takes its lines rather than trusting earlier edits.
            order.lines = lines.clone();
            order.total = totals.order_total;
            order.shipping_address = Some(shipping_address.clone());
            order.placed_at = Some(*occurred_at);
            Stage::Placed
        }
        (Stage::Placed, OrderEvent::PaymentConfirmed { amount, payment_reference, occurred_at, .. }) => Stage::Paid {
            payment: Payment { amount: *amount, reference: payment_reference.clone(), paid_at: *occurred_at },
        },
        (Stage::Paid { payment }, OrderEvent::Shipped { carrier, tracking_number, occurred_at, .. }) => {
            Stage::Shipped {
                payment,
                shipment: Shipment {
                    carrier: carrier.clone(),
                    tracking_number: tracking_number.clone(),
                    shipped_at: *occurred_at,
                },
            }
        }
        (Stage::Shipped { payment, shipment }, OrderEvent::Delivered { occurred_at, .. }) => {
            Stage::Delivered { payment, shipment, delivered_at: *occurred_at }
        }
        (
            stage @ (Stage::Draft | Stage::Placed | Stage::Paid { .. }),
            OrderEvent::Cancelled { reason, previous_status, refund_due, occurred_at, .. },
        ) => {
            let payment = match stage {
                Stage::Paid { payment } => Some(payment),
                _ => None,
            };
            Stage::Cancelled {
                cancellation: Cancellation {
                    reason: reason.clone(),
                    previous_status: *previous_status,
                    payment,
                    refund_due: *refund_due,
                    cancelled_at: *occurred_at,
                },
            }
        }
        (
            stage @ (Stage::Cancelled { .. } | Stage::Delivered { .. }),
            OrderEvent::Refunded { amount, reason, occurred_at, .. },
        ) => Stage::Refunded {
            refund: Refund { amount: *amount, reason: reason.clone(), refunded_at: *occurred_at },
            before: Box::new(stage),
        },
        (stage, _) => {
            order.stage = stage;
            return unexpected(Order::Created(order), event);
        }
    };
    order.stage = stage;
    order.updated_at = event.occurred_at();
    Order::Created(order)
}

/// History is never rejected: an event `decide` could not have produced here leaves the state as it was.
fn unexpected(order: Order, event: &OrderEvent) -> Order {
    debug_assert!(false, "event {event:?} cannot follow state {:?}", order.status());
    order
}
