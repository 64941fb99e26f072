//! Snapshots of an order, stored with `EventStore::save_snapshot` so loading costs the snapshot plus a
//! short tail of events instead of the whole stream.
//!
//! The domain state has no serialised form of its own (domain types do not derive `Serialize`), so a
//! snapshot is the shortest history that rebuilds the state: a handful of versioned wire events
//! (created, one item per line, address, placed, paid, ...), folded with the domain's own `evolve`.
//! It is only stored when folding it gives exactly the state it was taken from.

use aggregates::Cancellation;
use aggregates::Money;
use aggregates::Order;
use aggregates::OrderDetails;
use aggregates::OrderEvent;
use aggregates::OrderTotals;
use aggregates::Stage;
use serde::Deserialize;
use serde::Serialize;
use serde_json::Value;

/// Version of this snapshot format; a reader ignores snapshots of other versions.
pub(crate) const SNAPSHOT_SCHEMA_VERSION: i32 = 1;

/// A snapshot schema version that is never written, to load a stream without any snapshot.
pub(crate) const NO_SNAPSHOT: i32 = 0;

#[derive(Serialize, Deserialize)]
struct SnapshotV1 {
    events: Vec<schemas::order::OrderEvent>,
}

/// Why a stored snapshot could not be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SnapshotDecodeError {
    #[error("the snapshot is not a compact history: {0}")]
    Shape(#[from] serde_json::Error),
    #[error("an event of the snapshot is invalid: {0}")]
    Event(#[from] aggregates::wire::WireError),
}

/// The snapshot of `order`, or `None` when no compact history rebuilds it exactly.
pub(crate) fn encode(order: &Order) -> Option<Value> {
    let events = compact_history(order.details()?)?;
    if aggregates::replay(events.iter()) != *order {
        return None;
    }
    let snapshot = SnapshotV1 { events: events.iter().map(schemas::order::OrderEvent::from).collect() };
    serde_json::to_value(snapshot).ok()
}

/// Rebuilds the state a snapshot was taken from.
pub(crate) fn decode(state: &Value) -> Result<Order, SnapshotDecodeError> {
    let snapshot = SnapshotV1::deserialize(state)?;
    let events = snapshot.events.into_iter().map(OrderEvent::try_from).collect::<Result<Vec<_>, _>>()?;
    Ok(aggregates::replay(events.iter()))
}

/// Events that lead from nothing to `details`: the draft part, then one event per stage reached.
fn compact_history(details: &OrderDetails) -> Option<Vec<OrderEvent>> {
    let order_id = details.order_id();
    let customer_id = details.customer_id();
    let mut events = vec![OrderEvent::Created {
        order_id,
        customer_id,
        currency: details.currency(),
        occurred_at: details.created_at(),
    }];
    match details.placed_at() {
        None => {
            // Draft edits store no time of their own; they carry the time of the last change.
            let occurred_at = match details.stage() {
                Stage::Cancelled { cancellation } => cancellation.cancelled_at,
                _ => details.updated_at(),
            };
            let mut total = Money::zero(details.currency());
            let mut item_count = 0;
            for (index, line) in details.lines().iter().enumerate() {
                total = total.checked_add(Money::new(line.line_total(), details.currency()))?;
                item_count += line.quantity().get();
                events.push(OrderEvent::ItemAdded {
                    order_id,
                    line: line.clone(),
                    totals: OrderTotals { order_total: total, item_count, line_count: u32::try_from(index + 1).ok()? },
                    occurred_at,
                });
            }
            if let Some(address) = details.shipping_address() {
                events.push(OrderEvent::ShippingAddressSet { order_id, address: address.clone(), occurred_at });
            }
        }
        Some(placed_at) => events.push(OrderEvent::Placed {
            order_id,
            customer_id,
            lines: details.lines().to_vec(),
            totals: OrderTotals {
                order_total: details.total(),
                item_count: details.item_count(),
                line_count: u32::try_from(details.line_count()).ok()?,
            },
            shipping_address: details.shipping_address()?.clone(),
            occurred_at: placed_at,
        }),
    }
    stage_events(details, details.stage(), &mut events);
    Some(events)
}

/// The events that reach `stage` from the draft or placed order (pushed in order).
fn stage_events(details: &OrderDetails, stage: &Stage, events: &mut Vec<OrderEvent>) {
    let order_id = details.order_id();
    let customer_id = details.customer_id();
    let paid = |payment: &aggregates::Payment| OrderEvent::PaymentConfirmed {
        order_id,
        customer_id,
        amount: payment.amount,
        payment_reference: payment.reference.clone(),
        occurred_at: payment.paid_at,
    };
    let shipped = |shipment: &aggregates::Shipment| OrderEvent::Shipped {
        order_id,
        customer_id,
        carrier: shipment.carrier.clone(),
        tracking_number: shipment.tracking_number.clone(),
        occurred_at: shipment.shipped_at,
    };
    match stage {
        Stage::Draft | Stage::Placed => {}
        Stage::Paid { payment } => events.push(paid(payment)),
        Stage::Shipped { payment, shipment } => {
            events.push(paid(payment));
            events.push(shipped(shipment));
        }
        Stage::Delivered { payment, shipment, delivered_at } => {
            events.push(paid(payment));
            events.push(shipped(shipment));
            events.push(OrderEvent::Delivered { order_id, customer_id, occurred_at: *delivered_at });
        }
        Stage::Cancelled { cancellation } => {
            let Cancellation { reason, previous_status, payment, refund_due, cancelled_at } = cancellation;
            if let Some(payment) = payment {
                events.push(paid(payment));
            }
            events.push(OrderEvent::Cancelled {
                order_id,
                customer_id,
                reason: reason.clone(),
                previous_status: *previous_status,
                order_total: details.total(),
                refund_due: *refund_due,
                occurred_at: *cancelled_at,
            });
        }
        Stage::Refunded { refund, before } => {
            stage_events(details, before, events);
            events.push(OrderEvent::Refunded {
                order_id,
                customer_id,
                amount: refund.amount,
                reason: refund.reason.clone(),
                previous_status: before.status(),
                occurred_at: refund.refunded_at,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use aggregates::decide;
    use aggregates::evolve;
    use aggregates::OrderCommand;
    use aggregates::OrderId;
    use aggregates::OrderStatus;
    use chrono::DateTime;
    use chrono::Duration;
    use chrono::Utc;
    use schemas::order as wire;
    use uuid::Uuid;

    use super::*;

    struct History {
        order: Order,
        clock: DateTime<Utc>,
    }

    impl History {
        fn new() -> Self {
            Self { order: Order::NotCreated, clock: DateTime::from_timestamp(1_790_000_000, 0).expect("a time") }
        }

        fn tick(&mut self) -> DateTime<Utc> {
            self.clock += Duration::seconds(7);
            self.clock
        }

        fn run(mut self, build: impl FnOnce(DateTime<Utc>) -> OrderCommand) -> Self {
            let command = build(self.tick());
            let events = decide(&self.order, command).expect("the command is accepted");
            self.order = events.iter().fold(self.order, evolve);
            self
        }

        fn created() -> Self {
            let body = wire::CreateOrderV1 { order_id: None, customer_id: Uuid::now_v7(), currency: "EUR".into() };
            Self::new().run(|at| {
                aggregates::wire::create_order_command(&body, OrderId::new(Uuid::now_v7()), at).expect("valid")
            })
        }

        fn item(self, sku: &str, quantity: i64) -> Self {
            let body =
                wire::AddItemV1 { sku: sku.into(), name: format!("Product {sku}"), unit_price_minor: 1250, quantity };
            self.run(|at| aggregates::wire::add_item_command(&body, at).expect("valid"))
        }

        fn remove(self, sku: &str) -> Self {
            self.run(|at| aggregates::wire::remove_item_command(sku, &wire::RemoveItemV1 {}, at).expect("valid"))
        }

        fn address(self) -> Self {
            let body = wire::AddressV1 {
                recipient_name: "Ada Lovelace".into(),
                line1: "12 St James's Square".into(),
                line2: None,
                city: "London".into(),
                region: None,
                postal_code: "SW1Y 4JH".into(),
                country: "GB".into(),
            };
            self.run(|at| aggregates::wire::set_shipping_address_command(&body, at).expect("valid"))
        }

        fn placed(self) -> Self {
            self.item("A-1", 2).item("B-2", 1).address().run(|at| OrderCommand::Place { requested_at: at })
        }

        fn paid(self) -> Self {
            let total = self.order.details().expect("created").total();
            let body = wire::ConfirmPaymentV1 {
                amount_minor: total.minor_units(),
                currency: total.currency().to_string(),
                payment_reference: Some("psp-1".into()),
            };
            self.run(|at| aggregates::wire::confirm_payment_command(&body, at).expect("valid"))
        }

        fn shipped(self) -> Self {
            let body = wire::ShipOrderV1 { carrier: "DHL".into(), tracking_number: "JD0146".into() };
            self.run(|at| aggregates::wire::ship_order_command(&body, at).expect("valid"))
        }

        fn delivered(self) -> Self {
            self.run(|at| OrderCommand::ConfirmDelivery { requested_at: at })
        }

        fn cancelled(self) -> Self {
            let body = wire::CancelOrderV1 { reason: "changed my mind".into() };
            self.run(|at| aggregates::wire::cancel_order_command(&body, at).expect("valid"))
        }

        fn refunded(self) -> Self {
            let body = wire::RefundOrderV1 { amount_minor: None, reason: Some("returned".into()) };
            self.run(|at| aggregates::wire::refund_order_command(&body, at).expect("valid"))
        }
    }

    #[test]
    fn every_lifecycle_stage_survives_a_snapshot() {
        let histories = [
            History::created(),
            History::created().item("A-1", 3).item("B-2", 1).remove("A-1"),
            History::created().item("A-1", 3).address(),
            History::created().placed(),
            History::created().placed().paid(),
            History::created().placed().paid().shipped(),
            History::created().placed().paid().shipped().delivered(),
            History::created().placed().paid().shipped().delivered().refunded(),
            History::created().item("A-1", 1).cancelled(),
            History::created().placed().cancelled(),
            History::created().placed().paid().cancelled(),
            History::created().placed().paid().cancelled().refunded(),
        ];
        let mut statuses = Vec::new();
        for history in histories {
            let snapshot = encode(&history.order).expect("a compact history exists");
            let rebuilt = decode(&snapshot).expect("the snapshot decodes");
            assert_eq!(rebuilt, history.order);
            statuses.push(history.order.status().expect("created"));
        }
        for status in OrderStatus::ALL {
            assert!(statuses.contains(&status), "{status} is not covered");
        }
    }

    #[test]
    fn the_empty_state_has_no_snapshot() {
        assert!(encode(&Order::NotCreated).is_none());
    }
}
