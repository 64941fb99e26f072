//! Append throughput and latency of the event store against a plain INSERT baseline, measured in one run.
//!
//! Run with `cargo bench -p event-store --bench append` (the local stack must be up); `-- --help` lists
//! the options. It creates its own scratch database, runs the event store migrations there, and drops it
//! at the end, so it never touches `orders`.
//!
//! For each batch size and concurrency it runs two workloads for the same duration:
//! - `event store`: `EventStore::append` with `ExpectedVersion::Exact`, each task on its own streams
//!   (a fresh stream every 20 appends), a fresh command id per append;
//! - `raw INSERT`: the same rows (same columns, precomputed values) written into a bare table with only a
//!   primary key, one autocommit INSERT statement per append (`VALUES` for one row, `unnest` for a batch).
//!
//! A last pair of rows shows what `NOTIFY` inside the writing transaction costs, which is why the store
//! wakes tailers by polling instead.

use std::time::{Duration, Instant};

use clap::Parser;
use event_store::{EventStore, ExpectedVersion, Metadata, NewEvent, StreamRef, MIGRATOR};
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};
use uuid::Uuid;

#[derive(Debug, Parser)]
#[command(about = "Event store append benchmark against a raw INSERT baseline")]
struct Args {
    /// A Postgres URL of a role allowed to create databases; only its host, port and credentials are used.
    #[arg(long, env = "DATABASE_URL", default_value = "postgres://orders_admin:orders_admin@127.0.0.1:55432/orders")]
    database_url: String,
    /// Seconds of one measured slice; each row adds up `rounds` slices per workload.
    #[arg(long, default_value_t = 2.0)]
    seconds: f64,
    /// Seconds of warm-up before each slice.
    #[arg(long, default_value_t = 0.5)]
    warmup_seconds: f64,
    /// Slices per workload and row, interleaved (store, raw, indexed, store, ...) so that load from
    /// other processes on the machine hits all workloads alike.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Concurrency levels (tasks appending at once).
    #[arg(long, value_delimiter = ',', default_value = "1,8,32")]
    concurrency: Vec<usize>,
    /// Events per append.
    #[arg(long, value_delimiter = ',', default_value = "1,10")]
    batch: Vec<usize>,
    /// Skip the NOTIFY comparison rows.
    #[arg(long)]
    no_notify_rows: bool,
    /// Keep the scratch database instead of dropping it.
    #[arg(long)]
    keep_database: bool,
    /// Only passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Workload {
    EventStore,
    RawInsert,
    RawInsertIndexed,
    RawInsertWithNotify,
}

impl Workload {
    fn table(self) -> &'static str {
        match self {
            Workload::RawInsertIndexed => "raw_events_indexed",
            Workload::EventStore | Workload::RawInsert | Workload::RawInsertWithNotify => "raw_events",
        }
    }
}

struct Measurement {
    appends: u64,
    elapsed: Duration,
    latency_micros: Histogram<u64>,
}

impl Measurement {
    fn empty() -> Result<Self, BoxError> {
        Ok(Self { appends: 0, elapsed: Duration::ZERO, latency_micros: Histogram::new_with_bounds(1, 60_000_000, 3)? })
    }
    fn add(&mut self, other: Measurement) -> Result<(), BoxError> {
        self.appends += other.appends;
        self.elapsed += other.elapsed;
        self.latency_micros.add(other.latency_micros)?;
        Ok(())
    }
    fn appends_per_second(&self) -> f64 {
        self.appends as f64 / self.elapsed.as_secs_f64()
    }
    fn millis(&self, quantile: f64) -> f64 {
        self.latency_micros.value_at_quantile(quantile) as f64 / 1000.0
    }
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args = Args::parse();
    let base: PgConnectOptions = args.database_url.parse()?;
    let scratch_name = format!("event_store_bench_{}", std::process::id());
    let mut admin = base.clone().database("postgres").connect().await?;
    sqlx::query(&format!("CREATE DATABASE {scratch_name}")).execute(&mut admin).await?;
    eprintln!("scratch database {scratch_name}");

