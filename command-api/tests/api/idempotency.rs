//! Idempotency keys: a retried request gets the first response back and appends nothing, also after a
//! restart and when the first response was never stored; the same key for another request is a 422.

use command_api::client::CommandOptions;
use schemas::order as wire;
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::address_body;
use crate::helpers::create_body;
use crate::helpers::item_body;
use crate::helpers::test_settings;
use crate::helpers::TestApp;

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn a_retried_request_returns_the_original_response_without_appending(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let order_id = app.create_order().await;
    let options = CommandOptions::idempotent("add-book-1");
    let first = app.client.add_item(order_id, &item_body("BOOK-1", 1999, 2), &options).await.expect("added");
    let events_after_first = app.total_events().await;
    let second = app.client.add_item(order_id, &item_body("BOOK-1", 1999, 2), &options).await.expect("replayed");
    assert!(!first.replayed);
    assert!(second.replayed);
    assert_eq!(second.body, first.body);
    assert_eq!(second.etag, first.etag);
    assert_eq!(app.total_events().await, events_after_first);
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn a_retried_create_returns_the_same_order(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let body = create_body();
    let options = CommandOptions::idempotent(Uuid::now_v7().to_string());
    let first = app.client.create_order(&body, &options).await.expect("created");
    let second = app.client.create_order(&body, &options).await.expect("replayed");
    assert_eq!(second.status, 201);
    assert_eq!(second.order_id(), first.order_id());
    assert_eq!(second.location, first.location);
    assert_eq!(app.total_events().await, 1);
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn the_original_response_survives_a_restart(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let order_id = app.create_order().await;
    let options = CommandOptions::idempotent("place-it");
    let body = item_body("BOOK-1", 1999, 2);
    let first = app.client.add_item(order_id, &body, &options).await.expect("added");
    app.stop().await.expect("a clean stop");

    let restarted = TestApp::spawn(pool).await;
    let second = restarted.client.add_item(order_id, &body, &options).await.expect("replayed");
    assert!(second.replayed);
    assert_eq!(second.body, first.body);
    assert_eq!(restarted.events_of(order_id).await.len(), 2);
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn a_command_whose_response_was_lost_is_answered_from_its_record(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let order_id = app.create_order().await;
    let options = CommandOptions::idempotent("lost-response");
    let body = item_body("BOOK-1", 1999, 2);
    let first = app.client.add_item(order_id, &body, &options).await.expect("added");
    // As if the process had stopped between the append and storing the response.
    sqlx::query("DELETE FROM event_store.idempotency_keys").execute(&pool).await.expect("deleted");

    let second = app.client.add_item(order_id, &body, &options).await.expect("answered from the command record");
    assert_eq!(second.body, first.body);
    assert_eq!(app.events_of(order_id).await.len(), 2, "the item was not added twice");
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn a_lost_response_of_a_command_that_is_a_no_op_on_retry_is_answered_from_its_record(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let order_id = app.create_order().await;
    let options = CommandOptions::idempotent("lost-address-response");
    let body = address_body();
    let first = app.client.set_shipping_address(order_id, &body, &options).await.expect("set");
    assert!(first.body.consistency_token.is_some());
    sqlx::query("DELETE FROM event_store.idempotency_keys").execute(&pool).await.expect("deleted");

    // On the order as it is now, the same address again changes nothing; the answer is still the first one,
    // with the version and consistency token the client needs for read-your-writes.
    let second = app.client.set_shipping_address(order_id, &body, &options).await.expect("answered from the record");
    assert_eq!(second.body, first.body);
    assert_eq!(app.events_of(order_id).await.len(), 2, "the address was set once");
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn the_same_key_with_another_body_is_a_422(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let order_id = app.create_order().await;
    let options = CommandOptions::idempotent("key-1");
    app.client.add_item(order_id, &item_body("BOOK-1", 1999, 2), &options).await.expect("added");
    let events = app.total_events().await;
    let error = app
        .client
        .add_item(order_id, &item_body("BOOK-2", 1999, 2), &options)
        .await
        .expect_err("a different body with the same key is refused");
    let problem = error.problem().expect("a problem");
    assert_eq!(problem.status, 422);
    assert_eq!(problem.problem_type, "/problems/idempotency-key-reused");
    assert_eq!(app.total_events().await, events);
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn a_refusal_is_replayed_as_well(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let order_id = app.create_order().await;
    let options = CommandOptions::idempotent("place-empty");
    let first = app.client.place_order(order_id, &options).await.expect_err("an empty order cannot be placed");
    let second = app.client.place_order(order_id, &options).await.expect_err("the same refusal");
    assert_eq!(first.problem(), second.problem());
    assert_eq!(app.total_events().await, 1);
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn concurrent_requests_with_one_key_append_once(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let order_id = app.create_order().await;
    let options = CommandOptions::idempotent("burst");
    let body = wire::AddItemV1 { sku: "BOOK-1".into(), name: "Book".into(), unit_price_minor: 100, quantity: 1 };
    let answers = futures::future::join_all((0..8).map(|_| app.client.add_item(order_id, &body, &options))).await;
    let versions: Vec<i64> = answers.into_iter().map(|answer| answer.expect("accepted").version()).collect();
    assert!(versions.iter().all(|version| *version == 2), "{versions:?}");
    assert_eq!(app.events_of(order_id).await.len(), 2);
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn stored_responses_past_the_retention_are_purged_and_their_retries_still_append_nothing(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let order_id = app.create_order().await;
    let (old_key, new_key) = (CommandOptions::idempotent("yesterday"), CommandOptions::idempotent("today"));
    let old_body = item_body("BOOK-1", 1999, 2);
    let first = app.client.add_item(order_id, &old_body, &old_key).await.expect("added");
    app.client.add_item(order_id, &item_body("BOOK-2", 500, 1), &new_key).await.expect("added");
    sqlx::query("UPDATE event_store.idempotency_keys SET created_at = now() - interval '2 hours' WHERE idempotency_key = 'yesterday'")
        .execute(&pool)
        .await
        .expect("the first response is made older");
    app.stop().await.expect("a clean stop");

    let mut settings = test_settings();
    settings.idempotency_retention_hours = 1;
    let app = TestApp::spawn_with(pool.clone(), settings).await;
    let stored_keys = || async {
        sqlx::query_scalar::<_, String>("SELECT idempotency_key FROM event_store.idempotency_keys ORDER BY 1")
            .fetch_all(&pool)
            .await
            .expect("the stored keys read")
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while stored_keys().await.len() > 1 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(stored_keys().await, vec!["today".to_owned()], "only the response past the retention is purged");

    let events = app.events_of(order_id).await.len();
    let retried = app.client.add_item(order_id, &old_body, &old_key).await.expect("answered from the command record");
    assert_eq!(retried.body, first.body);
    assert_eq!(app.events_of(order_id).await.len(), events, "the retry appended nothing");
}
