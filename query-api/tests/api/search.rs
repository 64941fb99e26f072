//! `GET /search/orders`: full text over item names, skus, customer and city, filters, pagination, and
//! hostile input that must give results or a clean 400, never a 500.

use std::collections::HashSet;

use query_api::client::ReadOptions;
use query_api::client::SearchQuery;
use sqlx::postgres::PgConnectOptions;
use sqlx::postgres::PgPoolOptions;
use uuid::Uuid;

use crate::helpers::assert_problem;
use crate::helpers::day;
use crate::helpers::encode;
use crate::helpers::get;
use crate::helpers::pay;
use crate::helpers::TestApp;

async fn found(app: &TestApp, query: SearchQuery) -> Vec<Uuid> {
    let page =
        app.client.search_orders(&query, &ReadOptions::default()).await.expect("searched").into_body().expect("a body");
    page.items.iter().map(|hit| hit.order_id).collect()
}

#[sqlx::test(migrations = false)]
async fn search_finds_orders_by_item_name_sku_customer_and_city(_: PgPoolOptions, options: PgConnectOptions) {
    let app = TestApp::spawn(options).await;
    let (alice, bob) = (Uuid::now_v7(), Uuid::now_v7());
    let rust_book = app
        .placed_order(alice, "EUR", "Berlin", &[("BOOK-RUST", "The Rust Programming Language", 3999, 1)], day(1))
        .await;
    let mug = app.placed_order(bob, "EUR", "Hamburg", &[("MUG-FERRIS", "Ferris coffee mug", 1250, 2)], day(2)).await;
    let both = app
        .placed_order(
            bob,
            "USD",
            "Berlin",
            &[("MUG-FERRIS", "Ferris coffee mug", 1250, 1), ("BOOK-GO", "The Go Programming Language", 3500, 1)],
            day(3),
        )
        .await;
    app.project_search().await;

    assert_eq!(found(&app, SearchQuery::text("rust")).await, [rust_book]);
    assert_eq!(
        HashSet::from_iter(found(&app, SearchQuery::text("programming language")).await),
        HashSet::from([rust_book, both])
    );
    assert_eq!(found(&app, SearchQuery::text("ferris berlin")).await, [both], "every word must match somewhere");
    assert_eq!(found(&app, SearchQuery::text("hamburg")).await, [mug]);
    assert_eq!(found(&app, SearchQuery::text("BOOK-RUST")).await, [rust_book], "an exact sku");
    assert_eq!(
        HashSet::from_iter(found(&app, SearchQuery::text(bob.to_string())).await),
        HashSet::from([mug, both]),
        "a customer id"
    );
    assert_eq!(
        HashSet::<Uuid>::from_iter(found(&app, SearchQuery::text("lovelace")).await).len(),
        3,
        "the recipient's name"
    );
    assert!(found(&app, SearchQuery::text("kangaroo")).await.is_empty());

    let hit = app.client.search_orders(&SearchQuery::text("go"), &ReadOptions::default()).await.expect("searched");
    assert!(hit.consistency_token.is_some());
    let page = hit.into_body().expect("a body");
    assert_eq!((page.total, page.total_is_exact), (1, true));
    let first = &page.items[0];
    assert_eq!(
        (first.order_id, first.status.as_str(), first.currency.as_str(), first.city.as_deref()),
        (both, "placed", "USD", Some("Berlin"))
    );
    assert_eq!(first.items.len(), 2);
    assert!(first.score.is_some_and(|score| score > 0.0));
    app.clean_up().await;
}

