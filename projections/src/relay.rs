//! The relay: the event store's events table is the outbox. One active relay (elected with a Postgres
//! advisory lock) tails the gap-safe global log and publishes every order event to JetStream in log order,
//! then stores its checkpoint once all publish acknowledgements are in. No dual write: a crash before the
//! checkpoint only re-publishes, and JetStream drops the copies by `Nats-Msg-Id`.

use std::future::IntoFuture;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, message::PublishMessage};
use event_store::{EventStore, LogPosition};
use futures::future::try_join_all;
use sqlx::{Connection, PgConnection, PgPool};
use tokio_util::sync::CancellationToken;

use crate::envelope::nats_headers;
use crate::error::Error;
use crate::ledger::{self, advisory_lock_key};
use crate::projector::sleep_or_shutdown;
use crate::seal::Sealer;
use crate::topology::NatsTopology;

/// Tuning of the relay; the defaults suit production.
#[derive(Debug, Clone)]
pub struct RelayOptions {
    /// Most events read and published per round (their acks are awaited together).
    pub batch_size: i64,
    /// Shortest wait between two polls of an idle event store.
    pub min_poll_interval: Duration,
    /// Longest wait between two polls of an idle event store (the worst added latency).
    pub max_poll_interval: Duration,
    /// How long to wait for the publish acknowledgements of a round.
    pub ack_timeout: Duration,
    /// How often a standby relay tries to become active.
    pub standby_retry: Duration,
    /// How often the stream heads are sealed to NATS (see the `seal` module); `None` publishes no seals.
    pub seal_interval: Option<Duration>,
}

impl Default for RelayOptions {
    fn default() -> Self {
        Self {
            batch_size: 500,
            min_poll_interval: Duration::from_millis(2),
            max_poll_interval: Duration::from_millis(20),
            ack_timeout: Duration::from_secs(10),
            standby_retry: Duration::from_secs(1),
            seal_interval: Some(Duration::from_secs(10)),
        }
    }
}

/// Publishes the global log of the event store to a JetStream stream.
#[derive(Debug, Clone)]
pub struct Relay {
    pool: PgPool,
    store: EventStore,
    jetstream: jetstream::Context,
    topology: NatsTopology,
    options: RelayOptions,
    active: Arc<AtomicBool>,
}

impl Relay {
    /// A relay reading with `pool` (which needs `SELECT` on `event_store` and writes `projections.checkpoints`)
    /// and publishing with `jetstream` to `topology`. Does no IO.
    pub fn new(pool: PgPool, jetstream: jetstream::Context, topology: NatsTopology) -> Self {
        Self {
            store: EventStore::new(pool.clone()),
            pool,
            jetstream,
            topology,
            options: RelayOptions::default(),
            active: Arc::default(),
        }
    }

    /// Replaces the tuning.
    pub fn with_options(mut self, options: RelayOptions) -> Self {
        self.options = options;
        self
    }

    /// The relay's checkpoint name: `relay:<stream name>`.
    pub fn checkpoint_name(&self) -> String {
        format!("relay:{}", self.topology.stream_name)
    }

    /// True while this relay holds the lock and publishes; false while it waits as a standby.
    pub fn is_active(&self) -> bool {
        self.active.load(Ordering::Relaxed)
    }

    /// The relay's checkpoint: everything at or below it has been acknowledged by JetStream.
    pub async fn checkpoint(&self) -> Result<LogPosition, Error> {
        ledger::read_checkpoint(&self.pool, &self.checkpoint_name()).await
    }

    /// Runs until `shutdown`: waits to become the active relay, then publishes. Infrastructure failures
    /// (Postgres, NATS) are logged and retried from the stored checkpoint.
    pub async fn run(&self, shutdown: CancellationToken) -> Result<(), Error> {
        let lock_key = advisory_lock_key(&self.checkpoint_name());
        loop {
            if shutdown.is_cancelled() {
                return Ok(());
            }
            let mut lock_connection = match self.become_active(lock_key, &shutdown).await {
                Ok(Some(connection)) => connection,
                Ok(None) => return Ok(()),
                Err(error) => {
                    tracing::warn!(error = %error, "relay election failed; retrying");
                    if sleep_or_shutdown(self.options.standby_retry, &shutdown).await {
                        return Ok(());
                    }
                    continue;
                }
            };
            self.active.store(true, Ordering::Relaxed);
            metrics::gauge!("relay_active").set(1.0);
            tracing::info!(stream = %self.topology.stream_name, "relay is active");
            let outcome = self.publish_while_active(&mut lock_connection, &shutdown).await;
            self.active.store(false, Ordering::Relaxed);
            metrics::gauge!("relay_active").set(0.0);
            // Dropping the connection releases the lock for a standby.
            drop(lock_connection);
            match outcome {
                Ok(()) => return Ok(()),
                Err(error) => {
                    tracing::warn!(error = %error, "relay stopped publishing; restarting from its checkpoint");
                    if sleep_or_shutdown(self.options.standby_retry, &shutdown).await {
                        return Ok(());
                    }
                }
            }
        }
    }

