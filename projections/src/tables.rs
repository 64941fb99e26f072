//! The SQL of the Postgres read views, behind a table set (`ViewTables`) so the same code fills the live
//! tables and the shadow tables of a rebuild (`order_summary_rebuild`, ...).
//!
//! Writes are set-based: each touched order's final row is written once per batch with a multi-row
//! `INSERT ... SELECT * FROM UNNEST(...) ON CONFLICT DO UPDATE`, and figure changes are added to the rows.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use crate::error::Error;
use crate::view::{FoldedChanges, LineView, OrderStatus, OrderView};

/// The base names of the view tables, in schema `projections`.
pub const VIEW_TABLES: [&str; 4] = ["order_summary", "order_lines", "customer_figures", "daily_sales"];

/// One set of the four view tables: the live ones (no suffix) or a shadow set such as `order_summary_rebuild`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewTables {
    suffix: String,
}

impl Default for ViewTables {
    fn default() -> Self {
        Self::live()
    }
}

impl ViewTables {
    /// The live tables the query API reads.
    pub fn live() -> Self {
        Self { suffix: String::new() }
    }

    /// A shadow set whose table names end in `suffix` (for example `_rebuild`): `_` followed by
    /// lower-case letters, digits and `_`, at most 20 characters.
    pub fn shadow(suffix: &str) -> Result<Self, Error> {
        let valid = suffix.len() >= 2
            && suffix.len() <= 20
            && suffix.starts_with('_')
            && suffix.bytes().all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_');
        if valid {
            Ok(Self { suffix: suffix.to_owned() })
        } else {
            Err(Error::Config(format!("invalid view table suffix {suffix:?}")))
        }
    }

    /// The suffix (empty for the live tables).
    pub fn suffix(&self) -> &str {
        &self.suffix
    }

    /// The schema-qualified name of one of [`VIEW_TABLES`] in this set.
    pub fn table(&self, base: &str) -> String {
        format!("projections.{base}{}", self.suffix)
    }

    /// Creates this set's tables empty, with the live tables' columns, defaults, keys and indexes
    /// (dropping a previous set of the same suffix). The live set cannot be created this way.
    pub async fn create_empty(&self, connection: &mut PgConnection) -> Result<(), Error> {
        if self.suffix.is_empty() {
            return Err(Error::Config("the live view tables are created by the migrations".to_owned()));
        }
        for base in VIEW_TABLES {
            let shadow = self.table(base);
            sqlx::query(&format!("DROP TABLE IF EXISTS {shadow}")).execute(&mut *connection).await?;
            sqlx::query(&format!("CREATE TABLE {shadow} (LIKE projections.{base} INCLUDING ALL)"))
                .execute(&mut *connection)
                .await?;
            // The tables will replace the live ones: same owner (the projector's role) and same readers.
            let owner: Option<(String, bool)> = sqlx::query_as(
                "SELECT tableowner::text, tableowner <> current_user FROM pg_tables \
                 WHERE schemaname = 'projections' AND tablename = $1",
            )
            .bind(base)
            .fetch_optional(&mut *connection)
            .await?;
            if let Some((owner, true)) = owner {
                sqlx::query(&format!("ALTER TABLE {shadow} OWNER TO \"{}\"", owner.replace('"', "\"\"")))
                    .execute(&mut *connection)
                    .await?;
            }
            let (query_role_exists,): (bool,) =
                sqlx::query_as("SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = 'orders_query')")
                    .fetch_one(&mut *connection)
                    .await?;
            if query_role_exists {
                sqlx::query(&format!("GRANT SELECT ON {shadow} TO orders_query")).execute(&mut *connection).await?;
            }
        }
        Ok(())
    }

    /// Drops this set's tables (not allowed for the live set).
    pub async fn drop_tables(&self, connection: &mut PgConnection) -> Result<(), Error> {
        if self.suffix.is_empty() {
            return Err(Error::Config("refusing to drop the live view tables".to_owned()));
        }
        for base in VIEW_TABLES {
            sqlx::query(&format!("DROP TABLE IF EXISTS {}", self.table(base))).execute(&mut *connection).await?;
        }
        Ok(())
    }

