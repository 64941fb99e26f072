//! Test harness: an isolated environment per test (fresh database, own JetStream stream and subject prefix,
//! own Elasticsearch alias), order histories built from wire types, in-process relay and projectors,
//! dumps of the views and the index for comparisons, and `eventually` for polling with a deadline.

use std::future::Future;
use std::time::Duration;

use async_nats::jetstream;
use chrono::{DateTime, TimeZone, Utc};
use elasticsearch::SearchParts;
use event_store::{ConsistencyToken, EventStore, ExpectedVersion, Metadata, NewEvent, StreamRef};
use projections::{
    NatsTopology, Projector, ProjectorOptions, Relay, RelayOptions, SearchIndex, ViewTables, ORDER_SEARCH, ORDER_VIEWS,
};
use schemas::order::*;
use serde_json::{json, Value};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub(crate) fn service_url(variable: &str) -> String {
    std::env::var(variable)
        .unwrap_or_else(|_| panic!("{variable} is not set: run the tests with scripts/test, which starts the stack"))
}

/// Polls `check` every 50 ms until it returns `Some`, failing the test with `what` after `timeout`.
pub(crate) async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out after {timeout:?} waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn init_test_logging() {
    if std::env::var("TEST_LOG").is_ok() {
        let _ = tracing_subscriber::fmt().with_env_filter("info,projections=debug").with_test_writer().try_init();
    }
}

/// DATABASE_URL with the test database in place of its database (for services configured by URL).
pub(crate) fn database_url_for(connect_options: &PgConnectOptions) -> String {
    let base = service_url("DATABASE_URL");
    let (server, _) = base.rsplit_once('/').expect("DATABASE_URL names a database");
    format!("{server}/{}", connect_options.get_database().expect("the test database has a name"))
}

/// Plain HTTP/1.1 GET of `path` on `address`: the status line and the body.
pub(crate) async fn http_get(address: std::net::SocketAddr, path: &str) -> Option<(String, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(address).await.ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await.ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    Some((head.lines().next()?.to_owned(), body.to_owned()))
}

/// A loopback address with a port that was free a moment ago.
pub(crate) fn free_local_address() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("a bound address")
}

/// Everything one test owns: a database (both migrators run), a stream and subject prefix, a search alias.
pub(crate) struct TestEnv {
    pub(crate) pool: PgPool,
    pub(crate) store: EventStore,
    pub(crate) topology: NatsTopology,
    pub(crate) jetstream: jetstream::Context,
    pub(crate) search: SearchIndex,
    id: String,
}

impl TestEnv {
    pub(crate) async fn new(pool_options: PgPoolOptions, connect_options: PgConnectOptions) -> Self {
        init_test_logging();
        let pool =
            pool_options.max_connections(20).connect_with(connect_options).await.expect("test database connects");
        event_store::MIGRATOR.run(&pool).await.expect("event store migrations run");
        projections::MIGRATOR.run(&pool).await.expect("projections migrations run");
        let id = Uuid::new_v4().simple().to_string();
        let client = async_nats::connect(service_url("NATS_URL")).await.expect("NATS at NATS_URL accepts a connection");
        let (alias, prefix) = (format!("orders-test-{id}"), format!("orders-test-{id}-v1"));
        let search = SearchIndex::new(&service_url("ELASTICSEARCH_URL"), &alias, &prefix)
            .expect("ELASTICSEARCH_URL is a URL")
            .with_refresh_interval("100ms");
        Self {
            store: EventStore::new(pool.clone()),
            pool,
            topology: NatsTopology::new(format!("TEST_{id}"), format!("test_{id}.orders.v1")),
            jetstream: jetstream::new(client),
            search,
            id,
        }
    }

    /// The search alias and concrete index prefix of this test (as the service's settings name them).
    pub(crate) fn search_names(&self) -> (String, String) {
        (format!("orders-test-{}", self.id), format!("orders-test-{}-v1", self.id))
    }

    /// A second, independent search alias of this test (for clean runs to compare with).
    pub(crate) fn other_search(&self, name: &str) -> SearchIndex {
        SearchIndex::new(
            &service_url("ELASTICSEARCH_URL"),
            &format!("orders-test-{}-{name}", self.id),
            &format!("orders-test-{}-{name}-v1", self.id),
        )
        .expect("ELASTICSEARCH_URL is a URL")
        .with_refresh_interval("100ms")
    }

