//! `GET /orders` and the customer routes: filters, keyset pagination under concurrent inserts, limits,
//! and the 400 problems for bad filters, cursors and timestamps; `GET /stats/daily`.

use std::collections::HashSet;

use chrono::NaiveDate;
use query_api::client::OrderQuery;
use query_api::client::ReadOptions;
use sqlx::postgres::PgConnectOptions;
use sqlx::postgres::PgPoolOptions;
use uuid::Uuid;

use crate::helpers::assert_problem;
use crate::helpers::cancel;
use crate::helpers::create;
use crate::helpers::day;
use crate::helpers::encode;
use crate::helpers::get;
use crate::helpers::pay;
use crate::helpers::refund;
use crate::helpers::TestApp;

fn ids(page: &query_api::OrderPage) -> Vec<Uuid> {
    page.items.iter().map(|order| order.order_id).collect()
}

#[sqlx::test(migrations = false)]
async fn filters_select_by_status_customer_currency_and_placing_time(_: PgPoolOptions, options: PgConnectOptions) {
    let app = TestApp::spawn(options).await;
    let (alice, bob) = (Uuid::now_v7(), Uuid::now_v7());
    let book = [("BOOK-1", "Book", 1000, 1)];
    let placed_day_1 = app.placed_order(alice, "EUR", "Berlin", &book, day(1)).await;
    let paid_day_2 = app.placed_order(alice, "EUR", "Berlin", &book, day(2)).await;
    app.execute(paid_day_2, pay(1000, "EUR", day(2))).await;
    let usd_day_3 = app.placed_order(bob, "USD", "Boston", &book, day(3)).await;
    let draft = Uuid::now_v7();
    app.execute(draft, create(draft, bob, "EUR", day(4))).await;
    app.project_views().await;

    let list = |query: OrderQuery| {
        let client = app.client.clone();
        async move {
            ids(&client
                .list_orders(&query, &ReadOptions::default())
                .await
                .expect("listed")
                .into_body()
                .expect("a body"))
        }
    };
    assert_eq!(list(OrderQuery::default()).await, [draft, usd_day_3, paid_day_2, placed_day_1], "newest first");
    assert_eq!(list(OrderQuery { status: Some("paid".into()), ..OrderQuery::default() }).await, [paid_day_2]);
    assert_eq!(
        list(OrderQuery { status: Some("placed,draft".into()), ..OrderQuery::default() }).await,
        [draft, usd_day_3, placed_day_1]
    );
    assert_eq!(
        list(OrderQuery { customer_id: Some(alice), ..OrderQuery::default() }).await,
        [paid_day_2, placed_day_1]
    );
    assert_eq!(list(OrderQuery { currency: Some("USD".into()), ..OrderQuery::default() }).await, [usd_day_3]);
    assert_eq!(
        list(OrderQuery { placed_from: Some(day(2)), placed_to: Some(day(3)), ..OrderQuery::default() }).await,
        [paid_day_2],
        "placed_from is inclusive, placed_to exclusive, drafts have no placing time"
    );
    let combined = OrderQuery {
        customer_id: Some(bob),
        status: Some("placed".into()),
        currency: Some("USD".into()),
        ..OrderQuery::default()
    };
    assert_eq!(list(combined).await, [usd_day_3]);
    assert!(list(OrderQuery { status: Some("refunded".into()), ..OrderQuery::default() }).await.is_empty());
    app.clean_up().await;
}

