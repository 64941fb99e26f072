//! Benchmark of the query API: seeds a scratch database and a scratch search index with synthetic orders
//! (bulk SQL into the view tables, `_bulk` into Elasticsearch: the projections are not what is measured),
//! serves the query API in-process as the read-only role, and drives it over loopback HTTP.
//!
//! It prints throughput and p50/p99 latency of GET by id and of listings at concurrency 8 and 32, and of
//! searches, then drops the scratch database and index. Needs `DATABASE_URL` (a role with CREATEDB, as
//! `scripts/stack env` exports) and `ELASTICSEARCH_URL`.
//!
//! `cargo run --release -p query-api --example query-bench -- --orders 100000 --seconds 8`

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;
use std::time::Instant;

use anyhow::Context;
use chrono::DateTime;
use chrono::Utc;
use clap::Parser;
use elasticsearch::http::request::JsonBody;
use elasticsearch::http::transport::Transport;
use elasticsearch::indices::IndicesCreateParts;
use elasticsearch::indices::IndicesDeleteParts;
use elasticsearch::indices::IndicesPutSettingsParts;
use elasticsearch::indices::IndicesRefreshParts;
use elasticsearch::BulkParts;
use elasticsearch::Elasticsearch;
use hdrhistogram::Histogram;
use projections::LineView;
use projections::OrderStatus;
use projections::OrderView;
use projections::SearchIndex;
use query_api::client::OrderQuery;
use query_api::client::QueryClient;
use query_api::client::ReadOptions;
use query_api::client::SearchQuery;
use rand::rngs::StdRng;
use rand::Rng;
use rand::SeedableRng;
use serde_json::json;
use serde_json::Value;
use sqlx::postgres::PgConnectOptions;
use sqlx::postgres::PgPoolOptions;
use sqlx::ConnectOptions;
use sqlx::PgPool;
use uuid::Uuid;

#[derive(Debug, Parser)]
#[command(name = "query-bench", about = "Throughput and latency of the query API on a seeded data set")]
struct Options {
    /// Orders to seed.
    #[arg(long, default_value_t = 100_000)]
    orders: usize,
    /// Seconds of load per measurement.
    #[arg(long, default_value_t = 8)]
    seconds: u64,
    /// Keep the scratch database and index (their names are printed).
    #[arg(long)]
    keep: bool,
    /// Postgres connection pool size of the service.
    #[arg(long, default_value_t = 16)]
    db_connections: u32,
}

const STATUSES: [OrderStatus; 7] = [
    OrderStatus::Draft,
    OrderStatus::Placed,
    OrderStatus::Paid,
    OrderStatus::Shipped,
    OrderStatus::Delivered,
    OrderStatus::Cancelled,
    OrderStatus::Refunded,
];
const COLOURS: [&str; 12] =
    ["red", "blue", "green", "black", "white", "yellow", "orange", "purple", "silver", "golden", "grey", "pink"];
const MATERIALS: [&str; 8] = ["ceramic", "wooden", "steel", "cotton", "leather", "glass", "bamboo", "wool"];
const PRODUCTS: [&str; 16] = [
    "mug", "teapot", "notebook", "backpack", "lamp", "scarf", "kettle", "chair", "blanket", "bottle", "wallet",
    "umbrella", "vase", "pillow", "clock", "bowl",
];
const CITIES: [&str; 20] = [
    "Berlin",
    "Hamburg",
    "Munich",
    "Vienna",
    "Zurich",
    "Paris",
    "Lyon",
    "Madrid",
    "Seville",
    "Lisbon",
    "Rome",
    "Milan",
    "London",
    "Dublin",
    "Oslo",
    "Stockholm",
    "Helsinki",
    "Prague",
    "Warsaw",
    "Amsterdam",
];
const NAMES: [&str; 12] =
    ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Ken", "Frances", "Niklaus", "Radia", "Tony"];

struct Seeded {
    order_ids: Vec<Uuid>,
    customer_ids: Vec<Uuid>,
}

