//! Reads of the Postgres read views (schema `projections`, owned by the projections crate): one order with
//! its lines, filtered listings with keyset pagination, customer figures and daily sales.
//!
//! Only `SELECT`s live here. Filters are bound parameters; the SQL text depends only on which filters are
//! present, so each combination gets its own prepared statement and plan.

use chrono::DateTime;
use chrono::NaiveDate;
use chrono::Utc;
use sqlx::types::Json;
use sqlx::PgPool;
use sqlx::Postgres;
use sqlx::QueryBuilder;
use uuid::Uuid;

use crate::cursor::ListCursor;
use crate::error::database_error;
use crate::error::ApiError;
use crate::model::Address;
use crate::model::CurrencyFigures;
use crate::model::Customer;
use crate::model::DailySales;
use crate::model::Order;
use crate::model::OrderLine;
use crate::model::OrderPage;
use crate::model::OrderSummary;

/// A row of `projections.order_summary` with the order's lines aggregated as JSON.
#[derive(sqlx::FromRow)]
struct OrderRow {
    order_id: Uuid,
    customer_id: Uuid,
    status: String,
    currency: String,
    item_count: i32,
    line_count: i32,
    total_minor: i64,
    paid_minor: i64,
    refund_due_minor: i64,
    refunded_minor: i64,
    recipient_name: Option<String>,
    address_line1: Option<String>,
    address_line2: Option<String>,
    city: Option<String>,
    region: Option<String>,
    postal_code: Option<String>,
    country: Option<String>,
    payment_reference: Option<String>,
    carrier: Option<String>,
    tracking_number: Option<String>,
    cancel_reason: Option<String>,
    refund_reason: Option<String>,
    created_at: DateTime<Utc>,
    placed_at: Option<DateTime<Utc>>,
    paid_at: Option<DateTime<Utc>>,
    shipped_at: Option<DateTime<Utc>>,
    delivered_at: Option<DateTime<Utc>>,
    cancelled_at: Option<DateTime<Utc>>,
    refunded_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
    version: i64,
    lines: Json<Vec<OrderLine>>,
}

impl From<OrderRow> for Order {
    fn from(row: OrderRow) -> Self {
        let shipping_address = match (row.recipient_name, row.address_line1, row.city, row.postal_code, row.country) {
            (Some(recipient_name), Some(line1), Some(city), Some(postal_code), Some(country)) => Some(Address {
                recipient_name,
                line1,
                line2: row.address_line2,
                city,
                region: row.region,
                postal_code,
                country,
            }),
            _ => None,
        };
        Self {
            order_id: row.order_id,
            customer_id: row.customer_id,
            status: row.status,
            currency: row.currency,
            item_count: row.item_count,
            line_count: row.line_count,
            total_minor: row.total_minor,
            paid_minor: row.paid_minor,
            refund_due_minor: row.refund_due_minor,
            refunded_minor: row.refunded_minor,
            lines: row.lines.0,
            shipping_address,
            payment_reference: row.payment_reference,
            carrier: row.carrier,
            tracking_number: row.tracking_number,
            cancel_reason: row.cancel_reason,
            refund_reason: row.refund_reason,
            created_at: row.created_at,
            placed_at: row.placed_at,
            paid_at: row.paid_at,
            shipped_at: row.shipped_at,
            delivered_at: row.delivered_at,
            cancelled_at: row.cancelled_at,
            refunded_at: row.refunded_at,
            updated_at: row.updated_at,
            version: row.version,
        }
    }
}

