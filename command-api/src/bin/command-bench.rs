//! Load generator of the command API: commands/s and p50/p99 latency over HTTP at several concurrency
//! levels, beside the event store's own append rate measured in the same run on the same database.
//!
//! `cargo run --release -p command-api --bin command-bench` (the local stack must be up; `-- --help` lists
//! the options). It creates a scratch database (so `DATABASE_URL` must be a role that may create
//! databases), runs the event-store migrations there, starts the service in-process on an ephemeral port
//! (or drives `--url`), and drops the database at the end.
//!
//! Workloads, each task on its own orders/streams, one event per command:
//! - `http`: `PATCH /orders/{id}/items/{sku}` through `CommandClient`, alternating the quantity so every
//!   command appends one `order.item_quantity_changed` (load from snapshot + tail, decide, append);
//! - `store`: `EventStore::append` of the same event payload with `ExpectedVersion::Exact`, no HTTP and no load.
//!
//! Slices of both alternate, so other load on the machine hits both alike.

use std::str::FromStr;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use std::time::Instant;

use anyhow::Context;
use clap::Parser;
use command_api::client::CommandClient;
use command_api::client::CommandOptions;
use command_api::AppState;
use command_api::Settings;
use event_store::EventStore;
use event_store::ExpectedVersion;
use event_store::Metadata;
use event_store::NewEvent;
use event_store::StreamRef;
use hdrhistogram::Histogram;
use schemas::order as wire;
use serde_json::json;
use sqlx::postgres::PgConnectOptions;
use sqlx::postgres::PgPoolOptions;
use sqlx::ConnectOptions;
use sqlx::Connection;
use uuid::Uuid;

#[derive(Debug, Parser)]
#[command(about = "Command API load generator with the event store's append rate as baseline")]
struct Args {
    /// Postgres URL of a role that may create databases; only host, port and credentials are used.
    #[arg(long, env = "DATABASE_URL", default_value = "postgres://orders_admin:orders_admin@127.0.0.1:55432/orders")]
    database_url: String,
    /// Drive a running command API at this URL instead of starting one in-process.
    #[arg(long)]
    url: Option<String>,
    /// Concurrency levels (requests in flight at once).
    #[arg(long, value_delimiter = ',', default_value = "1,8,32,64")]
    concurrency: Vec<usize>,
    /// Seconds of one measured slice.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Seconds of warm-up before each slice.
    #[arg(long, default_value_t = 1.0)]
    warmup_seconds: f64,
    /// Slices per workload and concurrency, alternating http and store.
    #[arg(long, default_value_t = 2)]
    rounds: usize,
    /// Orders each task cycles through.
    #[arg(long, default_value_t = 4)]
    orders_per_task: usize,
    /// Snapshot interval of the in-process service.
    #[arg(long, default_value_t = 50)]
    snapshot_every: u32,
    /// Speak HTTP/2 with prior knowledge (one multiplexed connection) instead of HTTP/1.1 connections.
    #[arg(long)]
    http2: bool,
    /// Keep the scratch database.
    #[arg(long)]
    keep_database: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Workload {
    Http,
    Store,
}

struct Slice {
    operations: u64,
    errors: u64,
    elapsed: Duration,
    latency_micros: Histogram<u64>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let admin_options = PgConnectOptions::from_str(&args.database_url).context("parsing DATABASE_URL")?;
    let database = format!("command_bench_{}", Uuid::now_v7().simple());
    let mut admin = admin_options.clone().database("postgres").connect().await.context("connecting as admin")?;
    sqlx::query(&format!("CREATE DATABASE {database}"))
        .execute(&mut admin)
        .await
        .context("creating the scratch database")?;
    let result = bench(&args, admin_options.clone().database(&database)).await;
    if !args.keep_database {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)")).execute(&mut admin).await;
    }
    admin.close().await.ok();
    result
}