fn synthetic_orders(count: usize, rng: &mut StdRng) -> (Vec<OrderView>, Vec<Uuid>) {
    let customers: Vec<Uuid> = (0..(count / 8).max(1)).map(|_| Uuid::from_u128(rng.random())).collect();
    let start = Utc::now() - chrono::Duration::days(365);
    let mut orders = Vec::with_capacity(count);
    for index in 0..count {
        let created_at =
            start + chrono::Duration::seconds(index as i64 * 31_536_000 / count as i64 + rng.random_range(0..60));
        let status = STATUSES[rng.random_range(0..STATUSES.len())];
        let currency = ["EUR", "EUR", "EUR", "USD", "GBP"][rng.random_range(0..5)].to_owned();
        let lines = rng.random_range(1..=4);
        let mut items = Vec::with_capacity(lines);
        for line in 0..lines {
            let (colour, material, product) = (
                COLOURS[rng.random_range(0..COLOURS.len())],
                MATERIALS[rng.random_range(0..MATERIALS.len())],
                PRODUCTS[rng.random_range(0..PRODUCTS.len())],
            );
            let unit_price_minor = rng.random_range(100..20_000);
            let quantity = rng.random_range(1..=5);
            items.push(LineView {
                sku: format!("{}-{}-{line}", &product.to_uppercase(), rng.random_range(100..999)),
                name: format!("{colour} {material} {product}"),
                unit_price_minor,
                quantity,
                line_total_minor: unit_price_minor * i64::from(quantity),
                version: 2 + line as i64,
            });
        }
        let total_minor = items.iter().map(|item| item.line_total_minor).sum();
        let placed = status != OrderStatus::Draft;
        let paid =
            matches!(status, OrderStatus::Paid | OrderStatus::Shipped | OrderStatus::Delivered | OrderStatus::Refunded);
        let at = |minutes: i64, yes: bool| yes.then(|| created_at + chrono::Duration::minutes(minutes));
        let version = lines as i64 + if placed { 3 } else { 1 } + i64::from(paid);
        orders.push(OrderView {
            order_id: Uuid::from_u128(rng.random()),
            customer_id: customers[rng.random_range(0..customers.len())],
            status,
            currency,
            item_count: items.iter().map(|item| item.quantity).sum(),
            line_count: lines as i32,
            total_minor,
            paid_minor: if paid { total_minor } else { 0 },
            refund_due_minor: 0,
            refunded_minor: if status == OrderStatus::Refunded { total_minor } else { 0 },
            items,
            recipient_name: placed.then(|| {
                format!("{} {}", NAMES[rng.random_range(0..NAMES.len())], NAMES[rng.random_range(0..NAMES.len())])
            }),
            address_line1: placed.then(|| format!("{} Main Street", rng.random_range(1..300))),
            address_line2: None,
            city: placed.then(|| CITIES[rng.random_range(0..CITIES.len())].to_owned()),
            region: None,
            postal_code: placed.then(|| format!("{:05}", rng.random_range(1000..99_999))),
            country: placed.then(|| "DE".to_owned()),
            payment_reference: paid.then(|| format!("PSP-{index}")),
            carrier: matches!(status, OrderStatus::Shipped | OrderStatus::Delivered).then(|| "DHL".to_owned()),
            tracking_number: matches!(status, OrderStatus::Shipped | OrderStatus::Delivered)
                .then(|| format!("JD{index:010}")),
            cancel_reason: (status == OrderStatus::Cancelled).then(|| "customer request".to_owned()),
            refund_reason: (status == OrderStatus::Refunded).then(|| "damaged".to_owned()),
            created_at,
            placed_at: at(10, placed),
            paid_at: at(20, paid),
            shipped_at: at(60, matches!(status, OrderStatus::Shipped | OrderStatus::Delivered)),
            delivered_at: at(2_000, status == OrderStatus::Delivered),
            cancelled_at: at(30, status == OrderStatus::Cancelled),
            refunded_at: at(3_000, status == OrderStatus::Refunded),
            updated_at: created_at + chrono::Duration::minutes(5),
            version,
            last_position: index as i64 + 1,
        });
    }
    (orders, customers)
}

