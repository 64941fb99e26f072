//! Seals: the relay publishes the stream heads to a JetStream stream that refuses deletes and purges, and
//! the sealed heads show what the hash chains cannot (a stream's newest events deleted in Postgres).

use std::time::Duration;

use event_store::{HeadFound, LogPosition, StreamHead};
use projections::{read_sealed_heads, SealMessage, SEAL_FORMAT};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::helpers::*;

#[sqlx::test(migrations = false)]
async fn the_relay_seals_every_streams_head_and_the_seals_show_deleted_newest_events(
    pool_options: PgPoolOptions,
    connect_options: PgConnectOptions,
) {
    let env = TestEnv::new(pool_options, connect_options).await;
    let relay = env.start_relay();
    let orders = mixed_orders(6);
    // Two stretches of the log, sealed apart: the first half of one order's history with two other orders,
    // then the rest. The newest sealed head of that order must be the one of the second stretch.
    let split = &orders[0];
    let half = split.steps.len() / 2;
    for (index, step) in split.steps[..half].iter().enumerate() {
        append_step(&env.store, split.order_id, index as i64, step).await;
    }
    let first_stretch = append_interleaved(&env.store, &orders[1..3]).await;
    wait_for_seal(&env, first_stretch).await;
    for (index, step) in split.steps.iter().enumerate().skip(half) {
        append_step(&env.store, split.order_id, index as i64, step).await;
    }
    let token = append_interleaved(&env.store, &orders[3..]).await;
    let sealed = wait_for_seal(&env, token).await;
    relay.stop().await;

    let expected: Vec<StreamHead> =
        env.store.stream_heads_between(LogPosition::START, token).await.expect("the heads read");
    assert_eq!(sealed.heads, expected, "the newest sealed head of every stream is the store's head");
    assert_eq!(expected.len(), orders.len());
    assert!(sealed.messages >= 2, "two stretches, two seals at least: {}", sealed.messages);
    assert!(env.store.check_heads(&sealed.heads).await.expect("the heads are checked").is_empty());

    // Every message is a seal of this format; what was sealed cannot be purged or deleted through NATS.
    let mut stream = env.jetstream.get_stream(env.topology.seal_stream_name()).await.expect("the seal stream");
    assert_eq!(stream.info().await.expect("stream info").state.messages, sealed.messages);
    let first = stream.get_raw_message(1).await.expect("the first seal");
    let first: SealMessage = serde_json::from_slice(&first.payload).expect("a seal");
    assert_eq!((first.format.as_str(), first.after, first.part), (SEAL_FORMAT, LogPosition::START, 1));
    assert!(stream.purge().await.is_err(), "the seal stream refuses a purge");
    assert!(stream.delete_message(1).await.is_err(), "the seal stream refuses a delete");

    // Delete the newest events of one order behind the guard: its chain still verifies, its seal does not.
    let victim = split.order_id;
    let mut transaction = env.pool.begin().await.expect("a transaction");
    sqlx::query("ALTER TABLE event_store.events DISABLE TRIGGER events_immutable_rows")
        .execute(&mut *transaction)
        .await
        .expect("the guard is switched off");
    sqlx::query("DELETE FROM event_store.events WHERE stream_id = $1 AND version > 2")
        .bind(victim)
        .execute(&mut *transaction)
        .await
        .expect("the newest events are deleted");
    sqlx::query("ALTER TABLE event_store.events ENABLE TRIGGER events_immutable_rows")
        .execute(&mut *transaction)
        .await
        .expect("the guard is back");
    transaction.commit().await.expect("the deletion commits");

    assert!(env.store.verify(Some(victim)).await.expect("verify runs").is_intact(), "the chain alone cannot tell");
    let mismatches = env.store.check_heads(&sealed.heads).await.expect("the heads are checked");
    assert_eq!(mismatches.len(), 1, "{mismatches:?}");
    assert_eq!(mismatches[0].sealed.stream_id, victim);
    assert_eq!(mismatches[0].found, HeadFound::Missing { stream_version: 2 });

    env.clean_up().await;
}

/// Waits until the seals cover `token`; returns what they hold.
async fn wait_for_seal(env: &TestEnv, token: LogPosition) -> projections::SealedHeads {
    eventually(Duration::from_secs(30), "the seals to cover the appends", || async {
        let sealed = read_sealed_heads(&env.jetstream, &env.topology).await.ok()?;
        sealed.sealed_through.is_some_and(|through| through >= token).then_some(sealed)
    })
    .await
}