    /// The current views of the given orders (orders without a row are absent).
    pub(crate) async fn load(
        &self,
        connection: &mut PgConnection,
        order_ids: &[Uuid],
    ) -> Result<HashMap<Uuid, OrderView>, Error> {
        let mut views = HashMap::with_capacity(order_ids.len());
        if order_ids.is_empty() {
            return Ok(views);
        }
        let rows = sqlx::query(&format!(
            "SELECT {SUMMARY_COLUMNS} FROM {} WHERE order_id = ANY($1)",
            self.table("order_summary")
        ))
        .bind(order_ids)
        .fetch_all(&mut *connection)
        .await?;
        for row in &rows {
            let view = summary_from_row(row)?;
            views.insert(view.order_id, view);
        }
        let lines = sqlx::query(&format!(
            "SELECT order_id, sku, name, unit_price_minor, quantity, line_total_minor, version FROM {} \
             WHERE order_id = ANY($1) ORDER BY order_id, line_no",
            self.table("order_lines")
        ))
        .bind(order_ids)
        .fetch_all(&mut *connection)
        .await?;
        for row in &lines {
            let order_id: Uuid = row.try_get("order_id")?;
            if let Some(view) = views.get_mut(&order_id) {
                view.items.push(LineView {
                    sku: row.try_get("sku")?,
                    name: row.try_get("name")?,
                    unit_price_minor: row.try_get("unit_price_minor")?,
                    quantity: row.try_get("quantity")?,
                    line_total_minor: row.try_get("line_total_minor")?,
                    version: row.try_get("version")?,
                });
            }
        }
        Ok(views)
    }

    /// Writes folded changes: each order's final summary row and lines, and the figure changes added to
    /// the customer and daily rows. Runs inside the caller's transaction.
    pub(crate) async fn write(&self, connection: &mut PgConnection, changes: &FoldedChanges) -> Result<(), Error> {
        if !changes.orders.is_empty() {
            self.write_orders(connection, changes.orders.values()).await?;
        }
        if !changes.customers.is_empty() {
            self.add_customer_figures(connection, changes).await?;
        }
        if !changes.daily.is_empty() {
            self.add_daily_sales(connection, changes).await?;
        }
        Ok(())
    }

