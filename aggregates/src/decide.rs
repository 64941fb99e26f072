//! `decide`: the business rules. Given the current state and a command, it returns the events to record
//! or the rule that refuses the command. It is pure: no IO, no clock, no randomness.

use crate::command::CommandName;
use crate::command::OrderCommand;
use crate::error::OrderError;
use crate::event::OrderEvent;
use crate::event::OrderTotals;
use crate::state::Order;
use crate::state::OrderDetails;
use crate::state::OrderLine;
use crate::state::OrderStatus;
use crate::state::Stage;
use crate::state::MAX_LINES;
use crate::values::Money;

/// Decides what a command means for an order: the events to append, or the rule it breaks.
///
/// A refused command yields `Err` and no events. An accepted command that changes nothing
/// (setting a line to its current quantity, or the address to the current address) yields no events.
/// Every event returned can be folded with [`evolve`](crate::evolve) onto `order`.
pub fn decide(order: &Order, command: OrderCommand) -> Result<Vec<OrderEvent>, OrderError> {
    let order = match order {
        Order::NotCreated => return create(command),
        Order::Created(details) => details,
    };
    match command {
        OrderCommand::Create { .. } => Err(OrderError::AlreadyCreated),
        OrderCommand::AddItem { sku, name, unit_price, quantity, requested_at } => {
            require_draft(order, |status| OrderError::CannotAddItemWhenPlaced { status })?;
            if order.line(&sku).is_some() {
                return Err(OrderError::ItemAlreadyInOrder { sku });
            }
            if order.lines().len() >= MAX_LINES {
                return Err(OrderError::TooManyLines { max: MAX_LINES });
            }
            let line = OrderLine::new(sku, name, unit_price, quantity);
            let mut lines_after = order.lines().to_vec();
            lines_after.push(line.clone());
            Ok(vec![OrderEvent::ItemAdded {
                order_id: order.order_id(),
                line,
                totals: totals_of(order, &lines_after)?,
                occurred_at: requested_at,
            }])
        }
        OrderCommand::RemoveItem { sku, requested_at } => {
            require_draft(order, |status| OrderError::CannotRemoveItemWhenPlaced { status })?;
            let Some(line) = order.line(&sku).cloned() else {
                return Err(OrderError::ItemNotInOrder { sku });
            };
            let lines_after: Vec<OrderLine> =
                order.lines().iter().filter(|candidate| candidate.sku() != &sku).cloned().collect();
            Ok(vec![OrderEvent::ItemRemoved {
                order_id: order.order_id(),
                line,
                totals: totals_of(order, &lines_after)?,
                occurred_at: requested_at,
            }])
        }
        OrderCommand::ChangeItemQuantity { sku, quantity, requested_at } => {
            require_draft(order, |status| OrderError::CannotChangeQuantityWhenPlaced { status })?;
            let Some(current) = order.line(&sku) else {
                return Err(OrderError::ItemNotInOrder { sku });
            };
            if current.quantity() == quantity {
                return Ok(Vec::new());
            }
            let previous_quantity = current.quantity();
            let line = current.with_quantity(quantity);
            let lines_after: Vec<OrderLine> = order
                .lines()
                .iter()
                .map(|candidate| if candidate.sku() == &sku { line.clone() } else { candidate.clone() })
                .collect();
            Ok(vec![OrderEvent::ItemQuantityChanged {
                order_id: order.order_id(),
                line,
                previous_quantity,
                totals: totals_of(order, &lines_after)?,
                occurred_at: requested_at,
            }])
        }
        OrderCommand::SetShippingAddress { address, requested_at } => {
            require_draft(order, |status| OrderError::CannotSetAddressWhenPlaced { status })?;
            if order.shipping_address() == Some(&address) {
                return Ok(Vec::new());
            }
            Ok(vec![OrderEvent::ShippingAddressSet { order_id: order.order_id(), address, occurred_at: requested_at }])
        }
        OrderCommand::Place { requested_at } => {
            require_status(order, OrderStatus::Draft, CommandName::PlaceOrder)?;
            if order.lines().is_empty() {
                return Err(OrderError::CannotPlaceWithoutItems);
            }
            let Some(shipping_address) = order.shipping_address().cloned() else {
                return Err(OrderError::CannotPlaceWithoutAddress);
            };
            Ok(vec![OrderEvent::Placed {
                order_id: order.order_id(),
                customer_id: order.customer_id(),
                lines: order.lines().to_vec(),
                totals: totals_of(order, order.lines())?,
                shipping_address,
                occurred_at: requested_at,
            }])
        }
        OrderCommand::ConfirmPayment { amount, payment_reference, requested_at } => {
            require_status(order, OrderStatus::Placed, CommandName::ConfirmPayment)?;
            if amount != order.total() {
                return Err(OrderError::PaymentAmountMismatch { expected: order.total(), got: amount });
            }
            Ok(vec![OrderEvent::PaymentConfirmed {
                order_id: order.order_id(),
                customer_id: order.customer_id(),
                amount,
                payment_reference,
                occurred_at: requested_at,
            }])
        }
        OrderCommand::Ship { carrier, tracking_number, requested_at } => {
            require_status(order, OrderStatus::Paid, CommandName::ShipOrder)?;
            Ok(vec![OrderEvent::Shipped {
                order_id: order.order_id(),
                customer_id: order.customer_id(),
                carrier,
                tracking_number,
                occurred_at: requested_at,
            }])
        }
        OrderCommand::ConfirmDelivery { requested_at } => {
            require_status(order, OrderStatus::Shipped, CommandName::ConfirmDelivery)?;
            Ok(vec![OrderEvent::Delivered {
                order_id: order.order_id(),
                customer_id: order.customer_id(),
                occurred_at: requested_at,
            }])
        }
        OrderCommand::Cancel { reason, requested_at } => {
            let refund_due = match order.stage() {
                Stage::Draft | Stage::Placed => None,
                // A paid order owes the payment back; a free order that was "paid" 0 owes nothing.
                Stage::Paid { payment } => Some(payment.amount).filter(|paid| paid.minor_units() > 0),
                Stage::Shipped { .. } | Stage::Delivered { .. } => {
                    return Err(OrderError::CannotCancelAfterShipping { status: order.status() })
                }
                Stage::Cancelled { .. } | Stage::Refunded { .. } => {
                    return Err(OrderError::InvalidTransition {
                        from: order.status(),
                        command: CommandName::CancelOrder,
                    })
                }
            };
            Ok(vec![OrderEvent::Cancelled {
                order_id: order.order_id(),
                customer_id: order.customer_id(),
                reason,
                previous_status: order.status(),
                order_total: order.total(),
                refund_due,
                occurred_at: requested_at,
            }])
        }
        OrderCommand::Refund { amount, reason, requested_at } => {
            let requested = amount.map(|amount| Money::new(amount, order.currency()));
            let refund = match order.stage() {
                Stage::Cancelled { cancellation } => {
                    let Some(owed) = cancellation.refund_due else {
                        return Err(OrderError::NothingToRefund);
                    };
                    match requested {
                        Some(requested) if requested != owed => {
                            return Err(OrderError::RefundAmountMismatch { expected: owed, got: requested })
                        }
                        _ => owed,
                    }
                }
                Stage::Delivered { payment, .. } => {
                    let paid = payment.amount;
                    let refund = requested.unwrap_or(paid);
                    if refund.minor_units() > paid.minor_units() {
                        return Err(OrderError::RefundExceedsPayment { paid, requested: refund });
                    }
                    if refund.minor_units() == 0 {
                        return Err(OrderError::NothingToRefund);
                    }
                    refund
                }
                _ => {
                    return Err(OrderError::InvalidTransition {
                        from: order.status(),
                        command: CommandName::RefundOrder,
                    })
                }
            };
            Ok(vec![OrderEvent::Refunded {
                order_id: order.order_id(),
                customer_id: order.customer_id(),
                amount: refund,
                reason,
                previous_status: order.status(),
                occurred_at: requested_at,
            }])
        }
    }
}

