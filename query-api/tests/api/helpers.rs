//! `TestApp`: the query API started in-process on `127.0.0.1:0` against the test's own database (as the
//! read-only role `orders_query`) and its own Elasticsearch alias, with the typed client.
//!
//! Test data is produced the real way: commands go through `aggregates::decide`, their events are appended
//! with `event_store::EventStore`, and the projections library catches the views and the index up.

use std::sync::Once;
use std::time::Duration;

use aggregates::wire;
use aggregates::OrderCommand;
use axum::body::Body;
use axum::http::Request;
use axum::http::StatusCode;
use chrono::DateTime;
use chrono::Utc;
use event_store::AppendResult;
use event_store::EventStore;
use event_store::ExpectedVersion;
use event_store::LogPosition;
use event_store::Metadata;
use event_store::NewEvent;
use event_store::RecordedEvent;
use event_store::StreamRef;
use http_body_util::BodyExt;
use projections::Projector;
use projections::SearchIndex;
use query_api::client::QueryClient;
use query_api::AppState;
use query_api::Settings;
use schemas::order as body;
use schemas::Problem;
use sqlx::postgres::PgConnectOptions;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower::ServiceExt;
use uuid::Uuid;

pub(crate) fn service_url(variable: &str) -> String {
    std::env::var(variable)
        .unwrap_or_else(|_| panic!("{variable} is not set: run the tests with scripts/test, which starts the stack"))
}

/// Logs stay quiet unless `TEST_LOG=1`.
pub(crate) fn init_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var("TEST_LOG").is_ok_and(|value| value == "1") {
            let _ = query_api::init_tracing(query_api::LogFormat::Text, "info,query_api=debug");
        }
    });
}

/// The connect options of the test database, as the read-only role the service uses in production.
pub(crate) fn as_query_role(options: &PgConnectOptions) -> PgConnectOptions {
    options.clone().username("orders_query").password("orders_query")
}

pub(crate) struct TestApp {
    pub(crate) address: String,
    pub(crate) client: QueryClient,
    pub(crate) state: AppState,
    /// The test database as its owner: the command side and the projectors write through it.
    pub(crate) admin: PgPool,
    pub(crate) store: EventStore,
    pub(crate) search: SearchIndex,
    /// The newest consistency token appended by this test: projecting means reaching it.
    appended: std::sync::Mutex<LogPosition>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<anyhow::Result<()>>>,
}

impl TestApp {
    pub(crate) async fn spawn(options: PgConnectOptions) -> Self {
        Self::spawn_with(options, |_| {}).await
    }

    /// Migrates the test database, creates the test's alias, and starts the service with `configure`d settings.
    pub(crate) async fn spawn_with(options: PgConnectOptions, configure: impl FnOnce(&mut Settings)) -> Self {
        init_logs();
        let admin = PgPoolOptions::new()
            .max_connections(8)
            .connect_with(options.clone())
            .await
            .expect("the test database connects");
        event_store::MIGRATOR.run(&admin).await.expect("the event store migrations run");
        projections::MIGRATOR.run(&admin).await.expect("the projections migrations run");
        let alias = format!("orders-test-{}", Uuid::new_v4().simple());
        let search = SearchIndex::new(&service_url("ELASTICSEARCH_URL"), &alias, &format!("{alias}-v1"))
            .expect("ELASTICSEARCH_URL is a URL")
            .with_refresh_interval("100ms");
        search.ensure().await.expect("the test index is created");
        let mut settings = Settings::for_database("postgres://unused-because-options-are-given");
        settings.elasticsearch_url = service_url("ELASTICSEARCH_URL");
        settings.search_alias = alias.clone();
        settings.consistency_wait_ms = 1_500;
        configure(&mut settings);
        let state = AppState::with_connect_options(as_query_role(&options), &settings).expect("the settings are valid");
        Self::serve(state, admin, search).await
    }

