//! The response bodies of the query API, shared by the handlers and the typed client.
//!
//! Amounts are integers in minor units of `currency`; times are RFC 3339 in UTC. These are the service's
//! own representations (read models), not event payloads, so they live here rather than in `schemas`.

use chrono::DateTime;
use chrono::NaiveDate;
use chrono::Utc;
use serde::Deserialize;
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

/// A postal address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Address {
    /// Person or company the parcel is addressed to.
    pub recipient_name: String,
    /// Street and number.
    pub line1: String,
    /// Apartment, floor, building.
    pub line2: Option<String>,
    /// City or town.
    pub city: String,
    /// State, province or county.
    pub region: Option<String>,
    /// Postal code.
    pub postal_code: String,
    /// ISO 3166-1 alpha-2 country code.
    pub country: String,
}

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OrderLine {
    /// Position of the line, from 1, in the order the lines were added.
    pub line_no: i32,
    /// Stock keeping unit, unique within the order.
    pub sku: String,
    /// Product name.
    pub name: String,
    /// Price of one unit, minor units.
    pub unit_price_minor: i64,
    /// Units.
    pub quantity: i32,
    /// `unit_price_minor * quantity`.
    pub line_total_minor: i64,
}

/// `GET /orders/{order_id}`: an order as the Postgres views hold it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Order {
    /// The order (also its stream id).
    pub order_id: Uuid,
    /// Its customer.
    pub customer_id: Uuid,
    /// `draft`, `placed`, `paid`, `shipped`, `delivered`, `cancelled` or `refunded`.
    pub status: String,
    /// ISO 4217 currency of every amount.
    pub currency: String,
    /// Sum of the quantities.
    pub item_count: i32,
    /// Number of lines.
    pub line_count: i32,
    /// Order total.
    pub total_minor: i64,
    /// Payments received.
    pub paid_minor: i64,
    /// Amount owed back to the customer after cancelling a paid order.
    pub refund_due_minor: i64,
    /// Amount paid back.
    pub refunded_minor: i64,
    /// Current lines, in the order they were added.
    pub lines: Vec<OrderLine>,
    /// Where the order goes, once an address was set.
    pub shipping_address: Option<Address>,
    /// Reference of the payment provider.
    pub payment_reference: Option<String>,
    /// Carrier name.
    pub carrier: Option<String>,
    /// Carrier tracking number.
    pub tracking_number: Option<String>,
    /// Why the order was cancelled.
    pub cancel_reason: Option<String>,
    /// Why money was paid back.
    pub refund_reason: Option<String>,
    /// When the draft was opened.
    pub created_at: DateTime<Utc>,
    /// When it was placed.
    pub placed_at: Option<DateTime<Utc>>,
    /// When payment was confirmed.
    pub paid_at: Option<DateTime<Utc>>,
    /// When it was shipped.
    pub shipped_at: Option<DateTime<Utc>>,
    /// When it was delivered.
    pub delivered_at: Option<DateTime<Utc>>,
    /// When it was cancelled.
    pub cancelled_at: Option<DateTime<Utc>>,
    /// When money was paid back.
    pub refunded_at: Option<DateTime<Utc>>,
    /// Time of the last event reflected.
    pub updated_at: DateTime<Utc>,
    /// Stream version reflected (also the `ETag`, and the `If-Match` of the command API).
    pub version: i64,
}

/// One order in a listing (no lines).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OrderSummary {
    /// The order.
    pub order_id: Uuid,
    /// Its customer.
    pub customer_id: Uuid,
    /// Lifecycle status.
    pub status: String,
    /// ISO 4217 currency.
    pub currency: String,
    /// Sum of the quantities.
    pub item_count: i32,
    /// Number of lines.
    pub line_count: i32,
    /// Order total.
    pub total_minor: i64,
    /// Payments received.
    pub paid_minor: i64,
    /// Amount paid back.
    pub refunded_minor: i64,
    /// City of the shipping address.
    pub city: Option<String>,
    /// Country of the shipping address.
    pub country: Option<String>,
    /// When the draft was opened (the sort key, with `order_id`).
    pub created_at: DateTime<Utc>,
    /// When it was placed.
    pub placed_at: Option<DateTime<Utc>>,
    /// Time of the last event reflected.
    pub updated_at: DateTime<Utc>,
    /// Stream version reflected.
    pub version: i64,
}

/// A page of orders, newest first (`created_at` descending, then `order_id` descending).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OrderPage {
    /// The orders of this page.
    pub items: Vec<OrderSummary>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
    /// The page size used.
    pub limit: u32,
}

