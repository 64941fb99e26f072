//! The relay publishes each event once, in log order, with the event id as `Nats-Msg-Id`, survives a
//! restart that re-publishes, and two relays at once elect one active publisher.

use std::time::Duration;

use async_nats::jetstream;
use clap::Parser;
use event_store::LogPosition;
use projections::{header, NatsTopology, RelaySettings};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tokio_util::sync::CancellationToken;

use crate::helpers::*;

/// Every message of the stream: (Nats-Msg-Id, position header, previous-position header, correlation id header).
async fn stored_messages(
    context: &jetstream::Context,
    topology: &NatsTopology,
) -> Vec<(String, String, String, String)> {
    let stream = context.get_stream(&topology.stream_name).await.expect("stream exists");
    let count = stream.get_info().await.expect("stream info").state.messages;
    let mut messages = Vec::new();
    for sequence in 1..=count {
        let message = stream.get_raw_message(sequence).await.expect("a stored message");
        let value = |name: &str| message.headers.get(name).map(ToString::to_string).unwrap_or_default();
        let position = format!("{}:{}", value(header::TRANSACTION_ID), value(header::POSITION));
        messages.push((
            value(header::MSG_ID),
            position,
            value(header::PREVIOUS_POSITION),
            value(header::CORRELATION_ID),
        ));
    }
    messages
}

/// Asserts the stream holds every event of the store exactly once, in log order, with a consistent chain.
async fn assert_published_once_in_order(env: &TestEnv) {
    let events = env.store.read_all_from(LogPosition::START, 10_000).await.expect("the log reads");
    let messages = stored_messages(&env.jetstream, &env.topology).await;
    let expected: Vec<(String, String)> =
        events.iter().map(|event| (event.event_id.to_string(), event.log_position().to_string())).collect();
    let found: Vec<(String, String)> =
        messages.iter().map(|(id, position, _, _)| (id.clone(), position.clone())).collect();
    assert_eq!(found, expected, "each event once, in log order, with its id as Nats-Msg-Id");
    let correlation_ids: Vec<&str> = messages.iter().map(|message| message.3.as_str()).collect();
    let expected_ids: Vec<&str> = events.iter().map(|event| event.metadata.correlation_id.as_str()).collect();
    assert_eq!(correlation_ids, expected_ids, "the correlation id of the metadata travels in a header");
    let mut previous = LogPosition::START.to_string();
    for (_, position, previous_header, _) in &messages {
        assert_eq!(previous_header, &previous, "the previous-position header names the message before");
        previous.clone_from(position);
    }
}

#[sqlx::test(migrations = false)]
async fn the_relay_publishes_each_event_once_even_when_it_restarts_before_its_checkpoint(
    pool_options: PgPoolOptions,
    connect_options: PgConnectOptions,
) {
    let env = TestEnv::new(pool_options, connect_options).await;
    let orders = mixed_orders(6);
    let token = append_interleaved(&env.store, &orders).await;
    let relay = env.relay();
    let running = env.start_relay();
    eventually(Duration::from_secs(45), "the relay publishes everything", || async {
        relay.checkpoint().await.expect("reads").covers(&token).then_some(())
    })
    .await;
    running.kill().await;
    // As if it had crashed after publishing but before storing its checkpoint.
    sqlx::query("UPDATE projections.checkpoints SET transaction_id = 0, position = 0 WHERE name = $1")
        .bind(relay.checkpoint_name())
        .execute(&env.pool)
        .await
        .expect("the checkpoint is moved back");
    let running = env.start_relay();
    let more = mixed_orders(3);
    let token = append_interleaved(&env.store, &more).await;
    eventually(Duration::from_secs(45), "the restarted relay publishes everything", || async {
        relay.checkpoint().await.expect("reads").covers(&token).then_some(())
    })
    .await;
    running.stop().await;
    assert_published_once_in_order(&env).await;
    env.clean_up().await;
}