/// The sort key never changes for an order, so a client paging forward sees every order that existed when
/// it started exactly once, however many orders arrive between its pages.
#[sqlx::test(migrations = false)]
async fn pages_follow_the_cursor_without_duplicates_or_gaps_while_new_orders_keep_arriving(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let app = TestApp::spawn(options).await;
    let customer_id = Uuid::now_v7();
    let mut existing = Vec::new();
    for index in 0..23 {
        let order_id = Uuid::now_v7();
        // Several orders share a creation time, so the order id has to break ties.
        app.execute(order_id, create(order_id, customer_id, "EUR", day(index / 3))).await;
        existing.push(order_id);
    }
    app.project_views().await;

    let mut seen = Vec::new();
    let mut cursor = None;
    let mut arrivals = 0;
    loop {
        let query = OrderQuery { limit: Some(4), cursor: cursor.clone(), ..OrderQuery::default() };
        let page =
            app.client.list_orders(&query, &ReadOptions::default()).await.expect("listed").into_body().expect("a body");
        assert!(page.items.len() <= 4);
        seen.extend(ids(&page));
        // New orders arrive between pages: some created now, some with an old creation time.
        for created in [day(30 + arrivals), day(-1)] {
            let order_id = Uuid::now_v7();
            app.execute(order_id, create(order_id, customer_id, "EUR", created)).await;
        }
        arrivals += 1;
        app.project_views().await;
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let unique: HashSet<Uuid> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "no order is listed twice");
    for order_id in &existing {
        assert!(unique.contains(order_id), "order {order_id} that existed at the start was skipped");
    }
    let newest_first: Vec<Uuid> = {
        let mut sorted = existing.clone();
        sorted.sort_by_key(|order_id| {
            std::cmp::Reverse((existing.iter().position(|id| id == order_id).map(|index| index / 3), *order_id))
        });
        sorted
    };
    let seen_existing: Vec<Uuid> = seen.iter().copied().filter(|order_id| existing.contains(order_id)).collect();
    assert_eq!(seen_existing, newest_first, "pages follow created_at, then order id, descending");
    app.clean_up().await;
}

#[sqlx::test(migrations = false)]
async fn page_sizes_default_to_50_and_are_bounded_by_200(_: PgPoolOptions, options: PgConnectOptions) {
    let app = TestApp::spawn(options).await;
    let customer_id = Uuid::now_v7();
    for _ in 0..52 {
        let order_id = Uuid::now_v7();
        app.execute(order_id, create(order_id, customer_id, "EUR", day(0))).await;
    }
    app.project_views().await;
    let page = app
        .client
        .list_orders(&OrderQuery::default(), &ReadOptions::default())
        .await
        .expect("listed")
        .into_body()
        .expect("a body");
    assert_eq!((page.items.len(), page.limit), (50, 50));
    assert!(page.next_cursor.is_some());
    let all = OrderQuery { limit: Some(200), ..OrderQuery::default() };
    let page =
        app.client.list_orders(&all, &ReadOptions::default()).await.expect("listed").into_body().expect("a body");
    assert_eq!(page.items.len(), 52);
    assert_eq!(page.next_cursor, None, "the last page has no cursor");
    for limit in ["0", "201", "-1", "ten", "1e3"] {
        let problem = assert_problem(
            &get(&app.state, &format!("/orders?limit={limit}")).await,
            400,
            "/problems/invalid-parameter",
        );
        assert_eq!(problem.errors.expect("field errors")[0].field, "/limit");
    }
    app.clean_up().await;
}