    pub(crate) fn test_options() -> ProjectorOptions {
        ProjectorOptions {
            retry_backoff: Duration::from_millis(10),
            idle_check_interval: Duration::from_millis(300),
            store_poll_interval: Duration::from_millis(50),
            nats_retry_interval: Duration::from_millis(500),
            ..ProjectorOptions::default()
        }
    }

    pub(crate) fn views_projector(&self) -> Projector {
        Projector::order_views(self.pool.clone()).with_options(Self::test_options())
    }

    pub(crate) fn search_projector(&self) -> Projector {
        Projector::order_search(self.pool.clone(), self.search.clone()).with_options(Self::test_options())
    }

    pub(crate) fn relay(&self) -> Relay {
        Relay::new(self.pool.clone(), self.jetstream.clone(), self.topology.clone())
            .with_options(RelayOptions { seal_interval: Some(Duration::from_millis(200)), ..RelayOptions::default() })
    }

    /// Starts the relay as a task.
    pub(crate) fn start_relay(&self) -> Running {
        let shutdown = CancellationToken::new();
        let relay = self.relay();
        let token = shutdown.clone();
        Running { shutdown, task: tokio::spawn(async move { relay.run(token).await.expect("relay runs") }) }
    }

    /// Starts a projector as a task consuming this test's stream.
    /// Starts the relay and both projectors.
    pub(crate) fn start_pipeline(&self) -> Pipeline {
        Pipeline {
            relay: self.start_relay(),
            views: self.start_projector(self.views_projector()),
            search: self.start_projector(self.search_projector()),
        }
    }

    /// Starts the pipeline, appends `orders` and waits until both projections have them; returns the
    /// pipeline with its projectors stopped (the relay still running).
    pub(crate) async fn project_then_pause(&self, orders: &[OrderScript]) -> Running {
        let pipeline = self.start_pipeline();
        let token = append_interleaved(&self.store, orders).await;
        self.wait_for_both(token).await;
        pipeline.stop_projectors().await
    }

    pub(crate) fn start_projector(&self, projector: Projector) -> Running {
        self.start_projector_with(projector, self.jetstream.clone())
    }

    pub(crate) fn start_projector_with(&self, projector: Projector, context: jetstream::Context) -> Running {
        let shutdown = CancellationToken::new();
        let (token, topology) = (shutdown.clone(), self.topology.clone());
        Running {
            shutdown,
            task: tokio::spawn(async move { projector.run(context, topology, token).await.expect("projector runs") }),
        }
    }

    /// Waits until the projection's checkpoint covers `token`.
    pub(crate) async fn wait_for(&self, projection: &str, token: ConsistencyToken) {
        eventually(Duration::from_secs(60), &format!("{projection} to reach {token}"), || async {
            let checkpoint = projections::read_checkpoint(&self.pool, projection).await.expect("checkpoint reads");
            checkpoint.covers(&token).then_some(())
        })
        .await;
    }

    /// Waits until both projectors have created their durable consumers (so they see every new message).
    pub(crate) async fn wait_for_consumers(&self) {
        for name in [ORDER_VIEWS, ORDER_SEARCH] {
            eventually(Duration::from_secs(60), "the projectors' consumers exist", || async {
                let stream = self.jetstream.get_stream(&self.topology.stream_name).await.ok()?;
                stream.consumer_info(name).await.ok().map(|_| ())
            })
            .await;
        }
    }

    pub(crate) async fn wait_for_both(&self, token: ConsistencyToken) {
        self.wait_for(ORDER_VIEWS, token).await;
        self.wait_for(ORDER_SEARCH, token).await;
    }

    /// Removes the stream and every index of this test's aliases.
    pub(crate) async fn clean_up(self) {
        let _ = self.jetstream.delete_stream(&self.topology.stream_name).await;
        let _ = self.jetstream.delete_stream(&self.topology.seal_stream_name()).await;
        let indices = format!("orders-test-{}*", self.id);
        let _ = self
            .search
            .client()
            .indices()
            .delete(elasticsearch::indices::IndicesDeleteParts::Index(&[&indices]))
            .send()
            .await;
    }
}