async fn bench(args: &Args, scratch: PgConnectOptions) -> anyhow::Result<()> {
    let max_concurrency = args.concurrency.iter().copied().max().unwrap_or(1);
    let pool = PgPoolOptions::new()
        .max_connections(u32::try_from(max_concurrency + 8).unwrap_or(100))
        // As the service's own pool (`AppState::connect`): no ping before every query.
        .test_before_acquire(false)
        .connect_with(scratch)
        .await
        .context("connecting to the scratch database")?;
    event_store::MIGRATOR.run(&pool).await.context("migrating the scratch database")?;

    let mut settings = Settings::for_database("postgres://pool-given");
    settings.snapshot_every = args.snapshot_every;
    settings.max_conflict_retries = 5;
    let (base_url, server) = match &args.url {
        Some(url) => (url.clone(), None),
        None => {
            let state = AppState::new(pool.clone(), &settings);
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let url = format!("http://{}", listener.local_addr()?);
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let handle = tokio::spawn(command_api::serve(
                listener,
                state,
                async move {
                    let _ = stopped.await;
                },
                Duration::from_secs(5),
            ));
            (url, Some((stop, handle)))
        }
    };
    let builder = reqwest::Client::builder().pool_max_idle_per_host(max_concurrency * 2);
    let http = if args.http2 { builder.http2_prior_knowledge() } else { builder }.build()?;
    let client = CommandClient::with_http(http, base_url.clone());
    let store = EventStore::new(pool.clone());

    println!(
        "command-api benchmark: {base_url} over {}, slices of {}s x {} rounds, snapshots every {} events",
        if args.http2 { "HTTP/2 (prior knowledge)" } else { "HTTP/1.1" },
        args.seconds,
        args.rounds,
        args.snapshot_every
    );
    println!(
        "http = PATCH item quantity over HTTP (load + decide + append); store = EventStore::append of the same event"
    );
    println!();
    println!(
        "{:>5} | {:>10} {:>9} {:>9} | {:>10} {:>9} {:>9} | {:>6} | {:>6}",
        "conc", "http cmd/s", "p50 ms", "p99 ms", "store ap/s", "p50 ms", "p99 ms", "ratio", "errors"
    );

    for &concurrency in &args.concurrency {
        let orders = prepare_orders(&client, concurrency * args.orders_per_task).await?;
        let streams = prepare_streams(&store, concurrency * args.orders_per_task).await?;
        let mut http_total = Totals::default();
        let mut store_total = Totals::default();
        for _ in 0..args.rounds {
            for workload in [Workload::Http, Workload::Store] {
                let warmup =
                    run_slice(workload, &client, &store, &orders, &streams, concurrency, args.warmup_seconds).await;
                drop(warmup);
                let slice = run_slice(workload, &client, &store, &orders, &streams, concurrency, args.seconds).await;
                match workload {
                    Workload::Http => http_total.add(slice)?,
                    Workload::Store => store_total.add(slice)?,
                }
            }
        }
        let http_rate = http_total.rate();
        let store_rate = store_total.rate();
        println!(
            "{:>5} | {:>10.0} {:>9.2} {:>9.2} | {:>10.0} {:>9.2} {:>9.2} | {:>5.0}% | {:>6}",
            concurrency,
            http_rate,
            http_total.quantile_ms(0.50),
            http_total.quantile_ms(0.99),
            store_rate,
            store_total.quantile_ms(0.50),
            store_total.quantile_ms(0.99),
            100.0 * http_rate / store_rate.max(f64::MIN_POSITIVE),
            http_total.errors + store_total.errors,
        );
    }

    if let Some((stop, handle)) = server {
        let _ = stop.send(());
        handle.await.context("the server task")??;
    }
    pool.close().await;
    Ok(())
}

#[derive(Default)]
struct Totals {
    operations: u64,
    errors: u64,
    elapsed: Duration,
    latency_micros: Option<Histogram<u64>>,
}

impl Totals {
    fn add(&mut self, slice: Slice) -> anyhow::Result<()> {
        self.operations += slice.operations;
        self.errors += slice.errors;
        self.elapsed += slice.elapsed;
        match &mut self.latency_micros {
            Some(histogram) => histogram.add(&slice.latency_micros).context("merging histograms")?,
            None => self.latency_micros = Some(slice.latency_micros),
        }
        Ok(())
    }

    fn rate(&self) -> f64 {
        self.operations as f64 / self.elapsed.as_secs_f64().max(f64::MIN_POSITIVE)
    }

    fn quantile_ms(&self, quantile: f64) -> f64 {
        self.latency_micros.as_ref().map_or(0.0, |histogram| histogram.value_at_quantile(quantile) as f64 / 1000.0)
    }
}

/// Orders with one line `SKU-1` of quantity 1, whose quantity the HTTP workload flips.
struct BenchOrder {
    order_id: Uuid,
    quantity: std::sync::atomic::AtomicI64,
}

