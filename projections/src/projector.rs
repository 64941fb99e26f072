//! The projector engine, shared by the Postgres views and the search index: apply batches of events
//! exactly once (checkpoint and view change in one transaction), fill gaps from the event store,
//! dead-letter poison events and park their orders, consume the projection's durable JetStream consumer,
//! and fall back to tailing the event store while NATS is away.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::jetstream;
use event_store::{EventStore, LogPosition, MAX_READ_BATCH};
use futures::{FutureExt, StreamExt};
use schemas::order::OrderEvent;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::envelope::EventEnvelope;
use crate::error::Error;
use crate::ledger::{self, DeadLetter};
use crate::search::SearchIndex;
use crate::tables::ViewTables;
use crate::topology::NatsTopology;
use crate::view::{project, EventPlace, FoldedChanges, OrderView};

/// Checkpoint and consumer name of the Postgres views projection (all four view tables).
pub const ORDER_VIEWS: &str = "order_views";
/// Checkpoint and consumer name of the search index projection.
pub const ORDER_SEARCH: &str = "order_search";

/// Turns a stored or published event into the wire event; the default is
/// [`OrderEvent::decode`], which upcasts old schema versions.
///
/// Replaceable so a test (or an emergency build) can change how events are read.
pub type Decoder = Arc<dyn Fn(&EventEnvelope) -> Result<OrderEvent, String> + Send + Sync>;

/// The decoder of the `schemas` crate: known types and versions, upcasting `order.shipping_address_set` v1.
pub fn standard_decoder() -> Decoder {
    Arc::new(|event: &EventEnvelope| {
        let schema_version = u32::try_from(event.schema_version)
            .map_err(|_| format!("negative schema version {}", event.schema_version))?;
        OrderEvent::decode(&event.event_type, schema_version, event.payload.clone()).map_err(|error| error.to_string())
    })
}

/// Tuning of a projector; the defaults suit production.
#[derive(Debug, Clone)]
pub struct ProjectorOptions {
    /// Most messages handled per pull and per transaction on the live path.
    pub batch_size: usize,
    /// Events read from the event store per transaction when catching up.
    pub catch_up_batch_size: i64,
    /// Attempts at an event that cannot be applied before it is dead-lettered and its order parked.
    pub retry_budget: u32,
    /// Wait before the second attempt; later attempts wait proportionally longer.
    pub retry_backoff: Duration,
    /// JetStream redelivers a message that was not acknowledged within this time.
    pub ack_wait: Duration,
    /// Most unacknowledged messages JetStream hands to the consumer.
    pub max_ack_pending: i64,
    /// When no message arrived for this long, compare the checkpoint with the event store's head and
    /// catch up if behind (a purged stream, a lost last message).
    pub idle_check_interval: Duration,
    /// While NATS is unreachable: how often the event store is polled.
    pub store_poll_interval: Duration,
    /// While NATS is unreachable: how long to follow the event store before trying NATS again.
    pub nats_retry_interval: Duration,
    /// A consumer with more pending messages than this at start-up is recreated (after the catch-up
    /// from the event store) instead of replaying what is already applied.
    pub recreate_consumer_above: u64,
    /// Acknowledge messages after applying them. Only failure tests turn this off, to act like a
    /// projector killed between commit and ack.
    pub acknowledge: bool,
}

impl Default for ProjectorOptions {
    fn default() -> Self {
        Self {
            batch_size: 1_000,
            catch_up_batch_size: 5_000,
            retry_budget: 3,
            retry_backoff: Duration::from_millis(100),
            ack_wait: Duration::from_secs(30),
            max_ack_pending: 10_000,
            idle_check_interval: Duration::from_secs(1),
            store_poll_interval: Duration::from_millis(200),
            nats_retry_interval: Duration::from_secs(2),
            recreate_consumer_above: 50_000,
            acknowledge: true,
        }
    }
}

/// Where a projection writes.
#[derive(Debug, Clone)]
enum Target {
    Views(ViewTables),
    Search(SearchIndex),
}

/// Counts of one applied batch (or of a whole catch-up).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchReport {
    /// Events folded into the views.
    pub applied: u64,
    /// Events skipped because the view already reflected them.
    pub duplicates: u64,
    /// Events of parked orders, left for a retry.
    pub skipped_parked: u64,
    /// Missing earlier events of an order read from the event store to fill a gap.
    pub gap_fills: u64,
    /// Events dead-lettered (their orders parked).
    pub dead_lettered: u64,
}

