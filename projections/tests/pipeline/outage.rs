//! NATS away (purged stream, unreachable server) while commands keep being appended: the projections
//! follow the event store and converge to what a clean rebuild produces.

use std::time::Duration;

use async_nats::jetstream;
use projections::Relay;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::helpers::*;

#[sqlx::test(migrations = false)]
async fn projections_converge_after_a_purged_stream_and_an_unreachable_nats(
    pool_options: PgPoolOptions,
    connect_options: PgConnectOptions,
) {
    let env = TestEnv::new(pool_options, connect_options).await;
    let orders = mixed_orders(10);
    let relay = env.start_relay();
    let views = env.start_projector(env.views_projector());
    let search = env.start_projector(env.search_projector());
    let relay_checkpoint = Relay::new(env.pool.clone(), env.jetstream.clone(), env.topology.clone());

    // Phase 1: everything flows.
    let token = append_steps(&env, &orders, 0..3).await;
    env.wait_for_both(token).await;

    // Phase 2: the projectors are down while events are published, then the stream loses them.
    views.stop().await;
    search.stop().await;
    let token = append_steps(&env, &orders, 3..5).await;
    eventually(Duration::from_secs(45), "the relay publishes phase 2", || async {
        relay_checkpoint.checkpoint().await.expect("reads").covers(&token).then_some(())
    })
    .await;
    let stream = env.jetstream.get_stream(&env.topology.stream_name).await.expect("stream exists");
    stream.purge().await.expect("the stream is purged");
    let token = append_steps(&env, &orders, 5..6).await;
    eventually(Duration::from_secs(45), "the relay publishes phase 3", || async {
        relay_checkpoint.checkpoint().await.expect("reads").covers(&token).then_some(())
    })
    .await;

    // Phase 3: the projectors come back but cannot reach NATS; they follow the event store.
    let unreachable = projections::connect_nats("nats://127.0.0.1:9", "unreachable").await.expect("the client is made");
    let unreachable = jetstream::ContextBuilder::new().timeout(Duration::from_millis(300)).build(unreachable);
    let views = env.start_projector_with(env.views_projector(), unreachable.clone());
    let search = env.start_projector_with(env.search_projector(), unreachable);
    let token = append_steps(&env, &orders, 6..8).await;
    env.wait_for_both(token).await;
    views.stop().await;
    search.stop().await;

    // Phase 4: NATS is back; the purged messages never arrive, the new ones do.
    let views = env.start_projector(env.views_projector());
    let search = env.start_projector(env.search_projector());
    let token = append_steps(&env, &orders, 8..20).await;
    env.wait_for_both(token).await;
    assert_same_as_clean_run(&env).await;

    search.stop().await;
    views.stop().await;
    relay.stop().await;
    env.clean_up().await;
}

/// Appends the steps `range` of every order, orders interleaved.
async fn append_steps(
    env: &TestEnv,
    orders: &[OrderScript],
    range: std::ops::Range<usize>,
) -> event_store::ConsistencyToken {
    let mut token = event_store::ConsistencyToken::default();
    for step_index in range {
        for order in orders {
            if let Some(step) = order.steps.get(step_index) {
                token = append_step(&env.store, order.order_id, step_index as i64, step).await;
            }
        }
    }
    token
}
