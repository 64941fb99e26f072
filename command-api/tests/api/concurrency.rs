//! Parallel commands on one order: the version sequence stays gapless and the total adds up.

use command_api::client::CommandOptions;
use sqlx::PgPool;

use crate::helpers::item_body;
use crate::helpers::test_settings;
use crate::helpers::TestApp;

async fn assert_consistent(app: &TestApp, order_id: uuid::Uuid, lines: i64, expected_total: i64) {
    let events = app.events_of(order_id).await;
    let versions: Vec<i64> = events.iter().map(|event| event.version).collect();
    assert_eq!(versions, (1..=lines + 1).collect::<Vec<_>>(), "gapless versions");
    let last = events.last().expect("events");
    assert_eq!(last.payload["order_total_minor"], expected_total);
    assert_eq!(last.payload["line_count"], lines);
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn fifty_parallel_add_items_on_one_order_all_land_in_sequence(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let order_id = app.create_order().await;
    let options = CommandOptions::default();
    let requests = (1..=50).map(|index| {
        let body = item_body(&format!("SKU-{index}"), index, 1);
        let client = app.client.clone();
        let options = options.clone();
        tokio::spawn(async move { client.add_item(order_id, &body, &options).await })
    });
    let mut versions: Vec<i64> = Vec::new();
    for answer in futures::future::join_all(requests).await {
        versions.push(answer.expect("the task finishes").expect("accepted").version());
    }
    versions.sort_unstable();
    assert_eq!(versions, (2..=51).collect::<Vec<_>>(), "each command got its own version");
    assert_consistent(&app, order_id, 50, (1..=50).sum()).await;
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn two_instances_on_one_order_resolve_their_conflicts_by_deciding_again(pool: PgPool) {
    let mut settings = test_settings();
    settings.max_conflict_retries = 100;
    let first = TestApp::spawn_with(pool.clone(), settings.clone()).await;
    let second = TestApp::spawn_with(pool, settings).await;
    let order_id = first.create_order().await;
    let requests = (1..=40).map(|index| {
        let client = if index % 2 == 0 { first.client.clone() } else { second.client.clone() };
        let body = item_body(&format!("SKU-{index}"), 10, 1);
        tokio::spawn(async move { client.add_item(order_id, &body, &CommandOptions::default()).await })
    });
    for answer in futures::future::join_all(requests).await {
        answer.expect("the task finishes").expect("accepted after retries");
    }
    assert_consistent(&first, order_id, 40, 400).await;
}

/// Each instance keeps the state it last wrote; when another instance moved the order on, the cached state
/// must neither refuse a valid command nor fail a current `If-Match`.
#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn a_stale_cached_state_never_decides_the_answer(pool: PgPool) {
    let first = TestApp::spawn(pool.clone()).await;
    let second = TestApp::spawn(pool).await;
    let options = CommandOptions::default();
    let order_id = first.create_order().await;
    first.client.add_item(order_id, &item_body("A", 100, 1), &options).await.expect("added by the first");
    second.client.remove_item(order_id, "A", &options).await.expect("removed by the second");

    // The first instance still believes `A` is on the order.
    let added_again = first.client.add_item(order_id, &item_body("A", 100, 2), &options).await.expect("not refused");
    assert_eq!(added_again.version(), 4);

    second.client.add_item(order_id, &item_body("B", 100, 1), &options).await.expect("added by the second");
    let pinned = first
        .client
        .add_item(order_id, &item_body("C", 100, 1), &CommandOptions::expecting(5))
        .await
        .expect("If-Match of the current version is accepted");
    assert_eq!(pinned.version(), 6);
    let outdated = first
        .client
        .add_item(order_id, &item_body("D", 100, 1), &CommandOptions::expecting(5))
        .await
        .expect_err("an outdated If-Match is refused");
    assert_eq!(outdated.problem().expect("a problem").status, 412);
}
