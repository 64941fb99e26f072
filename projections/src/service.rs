//! The two services as library functions, so the binaries stay a few lines and tests can run them in-process:
//! start the health endpoint, connect (waiting for Postgres, the event store's tables and NATS rather than
//! crashing), run this crate's migrations, then run the relay or the projectors until shutdown.

use std::time::{Duration, Instant};

use async_nats::jetstream;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::error::Error;
use crate::http::{metrics_handle, serve_health, Health};
use crate::projector::{lag_seconds, sleep_or_shutdown, CatchUpReport, Projector, ORDER_VIEWS};
use crate::rebuild::{rebuild_projection_until, RebuildTarget};
use crate::relay::Relay;
use crate::search::SearchIndex;
use crate::settings::{ProjectionsSettings, RelaySettings};

/// How often status figures (metrics and `/health/ready` details) are refreshed.
const STATUS_INTERVAL: Duration = Duration::from_secs(1);

/// Runs the relay service until `shutdown`: health endpoint on `LISTEN_ADDR`, migrations, relay.
pub async fn run_relay_service(settings: RelaySettings, shutdown: CancellationToken) -> Result<(), Error> {
    let health = Health::default();
    let http = start_http(settings.listen_addr, &health, &shutdown).await?;
    let Some(pool) = connect_and_migrate(&settings.database_url, &health, &shutdown).await? else { return Ok(()) };
    if !wait_for_event_store(&pool, &health, &shutdown).await {
        return Ok(());
    }
    let client = connect_nats(&settings.nats.nats_url, "relay").await?;
    let relay = Relay::new(pool.clone(), jetstream::new(client), settings.nats.topology())
        .with_options(settings.relay_options());
    health.set_ready(true);
    let reporter = tokio::spawn(report_relay(relay.clone(), pool, health, shutdown.clone()));
    let outcome = relay.run(shutdown.clone()).await;
    shutdown.cancel();
    let _ = reporter.await;
    let _ = http.await;
    outcome
}

/// Runs the projections service until `shutdown`: health endpoint on `LISTEN_ADDR`, migrations, and one
/// task per projection named in the settings. Returns the first projector's error, if any.
pub async fn run_projections_service(settings: ProjectionsSettings, shutdown: CancellationToken) -> Result<(), Error> {
    settings.validate()?;
    let health = Health::default();
    let http = start_http(settings.listen_addr, &health, &shutdown).await?;
    let Some(pool) = connect_and_migrate(&settings.database_url, &health, &shutdown).await? else { return Ok(()) };
    if !wait_for_event_store(&pool, &health, &shutdown).await {
        return Ok(());
    }
    let client = connect_nats(&settings.nats.nats_url, "projections").await?;
    let context = jetstream::new(client);
    let topology = settings.nats.topology();
    let mut projectors = Vec::new();
    for name in &settings.projections {
        let projector = if name == ORDER_VIEWS {
            Projector::order_views(pool.clone())
        } else {
            let index =
                SearchIndex::new(&settings.elasticsearch_url, &settings.search_alias, &settings.search_index_prefix)?
                    .with_refresh_interval(&settings.search_refresh_interval);
            Projector::order_search(pool.clone(), index)
        };
        projectors.push(projector.with_options(settings.projector_options()));
    }
    let mut tasks = JoinSet::new();
    for projector in &projectors {
        let (projector, context, topology, shutdown) =
            (projector.clone(), context.clone(), topology.clone(), shutdown.clone());
        tasks.spawn(async move { projector.run(context, topology, shutdown).await });
    }
    // Rebuilds run beside the live projectors, which keep the current copy fresh until the swap.
    let mut rebuilds = JoinSet::new();
    for name in settings.rebuild_on_start.iter().filter(|name| !name.is_empty()) {
        let target = if name == ORDER_VIEWS {
            RebuildTarget::Views
        } else {
            RebuildTarget::Search(
                SearchIndex::new(&settings.elasticsearch_url, &settings.search_alias, &settings.search_index_prefix)?
                    .with_refresh_interval(&settings.search_refresh_interval),
            )
        };
        rebuilds.spawn(rebuild_on_start(pool.clone(), target, shutdown.clone()));
    }
    health.set_ready(true);
    let reporter = tokio::spawn(report_projections(projectors, health, shutdown.clone()));
    let mut outcome = Ok(());
    while let Some(joined) = tasks.join_next().await {
        let result =
            joined.map_err(|error| Error::Config(format!("a projector task panicked: {error}"))).and_then(|r| r);
        if let Err(error) = result {
            tracing::error!(error = %error, "a projector stopped");
            if outcome.is_ok() {
                outcome = Err(error);
            }
            shutdown.cancel();
        }
    }
    shutdown.cancel();
    // Not aborted: a rebuild gives up its fill on the shutdown token, but finishes a swap it has begun.
    while rebuilds.join_next().await.is_some() {}
    let _ = reporter.await;
    let _ = http.await;
    outcome
}

