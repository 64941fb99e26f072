//! Integration tests of the command API against the real Postgres: one test binary, one module per concern.
//! Each test gets a fresh, migrated database from `#[sqlx::test]`.

mod commands;
mod concurrency;
mod contract;
mod errors;
mod helpers;
mod idempotency;
mod operations;
