//! Read side of the order system: the relay that publishes the event store's global log to NATS JetStream,
//! and the idempotent projectors that build the Postgres read views and the Elasticsearch search index.
//!
//! This crate never writes the event store and never decides anything: it only folds recorded events.

/// The migrations of schema `projections` (read views, checkpoints, dead letters, parked orders).
///
/// Versions are timestamps after the event store's, so the two migrators never collide, and migrations
/// recorded by other crates in the same `_sqlx_migrations` table are ignored.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate::Migrator {
    ignore_missing: true,
    ..sqlx::migrate!("./migrations")
};
