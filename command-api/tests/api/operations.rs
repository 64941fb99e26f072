//! Operations: health, metrics, the OpenAPI document against the router, correlation ids, snapshots,
//! and graceful shutdown with a request in flight.

use std::time::Duration;

use command_api::client::CommandOptions;
use schemas::order as wire;
use sqlx::PgPool;

use crate::helpers::item_body;
use crate::helpers::oneshot;
use crate::helpers::raw;
use crate::helpers::test_settings;
use crate::helpers::TestApp;

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn liveness_and_readiness_answer(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    assert!(app.client.is_ready().await.expect("an answer"));
    let live = oneshot(&app.state, raw("GET", "/health/live", None, "")).await;
    assert_eq!(live.status, 200);
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn readiness_fails_when_postgres_is_gone(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    pool.close().await;
    let ready = oneshot(&app.state, raw("GET", "/health/ready", None, "")).await;
    assert_eq!(ready.status, 503);
    assert_eq!(ready.problem().problem_type, "/problems/service-unavailable");
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn metrics_count_requests_appends_and_conflicts(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let order_id = app.create_order().await;
    let _ = app.client.add_item(order_id, &item_body("A", 1, 1), &CommandOptions::expecting(0)).await;
    let text =
        app.http.get(format!("{}/metrics", app.address)).send().await.expect("an answer").text().await.expect("text");
    for name in [
        "command_api_http_requests_total",
        "command_api_http_request_duration_seconds_bucket",
        "command_api_appends_total",
        "command_api_events_appended_total",
        "command_api_conflicts_total",
    ] {
        assert!(text.contains(name), "{name} missing in\n{text}");
    }
    assert!(text.contains("route=\"/orders\""), "routes are labelled by their template");
}

/// Every operation of the document is a route the router serves, and every command route is documented.
#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn the_openapi_document_matches_the_routes(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let document = app.client.openapi().await.expect("the document");
    assert!(document["openapi"].as_str().is_some_and(|version| version.starts_with("3.1")));
    let paths = document["paths"].as_object().expect("paths");
    let mut operations = 0;
    for (path, item) in paths {
        for (method, operation) in item.as_object().expect("a path item") {
            if !["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            operations += 1;
            let concrete = path.replace("{order_id}", &uuid::Uuid::now_v7().to_string()).replace("{sku}", "SKU-1");
            let answer = oneshot(&app.state, raw(&method.to_uppercase(), &concrete, None, "")).await;
            let routed = answer.status != 405
                && !(answer.status == 404
                    && serde_json::from_slice::<serde_json::Value>(&answer.body)
                        .is_ok_and(|problem| problem["type"] == "/problems/not-found"));
            assert!(routed, "{method} {path} is documented but not routed ({})", answer.status);
            if let Some(schema_ref) = operation.pointer("/requestBody/content/application~1json/schema/$ref") {
                let name = schema_ref.as_str().expect("a ref").trim_start_matches("#/components/schemas/");
                assert!(document["components"]["schemas"][name]["properties"].is_object(), "{name} is embedded");
            }
        }
    }
    assert_eq!(operations, 18, "14 command routes (3 of them aliases), 2 health routes, metrics and openapi.json");
    for command in schemas::order::command_name::ALL {
        assert!(document["components"]["schemas"].get(format!("{command}.v1")).is_some(), "{command} has no schema");
    }
    assert!(document["components"]["schemas"]["Problem"].is_object());
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn the_correlation_id_comes_from_traceparent_when_there_is_no_header(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let body = serde_json::json!({"customer_id": uuid::Uuid::now_v7(), "currency": "EUR"});
    let response = app
        .http
        .post(format!("{}/orders", app.address))
        .header("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        .json(&body)
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.headers()["x-correlation-id"], "4bf92f3577b34da6a3ce929d0e0e4736");
    let order_id: uuid::Uuid = response.json::<serde_json::Value>().await.expect("json")["order_id"]
        .as_str()
        .and_then(|text| text.parse().ok())
        .expect("an order id");
    let event = app.events_of(order_id).await.pop().expect("an event");
    assert_eq!(event.metadata.correlation_id, "4bf92f3577b34da6a3ce929d0e0e4736");
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn a_long_stream_loads_from_its_snapshot(pool: PgPool) {
    let mut settings = test_settings();
    settings.snapshot_every = 5;
    let app = TestApp::spawn_with(pool, settings).await;
    let order_id = app.create_order().await;
    let options = CommandOptions::default();
    app.client.add_item(order_id, &item_body("A", 100, 1), &options).await.expect("added");
    for round in 0..23 {
        let quantity = if round % 2 == 0 { 2 } else { 1 };
        app.client
            .change_item_quantity(order_id, "A", &wire::ChangeItemQuantityV1 { quantity }, &options)
            .await
            .expect("changed");
    }
    // 25 events: snapshots are taken at 5, 10, ... 25, in the background.
    let snapshot = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match app.state.store().load_snapshot(order_id, 1).await.expect("readable") {
                Some(snapshot) if snapshot.version == 25 => return snapshot,
                _ => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    })
    .await
    .expect("a snapshot at version 25");
    assert!(snapshot.state["events"].as_array().is_some_and(|events| events.len() == 2), "created and one line");
    // The next command works from the snapshot and sees the right quantity (2 after the 23 changes).
    let answer = app
        .client
        .change_item_quantity(order_id, "A", &wire::ChangeItemQuantityV1 { quantity: 2 }, &options)
        .await
        .expect("accepted");
    assert_eq!(answer.version(), 25, "quantity 2 is already current, so nothing changes");
    let changed = app
        .client
        .change_item_quantity(order_id, "A", &wire::ChangeItemQuantityV1 { quantity: 3 }, &options)
        .await
        .expect("accepted");
    assert_eq!(changed.version(), 26);
    let last = app.events_of(order_id).await.pop().expect("events");
    assert_eq!(last.payload["previous_quantity"], 2);
    assert_eq!(last.payload["order_total_minor"], 300);
}

/// A request blocked in Postgres while SIGTERM arrives still completes; then the server stops.
#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn shutdown_lets_the_request_in_flight_finish(pool: PgPool) {
    let mut app = TestApp::spawn(pool.clone()).await;
    let order_id = app.create_order().await;
    let mut blocker = pool.begin().await.expect("a transaction");
    // SHARE mode lets reads through but makes every INSERT wait.
    sqlx::query("LOCK TABLE event_store.events IN SHARE MODE").execute(&mut *blocker).await.expect("locked");

    let client = app.client.clone();
    let in_flight =
        tokio::spawn(
            async move { client.add_item(order_id, &item_body("A", 100, 1), &CommandOptions::default()).await },
        );
    // Wait until the request is inside the service, waiting for the lock.
    tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let waiting: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE '%insert%event_store.events%'",
            )
            .fetch_one(&pool)
            .await
            .expect("pg_stat_activity");
            if waiting > 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the request reaches Postgres");

    app.begin_stop();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!app.server_is_finished(), "the server waits for the request in flight");
    blocker.commit().await.expect("released");

    let answer = in_flight.await.expect("the task finishes").expect("the request in flight succeeds");
    assert_eq!(answer.version(), 2);
    tokio::time::timeout(Duration::from_secs(5), app.finished()).await.expect("the server stops").expect("cleanly");
}

