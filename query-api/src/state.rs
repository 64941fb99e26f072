//! `AppState`: what every handler shares (the read-only pool, the event store reader, the search client,
//! the checkpoint watcher and the limits), built once from `Settings`.
//!
//! Every Postgres session is opened with `default_transaction_read_only = on`, whatever role the URL names,
//! so the service cannot write even if a statement tried; the `orders_query` role adds a second wall.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use elasticsearch::http::transport::Transport;
use elasticsearch::Elasticsearch;
use event_store::EventStore;
use metrics_exporter_prometheus::PrometheusHandle;
use secrecy::ExposeSecret;
use sqlx::postgres::PgConnectOptions;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

use crate::consistency::Checkpoints;
use crate::settings::Settings;
use crate::telemetry;

/// Shared state of the service; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    pool: PgPool,
    store: EventStore,
    search: Elasticsearch,
    search_alias: String,
    checkpoints: Arc<Checkpoints>,
    limits: Limits,
    metrics: PrometheusHandle,
}

/// The knobs copied from `Settings`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) request_timeout: Duration,
}

impl AppState {
    /// Builds the state from `Settings`: parses the URLs and opens the pool lazily, so the service starts
    /// (and reports itself not ready) while Postgres or Elasticsearch is still down.
    pub fn connect(settings: &Settings) -> anyhow::Result<Self> {
        let options =
            PgConnectOptions::from_str(settings.database_url.expose_secret()).context("parsing DATABASE_URL")?;
        Self::with_connect_options(options, settings)
    }

    /// Like [`AppState::connect`] with explicit Postgres options (tests point them at their own database).
    /// Does no IO.
    pub fn with_connect_options(options: PgConnectOptions, settings: &Settings) -> anyhow::Result<Self> {
        settings.validate().map_err(anyhow::Error::msg).context("checking the settings")?;
        let statement_timeout = settings.request_timeout_ms.to_string();
        let options = options
            .application_name("query-api")
            .options([("default_transaction_read_only", "on"), ("statement_timeout", statement_timeout.as_str())]);
        let pool = PgPoolOptions::new()
            .max_connections(settings.db_max_connections)
            .acquire_timeout(Duration::from_millis(settings.db_acquire_timeout_ms))
            .connect_lazy_with(options);
        let transport = Transport::single_node(&settings.elasticsearch_url)
            .with_context(|| format!("parsing ELASTICSEARCH_URL {:?}", settings.elasticsearch_url))?;
        Ok(Self {
            inner: Arc::new(Inner {
                store: EventStore::new(pool.clone()),
                checkpoints: Checkpoints::new(pool.clone(), settings.consistency_wait()),
                pool,
                search: Elasticsearch::new(transport),
                search_alias: settings.search_alias.clone(),
                limits: Limits { request_timeout: settings.request_timeout() },
                metrics: telemetry::metrics_handle(),
            }),
        })
    }

    /// The read-only pool (every session has `default_transaction_read_only = on`).
    pub fn pool(&self) -> &PgPool {
        &self.inner.pool
    }

    /// The event store, for audit reads.
    pub(crate) fn store(&self) -> &EventStore {
        &self.inner.store
    }

    pub(crate) fn search(&self) -> &Elasticsearch {
        &self.inner.search
    }

    pub(crate) fn search_alias(&self) -> &str {
        &self.inner.search_alias
    }

    pub(crate) fn checkpoints(&self) -> &Arc<Checkpoints> {
        &self.inner.checkpoints
    }

    pub(crate) fn limits(&self) -> Limits {
        self.inner.limits
    }

    pub(crate) fn metrics(&self) -> &PrometheusHandle {
        &self.inner.metrics
    }
}