async fn seed_postgres(pool: &PgPool, orders: &[OrderView]) -> anyhow::Result<()> {
    for chunk in orders.chunks(5_000) {
        let column = |f: &dyn Fn(&OrderView) -> Option<String>| chunk.iter().map(f).collect::<Vec<Option<String>>>();
        let time = |f: &dyn Fn(&OrderView) -> Option<DateTime<Utc>>| chunk.iter().map(f).collect::<Vec<_>>();
        sqlx::query(
            "INSERT INTO projections.order_summary (order_id, customer_id, status, currency, item_count, line_count, \
               total_minor, paid_minor, refunded_minor, recipient_name, address_line1, city, postal_code, country, \
               payment_reference, carrier, tracking_number, cancel_reason, refund_reason, created_at, placed_at, paid_at, \
               shipped_at, delivered_at, cancelled_at, refunded_at, updated_at, version, last_position) \
             SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::int4[], $6::int4[], $7::int8[], \
               $8::int8[], $9::int8[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], \
               $16::text[], $17::text[], $18::text[], $19::text[], $20::timestamptz[], $21::timestamptz[], \
               $22::timestamptz[], $23::timestamptz[], $24::timestamptz[], $25::timestamptz[], $26::timestamptz[], \
               $27::timestamptz[], $28::int8[], $29::int8[])",
        )
        .bind(chunk.iter().map(|o| o.order_id).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.customer_id).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.status.as_str()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.currency.clone()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.item_count).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.line_count).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.total_minor).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.paid_minor).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.refunded_minor).collect::<Vec<_>>())
        .bind(column(&|o| o.recipient_name.clone()))
        .bind(column(&|o| o.address_line1.clone()))
        .bind(column(&|o| o.city.clone()))
        .bind(column(&|o| o.postal_code.clone()))
        .bind(column(&|o| o.country.clone()))
        .bind(column(&|o| o.payment_reference.clone()))
        .bind(column(&|o| o.carrier.clone()))
        .bind(column(&|o| o.tracking_number.clone()))
        .bind(column(&|o| o.cancel_reason.clone()))
        .bind(column(&|o| o.refund_reason.clone()))
        .bind(chunk.iter().map(|o| o.created_at).collect::<Vec<_>>())
        .bind(time(&|o| o.placed_at))
        .bind(time(&|o| o.paid_at))
        .bind(time(&|o| o.shipped_at))
        .bind(time(&|o| o.delivered_at))
        .bind(time(&|o| o.cancelled_at))
        .bind(time(&|o| o.refunded_at))
        .bind(chunk.iter().map(|o| o.updated_at).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.version).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.last_position).collect::<Vec<_>>())
        .execute(pool)
        .await
        .context("inserting order summaries")?;
        let lines: Vec<(&OrderView, usize, &LineView)> =
            chunk.iter().flat_map(|o| o.items.iter().enumerate().map(move |(index, line)| (o, index, line))).collect();
        sqlx::query(
            "INSERT INTO projections.order_lines (order_id, sku, line_no, name, unit_price_minor, quantity, \
               line_total_minor, currency, version) \
             SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::int4[], $4::text[], $5::int8[], $6::int4[], $7::int8[], \
               $8::text[], $9::int8[])",
        )
        .bind(lines.iter().map(|(o, _, _)| o.order_id).collect::<Vec<_>>())
        .bind(lines.iter().map(|(_, _, l)| l.sku.clone()).collect::<Vec<_>>())
        .bind(lines.iter().map(|(_, index, _)| *index as i32 + 1).collect::<Vec<_>>())
        .bind(lines.iter().map(|(_, _, l)| l.name.clone()).collect::<Vec<_>>())
        .bind(lines.iter().map(|(_, _, l)| l.unit_price_minor).collect::<Vec<_>>())
        .bind(lines.iter().map(|(_, _, l)| l.quantity).collect::<Vec<_>>())
        .bind(lines.iter().map(|(_, _, l)| l.line_total_minor).collect::<Vec<_>>())
        .bind(lines.iter().map(|(o, _, _)| o.currency.clone()).collect::<Vec<_>>())
        .bind(lines.iter().map(|(_, _, l)| l.version).collect::<Vec<_>>())
        .execute(pool)
        .await
        .context("inserting order lines")?;
    }
    for statement in [
        "INSERT INTO projections.customer_figures (customer_id, currency, orders_placed, orders_cancelled, paid_minor, \
           refunded_minor, lifetime_value_minor, first_order_at, last_order_at) \
         SELECT customer_id, currency, count(*) FILTER (WHERE placed_at IS NOT NULL), \
           count(*) FILTER (WHERE status = 'cancelled'), sum(paid_minor), sum(refunded_minor), \
           sum(paid_minor) - sum(refunded_minor), min(placed_at), max(placed_at) \
         FROM projections.order_summary GROUP BY customer_id, currency",
        "INSERT INTO projections.daily_sales (sales_date, currency, orders_placed, placed_value_minor, payments, revenue_minor) \
         SELECT (placed_at AT TIME ZONE 'UTC')::date, currency, count(*), sum(total_minor), \
           count(*) FILTER (WHERE paid_at IS NOT NULL), sum(paid_minor) \
         FROM projections.order_summary WHERE placed_at IS NOT NULL GROUP BY 1, 2",
        "INSERT INTO projections.checkpoints (name, transaction_id, position) VALUES ('order_views', 1, 1), ('order_search', 1, 1)",
        "ANALYZE projections.order_summary",
        "ANALYZE projections.order_lines",
    ] {
        sqlx::query(statement).execute(pool).await.with_context(|| format!("running {statement}"))?;
    }
    Ok(())
}