impl Drop for TestEnv {
    /// A failing test still removes its stream and indices (the shared stack outlives it).
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        let streams = [self.topology.stream_name.clone(), self.topology.seal_stream_name()];
        let indices = format!("orders-test-{}*", self.id);
        // A new client: the test's own pools belong to its runtime, whose thread is blocked in this drop,
        // so a pooled connection would never be polled and the join below would wait forever.
        let Ok(search) = SearchIndex::new(&service_url("ELASTICSEARCH_URL"), "unused", "unused") else { return };
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            runtime.block_on(async {
                if let Ok(client) = async_nats::connect(service_url("NATS_URL")).await {
                    let context = jetstream::new(client);
                    for stream in &streams {
                        let _ = context.delete_stream(stream).await;
                    }
                }
                let _ = search
                    .client()
                    .indices()
                    .delete(elasticsearch::indices::IndicesDeleteParts::Index(&[&indices]))
                    .send()
                    .await;
            });
        })
        .join();
    }
}

/// A task running until stopped.
pub(crate) struct Running {
    shutdown: CancellationToken,
    task: JoinHandle<()>,
}

impl Running {
    /// Asks it to stop and waits.
    pub(crate) async fn stop(self) {
        self.shutdown.cancel();
        self.task.await.expect("task ends without panicking");
    }

    /// Kills it without a clean shutdown (drops its connections).
    pub(crate) async fn kill(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

/// The relay and both projectors of a test, running.
pub(crate) struct Pipeline {
    pub(crate) relay: Running,
    pub(crate) views: Running,
    pub(crate) search: Running,
}

impl Pipeline {
    /// Stops both projectors; the relay goes on publishing.
    pub(crate) async fn stop_projectors(self) -> Running {
        self.search.stop().await;
        self.views.stop().await;
        self.relay
    }

    pub(crate) async fn stop(self) {
        self.stop_projectors().await.stop().await;
    }
}

/// One event to append: type, schema version, payload.
#[derive(Debug, Clone)]
pub(crate) struct Step {
    pub(crate) event_type: String,
    pub(crate) schema_version: i32,
    pub(crate) payload: Value,
}

impl From<OrderEvent> for Step {
    fn from(event: OrderEvent) -> Self {
        Step {
            event_type: event.event_type().to_owned(),
            schema_version: event.schema_version() as i32,
            payload: event.payload().expect("a wire event serialises"),
        }
    }
}

/// Builds a consistent order history from wire types (totals and counts computed like the command side).
#[derive(Debug, Clone)]
pub(crate) struct OrderScript {
    pub(crate) order_id: Uuid,
    pub(crate) customer_id: Uuid,
    pub(crate) currency: String,
    lines: Vec<OrderLineV1>,
    address: Option<AddressV1>,
    paid: i64,
    at: DateTime<Utc>,
    pub(crate) steps: Vec<Step>,
}

pub(crate) fn day(day_of_month: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day_of_month, 9, 0, 0).single().expect("a valid date")
}

impl OrderScript {
    pub(crate) fn create(customer_id: Uuid, currency: &str, at: DateTime<Utc>) -> Self {
        let order_id = Uuid::now_v7();
        let mut script = Self {
            order_id,
            customer_id,
            currency: currency.to_owned(),
            lines: Vec::new(),
            address: None,
            paid: 0,
            at,
            steps: Vec::new(),
        };
        script.push(OrderEvent::Created(OrderCreatedV1 {
            order_id,
            customer_id,
            currency: currency.to_owned(),
            occurred_at: at,
        }));
        script
    }

    fn tick(&mut self) -> DateTime<Utc> {
        self.at += chrono::Duration::minutes(1);
        self.at
    }

    fn push(&mut self, event: OrderEvent) {
        self.steps.push(event.into());
    }

    pub(crate) fn push_raw(mut self, event_type: &str, schema_version: i32, payload: Value) -> Self {
        self.steps.push(Step { event_type: event_type.to_owned(), schema_version, payload });
        self
    }

    pub(crate) fn total(&self) -> i64 {
        self.lines.iter().map(|line| line.line_total_minor).sum()
    }

    fn item_count(&self) -> u32 {
        self.lines.iter().map(|line| line.quantity).sum()
    }