/// One rebuild of the service's start, logged with its progress. A failed or skipped rebuild leaves the live
/// projection as it was, so it is logged and counted, and the service goes on serving.
async fn rebuild_on_start(pool: PgPool, target: RebuildTarget, shutdown: CancellationToken) {
    let projection = target.projection();
    let running = metrics::gauge!("projection_rebuild_running", "projection" => projection);
    running.set(1.0);
    tracing::info!(projection, "rebuilding from position 0 (PROJECTIONS_REBUILD_ON_START)");
    let mut last_log = Instant::now();
    let progress = |report: &CatchUpReport| {
        if last_log.elapsed() >= Duration::from_secs(10) {
            tracing::info!(projection, events = report.events_read, checkpoint = %report.checkpoint, "rebuild progress");
            last_log = Instant::now();
        }
    };
    let outcome = rebuild_projection_until(&pool, &target, false, progress, &shutdown).await;
    running.set(0.0);
    let label = match &outcome {
        Ok(outcome) => {
            let report = &outcome.report;
            let events = report.fill.events_read + report.final_events;
            tracing::info!(projection, events, seconds = report.elapsed.as_secs_f64(), checkpoint = %report.checkpoint,
                events_per_second = events as f64 / report.elapsed.as_secs_f64().max(1e-9),
                leftovers_removed = ?outcome.leftovers_removed, "rebuilt and swapped in");
            "swapped"
        }
        Err(Error::Busy { .. }) => {
            tracing::warn!(
                projection,
                "another rebuild or verification holds the projection; this start does not rebuild"
            );
            "skipped"
        }
        Err(Error::ShutDown) => {
            tracing::info!(projection, "shut down during the rebuild; the live projection is unchanged");
            "interrupted"
        }
        Err(error) => {
            tracing::error!(projection, error = %error, "the rebuild failed; the live projection is unchanged");
            "failed"
        }
    };
    metrics::counter!("projection_rebuilds_total", "projection" => projection, "outcome" => label).increment(1);
}

async fn start_http(
    listen_addr: std::net::SocketAddr,
    health: &Health,
    shutdown: &CancellationToken,
) -> Result<tokio::task::JoinHandle<()>, Error> {
    let listener = TcpListener::bind(listen_addr)
        .await
        .map_err(|error| Error::Config(format!("listening on {listen_addr}: {error}")))?;
    tracing::info!(address = %listen_addr, "health and metrics endpoint listening");
    Ok(tokio::spawn(serve_health(listener, health.clone(), metrics_handle(), shutdown.clone())))
}

/// Connects to Postgres (retrying while it is unreachable) and runs this crate's migrations.
/// `None` when shut down first.
pub async fn connect_and_migrate(
    database_url: &SecretString,
    health: &Health,
    shutdown: &CancellationToken,
) -> Result<Option<PgPool>, Error> {
    let options: sqlx::postgres::PgConnectOptions = database_url
        .expose_secret()
        .parse()
        .map_err(|error| Error::Config(format!("DATABASE_URL does not parse: {error}")))?;
    let pool =
        PgPoolOptions::new().max_connections(10).acquire_timeout(Duration::from_secs(5)).connect_lazy_with(options);
    loop {
        health.set_detail(json!({ "waiting_for": "postgres migrations" }));
        match crate::MIGRATOR.run(&pool).await {
            Ok(()) => return Ok(Some(pool)),
            Err(sqlx::migrate::MigrateError::Execute(error)) if crate::error::is_transient_database(&error) => {
                tracing::warn!(error = %error, "Postgres is not reachable yet; retrying");
            }
            Err(error) => return Err(error.into()),
        }
        if sleep_or_shutdown(Duration::from_secs(1), shutdown).await {
            return Ok(None);
        }
    }
}

/// Waits until the event store's tables exist (the command side creates them). False when shut down first.
pub async fn wait_for_event_store(pool: &PgPool, health: &Health, shutdown: &CancellationToken) -> bool {
    let started = Instant::now();
    let mut last_log = None::<Instant>;
    loop {
        let exists: Result<(bool,), _> =
            sqlx::query_as("SELECT to_regclass('event_store.events') IS NOT NULL").fetch_one(pool).await;
        match exists {
            Ok((true,)) => return true,
            Ok((false,)) | Err(_) => {
                health.set_detail(json!({ "waiting_for": "event_store.events" }));
                if last_log.is_none_or(|at| at.elapsed() > Duration::from_secs(10)) {
                    tracing::warn!(
                        waited_seconds = started.elapsed().as_secs(),
                        "event_store.events does not exist yet (the command API creates it); waiting"
                    );
                    last_log = Some(Instant::now());
                }
            }
        }
        if sleep_or_shutdown(Duration::from_secs(1), shutdown).await {
            return false;
        }
    }
}

