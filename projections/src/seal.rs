//! Seals: the heads of the event store's streams, published by the relay to a JetStream stream that refuses
//! deletes and purges, outside the database the hash chains live in.
//!
//! Every `seal_interval` the active relay takes the stretch of the global log it has published since the
//! last seal, asks the store for the head (version, hash) of every stream with an event in it, publishes
//! them (in parts of at most 2,000 heads) and stores the seal checkpoint. Someone who deletes a stream's
//! newest events, or rewrites a chain, in Postgres cannot change what was sealed: `ordersctl verify-log
//! --seals` reads the seals back and checks each stream's newest sealed head against the store.
//! What lies after the last seal (at most one interval of events) is not covered yet.

use std::collections::BTreeMap;
use std::future::IntoFuture;
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, consumer, message::PublishMessage};
use chrono::{DateTime, Utc};
use event_store::{EventStore, LogPosition, StreamHead};
use futures::future::try_join_all;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use crate::error::Error;
use crate::ledger;
use crate::topology::NatsTopology;

/// The `format` of every seal message.
pub const SEAL_FORMAT: &str = "orders.seal.v1";

/// Most heads in one message (about 220 kB of JSON, well under NATS' default 1 MB payload limit).
const HEADS_PER_MESSAGE: usize = 2_000;

/// One seal message: the heads of the streams that changed in the stretch `(after, through]` of the log.
/// A stretch with more heads than fit one message is sealed in `parts` messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SealMessage {
    /// Always [`SEAL_FORMAT`].
    pub format: String,
    /// Where the stretch starts (exclusive).
    pub after: LogPosition,
    /// Where the stretch ends (inclusive).
    pub through: LogPosition,
    /// This message's number, from 1.
    pub part: u32,
    /// How many messages seal the stretch.
    pub parts: u32,
    /// When the relay sealed it.
    pub sealed_at: DateTime<Utc>,
    /// The heads in this part.
    pub heads: Vec<StreamHead>,
}

/// Publishes seals for the active relay; holds where the last seal ended.
#[derive(Debug)]
pub(crate) struct Sealer {
    store: EventStore,
    pool: PgPool,
    jetstream: jetstream::Context,
    topology: NatsTopology,
    interval: Duration,
    ack_timeout: Duration,
    sealed_through: LogPosition,
    last_sealed: Instant,
}

impl Sealer {
    /// Ensures the seal stream and reads the seal checkpoint; run when the relay becomes active.
    pub(crate) async fn start(
        pool: &PgPool,
        jetstream: &jetstream::Context,
        topology: &NatsTopology,
        interval: Duration,
        ack_timeout: Duration,
    ) -> Result<Self, Error> {
        topology.ensure_seal_stream(jetstream).await?;
        let sealed_through = ledger::read_checkpoint(pool, &checkpoint_name(topology)).await?;
        Ok(Self {
            store: EventStore::new(pool.clone()),
            pool: pool.clone(),
            jetstream: jetstream.clone(),
            topology: topology.clone(),
            interval,
            ack_timeout,
            sealed_through,
            last_sealed: Instant::now(),
        })
    }

    /// How long until the next seal is due.
    pub(crate) fn due_in(&self) -> Duration {
        self.interval.saturating_sub(self.last_sealed.elapsed())
    }

