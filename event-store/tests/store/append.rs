//! Appends: optimistic concurrency, idempotent commands, and refusal of bad input.

use event_store::{AppendError, EventStore, ExpectedVersion, NewEvent, ReadError, StreamRef, MAX_PAYLOAD_BYTES};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::{command, event, events, order_stream};

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn several_events_of_one_command_get_consecutive_versions_and_positions(pool: PgPool) {
    let store = EventStore::new(pool);
    let stream = order_stream();
    let first = store.append(&stream, ExpectedVersion::NoStream, events(3), &command()).await.unwrap();
    let second = store.append(&stream, ExpectedVersion::Exact(3), events(2), &command()).await.unwrap();

    assert_eq!((first.first_version, first.last_version), (1, 3));
    assert_eq!((second.first_version, second.last_version), (4, 5));
    assert!(!first.deduplicated);
    let positions: Vec<i64> = first.events.iter().map(|event| event.global_position).collect();
    assert!(positions.windows(2).all(|pair| pair[0] < pair[1]), "positions grow with versions: {positions:?}");
    assert_eq!(first.token.position, first.last_position);
    assert!(first.token < second.token);
    let read = store.read_stream(stream.id, 1, 100).await.unwrap();
    assert_eq!(read.iter().map(|event| event.version).collect::<Vec<_>>(), vec![1, 2, 3, 4, 5]);
    assert_eq!(read[3].event_id, second.events[0].event_id);
    assert_eq!(read[0].metadata.actor.as_deref(), Some("tester"));
    assert_eq!(read[0].log_position().transaction_id, first.token.transaction_id);
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn two_appends_at_the_same_expected_version_give_exactly_one_conflict(pool: PgPool) {
    let store = EventStore::new(pool);
    let stream = order_stream();
    store.append(&stream, ExpectedVersion::NoStream, events(1), &command()).await.unwrap();

    let (left_command, right_command) = (command(), command());
    let (left, right) = tokio::join!(
        store.append(&stream, ExpectedVersion::Exact(1), events(2), &left_command),
        store.append(&stream, ExpectedVersion::Exact(1), events(1), &right_command),
    );

    let conflicts = [&left, &right]
        .iter()
        .filter(|result| matches!(result, Err(AppendError::Conflict { expected: 1, actual }) if *actual >= 2))
        .count();
    assert_eq!(conflicts, 1, "{left:?} {right:?}");
    assert!(left.is_ok() || right.is_ok());
    let version = store.stream_version(stream.id).await.unwrap();
    assert!(version == 2 || version == 3);
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn a_stale_expected_version_is_a_conflict_and_writes_nothing(pool: PgPool) {
    let store = EventStore::new(pool);
    let stream = order_stream();
    store.append(&stream, ExpectedVersion::NoStream, events(2), &command()).await.unwrap();

    let stale = store.append(&stream, ExpectedVersion::Exact(1), events(3), &command()).await;
    let ahead = store.append(&stream, ExpectedVersion::Exact(7), events(1), &command()).await;
    let not_new = store.append(&stream, ExpectedVersion::NoStream, events(1), &command()).await;

    assert!(matches!(stale, Err(AppendError::Conflict { expected: 1, actual: 2 })), "{stale:?}");
    assert!(matches!(ahead, Err(AppendError::Conflict { expected: 7, actual: 2 })), "{ahead:?}");
    assert!(matches!(not_new, Err(AppendError::Conflict { expected: 0, actual: 2 })), "{not_new:?}");
    assert_eq!(store.stream_version(stream.id).await.unwrap(), 2);
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn any_expected_version_appends_after_whatever_is_there(pool: PgPool) {
    let store = EventStore::new(pool);
    let stream = order_stream();
    let commands: Vec<_> = (0..8).map(|_| command()).collect();
    let appends = commands.iter().map(|metadata| store.append(&stream, ExpectedVersion::Any, events(2), metadata));
    let results = futures::future::join_all(appends).await;

    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(store.stream_version(stream.id).await.unwrap(), 16);
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn repeating_a_command_returns_the_original_result_and_writes_nothing(pool: PgPool) {
    let store = EventStore::new(pool.clone());
    let stream = order_stream();
    let metadata = command();
    let original = store.append(&stream, ExpectedVersion::NoStream, events(3), &metadata).await.unwrap();
    store.append(&stream, ExpectedVersion::Exact(3), events(1), &command()).await.unwrap();

    // A new store on a new pool stands for a restarted process: the record lives in Postgres.
    let restarted_pool = PgPool::connect_with(pool.connect_options().as_ref().clone()).await.unwrap();
    let restarted = EventStore::new(restarted_pool);
    let repeated = restarted.append(&stream, ExpectedVersion::NoStream, events(3), &metadata).await.unwrap();
    let repeated_with_same_events =
        restarted.append(&stream, ExpectedVersion::Exact(4), events(1), &metadata).await.unwrap();

    assert!(repeated.deduplicated && repeated_with_same_events.deduplicated);
    assert_eq!(repeated.events, original.events);
    assert_eq!(repeated.token, original.token);
    assert_eq!((repeated.first_version, repeated.last_version), (1, 3));
    assert_eq!(repeated_with_same_events.events, original.events);
    assert_eq!(store.stream_version(stream.id).await.unwrap(), 4);
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn a_command_retried_with_the_same_event_ids_is_deduplicated(pool: PgPool) {
    let store = EventStore::new(pool);
    let stream = order_stream();
    let metadata = command();
    let batch = events(2);
    let original = store.append(&stream, ExpectedVersion::NoStream, batch.clone(), &metadata).await.unwrap();
    store.append(&stream, ExpectedVersion::Exact(2), events(1), &command()).await.unwrap();

    let retried = store.append(&stream, ExpectedVersion::Exact(2), batch.clone(), &metadata).await.unwrap();
    let same_ids_other_command = store.append(&stream, ExpectedVersion::Exact(3), batch, &command()).await;

    assert!(retried.deduplicated);
    assert_eq!(retried.events, original.events);
    assert!(matches!(same_ids_other_command, Err(AppendError::DuplicateEventId { .. })), "{same_ids_other_command:?}");
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn the_same_command_racing_with_itself_is_stored_once(pool: PgPool) {
    let store = EventStore::new(pool);
    let stream = order_stream();
    let metadata = command();
    let results = futures::future::join_all(
        (0..6).map(|_| store.append(&stream, ExpectedVersion::NoStream, events(2), &metadata)),
    )
    .await;

    let results: Vec<_> = results.into_iter().map(Result::unwrap).collect();
    assert_eq!(results.iter().filter(|result| !result.deduplicated).count(), 1);
    assert!(results.iter().all(|result| result.events == results[0].events));
    assert_eq!(store.stream_version(stream.id).await.unwrap(), 2);
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn a_command_id_reused_for_another_stream_is_refused(pool: PgPool) {
    let store = EventStore::new(pool);
    let metadata = command();
    let first_stream = order_stream();
    store.append(&first_stream, ExpectedVersion::NoStream, events(1), &metadata).await.unwrap();

    let reused = store.append(&order_stream(), ExpectedVersion::NoStream, events(1), &metadata).await;

    assert!(
        matches!(reused, Err(AppendError::CommandIdReused { stream_id, .. }) if stream_id == first_stream.id),
        "{reused:?}"
    );
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn bad_input_is_refused_with_typed_errors(pool: PgPool) {
    let store = EventStore::new(pool);
    let stream = order_stream();
    let append = |events: Vec<NewEvent>| {
        let store = store.clone();
        let stream = stream.clone();
        async move { store.append(&stream, ExpectedVersion::Any, events, &command()).await }
    };
    let huge = NewEvent::new("order.placed", 1, json!({"blob": "x".repeat(MAX_PAYLOAD_BYTES)}));
    let huge_id = huge.event_id;
    let array = NewEvent::new("order.placed", 1, json!([1, 2]));
    let array_id = array.event_id;
    let mut version_4 = event(1);
    version_4.event_id = Uuid::new_v4();
    let nul = NewEvent::new("order.placed", 1, json!({"text": "a\u{0}b"}));
    let untyped = NewEvent::new("", 1, json!({}));

    assert!(matches!(append(vec![]).await, Err(AppendError::EmptyBatch)));
    assert!(matches!(
        append(vec![huge]).await,
        Err(AppendError::PayloadTooLarge { event_id, size, max }) if event_id == huge_id && size > max && max == MAX_PAYLOAD_BYTES
    ));
    assert!(
        matches!(append(vec![array]).await, Err(AppendError::PayloadNotObject { event_id }) if event_id == array_id)
    );
    assert!(matches!(append(vec![version_4]).await, Err(AppendError::InvalidEvent { .. })));
    assert!(matches!(append(vec![nul]).await, Err(AppendError::InvalidEvent { .. })));
    assert!(matches!(append(vec![untyped]).await, Err(AppendError::InvalidEvent { .. })));
    assert!(matches!(append(events(1001)).await, Err(AppendError::TooManyEvents { count: 1001, .. })));
    assert!(matches!(
        store.read_stream(stream.id, 1, 10).await,
        Err(ReadError::StreamNotFound { stream_id }) if stream_id == stream.id
    ));
    assert!(matches!(
        store.append(&stream, ExpectedVersion::Exact(3), events(1), &command()).await,
        Err(AppendError::Conflict { expected: 3, actual: 0 })
    ));
    assert_eq!(store.stream_version(stream.id).await.unwrap(), 0);
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn a_stream_keeps_the_type_of_its_first_append(pool: PgPool) {
    let store = EventStore::new(pool);
    let stream = order_stream();
    store.append(&stream, ExpectedVersion::NoStream, events(1), &command()).await.unwrap();

    let as_customer = StreamRef::new(stream.id, "customer");
    let result = store.append(&as_customer, ExpectedVersion::Exact(1), events(1), &command()).await;

    assert!(
        matches!(&result, Err(AppendError::StreamTypeMismatch { stored, given, .. }) if stored == "order" && given == "customer"),
        "{result:?}"
    );
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn reading_a_stream_pages_by_version(pool: PgPool) {
    let store = EventStore::new(pool);
    let stream = order_stream();
    store.append(&stream, ExpectedVersion::NoStream, events(7), &command()).await.unwrap();

    let first_page = store.read_stream(stream.id, 1, 3).await.unwrap();
    let second_page = store.read_stream(stream.id, 4, 3).await.unwrap();
    let past_the_end = store.read_stream(stream.id, 8, 3).await.unwrap();

    assert_eq!(first_page.iter().map(|event| event.version).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(second_page.iter().map(|event| event.version).collect::<Vec<_>>(), vec![4, 5, 6]);
    assert!(past_the_end.is_empty());
}
