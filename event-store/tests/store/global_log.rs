//! The gap-safe global log under concurrent writers, a tailer, and transactions that commit out of order.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use event_store::{AppendError, EventStore, ExpectedVersion, LogPosition, RecordedEvent, StreamRef};
use sqlx::{Connection, PgConnection, PgPool};
use uuid::Uuid;

use crate::helpers::{command, event, events, order_stream};

/// The tests here hold transactions open on purpose, which holds back gap-safe readers in every database of
/// the cluster: they take turns so they do not slow each other down.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Reads the log from the start until it holds `count` events (other tests' transactions may hold it back).
async fn eventually_read(store: &EventStore, count: usize) -> Vec<RecordedEvent> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let all = read_everything(store).await;
        if all.len() >= count || tokio::time::Instant::now() > deadline {
            return all;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Inserts one event the way an append does, inside `connection`'s open transaction (its first write).
async fn insert_in_open_transaction(connection: &mut PgConnection, stream_id: Uuid) {
    sqlx::query(
        "INSERT INTO event_store.events (stream_id, stream_type, version, event_id, event_type, schema_version, \
         payload, metadata, recorded_at, command_id, envelope, hash) \
         VALUES ($1, 'order', 1, $2, 'order.placed', 1, '{}', '{\"command_id\": \"00000000-0000-0000-0000-000000000000\", \"correlation_id\": \"late\"}', \
                 now(), $3, '\\x7b7d', sha256('\\x7b7d'::bytea))",
    )
    .bind(stream_id)
    .bind(Uuid::now_v7())
    .bind(Uuid::now_v7())
    .execute(connection)
    .await
    .unwrap();
}

async fn read_everything(store: &EventStore) -> Vec<RecordedEvent> {
    let mut all = Vec::new();
    let mut checkpoint = LogPosition::START;
    loop {
        let batch = store.read_all_from(checkpoint, 1000).await.unwrap();
        let Some(last) = batch.last() else { return all };
        checkpoint = last.log_position();
        all.extend(batch);
    }
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn a_reader_does_not_skip_an_event_whose_transaction_commits_after_a_later_position(pool: PgPool) {
    let _turn = ONE_AT_A_TIME.lock().await;
    let store = EventStore::new(pool.clone());
    let mut slow = pool.acquire().await.unwrap().detach();
    let mut slow_transaction = slow.begin().await.unwrap();
    let slow_stream = Uuid::now_v7();
    insert_in_open_transaction(&mut slow_transaction, slow_stream).await;
    let fast = store.append(&order_stream(), ExpectedVersion::NoStream, events(1), &command()).await.unwrap();

    // The fast append has the larger position and committed first, but the slow transaction is older:
    // nothing after it may be handed out while it runs.
    let while_open = store.read_all_from(LogPosition::START, 100).await.unwrap();
    assert!(while_open.is_empty(), "{while_open:?}");
    assert!(!store.head().await.unwrap().covers(&fast.token));

    slow_transaction.commit().await.unwrap();
    let after_commit = eventually_read(&store, 2).await;
    let streams: Vec<Uuid> = after_commit.iter().map(|event| event.stream_id).collect();
    assert_eq!(streams, vec![slow_stream, fast.stream_id]);
    assert!(after_commit[0].global_position < fast.last_position);
    assert!(after_commit[0].log_position() < after_commit[1].log_position());
    assert!(store.head().await.unwrap().covers(&fast.token));
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn concurrent_writers_leave_every_stream_without_holes_and_a_tailer_sees_every_event_once(pool: PgPool) {
    const WRITERS: usize = 32;
    const STREAMS: usize = 8;
    const APPENDS_PER_WRITER: usize = 15;
    let _turn = ONE_AT_A_TIME.lock().await;
    let store = EventStore::new(pool.clone());
    let streams: Vec<StreamRef> = (0..STREAMS).map(|_| order_stream()).collect();

    // A long transaction holds an early position and commits only after all writers are done.
    let mut slow = pool.acquire().await.unwrap().detach();
    let mut slow_transaction = slow.begin().await.unwrap();
    let slow_stream = Uuid::now_v7();
    insert_in_open_transaction(&mut slow_transaction, slow_stream).await;

    let tailer = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut subscription = store.subscribe(LogPosition::START).with_batch_size(97);
            let mut seen = Vec::new();
            while seen.len() < WRITERS * APPENDS_PER_WRITER + 1 {
                let batch = tokio::time::timeout(Duration::from_secs(60), subscription.next_batch())
                    .await
                    .expect("the tailer receives every event within a minute")
                    .unwrap();
                seen.extend(batch);
            }
            seen
        })
    };

    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let store = store.clone();
            let stream = streams[writer % STREAMS].clone();
            tokio::spawn(async move {
                let mut conflicts = 0;
                for append in 0..APPENDS_PER_WRITER {
                    loop {
                        let version = store.stream_version(stream.id).await.unwrap();
                        let expected = ExpectedVersion::Exact(version);
                        match store.append(&stream, expected, vec![event(append)], &command()).await {
                            Ok(result) => {
                                assert_eq!(result.first_version, version + 1);
                                break;
                            }
                            Err(AppendError::Conflict { expected, actual }) => {
                                assert_eq!(expected, version);
                                assert!(actual > expected, "a conflict means the stream moved on");
                                conflicts += 1;
                            }
                            Err(other) => panic!("only conflicts are expected, got {other:?}"),
                        }
                    }
                }
                conflicts
            })
        })
        .collect();
    let mut conflicts = 0;
    for writer in writers {
        conflicts += writer.await.unwrap();
    }
    let before_slow_commit = store.read_all_from(LogPosition::START, 10).await.unwrap();
    assert!(before_slow_commit.is_empty(), "the open transaction holds the log back");
    slow_transaction.commit().await.unwrap();
    store.nudge();

    let seen = tailer.await.unwrap();
    let everything = eventually_read(&store, WRITERS * APPENDS_PER_WRITER + 1).await;
    assert_eq!(everything.len(), WRITERS * APPENDS_PER_WRITER + 1);
    let seen_ids: Vec<Uuid> = seen.iter().map(|event| event.event_id).collect();
    let all_ids: Vec<Uuid> = everything.iter().map(|event| event.event_id).collect();
    assert_eq!(seen_ids, all_ids, "the tailer saw the final log, in the same order");
    assert_eq!(seen_ids.iter().collect::<HashSet<_>>().len(), seen_ids.len(), "no event twice");
    assert_eq!(everything[0].stream_id, slow_stream, "the oldest transaction comes first");

    let mut versions: BTreeMap<Uuid, Vec<i64>> = BTreeMap::new();
    for event in &everything {
        versions.entry(event.stream_id).or_default().push(event.version);
    }
    for stream in &streams {
        let stream_versions = &versions[&stream.id];
        let expected: Vec<i64> = (1..=stream_versions.len() as i64).collect();
        assert_eq!(stream_versions, &expected, "versions 1..N in log order, without holes or duplicates");
        assert_eq!(stream_versions.len(), WRITERS / STREAMS * APPENDS_PER_WRITER);
    }
    // Four writers per stream cannot all have won every round.
    assert!(conflicts > 0, "the writers raced");
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn a_subscription_is_woken_by_an_append_in_the_same_process(pool: PgPool) {
    let _turn = ONE_AT_A_TIME.lock().await;
    let store = EventStore::new(pool);
    let mut subscription =
        store.subscribe(LogPosition::START).with_poll_interval(Duration::from_millis(20), Duration::from_secs(60));
    // Idle for a while, so the polling interval grows past 2.5 s.
    let nothing_yet = subscription.next_batch_within(Duration::from_secs(4)).await.unwrap();
    assert!(nothing_yet.is_empty());

    let started = tokio::time::Instant::now();
    let (batch, appended) = tokio::join!(subscription.next_batch_within(Duration::from_secs(20)), async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        store.append(&order_stream(), ExpectedVersion::NoStream, events(2), &command()).await.unwrap()
    });
    let waited = started.elapsed();

    assert_eq!(batch.unwrap().len(), 2);
    assert!(waited < Duration::from_secs(2), "woken by the append instead of sleeping on: {waited:?}");
    assert_eq!(subscription.checkpoint(), appended.token);
    assert!(subscription.checkpoint().covers(&appended.token));
    assert_eq!(appended.token.to_string().parse::<LogPosition>().unwrap(), appended.token);
}
