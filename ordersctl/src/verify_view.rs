//! `projections verify`: rebuild a projection from the event store into a scratch copy and compare it with
//! the live view, at exactly the live projection's checkpoint.
//!
//! The scratch copy is filled up to the live checkpoint without any lock; then the live checkpoint row is
//! locked (the live projector pauses before its next batch), the scratch copy is brought to exactly that
//! position, and both are compared inside that transaction: per table the row count and an order-independent
//! content checksum, then the differing rows by primary key; for Elasticsearch the document count, a
//! checksum over `_id`, `_version` and `_source`, and the differing documents.

use std::time::Instant;

use event_store::{EventStore, LogPosition, MAX_READ_BATCH};
use projections::{EventEnvelope, Projector, ProjectorOptions, SearchIndex, ViewTables, VIEW_TABLES};
use serde::Serialize;
use serde_json::Value;
use sqlx::{PgConnection, PgPool, Row};

use crate::cli::{ProjectionName, VerifyArgs};
use crate::context::Context;
use crate::error::Error;
use crate::output::{count, duration, Align, Output, Table};
use crate::progress::Progress;
use crate::search_scan::{self, Document, DocumentCursor};
use crate::Outcome;
use projections::MaintenanceLock;

const VIEWS_SCRATCH_SUFFIX: &str = "_verify";
const SCRATCH_SUFFIX_NAME: &str = "verify";

/// Row count and content checksum of one view table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableChecksum {
    /// Schema-qualified table name.
    pub table: String,
    /// Rows.
    pub rows: i64,
    /// Order-independent checksum of the rows' text forms (16 hex digits).
    pub checksum: String,
}

/// Row counts and checksums of the four view tables of a table set (live or shadow), in one snapshot
/// when `connection` is inside a repeatable-read transaction.
pub async fn table_checksums(connection: &mut PgConnection, tables: &ViewTables) -> Result<Vec<TableChecksum>, Error> {
    let mut checksums = Vec::with_capacity(VIEW_TABLES.len());
    for base in VIEW_TABLES {
        let table = tables.table(base);
        let (rows, checksum) = checksum_of(connection, &table).await?;
        checksums.push(TableChecksum { table, rows, checksum });
    }
    Ok(checksums)
}

/// The key columns of each view table (its primary key).
fn key_columns(base: &str) -> &'static [&'static str] {
    match base {
        "order_summary" => &["order_id"],
        "order_lines" => &["order_id", "sku"],
        "customer_figures" => &["customer_id", "currency"],
        _ => &["sales_date", "currency"],
    }
}

/// What differs between the live copy and the rebuilt one.
#[derive(Debug, Clone, Serialize)]
struct Comparison {
    /// Table or index (alias).
    name: String,
    live_rows: i64,
    rebuilt_rows: i64,
    live_checksum: String,
    rebuilt_checksum: String,
    /// Rows or documents that differ (missing, extra or changed).
    differing: i64,
    /// The first differences.
    differences: Vec<Difference>,
}

impl Comparison {
    fn matches(&self) -> bool {
        self.differing == 0 && self.live_rows == self.rebuilt_rows && self.live_checksum == self.rebuilt_checksum
    }
}

#[derive(Debug, Clone, Serialize)]
struct Difference {
    /// The row's key (`column=value, ...`) or the document id.
    key: String,
    /// `missing_in_live`, `extra_in_live` or `differs`.
    kind: &'static str,
    /// The differing columns or fields, with the live and the rebuilt value.
    columns: Vec<ColumnDifference>,
}

#[derive(Debug, Clone, Serialize)]
struct ColumnDifference {
    column: String,
    live: Value,
    rebuilt: Value,
}

#[derive(Debug, Clone, Serialize)]
struct VerifyReport {
    projection: &'static str,
    /// The live checkpoint both copies were compared at.
    position: String,
    /// Events folded into the scratch copy.
    events: u64,
    seconds: f64,
    identical: bool,
    compared: Vec<Comparison>,
}

pub(crate) async fn run(context: &Context, output: &Output, args: &VerifyArgs) -> Result<Outcome, Error> {
    let lock = MaintenanceLock::acquire(&context.pool, args.name.as_str()).await?;
    let result = match args.name {
        ProjectionName::OrderViews => verify_views(context, args).await,
        ProjectionName::OrderSearch => verify_search(context, args).await,
    };
    lock.release().await;
    let report = result?;
    if output.is_json() {
        output.print_json(&report)?;
    } else {
        print_report(output, &report);
    }
    Ok(if report.identical { Outcome::Clean } else { Outcome::ProblemsFound })
}