/// Figures of one customer in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CurrencyFigures {
    /// ISO 4217 currency.
    pub currency: String,
    /// Orders placed.
    pub orders_placed: i64,
    /// Orders cancelled after being placed.
    pub orders_cancelled: i64,
    /// Payments received.
    pub paid_minor: i64,
    /// Amounts paid back.
    pub refunded_minor: i64,
    /// Paid minus refunded.
    pub lifetime_value_minor: i64,
    /// When the first order was placed.
    pub first_order_at: Option<DateTime<Utc>>,
    /// When the latest order was placed.
    pub last_order_at: Option<DateTime<Utc>>,
}

/// `GET /customers/{customer_id}`: the per-customer figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Customer {
    /// The customer.
    pub customer_id: Uuid,
    /// Orders of the customer in the views, drafts included.
    pub orders: i64,
    /// Figures per currency, from placing on (a customer with drafts only has none).
    pub figures: Vec<CurrencyFigures>,
}

/// Sales figures of one UTC day in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DailySales {
    /// The UTC day.
    pub date: NaiveDate,
    /// ISO 4217 currency.
    pub currency: String,
    /// Orders placed that day.
    pub orders_placed: i64,
    /// Sum of the totals of the orders placed that day.
    pub placed_value_minor: i64,
    /// Payments confirmed that day.
    pub payments: i64,
    /// Sum of the payments confirmed that day.
    pub revenue_minor: i64,
    /// Orders cancelled after placing, that day.
    pub orders_cancelled: i64,
    /// Sum of their totals.
    pub cancelled_value_minor: i64,
    /// Refunds made that day.
    pub refunds: i64,
    /// Sum of the refunds.
    pub refunded_minor: i64,
}

/// Sales figures of the whole range in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SalesTotals {
    /// ISO 4217 currency.
    pub currency: String,
    /// Orders placed.
    pub orders_placed: i64,
    /// Sum of the placed totals.
    pub placed_value_minor: i64,
    /// Payments confirmed.
    pub payments: i64,
    /// Sum of the payments.
    pub revenue_minor: i64,
    /// Orders cancelled after placing.
    pub orders_cancelled: i64,
    /// Sum of their totals.
    pub cancelled_value_minor: i64,
    /// Refunds made.
    pub refunds: i64,
    /// Sum of the refunds.
    pub refunded_minor: i64,
}

/// `GET /stats/daily`: daily sales per currency over an inclusive range of UTC days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SalesReport {
    /// First day (inclusive).
    pub from: NaiveDate,
    /// Last day (inclusive).
    pub to: NaiveDate,
    /// One entry per day and currency with any activity, by day then currency.
    pub days: Vec<DailySales>,
    /// Sums over the range, per currency.
    pub totals: Vec<SalesTotals>,
}

/// One line of an order in the search index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SearchItem {
    /// Stock keeping unit.
    pub sku: String,
    /// Product name.
    pub name: String,
    /// Units.
    pub quantity: i32,
    /// Price of one unit.
    pub unit_price_minor: i64,
    /// `unit_price_minor * quantity`.
    pub line_total_minor: i64,
}

/// One order found by a search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SearchHit {
    /// The order.
    pub order_id: Uuid,
    /// Its customer.
    pub customer_id: Uuid,
    /// Lifecycle status.
    pub status: String,
    /// ISO 4217 currency.
    pub currency: String,
    /// Order total.
    pub total_minor: i64,
    /// Sum of the quantities.
    pub item_count: i32,
    /// Number of lines.
    pub line_count: i32,
    /// Shipping recipient.
    pub recipient_name: Option<String>,
    /// City of the shipping address.
    pub city: Option<String>,
    /// Country of the shipping address.
    pub country: Option<String>,
    /// When the draft was opened.
    pub created_at: DateTime<Utc>,
    /// When it was placed.
    pub placed_at: Option<DateTime<Utc>>,
    /// Time of the last event reflected.
    pub updated_at: DateTime<Utc>,
    /// Stream version reflected.
    pub version: i64,
    /// The lines.
    pub items: Vec<SearchItem>,
    /// Relevance score (absent when sorted by time only).
    pub score: Option<f64>,
}

/// `GET /search/orders`: a page of search results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SearchPage {
    /// The hits of this page: by relevance when `q` is given, else newest first.
    pub items: Vec<SearchHit>,
    /// Pass as `cursor` (with the same parameters) to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
    /// Number of matching orders (a lower bound when `total_is_exact` is false).
    pub total: u64,
    /// Whether `total` is exact (counting stops at 10 000).
    pub total_is_exact: bool,
    /// The page size used.
    pub limit: u32,
}

/// Audit metadata of the command that produced an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EventMetadata {
    /// Who issued the command.
    pub actor: Option<String>,
    /// The command (also its idempotency key in the store).
    pub command_id: Uuid,
    /// Ties together everything one user action caused.
    pub correlation_id: String,
    /// The message that directly caused the command.
    pub causation_id: Option<String>,
    /// Anything else recorded (request path, method, idempotency key, ...).
    #[schema(value_type = Object)]
    pub extra: serde_json::Map<String, Value>,
}

