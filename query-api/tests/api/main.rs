//! Integration tests of the query API against the real Postgres and Elasticsearch: one test binary, one
//! module per concern. Each test gets a fresh database from `#[sqlx::test]` (both migrators run in the
//! harness) and its own Elasticsearch alias `orders-test-<uuid>`, deleted when the test passes.

mod audit;
mod consistency;
mod contract;
mod helpers;
mod listing;
mod operations;
mod orders;
mod search;
