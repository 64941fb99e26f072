//! Stored HTTP responses for idempotency keys.

use event_store::{EventStore, IdempotencyError};
use sqlx::PgPool;

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn the_first_stored_response_wins_and_is_found_again(pool: PgPool) {
    let store = EventStore::new(pool);
    assert!(store.find_idempotent_response("key-1", "fp-a").await.unwrap().is_none());

    let first = store.save_idempotent_response("key-1", "fp-a", 201, "application/json", b"{\"id\":1}").await.unwrap();
    let second = store.save_idempotent_response("key-1", "fp-a", 500, "text/plain", b"late").await.unwrap();
    let found = store.find_idempotent_response("key-1", "fp-a").await.unwrap().expect("stored");

    assert_eq!((first.status, first.body.as_slice()), (201, b"{\"id\":1}".as_slice()));
    assert_eq!(second, first);
    assert_eq!(found, first);
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn a_key_reused_for_another_request_is_refused(pool: PgPool) {
    let store = EventStore::new(pool);
    store.save_idempotent_response("key-2", "fp-a", 200, "application/json", b"{}").await.unwrap();

    let found = store.find_idempotent_response("key-2", "fp-b").await;
    let saved = store.save_idempotent_response("key-2", "fp-b", 200, "application/json", b"{}").await;
    let invalid = store.save_idempotent_response("", "fp", 200, "application/json", b"").await;

    assert!(matches!(found, Err(IdempotencyError::FingerprintMismatch { .. })));
    assert!(matches!(saved, Err(IdempotencyError::FingerprintMismatch { .. })));
    assert!(matches!(invalid, Err(IdempotencyError::Invalid { .. })));
}