    /// Seals `(last seal, published_through]` when the interval has passed and there is something new.
    pub(crate) async fn seal_if_due(&mut self, published_through: LogPosition) -> Result<(), Error> {
        if !self.due_in().is_zero() {
            return Ok(());
        }
        self.last_sealed = Instant::now();
        if published_through <= self.sealed_through {
            return Ok(());
        }
        let heads = self.store.stream_heads_between(self.sealed_through, published_through).await?;
        let parts = heads.len().div_ceil(HEADS_PER_MESSAGE).max(1);
        let sealed_at = Utc::now();
        let mut acks = Vec::with_capacity(parts);
        for (index, chunk) in heads.chunks(HEADS_PER_MESSAGE).enumerate() {
            let message = SealMessage {
                format: SEAL_FORMAT.to_owned(),
                after: self.sealed_through,
                through: published_through,
                part: index as u32 + 1,
                parts: parts as u32,
                sealed_at,
                heads: chunk.to_vec(),
            };
            let payload =
                serde_json::to_vec(&message).map_err(|error| Error::Nats(format!("encoding a seal: {error}")))?;
            // A relay that seals the same stretch again (it died before storing the checkpoint) is dropped
            // by JetStream's duplicate window.
            let publish = PublishMessage::build().payload(payload.into()).message_id(format!(
                "seal:{}:{published_through}:{}",
                self.sealed_through,
                index + 1
            ));
            let ack = self
                .jetstream
                .send_publish(self.topology.seal_subject(), publish)
                .await
                .map_err(|error| Error::Nats(format!("publishing a seal: {error}")))?;
            acks.push(ack.into_future());
        }
        tokio::time::timeout(self.ack_timeout, try_join_all(acks))
            .await
            .map_err(|_| Error::Nats("seal acknowledgements timed out".to_owned()))?
            .map_err(|error| Error::Nats(format!("a seal was not acknowledged: {error}")))?;
        let mut connection = self.pool.acquire().await?;
        ledger::store_checkpoint(&mut connection, &checkpoint_name(&self.topology), published_through).await?;
        self.sealed_through = published_through;
        metrics::counter!("relay_seals_total").increment(parts as u64);
        metrics::counter!("relay_sealed_heads_total").increment(heads.len() as u64);
        metrics::gauge!("relay_sealed_position").set(published_through.position as f64);
        tracing::debug!(heads = heads.len(), parts, through = %published_through, "sealed the stream heads");
        Ok(())
    }
}

/// The seal checkpoint's name: `seal:<stream name>`.
fn checkpoint_name(topology: &NatsTopology) -> String {
    format!("seal:{}", topology.stream_name)
}

/// What the seal stream holds, reduced to the newest sealed head of every stream.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct SealedHeads {
    /// Seal messages read.
    pub messages: u64,
    /// The end of the newest sealed stretch (`None` before the first seal).
    pub sealed_through: Option<LogPosition>,
    /// When the newest seal was made.
    pub last_sealed_at: Option<DateTime<Utc>>,
    /// The newest sealed head of every sealed stream, in stream id order.
    pub heads: Vec<StreamHead>,
}

/// Reads every message of `topology`'s seal stream (an ordered consumer, in stream order) and keeps the
/// newest head per stream. Only the stream name counts, not the subject prefix. A message that is not a
/// seal is an error: the stream holds nothing else.
pub async fn read_sealed_heads(jetstream: &jetstream::Context, topology: &NatsTopology) -> Result<SealedHeads, Error> {
    let nats = |what: &str, error: &dyn std::fmt::Display| Error::Nats(format!("{what}: {error}"));
    let mut stream = jetstream
        .get_stream(topology.seal_stream_name())
        .await
        .map_err(|error| nats(&format!("opening stream {}", topology.seal_stream_name()), &error))?;
    let total = stream.info().await.map_err(|error| nats("reading the seal stream's state", &error))?.state.messages;
    let mut sealed = SealedHeads::default();
    if total == 0 {
        return Ok(sealed);
    }
    let consumer = stream
        .create_consumer(consumer::pull::OrderedConfig {
            deliver_policy: consumer::DeliverPolicy::All,
            ..Default::default()
        })
        .await
        .map_err(|error| nats("creating a reader of the seals", &error))?;
    let mut messages = consumer.messages().await.map_err(|error| nats("reading the seals", &error))?;
    let mut newest: BTreeMap<Uuid, StreamHead> = BTreeMap::new();
    while let Some(message) = messages.next().await {
        let message = message.map_err(|error| nats("reading a seal", &error))?;
        let info = message.info().map_err(|error| nats("reading a seal's metadata", &error))?;
        let (sequence, pending) = (info.stream_sequence, info.pending);
        let seal: SealMessage = serde_json::from_slice(&message.payload)
            .map_err(|error| Error::Nats(format!("seal message {sequence} is not a seal: {error}")))?;
        if seal.format != SEAL_FORMAT {
            return Err(Error::Nats(format!("seal message {sequence} has format {}", seal.format)));
        }
        sealed.messages += 1;
        sealed.sealed_through = sealed.sealed_through.max(Some(seal.through));
        sealed.last_sealed_at = sealed.last_sealed_at.max(Some(seal.sealed_at));
        for head in seal.heads {
            match newest.get(&head.stream_id) {
                Some(known) if known.version >= head.version => {}
                _ => {
                    newest.insert(head.stream_id, head);
                }
            }
        }
        if pending == 0 {
            break;
        }
    }
    sealed.heads = newest.into_values().collect();
    Ok(sealed)
}
