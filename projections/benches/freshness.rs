//! Freshness and catch-up benchmark against the local stack:
//!
//! 1. Under a steady append load (default 500 appends/s for 20 s, one event per append, through
//!    `event_store::EventStore`), the relay and both projectors run in this process; for every append it
//!    records the time from the append's commit until the projection's checkpoint covers its token.
//!    A checkpoint moves in the transaction that changes the views, and the search checkpoint only after a
//!    `refresh=wait_for` bulk, so "covered" means visible in Postgres, or searchable in Elasticsearch.
//! 2. It then appends more history unpaced and replays each projection from position 0 into fresh targets,
//!    printing events per second.
//!
//! `cargo bench -p projections --bench freshness -- [--rate 500] [--seconds 20] [--refresh 250ms]
//! [--catch-up-events 50000]`. Needs DATABASE_URL (a CREATEDB role), NATS_URL and ELASTICSEARCH_URL.

#[allow(dead_code, unreachable_pub)]
#[path = "../tests/pipeline/helpers.rs"]
mod helpers;

use std::sync::Arc;
use std::time::{Duration, Instant};

use event_store::{ConsistencyToken, EventStore, ExpectedVersion, LogPosition, Metadata, NewEvent, StreamRef};
use hdrhistogram::Histogram;
use helpers::{mixed_orders, OrderScript};
use projections::{
    NatsTopology, Projector, ProjectorOptions, Relay, SearchIndex, ViewTables, ORDER_SEARCH, ORDER_VIEWS,
};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgPool};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

struct Arguments {
    rate: u64,
    seconds: u64,
    refresh: String,
    catch_up_events: usize,
}

fn arguments() -> Arguments {
    let mut parsed = Arguments { rate: 500, seconds: 20, refresh: "250ms".to_owned(), catch_up_events: 50_000 };
    let mut args = std::env::args().skip(1);
    while let Some(name) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{name} needs a value"));
        match name.as_str() {
            "--rate" => parsed.rate = value().parse().expect("--rate is a number"),
            "--seconds" => parsed.seconds = value().parse().expect("--seconds is a number"),
            "--refresh" => parsed.refresh = value(),
            "--catch-up-events" => parsed.catch_up_events = value().parse().expect("--catch-up-events is a number"),
            _ => {} // cargo bench passes --bench
        }
    }
    parsed
}

