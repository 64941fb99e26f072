//! Read-your-writes: a read with a consistency token waits for the route's projection, answers 503 with
//! `Retry-After` instead of stale data, refuses malformed tokens, and every answer names its checkpoint.

use std::time::Duration;
use std::time::Instant;

use axum::body::Body;
use axum::http::Request;
use event_store::LogPosition;
use query_api::client::ClientError;
use query_api::client::OrderQuery;
use query_api::client::ReadOptions;
use query_api::client::SearchQuery;
use sqlx::postgres::PgConnectOptions;
use sqlx::postgres::PgPoolOptions;
use uuid::Uuid;

use crate::helpers::assert_problem;
use crate::helpers::day;
use crate::helpers::get;
use crate::helpers::pay;
use crate::helpers::send;
use crate::helpers::TestApp;

fn token_of(read_token: Option<String>) -> LogPosition {
    read_token.expect("an X-Consistency-Token header").parse().expect("a log position")
}

#[sqlx::test(migrations = false)]
async fn a_read_with_a_token_waits_until_the_views_reach_it(_: PgPoolOptions, options: PgConnectOptions) {
    let app = TestApp::spawn(options).await;
    let order_id = app.placed_order(Uuid::now_v7(), "EUR", "Turin", &[("A", "Apple", 100, 3)], day(0)).await;
    app.project_views().await;
    let appended = app.execute(order_id, pay(300, "EUR", day(1))).await;

    let projector = app.views_projector();
    let target = appended.token;
    let later = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        while !projector.catch_up(Some(target)).await.expect("the views catch up").checkpoint.covers(&target) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    let started = Instant::now();
    let read = app
        .client
        .get_order(order_id, &ReadOptions::after(appended.token.to_string()))
        .await
        .expect("answered after the wait");
    assert!(started.elapsed() >= Duration::from_millis(250), "the read waited for the projection");
    assert!(token_of(read.consistency_token.clone()).covers(&appended.token));
    let order = read.into_body().expect("a body");
    assert_eq!((order.status.as_str(), order.version), ("paid", appended.last_version));
    later.await.expect("the projector task ends");
    app.clean_up().await;
}

#[sqlx::test(migrations = false)]
async fn a_token_the_projection_does_not_reach_in_time_is_a_503_with_retry_after_not_stale_data(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let app = TestApp::spawn_with(options, |settings| settings.consistency_wait_ms = 300).await;
    let order_id = app.placed_order(Uuid::now_v7(), "EUR", "Turin", &[("A", "Apple", 100, 3)], day(0)).await;
    let reached = app.project_views().await;
    let appended = app.execute(order_id, pay(300, "EUR", day(1))).await;

    let started = Instant::now();
    let error =
        app.client.get_order(order_id, &ReadOptions::after(appended.token.to_string())).await.expect_err("refused");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(280) && waited < Duration::from_secs(2), "bounded wait: {waited:?}");
    let ClientError::Problem { status, problem, retry_after, consistency_token } = error else {
        panic!("a problem: {error:?}")
    };
    assert_eq!(status, 503);
    assert_eq!(problem.problem_type, "/problems/not-yet-consistent");
    assert!(retry_after.is_some());
    assert_eq!(consistency_token, Some(reached.to_string()), "the refusal names where the projection stands");

    // Without a token the same read is answered at once, from the older state, and says so.
    let stale = app.client.get_order(order_id, &ReadOptions::default()).await.expect("served");
    assert_eq!(token_of(stale.consistency_token.clone()), reached);
    assert!(!reached.covers(&appended.token));
    assert_eq!(stale.into_body().expect("a body").status, "placed");
    app.clean_up().await;
}

#[sqlx::test(migrations = false)]
async fn the_token_may_come_as_a_header_and_the_later_of_two_tokens_counts(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let app = TestApp::spawn_with(options, |settings| settings.consistency_wait_ms = 200).await;
    let order_id = app.placed_order(Uuid::now_v7(), "EUR", "Turin", &[("A", "Apple", 100, 3)], day(0)).await;
    let placed = app.events_of(order_id).await.last().expect("events").log_position();
    app.project_views().await;
    let paid = app.execute(order_id, pay(300, "EUR", day(1))).await;

    let header_only =
        ReadOptions { consistency_token: Some(placed.to_string()), token_in_header: true, ..ReadOptions::default() };
    assert_eq!(app.client.get_order(order_id, &header_only).await.expect("served").status, 200);

    let request = Request::builder()
        .uri(format!("/orders/{order_id}?consistency_token={placed}"))
        .header("x-consistency-token", paid.token.to_string())
        .body(Body::empty())
        .expect("a request");
    assert_problem(&send(&app.state, request).await, 503, "/problems/not-yet-consistent");
    app.project_views().await;
    let header_late = ReadOptions {
        consistency_token: Some(paid.token.to_string()),
        token_in_header: true,
        ..ReadOptions::default()
    };
    let read = app.client.get_order(order_id, &header_late).await.expect("served");
    assert_eq!(read.into_body().expect("a body").status, "paid");
    app.clean_up().await;
}