    async fn serve(state: AppState, admin: PgPool, search: SearchIndex) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let address = format!("http://{}", listener.local_addr().expect("a bound address"));
        let (shutdown, on_shutdown) = oneshot::channel::<()>();
        let server = tokio::spawn(query_api::serve(
            listener,
            state.clone(),
            async move {
                let _ = on_shutdown.await;
            },
            Duration::from_secs(5),
        ));
        Self {
            client: QueryClient::new(address.clone()),
            address,
            state,
            store: EventStore::new(admin.clone()),
            admin,
            search,
            appended: std::sync::Mutex::new(LogPosition::START),
            shutdown: Some(shutdown),
            server: Some(server),
        }
    }

    pub(crate) fn begin_stop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }

    pub(crate) async fn finished(&mut self) -> anyhow::Result<()> {
        match self.server.take() {
            Some(server) => server.await.expect("the server task does not panic"),
            None => Ok(()),
        }
    }

    /// Stops the server and deletes the test's index (kept when a test fails, for a look).
    pub(crate) async fn clean_up(mut self) {
        self.begin_stop();
        let _ = self.finished().await;
        if let Ok(Some(index)) = self.search.aliased_index().await {
            self.search.delete_index(&index).await.expect("the test index is deleted");
        }
    }

    /// Decides `command` on the order's current state and appends its events, as the command API does.
    pub(crate) async fn execute(&self, order_id: Uuid, command: OrderCommand) -> AppendResult {
        let recorded = self.events_of(order_id).await;
        let history: Vec<aggregates::OrderEvent> = recorded
            .iter()
            .map(|event| {
                wire::decode_event(&event.event_type, event.schema_version as u32, event.payload.clone())
                    .expect("stored events decode")
            })
            .collect();
        let state = aggregates::replay(&history);
        let events = aggregates::decide(&state, command).expect("the scripted command is accepted");
        assert!(!events.is_empty(), "the scripted command changes the order");
        let new_events = events
            .iter()
            .map(|event| {
                let encoded = wire::encode_event(event).expect("events encode");
                NewEvent::new(encoded.event_type, encoded.schema_version as i32, encoded.payload)
            })
            .collect();
        let mut metadata = Metadata::for_command(Uuid::now_v7());
        metadata.correlation_id = format!("test-{}", Uuid::new_v4().simple());
        metadata.causation_id = Some(metadata.command_id.to_string());
        metadata.actor = Some("test-clerk".to_owned());
        let result = self
            .store
            .append(
                &StreamRef::new(order_id, schemas::ORDER_STREAM_TYPE),
                ExpectedVersion::Exact(recorded.len() as i64),
                new_events,
                &metadata,
            )
            .await
            .expect("the events are appended");
        self.remember(result.token);
        result
    }

    fn remember(&self, token: LogPosition) {
        let mut appended = self.appended.lock().expect("not poisoned");
        *appended = (*appended).max(token);
    }

    /// Catches `projector` up until it covers everything this test appended. One catch-up is not enough:
    /// the gap-safe log hides events while any older transaction of the cluster is still open.
    async fn reach_appended(&self, projector: Projector) -> LogPosition {
        let target = *self.appended.lock().expect("not poisoned");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let checkpoint = projector.catch_up(Some(target)).await.expect("the projection catches up").checkpoint;
            if checkpoint.covers(&target) {
                return checkpoint;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} did not reach {target} (at {checkpoint})",
                projector.name()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Appends a raw stored event (for old schema versions).
    pub(crate) async fn append_raw(
        &self,
        order_id: Uuid,
        event_type: &str,
        schema_version: i32,
        payload: serde_json::Value,
    ) -> AppendResult {
        let result = self
            .store
            .append(
                &StreamRef::new(order_id, schemas::ORDER_STREAM_TYPE),
                ExpectedVersion::Any,
                vec![NewEvent::new(event_type, schema_version, payload)],
                &Metadata::for_command(Uuid::now_v7()),
            )
            .await
            .expect("the raw event is appended");
        self.remember(result.token);
        result
    }

    pub(crate) async fn events_of(&self, order_id: Uuid) -> Vec<RecordedEvent> {
        match self.store.read_stream(order_id, 1, 10_000).await {
            Ok(events) => events,
            Err(event_store::ReadError::StreamNotFound { .. }) => Vec::new(),
            Err(error) => panic!("reading the stream failed: {error}"),
        }
    }

    pub(crate) fn views_projector(&self) -> Projector {
        Projector::order_views(self.admin.clone())
    }

    pub(crate) fn search_projector(&self) -> Projector {
        Projector::order_search(self.admin.clone(), self.search.clone())
    }

    /// Catches the Postgres views up with everything this test appended.
    pub(crate) async fn project_views(&self) -> LogPosition {
        self.reach_appended(self.views_projector()).await
    }

    /// Catches the search index up with everything this test appended.
    pub(crate) async fn project_search(&self) -> LogPosition {
        self.reach_appended(self.search_projector()).await
    }

    /// Catches both projections up.
    pub(crate) async fn project(&self) {
        self.project_views().await;
        self.project_search().await;
    }

    /// An order placed by `customer_id` in `currency`, with the given lines, shipped to `city`.
    pub(crate) async fn placed_order(
        &self,
        customer_id: Uuid,
        currency: &str,
        city: &str,
        lines: &[(&str, &str, i64, i64)],
        at: DateTime<Utc>,
    ) -> Uuid {
        let order_id = Uuid::now_v7();
        self.execute(order_id, create(order_id, customer_id, currency, at)).await;
        for (sku, name, unit_price_minor, quantity) in lines {
            self.execute(order_id, add_item(sku, name, *unit_price_minor, *quantity, at)).await;
        }
        self.execute(order_id, set_address("Ada Lovelace", city, "GB", at)).await;
        self.execute(order_id, place(at)).await;
        order_id
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.begin_stop();
    }
}