#[sqlx::test(migrations = false)]
async fn bad_filters_cursors_and_timestamps_are_400_problems(_: PgPoolOptions, options: PgConnectOptions) {
    let app = TestApp::spawn(options).await;
    for (query, parameter) in [
        ("status=lost", "/status"),
        ("status=paid,", "/status"),
        ("currency=eur", "/currency"),
        ("currency=EURO", "/currency"),
        ("customer_id=42", "/customer_id"),
        ("placed_from=yesterday", "/placed_from"),
        ("placed_from=2026-03-01", "/placed_from"),
        ("placed_to=2026-03-01T10:00:00", "/placed_to"),
        ("placed_from=2026-03-02T00:00:00Z&placed_to=2026-03-01T00:00:00Z", "/placed_to"),
        ("sort=price", "/sort"),
        ("status=paid&status=placed", "/status"),
    ] {
        let problem =
            assert_problem(&get(&app.state, &format!("/orders?{query}")).await, 400, "/problems/invalid-parameter");
        let fields: Vec<String> = problem.errors.expect("field errors").into_iter().map(|error| error.field).collect();
        assert_eq!(fields, [parameter], "{query}");
    }
    let several = assert_problem(
        &get(&app.state, "/orders?status=lost&limit=0&currency=x").await,
        400,
        "/problems/invalid-parameter",
    );
    assert_eq!(several.errors.map(|errors| errors.len()), Some(3), "every bad parameter is named at once");

    let search_cursor = {
        app.placed_order(Uuid::now_v7(), "EUR", "Rome", &[("A", "A", 1, 1)], day(0)).await;
        app.placed_order(Uuid::now_v7(), "EUR", "Rome", &[("A", "A", 1, 1)], day(0)).await;
        app.project_search().await;
        let query = query_api::client::SearchQuery { limit: Some(1), ..Default::default() };
        app.client
            .search_orders(&query, &ReadOptions::default())
            .await
            .expect("searched")
            .into_body()
            .expect("a body")
            .next_cursor
            .expect("a cursor")
    };
    for cursor in ["not base64!", "AAAA", "b3x8", &"QUFB".repeat(200), &search_cursor] {
        assert_problem(
            &get(&app.state, &format!("/orders?cursor={}", encode(cursor))).await,
            400,
            "/problems/invalid-cursor",
        );
    }
    app.clean_up().await;
}

#[sqlx::test(migrations = false)]
async fn customer_routes_list_the_orders_and_the_figures_of_one_customer(_: PgPoolOptions, options: PgConnectOptions) {
    let app = TestApp::spawn(options).await;
    let (customer_id, other) = (Uuid::now_v7(), Uuid::now_v7());
    let book = [("BOOK-1", "Book", 2500, 2)];
    let paid = app.placed_order(customer_id, "EUR", "Oslo", &book, day(1)).await;
    app.execute(paid, pay(5000, "EUR", day(1))).await;
    let cancelled = app.placed_order(customer_id, "EUR", "Oslo", &book, day(2)).await;
    app.execute(cancelled, cancel("changed my mind", day(2))).await;
    let refunded = app.placed_order(customer_id, "USD", "Oslo", &[("MUG-1", "Mug", 700, 1)], day(3)).await;
    app.execute(refunded, pay(700, "USD", day(3))).await;
    app.execute(refunded, cancel("out of stock", day(4))).await;
    app.execute(refunded, refund(None, day(5))).await;
    app.placed_order(other, "EUR", "Oslo", &book, day(1)).await;
    app.project_views().await;

    let page = app
        .client
        .customer_orders(customer_id, &OrderQuery::default(), &ReadOptions::default())
        .await
        .expect("listed")
        .into_body()
        .expect("a body");
    assert_eq!(ids(&page), [refunded, cancelled, paid]);
    let filtered = OrderQuery { status: Some("cancelled".into()), ..OrderQuery::default() };
    let page = app
        .client
        .customer_orders(customer_id, &filtered, &ReadOptions::default())
        .await
        .expect("listed")
        .into_body()
        .expect("a body");
    assert_eq!(ids(&page), [cancelled]);

    let read = app.client.get_customer(customer_id, &ReadOptions::default()).await.expect("served");
    assert!(read.etag.is_some());
    let customer = read.into_body().expect("a body");
    assert_eq!(customer.orders, 3);
    let figures: Vec<(&str, i64, i64, i64, i64, i64)> = customer
        .figures
        .iter()
        .map(|f| {
            (
                f.currency.as_str(),
                f.orders_placed,
                f.orders_cancelled,
                f.paid_minor,
                f.refunded_minor,
                f.lifetime_value_minor,
            )
        })
        .collect();
    assert_eq!(figures, [("EUR", 2, 1, 5000, 0, 5000), ("USD", 1, 1, 700, 700, 0)]);
    let eur = &customer.figures[0];
    assert_eq!((eur.first_order_at, eur.last_order_at), (Some(day(1)), Some(day(2))));

    let unknown = Uuid::now_v7();
    assert_problem(&get(&app.state, &format!("/customers/{unknown}")).await, 404, "/problems/customer-not-found");
    assert_problem(
        &get(&app.state, &format!("/customers/{unknown}/orders")).await,
        404,
        "/problems/customer-not-found",
    );
    assert_problem(&get(&app.state, "/customers/nobody/orders").await, 400, "/problems/malformed-request");
    let problem = assert_problem(
        &get(&app.state, &format!("/customers/{customer_id}/orders?customer_id={other}")).await,
        400,
        "/problems/invalid-parameter",
    );
    assert_eq!(problem.errors.expect("field errors")[0].field, "/customer_id");
    app.clean_up().await;
}

