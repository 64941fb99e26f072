//! A projector killed after its commit but before its acks: JetStream redelivers, nothing is counted twice.

use std::time::Duration;

use async_nats::jetstream::consumer::PullConsumer;
use projections::{ProjectorOptions, ORDER_SEARCH, ORDER_VIEWS};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::helpers::*;

#[sqlx::test(migrations = false)]
async fn a_projector_killed_between_apply_and_ack_counts_nothing_twice(
    pool_options: PgPoolOptions,
    connect_options: PgConnectOptions,
) {
    let env = TestEnv::new(pool_options, connect_options).await;
    let relay = env.start_relay();
    let forgetful =
        ProjectorOptions { acknowledge: false, ack_wait: Duration::from_secs(1), ..TestEnv::test_options() };
    let views = env.start_projector(env.views_projector().with_options(forgetful.clone()));
    let search = env.start_projector(env.search_projector().with_options(forgetful));
    env.wait_for_consumers().await;

    let orders = mixed_orders(10);
    let token = append_interleaved(&env.store, &orders).await;
    env.wait_for_both(token).await;
    let stream = env.jetstream.get_stream(&env.topology.stream_name).await.expect("stream exists");
    for name in [ORDER_VIEWS, ORDER_SEARCH] {
        eventually(Duration::from_secs(45), "applied messages wait unacknowledged", || async {
            let consumer: PullConsumer = stream.get_consumer(name).await.ok()?;
            (consumer.cached_info().num_ack_pending > 0).then_some(())
        })
        .await;
    }
    views.kill().await;
    search.kill().await;

    let acknowledging = ProjectorOptions { ack_wait: Duration::from_secs(1), ..TestEnv::test_options() };
    let views = env.start_projector(env.views_projector().with_options(acknowledging.clone()));
    let search = env.start_projector(env.search_projector().with_options(acknowledging));
    for name in [ORDER_VIEWS, ORDER_SEARCH] {
        eventually(Duration::from_secs(45), "the redelivered messages are skipped and acknowledged", || async {
            let consumer: PullConsumer = stream.get_consumer(name).await.ok()?;
            let info = consumer.cached_info();
            // Deliveries (consumer sequence) outnumber messages (stream sequence): some came twice.
            let redelivered = info.delivered.consumer_sequence > info.delivered.stream_sequence;
            (info.num_ack_pending == 0 && info.num_pending == 0 && redelivered).then_some(())
        })
        .await;
    }
    assert_same_as_clean_run(&env).await;
    let (placed,): (i64,) =
        sqlx::query_as("SELECT coalesce(sum(orders_placed), 0)::bigint FROM projections.customer_figures")
            .fetch_one(&env.pool)
            .await
            .expect("figures read");
    let expected =
        orders.iter().filter(|order| order.steps.iter().any(|step| step.event_type == "order.placed")).count();
    assert_eq!(placed, expected as i64, "each placed order counts once");

    search.stop().await;
    views.stop().await;
    relay.stop().await;
    env.clean_up().await;
}
