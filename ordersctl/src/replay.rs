//! `replay`: the audit trail of one order (time, version, event, actor, correlation id and a one-line
//! summary per event), or with `--as-of` the order's state at a version or recorded time, folded with the
//! domain's own `evolve` from the decoded events. Everything comes from the event store, never from a view.

use aggregates::wire::decode_event;
use aggregates::{Money, Order, OrderEvent, OrderLine};
use event_store::{RecordedEvent, MAX_READ_BATCH};
use serde::Serialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::cli::{AsOf, ReplayArgs};
use crate::context::Context;
use crate::error::Error;
use crate::output::{Align, Output, Table};
use crate::Outcome;

/// One line of the trail, as printed with `--json` (one JSON object per line).
#[derive(Debug, Clone, Serialize)]
struct TrailLine {
    recorded_at: chrono::DateTime<chrono::Utc>,
    occurred_at: Option<chrono::DateTime<chrono::Utc>>,
    version: i64,
    event_type: String,
    schema_version: i32,
    actor: Option<String>,
    correlation_id: String,
    causation_id: Option<String>,
    command_id: Uuid,
    summary: String,
    log_position: String,
    event_id: Uuid,
    hash: String,
    payload: Value,
}

pub(crate) async fn run(context: &Context, output: &Output, args: &ReplayArgs) -> Result<Outcome, Error> {
    let events = read_whole_stream(context, args.order_id).await?;
    match args.as_of {
        None => print_trail(output, &events),
        Some(as_of) => print_state(output, args.order_id, &events, as_of),
    }
}

async fn read_whole_stream(context: &Context, order_id: Uuid) -> Result<Vec<RecordedEvent>, Error> {
    let mut events = Vec::new();
    loop {
        let from_version = events.last().map_or(1, |event: &RecordedEvent| event.version + 1);
        let page = match context.store.read_stream(order_id, from_version, MAX_READ_BATCH).await {
            Ok(page) => page,
            Err(event_store::ReadError::StreamNotFound { .. }) => return Err(Error::OrderNotFound(order_id)),
            Err(error) => return Err(error.into()),
        };
        let full = page.len() as i64 == MAX_READ_BATCH;
        events.extend(page);
        if !full {
            return Ok(events);
        }
    }
}

fn decode(event: &RecordedEvent) -> Result<OrderEvent, String> {
    let schema_version = u32::try_from(event.schema_version).map_err(|_| "negative schema version".to_owned())?;
    decode_event(&event.event_type, schema_version, event.payload.clone()).map_err(|error| error.to_string())
}

fn print_trail(output: &Output, events: &[RecordedEvent]) -> Result<Outcome, Error> {
    let mut undecodable = 0;
    let mut table = Table::new(&[
        ("TIME (UTC)", Align::Left),
        ("VER", Align::Right),
        ("EVENT", Align::Left),
        ("ACTOR", Align::Left),
        ("CORRELATION", Align::Left),
        ("SUMMARY", Align::Left),
    ]);
    let mut stdout = std::io::stdout().lock();
    for event in events {
        let decoded = decode(event);
        let summary = match &decoded {
            Ok(domain_event) => summarize(domain_event),
            Err(error) => {
                undecodable += 1;
                format!("cannot be read: {error}")
            }
        };
        if output.is_json() {
            let line = TrailLine {
                recorded_at: event.recorded_at,
                occurred_at: decoded.as_ref().ok().map(OrderEvent::occurred_at),
                version: event.version,
                event_type: event.event_type.clone(),
                schema_version: event.schema_version,
                actor: event.metadata.actor.clone(),
                correlation_id: event.metadata.correlation_id.clone(),
                causation_id: event.metadata.causation_id.clone(),
                command_id: event.metadata.command_id,
                summary,
                log_position: event.log_position().to_string(),
                event_id: event.event_id,
                hash: hex::encode(event.hash),
                payload: event.payload.clone(),
            };
            serde_json::to_writer(&mut stdout, &line)?;
            std::io::Write::write_all(&mut stdout, b"\n")?;
        } else {
            let summary = if decoded.is_ok() { summary } else { output.bad(&summary) };
            table.push(vec![
                event.recorded_at.format("%Y-%m-%d %H:%M:%S%.3f").to_string(),
                event.version.to_string(),
                event.event_type.clone(),
                event.metadata.actor.clone().unwrap_or_else(|| output.dim("-")),
                event.metadata.correlation_id.clone(),
                summary,
            ]);
        }
    }
    if !output.is_json() {
        output.print_table(&table);
    }
    Ok(if undecodable > 0 { Outcome::ProblemsFound } else { Outcome::Clean })
}

