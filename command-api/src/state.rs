//! `AppState`: what every handler shares (the event store, limits, the metrics handle and the
//! per-order locks), built once from `Settings`.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;

use aggregates::OrderId;
use anyhow::Context;
use event_store::EventStore;
use metrics_exporter_prometheus::PrometheusHandle;
use secrecy::ExposeSecret;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use tokio::sync::OwnedMutexGuard;

use crate::orders::LoadedOrder;
use crate::settings::Settings;
use crate::telemetry;

/// Shared state of the service; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    store: EventStore,
    limits: Limits,
    metrics: PrometheusHandle,
    locks: OrderLocks,
    cache: StateCache,
}

/// The knobs of the command pipeline, copied from `Settings`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) snapshot_every: u32,
    pub(crate) request_timeout: Duration,
    pub(crate) max_body_bytes: usize,
    pub(crate) max_conflict_retries: u32,
    /// How long stored idempotent responses are kept; `None`: forever.
    pub(crate) idempotency_retention: Option<Duration>,
}

impl AppState {
    /// Connects the pool and runs the event-store migrations.
    pub async fn connect(settings: &Settings) -> anyhow::Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(settings.db_max_connections)
            // No ping before every query: a dead connection fails its query with an I/O error, which is a 503.
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_millis(settings.db_acquire_timeout_ms))
            .connect(settings.database_url.expose_secret())
            .await
            .context("connecting to Postgres (DATABASE_URL)")?;
        event_store::MIGRATOR.run(&pool).await.context("running the event-store migrations")?;
        Ok(Self::new(pool, settings))
    }

    /// Wraps an existing, migrated pool (tests use the pool of `#[sqlx::test]`). Does no IO.
    pub fn new(pool: PgPool, settings: &Settings) -> Self {
        Self {
            inner: Arc::new(Inner {
                store: EventStore::new(pool),
                limits: Limits {
                    snapshot_every: settings.snapshot_every,
                    request_timeout: settings.request_timeout(),
                    max_body_bytes: settings.max_body_bytes,
                    max_conflict_retries: settings.max_conflict_retries,
                    idempotency_retention: (settings.idempotency_retention_hours > 0)
                        .then(|| Duration::from_secs(settings.idempotency_retention_hours.saturating_mul(3_600))),
                },
                metrics: telemetry::metrics_handle(),
                locks: OrderLocks::default(),
                cache: StateCache::new(settings.state_cache_orders),
            }),
        }
    }

    /// The event store.
    pub fn store(&self) -> &EventStore {
        &self.inner.store
    }

    pub(crate) fn limits(&self) -> Limits {
        self.inner.limits
    }

    pub(crate) fn metrics(&self) -> &PrometheusHandle {
        &self.inner.metrics
    }

    /// Serialises the commands of one order inside this process, so that parallel requests on one
    /// order queue here instead of racing in Postgres; other processes are still handled by the
    /// optimistic version check.
    pub(crate) async fn lock_order(&self, order_id: OrderId) -> OrderGuard {
        self.inner.locks.acquire(order_id).await
    }
}

impl AppState {
    /// The cached state of an order, as this process last wrote or loaded it; may be stale.
    pub(crate) fn cached(&self, order_id: OrderId) -> Option<LoadedOrder> {
        self.inner.cache.get(order_id)
    }

    pub(crate) fn cache(&self, order_id: OrderId, loaded: LoadedOrder) {
        self.inner.cache.put(order_id, loaded);
    }

    pub(crate) fn forget(&self, order_id: OrderId) {
        self.inner.cache.remove(order_id);
    }
}

/// A bounded map from order to its last known state and version; when full, an arbitrary entry goes.
struct StateCache {
    capacity: usize,
    entries: Mutex<HashMap<OrderId, LoadedOrder>>,
}

impl StateCache {
    fn new(capacity: usize) -> Self {
        Self { capacity, entries: Mutex::new(HashMap::new()) }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<OrderId, LoadedOrder>> {
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn get(&self, order_id: OrderId) -> Option<LoadedOrder> {
        if self.capacity == 0 {
            return None;
        }
        self.entries().get(&order_id).cloned()
    }

    fn put(&self, order_id: OrderId, loaded: LoadedOrder) {
        if self.capacity == 0 {
            return;
        }
        let mut entries = self.entries();
        if entries.len() >= self.capacity && !entries.contains_key(&order_id) {
            if let Some(evicted) = entries.keys().next().copied() {
                entries.remove(&evicted);
            }
        }
        entries.insert(order_id, loaded);
    }

    fn remove(&self, order_id: OrderId) {
        self.entries().remove(&order_id);
    }
}

/// A lock per order that is being worked on; entries disappear when their last holder leaves.
#[derive(Default)]
struct OrderLocks {
    held: Arc<Mutex<HashMap<OrderId, Arc<tokio::sync::Mutex<()>>>>>,
}

impl OrderLocks {
    async fn acquire(&self, order_id: OrderId) -> OrderGuard {
        let lock = {
            let mut held = self.held.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            held.entry(order_id).or_default().clone()
        };
        OrderGuard { guard: Some(lock.lock_owned().await), held: self.held.clone(), order_id }
    }
}

/// Holds one order's lock until dropped.
pub(crate) struct OrderGuard {
    guard: Option<OwnedMutexGuard<()>>,
    held: Arc<Mutex<HashMap<OrderId, Arc<tokio::sync::Mutex<()>>>>>,
    order_id: OrderId,
}

impl Drop for OrderGuard {
    fn drop(&mut self) {
        let Some(guard) = self.guard.take() else { return };
        let lock = OwnedMutexGuard::mutex(&guard).clone();
        drop(guard);
        let mut held = self.held.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // Only the map and `lock` refer to it: nobody waits, so the entry can go.
        if Arc::strong_count(&lock) == 2 {
            held.remove(&self.order_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_order_lock_is_exclusive_and_forgotten_after_use() {
        let locks = OrderLocks::default();
        let order_id = OrderId::new(uuid::Uuid::now_v7());
        let first = locks.acquire(order_id).await;
        let second = tokio::time::timeout(Duration::from_millis(50), locks.acquire(order_id)).await;
        assert!(second.is_err(), "a second holder must wait");
        drop(first);
        let third = locks.acquire(order_id).await;
        drop(third);
        assert!(locks.held.lock().expect("not poisoned").is_empty());
    }
}
