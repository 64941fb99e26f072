//! Audit reads from the event store, the log of record (never the views): an order's events with their
//! metadata, and its state "as of" a version or a time, rebuilt by folding the stored events (upcast by
//! `aggregates::wire::decode_event`) with `aggregates::apply`.

use aggregates::OrderDetails;
use chrono::DateTime;
use chrono::Utc;
use event_store::ReadError;
use event_store::RecordedEvent;
use event_store::MAX_READ_BATCH;
use uuid::Uuid;

use crate::error::database_error;
use crate::error::ApiError;
use crate::model::Address;
use crate::model::EventMetadata;
use crate::model::History;
use crate::model::HistoryEvent;
use crate::model::OrderAsOf;
use crate::model::OrderState;
use crate::model::StateCancellation;
use crate::model::StateLine;
use crate::model::StatePayment;
use crate::model::StateRefund;
use crate::model::StateShipment;
use crate::state::AppState;

/// Default page size of the history.
pub const DEFAULT_HISTORY_PAGE: u32 = 100;
/// Largest page size of the history.
pub const MAX_HISTORY_PAGE: u32 = 1_000;

/// Where to stop replaying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AsOf {
    /// Up to and including this stream version.
    Version(i64),
    /// Every event recorded at or before this time.
    Time(DateTime<Utc>),
}

fn read_error(error: ReadError, order_id: Uuid) -> ApiError {
    match error {
        ReadError::StreamNotFound { .. } => ApiError::OrderNotFound(order_id),
        ReadError::Database(error) => database_error(error, "reading the order's events"),
        other => ApiError::Internal(anyhow::Error::new(other).context("reading the order's events")),
    }
}

/// Reads one page of an order's stream, refusing streams that are not orders.
async fn read_page(
    state: &AppState,
    order_id: Uuid,
    from_version: i64,
    limit: i64,
) -> Result<Vec<RecordedEvent>, ApiError> {
    let events =
        state.store().read_stream(order_id, from_version, limit).await.map_err(|error| read_error(error, order_id))?;
    if events.first().is_some_and(|event| event.stream_type != schemas::ORDER_STREAM_TYPE) {
        return Err(ApiError::OrderNotFound(order_id));
    }
    Ok(events)
}

/// One page of an order's events from `from_version`, in version order.
pub(crate) async fn history(
    state: &AppState,
    order_id: Uuid,
    from_version: i64,
    limit: u32,
) -> Result<History, ApiError> {
    // One more than asked tells whether there is a next page.
    let mut events = read_page(state, order_id, from_version, i64::from(limit) + 1).await?;
    let has_more = events.len() > limit as usize;
    events.truncate(limit as usize);
    let next_from_version = if has_more { events.last().map(|event| event.version + 1) } else { None };
    Ok(History { order_id, events: events.into_iter().map(history_event).collect(), next_from_version, limit })
}

fn history_event(event: RecordedEvent) -> HistoryEvent {
    let occurred_at = event
        .payload
        .get("occurred_at")
        .and_then(|value| value.as_str())
        .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
        .map(|timestamp| timestamp.with_timezone(&Utc));
    HistoryEvent {
        version: event.version,
        event_id: event.event_id,
        consistency_token: event.log_position().to_string(),
        event_type: event.event_type,
        schema_version: event.schema_version,
        recorded_at: event.recorded_at,
        occurred_at,
        global_position: event.global_position,
        hash: hex::encode(event.hash),
        payload: event.payload,
        metadata: EventMetadata {
            actor: event.metadata.actor,
            command_id: event.metadata.command_id,
            correlation_id: event.metadata.correlation_id,
            causation_id: event.metadata.causation_id,
            extra: event.metadata.extra,
        },
    }
}