    pub(crate) fn add(mut self, sku: &str, name: &str, unit_price_minor: i64, quantity: u32) -> Self {
        let line = OrderLineV1 {
            sku: sku.to_owned(),
            name: name.to_owned(),
            unit_price_minor,
            quantity,
            line_total_minor: unit_price_minor * i64::from(quantity),
        };
        self.lines.push(line.clone());
        let occurred_at = self.tick();
        let event = OrderEvent::ItemAdded(OrderItemAddedV1 {
            order_id: self.order_id,
            sku: line.sku,
            name: line.name,
            unit_price_minor,
            quantity,
            line_total_minor: line.line_total_minor,
            order_total_minor: self.total(),
            item_count: self.item_count(),
            line_count: self.lines.len() as u32,
            currency: self.currency.clone(),
            occurred_at,
        });
        self.push(event);
        self
    }

    pub(crate) fn change(mut self, sku: &str, quantity: u32) -> Self {
        let index = self.lines.iter().position(|line| line.sku == sku).expect("the line exists");
        let previous_quantity = self.lines[index].quantity;
        self.lines[index].quantity = quantity;
        self.lines[index].line_total_minor = self.lines[index].unit_price_minor * i64::from(quantity);
        let line = self.lines[index].clone();
        let occurred_at = self.tick();
        let event = OrderEvent::ItemQuantityChanged(OrderItemQuantityChangedV1 {
            order_id: self.order_id,
            sku: line.sku,
            name: line.name,
            unit_price_minor: line.unit_price_minor,
            previous_quantity,
            quantity,
            line_total_minor: line.line_total_minor,
            order_total_minor: self.total(),
            item_count: self.item_count(),
            line_count: self.lines.len() as u32,
            currency: self.currency.clone(),
            occurred_at,
        });
        self.push(event);
        self
    }

    pub(crate) fn remove(mut self, sku: &str) -> Self {
        let index = self.lines.iter().position(|line| line.sku == sku).expect("the line exists");
        let line = self.lines.remove(index);
        let occurred_at = self.tick();
        let event = OrderEvent::ItemRemoved(OrderItemRemovedV1 {
            order_id: self.order_id,
            sku: line.sku,
            name: line.name,
            unit_price_minor: line.unit_price_minor,
            quantity: line.quantity,
            line_total_minor: line.line_total_minor,
            order_total_minor: self.total(),
            item_count: self.item_count(),
            line_count: self.lines.len() as u32,
            currency: self.currency.clone(),
            occurred_at,
        });
        self.push(event);
        self
    }

    pub(crate) fn address(mut self, city: &str, country: &str) -> Self {
        let address = AddressV1 {
            recipient_name: "Grace Hopper".to_owned(),
            line1: "1 Harbour Street".to_owned(),
            line2: Some("Floor 2".to_owned()),
            city: city.to_owned(),
            region: None,
            postal_code: "12345".to_owned(),
            country: country.to_owned(),
        };
        self.address = Some(address.clone());
        let occurred_at = self.tick();
        self.push(OrderEvent::ShippingAddressSet(OrderShippingAddressSetV2 {
            order_id: self.order_id,
            address,
            occurred_at,
        }));
        self
    }

    /// The old v1 form of `order.shipping_address_set` (one street line), as stored by earlier code.
    pub(crate) fn address_v1(mut self, street: &str, city: &str, country: &str) -> Self {
        let occurred_at = self.tick();
        self.address = Some(AddressV1 {
            recipient_name: "Alan Turing".to_owned(),
            line1: street.to_owned(),
            line2: None,
            city: city.to_owned(),
            region: None,
            postal_code: "SW1".to_owned(),
            country: country.to_owned(),
        });
        let payload = json!({
            "order_id": self.order_id, "recipient_name": "Alan Turing", "street": street, "city": city,
            "postal_code": "SW1", "country": country, "occurred_at": occurred_at,
        });
        self.push_raw(event_type::SHIPPING_ADDRESS_SET, 1, payload)
    }

    pub(crate) fn place(mut self) -> Self {
        let occurred_at = self.tick();
        let event = OrderEvent::Placed(OrderPlacedV1 {
            order_id: self.order_id,
            customer_id: self.customer_id,
            currency: self.currency.clone(),
            lines: self.lines.clone(),
            order_total_minor: self.total(),
            item_count: self.item_count(),
            line_count: self.lines.len() as u32,
            shipping_address: self.address.clone().expect("an address before placing"),
            occurred_at,
        });
        self.push(event);
        self
    }