#[sqlx::test(migrations = false)]
async fn two_relays_at_once_elect_one_active_and_publish_everything_once(
    pool_options: PgPoolOptions,
    connect_options: PgConnectOptions,
) {
    let env = TestEnv::new(pool_options, connect_options).await;
    let relays = [env.relay(), env.relay()];
    let mut tasks = Vec::new();
    for relay in &relays {
        let (relay, shutdown) = (relay.clone(), CancellationToken::new());
        let token = shutdown.clone();
        tasks.push(Some((shutdown, tokio::spawn(async move { relay.run(token).await.expect("relay runs") }))));
    }
    let active = eventually(Duration::from_secs(10), "one relay becomes active", || async {
        let active: Vec<usize> = (0..2).filter(|index| relays[*index].is_active()).collect();
        (active.len() == 1).then(|| active[0])
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!relays[1 - active].is_active(), "the other relay waits");

    let token = append_interleaved(&env.store, &mixed_orders(5)).await;
    eventually(Duration::from_secs(45), "the active relay publishes", || async {
        relays[active].checkpoint().await.expect("reads").covers(&token).then_some(())
    })
    .await;

    // The active relay dies; the standby takes over within its retry interval.
    let (_, task) = tasks[active].take().expect("a running relay");
    task.abort();
    let _ = task.await;
    eventually(Duration::from_secs(10), "the standby becomes active", || async {
        relays[1 - active].is_active().then_some(())
    })
    .await;
    let token = append_interleaved(&env.store, &mixed_orders(5)).await;
    eventually(Duration::from_secs(45), "the new active relay publishes", || async {
        relays[1 - active].checkpoint().await.expect("reads").covers(&token).then_some(())
    })
    .await;
    assert_published_once_in_order(&env).await;

    for (shutdown, task) in tasks.into_iter().flatten() {
        shutdown.cancel();
        task.await.expect("relay stops");
    }
    env.clean_up().await;
}

/// A relay that cannot publish (NATS unreachable) reports how far behind it is, in positions and in the
/// age of the oldest unpublished event, on `/health/ready` (and as `relay_lag_seconds` on `/metrics`).
#[sqlx::test(migrations = false)]
async fn a_relay_that_cannot_publish_reports_its_lag_in_seconds(
    pool_options: PgPoolOptions,
    connect_options: PgConnectOptions,
) {
    let env = TestEnv::new(pool_options, connect_options.clone()).await;
    append_interleaved(&env.store, &mixed_orders(2)).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let database_url = database_url_for(&connect_options);
    let address = free_local_address();
    let listen_addr = address.to_string();
    let settings = RelaySettings::try_parse_from([
        "relay",
        "--database-url",
        &database_url,
        "--nats-url",
        "nats://127.0.0.1:1",
        "--stream-name",
        &env.topology.stream_name,
        "--subject-prefix",
        &env.topology.subject_prefix,
        "--listen-addr",
        &listen_addr,
    ])
    .expect("the settings parse");
    let shutdown = CancellationToken::new();
    let service = tokio::spawn(projections::run_relay_service(settings, shutdown.clone()));

    let detail = eventually(Duration::from_secs(30), "the relay to report its lag", || async {
        let (status, body) = http_get(address, "/health/ready").await?;
        let body: serde_json::Value = serde_json::from_str(&body).ok()?;
        (status.contains("200") && body["detail"]["lag_seconds"].is_number()).then_some(body["detail"].clone())
    })
    .await;
    assert!(detail["lag_positions"].as_i64().expect("a number") > 0, "{detail}");
    assert!(detail["lag_seconds"].as_f64().expect("a number") >= 1.5, "{detail}");
    let (_, metrics) = http_get(address, "/metrics").await.expect("metrics answer");
    assert!(metrics.contains("relay_lag_seconds"), "{metrics}");

    shutdown.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(10), service).await;
    env.clean_up().await;
}