const ORDER_SQL: &str = "SELECT s.order_id, s.customer_id, s.status, s.currency, s.item_count, s.line_count, \
       s.total_minor, s.paid_minor, s.refund_due_minor, s.refunded_minor, s.recipient_name, s.address_line1, \
       s.address_line2, s.city, s.region, s.postal_code, s.country, s.payment_reference, s.carrier, \
       s.tracking_number, s.cancel_reason, s.refund_reason, s.created_at, s.placed_at, s.paid_at, s.shipped_at, \
       s.delivered_at, s.cancelled_at, s.refunded_at, s.updated_at, s.version, \
       COALESCE((SELECT json_agg(json_build_object('line_no', l.line_no, 'sku', l.sku, 'name', l.name, \
                   'unit_price_minor', l.unit_price_minor, 'quantity', l.quantity, \
                   'line_total_minor', l.line_total_minor) ORDER BY l.line_no) \
                 FROM projections.order_lines l WHERE l.order_id = s.order_id), '[]'::json) AS lines \
     FROM projections.order_summary s WHERE s.order_id = $1";

/// One order with its lines (one statement, so the summary and the lines come from one snapshot).
pub(crate) async fn order(pool: &PgPool, order_id: Uuid) -> Result<Option<Order>, ApiError> {
    let row: Option<OrderRow> = sqlx::query_as(ORDER_SQL)
        .bind(order_id)
        .fetch_optional(pool)
        .await
        .map_err(|error| database_error(error, "reading the order view"))?;
    Ok(row.map(Order::from))
}

/// The filters of `GET /orders` (and `GET /customers/{customer_id}/orders`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct OrderFilter {
    pub(crate) statuses: Option<Vec<String>>,
    pub(crate) customer_id: Option<Uuid>,
    pub(crate) placed_from: Option<DateTime<Utc>>,
    pub(crate) placed_to: Option<DateTime<Utc>>,
    pub(crate) currency: Option<String>,
}

#[derive(sqlx::FromRow)]
struct SummaryRow {
    order_id: Uuid,
    customer_id: Uuid,
    status: String,
    currency: String,
    item_count: i32,
    line_count: i32,
    total_minor: i64,
    paid_minor: i64,
    refunded_minor: i64,
    city: Option<String>,
    country: Option<String>,
    created_at: DateTime<Utc>,
    placed_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
    version: i64,
}

impl From<SummaryRow> for OrderSummary {
    fn from(row: SummaryRow) -> Self {
        Self {
            order_id: row.order_id,
            customer_id: row.customer_id,
            status: row.status,
            currency: row.currency,
            item_count: row.item_count,
            line_count: row.line_count,
            total_minor: row.total_minor,
            paid_minor: row.paid_minor,
            refunded_minor: row.refunded_minor,
            city: row.city,
            country: row.country,
            created_at: row.created_at,
            placed_at: row.placed_at,
            updated_at: row.updated_at,
            version: row.version,
        }
    }
}

/// One page of orders matching `filter`, newest first, after `cursor`.
///
/// The sort key `(created_at, order_id)` never changes for an order, so paging forward neither repeats
/// nor skips an order that existed when the first page was read, however many orders arrive meanwhile.
pub(crate) async fn list_orders(
    pool: &PgPool,
    filter: &OrderFilter,
    cursor: Option<ListCursor>,
    limit: u32,
) -> Result<OrderPage, ApiError> {
    let mut query: QueryBuilder<'_, Postgres> = QueryBuilder::new(
        "SELECT order_id, customer_id, status, currency, item_count, line_count, total_minor, paid_minor, \
         refunded_minor, city, country, created_at, placed_at, updated_at, version \
         FROM projections.order_summary WHERE true",
    );
    if let Some(statuses) = &filter.statuses {
        query.push(" AND status = ANY(").push_bind(statuses.clone()).push(")");
    }
    if let Some(customer_id) = filter.customer_id {
        query.push(" AND customer_id = ").push_bind(customer_id);
    }
    if let Some(placed_from) = filter.placed_from {
        query.push(" AND placed_at >= ").push_bind(placed_from);
    }
    if let Some(placed_to) = filter.placed_to {
        query.push(" AND placed_at < ").push_bind(placed_to);
    }
    if let Some(currency) = &filter.currency {
        query.push(" AND currency = ").push_bind(currency.clone());
    }
    if let Some(cursor) = cursor {
        query
            .push(" AND (created_at, order_id) < (")
            .push_bind(cursor.created_at)
            .push(", ")
            .push_bind(cursor.order_id)
            .push(")");
    }
    query.push(" ORDER BY created_at DESC, order_id DESC LIMIT ").push_bind(i64::from(limit) + 1);
    let mut rows: Vec<SummaryRow> = query
        .build_query_as()
        .fetch_all(pool)
        .await
        .map_err(|error| database_error(error, "listing the order views"))?;
    let has_more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_cursor = if has_more {
        rows.last().map(|last| ListCursor { created_at: last.created_at, order_id: last.order_id }.encode())
    } else {
        None
    };
    Ok(OrderPage { items: rows.into_iter().map(OrderSummary::from).collect(), next_cursor, limit })
}