    pub(crate) fn pay(mut self) -> Self {
        let occurred_at = self.tick();
        self.paid = self.total();
        let event = OrderEvent::PaymentConfirmed(OrderPaymentConfirmedV1 {
            order_id: self.order_id,
            customer_id: self.customer_id,
            amount_minor: self.total(),
            currency: self.currency.clone(),
            payment_reference: Some(format!("psp-{}", self.order_id.simple())),
            occurred_at,
        });
        self.push(event);
        self
    }

    pub(crate) fn ship(mut self) -> Self {
        let occurred_at = self.tick();
        let event = OrderEvent::Shipped(OrderShippedV1 {
            order_id: self.order_id,
            customer_id: self.customer_id,
            carrier: "DHL".to_owned(),
            tracking_number: "TRACK-1".to_owned(),
            occurred_at,
        });
        self.push(event);
        self
    }

    pub(crate) fn deliver(mut self) -> Self {
        let occurred_at = self.tick();
        self.push(OrderEvent::Delivered(OrderDeliveredV1 {
            order_id: self.order_id,
            customer_id: self.customer_id,
            occurred_at,
        }));
        self
    }

    pub(crate) fn cancel(mut self, previous_status: &str) -> Self {
        let occurred_at = self.tick();
        let event = OrderEvent::Cancelled(OrderCancelledV1 {
            order_id: self.order_id,
            customer_id: self.customer_id,
            reason: "customer request".to_owned(),
            previous_status: previous_status.to_owned(),
            order_total_minor: self.total(),
            refund_due_minor: self.paid,
            currency: self.currency.clone(),
            occurred_at,
        });
        self.push(event);
        self
    }

