//! Integration tests of `ordersctl` against the real stack: a fresh Postgres database per test
//! (`#[sqlx::test]`), an Elasticsearch alias and index prefix per test, the built binary where exit
//! statuses and `kill -9` matter, and the library's `run` where a test needs concurrency around a command.

mod audit;
mod helpers;
mod rebuild;
mod verify;