    async fn write_orders<'a>(
        &self,
        connection: &mut PgConnection,
        views: impl Iterator<Item = &'a OrderView>,
    ) -> Result<(), Error> {
        let mut columns = SummaryColumns::default();
        let mut lines = LineColumns::default();
        for view in views {
            columns.push(view);
            for (index, line) in view.items.iter().enumerate() {
                lines.push(view, index, line);
            }
        }
        let updates = SUMMARY_COLUMNS
            .split(", ")
            .filter(|column| *column != "order_id")
            .map(|column| format!("{column} = EXCLUDED.{column}"))
            .collect::<Vec<_>>()
            .join(", ");
        sqlx::query(&format!(
            "INSERT INTO {} ({SUMMARY_COLUMNS}) SELECT * FROM UNNEST(\
               $1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::int4[], $6::int4[], $7::int8[], $8::int8[], \
               $9::int8[], $10::int8[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[], \
               $17::text[], $18::text[], $19::text[], $20::text[], $21::text[], $22::text[], $23::timestamptz[], \
               $24::timestamptz[], $25::timestamptz[], $26::timestamptz[], $27::timestamptz[], $28::timestamptz[], \
               $29::timestamptz[], $30::timestamptz[], $31::int8[], $32::int8[]) \
             ON CONFLICT (order_id) DO UPDATE SET {updates}",
            self.table("order_summary")
        ))
        .bind(&columns.order_id)
        .bind(&columns.customer_id)
        .bind(&columns.status)
        .bind(&columns.currency)
        .bind(&columns.item_count)
        .bind(&columns.line_count)
        .bind(&columns.total_minor)
        .bind(&columns.paid_minor)
        .bind(&columns.refund_due_minor)
        .bind(&columns.refunded_minor)
        .bind(&columns.text[0])
        .bind(&columns.text[1])
        .bind(&columns.text[2])
        .bind(&columns.text[3])
        .bind(&columns.text[4])
        .bind(&columns.text[5])
        .bind(&columns.text[6])
        .bind(&columns.text[7])
        .bind(&columns.text[8])
        .bind(&columns.text[9])
        .bind(&columns.text[10])
        .bind(&columns.text[11])
        .bind(&columns.created_at)
        .bind(&columns.times[0])
        .bind(&columns.times[1])
        .bind(&columns.times[2])
        .bind(&columns.times[3])
        .bind(&columns.times[4])
        .bind(&columns.times[5])
        .bind(&columns.updated_at)
        .bind(&columns.version)
        .bind(&columns.last_position)
        .execute(&mut *connection)
        .await?;

        let lines_table = self.table("order_lines");
        sqlx::query(&format!("DELETE FROM {lines_table} WHERE order_id = ANY($1)"))
            .bind(&columns.order_id)
            .execute(&mut *connection)
            .await?;
        if !lines.order_id.is_empty() {
            sqlx::query(&format!(
                "INSERT INTO {lines_table} \
                   (order_id, sku, line_no, name, unit_price_minor, quantity, line_total_minor, currency, version) \
                 SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::int4[], $4::text[], $5::int8[], $6::int4[], \
                   $7::int8[], $8::text[], $9::int8[])"
            ))
            .bind(&lines.order_id)
            .bind(&lines.sku)
            .bind(&lines.line_no)
            .bind(&lines.name)
            .bind(&lines.unit_price_minor)
            .bind(&lines.quantity)
            .bind(&lines.line_total_minor)
            .bind(&lines.currency)
            .bind(&lines.version)
            .execute(&mut *connection)
            .await?;
        }
        Ok(())
    }

    async fn add_customer_figures(&self, connection: &mut PgConnection, changes: &FoldedChanges) -> Result<(), Error> {
        let mut customer_id = Vec::new();
        let mut currency = Vec::new();
        let mut orders_placed = Vec::new();
        let mut orders_cancelled = Vec::new();
        let mut paid_minor = Vec::new();
        let mut refunded_minor = Vec::new();
        let mut lifetime_value_minor = Vec::new();
        let mut first_order_at: Vec<Option<DateTime<Utc>>> = Vec::new();
        let mut last_order_at: Vec<Option<DateTime<Utc>>> = Vec::new();
        for ((customer, code), figures) in &changes.customers {
            customer_id.push(*customer);
            currency.push(code.as_str());
            orders_placed.push(figures.orders_placed);
            orders_cancelled.push(figures.orders_cancelled);
            paid_minor.push(figures.paid_minor);
            refunded_minor.push(figures.refunded_minor);
            lifetime_value_minor.push(figures.lifetime_value_minor);
            first_order_at.push(figures.first_order_at);
            last_order_at.push(figures.last_order_at);
        }
        sqlx::query(&format!(
            "INSERT INTO {} AS t (customer_id, currency, orders_placed, orders_cancelled, paid_minor, refunded_minor, \
               lifetime_value_minor, first_order_at, last_order_at) \
             SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::int8[], $4::int8[], $5::int8[], $6::int8[], $7::int8[], \
               $8::timestamptz[], $9::timestamptz[]) \
             ON CONFLICT (customer_id, currency) DO UPDATE SET \
               orders_placed = t.orders_placed + EXCLUDED.orders_placed, \
               orders_cancelled = t.orders_cancelled + EXCLUDED.orders_cancelled, \
               paid_minor = t.paid_minor + EXCLUDED.paid_minor, \
               refunded_minor = t.refunded_minor + EXCLUDED.refunded_minor, \
               lifetime_value_minor = t.lifetime_value_minor + EXCLUDED.lifetime_value_minor, \
               first_order_at = LEAST(t.first_order_at, EXCLUDED.first_order_at), \
               last_order_at = GREATEST(t.last_order_at, EXCLUDED.last_order_at)",
            self.table("customer_figures")
        ))
        .bind(customer_id)
        .bind(currency)
        .bind(orders_placed)
        .bind(orders_cancelled)
        .bind(paid_minor)
        .bind(refunded_minor)
        .bind(lifetime_value_minor)
        .bind(first_order_at)
        .bind(last_order_at)
        .execute(&mut *connection)
        .await?;
        Ok(())
    }

    async fn add_daily_sales(&self, connection: &mut PgConnection, changes: &FoldedChanges) -> Result<(), Error> {
        let mut sales_date: Vec<NaiveDate> = Vec::new();
        let mut currency = Vec::new();
        let mut figures: [Vec<i64>; 8] = Default::default();
        for ((day, code), sales) in &changes.daily {
            sales_date.push(*day);
            currency.push(code.as_str());
            let values = [
                sales.orders_placed,
                sales.placed_value_minor,
                sales.payments,
                sales.revenue_minor,
                sales.orders_cancelled,
                sales.cancelled_value_minor,
                sales.refunds,
                sales.refunded_minor,
            ];
            for (column, value) in figures.iter_mut().zip(values) {
                column.push(value);
            }
        }
        let [orders_placed, placed_value, payments, revenue, orders_cancelled, cancelled_value, refunds, refunded] =
            figures;
        sqlx::query(&format!(
            "INSERT INTO {} AS t (sales_date, currency, orders_placed, placed_value_minor, payments, revenue_minor, \
               orders_cancelled, cancelled_value_minor, refunds, refunded_minor) \
             SELECT * FROM UNNEST($1::date[], $2::text[], $3::int8[], $4::int8[], $5::int8[], $6::int8[], \
               $7::int8[], $8::int8[], $9::int8[], $10::int8[]) \
             ON CONFLICT (sales_date, currency) DO UPDATE SET \
               orders_placed = t.orders_placed + EXCLUDED.orders_placed, \
               placed_value_minor = t.placed_value_minor + EXCLUDED.placed_value_minor, \
               payments = t.payments + EXCLUDED.payments, \
               revenue_minor = t.revenue_minor + EXCLUDED.revenue_minor, \
               orders_cancelled = t.orders_cancelled + EXCLUDED.orders_cancelled, \
               cancelled_value_minor = t.cancelled_value_minor + EXCLUDED.cancelled_value_minor, \
               refunds = t.refunds + EXCLUDED.refunds, \
               refunded_minor = t.refunded_minor + EXCLUDED.refunded_minor",
            self.table("daily_sales")
        ))
        .bind(sales_date)
        .bind(currency)
        .bind(orders_placed)
        .bind(placed_value)
        .bind(payments)
        .bind(revenue)
        .bind(orders_cancelled)
        .bind(cancelled_value)
        .bind(refunds)
        .bind(refunded)
        .execute(&mut *connection)
        .await?;
        Ok(())
    }
}

