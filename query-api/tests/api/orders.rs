//! `GET /orders/{order_id}`: the order from the views, its `ETag`, conditional GET and the 404/400 problems.

use query_api::client::ReadOptions;
use sqlx::postgres::PgConnectOptions;
use sqlx::postgres::PgPoolOptions;
use uuid::Uuid;

use crate::helpers::add_item;
use crate::helpers::assert_problem;
use crate::helpers::change_quantity;
use crate::helpers::create;
use crate::helpers::day;
use crate::helpers::get;
use crate::helpers::pay;
use crate::helpers::place;
use crate::helpers::remove_item;
use crate::helpers::set_address;
use crate::helpers::ship;
use crate::helpers::TestApp;

#[sqlx::test(migrations = false)]
async fn an_order_is_served_with_its_lines_status_totals_timestamps_and_version(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let app = TestApp::spawn(options).await;
    let (order_id, customer_id) = (Uuid::now_v7(), Uuid::now_v7());
    app.execute(order_id, create(order_id, customer_id, "EUR", day(0))).await;
    app.execute(order_id, add_item("BOOK-1", "The Rust Programming Language", 3999, 2, day(0))).await;
    app.execute(order_id, add_item("MUG-7", "Ferris mug", 1250, 1, day(0))).await;
    app.execute(order_id, add_item("PEN-3", "Fountain pen", 500, 1, day(0))).await;
    app.execute(order_id, remove_item("PEN-3", day(0))).await;
    app.execute(order_id, change_quantity("MUG-7", 3, day(0))).await;
    app.execute(order_id, set_address("Ada Lovelace", "London", "GB", day(0))).await;
    app.execute(order_id, place(day(1))).await;
    app.execute(order_id, pay(2 * 3999 + 3 * 1250, "EUR", day(2))).await;
    app.execute(order_id, ship(day(3))).await;
    let checkpoint = app.project_views().await;

    let read = app.client.get_order(order_id, &ReadOptions::default()).await.expect("the order is served");
    assert_eq!(read.etag.as_deref(), Some("\"10\""));
    assert_eq!(read.consistency_token, Some(checkpoint.to_string()));
    let order = read.into_body().expect("a body");
    assert_eq!((order.order_id, order.customer_id), (order_id, customer_id));
    assert_eq!(order.status, "shipped");
    assert_eq!(order.version, 10);
    assert_eq!(order.currency, "EUR");
    assert_eq!((order.item_count, order.line_count), (5, 2));
    assert_eq!(order.total_minor, 2 * 3999 + 3 * 1250);
    assert_eq!(order.paid_minor, order.total_minor);
    let lines: Vec<(i32, &str, i32, i64)> = order
        .lines
        .iter()
        .map(|line| (line.line_no, line.sku.as_str(), line.quantity, line.line_total_minor))
        .collect();
    assert_eq!(lines, [(1, "BOOK-1", 2, 7998), (2, "MUG-7", 3, 3750)]);
    let address = order.shipping_address.expect("an address");
    assert_eq!((address.city.as_str(), address.country.as_str()), ("London", "GB"));
    assert_eq!(order.created_at, day(0));
    assert_eq!(order.placed_at, Some(day(1)));
    assert_eq!(order.paid_at, Some(day(2)));
    assert_eq!(order.shipped_at, Some(day(3)));
    assert_eq!(order.updated_at, day(3));
    assert_eq!((order.carrier.as_deref(), order.payment_reference.as_deref()), (Some("DHL"), Some("PSP-4711")));
    app.clean_up().await;
}

#[sqlx::test(migrations = false)]
async fn an_unknown_order_is_a_404_problem_that_still_names_the_checkpoint(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let app = TestApp::spawn(options).await;
    let answer = get(&app.state, &format!("/orders/{}", Uuid::now_v7())).await;
    assert_problem(&answer, 404, "/problems/order-not-found");
    assert_eq!(answer.header("x-consistency-token"), Some("0:0"));
    app.clean_up().await;
}

#[sqlx::test(migrations = false)]
async fn a_malformed_order_id_or_an_unknown_parameter_is_a_400_problem(_: PgPoolOptions, options: PgConnectOptions) {
    let app = TestApp::spawn(options).await;
    assert_problem(&get(&app.state, "/orders/not-a-uuid").await, 400, "/problems/malformed-request");
    assert_problem(&get(&app.state, "/orders/12345").await, 400, "/problems/malformed-request");
    let problem = assert_problem(
        &get(&app.state, &format!("/orders/{}?verbose=1", Uuid::now_v7())).await,
        400,
        "/problems/invalid-parameter",
    );
    assert_eq!(problem.errors.expect("field errors")[0].field, "/verbose");
    app.clean_up().await;
}

#[sqlx::test(migrations = false)]
async fn a_conditional_get_with_the_current_etag_is_a_304_until_the_order_changes(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let app = TestApp::spawn(options).await;
    let order_id = app.placed_order(Uuid::now_v7(), "EUR", "Paris", &[("BOOK-1", "Book", 1000, 1)], day(0)).await;
    app.project_views().await;
    let first = app.client.get_order(order_id, &ReadOptions::default()).await.expect("served");
    let etag = first.etag.clone().expect("an ETag");

    let unchanged = app.client.get_order(order_id, &ReadOptions::if_none_match(etag.clone())).await.expect("answered");
    assert_eq!(unchanged.status, 304);
    assert!(unchanged.body.is_none());
    assert_eq!(unchanged.etag.as_deref(), Some(etag.as_str()));
    assert!(unchanged.consistency_token.is_some());
    let weak =
        app.client.get_order(order_id, &ReadOptions::if_none_match(format!("W/{etag}"))).await.expect("answered");
    assert_eq!(weak.status, 304);

    app.execute(order_id, pay(1000, "EUR", day(1))).await;
    app.project_views().await;
    let changed = app.client.get_order(order_id, &ReadOptions::if_none_match(etag.clone())).await.expect("answered");
    assert_eq!(changed.status, 200);
    assert_ne!(changed.etag, Some(etag));
    assert_eq!(changed.into_body().expect("a body").status, "paid");
    app.clean_up().await;
}
