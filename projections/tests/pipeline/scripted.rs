//! A scripted order history, run end to end (event store → relay → JetStream → projectors), produces
//! exactly the expected rows and documents.

use elasticsearch::SearchParts;
use projections::{read_checkpoint, ORDER_SEARCH, ORDER_VIEWS};
use serde_json::{json, Value};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use uuid::Uuid;

use crate::helpers::*;

/// `order_id, status, currency, item_count, line_count, total, paid, refunded, refund due, version`.
type SummaryRow = (Uuid, String, String, i32, i32, i64, i64, i64, i64, i64);
/// `order_id, address_line1, address_line2, city, country`.
type AddressRow = (Uuid, Option<String>, Option<String>, Option<String>, Option<String>);
/// `sales_date, currency`, then the eight figures in column order.
type SalesRow = (chrono::NaiveDate, String, i64, i64, i64, i64, i64, i64, i64, i64);

async fn search_ids(env: &TestEnv, query: Value) -> Vec<String> {
    let response: Value = env
        .search
        .client()
        .search(SearchParts::Index(&[env.search.alias()]))
        .body(json!({ "query": query, "sort": [{ "order_id": "asc" }] }))
        .send()
        .await
        .expect("search is sent")
        .json()
        .await
        .expect("search answers JSON");
    response["hits"]["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .map(|hit| hit["_id"].as_str().expect("an id").to_owned())
        .collect()
}

fn sorted(mut ids: Vec<Uuid>) -> Vec<String> {
    ids.sort();
    ids.iter().map(Uuid::to_string).collect()
}

#[sqlx::test(migrations = false)]
async fn a_scripted_history_produces_exactly_the_expected_rows_and_documents(
    pool_options: PgPoolOptions,
    connect_options: PgConnectOptions,
) {
    let env = TestEnv::new(pool_options, connect_options).await;
    let pipeline = env.start_pipeline();

    let (x, y) = (Uuid::now_v7(), Uuid::now_v7());
    let a = OrderScript::create(x, "EUR", day(3))
        .add("SKU-TEA", "Blue Teapot", 1_250, 2)
        .add("SKU-MUG", "Green Mug", 450, 1)
        .change("SKU-MUG", 3)
        .address_v1("10 Downing St", "London", "GB")
        .place()
        .pay()
        .ship()
        .deliver();
    let b = OrderScript::create(x, "EUR", day(3))
        .add("SKU-PEN", "Fountain Pen", 3_000, 1)
        .add("SKU-INK", "Ink Bottle", 500, 2)
        .remove("SKU-INK")
        .address("Berlin", "DE")
        .place()
        .pay()
        .cancel("paid")
        .refund("cancelled");
    let c = OrderScript::create(y, "USD", day(4)).add("SKU-TEA", "Blue Teapot", 1_500, 1).cancel("draft");
    let token = append_interleaved(&env.store, &[a.clone(), b.clone(), c.clone()]).await;
    env.wait_for_both(token).await;
    assert_eq!(
        read_checkpoint(&env.pool, ORDER_VIEWS).await.expect("reads"),
        token,
        "the checkpoint is the last token"
    );
    assert_eq!(read_checkpoint(&env.pool, ORDER_SEARCH).await.expect("reads"), token);

    let summary: Vec<SummaryRow> = sqlx::query_as(
        "SELECT order_id, status, currency, item_count, line_count, total_minor, paid_minor, refunded_minor, \
           refund_due_minor, version FROM projections.order_summary ORDER BY order_id",
    )
    .fetch_all(&env.pool)
    .await
    .expect("summary reads");
    let mut expected = vec![
        (a.order_id, "delivered".to_owned(), "EUR".to_owned(), 5, 2, 3_850, 3_850, 0, 0, 9),
        (b.order_id, "refunded".to_owned(), "EUR".to_owned(), 1, 1, 3_000, 3_000, 3_000, 0, 9),
        (c.order_id, "cancelled".to_owned(), "USD".to_owned(), 1, 1, 1_500, 0, 0, 0, 3),
    ];
    expected.sort_by_key(|row| row.0);
    assert_eq!(summary, expected);
    let addresses: Vec<AddressRow> = sqlx::query_as(
        "SELECT order_id, address_line1, address_line2, city, country FROM projections.order_summary ORDER BY order_id",
    )
    .fetch_all(&env.pool)
    .await
    .expect("addresses read");
    let text = |value: &str| Some(value.to_owned());
    let mut expected = vec![
        (a.order_id, text("10 Downing St"), None, text("London"), text("GB")),
        (b.order_id, text("1 Harbour Street"), text("Floor 2"), text("Berlin"), text("DE")),
        (c.order_id, None, None, None, None),
    ];
    expected.sort_by_key(|row| row.0);
    assert_eq!(addresses, expected, "the v1 address is upcast into the address columns");

    let timestamps: (bool, bool, bool, bool) = sqlx::query_as(
        "SELECT placed_at IS NOT NULL, delivered_at > shipped_at, cancelled_at IS NULL, updated_at = delivered_at \
         FROM projections.order_summary WHERE order_id = $1",
    )
    .bind(a.order_id)
    .fetch_one(&env.pool)
    .await
    .expect("reads");
    assert_eq!(timestamps, (true, true, true, true));

    let lines: Vec<(Uuid, i32, String, String, i64, i32, i64)> = sqlx::query_as(
        "SELECT order_id, line_no, sku, name, unit_price_minor, quantity, line_total_minor FROM projections.order_lines \
         ORDER BY order_id, line_no",
    )
    .fetch_all(&env.pool)
    .await
    .expect("lines read");
    let mut expected_lines = vec![
        (a.order_id, 1, "SKU-TEA".into(), "Blue Teapot".into(), 1_250, 2, 2_500),
        (a.order_id, 2, "SKU-MUG".into(), "Green Mug".into(), 450, 3, 1_350),
        (b.order_id, 1, "SKU-PEN".into(), "Fountain Pen".into(), 3_000, 1, 3_000),
        (c.order_id, 1, "SKU-TEA".into(), "Blue Teapot".into(), 1_500, 1, 1_500),
    ];
    expected_lines.sort_by_key(|row| (row.0, row.1));
    assert_eq!(lines, expected_lines);

    let figures: Vec<(Uuid, String, i64, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT customer_id, currency, orders_placed, orders_cancelled, paid_minor, refunded_minor, lifetime_value_minor \
         FROM projections.customer_figures",
    )
    .fetch_all(&env.pool)
    .await
    .expect("figures read");
    assert_eq!(figures, vec![(x, "EUR".to_owned(), 2, 1, 6_850, 3_000, 3_850)], "a cancelled draft is no order");

    let sales: Vec<SalesRow> = sqlx::query_as(
        "SELECT sales_date, currency, orders_placed, placed_value_minor, payments, revenue_minor, orders_cancelled, \
           cancelled_value_minor, refunds, refunded_minor FROM projections.daily_sales",
    )
    .fetch_all(&env.pool)
    .await
    .expect("sales read");
    assert_eq!(sales, vec![(day(3).date_naive(), "EUR".to_owned(), 2, 6_850, 2, 6_850, 1, 3_000, 1, 3_000)]);

    let documents = dump_search(&env.search).await;
    let documents = documents.as_array().expect("documents");
    assert_eq!(documents.len(), 3);
    let document_of = |order_id: Uuid| {
        documents.iter().find(|document| document["source"]["order_id"] == order_id.to_string()).expect("a document")
    };
    assert_eq!(document_of(a.order_id)["version"], 9, "the document version is the stream version");
    assert_eq!(document_of(a.order_id)["source"]["status"], "delivered");
    assert_eq!(document_of(a.order_id)["source"]["items"][1]["quantity"], 3);
    assert_eq!(document_of(c.order_id)["version"], 3);

    assert_eq!(
        search_ids(&env, json!({ "match": { "items.name": "teapot" } })).await,
        sorted(vec![a.order_id, c.order_id])
    );
    assert_eq!(search_ids(&env, json!({ "term": { "items.sku": "SKU-PEN" } })).await, sorted(vec![b.order_id]));
    assert_eq!(
        search_ids(&env, json!({ "match": { "items.sku.text": { "query": "sku-mug", "operator": "and" } } })).await,
        sorted(vec![a.order_id])
    );
    assert_eq!(search_ids(&env, json!({ "match": { "city": "london" } })).await, sorted(vec![a.order_id]));
    assert_eq!(search_ids(&env, json!({ "term": { "country": "DE" } })).await, sorted(vec![b.order_id]));
    assert_eq!(
        search_ids(&env, json!({ "term": { "customer_id": x.to_string() } })).await,
        sorted(vec![a.order_id, b.order_id])
    );
    assert_eq!(
        search_ids(&env, json!({ "range": { "total_minor": { "gte": 3_000 } } })).await,
        sorted(vec![a.order_id, b.order_id])
    );

    pipeline.stop().await;
    env.clean_up().await;
}
