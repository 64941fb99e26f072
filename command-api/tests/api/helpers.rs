//! `TestApp`: the service started in-process on `127.0.0.1:0` against the test's own database,
//! with the typed client, raw HTTP for malformed requests, and look-ups in the event store.

use std::sync::Once;
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use axum::http::StatusCode;
use command_api::client::CommandClient;
use command_api::client::CommandOptions;
use command_api::AppState;
use command_api::Settings;
use event_store::RecordedEvent;
use http_body_util::BodyExt;
use schemas::order as wire;
use schemas::Problem;
use sqlx::PgPool;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower::ServiceExt;
use uuid::Uuid;

/// Logs stay quiet unless `TEST_LOG=1`.
pub(crate) fn init_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var("TEST_LOG").is_ok_and(|value| value == "1") {
            let _ = command_api::init_tracing(command_api::LogFormat::Text, "info,command_api=debug");
        }
    });
}

/// Settings for tests: the defaults with small snapshots so that they happen in tests.
pub(crate) fn test_settings() -> Settings {
    let mut settings = Settings::for_database("postgres://unused-because-the-pool-is-given");
    settings.snapshot_every = 10;
    settings
}

pub(crate) struct TestApp {
    pub(crate) address: String,
    pub(crate) client: CommandClient,
    pub(crate) http: reqwest::Client,
    pub(crate) state: AppState,
    pub(crate) pool: PgPool,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<anyhow::Result<()>>>,
}

impl TestApp {
    pub(crate) async fn spawn(pool: PgPool) -> Self {
        Self::spawn_with(pool, test_settings()).await
    }

    pub(crate) async fn spawn_with(pool: PgPool, settings: Settings) -> Self {
        init_logs();
        let state = AppState::new(pool.clone(), &settings);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let address = format!("http://{}", listener.local_addr().expect("a bound address"));
        let (shutdown, on_shutdown) = oneshot::channel::<()>();
        let server = tokio::spawn(command_api::serve(
            listener,
            state.clone(),
            async move {
                let _ = on_shutdown.await;
            },
            Duration::from_secs(10),
        ));
        let http = reqwest::Client::new();
        Self {
            client: CommandClient::with_http(http.clone(), address.clone()),
            address,
            http,
            state,
            pool,
            shutdown: Some(shutdown),
            server: Some(server),
        }
    }

    /// Sends the shutdown signal and waits for the server to finish.
    pub(crate) async fn stop(mut self) -> anyhow::Result<()> {
        self.begin_stop();
        self.finished().await
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

    pub(crate) fn server_is_finished(&self) -> bool {
        self.server.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// A new draft order in EUR; returns its id.
    pub(crate) async fn create_order(&self) -> Uuid {
        self.client
            .create_order(&create_body(), &CommandOptions::default())
            .await
            .expect("the order is created")
            .order_id()
    }

    /// A placed order with one line of 2 × 1999 EUR.
    pub(crate) async fn placed_order(&self) -> Uuid {
        let order_id = self.create_order().await;
        let options = CommandOptions::default();
        self.client.add_item(order_id, &item_body("BOOK-1", 1999, 2), &options).await.expect("item added");
        self.client.set_shipping_address(order_id, &address_body(), &options).await.expect("address set");
        self.client.place_order(order_id, &options).await.expect("placed");
        order_id
    }

    pub(crate) async fn events_of(&self, order_id: Uuid) -> Vec<RecordedEvent> {
        match self.state.store().read_stream(order_id, 1, 10_000).await {
            Ok(events) => events,
            Err(event_store::ReadError::StreamNotFound { .. }) => Vec::new(),
            Err(error) => panic!("reading the stream failed: {error}"),
        }
    }

    pub(crate) async fn total_events(&self) -> i64 {
        total_events(&self.pool).await
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.begin_stop();
    }
}

pub(crate) async fn total_events(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM event_store.events").fetch_one(pool).await.expect("counting events")
}

pub(crate) fn create_body() -> wire::CreateOrderV1 {
    wire::CreateOrderV1 { order_id: None, customer_id: Uuid::now_v7(), currency: "EUR".to_owned() }
}

pub(crate) fn item_body(sku: &str, unit_price_minor: i64, quantity: i64) -> wire::AddItemV1 {
    wire::AddItemV1 { sku: sku.to_owned(), name: format!("Product {sku}"), unit_price_minor, quantity }
}

pub(crate) fn address_body() -> wire::AddressV1 {
    wire::AddressV1 {
        recipient_name: "Ada Lovelace".to_owned(),
        line1: "12 St James's Square".to_owned(),
        line2: None,
        city: "London".to_owned(),
        region: None,
        postal_code: "SW1Y 4JH".to_owned(),
        country: "GB".to_owned(),
    }
}

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
            "a problem+json answer"
        );
        serde_json::from_slice(&self.body).expect("a problem body")
    }
}

/// Sends one request through `router(state)` without a network.
pub(crate) async fn oneshot(state: &AppState, request: Request<Body>) -> Answer {
    let response = command_api::router(state.clone()).oneshot(request).await.expect("the router answers");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.expect("a readable body").to_bytes().to_vec();
    Answer { status, headers, body }
}

/// A JSON request with a raw body.
pub(crate) fn raw(method: &str, uri: &str, content_type: Option<&str>, body: impl Into<Body>) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(uri);
    if let Some(content_type) = content_type {
        builder = builder.header("content-type", content_type);
    }
    builder.body(body.into()).expect("a valid request")
}

pub(crate) fn json_request(method: &str, uri: &str, body: &serde_json::Value) -> Request<Body> {
    raw(method, uri, Some("application/json"), body.to_string())
}