/// One recorded event of an order, as the event store holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HistoryEvent {
    /// Version in the order's stream, from 1 without holes.
    pub version: i64,
    /// The event id.
    pub event_id: Uuid,
    /// Stable type string, for example `order.placed`.
    pub event_type: String,
    /// Schema version the payload was written at.
    pub schema_version: i32,
    /// When the event was recorded (the store's clock).
    pub recorded_at: DateTime<Utc>,
    /// When it happened, as stated by the command (`occurred_at` of the payload), if present.
    pub occurred_at: Option<DateTime<Utc>>,
    /// Position in the global log.
    pub global_position: i64,
    /// `<xid8>:<position>` of the event: a consistency token that covers it.
    pub consistency_token: String,
    /// The payload as stored (at its own schema version, not upcast).
    #[schema(value_type = Object)]
    pub payload: Value,
    /// Who, correlation and causation.
    pub metadata: EventMetadata,
    /// SHA-256 hash chain link of the event, hex.
    pub hash: String,
}

/// `GET /orders/{order_id}/history`: a page of an order's events in version order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct History {
    /// The order.
    pub order_id: Uuid,
    /// The events of this page.
    pub events: Vec<HistoryEvent>,
    /// Pass as `from_version` to get the next page; absent on the last page.
    pub next_from_version: Option<i64>,
    /// The page size used.
    pub limit: u32,
}

/// A line of an order state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StateLine {
    /// Stock keeping unit.
    pub sku: String,
    /// Product name.
    pub name: String,
    /// Price of one unit.
    pub unit_price_minor: i64,
    /// Units.
    pub quantity: u32,
    /// `unit_price_minor * quantity`.
    pub line_total_minor: i64,
}

/// The confirmed payment of an order state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatePayment {
    /// Amount received.
    pub amount_minor: i64,
    /// Reference of the payment provider.
    pub reference: Option<String>,
    /// When it was confirmed.
    pub paid_at: DateTime<Utc>,
}

/// The shipment of an order state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StateShipment {
    /// Carrier name.
    pub carrier: String,
    /// Tracking number.
    pub tracking_number: String,
    /// When it was handed over.
    pub shipped_at: DateTime<Utc>,
}

/// The cancellation of an order state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StateCancellation {
    /// Why.
    pub reason: String,
    /// Status just before: draft, placed or paid.
    pub previous_status: String,
    /// Amount that became owed back to the customer.
    pub refund_due_minor: Option<i64>,
    /// When.
    pub cancelled_at: DateTime<Utc>,
}

/// The refund of an order state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StateRefund {
    /// Amount paid back.
    pub amount_minor: i64,
    /// Why, when given.
    pub reason: Option<String>,
    /// When.
    pub refunded_at: DateTime<Utc>,
}

/// The domain state of an order, folded with `aggregates::apply` from its events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OrderState {
    /// The order.
    pub order_id: Uuid,
    /// Its customer.
    pub customer_id: Uuid,
    /// ISO 4217 currency.
    pub currency: String,
    /// Lifecycle status.
    pub status: String,
    /// Lines in the order they were added.
    pub lines: Vec<StateLine>,
    /// Order total.
    pub total_minor: i64,
    /// Sum of the quantities.
    pub item_count: u32,
    /// Number of lines.
    pub line_count: u32,
    /// The shipping address, once set.
    pub shipping_address: Option<Address>,
    /// When the draft was opened.
    pub created_at: DateTime<Utc>,
    /// Time of the latest event folded in.
    pub updated_at: DateTime<Utc>,
    /// When it was placed.
    pub placed_at: Option<DateTime<Utc>>,
    /// The payment, if paid (also after cancellation or refund).
    pub payment: Option<StatePayment>,
    /// The shipment, if shipped.
    pub shipment: Option<StateShipment>,
    /// When delivery was confirmed.
    pub delivered_at: Option<DateTime<Utc>>,
    /// The cancellation, if cancelled.
    pub cancellation: Option<StateCancellation>,
    /// The refund, if one was made.
    pub refund: Option<StateRefund>,
    /// Amount owed back right now.
    pub refund_due_minor: Option<i64>,
}

/// `GET /orders/{order_id}/as-of`: the state after replaying the events up to a version or a time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OrderAsOf {
    /// The order.
    pub order_id: Uuid,
    /// The last version folded in.
    pub version: i64,
    /// When that event was recorded.
    pub recorded_at: DateTime<Utc>,
    /// The order's latest version in the store (the state may be older).
    pub current_version: i64,
    /// The state.
    pub state: OrderState,
}