#[sqlx::test(migrations = false)]
async fn search_filters_narrow_the_hits_and_pages_do_not_repeat(_: PgPoolOptions, options: PgConnectOptions) {
    let app = TestApp::spawn(options).await;
    let (alice, bob) = (Uuid::now_v7(), Uuid::now_v7());
    let mut books = Vec::new();
    for index in 0..9 {
        let customer = if index % 2 == 0 { alice } else { bob };
        let currency = if index < 6 { "EUR" } else { "USD" };
        let order_id = app.placed_order(customer, currency, "Vienna", &[("BOOK-1", "Book", 1000, 1)], day(index)).await;
        if index % 3 == 0 {
            app.execute(order_id, pay(1000, currency, day(index))).await;
        }
        books.push(order_id);
    }
    app.project_search().await;

    let only = |query: SearchQuery| {
        let app = &app;
        async move { HashSet::<Uuid>::from_iter(found(app, query).await) }
    };
    assert_eq!(
        only(SearchQuery { status: Some("paid".into()), ..SearchQuery::text("book") }).await,
        HashSet::from([books[0], books[3], books[6]])
    );
    assert_eq!(
        only(SearchQuery { currency: Some("USD".into()), ..SearchQuery::default() }).await,
        HashSet::from([books[6], books[7], books[8]])
    );
    assert_eq!(
        only(SearchQuery { customer_id: Some(bob), currency: Some("USD".into()), ..SearchQuery::default() }).await,
        HashSet::from([books[7]])
    );
    assert_eq!(
        only(SearchQuery { placed_from: Some(day(2)), placed_to: Some(day(4)), ..SearchQuery::text("vienna") }).await,
        HashSet::from([books[2], books[3]])
    );
    assert_eq!(only(SearchQuery { country: Some("GB".into()), ..SearchQuery::default() }).await.len(), 9);
    assert!(only(SearchQuery { country: Some("FR".into()), ..SearchQuery::default() }).await.is_empty());

    for text in [None, Some("book vienna")] {
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let query = SearchQuery {
                q: text.map(str::to_owned),
                limit: Some(2),
                cursor: cursor.clone(),
                ..SearchQuery::default()
            };
            let page = app
                .client
                .search_orders(&query, &ReadOptions::default())
                .await
                .expect("searched")
                .into_body()
                .expect("a body");
            assert_eq!(page.total, 9);
            seen.extend(page.items.iter().map(|hit| hit.order_id));
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!(seen.len(), 9, "{text:?}: {seen:?}");
        assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 9, "{text:?}: no hit twice");
        if text.is_none() {
            let newest_first: Vec<Uuid> = books.iter().rev().copied().collect();
            assert_eq!(seen, newest_first, "without text the hits are newest first");
        }
    }

    let ranked_cursor = {
        let query = SearchQuery { limit: Some(1), ..SearchQuery::text("book") };
        app.client
            .search_orders(&query, &ReadOptions::default())
            .await
            .expect("searched")
            .into_body()
            .expect("a body")
            .next_cursor
            .expect("a cursor")
    };
    let answer = get(&app.state, &format!("/search/orders?cursor={}", encode(&ranked_cursor))).await;
    assert_problem(&answer, 400, "/problems/invalid-cursor");
    for query in [
        "status=lost",
        "currency=usd",
        "country=Deutschland",
        "customer_id=bob",
        "placed_from=soon",
        "limit=500",
        "page=2",
    ] {
        assert_problem(&get(&app.state, &format!("/search/orders?{query}")).await, 400, "/problems/invalid-parameter");
    }
    app.clean_up().await;
}

/// User text is a match query's value, never query-string syntax: operators, wildcards, quotes and
/// JSON are words like any other. Oversized input is a clean 400.
#[sqlx::test(migrations = false)]
async fn hostile_search_input_returns_results_or_a_clean_400_never_a_500(_: PgPoolOptions, options: PgConnectOptions) {
    let app = TestApp::spawn(options).await;
    let customer_id = Uuid::now_v7();
    app.placed_order(customer_id, "EUR", "Madrid", &[("BOOK-1", "Don Quixote", 1500, 1)], day(0)).await;
    app.placed_order(customer_id, "EUR", "Seville", &[("OR", "Orange juice", 300, 1)], day(1)).await;
    app.project_search().await;

    let long_word = "x".repeat(180);
    let many_words = vec!["book"; 33].join(" ");
    let accepted = [
        "*:*",
        "*",
        "?",
        "OR",
        "AND",
        "NOT book",
        "book OR quixote",
        "\"unbalanced",
        "quixote\"",
        "(((",
        "status:paid",
        "_id:*",
        "city:Madrid AND status:*",
        "{\"query\":{\"match_all\":{}}}",
        "{{}}[]",
        "\\",
        "\\\"",
        "/.*/",
        "quix~2",
        "a^100",
        "' OR 1=1 --",
        "<script>alert(1)</script>",
        "%00",
        "\u{0}",
        "\u{202e}txet",
        "🦀 🦀",
        "ÄÖÜ ß",
        &long_word,
    ];
    for text in accepted {
        let answer = get(&app.state, &format!("/search/orders?q={}", encode(text))).await;
        assert_eq!(answer.status, 200, "{text:?}: {}", String::from_utf8_lossy(&answer.body));
        let hits = answer.json()["items"].as_array().map(Vec::len).unwrap_or_default();
        if text.contains('*') && !text.contains("book") {
            assert_eq!(hits, 0, "{text:?} is not a wildcard");
        }
    }
    let match_all = found(&app, SearchQuery::text("{\"query\":{\"match_all\":{}}}")).await;
    assert!(match_all.is_empty(), "JSON in q is text, not a query");
    assert_eq!(found(&app, SearchQuery::text("OR")).await.len(), 1, "OR is a word (here: a sku)");

    for text in ["y".repeat(201), "z".repeat(10_000), many_words] {
        let problem = assert_problem(
            &get(&app.state, &format!("/search/orders?q={}", encode(&text))).await,
            400,
            "/problems/invalid-parameter",
        );
        assert_eq!(problem.errors.expect("field errors")[0].field, "/q");
    }
    let raw_garbage = get(&app.state, "/search/orders?q=%ZZ%").await;
    assert!(raw_garbage.status == 200 || raw_garbage.status == 400, "{}", raw_garbage.status);
    app.clean_up().await;
}