    let outcome = run(&args, base.clone().database(&scratch_name)).await;

    if !args.keep_database {
        sqlx::query(&format!("DROP DATABASE {scratch_name} WITH (FORCE)")).execute(&mut admin).await?;
    }
    admin.close().await?;
    outcome
}

async fn run(args: &Args, options: PgConnectOptions) -> Result<(), BoxError> {
    let max_concurrency = args.concurrency.iter().copied().max().unwrap_or(1);
    let pool = PgPoolOptions::new()
        .max_connections(max_concurrency as u32 + 2)
        .min_connections(max_concurrency as u32)
        .connect_with(options)
        .await?;
    MIGRATOR.run(&pool).await?;
    sqlx::query(
        "CREATE TABLE raw_events (
            global_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            transaction_id  xid8 NOT NULL DEFAULT pg_current_xact_id(),
            stream_id uuid NOT NULL, stream_type text NOT NULL, version bigint NOT NULL,
            event_id uuid NOT NULL, event_type text NOT NULL, schema_version integer NOT NULL,
            payload jsonb NOT NULL, metadata jsonb NOT NULL, recorded_at timestamptz NOT NULL,
            command_id uuid, envelope bytea NOT NULL, hash bytea NOT NULL)",
    )
    .execute(&pool)
    .await?;
    // The same rows with the event store's keys, to separate the cost of its indexes from that of its logic.
    sqlx::query("CREATE TABLE raw_events_indexed (LIKE raw_events INCLUDING DEFAULTS INCLUDING IDENTITY)")
        .execute(&pool)
        .await?;
    sqlx::query(
        "ALTER TABLE raw_events_indexed ADD PRIMARY KEY (transaction_id, global_position), \
             ADD UNIQUE (stream_id, version), ADD UNIQUE (event_id)",
    )
    .execute(&pool)
    .await?;
    sqlx::query("CREATE UNIQUE INDEX ON raw_events_indexed (command_id) WHERE command_id IS NOT NULL")
        .execute(&pool)
        .await?;
    let settings: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, setting FROM pg_settings WHERE name IN ('synchronous_commit', 'fsync', 'server_version', 'shared_buffers') ORDER BY name",
    )
    .fetch_all(&pool)
    .await?;
    let settings: Vec<String> = settings.into_iter().map(|(name, value)| format!("{name}={value}")).collect();
    println!(
        "postgres: {}; client and server share {} CPUs",
        settings.join(", "),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "each row: {} interleaved slices of {} s per workload, each after {} s warm-up; latency is per append",
        args.rounds, args.seconds, args.warmup_seconds
    );
    println!();
    println!("ratio = event store appends/s divided by raw INSERT appends/s; 'indexed' = raw INSERT into a table with the store's four keys");
    println!(
        "{:>5} {:>5} | {:>11} {:>9} {:>7} {:>7} | {:>11} {:>9} {:>7} {:>7} | {:>6} | {:>13} {:>6}",
        "batch",
        "conc",
        "store app/s",
        "events/s",
        "p50 ms",
        "p99 ms",
        "raw app/s",
        "events/s",
        "p50 ms",
        "p99 ms",
        "ratio",
        "indexed app/s",
        "ratio"
    );
    let store = EventStore::new(pool.clone());
    for &batch in &args.batch {
        for &concurrency in &args.concurrency {
            let mut store_result = Measurement::empty()?;
            let mut raw_result = Measurement::empty()?;
            let mut indexed_result = Measurement::empty()?;
            for _ in 0..args.rounds.max(1) {
                store_result.add(measure(args, &store, Workload::EventStore, concurrency, batch).await?)?;
                raw_result.add(measure(args, &store, Workload::RawInsert, concurrency, batch).await?)?;
                indexed_result.add(measure(args, &store, Workload::RawInsertIndexed, concurrency, batch).await?)?;
            }
            println!(
                "{:>5} {:>5} | {:>11.0} {:>9.0} {:>7.2} {:>7.2} | {:>11.0} {:>9.0} {:>7.2} {:>7.2} | {:>5.0}% | {:>13.0} {:>5.0}%",
                batch,
                concurrency,
                store_result.appends_per_second(),
                store_result.appends_per_second() * batch as f64,
                store_result.millis(0.5),
                store_result.millis(0.99),
                raw_result.appends_per_second(),
                raw_result.appends_per_second() * batch as f64,
                raw_result.millis(0.5),
                raw_result.millis(0.99),
                100.0 * store_result.appends_per_second() / raw_result.appends_per_second(),
                indexed_result.appends_per_second(),
                100.0 * store_result.appends_per_second() / indexed_result.appends_per_second(),
            );
        }
    }
    if !args.no_notify_rows {
        let concurrency = max_concurrency;
        let mut without = Measurement::empty()?;
        let mut with = Measurement::empty()?;
        for _ in 0..args.rounds.max(1) {
            without.add(measure(args, &store, Workload::RawInsert, concurrency, 1).await?)?;
            with.add(measure(args, &store, Workload::RawInsertWithNotify, concurrency, 1).await?)?;
        }
        println!();
        println!("NOTIFY in the writing transaction, batch 1, concurrency {concurrency}:");
        for (name, result) in [("raw INSERT", &without), ("raw INSERT + NOTIFY", &with)] {
            println!(
                "  {name:<20} {:>8.0} app/s  p50 {:>6.2} ms  p99 {:>6.2} ms",
                result.appends_per_second(),
                result.millis(0.5),
                result.millis(0.99)
            );
        }
    }
    pool.close().await;
    Ok(())
}