const SUMMARY_COLUMNS: &str = "order_id, customer_id, status, currency, item_count, line_count, total_minor, \
paid_minor, refund_due_minor, refunded_minor, recipient_name, address_line1, address_line2, city, region, postal_code, \
country, payment_reference, carrier, tracking_number, cancel_reason, refund_reason, created_at, placed_at, paid_at, \
shipped_at, delivered_at, cancelled_at, refunded_at, updated_at, version, last_position";

/// Column arrays of `order_summary` rows, in [`SUMMARY_COLUMNS`] order.
#[derive(Default)]
struct SummaryColumns {
    order_id: Vec<Uuid>,
    customer_id: Vec<Uuid>,
    status: Vec<&'static str>,
    currency: Vec<String>,
    item_count: Vec<i32>,
    line_count: Vec<i32>,
    total_minor: Vec<i64>,
    paid_minor: Vec<i64>,
    refund_due_minor: Vec<i64>,
    refunded_minor: Vec<i64>,
    /// recipient_name ..= refund_reason.
    text: [Vec<Option<String>>; 12],
    created_at: Vec<DateTime<Utc>>,
    /// placed_at ..= refunded_at.
    times: [Vec<Option<DateTime<Utc>>>; 6],
    updated_at: Vec<DateTime<Utc>>,
    version: Vec<i64>,
    last_position: Vec<i64>,
}