// ---- commands, built from the wire bodies the command API accepts ----

pub(crate) fn create(order_id: Uuid, customer_id: Uuid, currency: &str, at: DateTime<Utc>) -> OrderCommand {
    let request = body::CreateOrderV1 { order_id: Some(order_id), customer_id, currency: currency.to_owned() };
    wire::create_order_command(&request, aggregates::OrderId::new(order_id), at).expect("a valid create")
}

pub(crate) fn add_item(sku: &str, name: &str, unit_price_minor: i64, quantity: i64, at: DateTime<Utc>) -> OrderCommand {
    let request = body::AddItemV1 { sku: sku.to_owned(), name: name.to_owned(), unit_price_minor, quantity };
    wire::add_item_command(&request, at).expect("a valid item")
}

pub(crate) fn change_quantity(sku: &str, quantity: i64, at: DateTime<Utc>) -> OrderCommand {
    wire::change_item_quantity_command(sku, &body::ChangeItemQuantityV1 { quantity }, at).expect("a valid change")
}

pub(crate) fn remove_item(sku: &str, at: DateTime<Utc>) -> OrderCommand {
    wire::remove_item_command(sku, &body::RemoveItemV1 {}, at).expect("a valid removal")
}

pub(crate) fn set_address(recipient_name: &str, city: &str, country: &str, at: DateTime<Utc>) -> OrderCommand {
    let address = body::AddressV1 {
        recipient_name: recipient_name.to_owned(),
        line1: "12 St James's Square".to_owned(),
        line2: None,
        city: city.to_owned(),
        region: None,
        postal_code: "SW1Y 4JH".to_owned(),
        country: country.to_owned(),
    };
    wire::set_shipping_address_command(&address, at).expect("a valid address")
}

pub(crate) fn place(at: DateTime<Utc>) -> OrderCommand {
    wire::place_order_command(&body::PlaceOrderV1 {}, at).expect("a valid place")
}

pub(crate) fn pay(amount_minor: i64, currency: &str, at: DateTime<Utc>) -> OrderCommand {
    let request = body::ConfirmPaymentV1 {
        amount_minor,
        currency: currency.to_owned(),
        payment_reference: Some("PSP-4711".to_owned()),
    };
    wire::confirm_payment_command(&request, at).expect("a valid payment")
}

pub(crate) fn ship(at: DateTime<Utc>) -> OrderCommand {
    let request = body::ShipOrderV1 { carrier: "DHL".to_owned(), tracking_number: "JD0146000033".to_owned() };
    wire::ship_order_command(&request, at).expect("a valid shipment")
}

pub(crate) fn cancel(reason: &str, at: DateTime<Utc>) -> OrderCommand {
    wire::cancel_order_command(&body::CancelOrderV1 { reason: reason.to_owned() }, at).expect("a valid cancel")
}

pub(crate) fn refund(amount_minor: Option<i64>, at: DateTime<Utc>) -> OrderCommand {
    let request = body::RefundOrderV1 { amount_minor, reason: Some("damaged".to_owned()) };
    wire::refund_order_command(&request, at).expect("a valid refund")
}

/// A fixed instant, `days` after 2026-03-01T10:00:00Z.
pub(crate) fn day(days: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T10:00:00Z").expect("a valid time").with_timezone(&Utc)
        + chrono::Duration::days(days)
}

// ---- raw HTTP through the router ----

/// An answer of `router(state).oneshot(...)`.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: axum::http::HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Answer {
    pub(crate) fn problem(&self) -> Problem {
        assert_eq!(
            self.headers.get("content-type").and_then(|value| value.to_str().ok()),
            Some(schemas::PROBLEM_CONTENT_TYPE),
            "a problem+json answer with status {}: {}",
            self.status,
            String::from_utf8_lossy(&self.body)
        );
        serde_json::from_slice(&self.body).expect("a problem body")
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

/// Sends one GET through `router(state)` without a network.
pub(crate) async fn get(state: &AppState, uri: &str) -> Answer {
    send(state, Request::builder().uri(uri).body(Body::empty()).expect("a valid request")).await
}

pub(crate) async fn send(state: &AppState, request: Request<Body>) -> Answer {
    let response = query_api::router(state.clone()).oneshot(request).await.expect("the router answers");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.expect("a readable body").to_bytes().to_vec();
    Answer { status, headers, body }
}

/// Asserts a problem answer of the given status and type.
pub(crate) fn assert_problem(answer: &Answer, status: u16, problem_type: &str) -> Problem {
    assert_eq!(answer.status.as_u16(), status, "{}", String::from_utf8_lossy(&answer.body));
    let problem = answer.problem();
    assert_eq!(problem.problem_type, problem_type, "{problem:?}");
    assert_eq!(problem.status, status);
    problem
}

/// Percent-encodes a query value.
pub(crate) fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (byte as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}