fn scratch_name(projection: ProjectionName) -> String {
    format!("{}_{SCRATCH_SUFFIX_NAME}", projection.as_str())
}

fn scratch_options() -> ProjectorOptions {
    ProjectorOptions { catch_up_batch_size: MAX_READ_BATCH, ..ProjectorOptions::default() }
}

/// Forgets the checkpoint, parked orders and dead letters of a scratch projection.
async fn reset_bookkeeping(pool: &PgPool, name: &str) -> Result<(), Error> {
    let mut connection = pool.acquire().await?;
    Ok(projections::forget_projection(&mut connection, name).await?)
}

/// Pauses the live projection's writers for the rest of the transaction (its advisory lock, which gives the
/// transaction no xid, so readers of the event store are not held back) and returns its checkpoint.
async fn lock_live_checkpoint(connection: &mut PgConnection, name: &str) -> Result<LogPosition, Error> {
    sqlx::query("SET LOCAL lock_timeout = '30s'").execute(&mut *connection).await?;
    Ok(projections::lock_projection(connection, name).await?)
}

/// Brings `projector` to exactly `target`: it applies the events of the log up to and including `target`
/// and never one past it, so the scratch copy reflects the same prefix of the log as the live one.
async fn fill_until(
    store: &EventStore,
    projector: &Projector,
    target: LogPosition,
    progress: &mut Progress,
    events_done: &mut u64,
) -> Result<(), Error> {
    loop {
        let checkpoint = projector.checkpoint().await?;
        if checkpoint >= target {
            return Ok(());
        }
        let events: Vec<EventEnvelope> = store
            .read_all_from(checkpoint, MAX_READ_BATCH)
            .await?
            .into_iter()
            .take_while(|event| event.log_position() <= target)
            .map(EventEnvelope::from)
            .collect();
        let Some(last) = events.last() else {
            // Nothing between the checkpoint and the target: just move the checkpoint.
            projector.apply_events(&[], target).await?;
            return Ok(());
        };
        let through = last.log_position;
        projector.apply_events(&events, through).await?;
        *events_done += events.len() as u64;
        progress.set(*events_done);
    }
}

async fn verify_views(context: &Context, args: &VerifyArgs) -> Result<VerifyReport, Error> {
    let started = Instant::now();
    let name = scratch_name(ProjectionName::OrderViews);
    let scratch = ViewTables::shadow(VIEWS_SCRATCH_SUFFIX)?;
    {
        let mut transaction = context.pool.begin().await?;
        scratch.create_empty(&mut transaction).await?;
        transaction.commit().await?;
    }
    reset_bookkeeping(&context.pool, &name).await?;
    let projector = Projector::order_views(context.pool.clone())
        .with_name(&name)
        .with_tables(scratch.clone())
        .with_options(scratch_options());

    let mut progress = Progress::new("verify views", context.count_events().await?, args.progress_every);
    let mut events = 0;
    let live_now = projections::read_checkpoint(&context.pool, projections::ORDER_VIEWS).await?;
    let filled = fill_until(&context.store, &projector, live_now, &mut progress, &mut events).await;
    let compared = match filled {
        Ok(()) => {
            let mut transaction = context.pool.begin().await?;
            let live = lock_live_checkpoint(&mut transaction, projections::ORDER_VIEWS).await?;
            let result = async {
                fill_until(&context.store, &projector, live, &mut progress, &mut events).await?;
                progress.finish();
                let mut compared = Vec::new();
                for base in VIEW_TABLES {
                    compared.push(compare_table(&mut transaction, base, &scratch, args.max_differences).await?);
                }
                Ok::<_, Error>((live, compared))
            }
            .await;
            transaction.rollback().await?;
            result
        }
        Err(error) => Err(error),
    };
    progress.finish();
    if !args.keep_scratch {
        let mut connection = context.pool.acquire().await?;
        scratch.drop_tables(&mut connection).await?;
        reset_bookkeeping(&context.pool, &name).await?;
    }
    let (position, compared) = compared?;
    Ok(VerifyReport {
        projection: projections::ORDER_VIEWS,
        position: position.to_string(),
        events,
        seconds: started.elapsed().as_secs_f64(),
        identical: compared.iter().all(Comparison::matches),
        compared,
    })
}