async fn measure(
    args: &Args,
    store: &EventStore,
    workload: Workload,
    concurrency: usize,
    batch: usize,
) -> Result<Measurement, BoxError> {
    let warmup = Duration::from_secs_f64(args.warmup_seconds);
    let duration = Duration::from_secs_f64(args.seconds);
    let start = Instant::now() + warmup;
    let deadline = start + duration;
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let store = store.clone();
        tasks.push(tokio::spawn(async move { worker(store, workload, batch, start, deadline).await }));
    }
    let mut appends = 0;
    let mut latency_micros = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    for task in tasks {
        let (task_appends, task_latency) = task.await??;
        appends += task_appends;
        latency_micros.add(task_latency)?;
    }
    Ok(Measurement { appends, elapsed: duration, latency_micros })
}

fn order_payload(index: usize) -> Value {
    json!({
        "customer_id": Uuid::now_v7(),
        "lines": [
            {"sku": format!("SKU-{index:05}"), "quantity": 2, "unit_price": {"minor_units": 1999, "currency": "EUR"}},
            {"sku": "SKU-00042", "quantity": 1, "unit_price": {"minor_units": 4500, "currency": "EUR"}}
        ],
        "total": {"minor_units": 8498, "currency": "EUR"},
        "placed_at": "2026-11-21T10:00:00Z"
    })
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type WorkerResult = Result<(u64, Histogram<u64>), BoxError>;

async fn worker(
    store: EventStore,
    workload: Workload,
    batch: usize,
    start: Instant,
    deadline: Instant,
) -> WorkerResult {
    let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let mut appends = 0;
    let mut stream = StreamRef::new(Uuid::now_v7(), "order");
    let mut version = 0_i64;
    loop {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        if version >= 20 {
            stream = StreamRef::new(Uuid::now_v7(), "order");
            version = 0;
        }
        let events: Vec<NewEvent> =
            (0..batch).map(|index| NewEvent::new("order.placed", 1, order_payload(index))).collect();
        let metadata = Metadata::for_command(Uuid::now_v7());
        let began = Instant::now();
        match workload {
            Workload::EventStore => {
                let result = store.append(&stream, ExpectedVersion::Exact(version), events, &metadata).await?;
                version = result.last_version;
            }
            Workload::RawInsert | Workload::RawInsertIndexed | Workload::RawInsertWithNotify => {
                raw_insert(store.pool(), workload, &stream, version, &events, &metadata).await?;
                version += batch as i64;
            }
        }
        if began >= start {
            appends += 1;
            latency.record(began.elapsed().as_micros().max(1) as u64)?;
        }
    }
    Ok((appends, latency))
}

async fn raw_insert(
    pool: &PgPool,
    workload: Workload,
    stream: &StreamRef,
    version: i64,
    events: &[NewEvent],
    metadata: &Metadata,
) -> Result<(), sqlx::Error> {
    let metadata = serde_json::to_value(metadata).map_err(|error| sqlx::Error::Encode(Box::new(error)))?;
    let recorded_at = chrono::Utc::now();
    // Stand-ins for the envelope and hash of the same size as the store's (the envelope holds the payload,
    // the metadata and the ids), so both tables write the same bytes; they are not canonical or chained.
    let envelopes: Vec<Vec<u8>> = events
        .iter()
        .enumerate()
        .map(|(offset, event)| {
            json!({
                "event_id": event.event_id, "event_type": event.event_type, "metadata": metadata,
                "payload": event.payload, "recorded_at": recorded_at, "schema_version": event.schema_version,
                "stream_id": stream.id, "stream_type": stream.stream_type, "version": version + 1 + offset as i64,
            })
            .to_string()
            .into_bytes()
        })
        .collect();
    let hash = vec![7_u8; 32];
    let mut connection = pool.acquire().await?;
    insert_rows(&mut connection, workload, stream, version, events, &metadata, recorded_at, &envelopes, &hash).await
}

#[allow(clippy::too_many_arguments)] // One row's worth of columns.
async fn insert_rows(
    connection: &mut sqlx::PgConnection,
    workload: Workload,
    stream: &StreamRef,
    version: i64,
    events: &[NewEvent],
    metadata: &Value,
    recorded_at: chrono::DateTime<chrono::Utc>,
    envelopes: &[Vec<u8>],
    hash: &[u8],
) -> Result<(), sqlx::Error> {
    let table = workload.table();
    if let [event] = events {
        let insert = format!(
            "INSERT INTO {table} (stream_id, stream_type, version, event_id, event_type, schema_version, \
             payload, metadata, recorded_at, command_id, envelope, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        );
        // The same single statement, plus a NOTIFY queued in its (implicit) transaction.
        let statement = if workload == Workload::RawInsertWithNotify {
            format!("WITH inserted AS ({insert} RETURNING 1) SELECT pg_notify('event_store_bench', '') FROM inserted")
        } else {
            insert
        };
        sqlx::query(&statement)
            .bind(stream.id)
            .bind(&stream.stream_type)
            .bind(version + 1)
            .bind(event.event_id)
            .bind(&event.event_type)
            .bind(event.schema_version)
            .bind(&event.payload)
            .bind(metadata)
            .bind(recorded_at)
            .bind(Uuid::now_v7())
            .bind(&envelopes[0])
            .bind(hash)
            .execute(connection)
            .await?;
    } else {
        sqlx::query(&format!(
            "INSERT INTO {table} (stream_id, stream_type, version, event_id, event_type, schema_version, \
             payload, metadata, recorded_at, command_id, envelope, hash) \
             SELECT $1, $2, $3 + u.ord, u.event_id, u.event_type, u.schema_version, u.payload, $7, $8, \
             CASE WHEN u.ord = 1 THEN $9::uuid END, u.envelope, $10 \
             FROM unnest($4::uuid[], $5::text[], $6::integer[], $11::jsonb[], $12::bytea[]) \
                  WITH ORDINALITY AS u(event_id, event_type, schema_version, payload, envelope, ord)"
        ))
        .bind(stream.id)
        .bind(&stream.stream_type)
        .bind(version)
        .bind(events.iter().map(|event| event.event_id).collect::<Vec<_>>())
        .bind(events.iter().map(|event| event.event_type.as_str()).collect::<Vec<_>>())
        .bind(events.iter().map(|event| event.schema_version).collect::<Vec<_>>())
        .bind(metadata)
        .bind(recorded_at)
        .bind(Uuid::now_v7())
        .bind(hash)
        .bind(events.iter().map(|event| &event.payload).collect::<Vec<_>>())
        .bind(envelopes)
        .execute(connection)
        .await?;
    }
    Ok(())
}