impl SummaryColumns {
    fn push(&mut self, view: &OrderView) {
        self.order_id.push(view.order_id);
        self.customer_id.push(view.customer_id);
        self.status.push(view.status.as_str());
        self.currency.push(view.currency.clone());
        self.item_count.push(view.item_count);
        self.line_count.push(view.line_count);
        self.total_minor.push(view.total_minor);
        self.paid_minor.push(view.paid_minor);
        self.refund_due_minor.push(view.refund_due_minor);
        self.refunded_minor.push(view.refunded_minor);
        let text = [
            &view.recipient_name,
            &view.address_line1,
            &view.address_line2,
            &view.city,
            &view.region,
            &view.postal_code,
            &view.country,
            &view.payment_reference,
            &view.carrier,
            &view.tracking_number,
            &view.cancel_reason,
            &view.refund_reason,
        ];
        for (column, value) in self.text.iter_mut().zip(text) {
            column.push(value.clone());
        }
        self.created_at.push(view.created_at);
        let times =
            [view.placed_at, view.paid_at, view.shipped_at, view.delivered_at, view.cancelled_at, view.refunded_at];
        for (column, value) in self.times.iter_mut().zip(times) {
            column.push(value);
        }
        self.updated_at.push(view.updated_at);
        self.version.push(view.version);
        self.last_position.push(view.last_position);
    }
}

/// Column arrays of `order_lines` rows.
#[derive(Default)]
struct LineColumns {
    order_id: Vec<Uuid>,
    sku: Vec<String>,
    line_no: Vec<i32>,
    name: Vec<String>,
    unit_price_minor: Vec<i64>,
    quantity: Vec<i32>,
    line_total_minor: Vec<i64>,
    currency: Vec<String>,
    version: Vec<i64>,
}

impl LineColumns {
    fn push(&mut self, view: &OrderView, index: usize, line: &LineView) {
        self.order_id.push(view.order_id);
        self.sku.push(line.sku.clone());
        self.line_no.push(i32::try_from(index + 1).unwrap_or(i32::MAX));
        self.name.push(line.name.clone());
        self.unit_price_minor.push(line.unit_price_minor);
        self.quantity.push(line.quantity);
        self.line_total_minor.push(line.line_total_minor);
        self.currency.push(view.currency.clone());
        self.version.push(line.version);
    }
}

fn summary_from_row(row: &PgRow) -> Result<OrderView, Error> {
    let status: String = row.try_get("status")?;
    let status = OrderStatus::parse(&status)
        .ok_or_else(|| Error::Database(sqlx::Error::Decode(format!("unknown order status {status:?}").into())))?;
    Ok(OrderView {
        order_id: row.try_get("order_id")?,
        customer_id: row.try_get("customer_id")?,
        status,
        currency: row.try_get("currency")?,
        item_count: row.try_get("item_count")?,
        line_count: row.try_get("line_count")?,
        total_minor: row.try_get("total_minor")?,
        paid_minor: row.try_get("paid_minor")?,
        refund_due_minor: row.try_get("refund_due_minor")?,
        refunded_minor: row.try_get("refunded_minor")?,
        items: Vec::new(),
        recipient_name: row.try_get("recipient_name")?,
        address_line1: row.try_get("address_line1")?,
        address_line2: row.try_get("address_line2")?,
        city: row.try_get("city")?,
        region: row.try_get("region")?,
        postal_code: row.try_get("postal_code")?,
        country: row.try_get("country")?,
        payment_reference: row.try_get("payment_reference")?,
        carrier: row.try_get("carrier")?,
        tracking_number: row.try_get("tracking_number")?,
        cancel_reason: row.try_get("cancel_reason")?,
        refund_reason: row.try_get("refund_reason")?,
        created_at: row.try_get("created_at")?,
        placed_at: row.try_get("placed_at")?,
        paid_at: row.try_get("paid_at")?,
        shipped_at: row.try_get("shipped_at")?,
        delivered_at: row.try_get("delivered_at")?,
        cancelled_at: row.try_get("cancelled_at")?,
        refunded_at: row.try_get("refunded_at")?,
        updated_at: row.try_get("updated_at")?,
        version: row.try_get("version")?,
        last_position: row.try_get("last_position")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shadow_suffixes_are_checked() {
        assert_eq!(
            ViewTables::shadow("_rebuild").expect("valid").table("order_lines"),
            "projections.order_lines_rebuild"
        );
        assert_eq!(ViewTables::live().table("order_summary"), "projections.order_summary");
        for invalid in ["", "_", "rebuild", "_Re", "_x; DROP TABLE y", "_very_long_suffix_over_20"] {
            assert!(ViewTables::shadow(invalid).is_err(), "{invalid:?}");
        }
    }

    #[test]
    fn every_summary_column_has_a_parameter() {
        assert_eq!(SUMMARY_COLUMNS.split(", ").count(), 32);
    }
}