impl BatchReport {
    fn add(&mut self, other: BatchReport) {
        self.applied += other.applied;
        self.duplicates += other.duplicates;
        self.skipped_parked += other.skipped_parked;
        self.gap_fills += other.gap_fills;
        self.dead_lettered += other.dead_lettered;
    }
}

/// What a catch-up from the event store did.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CatchUpReport {
    /// Events read from the event store.
    pub events_read: u64,
    /// What applying them did.
    pub batches: BatchReport,
    /// The checkpoint at the end.
    pub checkpoint: LogPosition,
    /// Wall time.
    pub elapsed: Duration,
}

impl CatchUpReport {
    /// Events read per second of wall time.
    pub fn events_per_second(&self) -> f64 {
        self.events_read as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// What [`retry_parked`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetryReport {
    /// Orders that were tried.
    pub orders_retried: u64,
    /// Orders that are no longer parked.
    pub orders_drained: Vec<Uuid>,
    /// Orders that failed again, with the error (they stay parked, from the failing version on).
    pub still_parked: Vec<(Uuid, String)>,
    /// Events applied.
    pub events_applied: u64,
}

/// Where a projection stands; the figures behind its metrics and its status line.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ProjectionStatus {
    /// The projection.
    pub name: String,
    /// Its checkpoint, `<xid8>:<position>`.
    pub checkpoint: String,
    /// The event store's gap-safe head, `<xid8>:<position>`.
    pub head: String,
    /// Global positions between the checkpoint and the head.
    pub lag_positions: i64,
    /// Age of the oldest event not yet applied (0 when up to date).
    pub lag_seconds: f64,
    /// Orders parked by poison events.
    pub parked_orders: i64,
    /// Dead letters not yet resolved.
    pub dead_letters: i64,
}

/// Age in seconds of the oldest event after `checkpoint` (0 when nothing is between it and `head`): how
/// far behind a reader of the log is in time.
pub(crate) async fn lag_seconds(store: &EventStore, checkpoint: LogPosition, head: LogPosition) -> Result<f64, Error> {
    if head <= checkpoint {
        return Ok(0.0);
    }
    Ok(store
        .read_all_from(checkpoint, 1)
        .await?
        .first()
        .map_or(0.0, |event| (chrono::Utc::now() - event.recorded_at).as_seconds_f64().max(0.0)))
}

/// Why a batch was not committed.
enum BatchFailure {
    /// An event cannot be applied and still has attempts left.
    Poison { event_id: Uuid, error: String },
    /// The write failed for a reason that cannot be pinned on one event: retry event by event.
    Split,
    /// Infrastructure failure.
    Failed(Error),
}

impl From<Error> for BatchFailure {
    fn from(error: Error) -> Self {
        BatchFailure::Failed(error)
    }
}

impl From<sqlx::Error> for BatchFailure {
    fn from(error: sqlx::Error) -> Self {
        BatchFailure::Failed(Error::Database(error))
    }
}

/// State shared by the clones of one projector.
#[derive(Debug, Default)]
struct Shared {
    /// Failed attempts per event id, for the retry budget.
    attempts: Mutex<HashMap<Uuid, u32>>,
    /// Events whose view write failed, with the error (so a later attempt can dead-letter them).
    write_failures: Mutex<HashMap<Uuid, String>>,
    /// Events applied since start.
    events_applied: AtomicU64,
}

