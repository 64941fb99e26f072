//! `projections status`: where each projection stands. Checkpoint, lag behind the event store's gap-safe head
//! (events and age of the oldest unapplied event), throughput measured over a short sample, parked orders,
//! dead letters and the last error, the JetStream consumer's backlog, and unfinished maintenance jobs.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use event_store::LogPosition;
use projections::{ProjectionStatus, Projector};
use serde::Serialize;
use sqlx::PgPool;

use crate::cli::{ProjectionName, StatusArgs};
use crate::context::Context;
use crate::error::Error;
use crate::output::{count, duration, rate, Align, Output, Table};
use crate::Outcome;
use projections::MaintenanceLock;

/// The status line of one projection, as printed with `--json`.
#[derive(Debug, Clone, Serialize)]
struct StatusLine {
    projection: &'static str,
    checkpoint: String,
    head: String,
    /// Events after the checkpoint that a reader could already apply.
    lag_events: i64,
    lag_positions: i64,
    /// Age of the oldest event not applied yet.
    lag_seconds: f64,
    /// Events applied per second during the sample (null without a sample).
    events_per_second: Option<f64>,
    parked_orders: i64,
    dead_letters: i64,
    last_error: Option<LastError>,
    /// When the checkpoint last moved.
    checkpoint_updated_at: Option<DateTime<Utc>>,
    /// Messages the projection's JetStream consumer has not delivered or not had acknowledged yet.
    nats_pending: Option<u64>,
    nats_ack_pending: Option<u64>,
    /// Why the NATS figures are missing.
    nats_error: Option<String>,
    /// A rebuild or verification that is running, or left unfinished by a killed run.
    maintenance: Option<Maintenance>,
}

#[derive(Debug, Clone, Serialize)]
struct LastError {
    error: String,
    failed_at: DateTime<Utc>,
    order_id: uuid::Uuid,
    event_type: String,
}

#[derive(Debug, Clone, Serialize)]
struct Maintenance {
    /// `rebuild` or `verify`.
    job: &'static str,
    /// Whether a process holds the projection's maintenance lock right now.
    running: bool,
    checkpoint: String,
}

pub(crate) async fn run(context: &Context, output: &Output, args: &StatusArgs) -> Result<Outcome, Error> {
    let search = context.search_index()?;
    let projectors = [
        (ProjectionName::OrderViews, Projector::order_views(context.pool.clone())),
        (ProjectionName::OrderSearch, Projector::order_search(context.pool.clone(), search)),
    ];
    let sample = Duration::from_millis(args.sample_ms);
    let before: Vec<LogPosition> = read_checkpoints(&context.pool).await?;
    let sample_started = Instant::now();
    let nats = nats_figures(context).await;
    if !sample.is_zero() {
        tokio::time::sleep(sample.saturating_sub(sample_started.elapsed())).await;
    }
    let after: Vec<LogPosition> = read_checkpoints(&context.pool).await?;
    let sampled_seconds = sample_started.elapsed().as_secs_f64();

    let mut lines = Vec::new();
    for (index, (name, projector)) in projectors.iter().enumerate() {
        let status: ProjectionStatus = projector.status().await?;
        let checkpoint: LogPosition = status.checkpoint.parse().unwrap_or_default();
        let events_per_second = if sample.is_zero() {
            None
        } else {
            let applied = count_between(&context.pool, before[index], after[index]).await?;
            Some(applied as f64 / sampled_seconds.max(1e-3))
        };
        let (nats_pending, nats_ack_pending, nats_error) = match &nats {
            Ok(figures) => match figures.iter().find(|(consumer, ..)| consumer == name.as_str()) {
                Some((_, pending, ack_pending)) => (Some(*pending), Some(*ack_pending), None),
                None => (None, None, Some("no consumer yet".to_owned())),
            },
            Err(error) => (None, None, Some(error.clone())),
        };
        lines.push(StatusLine {
            projection: name.as_str(),
            checkpoint: status.checkpoint.clone(),
            head: status.head.clone(),
            lag_events: count_between(&context.pool, checkpoint, status.head.parse().unwrap_or_default()).await?,
            lag_positions: status.lag_positions,
            lag_seconds: status.lag_seconds,
            events_per_second,
            parked_orders: status.parked_orders,
            dead_letters: status.dead_letters,
            last_error: last_error(&context.pool, name.as_str()).await?,
            checkpoint_updated_at: checkpoint_updated_at(&context.pool, name.as_str()).await?,
            nats_pending,
            nats_ack_pending,
            nats_error,
            maintenance: maintenance(context, *name).await?,
        });
    }
    if output.is_json() {
        output.print_json(&lines)?;
    } else {
        print_status(output, &lines, context.count_events().await?);
    }
    Ok(Outcome::Clean)
}

async fn read_checkpoints(pool: &PgPool) -> Result<Vec<LogPosition>, Error> {
    let mut positions = Vec::new();
    for name in ProjectionName::ALL {
        positions.push(projections::read_checkpoint(pool, name.as_str()).await?);
    }
    Ok(positions)
}

/// Events of the log after `from` up to and including `to`, that a gap-safe reader can see.
async fn count_between(pool: &PgPool, from: LogPosition, to: LogPosition) -> Result<i64, Error> {
    if to <= from {
        return Ok(0);
    }
    let (events,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM event_store.events \
          WHERE (transaction_id, global_position) > ($1::text::xid8, $2) \
            AND (transaction_id, global_position) <= ($3::text::xid8, $4) \
            AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())",
    )
    .bind(from.transaction_id.to_string())
    .bind(from.position)
    .bind(to.transaction_id.to_string())
    .bind(to.position)
    .fetch_one(pool)
    .await?;
    Ok(events)
}

