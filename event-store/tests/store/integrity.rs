//! Immutability enforced by the database, and hash chain verification finding tampered rows.

use event_store::{EventStore, ExpectedVersion, HeadFound, LogPosition, ReadError, VerifyFailureKind};
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::{command, events, order_stream};

async fn sqlstate(pool: &PgPool, statement: &str) -> Option<String> {
    let error = sqlx::query(statement).execute(pool).await.expect_err("the statement is refused");
    error.as_database_error().and_then(|error| error.code()).map(|code| code.into_owned())
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn the_database_refuses_update_delete_and_truncate_of_events(pool: PgPool) {
    let store = EventStore::new(pool.clone());
    store.append(&order_stream(), ExpectedVersion::NoStream, events(2), &command()).await.unwrap();

    for statement in [
        "UPDATE event_store.events SET payload = '{\"forged\": true}'",
        "DELETE FROM event_store.events",
        "TRUNCATE event_store.events",
    ] {
        assert_eq!(sqlstate(&pool, statement).await.as_deref(), Some("42501"), "{statement}");
    }
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM event_store.events").fetch_one(&pool).await.unwrap();
    assert_eq!(count, 2);
}

/// Runs `statement` with the immutability guard switched off, as an attacker with owner rights could.
async fn tamper(pool: &PgPool, statement: &str, stream_id: Uuid) {
    let mut transaction = pool.begin().await.unwrap();
    sqlx::query("ALTER TABLE event_store.events DISABLE TRIGGER events_immutable_rows")
        .execute(&mut *transaction)
        .await
        .unwrap();
    sqlx::query(statement).bind(stream_id).execute(&mut *transaction).await.unwrap();
    sqlx::query("ALTER TABLE event_store.events ENABLE TRIGGER events_immutable_rows")
        .execute(&mut *transaction)
        .await
        .unwrap();
    transaction.commit().await.unwrap();
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn verify_passes_an_untouched_store(pool: PgPool) {
    let store = EventStore::new(pool);
    for _ in 0..3 {
        let stream = order_stream();
        store.append(&stream, ExpectedVersion::NoStream, events(3), &command()).await.unwrap();
        store.append(&stream, ExpectedVersion::Exact(3), events(1), &command()).await.unwrap();
    }

    let report = store.verify(None).await.unwrap();

    assert!(report.is_intact(), "{report:?}");
    assert_eq!((report.streams_checked, report.events_checked), (3, 12));
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn verify_finds_a_payload_changed_behind_the_guard(pool: PgPool) {
    let store = EventStore::new(pool.clone());
    let stream = order_stream();
    let untouched = order_stream();
    store.append(&stream, ExpectedVersion::NoStream, events(4), &command()).await.unwrap();
    store.append(&untouched, ExpectedVersion::NoStream, events(2), &command()).await.unwrap();

    tamper(
        &pool,
        "UPDATE event_store.events SET payload = '{\"line\": 99}' WHERE stream_id = $1 AND version = 3",
        stream.id,
    )
    .await;

    let report = store.verify(None).await.unwrap();
    assert_eq!(report.failures.len(), 1, "{report:?}");
    let failure = &report.failures[0];
    assert_eq!((failure.stream_id, failure.version), (stream.id, 3));
    assert_eq!(failure.kind, VerifyFailureKind::EnvelopeMismatch);
    assert!(store.verify(Some(untouched.id)).await.unwrap().is_intact());
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn verify_finds_a_rewritten_envelope_whose_hash_no_longer_matches(pool: PgPool) {
    let store = EventStore::new(pool.clone());
    let stream = order_stream();
    store.append(&stream, ExpectedVersion::NoStream, events(3), &command()).await.unwrap();

    // Payload and envelope forged consistently, but the chain was not recomputed.
    tamper(
        &pool,
        "UPDATE event_store.events \
            SET payload = jsonb_set(payload, '{sku}', '\"FORGED\"'), \
                envelope = convert_to(replace(convert_from(envelope, 'UTF8'), '\"sku\":\"SKU-1\"', '\"sku\":\"FORGED\"'), 'UTF8') \
          WHERE stream_id = $1 AND version = 2",
        stream.id,
    )
    .await;

    let report = store.verify(Some(stream.id)).await.unwrap();
    assert_eq!(report.failures.len(), 1, "{report:?}");
    assert_eq!((report.failures[0].version, &report.failures[0].kind), (2, &VerifyFailureKind::HashMismatch));
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn verify_finds_a_deleted_event_in_the_middle_of_a_stream(pool: PgPool) {
    let store = EventStore::new(pool.clone());
    let stream = order_stream();
    store.append(&stream, ExpectedVersion::NoStream, events(5), &command()).await.unwrap();

    tamper(&pool, "DELETE FROM event_store.events WHERE stream_id = $1 AND version = 2", stream.id).await;

    let report = store.verify(None).await.unwrap();
    assert_eq!(report.failures.len(), 1, "{report:?}");
    assert_eq!(report.failures[0].kind, VerifyFailureKind::VersionSequence { expected: 2, found: 3 });
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn verifying_an_unknown_stream_is_a_typed_error(pool: PgPool) {
    let store = EventStore::new(pool);
    let unknown = Uuid::now_v7();
    assert!(
        matches!(store.verify(Some(unknown)).await, Err(ReadError::StreamNotFound { stream_id }) if stream_id == unknown)
    );
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn stream_heads_between_lists_the_newest_event_of_each_stream_in_the_stretch(pool: PgPool) {
    let store = EventStore::new(pool);
    let (a, b, c) = (order_stream(), order_stream(), order_stream());
    store.append(&a, ExpectedVersion::NoStream, events(2), &command()).await.unwrap();
    let first = store.append(&b, ExpectedVersion::NoStream, events(1), &command()).await.unwrap();
    store.append(&a, ExpectedVersion::Exact(2), events(3), &command()).await.unwrap();
    // The last append's token, not `head()`: another test's open transaction can hold the gap-safe head back.
    let through = store.append(&c, ExpectedVersion::NoStream, events(1), &command()).await.unwrap().token;

    let all = store.stream_heads_between(LogPosition::START, through).await.unwrap();
    let mut expected: Vec<(Uuid, i64)> = vec![(a.id, 5), (b.id, 1), (c.id, 1)];
    expected.sort();
    assert_eq!(all.iter().map(|head| (head.stream_id, head.version)).collect::<Vec<_>>(), expected);
    let a_events = store.read_stream(a.id, 0, 10).await.unwrap();
    let a_head = all.iter().find(|head| head.stream_id == a.id).unwrap();
    assert_eq!(a_head.hash, a_events.last().unwrap().hash);

    // Only streams with an event after `first` and up to `through`.
    let later = store.stream_heads_between(first.token, through).await.unwrap();
    let mut expected: Vec<(Uuid, i64)> = vec![(a.id, 5), (c.id, 1)];
    expected.sort();
    assert_eq!(later.iter().map(|head| (head.stream_id, head.version)).collect::<Vec<_>>(), expected);
    assert!(store.stream_heads_between(through, through).await.unwrap().is_empty());
}

/// The hash chains cannot show that a stream's newest events were deleted; a sealed head can.
#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn sealed_heads_show_deleted_newest_events_and_rewritten_chains(pool: PgPool) {
    let store = EventStore::new(pool.clone());
    let (cut, rewritten, untouched) = (order_stream(), order_stream(), order_stream());
    let mut through = LogPosition::START;
    for stream in [&cut, &rewritten, &untouched] {
        through = store.append(stream, ExpectedVersion::NoStream, events(4), &command()).await.unwrap().token;
    }
    let sealed = store.stream_heads_between(LogPosition::START, through).await.unwrap();
    assert_eq!(sealed.len(), 3);
    assert!(store.check_heads(&sealed).await.unwrap().is_empty(), "an untouched store matches its seal");

    tamper(&pool, "DELETE FROM event_store.events WHERE stream_id = $1 AND version >= 3", cut.id).await;
    // A forged hash at the head, as a rewrite of the chain from some event on would leave.
    tamper(
        &pool,
        "UPDATE event_store.events SET hash = sha256(hash) WHERE stream_id = $1 AND version = 4",
        rewritten.id,
    )
    .await;

    let report = store.verify(Some(cut.id)).await.unwrap();
    assert!(report.is_intact(), "the shortened chain still verifies: {report:?}");
    let mismatches = store.check_heads(&sealed).await.unwrap();
    assert_eq!(mismatches.len(), 2, "{mismatches:?}");
    let of = |id: Uuid| mismatches.iter().find(|mismatch| mismatch.sealed.stream_id == id).unwrap();
    assert_eq!(of(cut.id).found, HeadFound::Missing { stream_version: 2 });
    assert!(matches!(of(rewritten.id).found, HeadFound::OtherHash { hash } if hash != of(rewritten.id).sealed.hash));
    assert!(mismatches.iter().all(|mismatch| mismatch.sealed.stream_id != untouched.id));
}