/// One projection: a named checkpoint and a target (the Postgres view tables or the search index),
/// fed from NATS ([`Projector::run`]) or from the event store ([`catch_up`]).
///
/// Every batch is applied in one Postgres transaction that first locks the projection's checkpoint row,
/// so several projectors, catch-ups and retries of the same projection never interleave.
#[derive(Clone)]
pub struct Projector {
    name: String,
    target: Target,
    pool: PgPool,
    store: EventStore,
    options: ProjectorOptions,
    decoder: Decoder,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Projector {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Projector")
            .field("name", &self.name)
            .field("target", &self.target)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Projector {
    /// The Postgres views projection (`order_views`) on the live tables. `pool` needs the
    /// `orders_projections` rights (write `projections`, read `event_store`).
    pub fn order_views(pool: PgPool) -> Self {
        Self::new(ORDER_VIEWS, Target::Views(ViewTables::live()), pool)
    }

    /// The search projection (`order_search`) writing through the alias of `index`.
    pub fn order_search(pool: PgPool, index: SearchIndex) -> Self {
        Self::new(ORDER_SEARCH, Target::Search(index), pool)
    }

    fn new(name: &str, target: Target, pool: PgPool) -> Self {
        Self {
            name: name.to_owned(),
            target,
            store: EventStore::new(pool.clone()),
            pool,
            options: ProjectorOptions::default(),
            decoder: standard_decoder(),
            shared: Arc::default(),
        }
    }

    /// Uses another checkpoint (and consumer) name, for example for a rebuild into shadow tables.
    pub fn with_name(mut self, name: &str) -> Self {
        name.clone_into(&mut self.name);
        self
    }

    /// Writes another set of view tables (Postgres views projection only).
    pub fn with_tables(mut self, tables: ViewTables) -> Self {
        if let Target::Views(current) = &mut self.target {
            *current = tables;
        }
        self
    }

    /// Writes through another search handle (search projection only).
    pub(crate) fn with_search_index(mut self, index: SearchIndex) -> Self {
        if let Target::Search(current) = &mut self.target {
            *current = index;
        }
        self
    }

    /// Replaces the tuning.
    pub fn with_options(mut self, options: ProjectorOptions) -> Self {
        self.options = options;
        self
    }

    /// Replaces the event decoder.
    pub fn with_decoder(mut self, decoder: Decoder) -> Self {
        self.decoder = decoder;
        self
    }

    /// The checkpoint name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The tuning.
    pub fn options(&self) -> &ProjectorOptions {
        &self.options
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Events applied by this projector (and its clones) since it was made.
    pub fn events_applied(&self) -> u64 {
        self.shared.events_applied.load(Ordering::Relaxed)
    }

    /// The projection's checkpoint.
    pub async fn checkpoint(&self) -> Result<LogPosition, Error> {
        ledger::read_checkpoint(&self.pool, &self.name).await
    }

    /// Checkpoint, lag and trouble of the projection.
    pub async fn status(&self) -> Result<ProjectionStatus, Error> {
        let checkpoint = self.checkpoint().await?;
        let head = self.store.head().await?;
        let (parked_orders, dead_letters) = ledger::trouble_counts(&self.pool, &self.name).await?;
        let lag_seconds = lag_seconds(&self.store, checkpoint, head).await?;
        Ok(ProjectionStatus {
            name: self.name.clone(),
            checkpoint: checkpoint.to_string(),
            head: head.to_string(),
            lag_positions: if head > checkpoint { (head.position - checkpoint.position).max(0) } else { 0 },
            lag_seconds,
            parked_orders,
            dead_letters,
        })
    }

    /// Prepares the target (creates the search index and alias if missing).
    pub async fn prepare(&self) -> Result<(), Error> {
        if let Target::Search(index) = &self.target {
            index.ensure().await?;
        }
        Ok(())
    }

    /// Applies events (in log order) and moves the checkpoint to `through` (at least the last event's
    /// position) in one transaction; events at or below the checkpoint are skipped.
    ///
    /// Poison events are retried up to the retry budget, then dead-lettered and their orders parked.
    /// Transient failures are retried a few times, then returned.
    pub async fn apply_events(&self, events: &[EventEnvelope], through: LogPosition) -> Result<BatchReport, Error> {
        let report = match self.apply_chunk(events, through).await? {
            Some(report) => report,
            None => {
                tracing::warn!(projection = %self.name, events = events.len(), "a batch write failed; applying its events one by one");
                let mut total = BatchReport::default();
                for event in events {
                    match self.apply_chunk(std::slice::from_ref(event), event.log_position).await? {
                        Some(report) => total.add(report),
                        None => return Err(Error::Config("a single event cannot be split".to_owned())),
                    }
                }
                if let Some(report) = self.apply_chunk(&[], through).await? {
                    total.add(report);
                }
                total
            }
        };
        if report.applied > 0 {
            self.shared.events_applied.fetch_add(report.applied, Ordering::Relaxed);
            metrics::counter!("projection_events_total", "projection" => self.name.clone()).increment(report.applied);
        }
        if report.dead_lettered > 0 {
            metrics::counter!("projection_dead_letters_total", "projection" => self.name.clone())
                .increment(report.dead_lettered);
        }
        Ok(report)
    }

    /// The retry loop around one transaction; `None` means the chunk must be split into single events.
    async fn apply_chunk(&self, events: &[EventEnvelope], through: LogPosition) -> Result<Option<BatchReport>, Error> {
        let mut transient_failures = 0u32;
        loop {
            match self.try_apply(events, through).await {
                Ok(report) => {
                    self.forget_attempts(events);
                    return Ok(Some(report));
                }
                Err(BatchFailure::Split) => return Ok(None),
                Err(BatchFailure::Poison { event_id, error }) => {
                    let attempts = {
                        let mut attempts = self.shared.attempts.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                        let count = attempts.entry(event_id).or_insert(0);
                        *count += 1;
                        *count
                    };
                    tracing::warn!(projection = %self.name, event.id = %event_id, attempt = attempts,
                        budget = self.options.retry_budget, %error, "event cannot be applied; retrying");
                    tokio::time::sleep(self.options.retry_backoff * attempts).await;
                }
                Err(BatchFailure::Failed(error)) if error.is_transient() && transient_failures < 5 => {
                    transient_failures += 1;
                    tracing::warn!(projection = %self.name, error = %error, attempt = transient_failures,
                        "transient failure applying a batch; retrying");
                    tokio::time::sleep(self.options.retry_backoff * 2u32.pow(transient_failures)).await;
                }
                Err(BatchFailure::Failed(error)) => return Err(error),
            }
        }
    }

    fn forget_attempts(&self, events: &[EventEnvelope]) {
        let mut attempts = self.shared.attempts.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if !attempts.is_empty() {
            for event in events {
                attempts.remove(&event.event_id);
            }
        }
        drop(attempts);
        let mut failures = self.shared.write_failures.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if !failures.is_empty() {
            for event in events {
                failures.remove(&event.event_id);
            }
        }
    }

    fn remember_write_failure(&self, event_id: Uuid, error: &str) {
        let mut failures = self.shared.write_failures.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        failures.insert(event_id, error.to_owned());
    }

    fn write_failure_of(&self, event_id: Uuid) -> Option<String> {
        let failures = self.shared.write_failures.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        failures.get(&event_id).cloned()
    }

    fn attempts_of(&self, event_id: Uuid) -> u32 {
        let attempts = self.shared.attempts.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        attempts.get(&event_id).copied().unwrap_or(0)
    }

    /// One transaction: lock the checkpoint, fold the new events onto the current views, write, move the checkpoint.
    async fn try_apply(&self, events: &[EventEnvelope], through: LogPosition) -> Result<BatchReport, BatchFailure> {
        let mut transaction = self.pool.begin().await?;
        let checkpoint = ledger::lock_checkpoint(&mut transaction, &self.name).await?;
        let fresh: Vec<&EventEnvelope> = events.iter().filter(|event| event.log_position > checkpoint).collect();
        if fresh.is_empty() && through <= checkpoint {
            return Ok(BatchReport { duplicates: events.len() as u64, ..BatchReport::default() });
        }
        let order_ids: Vec<Uuid> = fresh
            .iter()
            .filter(|event| event.stream_type == schemas::ORDER_STREAM_TYPE)
            .map(|event| event.stream_id)
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let parked = ledger::parked_among(&mut transaction, &self.name, &order_ids).await?;
        let loadable: Vec<Uuid> = order_ids.iter().copied().filter(|order_id| !parked.contains(order_id)).collect();
        let states = match &self.target {
            Target::Views(tables) => tables.load(&mut transaction, &loadable).await?,
            Target::Search(index) => index.load(&loadable).await?,
        };
        let mut fold = Fold::new(self, states, parked, false);
        fold.report.duplicates = (events.len() - fresh.len()) as u64;
        for event in fresh {
            fold.apply(event).await?;
        }
        let single_event = events.len() <= 1;
        fold.write(&mut transaction, single_event).await?;
        ledger::store_checkpoint(&mut transaction, &self.name, through.max(checkpoint)).await?;
        transaction.commit().await?;
        Ok(fold.report)
    }

    /// All events of an order from `from_version` to `to_version` (inclusive), from the event store.
    async fn read_versions(
        &self,
        order_id: Uuid,
        from_version: i64,
        to_version: i64,
    ) -> Result<Vec<EventEnvelope>, Error> {
        let mut events = Vec::new();
        let mut next = from_version;
        while next <= to_version {
            let limit = (to_version - next + 1).min(MAX_READ_BATCH);
            let page = match self.store.read_stream(order_id, next, limit).await {
                Ok(page) => page,
                Err(event_store::ReadError::StreamNotFound { .. }) => Vec::new(),
                Err(error) => return Err(error.into()),
            };
            let Some(last) = page.last() else { break };
            next = last.version + 1;
            events.extend(page.into_iter().filter(|event| event.version <= to_version).map(EventEnvelope::from));
        }
        Ok(events)
    }

    /// Catches up from the event store until the checkpoint reaches `until` (or the head, for `None`).
    pub async fn catch_up(&self, until: Option<LogPosition>) -> Result<CatchUpReport, Error> {
        self.catch_up_with(until, |_| {}).await
    }

    /// Like [`Projector::catch_up`], calling `progress` after every committed batch (for progress bars).
    pub async fn catch_up_with(
        &self,
        until: Option<LogPosition>,
        mut progress: impl FnMut(&CatchUpReport),
    ) -> Result<CatchUpReport, Error> {
        let started = Instant::now();
        let mut report = CatchUpReport::default();
        loop {
            let checkpoint = self.checkpoint().await?;
            report.checkpoint = checkpoint;
            if until.is_some_and(|until| checkpoint >= until) {
                break;
            }
            let events = self.store.read_all_from(checkpoint, self.options.catch_up_batch_size).await?;
            let Some(last) = events.last() else { break };
            let through = last.log_position();
            report.events_read += events.len() as u64;
            let envelopes: Vec<EventEnvelope> = events.into_iter().map(EventEnvelope::from).collect();
            report.batches.add(self.apply_events(&envelopes, through).await?);
            report.checkpoint = through;
            report.elapsed = started.elapsed();
            progress(&report);
        }
        report.elapsed = started.elapsed();
        Ok(report)
    }

    /// Runs the projection until `shutdown`: catches up from the event store, then applies the messages of
    /// its durable JetStream consumer, acknowledging each after the commit that applied it.
    ///
    /// A message whose previous-position header is past the checkpoint shows that something was missed
    /// (purged stream, relay restarted elsewhere, redelivery out of order): the projector catches up from
    /// the event store to that message first. While NATS is unreachable it follows the event store.
    pub async fn run(
        &self,
        jetstream: jetstream::Context,
        topology: NatsTopology,
        shutdown: CancellationToken,
    ) -> Result<(), Error> {
        while let Err(error) = self.prepare().await {
            tracing::warn!(projection = %self.name, error = %error, "preparing the projection target; retrying");
            if sleep_or_shutdown(Duration::from_secs(1), &shutdown).await {
                return Ok(());
            }
        }
        self.follow_store_once().await;
        loop {
            if shutdown.is_cancelled() {
                return Ok(());
            }
            match self.consume(&jetstream, &topology, &shutdown).await {
                Ok(()) => return Ok(()),
                Err(error) => {
                    metrics::gauge!("projection_nats_connected", "projection" => self.name.clone()).set(0.0);
                    tracing::warn!(projection = %self.name, error = %error,
                        "consuming NATS stopped; following the event store before trying again");
                    // The failure may have been the target's (a deleted search index): prepare it again.
                    if let Err(error) = self.prepare().await {
                        tracing::warn!(projection = %self.name, error = %error, "preparing the projection target failed");
                    }
                    let until = Instant::now() + self.options.nats_retry_interval;
                    while Instant::now() < until {
                        self.follow_store_once().await;
                        if sleep_or_shutdown(self.options.store_poll_interval, &shutdown).await {
                            return Ok(());
                        }
                    }
                }
            }
        }
    }

    /// One catch-up round that logs instead of failing.
    async fn follow_store_once(&self) {
        match self.catch_up(None).await {
            Ok(report) if report.events_read > 0 => {
                tracing::info!(projection = %self.name, events = report.events_read, checkpoint = %report.checkpoint,
                    "caught up from the event store");
            }
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(projection = %self.name, error = %error, "catching up from the event store failed")
            }
        }
    }

    async fn consume(
        &self,
        context: &jetstream::Context,
        topology: &NatsTopology,
        shutdown: &CancellationToken,
    ) -> Result<(), Error> {
        // While the client is (re)connecting, JetStream requests would only time out: follow the store instead.
        if context.client().connection_state() != async_nats::connection::State::Connected {
            return Err(Error::Nats("not connected".to_owned()));
        }
        let nats = |what: &str| {
            let what = what.to_owned();
            move |error: &dyn std::fmt::Display| Error::Nats(format!("{what}: {error}"))
        };
        let stream = topology.ensure_stream(context).await?;
        let config = topology.consumer_config(&self.name, self.options.ack_wait, self.options.max_ack_pending);
        let durable = config.durable_name.clone().unwrap_or_default();
        let mut consumer = stream
            .get_or_create_consumer(&durable, config.clone())
            .await
            .map_err(|error| nats("creating the consumer")(&error))?;
        let pending = consumer.info().await.map_err(|error| nats("reading the consumer")(&error))?.num_pending;
        if pending > self.options.recreate_consumer_above {
            // Everything it would replay is already applied from the event store.
            tracing::info!(projection = %self.name, pending, "recreating a consumer that is far behind");
            stream.delete_consumer(&durable).await.map_err(|error| nats("deleting the consumer")(&error))?;
            consumer = stream
                .get_or_create_consumer(&durable, config)
                .await
                .map_err(|error| nats("creating the consumer")(&error))?;
        }
        let messages = consumer
            .stream()
            .max_messages_per_batch(self.options.batch_size)
            .heartbeat(Duration::from_secs(5))
            .expires(Duration::from_secs(30))
            .messages()
            .await
            .map_err(|error| nats("pulling messages")(&error))?;
        let mut chunks = messages.ready_chunks(self.options.batch_size);
        let mut idle_check = tokio::time::interval(self.options.idle_check_interval);
        idle_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut received = false;
        metrics::gauge!("projection_nats_connected", "projection" => self.name.clone()).set(1.0);
        loop {
            tokio::select! {
                biased;
                () = shutdown.cancelled() => return Ok(()),
                chunk = chunks.next() => {
                    let Some(mut chunk) = chunk else { return Err(Error::Nats("the message stream ended".to_owned())) };
                    received = true;
                    // Tokio's cooperative budget ends a chunk after 128 ready messages; yield and take what else is
                    // ready, so a backlog is applied in few large batches (one search refresh wait each).
                    while chunk.len() < self.options.batch_size {
                        tokio::task::yield_now().await;
                        match chunks.next().now_or_never() {
                            Some(Some(more)) => chunk.extend(more),
                            _ => break,
                        }
                    }
                    self.handle_messages(chunk).await?;
                }
                _ = idle_check.tick() => {
                    if !received {
                        self.catch_up_if_behind().await?;
                    }
                    received = false;
                }
            }
        }
    }

    async fn catch_up_if_behind(&self) -> Result<(), Error> {
        let head = self.store.head().await?;
        if self.checkpoint().await? < head {
            let report = self.catch_up(Some(head)).await?;
            tracing::info!(projection = %self.name, events = report.events_read, checkpoint = %report.checkpoint,
                "no message arrived but the event store had more: caught up from it");
        }
        Ok(())
    }

    async fn handle_messages(
        &self,
        chunk: Vec<Result<jetstream::Message, jetstream::consumer::pull::MessagesError>>,
    ) -> Result<(), Error> {
        let mut messages = Vec::with_capacity(chunk.len());
        let mut failure = None;
        for item in chunk {
            match item {
                Ok(message) => messages.push(message),
                Err(error) => failure = Some(error),
            }
        }
        let started = Instant::now();
        self.project_messages(&messages).await?;
        tracing::debug!(projection = %self.name, messages = messages.len(), elapsed_ms = started.elapsed().as_millis() as u64,
            "applied a pull");
        if self.options.acknowledge {
            for message in &messages {
                if let Err(error) = message.ack().await {
                    // The message comes back after ack_wait and is then skipped as applied.
                    tracing::warn!(projection = %self.name, error = %error, "acknowledging a message failed");
                }
            }
        }
        match failure {
            Some(error) => Err(Error::Nats(format!("pulling messages: {error}"))),
            None => Ok(()),
        }
    }

    /// Applies the events of messages in delivery order, checking the previous-position chain.
    async fn project_messages(&self, messages: &[jetstream::Message]) -> Result<(), Error> {
        if messages.is_empty() {
            return Ok(());
        }
        let mut expected = self.checkpoint().await?;
        let mut pending: Vec<EventEnvelope> = Vec::new();
        for message in messages {
            let envelope = match EventEnvelope::from_nats(message.headers.as_ref(), &message.payload) {
                Ok(envelope) => envelope,
                Err(error) => {
                    tracing::warn!(projection = %self.name, subject = %message.subject, error = %error,
                        "ignoring a message that is not a published event");
                    continue;
                }
            };
            if envelope.log_position <= expected {
                continue;
            }
            // The relay sets `previous` to the position it published before this event; every event between
            // the two is not an order event, so the chain holds when `previous` is at or below what we have.
            if envelope.previous.unwrap_or(LogPosition::START) <= expected {
                expected = envelope.log_position;
                pending.push(envelope);
                continue;
            }
            if !pending.is_empty() {
                self.apply_events(&std::mem::take(&mut pending), expected).await?;
            }
            tracing::info!(projection = %self.name, checkpoint = %expected, message = %envelope.log_position,
                previous = ?envelope.previous, "missed events: catching up from the event store");
            metrics::counter!("projection_gap_catch_ups_total", "projection" => self.name.clone()).increment(1);
            self.catch_up(Some(envelope.log_position)).await?;
            expected = self.checkpoint().await?;
            if expected < envelope.log_position {
                tracing::warn!(projection = %self.name, message = %envelope.log_position,
                    "a message names an event the event store does not have; ignoring it");
            }
        }
        if !pending.is_empty() {
            self.apply_events(&pending, expected).await?;
        }
        Ok(())
    }
}

/// Sleeps, returning true when the shutdown came first.
pub(crate) async fn sleep_or_shutdown(duration: Duration, shutdown: &CancellationToken) -> bool {
    tokio::select! {
        () = shutdown.cancelled() => true,
        () = tokio::time::sleep(duration) => false,
    }
}

/// Catches a projection up from the event store in batches, until its checkpoint reaches `until`
/// (or the head for `None`). Safe while the projection runs elsewhere: batches take the checkpoint lock.
pub async fn catch_up(projector: &Projector, until: Option<LogPosition>) -> Result<CatchUpReport, Error> {
    projector.catch_up(until).await
}

/// Retries parked orders of a projection after a fix (all of them, or only `order_ids`): re-reads each
/// order's events from the event store from its first unapplied version and applies them.
///
/// An order whose events now apply is unparked and its dead letters are marked resolved; one that fails
/// again stays parked (from the failing version on) with the new error and one more attempt recorded.
/// Events past the projection's checkpoint are applied too; the live projector then skips them as duplicates.
pub async fn retry_parked(projector: &Projector, order_ids: Option<&[Uuid]>) -> Result<RetryReport, Error> {
    let mut report = RetryReport::default();
    let parked = ledger::parked_orders(&projector.pool, &projector.name).await?;
    for order in parked {
        if order_ids.is_some_and(|wanted| !wanted.contains(&order.order_id)) {
            continue;
        }
        report.orders_retried += 1;
        let events = projector.read_versions(order.order_id, order.from_version, i64::MAX).await?;
        let mut transaction = projector.pool.begin().await?;
        ledger::lock_checkpoint(&mut transaction, &projector.name).await?;
        if ledger::parked_among(&mut transaction, &projector.name, &[order.order_id]).await?.is_empty() {
            continue;
        }
        let states = match &projector.target {
            Target::Views(tables) => tables.load(&mut transaction, &[order.order_id]).await?,
            Target::Search(index) => index.load(&[order.order_id]).await?,
        };
        let mut fold = Fold::new(projector, states, HashSet::new(), true);
        for event in &events {
            match fold.apply(event).await {
                Ok(()) => {}
                Err(BatchFailure::Failed(error)) => return Err(error),
                Err(BatchFailure::Poison { .. } | BatchFailure::Split) => break,
            }
            if !fold.dead.is_empty() {
                break;
            }
        }
        match fold.write(&mut transaction, true).await {
            Ok(()) => {}
            Err(BatchFailure::Failed(error)) => return Err(error),
            Err(BatchFailure::Poison { error, .. }) => {
                // The transaction failed and rolls back; the order stays parked as it was.
                report.still_parked.push((order.order_id, error));
                continue;
            }
            Err(BatchFailure::Split) => {
                report.still_parked.push((order.order_id, "writing the views failed".to_owned()));
                continue;
            }
        }
        report.events_applied += fold.report.applied;
        if let Some(letter) = fold.dead.first() {
            report.still_parked.push((order.order_id, letter.error.clone()));
        } else {
            ledger::unpark(&mut transaction, &projector.name, order.order_id).await?;
            report.orders_drained.push(order.order_id);
        }
        transaction.commit().await?;
    }
    if !report.orders_drained.is_empty() {
        tracing::info!(projection = %projector.name, drained = report.orders_drained.len(),
            still_parked = report.still_parked.len(), "retried parked orders");
    }
    Ok(report)
}

/// The in-memory fold of one batch onto the current views of its orders.
struct Fold<'p> {
    projector: &'p Projector,
    states: HashMap<Uuid, OrderView>,
    /// The first event of each order applied in this batch (its version is where the order would park
    /// if the target refuses the written document).
    first_applied: HashMap<Uuid, EventEnvelope>,
    changes: FoldedChanges,
    parked: HashSet<Uuid>,
    dead: Vec<DeadLetter>,
    report: BatchReport,
    /// An operator's retry: a failing event is dead-lettered again at once, without a budget.
    retrying: bool,
}

impl<'p> Fold<'p> {
    fn new(projector: &'p Projector, states: HashMap<Uuid, OrderView>, parked: HashSet<Uuid>, retrying: bool) -> Self {
        Self {
            projector,
            states,
            first_applied: HashMap::new(),
            changes: FoldedChanges::default(),
            parked,
            dead: Vec::new(),
            report: BatchReport::default(),
            retrying,
        }
    }

