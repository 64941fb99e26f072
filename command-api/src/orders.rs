//! Loading an order (snapshot plus the events after it) and running one command through
//! `decide` and `EventStore::append`, with bounded retries when another writer got in first.

use std::time::Duration;
use std::time::Instant;

use aggregates::decide;
use aggregates::evolve;
use aggregates::Order;
use aggregates::OrderCommand;
use aggregates::OrderError;
use aggregates::OrderId;
use anyhow::Context;
use event_store::AppendError;
use event_store::ConsistencyToken;
use event_store::EventStore;
use event_store::ExpectedVersion;
use event_store::Metadata;
use event_store::NewEvent;
use event_store::ReadError;
use event_store::StreamRef;
use uuid::Uuid;

use crate::error::ApiError;
use crate::snapshot;
use crate::state::AppState;
use crate::telemetry;

/// An order as loaded for a command.
#[derive(Debug, Clone)]
pub(crate) struct LoadedOrder {
    pub(crate) order: Order,
    /// The stream's version: 0 before the first event.
    pub(crate) version: i64,
}

/// What a command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Execution {
    pub(crate) order_id: Uuid,
    /// The stream's version after the command.
    pub(crate) version: i64,
    /// The token of the last appended event; `None` when the command changed nothing.
    pub(crate) token: Option<ConsistencyToken>,
}

/// One command to run against one order.
#[derive(Debug, Clone)]
pub(crate) struct CommandRun {
    pub(crate) order_id: OrderId,
    pub(crate) command: OrderCommand,
    /// From `If-Match`: refuse with 412 unless the order is at exactly this version.
    pub(crate) expected_version: Option<i64>,
    pub(crate) metadata: Metadata,
}

fn stream_of(order_id: OrderId) -> StreamRef {
    StreamRef::new(order_id.as_uuid(), schemas::ORDER_STREAM_TYPE)
}

/// Failures after which the database may well answer again: no connection, closed pool, or a
/// transient error the event store itself calls retryable.
pub(crate) fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => true,
        // A restarting or overloaded server (admin_shutdown, cannot_connect_now, too_many_connections)
        // is unavailable, not broken: the client should retry later.
        sqlx::Error::Database(database_error) => {
            matches!(database_error.code().as_deref(), Some("57P01" | "57P03" | "53300"))
        }
        _ => false,
    }
}

fn read_failure(error: ReadError, what: &'static str) -> ApiError {
    if error.is_retryable() || matches!(&error, ReadError::Database(database) if is_unavailable(database)) {
        ApiError::Unavailable("the event store is not reachable".to_owned())
    } else {
        ApiError::Internal(anyhow::Error::new(error).context(what))
    }
}

/// Loads an order from its newest snapshot and the events after it.
///
/// An unreadable snapshot is logged and ignored: the order is then folded from its first event.
pub(crate) async fn load(store: &EventStore, order_id: OrderId) -> Result<LoadedOrder, ApiError> {
    let loaded = store
        .load(order_id.as_uuid(), snapshot::SNAPSHOT_SCHEMA_VERSION)
        .await
        .map_err(|error| read_failure(error, "loading the stream of the order"))?;
    let (start, loaded) = match &loaded.snapshot {
        None => (Order::NotCreated, loaded),
        Some(stored) => match snapshot::decode(&stored.state) {
            Ok(order) => (order, loaded),
            Err(error) => {
                tracing::warn!(order.id = %order_id, error = %error, "ignoring an unreadable snapshot");
                let full = store
                    .load(order_id.as_uuid(), snapshot::NO_SNAPSHOT)
                    .await
                    .map_err(|error| read_failure(error, "loading the whole stream of the order"))?;
                (Order::NotCreated, full)
            }
        },
    };
    metrics::histogram!(telemetry::EVENTS_REPLAYED).record(loaded.events.len() as f64);
    let mut order = start;
    for recorded in loaded.events {
        let schema_version = u32::try_from(recorded.schema_version).unwrap_or(0);
        let event = aggregates::wire::decode_event(&recorded.event_type, schema_version, recorded.payload)
            .with_context(|| format!("decoding event {} of order {order_id}", recorded.version))?;
        order = evolve(order, &event);
    }
    Ok(LoadedOrder { order, version: loaded.version })
}

