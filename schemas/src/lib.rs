//! Public wire contract of the order system: JSON Schemas for every command body and event payload,
//! the serde wire types that match them, the problem+json body, and the stable NATS and Elasticsearch names.
//!
//! Nothing here knows business rules; those live in `aggregates`, which converts to and from these types.
//! A change here is a migration for every consumer: add a schema version, never edit a published one.

mod catalog;
pub mod order;
mod problem;
mod routing;
mod validation;

pub use catalog::all_schemas;
pub use catalog::command_schema;
pub use catalog::event_schema;
pub use catalog::SchemaDocument;
pub use catalog::SchemaKind;
pub use problem::FieldError;
pub use problem::Problem;
pub use problem::PROBLEM_CONTENT_TYPE;
pub use routing::partition_of;
pub use routing::subject_filter_for_partition;
pub use routing::subject_for;
pub use routing::ELASTICSEARCH_ALIAS;
pub use routing::ELASTICSEARCH_INDEX_PREFIX;
pub use routing::NATS_STREAM_NAME;
pub use routing::NATS_SUBJECT_PREFIX;
pub use routing::NATS_SUBJECT_WILDCARD;
pub use routing::ORDER_STREAM_TYPE;
pub use routing::PARTITION_COUNT;
pub use validation::validate_command;
pub use validation::validate_event;

/// The JSON value type used by every function of this crate that takes a document.
///
/// Re-exported so that crates which must not depend on `serde_json` directly (the pure domain)
/// can still name it in signatures.
pub use serde_json::Value as JsonValue;