async fn prepare_orders(client: &CommandClient, count: usize) -> anyhow::Result<Arc<Vec<BenchOrder>>> {
    let options = CommandOptions::default();
    let mut orders = Vec::with_capacity(count);
    for _ in 0..count {
        let body = wire::CreateOrderV1 { order_id: None, customer_id: Uuid::now_v7(), currency: "EUR".to_owned() };
        let order_id = client.create_order(&body, &options).await.context("creating an order")?.order_id();
        let item = wire::AddItemV1 {
            sku: "SKU-1".to_owned(),
            name: "Benchmark item".to_owned(),
            unit_price_minor: 1999,
            quantity: 1,
        };
        client.add_item(order_id, &item, &options).await.context("adding the item")?;
        orders.push(BenchOrder { order_id, quantity: std::sync::atomic::AtomicI64::new(1) });
    }
    Ok(Arc::new(orders))
}

/// Streams for the store workload, with the version each one is at.
struct BenchStream {
    stream: StreamRef,
    version: std::sync::atomic::AtomicI64,
}

async fn prepare_streams(store: &EventStore, count: usize) -> anyhow::Result<Arc<Vec<BenchStream>>> {
    let mut streams = Vec::with_capacity(count);
    for _ in 0..count {
        let stream = StreamRef::new(Uuid::now_v7(), "bench");
        store
            .append(
                &stream,
                ExpectedVersion::NoStream,
                vec![event_like_http(stream.id, 1)],
                &Metadata::for_command(Uuid::now_v7()),
            )
            .await
            .context("creating a stream")?;
        streams.push(BenchStream { stream, version: std::sync::atomic::AtomicI64::new(1) });
    }
    Ok(Arc::new(streams))
}

/// The payload the HTTP workload's command appends, so both workloads write the same bytes.
fn event_like_http(order_id: Uuid, quantity: i64) -> NewEvent {
    NewEvent::new(
        "order.item_quantity_changed",
        1,
        json!({
            "order_id": order_id, "sku": "SKU-1", "name": "Benchmark item", "unit_price_minor": 1999,
            "previous_quantity": 3 - quantity, "quantity": quantity, "line_total_minor": 1999 * quantity,
            "order_total_minor": 1999 * quantity, "item_count": quantity, "line_count": 1, "currency": "EUR",
            "occurred_at": chrono::Utc::now(),
        }),
    )
}

async fn run_slice(
    workload: Workload,
    client: &CommandClient,
    store: &EventStore,
    orders: &Arc<Vec<BenchOrder>>,
    streams: &Arc<Vec<BenchStream>>,
    concurrency: usize,
    seconds: f64,
) -> Slice {
    let stop = Arc::new(AtomicBool::new(false));
    let per_task = orders.len() / concurrency;
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|task| {
            let stop = stop.clone();
            let client = client.clone();
            let store = store.clone();
            let orders = orders.clone();
            let streams = streams.clone();
            tokio::spawn(async move {
                let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds");
                let (mut operations, mut errors, mut turn) = (0u64, 0u64, 0usize);
                while !stop.load(Ordering::Relaxed) {
                    let index = task * per_task + turn % per_task;
                    turn += 1;
                    let begun = Instant::now();
                    let ok = match workload {
                        Workload::Http => {
                            let order = &orders[index];
                            let quantity = 3 - order.quantity.load(Ordering::Relaxed);
                            let body = wire::ChangeItemQuantityV1 { quantity };
                            let answer = client
                                .change_item_quantity(order.order_id, "SKU-1", &body, &CommandOptions::default())
                                .await;
                            if answer.is_ok() {
                                order.quantity.store(quantity, Ordering::Relaxed);
                            }
                            answer.is_ok()
                        }
                        Workload::Store => {
                            let stream = &streams[index];
                            let version = stream.version.load(Ordering::Relaxed);
                            let quantity = 1 + version % 2;
                            let appended = store
                                .append(
                                    &stream.stream,
                                    ExpectedVersion::Exact(version),
                                    vec![event_like_http(stream.stream.id, quantity)],
                                    &Metadata::for_command(Uuid::now_v7()),
                                )
                                .await;
                            if let Ok(result) = &appended {
                                stream.version.store(result.last_version, Ordering::Relaxed);
                            }
                            appended.is_ok()
                        }
                    };
                    if ok {
                        operations += 1;
                        let _ = latency.record(u64::try_from(begun.elapsed().as_micros()).unwrap_or(u64::MAX).max(1));
                    } else {
                        errors += 1;
                    }
                }
                (operations, errors, latency)
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut slice = Slice {
        operations: 0,
        errors: 0,
        elapsed: Duration::ZERO,
        latency_micros: Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds"),
    };
    for task in futures::future::join_all(tasks).await {
        let Ok((operations, errors, latency)) = task else { continue };
        slice.operations += operations;
        slice.errors += errors;
        let _ = slice.latency_micros.add(&latency);
    }
    slice.elapsed = started.elapsed();
    slice
}