async fn compare_table(
    connection: &mut PgConnection,
    base: &str,
    scratch: &ViewTables,
    max_differences: i64,
) -> Result<Comparison, Error> {
    let live_table = ViewTables::live().table(base);
    let scratch_table = scratch.table(base);
    let live = checksum_of(connection, &live_table).await?;
    let rebuilt = checksum_of(connection, &scratch_table).await?;
    let keys = key_columns(base);
    let join = keys.iter().map(|key| format!("l.{key} = s.{key}")).collect::<Vec<_>>().join(" AND ");
    let from = format!("{live_table} l FULL JOIN {scratch_table} s ON {join} WHERE l::text IS DISTINCT FROM s::text");
    let (differing,): (i64,) =
        sqlx::query_as(&format!("SELECT count(*) FROM {from}")).fetch_one(&mut *connection).await?;
    let order = keys.iter().map(|key| format!("coalesce(l.{key}, s.{key})")).collect::<Vec<_>>().join(", ");
    let rows = sqlx::query(&format!(
        "SELECT to_jsonb(l) AS live, to_jsonb(s) AS rebuilt FROM {from} ORDER BY {order} LIMIT $1"
    ))
    .bind(max_differences.max(0))
    .fetch_all(&mut *connection)
    .await?;
    let mut differences = Vec::with_capacity(rows.len());
    for row in &rows {
        let live_row: Option<Value> = row.try_get("live")?;
        let rebuilt_row: Option<Value> = row.try_get("rebuilt")?;
        differences.push(row_difference(keys, live_row.as_ref(), rebuilt_row.as_ref()));
    }
    Ok(Comparison {
        name: live_table,
        live_rows: live.0,
        rebuilt_rows: rebuilt.0,
        live_checksum: live.1,
        rebuilt_checksum: rebuilt.1,
        differing,
        differences,
    })
}

async fn checksum_of(connection: &mut PgConnection, table: &str) -> Result<(i64, String), Error> {
    let row = sqlx::query(&format!(
        "SELECT count(*)::bigint AS rows, \
                left(md5(coalesce(sum(('x' || left(md5(t::text), 15))::bit(60)::bigint), 0)::text), 16) AS checksum \
           FROM {table} t"
    ))
    .fetch_one(&mut *connection)
    .await?;
    Ok((row.try_get("rows")?, row.try_get("checksum")?))
}

/// Describes how a live row differs from the rebuilt one (either may be missing).
fn row_difference(keys: &[&str], live: Option<&Value>, rebuilt: Option<&Value>) -> Difference {
    let present = live.or(rebuilt).cloned().unwrap_or(Value::Null);
    let key = keys.iter().map(|column| format!("{column}={}", plain(&present[*column]))).collect::<Vec<_>>().join(", ");
    match (live, rebuilt) {
        (None, _) => Difference { key, kind: "missing_in_live", columns: Vec::new() },
        (_, None) => Difference { key, kind: "extra_in_live", columns: Vec::new() },
        (Some(live), Some(rebuilt)) => {
            Difference { key, kind: "differs", columns: field_differences("", live, rebuilt) }
        }
    }
}