fn print_state(output: &Output, order_id: Uuid, events: &[RecordedEvent], as_of: AsOf) -> Result<Outcome, Error> {
    let included: Vec<&RecordedEvent> = events
        .iter()
        .take_while(|event| match as_of {
            AsOf::Version(version) => event.version <= version,
            AsOf::Time(time) => event.recorded_at <= time,
        })
        .collect();
    let mut decoded = Vec::with_capacity(included.len());
    for event in &included {
        match decode(event) {
            Ok(domain_event) => decoded.push(domain_event),
            Err(error) => {
                return Err(Error::Usage(format!(
                    "version {} of order {order_id} ({}) cannot be read, so no state can be folded past it: {error}",
                    event.version, event.event_type
                )))
            }
        }
    }
    let state = aggregates::replay(decoded.iter());
    let version = included.last().map_or(0, |event| event.version);
    let recorded_at = included.last().map(|event| event.recorded_at);
    let mut document = state_json(&state);
    document["version"] = json!(version);
    document["latest_version"] = json!(events.last().map_or(0, |event| event.version));
    document["recorded_at"] = json!(recorded_at);
    if output.is_json() {
        output.print_json(&document)?;
        return Ok(Outcome::Clean);
    }
    let latest = events.last().map_or(0, |event| event.version);
    output.line(format!(
        "{} {order_id} as of version {version} of {latest}{}",
        output.bold("order"),
        recorded_at
            .map_or_else(String::new, |time| format!(" (recorded {})", time.format("%Y-%m-%d %H:%M:%S%.3f UTC")))
    ));
    let Some(details) = state.details() else {
        output.line("no events up to that point: the order did not exist yet");
        return Ok(Outcome::Clean);
    };
    let mut fields = vec![
        ("status", details.status().to_string()),
        ("customer", details.customer_id().to_string()),
        ("total", money(details.total())),
        ("items", format!("{} in {} lines", details.item_count(), details.line_count())),
        ("created", details.created_at().to_rfc3339()),
        ("updated", details.updated_at().to_rfc3339()),
    ];
    if let Some(placed_at) = details.placed_at() {
        fields.push(("placed", placed_at.to_rfc3339()));
    }
    if let Some(address) = details.shipping_address() {
        fields.push((
            "ship to",
            format!(
                "{}, {}, {} {}, {}",
                address.recipient_name, address.line1, address.postal_code, address.city, address.country
            ),
        ));
    }
    if let Some(payment) = details.payment() {
        fields.push(("payment", format!("{} at {}", money(payment.amount), payment.paid_at.to_rfc3339())));
    }
    if let Some(shipment) = details.shipment() {
        fields.push((
            "shipment",
            format!("{} {} at {}", shipment.carrier, shipment.tracking_number, shipment.shipped_at.to_rfc3339()),
        ));
    }
    if let Some(delivered_at) = details.delivered_at() {
        fields.push(("delivered", delivered_at.to_rfc3339()));
    }
    if let Some(cancellation) = details.cancellation() {
        fields.push((
            "cancelled",
            format!(
                "{} ({}) at {}",
                cancellation.reason,
                cancellation.previous_status,
                cancellation.cancelled_at.to_rfc3339()
            ),
        ));
    }
    if let Some(refund_due) = details.refund_due() {
        fields.push(("refund due", money(refund_due)));
    }
    if let Some(refund) = details.refund() {
        fields.push(("refunded", format!("{} at {}", money(refund.amount), refund.refunded_at.to_rfc3339())));
    }
    output.print_fields(&fields);
    if !details.lines().is_empty() {
        output.line("");
        let mut lines = Table::new(&[
            ("SKU", Align::Left),
            ("NAME", Align::Left),
            ("QTY", Align::Right),
            ("UNIT PRICE", Align::Right),
            ("LINE TOTAL", Align::Right),
        ]);
        for line in details.lines() {
            lines.push(vec![
                line.sku().to_string(),
                line.name().to_string(),
                line.quantity().to_string(),
                minor(line.unit_price().minor_units()),
                minor(line.line_total().minor_units()),
            ]);
        }
        output.print_table(&lines);
    }
    Ok(Outcome::Clean)
}

