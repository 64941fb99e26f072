//! The audit routes read the event store, never the views: the history with its metadata, paged, and the
//! state as of every version (or time) equal to folding the events up to it with the domain's `apply`.

use aggregates::wire;
use query_api::client::ReadOptions;
use query_api::OrderState;
use serde_json::json;
use sqlx::postgres::PgConnectOptions;
use sqlx::postgres::PgPoolOptions;
use uuid::Uuid;

use crate::helpers::add_item;
use crate::helpers::assert_problem;
use crate::helpers::cancel;
use crate::helpers::change_quantity;
use crate::helpers::create;
use crate::helpers::day;
use crate::helpers::encode;
use crate::helpers::get;
use crate::helpers::pay;
use crate::helpers::place;
use crate::helpers::refund;
use crate::helpers::remove_item;
use crate::helpers::set_address;
use crate::helpers::TestApp;

/// A history touching every kind of change a draft and a paid order can see; returns the order id.
async fn eventful_order(app: &TestApp) -> Uuid {
    let (order_id, customer_id) = (Uuid::now_v7(), Uuid::now_v7());
    app.execute(order_id, create(order_id, customer_id, "EUR", day(0))).await;
    app.execute(order_id, add_item("BOOK-1", "Book", 2000, 1, day(0))).await;
    app.execute(order_id, add_item("MUG-1", "Mug", 800, 2, day(0))).await;
    app.execute(order_id, change_quantity("BOOK-1", 3, day(0))).await;
    app.execute(order_id, remove_item("MUG-1", day(0))).await;
    app.execute(order_id, set_address("Grace Hopper", "Arlington", "US", day(0))).await;
    app.execute(order_id, set_address("Grace Hopper", "New York", "US", day(0))).await;
    app.execute(order_id, place(day(1))).await;
    app.execute(order_id, pay(6000, "EUR", day(2))).await;
    app.execute(order_id, cancel("customer request", day(3))).await;
    app.execute(order_id, refund(None, day(4))).await;
    order_id
}

#[sqlx::test(migrations = false)]
async fn as_of_every_version_equals_folding_the_events_up_to_it(_: PgPoolOptions, options: PgConnectOptions) {
    let app = TestApp::spawn(options).await;
    let order_id = eventful_order(&app).await;
    let recorded = app.events_of(order_id).await;
    assert_eq!(recorded.len(), 11);
    let events: Vec<aggregates::OrderEvent> = recorded
        .iter()
        .map(|event| {
            wire::decode_event(&event.event_type, event.schema_version as u32, event.payload.clone()).expect("decodes")
        })
        .collect();

    for (index, event) in recorded.iter().enumerate() {
        let version = index as i64 + 1;
        let expected = aggregates::replay(&events[..=index]);
        let expected = OrderState::from(expected.details().expect("created"));

        let by_version =
            app.client.order_as_of_version(order_id, version, &ReadOptions::default()).await.expect("served");
        assert!(by_version.etag.is_some() && by_version.consistency_token.is_some());
        let by_version = by_version.into_body().expect("a body");
        assert_eq!((by_version.version, by_version.current_version), (version, 11));
        assert_eq!(by_version.recorded_at, event.recorded_at);
        assert_eq!(by_version.state, expected, "as of version {version}");

        let by_time =
            app.client.order_as_of_time(order_id, event.recorded_at, &ReadOptions::default()).await.expect("served");
        let by_time = by_time.into_body().expect("a body");
        assert_eq!(by_time.version, version, "as of the time event {version} was recorded");
        assert_eq!(by_time.state, expected);
    }
    let last = app
        .client
        .order_as_of_version(order_id, 11, &ReadOptions::default())
        .await
        .expect("served")
        .into_body()
        .expect("a body");
    assert_eq!(last.state.status, "refunded");
    assert_eq!(last.state.lines.len(), 1);
    assert_eq!((last.state.total_minor, last.state.item_count), (6000, 3));
    assert_eq!(last.state.shipping_address.map(|address| address.city), Some("New York".to_owned()));
    assert_eq!(last.state.refund.map(|refund| refund.amount_minor), Some(6000));
    assert_eq!(last.state.cancellation.map(|cancellation| cancellation.previous_status), Some("paid".to_owned()));
    app.clean_up().await;
}

#[sqlx::test(migrations = false)]
async fn as_of_refuses_bad_points_in_time_and_versions_with_problems(_: PgPoolOptions, options: PgConnectOptions) {
    let app = TestApp::spawn(options).await;
    let order_id = app.placed_order(Uuid::now_v7(), "EUR", "Porto", &[("A", "A", 1, 1)], day(0)).await;
    let created = app.events_of(order_id).await[0].recorded_at;
    let base = format!("/orders/{order_id}/as-of");
    assert_problem(&get(&app.state, &format!("{base}?version=5")).await, 404, "/problems/order-version-not-found");
    let before = encode(&(created - chrono::Duration::seconds(1)).to_rfc3339());
    assert_problem(&get(&app.state, &format!("{base}?at={before}")).await, 404, "/problems/order-version-not-found");
    assert_problem(
        &get(&app.state, &format!("/orders/{}/as-of?version=1", Uuid::now_v7())).await,
        404,
        "/problems/order-not-found",
    );
    for query in [
        "",
        "?version=0",
        "?version=-1",
        "?version=two",
        "?at=yesterday",
        "?at=2026-03-01",
        "?version=1&at=2026-03-01T00:00:00Z",
    ] {
        assert_problem(&get(&app.state, &format!("{base}{query}")).await, 400, "/problems/invalid-parameter");
    }
    let future = encode(&(chrono::Utc::now() + chrono::Duration::days(365)).to_rfc3339());
    let latest = get(&app.state, &format!("{base}?at={future}")).await;
    assert_eq!(latest.status, 200);
    assert_eq!(latest.json()["version"], 4);
    app.clean_up().await;
}

