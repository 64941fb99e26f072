//! The event store: the system's source of truth, an append-only log of events in Postgres.
//!
//! - [`EventStore::append`] writes a command's events to one stream atomically, with optimistic
//!   concurrency ([`ExpectedVersion`]) and idempotency by command id, extending the stream's hash chain.
//! - [`EventStore::read_stream`] and [`EventStore::load`] (snapshot + newer events) serve the command side.
//! - [`EventStore::read_all_from`] and [`Subscription`] tail the gap-safe global log, ordered by
//!   [`LogPosition`] `(transaction id, position)`; an append returns that pair as its [`ConsistencyToken`].
//! - [`EventStore::verify`] walks the hash chains; the database refuses UPDATE, DELETE and TRUNCATE of events.
//! - [`EventStore::stream_heads_between`] and [`EventStore::check_heads`] serve seals: stream heads recorded
//!   outside the database, which show a deletion of a stream's newest events that the chains cannot.
//!
//! The store knows no domain: payloads are JSON objects typed by `event_type` and `schema_version`.
//! See the section "Event store: gap-safe global log" of ARCHITECTURE.md for the argument behind the log.
//!
//! ```no_run
//! # async fn example(pool: sqlx::PgPool) -> Result<(), Box<dyn std::error::Error>> {
//! use event_store::{EventStore, ExpectedVersion, LogPosition, Metadata, NewEvent, StreamRef};
//!
//! event_store::MIGRATOR.run(&pool).await?;
//! let store = EventStore::new(pool);
//! let order = StreamRef::new(uuid::Uuid::now_v7(), "order");
//! let placed = NewEvent::new("order.placed", 1, serde_json::json!({"customer_id": "c-1"}));
//! let metadata = Metadata::for_command(uuid::Uuid::now_v7());
//! let result = store.append(&order, ExpectedVersion::NoStream, vec![placed], &metadata).await?;
//! println!("token {}", result.token); // `<xid8>:<position>`
//!
//! let mut subscription = store.subscribe(LogPosition::START);
//! let batch = subscription.next_batch().await?;
//! println!("{} events, checkpoint {}", batch.len(), subscription.checkpoint());
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

mod envelope;
mod error;
mod idempotency;
mod position;
mod seal;
mod snapshot;
mod store;
mod subscription;
mod types;
mod verify;

pub use error::AppendError;
pub use error::IdempotencyError;
pub use error::ReadError;
pub use error::SnapshotError;
pub use position::ConsistencyToken;
pub use position::LogPosition;
pub use position::ParseLogPositionError;
pub use seal::HeadFound;
pub use seal::HeadMismatch;
pub use seal::StreamHead;
pub use store::EventStore;
pub use store::MAX_EVENTS_PER_APPEND;
pub use store::MAX_METADATA_BYTES;
pub use store::MAX_PAYLOAD_BYTES;
pub use store::MAX_READ_BATCH;
pub use subscription::Subscription;
pub use subscription::DEFAULT_MAX_POLL_INTERVAL;
pub use subscription::DEFAULT_MIN_POLL_INTERVAL;
pub use types::AppendResult;
pub use types::AppendedEvent;
pub use types::ExpectedVersion;
pub use types::IdempotentResponse;
pub use types::LoadedStream;
pub use types::Metadata;
pub use types::NewEvent;
pub use types::RecordedEvent;
pub use types::Snapshot;
pub use types::StreamRef;
pub use types::VerifyFailure;
pub use types::VerifyFailureKind;
pub use types::VerifyReport;

/// The migrations of schema `event_store`: run them before using the store (services at startup,
/// tests through `#[sqlx::test(migrator = "event_store::MIGRATOR")]`).
///
/// Versions are timestamps, so they never collide with other crates' migrators, and migrations
/// recorded by other crates in the same `_sqlx_migrations` table are ignored.
pub static MIGRATOR: sqlx::migrate::Migrator =
    sqlx::migrate::Migrator { ignore_missing: true, ..sqlx::migrate!("./migrations") };