async fn seed_search(client: &Elasticsearch, index: &str, alias: &str, orders: &[OrderView]) -> anyhow::Result<()> {
    let mut definition = SearchIndex::index_definition("-1");
    definition["aliases"] = json!({ alias: {} });
    let response = client.indices().create(IndicesCreateParts::Index(index)).body(definition).send().await?;
    anyhow::ensure!(response.status_code().is_success(), "creating {index}: {}", response.text().await?);
    for chunk in orders.chunks(2_000) {
        let mut body: Vec<JsonBody<Value>> = Vec::with_capacity(chunk.len() * 2);
        for order in chunk {
            body.push(
                json!({ "index": { "_id": order.order_id, "version": order.version, "version_type": "external" } })
                    .into(),
            );
            body.push(serde_json::to_value(order)?.into());
        }
        let response = client.bulk(BulkParts::Index(index)).body(body).send().await?;
        let status = response.status_code();
        let answer: Value = response.json().await?;
        anyhow::ensure!(
            status.is_success() && answer["errors"] == json!(false),
            "bulk indexing failed: {}",
            answer.to_string().chars().take(500).collect::<String>()
        );
    }
    client
        .indices()
        .put_settings(IndicesPutSettingsParts::Index(&[index]))
        .body(json!({ "index": { "refresh_interval": "1s" } }))
        .send()
        .await?;
    client.indices().refresh(IndicesRefreshParts::Index(&[index])).send().await?;
    Ok(())
}