#[sqlx::test(migrations = false)]
async fn daily_sales_are_reported_per_day_and_currency_with_totals(_: PgPoolOptions, options: PgConnectOptions) {
    let app = TestApp::spawn(options).await;
    let customer_id = Uuid::now_v7();
    let first = app.placed_order(customer_id, "EUR", "Lyon", &[("A", "A", 1000, 1)], day(0)).await;
    app.execute(first, pay(1000, "EUR", day(1))).await;
    app.placed_order(customer_id, "EUR", "Lyon", &[("B", "B", 300, 2)], day(1)).await;
    let usd = app.placed_order(customer_id, "USD", "Lyon", &[("C", "C", 50, 1)], day(1)).await;
    app.execute(usd, cancel("duplicate", day(2))).await;
    app.placed_order(customer_id, "EUR", "Lyon", &[("D", "D", 99, 1)], day(10)).await;
    app.project_views().await;

    let (from, to) =
        (NaiveDate::from_ymd_opt(2026, 3, 1).expect("a date"), NaiveDate::from_ymd_opt(2026, 3, 3).expect("a date"));
    let read = app.client.daily_sales(from, to, &ReadOptions::default()).await.expect("served");
    assert!(read.etag.is_some() && read.consistency_token.is_some());
    let report = read.into_body().expect("a body");
    let days: Vec<(String, &str, i64, i64, i64, i64, i64)> = report
        .days
        .iter()
        .map(|d| {
            (
                d.date.to_string(),
                d.currency.as_str(),
                d.orders_placed,
                d.placed_value_minor,
                d.payments,
                d.revenue_minor,
                d.orders_cancelled,
            )
        })
        .collect();
    assert_eq!(
        days,
        [
            ("2026-03-01".to_owned(), "EUR", 1, 1000, 0, 0, 0),
            ("2026-03-02".to_owned(), "EUR", 1, 600, 1, 1000, 0),
            ("2026-03-02".to_owned(), "USD", 1, 50, 0, 0, 0),
            ("2026-03-03".to_owned(), "USD", 0, 0, 0, 0, 1),
        ]
    );
    let totals: Vec<(&str, i64, i64, i64)> = report
        .totals
        .iter()
        .map(|t| (t.currency.as_str(), t.orders_placed, t.placed_value_minor, t.revenue_minor))
        .collect();
    assert_eq!(totals, [("EUR", 2, 1600, 1000), ("USD", 1, 50, 0)]);

    for (query, parameter) in [
        ("from=2026-03-01", "/to"),
        ("to=2026-03-01", "/from"),
        ("from=2026-03-05&to=2026-03-01", "/to"),
        ("from=2026-13-01&to=2026-03-01", "/from"),
        ("from=01.03.2026&to=2026-03-01", "/from"),
        ("from=2026-01-01&to=2027-01-02", "/to"),
    ] {
        let problem = assert_problem(
            &get(&app.state, &format!("/stats/daily?{query}")).await,
            400,
            "/problems/invalid-parameter",
        );
        let fields: Vec<String> = problem.errors.expect("field errors").into_iter().map(|error| error.field).collect();
        assert!(fields.contains(&parameter.to_owned()), "{query}: {fields:?}");
    }
    let empty = app
        .client
        .daily_sales(from - chrono::Duration::days(30), from - chrono::Duration::days(1), &ReadOptions::default())
        .await;
    assert!(empty.expect("served").into_body().expect("a body").days.is_empty());
    app.clean_up().await;
}
