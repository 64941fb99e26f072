//! Integration tests of the event store against the real Postgres (`DATABASE_URL`, a role with CREATEDB);
//! every test gets a fresh, migrated database from `#[sqlx::test]`.

mod append;
mod global_log;
mod helpers;
mod idempotency_keys;
mod integrity;
mod snapshots;
