//! The baseline: the same number of rows as accepted commands, written with plain single-row INSERT
//! transactions into a bare table shaped like the events table, in a scratch database created for the
//! purpose and dropped afterwards. It is what Postgres alone does on this machine, with the same concurrency.

use std::str::FromStr;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use std::time::Instant;

use anyhow::Context;
use serde::Deserialize;
use serde::Serialize;
use sqlx::postgres::PgConnectOptions;
use sqlx::postgres::PgPoolOptions;
use sqlx::ConnectOptions;
use sqlx::Connection;
use uuid::Uuid;

use crate::stats::per_second;

/// What the baseline measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BaselineReport {
    /// Rows inserted.
    pub rows: u64,
    /// Concurrent writers.
    pub concurrency: usize,
    /// Wall time.
    pub seconds: f64,
    /// Rows per second.
    pub inserts_per_second: f64,
    /// True when the time budget ran out before every row was written (the rate is still valid).
    pub cut_short: bool,
}

const SCRATCH_TABLE: &str = "CREATE TABLE scratch_events (
    global_position bigint      GENERATED ALWAYS AS IDENTITY,
    transaction_id  xid8        NOT NULL DEFAULT pg_current_xact_id(),
    stream_id       uuid        NOT NULL,
    stream_type     text        NOT NULL,
    version         bigint      NOT NULL,
    event_id        uuid        NOT NULL,
    event_type      text        NOT NULL,
    schema_version  integer     NOT NULL,
    payload         jsonb       NOT NULL,
    metadata        jsonb       NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    hash            bytea       NOT NULL,
    PRIMARY KEY (transaction_id, global_position),
    UNIQUE (stream_id, version),
    UNIQUE (event_id)
)";

/// Inserts `rows` rows with `concurrency` writers, one row per transaction, for at most `budget`.
/// `admin_url` must be a role that may create databases; the scratch database is always dropped.
pub async fn raw_insert_baseline(
    admin_url: &str,
    rows: u64,
    concurrency: usize,
    budget: Duration,
) -> anyhow::Result<BaselineReport> {
    let admin_options = PgConnectOptions::from_str(admin_url).context("parsing the admin database URL")?;
    let scratch = format!("orders_bench_baseline_{}", std::process::id());
    let mut admin = admin_options.connect().await.context("connecting as admin for the baseline")?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {scratch} WITH (FORCE)")).execute(&mut admin).await?;
    sqlx::query(&format!("CREATE DATABASE {scratch}"))
        .execute(&mut admin)
        .await
        .context("creating the scratch database")?;
    let measured = measure(admin_options.clone().database(&scratch), rows, concurrency.max(1), budget).await;
    let dropped = sqlx::query(&format!("DROP DATABASE IF EXISTS {scratch} WITH (FORCE)")).execute(&mut admin).await;
    let _ = admin.close().await;
    let report = measured?;
    dropped.context("dropping the scratch database")?;
    Ok(report)
}

async fn measure(
    options: PgConnectOptions,
    rows: u64,
    concurrency: usize,
    budget: Duration,
) -> anyhow::Result<BaselineReport> {
    let pool = PgPoolOptions::new()
        .max_connections(concurrency as u32)
        .min_connections(concurrency as u32)
        .connect_with(options)
        .await
        .context("connecting to the scratch database")?;
    sqlx::query(SCRATCH_TABLE).execute(&pool).await.context("creating the scratch table")?;
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + budget;
    let mut writers = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let pool = pool.clone();
        let next = next.clone();
        writers.push(tokio::spawn(async move {
            let mut written = 0_u64;
            loop {
                let row = next.fetch_add(1, Ordering::Relaxed);
                if row >= rows || Instant::now() >= deadline {
                    return Ok::<u64, sqlx::Error>(written);
                }
                insert_one(&pool, row).await?;
                written += 1;
            }
        }));
    }
    let mut written = 0;
    for writer in writers {
        written += writer.await.context("joining a baseline writer")?.context("inserting a baseline row")?;
    }
    let elapsed = started.elapsed();
    pool.close().await;
    Ok(BaselineReport {
        rows: written,
        concurrency,
        seconds: (elapsed.as_secs_f64() * 1_000.0).round() / 1_000.0,
        inserts_per_second: per_second(written, elapsed),
        cut_short: written < rows,
    })
}

/// One row like an `order.item_added` event: about the same payload and metadata sizes.
async fn insert_one(pool: &sqlx::PgPool, row: u64) -> Result<(), sqlx::Error> {
    // Eight events per stream, as an order has on average.
    let stream_id = Uuid::from_u128(0xBA5E_0000_0000_0000_0000_0000_0000_0000 | u128::from(row / 8));
    let event_id = Uuid::now_v7();
    let payload = serde_json::json!({
        "order_id": stream_id,
        "line": { "sku": format!("SKU-{:05}", row % 400), "name": "Classic Espresso cup", "unit_price_minor": 1299, "quantity": 2 },
        "totals": { "order_total_minor": 2598, "currency": "EUR", "item_count": 2, "line_count": 1 },
        "occurred_at": "2026-01-01T12:00:00.000000Z",
    });
    let metadata = serde_json::json!({
        "command_id": Uuid::new_v4(),
        "correlation_id": Uuid::new_v4().to_string(),
        "actor": "orders-load",
        "extra": { "http_method": "POST", "request_path": format!("/orders/{stream_id}/items"), "requested_at": "2026-01-01T12:00:00.000000Z" },
    });
    sqlx::query(
        "INSERT INTO scratch_events (stream_id, stream_type, version, event_id, event_type, schema_version, payload, metadata, hash) \
         VALUES ($1, 'order', $2, $3, 'order.item_added', 1, $4, $5, $6)",
    )
    .bind(stream_id)
    .bind((row % 8) as i64 + 1)
    .bind(event_id)
    .bind(payload)
    .bind(metadata)
    .bind(event_id.as_bytes().repeat(2))
    .execute(pool)
    .await?;
    Ok(())
}