/// The state as JSON (the CLI's own rendering; the domain types deliberately have no serde).
fn state_json(state: &Order) -> Value {
    let Some(details) = state.details() else { return json!({ "exists": false }) };
    let line_json = |line: &OrderLine| {
        json!({
            "sku": line.sku().as_str(),
            "name": line.name().as_str(),
            "quantity": line.quantity().get(),
            "unit_price_minor": line.unit_price().minor_units(),
            "line_total_minor": line.line_total().minor_units(),
        })
    };
    json!({
        "exists": true,
        "order_id": details.order_id().to_string(),
        "customer_id": details.customer_id().to_string(),
        "status": details.status().as_str(),
        "currency": details.currency().as_str(),
        "total_minor": details.total().minor_units(),
        "item_count": details.item_count(),
        "line_count": details.line_count(),
        "lines": details.lines().iter().map(line_json).collect::<Vec<_>>(),
        "shipping_address": details.shipping_address().map(|address| json!({
            "recipient_name": address.recipient_name.as_str(),
            "line1": address.line1.as_str(),
            "line2": address.line2.as_ref().map(|line| line.as_str()),
            "city": address.city.as_str(),
            "region": address.region.as_ref().map(|region| region.as_str()),
            "postal_code": address.postal_code.as_str(),
            "country": address.country.to_string(),
        })),
        "created_at": details.created_at(),
        "updated_at": details.updated_at(),
        "placed_at": details.placed_at(),
        "paid_minor": details.payment().map(|payment| payment.amount.minor_units()),
        "paid_at": details.payment().map(|payment| payment.paid_at),
        "carrier": details.shipment().map(|shipment| shipment.carrier.to_string()),
        "tracking_number": details.shipment().map(|shipment| shipment.tracking_number.to_string()),
        "delivered_at": details.delivered_at(),
        "cancel_reason": details.cancellation().map(|cancellation| cancellation.reason.to_string()),
        "cancelled_at": details.cancellation().map(|cancellation| cancellation.cancelled_at),
        "refund_due_minor": details.refund_due().map(|due| due.minor_units()),
        "refunded_minor": details.refund().map(|refund| refund.amount.minor_units()),
        "refunded_at": details.refund().map(|refund| refund.refunded_at),
    })
}

/// Minor units as a decimal with two places: `1250` → `12.50`.
fn minor(minor_units: i64) -> String {
    let sign = if minor_units < 0 { "-" } else { "" };
    let magnitude = minor_units.unsigned_abs();
    format!("{sign}{}.{:02}", magnitude / 100, magnitude % 100)
}

fn money(amount: Money) -> String {
    format!("{} {}", minor(amount.minor_units()), amount.currency())
}

/// One line that says what the event did, in the words of the business.
fn summarize(event: &OrderEvent) -> String {
    match event {
        OrderEvent::Created { customer_id, currency, .. } => {
            format!("draft opened for customer {customer_id} in {currency}")
        }
        OrderEvent::ItemAdded { line, totals, .. } => format!(
            "added {} × {} \"{}\" at {}, total {}",
            line.quantity(),
            line.sku(),
            line.name(),
            minor(line.unit_price().minor_units()),
            money(totals.order_total)
        ),
        OrderEvent::ItemRemoved { line, totals, .. } => {
            format!("removed {} \"{}\", total {}", line.sku(), line.name(), money(totals.order_total))
        }
        OrderEvent::ItemQuantityChanged { line, previous_quantity, totals, .. } => format!(
            "{} quantity {} → {}, total {}",
            line.sku(),
            previous_quantity,
            line.quantity(),
            money(totals.order_total)
        ),
        OrderEvent::ShippingAddressSet { address, .. } => {
            format!("ship to {}, {} {}, {}", address.recipient_name, address.postal_code, address.city, address.country)
        }
        OrderEvent::Placed { totals, .. } => format!(
            "placed: {} lines, {} items, total {}",
            totals.line_count,
            totals.item_count,
            money(totals.order_total)
        ),
        OrderEvent::PaymentConfirmed { amount, payment_reference, .. } => match payment_reference {
            Some(reference) => format!("payment of {} confirmed (reference {reference})", money(*amount)),
            None => format!("payment of {} confirmed", money(*amount)),
        },
        OrderEvent::Shipped { carrier, tracking_number, .. } => {
            format!("shipped with {carrier}, tracking {tracking_number}")
        }
        OrderEvent::Delivered { .. } => "delivered".to_owned(),
        OrderEvent::Cancelled { reason, previous_status, refund_due, .. } => match refund_due {
            Some(due) => format!("cancelled while {previous_status}: {reason}; refund due {}", money(*due)),
            None => format!("cancelled while {previous_status}: {reason}"),
        },
        OrderEvent::Refunded { amount, reason, .. } => match reason {
            Some(reason) => format!("refunded {}: {reason}", money(*amount)),
            None => format!("refunded {}", money(*amount)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minor_units_print_with_two_decimals() {
        assert_eq!(minor(0), "0.00");
        assert_eq!(minor(5), "0.05");
        assert_eq!(minor(1250), "12.50");
        assert_eq!(minor(-1250), "-12.50");
    }

    #[test]
    fn the_empty_state_says_the_order_did_not_exist() {
        assert_eq!(state_json(&Order::NotCreated), json!({ "exists": false }));
    }
}