/// The only command an order that does not exist yet accepts is `Create`.
fn create(command: OrderCommand) -> Result<Vec<OrderEvent>, OrderError> {
    match command {
        OrderCommand::Create { order_id, customer_id, currency, requested_at } => {
            Ok(vec![OrderEvent::Created { order_id, customer_id, currency, occurred_at: requested_at }])
        }
        _ => Err(OrderError::NotCreated),
    }
}

/// Refuses draft-only commands once the order has left draft, with the rule-specific error.
fn require_draft(order: &OrderDetails, refusal: impl FnOnce(OrderStatus) -> OrderError) -> Result<(), OrderError> {
    match order.status() {
        OrderStatus::Draft => Ok(()),
        status => Err(refusal(status)),
    }
}

/// Refuses a lifecycle command unless the order is in the one status it moves on from.
fn require_status(order: &OrderDetails, required: OrderStatus, command: CommandName) -> Result<(), OrderError> {
    if order.status() == required {
        Ok(())
    } else {
        Err(OrderError::InvalidTransition { from: order.status(), command })
    }
}

/// Totals of `lines` in the order's currency, failing only beyond the largest amount handled.
fn totals_of(order: &OrderDetails, lines: &[OrderLine]) -> Result<OrderTotals, OrderError> {
    let currency = order.currency();
    let order_total = lines
        .iter()
        .try_fold(Money::zero(currency), |sum, line| sum.checked_add(Money::new(line.line_total(), currency)))
        .ok_or(OrderError::TotalTooLarge)?;
    let item_count = lines.iter().map(|line| line.quantity().get()).sum();
    // At most MAX_LINES lines, so the count always fits.
    let line_count = u32::try_from(lines.len()).map_err(|_| OrderError::TooManyLines { max: MAX_LINES })?;
    Ok(OrderTotals { order_total, item_count, line_count })
}

#[cfg(test)]
mod tests;