#[sqlx::test(migrations = false)]
async fn history_lists_every_event_in_order_with_who_when_and_correlation_paged(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let app = TestApp::spawn(options).await;
    let order_id = eventful_order(&app).await;
    let recorded = app.events_of(order_id).await;

    let mut events = Vec::new();
    let mut from_version = None;
    let mut pages = 0;
    loop {
        let history =
            app.client.order_history(order_id, from_version, Some(4), &ReadOptions::default()).await.expect("served");
        assert!(history.consistency_token.is_some());
        let history = history.into_body().expect("a body");
        pages += 1;
        assert!(history.events.len() <= 4);
        events.extend(history.events);
        match history.next_from_version {
            Some(next) => from_version = Some(next),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(events.len(), recorded.len());
    for (event, stored) in events.iter().zip(&recorded) {
        assert_eq!(event.version, stored.version);
        assert_eq!(event.event_id, stored.event_id);
        assert_eq!(event.event_type, stored.event_type);
        assert_eq!(event.recorded_at, stored.recorded_at);
        assert_eq!(event.payload, stored.payload, "the payload as stored");
        assert_eq!(event.consistency_token, stored.log_position().to_string());
        assert_eq!(event.metadata.actor.as_deref(), Some("test-clerk"));
        assert_eq!(event.metadata.correlation_id, stored.metadata.correlation_id);
        assert!(event.metadata.correlation_id.starts_with("test-"));
        assert_eq!(event.metadata.causation_id, Some(stored.metadata.command_id.to_string()));
        assert_eq!(event.hash, hex::encode(stored.hash));
    }
    let types: Vec<&str> = events.iter().map(|event| event.event_type.as_str()).collect();
    assert_eq!(types[0], "order.created");
    assert_eq!(types[10], "order.refunded");
    assert_eq!(events[7].occurred_at, Some(day(1)), "occurred_at of order.placed");

    let unknown = Uuid::now_v7();
    assert_problem(&get(&app.state, &format!("/orders/{unknown}/history")).await, 404, "/problems/order-not-found");
    for query in ["from_version=0", "limit=1001", "limit=0", "from_version=x", "version=1"] {
        assert_problem(
            &get(&app.state, &format!("/orders/{order_id}/history?{query}")).await,
            400,
            "/problems/invalid-parameter",
        );
    }
    let past_the_end =
        app.client.order_history(order_id, Some(50), None, &ReadOptions::default()).await.expect("served");
    assert!(past_the_end.into_body().expect("a body").events.is_empty());
    app.clean_up().await;
}

#[sqlx::test(migrations = false)]
async fn audits_read_the_event_store_even_when_the_views_have_not_caught_up(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let app = TestApp::spawn(options).await;
    let order_id = app.placed_order(Uuid::now_v7(), "EUR", "Porto", &[("A", "A", 1, 1)], day(0)).await;
    assert_eq!(get(&app.state, &format!("/orders/{order_id}")).await.status, 404, "no projection ran");
    let history = app
        .client
        .order_history(order_id, None, None, &ReadOptions::default())
        .await
        .expect("served")
        .into_body()
        .expect("a body");
    assert_eq!(history.events.len(), 4);
    let state = app
        .client
        .order_as_of_version(order_id, 4, &ReadOptions::default())
        .await
        .expect("served")
        .into_body()
        .expect("a body");
    assert_eq!(state.state.status, "placed");
    app.clean_up().await;
}

#[sqlx::test(migrations = false)]
async fn as_of_upcasts_events_stored_at_an_old_schema_version(_: PgPoolOptions, options: PgConnectOptions) {
    let app = TestApp::spawn(options).await;
    let (order_id, customer_id) = (Uuid::now_v7(), Uuid::now_v7());
    app.execute(order_id, create(order_id, customer_id, "EUR", day(0))).await;
    let old_address = json!({
        "order_id": order_id,
        "recipient_name": "Alan Turing",
        "street": "Bletchley Park",
        "city": "Milton Keynes",
        "postal_code": "MK3 6EB",
        "country": "GB",
        "occurred_at": "2026-03-01T10:00:00Z",
    });
    app.append_raw(order_id, "order.shipping_address_set", 1, old_address.clone()).await;

    let as_of = app
        .client
        .order_as_of_version(order_id, 2, &ReadOptions::default())
        .await
        .expect("served")
        .into_body()
        .expect("a body");
    let address = as_of.state.shipping_address.expect("the upcast address");
    assert_eq!(
        (address.line1.as_str(), address.city.as_str(), address.region),
        ("Bletchley Park", "Milton Keynes", None)
    );
    let history = app
        .client
        .order_history(order_id, None, None, &ReadOptions::default())
        .await
        .expect("served")
        .into_body()
        .expect("a body");
    assert_eq!(
        (history.events[1].schema_version, &history.events[1].payload),
        (1, &old_address),
        "history shows the record as stored"
    );
    app.clean_up().await;
}
