//! Snapshots: loading starts from the newest compatible snapshot; incompatible ones are ignored.

use event_store::{EventStore, ExpectedVersion, SnapshotError};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::{command, events, order_stream};

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn loading_returns_the_snapshot_and_only_the_events_after_it(pool: PgPool) {
    let store = EventStore::new(pool);
    let stream = order_stream();
    store.append(&stream, ExpectedVersion::NoStream, events(5), &command()).await.unwrap();
    store.save_snapshot(stream.id, 3, 1, &json!({"lines": 3})).await.unwrap();

    let loaded = store.load(stream.id, 1).await.unwrap();

    let snapshot = loaded.snapshot.expect("the snapshot is used");
    assert_eq!((snapshot.version, snapshot.state), (3, json!({"lines": 3})));
    assert_eq!(loaded.events.iter().map(|event| event.version).collect::<Vec<_>>(), vec![4, 5]);
    assert_eq!(loaded.version, 5);
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn a_snapshot_of_another_schema_version_is_ignored(pool: PgPool) {
    let store = EventStore::new(pool);
    let stream = order_stream();
    store.append(&stream, ExpectedVersion::NoStream, events(4), &command()).await.unwrap();
    store.save_snapshot(stream.id, 4, 1, &json!({"old": "shape"})).await.unwrap();

    let loaded = store.load(stream.id, 2).await.unwrap();

    assert!(loaded.snapshot.is_none());
    assert_eq!(loaded.events.len(), 4);
    assert_eq!(loaded.version, 4);
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn an_older_snapshot_never_replaces_a_newer_one(pool: PgPool) {
    let store = EventStore::new(pool);
    let stream = order_stream();
    store.append(&stream, ExpectedVersion::NoStream, events(6), &command()).await.unwrap();
    store.save_snapshot(stream.id, 5, 1, &json!({"at": 5})).await.unwrap();
    store.save_snapshot(stream.id, 2, 1, &json!({"at": 2})).await.unwrap();

    let snapshot = store.load_snapshot(stream.id, 1).await.unwrap().expect("a snapshot");

    assert_eq!(snapshot.version, 5);
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn a_snapshot_must_lie_within_the_stream(pool: PgPool) {
    let store = EventStore::new(pool);
    let stream = order_stream();
    store.append(&stream, ExpectedVersion::NoStream, events(2), &command()).await.unwrap();

    let beyond = store.save_snapshot(stream.id, 3, 1, &json!({})).await;
    let unknown = store.save_snapshot(Uuid::now_v7(), 1, 1, &json!({})).await;

    assert!(matches!(beyond, Err(SnapshotError::VersionOutOfRange { version: 3, stream_version: 2 })));
    assert!(matches!(unknown, Err(SnapshotError::StreamNotFound { .. })));
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn an_unknown_stream_loads_as_empty(pool: PgPool) {
    let store = EventStore::new(pool);
    let loaded = store.load(Uuid::now_v7(), 1).await.unwrap();
    assert!(loaded.snapshot.is_none() && loaded.events.is_empty());
    assert_eq!(loaded.version, 0);
}
