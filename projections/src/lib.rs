//! Read side of the order system: the relay that publishes the event store's global log to NATS JetStream,
//! and the idempotent projectors that build the Postgres read views and the Elasticsearch search index.
//!
//! - [`Relay`] tails the gap-safe global log ([`event_store::EventStore::read_all_from`]) and publishes every
//!   order event with `Nats-Msg-Id` = event id and headers carrying its log position and the previous one;
//!   its checkpoint moves only after the publish acks. One relay is active at a time (advisory lock).
//! - [`Projector`] applies events to a target, the Postgres views ([`Projector::order_views`]) or the search
//!   index ([`Projector::order_search`]); each batch and the projection's checkpoint commit together, events at
//!   or below the checkpoint are skipped, and missed events are read from the event store ([`catch_up`]).
//!   Poison events are dead-lettered and their orders parked until [`retry_parked`].
//! - [`project`] is the projection logic as a plain function; [`rebuild_postgres_views`] and
//!   [`rebuild_search_index`] rebuild without downtime, and [`rebuild_projection`] wraps them as the whole
//!   maintenance job (lock, leftovers, swap, drop) that `ordersctl` and the service's rebuild-on-start run; [`run_relay_service`] and [`run_projections_service`]
//!   are the two binaries.
//!
//! This crate never writes the event store and never decides anything: it only folds recorded events.

mod envelope;
mod error;
mod http;
mod ledger;
mod maintenance;
mod projector;
mod rebuild;
mod relay;
mod seal;
mod search;
mod service;
mod settings;
mod tables;
mod telemetry;
mod topology;
mod view;

pub use envelope::header;
pub use envelope::EnvelopeError;
pub use envelope::EventEnvelope;
pub use error::Error;
pub use http::metrics_handle;
pub use http::serve_health;
pub use http::Health;
pub use ledger::lock_projection;
pub use ledger::parked_orders;
pub use ledger::read_checkpoint;
pub use ledger::ParkedOrder;
pub use maintenance::MaintenanceLock;
pub use projector::catch_up;
pub use projector::retry_parked;
pub use projector::standard_decoder;
pub use projector::BatchReport;
pub use projector::CatchUpReport;
pub use projector::Decoder;
pub use projector::ProjectionStatus;
pub use projector::Projector;
pub use projector::ProjectorOptions;
pub use projector::RetryReport;
pub use projector::ORDER_SEARCH;
pub use projector::ORDER_VIEWS;
pub use rebuild::drop_retired_views;
pub use rebuild::forget_projection;
pub use rebuild::rebuild_postgres_views;
pub use rebuild::rebuild_projection;
pub use rebuild::rebuild_projection_until;
pub use rebuild::rebuild_search_index;
pub use rebuild::RebuildOutcome;
pub use rebuild::RebuildReport;
pub use rebuild::RebuildTarget;
pub use relay::Relay;
pub use relay::RelayOptions;
pub use seal::read_sealed_heads;
pub use seal::SealMessage;
pub use seal::SealedHeads;
pub use seal::SEAL_FORMAT;
pub use search::SearchIndex;
pub use service::connect_and_migrate;
pub use service::connect_nats;
pub use service::run_projections_service;
pub use service::run_relay_service;
pub use service::wait_for_event_store;
pub use settings::LogFormat;
pub use settings::NatsSettings;
pub use settings::ProjectionsSettings;
pub use settings::RelaySettings;
pub use tables::ViewTables;
pub use tables::VIEW_TABLES;
pub use telemetry::init_telemetry;
pub use topology::NatsTopology;
pub use view::project;
pub use view::ApplyError;
pub use view::CustomerFigures;
pub use view::DailySales;
pub use view::EventPlace;
pub use view::FoldedChanges;
pub use view::LineView;
pub use view::OrderStatus;
pub use view::OrderView;
pub use view::ViewChange;

/// The migrations of schema `projections` (read views, checkpoints, dead letters, parked orders).
///
/// Versions are timestamps after the event store's, so the two migrators never collide, and migrations
/// recorded by other crates in the same `_sqlx_migrations` table are ignored.
pub static MIGRATOR: sqlx::migrate::Migrator =
    sqlx::migrate::Migrator { ignore_missing: true, ..sqlx::migrate!("./migrations") };