    pub(crate) fn refund(mut self, previous_status: &str) -> Self {
        let occurred_at = self.tick();
        let event = OrderEvent::Refunded(OrderRefundedV1 {
            order_id: self.order_id,
            customer_id: self.customer_id,
            amount_minor: self.paid,
            currency: self.currency.clone(),
            reason: Some("returned".to_owned()),
            previous_status: previous_status.to_owned(),
            occurred_at,
        });
        self.push(event);
        self
    }
}

/// A mixed set of `count` orders over a few customers, currencies and days, covering every event type.
pub(crate) fn mixed_orders(count: usize) -> Vec<OrderScript> {
    let customers: Vec<Uuid> = (0..5).map(|_| Uuid::now_v7()).collect();
    (0..count)
        .map(|index| {
            let currency = if index % 3 == 0 { "USD" } else { "EUR" };
            let script = OrderScript::create(customers[index % customers.len()], currency, day(1 + (index % 4) as u32))
                .add(&format!("SKU-{index}-A"), "Blue Teapot", 1_250, 1 + (index % 3) as u32)
                .add(&format!("SKU-{index}-B"), "Green Mug", 450, 2);
            match index % 6 {
                0 => script.address("Berlin", "DE").place().pay().ship().deliver(),
                1 => script
                    .change(&format!("SKU-{index}-B"), 5)
                    .address_v1("10 Downing St", "London", "GB")
                    .place()
                    .pay(),
                2 => script.remove(&format!("SKU-{index}-A")).address("Paris", "FR").place().cancel("placed"),
                3 => script.address("Madrid", "ES").place().pay().cancel("paid").refund("cancelled"),
                4 => script.cancel("draft"),
                _ => script.address("Rome", "IT").place().pay().ship().deliver().refund("delivered"),
            }
        })
        .collect()
}

/// Appends the orders' events round-robin (one event per append, orders interleaved); returns the last token.
pub(crate) async fn append_interleaved(store: &EventStore, orders: &[OrderScript]) -> ConsistencyToken {
    let mut token = ConsistencyToken::default();
    let longest = orders.iter().map(|order| order.steps.len()).max().unwrap_or(0);
    for step_index in 0..longest {
        for order in orders {
            if let Some(step) = order.steps.get(step_index) {
                token = append_step(store, order.order_id, step_index as i64, step).await;
            }
        }
    }
    token
}

/// Appends one event as version `previous_version + 1` of an order.
pub(crate) async fn append_step(
    store: &EventStore,
    order_id: Uuid,
    previous_version: i64,
    step: &Step,
) -> ConsistencyToken {
    let result = store
        .append(
            &StreamRef::new(order_id, schemas::ORDER_STREAM_TYPE),
            ExpectedVersion::Exact(previous_version),
            vec![NewEvent::new(step.event_type.clone(), step.schema_version, step.payload.clone())],
            &Metadata::for_command(Uuid::now_v7()),
        )
        .await
        .expect("the append succeeds");
    result.token
}

/// The content of a set of view tables as JSON, rows in key order.
pub(crate) async fn dump_views(pool: &PgPool, tables: &ViewTables) -> Value {
    let mut dump = serde_json::Map::new();
    for (base, order) in [
        ("order_summary", "order_id"),
        ("order_lines", "order_id, line_no"),
        ("customer_figures", "customer_id, currency"),
        ("daily_sales", "sales_date, currency"),
    ] {
        let (rows,): (Value,) = sqlx::query_as(&format!(
            "SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY {order}), '[]'::jsonb) FROM {} t",
            tables.table(base)
        ))
        .fetch_one(pool)
        .await
        .expect("the dump query runs");
        dump.insert(base.to_owned(), rows);
    }
    Value::Object(dump)
}

/// Every document behind a search alias with its version, in order id order.
pub(crate) async fn dump_search(index: &SearchIndex) -> Value {
    let alias = index.alias().to_owned();
    index.refresh(&alias).await.expect("the index refreshes");
    let response: Value = index
        .client()
        .search(SearchParts::Index(&[&alias]))
        .body(json!({ "size": 10_000, "version": true, "sort": [{ "order_id": "asc" }], "query": { "match_all": {} } }))
        .send()
        .await
        .expect("search is sent")
        .json()
        .await
        .expect("search answers JSON");
    let hits = response["hits"]["hits"].as_array().cloned().unwrap_or_default();
    Value::Array(hits.iter().map(|hit| json!({ "version": hit["_version"], "source": hit["_source"] })).collect())
}

/// Fills a clean copy of both projections from the event store (tables `_clean`, a second alias) and
/// returns their dumps: what a clean rebuild produces.
pub(crate) async fn clean_run(env: &TestEnv) -> (Value, Value) {
    let tables = ViewTables::shadow("_clean").expect("a valid suffix");
    let mut connection = env.pool.acquire().await.expect("a connection");
    tables.create_empty(&mut connection).await.expect("shadow tables are created");
    for statement in [
        "DELETE FROM projections.checkpoints WHERE name LIKE '%\\_clean'",
        "DELETE FROM projections.parked_orders WHERE projection LIKE '%\\_clean'",
        "DELETE FROM projections.dead_letters WHERE projection LIKE '%\\_clean'",
    ] {
        sqlx::query(statement).execute(&mut *connection).await.expect("an earlier clean run is forgotten");
    }
    drop(connection);
    let search = env.other_search("clean");
    if let Some(index) = search.aliased_index().await.expect("the alias is looked up") {
        search.delete_index(&index).await.expect("an earlier clean index is deleted");
    }
    Projector::order_views(env.pool.clone())
        .with_name("order_views_clean")
        .with_tables(tables.clone())
        .catch_up(None)
        .await
        .expect("the clean views catch up");
    let projector = Projector::order_search(env.pool.clone(), search.clone()).with_name("order_search_clean");
    projector.prepare().await.expect("the clean index is created");
    projector.catch_up(None).await.expect("the clean index catches up");
    (dump_views(&env.pool, &tables).await, dump_search(&search).await)
}

/// Asserts that the live views and index equal a clean run from the event store.
pub(crate) async fn assert_same_as_clean_run(env: &TestEnv) {
    let (clean_views, clean_search) = clean_run(env).await;
    let live_views = dump_views(&env.pool, &ViewTables::live()).await;
    assert_eq!(live_views, clean_views, "the live views differ from a clean run");
    let live_search = dump_search(&env.search).await;
    assert_eq!(live_search, clean_search, "the live index differs from a clean run");
    assert!(!live_views["order_summary"].as_array().expect("rows").is_empty(), "the views are not empty");
}