fn url(variable: &str) -> String {
    std::env::var(variable).unwrap_or_else(|_| panic!("{variable} is not set: eval \"$(scripts/stack env)\" first"))
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let arguments = arguments();
    if let Ok(filter) = std::env::var("RUST_LOG") {
        let _ = tracing_subscriber::fmt().with_env_filter(filter).try_init();
    }
    let id = Uuid::new_v4().simple().to_string();
    let admin_url = url("DATABASE_URL");
    let database = format!("bench_{id}");
    let mut admin = sqlx::PgConnection::connect(&admin_url).await.expect("DATABASE_URL connects");
    sqlx::query(&format!("CREATE DATABASE {database}"))
        .execute(&mut admin)
        .await
        .expect("the bench database is created");
    let options: sqlx::postgres::PgConnectOptions = admin_url.parse().expect("DATABASE_URL parses");
    let pool = PgPoolOptions::new()
        .max_connections(40)
        .connect_with(options.database(&database))
        .await
        .expect("the bench database connects");
    event_store::MIGRATOR.run(&pool).await.expect("event store migrations");
    projections::MIGRATOR.run(&pool).await.expect("projections migrations");
    let client = async_nats::connect(url("NATS_URL")).await.expect("NATS connects");
    let context = async_nats::jetstream::new(client);
    let topology = NatsTopology::new(format!("BENCH_{id}"), format!("bench_{id}.orders.v1"));
    let alias = format!("orders-bench-{id}");
    let search = SearchIndex::new(&url("ELASTICSEARCH_URL"), &alias, &format!("{alias}-v1"))
        .expect("ELASTICSEARCH_URL parses")
        .with_refresh_interval(&arguments.refresh);

    let shutdown = CancellationToken::new();
    let relay = Relay::new(pool.clone(), context.clone(), topology.clone());
    let mut tasks = vec![tokio::spawn({
        let token = shutdown.clone();
        async move { relay.run(token).await.expect("relay runs") }
    })];
    for projector in [Projector::order_views(pool.clone()), Projector::order_search(pool.clone(), search.clone())] {
        let (context, topology, token) = (context.clone(), topology.clone(), shutdown.clone());
        tasks.push(tokio::spawn(async move { projector.run(context, topology, token).await.expect("projector runs") }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;

    println!(
        "freshness: {} appends/s for {} s (one event per append), search refresh interval {}",
        arguments.rate, arguments.seconds, arguments.refresh
    );
    let (appended_tx, appended_rx) = mpsc::unbounded_channel();
    let watcher = tokio::spawn(watch_freshness(pool.clone(), appended_rx));
    let store = EventStore::new(pool.clone());
    let achieved = steady_load(&store, arguments.rate, Duration::from_secs(arguments.seconds), appended_tx).await;
    let (views, search_latency) = watcher.await.expect("the watcher ends");
    println!("appended {:.0} appends/s", achieved);
    print_histogram("Postgres views (order_views)", &views);
    print_histogram("Elasticsearch (order_search)", &search_latency);

    shutdown.cancel();
    for task in tasks {
        task.await.expect("task stops");
    }

    // Catch-up: more history, then replay each projection from position 0 into fresh targets.
    if arguments.catch_up_events == 0 {
        clean_up(&context, &topology, &search, &alias, pool, &mut admin, &database).await;
        return;
    }
    let orders_needed = arguments.catch_up_events / 8;
    let started = Instant::now();
    let extra = bulk_history(&store, orders_needed).await;
    println!(
        "catch-up: appended {extra} more events in {:.1} s (unpaced, whole histories per append)",
        started.elapsed().as_secs_f64()
    );
    let tables = ViewTables::shadow("_bench").expect("a valid suffix");
    let mut connection = pool.acquire().await.expect("a connection");
    tables.create_empty(&mut connection).await.expect("shadow tables");
    drop(connection);
    let views_replay = Projector::order_views(pool.clone())
        .with_name("order_views_bench")
        .with_tables(tables)
        .with_options(ProjectorOptions { catch_up_batch_size: 10_000, ..ProjectorOptions::default() });
    let report = views_replay.catch_up(None).await.expect("views replay");
    println!(
        "catch-up order_views: {} events in {:.2} s = {:.0} events/s",
        report.events_read,
        report.elapsed.as_secs_f64(),
        report.events_per_second()
    );
    let replay_alias = format!("{alias}-replay");
    let replay_index = SearchIndex::new(&url("ELASTICSEARCH_URL"), &replay_alias, &format!("{replay_alias}-v1"))
        .expect("ELASTICSEARCH_URL parses")
        .with_refresh_interval(&arguments.refresh);
    let search_replay = Projector::order_search(pool.clone(), replay_index.clone())
        .with_name("order_search_bench")
        .with_options(ProjectorOptions { catch_up_batch_size: 10_000, ..ProjectorOptions::default() });
    search_replay.prepare().await.expect("replay index");
    let report = search_replay.catch_up(None).await.expect("search replay");
    println!(
        "catch-up order_search (live index settings, refresh=wait_for per batch): {} events in {:.2} s = {:.0} events/s",
        report.events_read,
        report.elapsed.as_secs_f64(),
        report.events_per_second()
    );
    let started = Instant::now();
    let rebuilt = projections::rebuild_search_index(&pool, &replay_index, |_| {}).await.expect("search rebuild");
    println!(
        "rebuild_search_index (new index, refresh off, no replicas): {} events in {:.2} s = {:.0} events/s",
        rebuilt.fill.events_read + rebuilt.final_events,
        started.elapsed().as_secs_f64(),
        (rebuilt.fill.events_read + rebuilt.final_events) as f64 / started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let rebuilt = projections::rebuild_postgres_views(&pool, |_| {}).await.expect("views rebuild");
    println!(
        "rebuild_postgres_views (shadow tables, swap): {} events in {:.2} s = {:.0} events/s",
        rebuilt.fill.events_read + rebuilt.final_events,
        started.elapsed().as_secs_f64(),
        (rebuilt.fill.events_read + rebuilt.final_events) as f64 / started.elapsed().as_secs_f64()
    );

    clean_up(&context, &topology, &search, &alias, pool, &mut admin, &database).await;
}

/// Deletes the bench's stream, indices and database.
async fn clean_up(
    context: &async_nats::jetstream::Context,
    topology: &NatsTopology,
    search: &SearchIndex,
    alias: &str,
    pool: PgPool,
    admin: &mut sqlx::PgConnection,
    database: &str,
) {
    let _ = context.delete_stream(&topology.stream_name).await;
    let _ = context.delete_stream(&topology.seal_stream_name()).await;
    let _ = search
        .client()
        .indices()
        .delete(elasticsearch::indices::IndicesDeleteParts::Index(&[&format!("{alias}*")]))
        .send()
        .await;
    pool.close().await;
    sqlx::query(&format!("DROP DATABASE {database} WITH (FORCE)"))
        .execute(admin)
        .await
        .expect("the bench database is dropped");
}

/// Appends one event per tick at `rate` per second for `duration`, from several concurrent writers, and
/// reports every append's token and the instant its commit returned. Returns the achieved rate.
async fn steady_load(
    store: &EventStore,
    rate: u64,
    duration: Duration,
    appended: mpsc::UnboundedSender<(ConsistencyToken, Instant)>,
) -> f64 {
    const WRITERS: u64 = 8;
    let started = Instant::now();
    let count = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut writers = Vec::new();
    for writer in 0..WRITERS {
        let (store, appended, count) = (store.clone(), appended.clone(), count.clone());
        writers.push(tokio::spawn(async move {
            let mut ticker = tokio::time::interval(Duration::from_secs_f64(WRITERS as f64 / rate as f64));
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut active: Vec<(OrderScript, usize)> = Vec::new();
            let mut fresh: Vec<OrderScript> = Vec::new();
            let mut cursor = writer as usize;
            while started.elapsed() < duration {
                ticker.tick().await;
                while active.len() < 16 {
                    if fresh.is_empty() {
                        fresh = mixed_orders(6);
                    }
                    active.push((fresh.pop().expect("fresh orders"), 0));
                }
                cursor = (cursor + 1) % active.len();
                let (order, step) = &mut active[cursor];
                let event = &order.steps[*step];
                let result = store
                    .append(
                        &StreamRef::new(order.order_id, schemas::ORDER_STREAM_TYPE),
                        ExpectedVersion::Exact(*step as i64),
                        vec![NewEvent::new(event.event_type.clone(), event.schema_version, event.payload.clone())],
                        &Metadata::for_command(Uuid::now_v7()),
                    )
                    .await
                    .expect("append succeeds");
                let _ = appended.send((result.token, Instant::now()));
                count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                *step += 1;
                if *step >= order.steps.len() {
                    active.swap_remove(cursor);
                }
            }
        }));
    }
    drop(appended);
    for writer in writers {
        writer.await.expect("writer ends");
    }
    count.load(std::sync::atomic::Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

/// Polls both checkpoints every 2 ms and records, per append, when each first covers its token.
async fn watch_freshness(
    pool: PgPool,
    mut appended: mpsc::UnboundedReceiver<(ConsistencyToken, Instant)>,
) -> (Histogram<u64>, Histogram<u64>) {
    let mut views = Histogram::<u64>::new(3).expect("a histogram");
    let mut search = Histogram::<u64>::new(3).expect("a histogram");
    let mut pending_views: Vec<(ConsistencyToken, Instant)> = Vec::new();
    let mut pending_search: Vec<(ConsistencyToken, Instant)> = Vec::new();
    let mut senders_done = false;
    loop {
        loop {
            match appended.try_recv() {
                Ok(entry) => {
                    pending_views.push(entry);
                    pending_search.push(entry);
                }
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    senders_done = true;
                    break;
                }
            }
        }
        let rows: Vec<(String, i64, i64)> =
            sqlx::query_as("SELECT name, transaction_id, position FROM projections.checkpoints WHERE name = ANY($1)")
                .bind(vec![ORDER_VIEWS, ORDER_SEARCH])
                .fetch_all(&pool)
                .await
                .expect("checkpoints read");
        let now = Instant::now();
        for (name, transaction_id, position) in rows {
            let checkpoint = LogPosition::new(transaction_id as u64, position);
            let (pending, histogram) =
                if name == ORDER_VIEWS { (&mut pending_views, &mut views) } else { (&mut pending_search, &mut search) };
            pending.retain(|(token, at)| {
                if checkpoint.covers(token) {
                    let _ = histogram.record(now.duration_since(*at).as_micros() as u64);
                    false
                } else {
                    true
                }
            });
        }
        if senders_done && pending_views.is_empty() && pending_search.is_empty() {
            return (views, search);
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

fn print_histogram(what: &str, histogram: &Histogram<u64>) {
    let ms = |quantile: f64| histogram.value_at_quantile(quantile) as f64 / 1000.0;
    println!(
        "freshness {what}: n={} p50={:.1} ms p90={:.1} ms p99={:.1} ms max={:.1} ms",
        histogram.len(),
        ms(0.5),
        ms(0.9),
        ms(0.99),
        histogram.max() as f64 / 1000.0
    );
}

/// Appends `orders` complete histories unpaced (each order in one append); returns the number of events.
async fn bulk_history(store: &EventStore, orders: usize) -> usize {
    let batches: Vec<Vec<OrderScript>> = (0..orders.div_ceil(6)).map(|_| mixed_orders(6)).collect();
    let events: usize = batches.iter().flatten().map(|order| order.steps.len()).sum();
    let chunks: Vec<Vec<OrderScript>> = batches
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .chunks(orders.div_ceil(16).max(1))
        .map(<[_]>::to_vec)
        .collect();
    let mut writers = Vec::new();
    for chunk in chunks {
        let store = store.clone();
        writers.push(tokio::spawn(async move {
            for order in chunk {
                let events = order
                    .steps
                    .iter()
                    .map(|step| NewEvent::new(step.event_type.clone(), step.schema_version, step.payload.clone()))
                    .collect();
                store
                    .append(
                        &StreamRef::new(order.order_id, schemas::ORDER_STREAM_TYPE),
                        ExpectedVersion::NoStream,
                        events,
                        &Metadata::for_command(Uuid::now_v7()),
                    )
                    .await
                    .expect("append succeeds");
            }
        }));
    }
    for writer in writers {
        writer.await.expect("writer ends");
    }
    events
}