#[derive(sqlx::FromRow)]
struct CustomerRow {
    orders: i64,
    figures: Json<Vec<CurrencyFigures>>,
}

/// The figures of a customer, or `None` when no order of the customer is known.
pub(crate) async fn customer(pool: &PgPool, customer_id: Uuid) -> Result<Option<Customer>, ApiError> {
    let row: CustomerRow = sqlx::query_as(
        "SELECT (SELECT count(*) FROM projections.order_summary WHERE customer_id = $1) AS orders, \
                COALESCE((SELECT json_agg(json_build_object('currency', f.currency, \
                    'orders_placed', f.orders_placed, 'orders_cancelled', f.orders_cancelled, \
                    'paid_minor', f.paid_minor, 'refunded_minor', f.refunded_minor, \
                    'lifetime_value_minor', f.lifetime_value_minor, \
                    'first_order_at', f.first_order_at, 'last_order_at', f.last_order_at) ORDER BY f.currency) \
                  FROM projections.customer_figures f WHERE f.customer_id = $1), '[]'::json) AS figures",
    )
    .bind(customer_id)
    .fetch_one(pool)
    .await
    .map_err(|error| database_error(error, "reading the customer figures"))?;
    if row.orders == 0 && row.figures.0.is_empty() {
        return Ok(None);
    }
    Ok(Some(Customer { customer_id, orders: row.orders, figures: row.figures.0 }))
}

#[derive(sqlx::FromRow)]
struct DailyRow {
    sales_date: NaiveDate,
    currency: String,
    orders_placed: i64,
    placed_value_minor: i64,
    payments: i64,
    revenue_minor: i64,
    orders_cancelled: i64,
    cancelled_value_minor: i64,
    refunds: i64,
    refunded_minor: i64,
}

/// Daily sales of the UTC days `from..=to`, by day then currency.
pub(crate) async fn daily_sales(pool: &PgPool, from: NaiveDate, to: NaiveDate) -> Result<Vec<DailySales>, ApiError> {
    let rows: Vec<DailyRow> = sqlx::query_as(
        "SELECT sales_date, currency, orders_placed, placed_value_minor, payments, revenue_minor, \
                orders_cancelled, cancelled_value_minor, refunds, refunded_minor \
         FROM projections.daily_sales WHERE sales_date BETWEEN $1 AND $2 ORDER BY sales_date, currency",
    )
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
    .map_err(|error| database_error(error, "reading the daily sales"))?;
    Ok(rows
        .into_iter()
        .map(|row| DailySales {
            date: row.sales_date,
            currency: row.currency,
            orders_placed: row.orders_placed,
            placed_value_minor: row.placed_value_minor,
            payments: row.payments,
            revenue_minor: row.revenue_minor,
            orders_cancelled: row.orders_cancelled,
            cancelled_value_minor: row.cancelled_value_minor,
            refunds: row.refunds,
            refunded_minor: row.refunded_minor,
        })
        .collect())
}

/// Whether any order of the customer is in the views.
pub(crate) async fn customer_exists(pool: &PgPool, customer_id: Uuid) -> Result<bool, ApiError> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM projections.order_summary WHERE customer_id = $1)")
        .bind(customer_id)
        .fetch_one(pool)
        .await
        .map_err(|error| database_error(error, "looking up the customer"))
}