/// Loads, decides and appends; on a version conflict without `If-Match`, does it all again, a bounded
/// number of times (safe because `decide` is pure).
#[tracing::instrument(skip_all, fields(order.id = %run.order_id, command = %run.command.name(), command.id = %run.metadata.command_id))]
pub(crate) async fn execute(state: &AppState, run: &CommandRun) -> Result<Execution, ApiError> {
    let store = state.store();
    let limits = state.limits();
    let command_name = run.command.name().as_str();
    let _order_lock = state.lock_order(run.order_id).await;
    // The cached state saves the load; it may be stale (another process wrote), which an append at its
    // version turns into a conflict, and every refusal is checked against a fresh load before it is answered.
    let mut cached = state.cached(run.order_id);
    let mut attempts = 0;
    loop {
        let from_cache = cached.is_some();
        let loaded = match cached.take() {
            Some(loaded) => loaded,
            None => {
                attempts += 1;
                let loaded = load(store, run.order_id).await?;
                state.cache(run.order_id, loaded.clone());
                loaded
            }
        };
        if let Some(expected) = run.expected_version {
            if expected != loaded.version {
                if from_cache {
                    continue;
                }
                metrics::counter!(telemetry::CONFLICTS, "outcome" => "precondition_failed").increment(1);
                return Err(ApiError::VersionMismatch { expected, actual: loaded.version });
            }
        }
        let status = loaded.order.status();
        let decided = decide(&loaded.order, run.command.clone());
        if from_cache && !matches!(&decided, Ok(events) if !events.is_empty()) {
            // Only an accepted change is safe to try on a possibly stale state.
            continue;
        }
        let events = match decided {
            Ok(events) => events,
            Err(OrderError::NotCreated) => return Err(ApiError::NotFound(run.order_id)),
            Err(error) => return Err(ApiError::from_rejection(error, status)),
        };
        if events.is_empty() {
            metrics::counter!(telemetry::APPENDS, "command" => command_name, "result" => "no_events").increment(1);
            return Ok(Execution { order_id: run.order_id.as_uuid(), version: loaded.version, token: None });
        }
        let new_events = events
            .iter()
            .map(|event| {
                aggregates::wire::encode_event(event).map(|encoded| NewEvent {
                    // Event ids are made here, at the edge, never inside `decide`.
                    event_id: Uuid::now_v7(),
                    event_type: encoded.event_type.to_owned(),
                    schema_version: i32::try_from(encoded.schema_version).unwrap_or(i32::MAX),
                    payload: encoded.payload,
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .context("encoding the events of the command")?;
        let expected = match loaded.version {
            0 => ExpectedVersion::NoStream,
            version => ExpectedVersion::Exact(version),
        };
        let append_started = Instant::now();
        let appended = store.append(&stream_of(run.order_id), expected, new_events, &run.metadata).await;
        metrics::histogram!(telemetry::APPEND_DURATION).record(append_started.elapsed().as_secs_f64());
        if appended.is_err() {
            state.forget(run.order_id);
        }
        match appended {
            Ok(result) => {
                let outcome = if result.deduplicated { "deduplicated" } else { "appended" };
                metrics::counter!(telemetry::APPENDS, "command" => command_name, "result" => outcome).increment(1);
                if result.deduplicated {
                    // The command went through earlier; what the order looks like now is not known here.
                    state.forget(run.order_id);
                } else {
                    metrics::counter!(telemetry::EVENTS_APPENDED, "command" => command_name)
                        .increment(result.events.len() as u64);
                    let after = events.iter().fold(loaded.order, evolve);
                    state.cache(run.order_id, LoadedOrder { order: after.clone(), version: result.last_version });
                    maybe_snapshot(state, run.order_id, loaded.version, result.last_version, after);
                }
                tracing::debug!(
                    stream.version = result.last_version,
                    deduplicated = result.deduplicated,
                    "command appended"
                );
                return Ok(Execution {
                    order_id: result.stream_id,
                    version: result.last_version,
                    token: Some(result.token),
                });
            }
            Err(AppendError::Conflict { expected: _, actual }) => {
                if let Some(expected) = run.expected_version {
                    metrics::counter!(telemetry::CONFLICTS, "outcome" => "precondition_failed").increment(1);
                    return Err(ApiError::VersionMismatch { expected, actual });
                }
                if attempts > limits.max_conflict_retries {
                    metrics::counter!(telemetry::CONFLICTS, "outcome" => "exhausted").increment(1);
                    return Err(ApiError::Conflict { attempts });
                }
                if !from_cache {
                    metrics::counter!(telemetry::CONFLICTS, "outcome" => "retried").increment(1);
                    tracing::debug!(
                        attempt = attempts,
                        stream.version = actual,
                        "another writer got in first; deciding again"
                    );
                    tokio::time::sleep(backoff(attempts)).await;
                }
            }
            Err(AppendError::CommandIdReused { .. }) => return Err(ApiError::IdempotencyKeyReused),
            Err(error)
                if error.is_retryable()
                    || matches!(&error, AppendError::Database(database) if is_unavailable(database)) =>
            {
                return Err(ApiError::Unavailable("the event store is busy".to_owned()));
            }
            Err(error) => {
                return Err(ApiError::Internal(
                    anyhow::Error::new(error).context("appending the events of the command"),
                ));
            }
        }
    }
}

/// A short, jittered pause before deciding again, growing with the attempt.
fn backoff(attempt: u32) -> Duration {
    let jitter = u64::from(Uuid::new_v4().as_bytes()[0]) % 5;
    Duration::from_millis(u64::from(attempt.min(6)) * 2 + jitter)
}

/// Stores a snapshot in the background whenever the stream crosses a multiple of `SNAPSHOT_EVERY`.
fn maybe_snapshot(state: &AppState, order_id: OrderId, before: i64, after: i64, order: Order) {
    let every = i64::from(state.limits().snapshot_every);
    if every == 0 || after / every == before / every {
        return;
    }
    let store = state.store().clone();
    tokio::spawn(async move {
        let Some(snapshot) = snapshot::encode(&order) else {
            metrics::counter!(telemetry::SNAPSHOTS, "result" => "skipped").increment(1);
            return;
        };
        match store.save_snapshot(order_id.as_uuid(), after, snapshot::SNAPSHOT_SCHEMA_VERSION, &snapshot).await {
            Ok(()) => metrics::counter!(telemetry::SNAPSHOTS, "result" => "saved").increment(1),
            Err(error) => {
                metrics::counter!(telemetry::SNAPSHOTS, "result" => "failed").increment(1);
                tracing::warn!(order.id = %order_id, error = %error, "storing a snapshot failed");
            }
        }
    });
}