/// The top-level fields of two JSON objects that differ (nested values are compared whole).
fn field_differences(prefix: &str, live: &Value, rebuilt: &Value) -> Vec<ColumnDifference> {
    let empty = serde_json::Map::new();
    let live_fields = live.as_object().unwrap_or(&empty);
    let rebuilt_fields = rebuilt.as_object().unwrap_or(&empty);
    let mut names: Vec<&String> = live_fields.keys().chain(rebuilt_fields.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter_map(|name| {
            let live_value = live_fields.get(name).cloned().unwrap_or(Value::Null);
            let rebuilt_value = rebuilt_fields.get(name).cloned().unwrap_or(Value::Null);
            (live_value != rebuilt_value).then(|| ColumnDifference {
                column: format!("{prefix}{name}"),
                live: live_value,
                rebuilt: rebuilt_value,
            })
        })
        .collect()
}

fn plain(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

async fn verify_search(context: &Context, args: &VerifyArgs) -> Result<VerifyReport, Error> {
    let started = Instant::now();
    let name = scratch_name(ProjectionName::OrderSearch);
    let live_index = context.search_index()?;
    let scratch_prefix = format!("{}-{SCRATCH_SUFFIX_NAME}", context.connection.search_index_prefix);
    let scratch_alias = format!("{}-{SCRATCH_SUFFIX_NAME}", context.connection.search_alias);
    let scratch = SearchIndex::new(&context.connection.elasticsearch_url, &scratch_alias, &scratch_prefix)?
        .with_refresh_interval("200ms");
    for leftover in scratch.concrete_indices().await? {
        scratch.delete_index(&leftover).await?;
    }
    reset_bookkeeping(&context.pool, &name).await?;
    let projector =
        Projector::order_search(context.pool.clone(), scratch.clone()).with_name(&name).with_options(scratch_options());
    projector.prepare().await?;

    let mut progress = Progress::new("verify search", context.count_events().await?, args.progress_every);
    let mut events = 0;
    let live_now = projections::read_checkpoint(&context.pool, projections::ORDER_SEARCH).await?;
    let filled = fill_until(&context.store, &projector, live_now, &mut progress, &mut events).await;
    let compared = match filled {
        Ok(()) => {
            let mut transaction = context.pool.begin().await?;
            let live = lock_live_checkpoint(&mut transaction, projections::ORDER_SEARCH).await?;
            let result = async {
                fill_until(&context.store, &projector, live, &mut progress, &mut events).await?;
                progress.finish();
                let client = live_index.client();
                search_scan::refresh(client, &scratch_alias).await?;
                let live_exists = live_index.aliased_index().await?.is_some();
                if live_exists {
                    search_scan::refresh(client, live_index.alias()).await?;
                }
                let comparison =
                    compare_indices(client, live_index.alias(), live_exists, &scratch_alias, args.max_differences)
                        .await?;
                Ok::<_, Error>((live, vec![comparison]))
            }
            .await;
            transaction.rollback().await?;
            result
        }
        Err(error) => Err(error),
    };
    progress.finish();
    if !args.keep_scratch {
        if let Some(index) = scratch.aliased_index().await? {
            scratch.delete_index(&index).await?;
        }
        reset_bookkeeping(&context.pool, &name).await?;
    }
    let (position, compared) = compared?;
    Ok(VerifyReport {
        projection: projections::ORDER_SEARCH,
        position: position.to_string(),
        events,
        seconds: started.elapsed().as_secs_f64(),
        identical: compared.iter().all(Comparison::matches),
        compared,
    })
}

/// Order-independent checksum of documents: the wrapping sum of the first 8 bytes of their digests.
#[derive(Debug, Default)]
struct DocumentTally {
    documents: i64,
    sum: u64,
}

impl DocumentTally {
    fn add(&mut self, document: &Document) {
        self.documents += 1;
        let mut head = [0u8; 8];
        head.copy_from_slice(&document.digest[..8]);
        self.sum = self.sum.wrapping_add(u64::from_be_bytes(head));
    }

    fn checksum(&self) -> String {
        format!("{:016x}", self.sum)
    }
}

/// Merges the two indices in `order_id` order.
async fn compare_indices(
    client: &elasticsearch::Elasticsearch,
    live_target: &str,
    live_exists: bool,
    rebuilt_target: &str,
    max_differences: i64,
) -> Result<Comparison, Error> {
    let mut live_cursor = DocumentCursor::new(client, live_target);
    let mut rebuilt_cursor = DocumentCursor::new(client, rebuilt_target);
    let (mut live_tally, mut rebuilt_tally) = (DocumentTally::default(), DocumentTally::default());
    let mut differing = 0_i64;
    let mut differences = Vec::new();
    let mut note = |difference: Difference, differences: &mut Vec<Difference>| {
        differing += 1;
        if (differences.len() as i64) < max_differences {
            differences.push(difference);
        }
    };
    let mut live = if live_exists { live_cursor.next().await? } else { None };
    let mut rebuilt = rebuilt_cursor.next().await?;
    loop {
        let ordering = match (&live, &rebuilt) {
            (None, None) => break,
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some(live), Some(rebuilt)) => live.id.cmp(&rebuilt.id),
        };
        match (ordering, live.take(), rebuilt.take()) {
            (std::cmp::Ordering::Less, Some(only_live), rest) => {
                live_tally.add(&only_live);
                note(Difference { key: only_live.id, kind: "extra_in_live", columns: Vec::new() }, &mut differences);
                rebuilt = rest;
                live = live_cursor.next().await?;
            }
            (std::cmp::Ordering::Greater, rest, Some(only_rebuilt)) => {
                rebuilt_tally.add(&only_rebuilt);
                note(
                    Difference { key: only_rebuilt.id, kind: "missing_in_live", columns: Vec::new() },
                    &mut differences,
                );
                live = rest;
                rebuilt = rebuilt_cursor.next().await?;
            }
            (_, Some(live_document), Some(rebuilt_document)) => {
                live_tally.add(&live_document);
                rebuilt_tally.add(&rebuilt_document);
                if live_document.digest != rebuilt_document.digest {
                    let mut columns = Vec::new();
                    if live_document.version != rebuilt_document.version {
                        columns.push(ColumnDifference {
                            column: "_version".to_owned(),
                            live: live_document.version.into(),
                            rebuilt: rebuilt_document.version.into(),
                        });
                    }
                    columns.extend(field_differences("", &live_document.source, &rebuilt_document.source));
                    note(Difference { key: live_document.id, kind: "differs", columns }, &mut differences);
                }
                live = live_cursor.next().await?;
                rebuilt = rebuilt_cursor.next().await?;
            }
            (_, live_rest, rebuilt_rest) => {
                live = live_rest;
                rebuilt = rebuilt_rest;
            }
        }
    }
    Ok(Comparison {
        name: live_target.to_owned(),
        live_rows: live_tally.documents,
        rebuilt_rows: rebuilt_tally.documents,
        live_checksum: live_tally.checksum(),
        rebuilt_checksum: rebuilt_tally.checksum(),
        differing,
        differences,
    })
}

fn print_report(output: &Output, report: &VerifyReport) {
    let (first, live_header, rebuilt_header) = if report.projection == projections::ORDER_SEARCH {
        ("INDEX", "LIVE DOCS", "REBUILT DOCS")
    } else {
        ("TABLE", "LIVE ROWS", "REBUILT ROWS")
    };
    let mut table = Table::new(&[
        (first, Align::Left),
        (live_header, Align::Right),
        (rebuilt_header, Align::Right),
        ("LIVE CHECKSUM", Align::Left),
        ("REBUILT CHECKSUM", Align::Left),
        ("RESULT", Align::Left),
    ]);
    for comparison in &report.compared {
        let result = if comparison.matches() {
            output.good("identical")
        } else {
            output.bad(&format!("{} differ", count(comparison.differing.max(0) as u64)))
        };
        table.push(vec![
            comparison.name.clone(),
            count(comparison.live_rows.max(0) as u64),
            count(comparison.rebuilt_rows.max(0) as u64),
            comparison.live_checksum.clone(),
            comparison.rebuilt_checksum.clone(),
            result,
        ]);
    }
    output.line(format!(
        "{} compared with a scratch rebuild at {} ({} events in {})",
        output.bold(report.projection),
        report.position,
        count(report.events),
        duration(report.seconds)
    ));
    output.print_table(&table);
    for comparison in report.compared.iter().filter(|comparison| !comparison.differences.is_empty()) {
        output.line("");
        output.line(output.bold(&format!("Differences in {}:", comparison.name)));
        let mut differences = Table::new(&[("KEY", Align::Left), ("KIND", Align::Left), ("DETAIL", Align::Left)]);
        for difference in &comparison.differences {
            let detail = difference
                .columns
                .iter()
                .map(|column| format!("{}: live {} ≠ rebuilt {}", column.column, column.live, column.rebuilt))
                .collect::<Vec<_>>()
                .join("; ");
            differences.push(vec![difference.key.clone(), output.warn(difference.kind), detail]);
        }
        output.print_table(&differences);
        if comparison.differing > comparison.differences.len() as i64 {
            output.line(output.dim(&format!(
                "… and {} more (raise --max-differences)",
                comparison.differing - comparison.differences.len() as i64
            )));
        }
    }
    output.line(if report.identical {
        output.good("✓ the live view matches a rebuild from the event store")
    } else {
        output.bad("✗ the live view differs from a rebuild from the event store")
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_changed_column_is_reported_with_both_values() {
        let live = json!({"order_id": "a", "total_minor": 1201, "status": "paid"});
        let rebuilt = json!({"order_id": "a", "total_minor": 1200, "status": "paid"});
        let difference = row_difference(&["order_id"], Some(&live), Some(&rebuilt));
        assert_eq!(difference.key, "order_id=a");
        assert_eq!(difference.kind, "differs");
        assert_eq!(difference.columns.len(), 1);
        assert_eq!(difference.columns[0].column, "total_minor");
        assert_eq!(difference.columns[0].live, json!(1201));
    }

    #[test]
    fn a_row_only_in_one_copy_is_missing_or_extra() {
        let row = json!({"customer_id": "c", "currency": "EUR"});
        let missing = row_difference(&["customer_id", "currency"], None, Some(&row));
        assert_eq!((missing.kind, missing.key.as_str()), ("missing_in_live", "customer_id=c, currency=EUR"));
        assert_eq!(row_difference(&["customer_id"], Some(&row), None).kind, "extra_in_live");
    }
}