    /// Applies one event of the global log, after filling a version gap of its order from the event store.
    async fn apply(&mut self, event: &EventEnvelope) -> Result<(), BatchFailure> {
        if event.stream_type != schemas::ORDER_STREAM_TYPE {
            return Ok(());
        }
        let order_id = event.stream_id;
        if self.parked.contains(&order_id) {
            self.report.skipped_parked += 1;
            return Ok(());
        }
        let current = self.states.get(&order_id).map_or(0, |view| view.version);
        if event.version <= current {
            self.report.duplicates += 1;
            return Ok(());
        }
        if event.version > current + 1 {
            let missing = self.projector.read_versions(order_id, current + 1, event.version - 1).await?;
            tracing::debug!(projection = %self.projector.name, order.id = %order_id, from = current + 1,
                to = event.version - 1, found = missing.len(), "filling a version gap from the event store");
            self.report.gap_fills += missing.len() as u64;
            for earlier in &missing {
                self.apply_one(earlier)?;
                if self.parked.contains(&order_id) {
                    self.report.skipped_parked += 1;
                    return Ok(());
                }
            }
        }
        self.apply_one(event)
    }

    fn apply_one(&mut self, event: &EventEnvelope) -> Result<(), BatchFailure> {
        let span = tracing::info_span!(
            "project_event",
            projection = %self.projector.name,
            event.id = %event.event_id,
            "event.type" = %event.event_type,
            event.position = %event.log_position,
            order.id = %event.stream_id,
            stream.version = event.version,
            correlation.id = event.correlation_id.as_deref().unwrap_or(""),
        );
        let _entered = span.enter();
        let order_id = event.stream_id;
        if let Some(error) = self.projector.write_failure_of(event.event_id) {
            return self.poison(event, error);
        }
        let result = (self.projector.decoder)(event).and_then(|decoded| {
            if decoded.order_id() != order_id {
                return Err(format!("event of stream {order_id} is about order {}", decoded.order_id()));
            }
            let place = EventPlace { version: event.version, position: event.log_position.position };
            project(self.states.get(&order_id), &decoded, place).map_err(|error| error.to_string())
        });
        match result {
            Ok(change) => {
                self.first_applied.entry(order_id).or_insert_with(|| event.clone());
                self.states.insert(order_id, change.order.clone());
                self.changes.add(change);
                self.report.applied += 1;
                Ok(())
            }
            Err(error) => self.poison(event, error),
        }
    }