/// A request that outlives `REQUEST_TIMEOUT_MS` is answered with 503 and `Retry-After`; a retry with the same
/// `Idempotency-Key` then gets the command's one result.
#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn a_request_over_the_timeout_is_a_503_and_its_retry_is_safe(pool: PgPool) {
    let mut settings = test_settings();
    settings.request_timeout_ms = 300;
    let app = TestApp::spawn_with(pool.clone(), settings).await;
    let order_id = app.create_order().await;
    let mut blocker = pool.begin().await.expect("a transaction");
    sqlx::query("LOCK TABLE event_store.events IN SHARE MODE").execute(&mut *blocker).await.expect("locked");

    let options = CommandOptions::idempotent("slow-add");
    let error =
        app.client.add_item(order_id, &item_body("A", 100, 1), &options).await.expect_err("the request times out");
    let problem = error.problem().expect("a problem");
    assert_eq!(problem.status, 503);
    assert_eq!(problem.problem_type, "/problems/service-unavailable");
    blocker.commit().await.expect("released");

    let retried = app.client.add_item(order_id, &item_body("A", 100, 1), &options).await.expect("the retry succeeds");
    assert_eq!(retried.version(), 2);
    assert_eq!(app.events_of(order_id).await.len(), 2, "the item is on the order once");
}