async fn last_error(pool: &PgPool, projection: &str) -> Result<Option<LastError>, Error> {
    let row: Option<(String, DateTime<Utc>, uuid::Uuid, String)> = sqlx::query_as(
        "SELECT error, failed_at, order_id, event_type FROM projections.dead_letters \
          WHERE projection = $1 AND resolved_at IS NULL ORDER BY failed_at DESC LIMIT 1",
    )
    .bind(projection)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(error, failed_at, order_id, event_type)| LastError { error, failed_at, order_id, event_type }))
}

async fn checkpoint_updated_at(pool: &PgPool, name: &str) -> Result<Option<DateTime<Utc>>, Error> {
    let row: Option<(DateTime<Utc>,)> =
        sqlx::query_as("SELECT updated_at FROM projections.checkpoints WHERE name = $1")
            .bind(name)
            .fetch_optional(pool)
            .await?;
    Ok(row.map(|(updated_at,)| updated_at))
}

/// The bookkeeping rows a rebuild (`<name>_rebuild`) or verification (`<name>_verify`) leaves while it runs.
async fn maintenance(context: &Context, name: ProjectionName) -> Result<Option<Maintenance>, Error> {
    for (job, suffix) in [("rebuild", "_rebuild"), ("verify", "_verify")] {
        let row: Option<(i64, i64)> =
            sqlx::query_as("SELECT transaction_id, position FROM projections.checkpoints WHERE name = $1")
                .bind(format!("{}{suffix}", name.as_str()))
                .fetch_optional(&context.pool)
                .await?;
        if let Some((transaction_id, position)) = row {
            let running = MaintenanceLock::is_held(&context.pool, name.as_str()).await?;
            let checkpoint = LogPosition::new(u64::try_from(transaction_id).unwrap_or(0), position).to_string();
            return Ok(Some(Maintenance { job, running, checkpoint }));
        }
    }
    Ok(None)
}

/// `(consumer, pending, ack pending)` of every projection's durable consumer, or why they are unknown.
async fn nats_figures(context: &Context) -> Result<Vec<(String, u64, u64)>, String> {
    let figures = async {
        let client = async_nats::ConnectOptions::new()
            .name("ordersctl")
            .connection_timeout(Duration::from_secs(2))
            .connect(&context.connection.nats_url)
            .await
            .map_err(|error| format!("NATS unreachable: {error}"))?;
        let jetstream = async_nats::jetstream::new(client);
        let stream = jetstream
            .get_stream(&context.connection.nats_stream)
            .await
            .map_err(|error| format!("stream {}: {error}", context.connection.nats_stream))?;
        let mut figures = Vec::new();
        for name in ProjectionName::ALL {
            if let Ok(info) = stream.consumer_info(name.as_str()).await {
                figures.push((name.as_str().to_owned(), info.num_pending, info.num_ack_pending as u64));
            }
        }
        Ok(figures)
    };
    tokio::time::timeout(Duration::from_secs(4), figures)
        .await
        .unwrap_or_else(|_| Err("NATS did not answer within 4 s".to_owned()))
}

fn ago(time: Option<DateTime<Utc>>) -> String {
    match time {
        Some(time) => format!("{} ago", duration((Utc::now() - time).as_seconds_f64().max(0.0))),
        None => "never".to_owned(),
    }
}

fn print_status(output: &Output, lines: &[StatusLine], events_in_store: u64) {
    let mut table = Table::new(&[
        ("PROJECTION", Align::Left),
        ("CHECKPOINT", Align::Left),
        ("LAG EVENTS", Align::Right),
        ("LAG TIME", Align::Right),
        ("EVENTS/S", Align::Right),
        ("PARKED", Align::Right),
        ("DEAD LETTERS", Align::Right),
        ("NATS PENDING", Align::Right),
        ("UPDATED", Align::Left),
    ]);
    for line in lines {
        let lag = if line.lag_events == 0 { output.good("0") } else { output.warn(&count(line.lag_events as u64)) };
        let trouble = |value: i64| if value == 0 { "0".to_owned() } else { output.bad(&count(value as u64)) };
        table.push(vec![
            output.bold(line.projection),
            line.checkpoint.clone(),
            lag,
            if line.lag_events == 0 { "-".to_owned() } else { duration(line.lag_seconds) },
            line.events_per_second.map_or_else(|| "-".to_owned(), rate),
            trouble(line.parked_orders),
            trouble(line.dead_letters),
            line.nats_pending.map_or_else(|| output.dim("?"), count),
            ago(line.checkpoint_updated_at),
        ]);
    }
    output.print_table(&table);
    let head = lines.first().map_or_else(String::new, |line| line.head.clone());
    output.line(output.dim(&format!("event store head {head}, {} events", count(events_in_store))));
    for line in lines {
        if let Some(error) = &line.last_error {
            output.line(format!(
                "{} {}: last error {} (order {}, {}): {}",
                output.bad("!"),
                line.projection,
                ago(Some(error.failed_at)),
                error.order_id,
                error.event_type,
                error.error
            ));
        }
        if let Some(job) = &line.maintenance {
            let state = if job.running {
                format!("{} running, at {}", job.job, job.checkpoint)
            } else {
                format!(
                    "{} interrupted at {}: rerun `ordersctl projections {} {}` (it starts clean)",
                    job.job, job.checkpoint, job.job, line.projection
                )
            };
            output.line(format!("{} {}: {state}", output.warn("~"), line.projection));
        }
        if let Some(error) = &line.nats_error {
            output.line(output.dim(&format!("  {}: JetStream figures unavailable ({error})", line.projection)));
        }
    }
}