/// Connects to NATS; while the server is unreachable the client keeps reconnecting in the background.
pub async fn connect_nats(url: &str, name: &str) -> Result<async_nats::Client, Error> {
    async_nats::ConnectOptions::new()
        .name(name)
        .retry_on_initial_connect()
        .connection_timeout(Duration::from_secs(5))
        .connect(url)
        .await
        .map_err(|error| Error::Nats(format!("connecting to {url}: {error}")))
}

async fn report_relay(relay: Relay, pool: PgPool, health: Health, shutdown: CancellationToken) {
    let store = event_store::EventStore::new(pool);
    loop {
        let status = async {
            let checkpoint = relay.checkpoint().await?;
            let head = store.head().await?;
            // Age of the oldest event not yet published: what an alert on a stuck relay wants.
            let lag_seconds = lag_seconds(&store, checkpoint, head).await?;
            Ok::<_, Error>((checkpoint, head, lag_seconds))
        }
        .await;
        match status {
            Ok((checkpoint, head, lag_seconds)) => {
                let lag = if head > checkpoint { (head.position - checkpoint.position).max(0) } else { 0 };
                metrics::gauge!("relay_checkpoint_position").set(checkpoint.position as f64);
                metrics::gauge!("relay_lag_positions").set(lag as f64);
                metrics::gauge!("relay_lag_seconds").set(lag_seconds);
                health.set_detail(json!({
                    "role": if relay.is_active() { "active" } else { "standby" },
                    "checkpoint": checkpoint.to_string(),
                    "head": head.to_string(),
                    "lag_positions": lag,
                    "lag_seconds": lag_seconds,
                }));
            }
            Err(error) => tracing::debug!(error = %error, "reading the relay status failed"),
        }
        if sleep_or_shutdown(STATUS_INTERVAL, &shutdown).await {
            return;
        }
    }
}

async fn report_projections(projectors: Vec<Projector>, health: Health, shutdown: CancellationToken) {
    let mut previous: Vec<(u64, Instant)> = projectors.iter().map(|p| (p.events_applied(), Instant::now())).collect();
    // Parked orders are reported when their number changes and once a minute while there are any.
    let mut reported_parked: Vec<(i64, Instant)> = projectors.iter().map(|_| (0, Instant::now())).collect();
    loop {
        let mut details = serde_json::Map::new();
        for ((projector, previous), reported) in
            projectors.iter().zip(previous.iter_mut()).zip(reported_parked.iter_mut())
        {
            let applied = projector.events_applied();
            let rate = (applied - previous.0) as f64 / previous.1.elapsed().as_secs_f64().max(1e-3);
            *previous = (applied, Instant::now());
            let name = projector.name().to_owned();
            metrics::gauge!("projection_events_per_second", "projection" => name.clone()).set(rate);
            match projector.status().await {
                Ok(status) => {
                    let checkpoint: event_store::LogPosition = status.checkpoint.parse().unwrap_or_default();
                    metrics::gauge!("projection_checkpoint_position", "projection" => name.clone())
                        .set(checkpoint.position as f64);
                    metrics::gauge!("projection_lag_positions", "projection" => name.clone())
                        .set(status.lag_positions as f64);
                    metrics::gauge!("projection_lag_seconds", "projection" => name.clone()).set(status.lag_seconds);
                    metrics::gauge!("projection_parked_orders", "projection" => name.clone())
                        .set(status.parked_orders as f64);
                    metrics::gauge!("projection_unresolved_dead_letters", "projection" => name.clone())
                        .set(status.dead_letters as f64);
                    let changed = status.parked_orders != reported.0;
                    if changed || (status.parked_orders > 0 && reported.1.elapsed() > Duration::from_secs(60)) {
                        if status.parked_orders > 0 {
                            tracing::error!(projection = %name, parked_orders = status.parked_orders,
                                dead_letters = status.dead_letters, "orders are parked: fix the cause and retry them");
                        } else {
                            tracing::info!(projection = %name, "no order is parked any more");
                        }
                        *reported = (status.parked_orders, Instant::now());
                    }
                    let mut detail = serde_json::to_value(&status).unwrap_or_default();
                    detail["events_per_second"] = json!(rate);
                    details.insert(name, detail);
                }
                Err(error) => {
                    details.insert(name, json!({ "error": error.to_string() }));
                }
            }
        }
        health.set_detail(serde_json::Value::Object(details));
        if sleep_or_shutdown(STATUS_INTERVAL, &shutdown).await {
            return;
        }
    }
}
