//! Redelivery and reordering: every message delivered twice, interleaved across orders in a random order,
//! leaves the views and the index exactly as a clean run from the event store.

use std::time::Duration;

use async_nats::jetstream::consumer::PullConsumer;
use projections::{NatsTopology, ProjectorOptions, Relay, ORDER_SEARCH, ORDER_VIEWS};
use rand::{Rng, SeedableRng};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::helpers::*;

#[sqlx::test(migrations = false)]
async fn redelivering_every_message_twice_in_a_shuffled_order_changes_nothing(
    pool_options: PgPoolOptions,
    connect_options: PgConnectOptions,
) {
    let env = TestEnv::new(pool_options, connect_options).await;
    // Only NATS messages (and the event store reads that the gaps in them trigger) drive the projectors.
    let options = ProjectorOptions { idle_check_interval: Duration::from_secs(600), ..TestEnv::test_options() };
    let views = env.start_projector(env.views_projector().with_options(options.clone()));
    let search = env.start_projector(env.search_projector().with_options(options));
    env.wait_for_consumers().await;

    // The relay publishes into a staging stream; the test then re-publishes its messages into the projectors'
    // stream, each one twice, with the orders interleaved at random (each order's own events stay in order).
    let orders = mixed_orders(12);
    let token = append_interleaved(&env.store, &orders).await;
    let staging_prefix = env.topology.subject_prefix.replacen("test_", "staging_", 1);
    let staging = NatsTopology::new(format!("{}_STAGING", env.topology.stream_name), staging_prefix.clone());
    let relay = Relay::new(env.pool.clone(), env.jetstream.clone(), staging.clone());
    let relay_shutdown = tokio_util::sync::CancellationToken::new();
    let relay_task = tokio::spawn({
        let (relay, token) = (relay.clone(), relay_shutdown.clone());
        async move { relay.run(token).await.expect("relay runs") }
    });
    eventually(Duration::from_secs(45), "the relay publishes everything", || async {
        relay.checkpoint().await.expect("checkpoint reads").covers(&token).then_some(())
    })
    .await;
    relay_shutdown.cancel();
    relay_task.await.expect("relay stops");

    let staged = env.jetstream.get_stream(&staging.stream_name).await.expect("staging stream exists");
    let count = staged.get_info().await.expect("stream info").state.messages;
    let mut queues: Vec<Vec<async_nats::jetstream::message::StreamMessage>> = Vec::new();
    let mut queue_of_order = std::collections::HashMap::new();
    for sequence in 1..=count {
        let message = staged.get_raw_message(sequence).await.expect("a stored message");
        let order = message.subject.split('.').nth(4).expect("an order id token").to_owned();
        let index = *queue_of_order.entry(order).or_insert_with(|| {
            queues.push(Vec::new());
            queues.len() - 1
        });
        queues[index].push(message.clone());
        queues[index].push(message);
    }
    let mut random = rand::rngs::StdRng::seed_from_u64(20261121);
    let mut published = 0u64;
    let mut cursors = vec![0usize; queues.len()];
    while cursors.iter().zip(&queues).any(|(cursor, queue)| *cursor < queue.len()) {
        let index = random.random_range(0..queues.len());
        let Some(message) = queues[index].get(cursors[index]) else { continue };
        cursors[index] += 1;
        let mut headers = message.headers.clone();
        let copy = if cursors[index] % 2 == 0 { "second" } else { "first" };
        let event_id = headers.get(projections::header::MSG_ID).expect("a message id").to_string();
        headers.insert(projections::header::MSG_ID, format!("{event_id}-{copy}"));
        let subject = message.subject.replacen(&staging_prefix, &env.topology.subject_prefix, 1);
        env.jetstream
            .publish_with_headers(subject, headers, message.payload.clone())
            .await
            .expect("publish is sent")
            .await
            .expect("publish is acknowledged");
        published += 1;
    }
    assert_eq!(published, 2 * count);

    env.wait_for_both(token).await;
    let stream = env.jetstream.get_stream(&env.topology.stream_name).await.expect("stream exists");
    for name in [ORDER_VIEWS, ORDER_SEARCH] {
        eventually(Duration::from_secs(45), "every copy is delivered and acknowledged", || async {
            let consumer: PullConsumer = stream.get_consumer(name).await.ok()?;
            let info = consumer.cached_info();
            (info.num_pending == 0 && info.num_ack_pending == 0 && info.delivered.stream_sequence == 2 * count)
                .then_some(())
        })
        .await;
    }
    assert_same_as_clean_run(&env).await;

    search.stop().await;
    views.stop().await;
    let _ = env.jetstream.delete_stream(&staging.stream_name).await;
    let _ = env.jetstream.delete_stream(&staging.seal_stream_name()).await;
    env.clean_up().await;
}