    /// Waits for the advisory lock on a dedicated connection; `None` on shutdown.
    async fn become_active(&self, lock_key: i64, shutdown: &CancellationToken) -> Result<Option<PgConnection>, Error> {
        let mut connection = self.pool.acquire().await?.detach();
        let mut announced = false;
        loop {
            let (locked,): (bool,) =
                sqlx::query_as("SELECT pg_try_advisory_lock($1)").bind(lock_key).fetch_one(&mut connection).await?;
            if locked {
                return Ok(Some(connection));
            }
            if !announced {
                tracing::info!("another relay is active; waiting as a standby");
                metrics::gauge!("relay_active").set(0.0);
                announced = true;
            }
            if sleep_or_shutdown(self.options.standby_retry, shutdown).await {
                return Ok(None);
            }
        }
    }

    async fn publish_while_active(
        &self,
        lock_connection: &mut PgConnection,
        shutdown: &CancellationToken,
    ) -> Result<(), Error> {
        self.topology.ensure_stream(&self.jetstream).await?;
        let name = self.checkpoint_name();
        let mut checkpoint = ledger::read_checkpoint(&self.pool, &name).await?;
        // The position of the last event this relay published (or passed over); sent as the next
        // message's previous position.
        let mut previous = checkpoint;
        let mut subscription = self
            .store
            .subscribe(checkpoint)
            .with_batch_size(self.options.batch_size)
            .with_poll_interval(self.options.min_poll_interval, self.options.max_poll_interval);
        let mut sealer = match self.options.seal_interval {
            Some(interval) => Some(
                Sealer::start(&self.pool, &self.jetstream, &self.topology, interval, self.options.ack_timeout).await?,
            ),
            None => None,
        };
        let mut lock_checked = Instant::now();
        loop {
            if let Some(sealer) = sealer.as_mut() {
                sealer.seal_if_due(checkpoint).await?;
            }
            // With seals on, an idle log still wakes the loop when the next seal is due.
            let wait = sealer.as_ref().map_or(Duration::MAX, Sealer::due_in);
            let batch = tokio::select! {
                biased;
                () = shutdown.cancelled() => return Ok(()),
                batch = subscription.next_batch_within(wait) => batch?,
            };
            if batch.is_empty() {
                continue;
            }
            let mut acks = Vec::with_capacity(batch.len());
            for event in &batch {
                if event.stream_type != schemas::ORDER_STREAM_TYPE {
                    continue;
                }
                let payload = serde_json::to_vec(&event.payload)
                    .map_err(|error| Error::Nats(format!("encoding event {}: {error}", event.event_id)))?;
                let publish = PublishMessage::build().payload(payload.into()).headers(nats_headers(event, previous));
                let subject = self.topology.subject(event.stream_id, &event.event_type);
                let ack = self
                    .jetstream
                    .send_publish(subject, publish)
                    .await
                    .map_err(|error| Error::Nats(format!("publishing event {}: {error}", event.event_id)))?;
                acks.push(ack.into_future());
                previous = event.log_position();
            }
            let published = acks.len();
            let acknowledged = tokio::time::timeout(self.options.ack_timeout, try_join_all(acks))
                .await
                .map_err(|_| Error::Nats("publish acknowledgements timed out".to_owned()))?
                .map_err(|error| Error::Nats(format!("publish was not acknowledged: {error}")))?;
            let duplicates = acknowledged.iter().filter(|ack| ack.duplicate).count();
            if let Some(last) = batch.last() {
                checkpoint = last.log_position();
                previous = checkpoint;
                let mut connection = self.pool.acquire().await?;
                ledger::store_checkpoint(&mut connection, &name, checkpoint).await?;
            }
            metrics::counter!("relay_published_total").increment(published as u64);
            metrics::counter!("relay_duplicates_total").increment(duplicates as u64);
            metrics::gauge!("relay_checkpoint_position").set(checkpoint.position as f64);
            tracing::debug!(published, duplicates, checkpoint = %checkpoint, "published a batch");
            // A lost lock connection means a standby may take over: stop rather than publish side by side.
            if lock_checked.elapsed() > Duration::from_secs(1) {
                lock_connection.ping().await?;
                lock_checked = Instant::now();
            }
        }
    }
}