/// The order's state after the events up to `as_of`, folded with the domain's `apply`.
pub(crate) async fn as_of(state: &AppState, order_id: Uuid, as_of: AsOf) -> Result<OrderAsOf, ApiError> {
    let current_version = state.store().stream_version(order_id).await.map_err(|error| read_error(error, order_id))?;
    if current_version == 0 {
        return Err(ApiError::OrderNotFound(order_id));
    }
    let last_wanted = match as_of {
        AsOf::Version(version) if version > current_version => {
            return Err(ApiError::OrderVersionNotFound(format!(
                "order {order_id} is at version {current_version}; there is no version {version} yet"
            )));
        }
        AsOf::Version(version) => version,
        AsOf::Time(_) => current_version,
    };
    let mut order = aggregates::Order::NotCreated;
    let mut reached: Option<(i64, DateTime<Utc>)> = None;
    let mut next = 1;
    'pages: while next <= last_wanted {
        let limit = (last_wanted - next + 1).min(MAX_READ_BATCH);
        let page = read_page(state, order_id, next, limit).await?;
        let Some(last) = page.last() else { break };
        next = last.version + 1;
        for event in page {
            if event.version > last_wanted {
                break 'pages;
            }
            if let AsOf::Time(at) = as_of {
                if event.recorded_at > at {
                    break 'pages;
                }
            }
            let schema_version = u32::try_from(event.schema_version).unwrap_or(0);
            let decoded =
                aggregates::wire::decode_event(&event.event_type, schema_version, event.payload).map_err(|error| {
                    ApiError::Internal(anyhow::Error::new(error).context(format!(
                        "decoding event {} (version {}) of order {order_id}",
                        event.event_id, event.version
                    )))
                })?;
            order = aggregates::apply(order, &decoded);
            reached = Some((event.version, event.recorded_at));
        }
    }
    let (Some((version, recorded_at)), Some(details)) = (reached, order.details()) else {
        return Err(match as_of {
            AsOf::Time(at) => {
                ApiError::OrderVersionNotFound(format!("order {order_id} did not exist yet at {}", at.to_rfc3339()))
            }
            AsOf::Version(_) => ApiError::OrderNotFound(order_id),
        });
    };
    Ok(OrderAsOf { order_id, version, recorded_at, current_version, state: OrderState::from(details) })
}

impl From<&OrderDetails> for OrderState {
    fn from(details: &OrderDetails) -> Self {
        Self {
            order_id: details.order_id().as_uuid(),
            customer_id: details.customer_id().as_uuid(),
            currency: details.currency().to_string(),
            status: details.status().as_str().to_owned(),
            lines: details
                .lines()
                .iter()
                .map(|line| StateLine {
                    sku: line.sku().to_string(),
                    name: line.name().to_string(),
                    unit_price_minor: line.unit_price().minor_units(),
                    quantity: line.quantity().get(),
                    line_total_minor: line.line_total().minor_units(),
                })
                .collect(),
            total_minor: details.total().minor_units(),
            item_count: details.item_count(),
            line_count: u32::try_from(details.line_count()).unwrap_or(u32::MAX),
            shipping_address: details.shipping_address().map(|address| Address {
                recipient_name: address.recipient_name.to_string(),
                line1: address.line1.to_string(),
                line2: address.line2.as_ref().map(ToString::to_string),
                city: address.city.to_string(),
                region: address.region.as_ref().map(ToString::to_string),
                postal_code: address.postal_code.to_string(),
                country: address.country.to_string(),
            }),
            created_at: details.created_at(),
            updated_at: details.updated_at(),
            placed_at: details.placed_at(),
            payment: details.payment().map(|payment| StatePayment {
                amount_minor: payment.amount.minor_units(),
                reference: payment.reference.as_ref().map(ToString::to_string),
                paid_at: payment.paid_at,
            }),
            shipment: details.shipment().map(|shipment| StateShipment {
                carrier: shipment.carrier.to_string(),
                tracking_number: shipment.tracking_number.to_string(),
                shipped_at: shipment.shipped_at,
            }),
            delivered_at: details.delivered_at(),
            cancellation: details.cancellation().map(|cancellation| StateCancellation {
                reason: cancellation.reason.to_string(),
                previous_status: cancellation.previous_status.as_str().to_owned(),
                refund_due_minor: cancellation.refund_due.map(|money| money.minor_units()),
                cancelled_at: cancellation.cancelled_at,
            }),
            refund: details.refund().map(|refund| StateRefund {
                amount_minor: refund.amount.minor_units(),
                reason: refund.reason.as_ref().map(ToString::to_string),
                refunded_at: refund.refunded_at,
            }),
            refund_due_minor: details.refund_due().map(|money| money.minor_units()),
        }
    }
}