/// One measurement: `concurrency` workers call `request` in a loop for `duration`.
async fn measure<F, Fut>(label: &str, concurrency: usize, duration: Duration, request: F) -> anyhow::Result<()>
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let request = Arc::new(request);
    let histogram = Arc::new(Mutex::new(Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?));
    let failures = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let mut workers = Vec::new();
    for worker in 0..concurrency {
        let (request, histogram, failures) = (request.clone(), histogram.clone(), failures.clone());
        workers.push(tokio::spawn(async move {
            let mut local = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("valid bounds");
            let mut iteration = 0u64;
            while Instant::now() < deadline {
                let sent = Instant::now();
                if request(worker, iteration).await.is_err() {
                    failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                let _ = local.record(sent.elapsed().as_micros() as u64);
                iteration += 1;
            }
            histogram.lock().expect("not poisoned").add(&local).expect("same bounds");
        }));
    }
    for worker in workers {
        worker.await?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let histogram = histogram.lock().expect("not poisoned");
    println!(
        "{label:<34} c={concurrency:<3} {:>8.0} req/s   p50 {:>7.2} ms   p99 {:>7.2} ms   ({} requests, {} failed)",
        histogram.len() as f64 / elapsed,
        histogram.value_at_quantile(0.50) as f64 / 1000.0,
        histogram.value_at_quantile(0.99) as f64 / 1000.0,
        histogram.len(),
        failures.load(std::sync::atomic::Ordering::Relaxed),
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = Options::parse();
    let admin_url =
        std::env::var("DATABASE_URL").context("DATABASE_URL (a role with CREATEDB; see scripts/stack env)")?;
    let elasticsearch_url =
        std::env::var("ELASTICSEARCH_URL").unwrap_or_else(|_| query_api::DEFAULT_ELASTICSEARCH_URL.to_owned());
    let run_id = Uuid::new_v4().simple().to_string()[..12].to_owned();
    let database = format!("query_bench_{run_id}");
    let alias = format!("orders-bench-{run_id}");
    let index = format!("{alias}-v1");

    let admin_options: PgConnectOptions = admin_url.parse().context("parsing DATABASE_URL")?;
    let admin_options = admin_options.disable_statement_logging();
    let maintenance = PgPoolOptions::new().max_connections(1).connect_with(admin_options.clone()).await?;
    sqlx::query(&format!("CREATE DATABASE {database}")).execute(&maintenance).await?;
    let scratch_options = admin_options.clone().database(&database);
    let scratch = PgPoolOptions::new().max_connections(4).connect_with(scratch_options.clone()).await?;
    event_store::MIGRATOR.run(&scratch).await?;
    projections::MIGRATOR.run(&scratch).await?;
    let search = Elasticsearch::new(Transport::single_node(&elasticsearch_url)?);

    let outcome = async {
        let seeding = Instant::now();
        let mut rng = StdRng::seed_from_u64(7);
        let (orders, customer_ids) = synthetic_orders(options.orders, &mut rng);
        seed_postgres(&scratch, &orders).await?;
        println!(
            "seeded {} orders into Postgres ({database}) in {:.1} s",
            orders.len(),
            seeding.elapsed().as_secs_f64()
        );
        let indexing = Instant::now();
        seed_search(&search, &index, &alias, &orders).await?;
        println!(
            "indexed {} orders into Elasticsearch ({index}) in {:.1} s",
            orders.len(),
            indexing.elapsed().as_secs_f64()
        );
        let seeded = Seeded { order_ids: orders.iter().map(|order| order.order_id).collect(), customer_ids };
        drop(orders);
        run_load(&options, &scratch, scratch_options.clone(), &elasticsearch_url, &alias, seeded).await
    }
    .await;

    if options.keep {
        println!("kept database {database} and index {index}");
    } else {
        scratch.close().await;
        let _ = search.indices().delete(IndicesDeleteParts::Index(&[&index])).send().await;
        sqlx::query(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)")).execute(&maintenance).await?;
    }
    outcome
}

async fn run_load(
    options: &Options,
    scratch: &PgPool,
    scratch_options: PgConnectOptions,
    elasticsearch_url: &str,
    alias: &str,
    seeded: Seeded,
) -> anyhow::Result<()> {
    let mut settings = query_api::Settings::for_database("postgres://unused");
    settings.elasticsearch_url = elasticsearch_url.to_owned();
    settings.search_alias = alias.to_owned();
    settings.db_max_connections = options.db_connections;
    let query_options = scratch_options.username("orders_query").password("orders_query");
    let state = query_api::AppState::with_connect_options(query_options, &settings)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base_url = format!("http://{}", listener.local_addr()?);
    let server = tokio::spawn(query_api::serve(listener, state, std::future::pending(), Duration::from_secs(1)));
    let http = reqwest::Client::builder().pool_max_idle_per_host(64).build()?;
    let client = QueryClient::with_http(http, base_url);
    anyhow::ensure!(client.is_ready().await?, "the query API is not ready");
    let seeded = Arc::new(seeded);
    let duration = Duration::from_secs(options.seconds);
    println!(
        "\nquery API in-process on loopback, {} orders, {} customers, {} s per measurement, DB pool {}\n",
        seeded.order_ids.len(),
        seeded.customer_ids.len(),
        options.seconds,
        options.db_connections
    );

    // Warm the caches and the connection pools.
    for index in 0..200 {
        client
            .get_order(seeded.order_ids[index * 37 % seeded.order_ids.len()], &ReadOptions::default())
            .await?
            .into_body()?;
    }

    for concurrency in [8, 32] {
        let (client, seeded) = (client.clone(), seeded.clone());
        measure("GET /orders/{id}", concurrency, duration, move |worker, iteration| {
            let (client, seeded) = (client.clone(), seeded.clone());
            async move {
                let pick = (worker as u64 * 7_919 + iteration * 104_729) as usize % seeded.order_ids.len();
                client.get_order(seeded.order_ids[pick], &ReadOptions::default()).await?.into_body()?;
                Ok(())
            }
        })
        .await?;
    }

    let cursors: Arc<Mutex<HashMap<usize, String>>> = Arc::default();
    let list = |label: &'static str, concurrency: usize| {
        let (client, seeded, cursors) = (client.clone(), seeded.clone(), cursors.clone());
        measure(label, concurrency, duration, move |worker, iteration| {
            let (client, seeded, cursors) = (client.clone(), seeded.clone(), cursors.clone());
            async move {
                // A mix: first pages with and without filters, and next pages by cursor.
                let mut query = OrderQuery::default();
                match iteration % 4 {
                    0 => {}
                    1 => query.status = Some(["paid", "shipped", "placed"][worker % 3].to_owned()),
                    2 => {
                        query.customer_id =
                            Some(seeded.customer_ids[(iteration as usize * 31 + worker) % seeded.customer_ids.len()])
                    }
                    _ => query.cursor = cursors.lock().expect("not poisoned").get(&worker).cloned(),
                }
                let page = client.list_orders(&query, &ReadOptions::default()).await?.into_body()?;
                if let Some(next) = page.next_cursor {
                    cursors.lock().expect("not poisoned").insert(worker, next);
                }
                Ok(())
            }
        })
    };
    for concurrency in [8, 32] {
        list("GET /orders (list mix)", concurrency).await?;
    }
    let index_started = Instant::now();
    let mut admin = scratch.acquire().await?;
    sqlx::query("CREATE INDEX order_summary_created_idx ON projections.order_summary (created_at DESC, order_id DESC)")
        .execute(&mut *admin)
        .await?;
    drop(admin);
    println!(
        "(created index (created_at DESC, order_id DESC) in {:.1} s; the views migration has none)",
        index_started.elapsed().as_secs_f64()
    );
    for concurrency in [8, 32] {
        list("GET /orders (list mix, with index)", concurrency).await?;
    }

    for concurrency in [8, 32] {
        let client = client.clone();
        measure("GET /search/orders", concurrency, duration, move |worker, iteration| {
            let client = client.clone();
            async move {
                let turn = worker + iteration as usize;
                let mut query = match turn % 3 {
                    0 => SearchQuery::text(PRODUCTS[turn % PRODUCTS.len()]),
                    1 => SearchQuery::text(format!(
                        "{} {}",
                        COLOURS[turn % COLOURS.len()],
                        PRODUCTS[(turn / 3) % PRODUCTS.len()]
                    )),
                    _ => SearchQuery::text(CITIES[turn % CITIES.len()].to_lowercase()),
                };
                if turn % 4 == 0 {
                    query.status = Some("paid".to_owned());
                }
                query.limit = Some(20);
                client.search_orders(&query, &ReadOptions::default()).await?.into_body()?;
                Ok(())
            }
        })
        .await?;
    }
    server.abort();
    Ok(())
}
