//! What every command needs: a Postgres pool on the admin URL, the event store handle, and the addresses
//! to build search and NATS handles from on demand.

use std::time::Duration;

use event_store::EventStore;
use projections::{RebuildTarget, SearchIndex};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};

use crate::cli::{ConnectionArgs, ProjectionName};
use crate::error::Error;

/// Connections of one command.
#[derive(Debug, Clone)]
pub(crate) struct Context {
    pub(crate) pool: PgPool,
    pub(crate) store: EventStore,
    pub(crate) connection: ConnectionArgs,
}

impl Context {
    /// Connects to Postgres at once, so a wrong URL fails before any work starts.
    pub(crate) async fn connect(connection: ConnectionArgs) -> Result<Self, Error> {
        let connect_options: PgConnectOptions = connection
            .database_url
            .parse::<PgConnectOptions>()
            .map_err(|error| Error::Usage(format!("DATABASE_URL does not parse: {error}")))?
            .application_name("ordersctl")
            .log_statements(tracing::log::LevelFilter::Debug)
            .log_slow_statements(tracing::log::LevelFilter::Info, Duration::from_secs(30));
        let target = format!(
            "{}:{}/{}",
            connect_options.get_host(),
            connect_options.get_port(),
            connect_options.get_database().unwrap_or("")
        );
        let pool = PgPoolOptions::new()
            .max_connections(24)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(connect_options)
            .await
            .map_err(|source| Error::Connect { target, source })?;
        Ok(Self { store: EventStore::new(pool.clone()), pool, connection })
    }

    /// The live search index (through its alias).
    pub(crate) fn search_index(&self) -> Result<SearchIndex, Error> {
        Ok(SearchIndex::new(
            &self.connection.elasticsearch_url,
            &self.connection.search_alias,
            &self.connection.search_index_prefix,
        )?)
    }

    /// What `projections::rebuild_projection` rebuilds for `name`.
    pub(crate) fn rebuild_target(&self, name: ProjectionName) -> Result<RebuildTarget, Error> {
        Ok(match name {
            ProjectionName::OrderViews => RebuildTarget::Views,
            ProjectionName::OrderSearch => RebuildTarget::Search(self.search_index()?),
        })
    }

    /// The number of events in the store (for progress totals).
    pub(crate) async fn count_events(&self) -> Result<u64, Error> {
        let (count,): (i64,) = sqlx::query_as("SELECT count(*) FROM event_store.events").fetch_one(&self.pool).await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }
}