    /// An event that cannot be applied: fail the batch while attempts remain, else dead-letter it and park its order.
    fn poison(&mut self, event: &EventEnvelope, error: String) -> Result<(), BatchFailure> {
        let attempts = if self.retrying { 1 } else { self.projector.attempts_of(event.event_id) + 1 };
        if !self.retrying && attempts < self.projector.options.retry_budget {
            return Err(BatchFailure::Poison { event_id: event.event_id, error });
        }
        tracing::error!(projection = %self.projector.name, order.id = %event.stream_id, event.id = %event.event_id,
            "event.type" = %event.event_type, stream.version = event.version, attempts, %error,
            "dead-lettering an event and parking its order");
        self.dead.push(DeadLetter { event: event.clone(), error, attempts });
        self.parked.insert(event.stream_id);
        self.report.dead_lettered += 1;
        Ok(())
    }

    /// Writes the folded changes and the dead letters inside `transaction`.
    async fn write(&mut self, transaction: &mut sqlx::PgConnection, single_event: bool) -> Result<(), BatchFailure> {
        match &self.projector.target {
            Target::Views(tables) => {
                if let Err(error) = tables.write(transaction, &self.changes).await {
                    if error.is_transient() {
                        return Err(error.into());
                    }
                    if !single_event {
                        return Err(BatchFailure::Split);
                    }
                    let Some(event) = self.first_applied.values().next().cloned() else {
                        return Err(error.into());
                    };
                    // The transaction is aborted after a failed statement, so the dead letter (once the budget
                    // is spent) is written by a later attempt, which remembers why this event failed.
                    let message = format!("writing the views failed: {error}");
                    self.projector.remember_write_failure(event.event_id, &message);
                    return Err(BatchFailure::Poison { event_id: event.event_id, error: message });
                }
            }
            Target::Search(index) => {
                let refused = index.write(self.changes.orders.values()).await?;
                for (order_id, reason) in refused {
                    let Some(event) = self.first_applied.get(&order_id).cloned() else { continue };
                    self.poison(&event, reason)?;
                }
            }
        }
        for letter in &self.dead {
            ledger::dead_letter_and_park(transaction, &self.projector.name, letter).await?;
        }
        Ok(())
    }
}
