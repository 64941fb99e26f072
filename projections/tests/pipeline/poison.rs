//! Poison events: dead-lettered after the retry budget, their order parked while the others flow,
//! loud in the status, and drained by an operator's retry after a fix.

use std::sync::Arc;

use projections::{parked_orders, retry_parked, Decoder, EventEnvelope, ProjectorOptions, ORDER_SEARCH, ORDER_VIEWS};
use schemas::order::OrderEvent;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use uuid::Uuid;

use crate::helpers::*;

/// The "fix": a decoder that knows the schema version 99 the poison event was written with.
fn fixed_decoder() -> Decoder {
    Arc::new(|event: &EventEnvelope| {
        let version = if event.schema_version == 99 { 1 } else { event.schema_version as u32 };
        OrderEvent::decode(&event.event_type, version, event.payload.clone()).map_err(|error| error.to_string())
    })
}

#[sqlx::test(migrations = false)]
async fn a_poison_event_parks_its_order_while_the_others_flow_and_a_retry_drains_it(
    pool_options: PgPoolOptions,
    connect_options: PgConnectOptions,
) {
    let env = TestEnv::new(pool_options, connect_options).await;
    let options = ProjectorOptions { retry_budget: 2, ..TestEnv::test_options() };
    let relay = env.start_relay();
    let views = env.start_projector(env.views_projector().with_options(options.clone()));
    let search = env.start_projector(env.search_projector().with_options(options));

    let poisoned = OrderScript::create(Uuid::now_v7(), "EUR", day(5))
        .add("SKU-1", "Copper Kettle", 4_000, 1)
        .add("SKU-2", "Tea Towel", 500, 2)
        .address("Vienna", "AT")
        .place()
        .pay();
    // Version 3 is stored with a schema version this code does not know.
    let mut poison = poisoned.steps[2].clone();
    poison.schema_version = 99;
    for (index, step) in poisoned.steps.iter().enumerate().take(4) {
        let step = if index == 2 { &poison } else { step };
        append_step(&env.store, poisoned.order_id, index as i64, step).await;
    }
    let others = mixed_orders(6);
    let token = append_interleaved(&env.store, &others).await;
    env.wait_for_both(token).await;

    for projection in [ORDER_VIEWS, ORDER_SEARCH] {
        let parked = parked_orders(&env.pool, projection).await.expect("parked orders read");
        assert_eq!(parked.len(), 1, "{projection}: one parked order");
        assert_eq!((parked[0].order_id, parked[0].from_version), (poisoned.order_id, 3));
        assert!(parked[0].reason.contains("schema version 99"), "{}", parked[0].reason);
    }
    let letters: Vec<(String, Uuid, i64, String, i32, bool)> = sqlx::query_as(
        "SELECT projection, order_id, stream_version, event_type, attempts, resolved_at IS NULL \
         FROM projections.dead_letters ORDER BY projection",
    )
    .fetch_all(&env.pool)
    .await
    .expect("dead letters read");
    assert_eq!(
        letters,
        vec![
            (ORDER_SEARCH.to_owned(), poisoned.order_id, 3, "order.item_added".to_owned(), 2, true),
            (ORDER_VIEWS.to_owned(), poisoned.order_id, 3, "order.item_added".to_owned(), 2, true),
        ]
    );
    let status = env.views_projector().status().await.expect("status reads");
    assert_eq!((status.parked_orders, status.dead_letters, status.lag_positions), (1, 1, 0), "{status:?}");
    let (version, status_text): (i64, String) =
        sqlx::query_as("SELECT version, status FROM projections.order_summary WHERE order_id = $1")
            .bind(poisoned.order_id)
            .fetch_one(&env.pool)
            .await
            .expect("the parked order's row reads");
    assert_eq!((version, status_text.as_str()), (2, "draft"), "the parked order stops before the poison event");
    // The other orders flowed: the same as a clean run (which parks the same order).
    assert_same_as_clean_run(&env).await;

    // Later events of the parked order wait with it.
    let token = append_step(&env.store, poisoned.order_id, 4, &poisoned.steps[4]).await;
    env.wait_for_both(token).await;
    assert_eq!(
        parked_orders(&env.pool, ORDER_VIEWS).await.expect("reads")[0].from_version,
        3,
        "the order stays parked from the poison event"
    );

    // After the fix, the operator retries: the order drains, including the event that arrived meanwhile.
    let report = retry_parked(&env.views_projector().with_decoder(fixed_decoder()), None).await.expect("retry runs");
    assert_eq!((report.orders_drained.clone(), report.events_applied), (vec![poisoned.order_id], 3), "{report:?}");
    let report = retry_parked(&env.search_projector().with_decoder(fixed_decoder()), None).await.expect("retry runs");
    assert_eq!(report.orders_drained, vec![poisoned.order_id], "{report:?}");
    let (version, status_text, total): (i64, String, i64) =
        sqlx::query_as("SELECT version, status, total_minor FROM projections.order_summary WHERE order_id = $1")
            .bind(poisoned.order_id)
            .fetch_one(&env.pool)
            .await
            .expect("reads");
    assert_eq!((version, status_text.as_str(), total), (5, "placed", 5_000));
    let (unresolved,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM projections.dead_letters WHERE resolved_at IS NULL AND projection IN ($1, $2)",
    )
    .bind(ORDER_VIEWS)
    .bind(ORDER_SEARCH)
    .fetch_one(&env.pool)
    .await
    .expect("reads");
    assert_eq!(unresolved, 0, "the dead letters are resolved");
    assert!(parked_orders(&env.pool, ORDER_SEARCH).await.expect("reads").is_empty());

    // The live projectors continue with the drained order.
    let token = append_step(&env.store, poisoned.order_id, 5, &poisoned.steps[5]).await;
    env.wait_for_both(token).await;
    let documents = dump_search(&env.search).await;
    let document = documents
        .as_array()
        .expect("documents")
        .iter()
        .find(|document| document["source"]["order_id"] == poisoned.order_id.to_string())
        .expect("the order's document")
        .clone();
    assert_eq!((document["version"].as_i64(), document["source"]["status"].as_str()), (Some(6), Some("paid")));

    search.stop().await;
    views.stop().await;
    relay.stop().await;
    env.clean_up().await;
}
