//! Tailing the global log: a `Subscription` polls the gap-safe read with a backoff when idle and is
//! woken at once by appends made through the same `EventStore` (or by `EventStore::nudge`).
//!
//! There is deliberately no `LISTEN/NOTIFY`: a transaction with a pending `NOTIFY` takes a cluster-wide
//! lock at commit, which would serialise every append. Other processes learn of new events by polling,
//! or by a hint from the writer (e.g. over NATS) turned into `nudge`.

use std::time::Duration;

use tokio::sync::watch;

use crate::error::ReadError;
use crate::position::LogPosition;
use crate::store::EventStore;
use crate::types::RecordedEvent;

/// The default shortest wait between two polls of an idle log.
pub const DEFAULT_MIN_POLL_INTERVAL: Duration = Duration::from_millis(10);
/// The default longest wait between two polls of an idle log.
pub const DEFAULT_MAX_POLL_INTERVAL: Duration = Duration::from_millis(250);

/// A reader tailing the global log from a checkpoint.
///
/// [`Subscription::next_batch`] returns the next events in log order, waiting until there is at least one.
/// While the log is idle it polls with a doubling interval between the configured minimum and maximum;
/// an append through any clone of the same [`EventStore`], or [`EventStore::nudge`], resets the interval
/// and triggers a poll immediately.
/// The checkpoint moves past each returned batch; persist it yourself if the reader must survive restarts.
#[derive(Debug)]
pub struct Subscription {
    store: EventStore,
    checkpoint: LogPosition,
    batch_size: i64,
    min_poll_interval: Duration,
    max_poll_interval: Duration,
    idle_interval: Duration,
    wakeups: watch::Receiver<LogPosition>,
}

impl EventStore {
    /// Starts tailing the global log after `checkpoint` (use [`LogPosition::START`] for everything).
    ///
    /// Batches hold up to 500 events; see [`Subscription::with_batch_size`].
    pub fn subscribe(&self, checkpoint: LogPosition) -> Subscription {
        Subscription {
            store: self.clone(),
            checkpoint,
            batch_size: 500,
            min_poll_interval: DEFAULT_MIN_POLL_INTERVAL,
            max_poll_interval: DEFAULT_MAX_POLL_INTERVAL,
            idle_interval: DEFAULT_MIN_POLL_INTERVAL,
            wakeups: self.appended.subscribe(),
        }
    }

    /// Wakes every subscription of this process so it polls now, for example on a hint that another
    /// process appended events.
    pub fn nudge(&self) {
        self.appended.send_modify(|_| {});
    }
}

impl Subscription {
    /// Sets the largest batch `next_batch` returns (clamped to `1..=MAX_READ_BATCH`).
    pub fn with_batch_size(mut self, batch_size: i64) -> Self {
        self.batch_size = batch_size.clamp(1, crate::MAX_READ_BATCH);
        self
    }

    /// Sets the idle polling interval range; `max` is raised to `min` if smaller.
    pub fn with_poll_interval(mut self, min: Duration, max: Duration) -> Self {
        self.min_poll_interval = min;
        self.max_poll_interval = max.max(min);
        self.idle_interval = min;
        self
    }

    /// The position after the last event handed out.
    pub fn checkpoint(&self) -> LogPosition {
        self.checkpoint
    }

    /// The next events after the checkpoint, at least one, in log order; waits as long as it takes.
    ///
    /// Cancel-safe: dropping the future loses no events, since the checkpoint only moves when a batch
    /// is returned.
    pub async fn next_batch(&mut self) -> Result<Vec<RecordedEvent>, ReadError> {
        loop {
            // Mark the current value seen before reading, so an append committed during the read wakes us.
            self.wakeups.borrow_and_update();
            let batch = self.store.read_all_from(self.checkpoint, self.batch_size).await?;
            if let Some(last) = batch.last() {
                self.checkpoint = last.log_position();
                self.idle_interval = self.min_poll_interval;
                return Ok(batch);
            }
            tokio::select! {
                changed = self.wakeups.changed() => {
                    if changed.is_ok() {
                        self.idle_interval = self.min_poll_interval;
                    } else {
                        tokio::time::sleep(self.idle_interval).await;
                    }
                }
                () = tokio::time::sleep(self.idle_interval) => {
                    self.idle_interval = (self.idle_interval * 2).min(self.max_poll_interval);
                }
            }
        }
    }

    /// Like [`Subscription::next_batch`], but gives up after `timeout` and then returns an empty list.
    pub async fn next_batch_within(&mut self, timeout: Duration) -> Result<Vec<RecordedEvent>, ReadError> {
        match tokio::time::timeout(timeout, self.next_batch()).await {
            Ok(result) => result,
            Err(_elapsed) => Ok(Vec::new()),
        }
    }
}