#[sqlx::test(migrations = false)]
async fn malformed_tokens_are_400_problems_on_every_route(_: PgPoolOptions, options: PgConnectOptions) {
    let app = TestApp::spawn(options).await;
    let order_id = Uuid::now_v7();
    let routes = [
        format!("/orders/{order_id}"),
        "/orders".to_owned(),
        format!("/customers/{order_id}"),
        format!("/customers/{order_id}/orders"),
        "/stats/daily?from=2026-03-01&to=2026-03-02".to_owned(),
        "/search/orders".to_owned(),
        format!("/orders/{order_id}/history"),
        format!("/orders/{order_id}/as-of?version=1"),
    ];
    for route in &routes {
        let separator = if route.contains('?') { '&' } else { '?' };
        for token in ["abc", "12", "1:-5", "1:2:3", "%27%3B--"] {
            let answer = get(&app.state, &format!("{route}{separator}consistency_token={token}")).await;
            assert_problem(&answer, 400, "/problems/invalid-consistency-token");
        }
        let request = Request::builder()
            .uri(route.as_str())
            .header("x-consistency-token", "next week")
            .body(Body::empty())
            .expect("a request");
        assert_problem(&send(&app.state, request).await, 400, "/problems/invalid-consistency-token");
    }
    app.clean_up().await;
}

#[sqlx::test(migrations = false)]
async fn every_answer_names_the_checkpoint_of_the_projection_it_reflects(_: PgPoolOptions, options: PgConnectOptions) {
    let app = TestApp::spawn(options).await;
    let customer_id = Uuid::now_v7();
    let order_id = app.placed_order(customer_id, "EUR", "Turin", &[("A", "Apple", 100, 3)], day(0)).await;
    let views = app.project_views().await;
    let search = app.project_search().await;
    // The search projection is now ahead of the views, so each route shows which one it read.
    let extra = app.placed_order(customer_id, "EUR", "Turin", &[("B", "Banana", 10, 1)], day(1)).await;
    let search_ahead = app.project_search().await;
    assert!(search_ahead > search && search_ahead > views);

    let options = ReadOptions::default();
    let views_routes = [
        app.client.get_order(order_id, &options).await.expect("served").consistency_token,
        app.client.list_orders(&OrderQuery::default(), &options).await.expect("served").consistency_token,
        app.client
            .customer_orders(customer_id, &OrderQuery::default(), &options)
            .await
            .expect("served")
            .consistency_token,
        app.client.get_customer(customer_id, &options).await.expect("served").consistency_token,
        app.client
            .daily_sales(day(0).date_naive(), day(1).date_naive(), &options)
            .await
            .expect("served")
            .consistency_token,
    ];
    for token in views_routes {
        assert_eq!(token_of(token), views);
    }
    let searched = app.client.search_orders(&SearchQuery::text("banana"), &options).await.expect("served");
    assert_eq!(token_of(searched.consistency_token.clone()), search_ahead);
    assert_eq!(searched.into_body().expect("a body").items[0].order_id, extra);
    let missing = get(&app.state, &format!("/orders/{extra}")).await;
    assert_eq!(missing.status, 404, "the views have not seen the newer order yet");
    assert_eq!(missing.header("x-consistency-token"), Some(views.to_string().as_str()));
    app.clean_up().await;
}

#[sqlx::test(migrations = false)]
async fn search_waits_for_the_search_projection_and_views_for_the_views(_: PgPoolOptions, options: PgConnectOptions) {
    let app = TestApp::spawn_with(options, |settings| settings.consistency_wait_ms = 200).await;
    let order_id = app.placed_order(Uuid::now_v7(), "EUR", "Turin", &[("A", "Apple", 100, 3)], day(0)).await;
    app.project().await;
    let added = app.execute(order_id, pay(300, "EUR", day(1))).await;
    app.project_views().await;
    let after = ReadOptions::after(added.token.to_string());

    assert_eq!(app.client.get_order(order_id, &after).await.expect("the views reached it").status, 200);
    let refused = app.client.search_orders(&SearchQuery::text("apple"), &after).await.expect_err("the index did not");
    assert_eq!(refused.problem().map(|problem| problem.problem_type.as_str()), Some("/problems/not-yet-consistent"));
    app.project_search().await;
    let page = app
        .client
        .search_orders(&SearchQuery::text("apple"), &after)
        .await
        .expect("served")
        .into_body()
        .expect("a body");
    assert_eq!(page.items[0].status, "paid");
    app.clean_up().await;
}
