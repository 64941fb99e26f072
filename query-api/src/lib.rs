//! The query API: an axum service that serves the read side of the order system: the Postgres views and
//! the Elasticsearch index built by `projections`, and (for audits) the event store itself.
//!
//! `router` builds the whole service for a given `AppState` (tests drive it with `oneshot`), `run` serves
//! it until SIGTERM, and `client::QueryClient` is the typed client the integration tests use.
//! A client may pass the consistency token of its last command to read its own write; every response
//! names the checkpoint it reflects. The service never writes anything: every Postgres session is read-only.

mod audit;
pub mod client;
mod consistency;
mod cursor;
mod error;
mod health;
mod model;
mod observe;
mod openapi;
mod params;
mod respond;
mod routes;
mod search;
mod settings;
mod state;
mod telemetry;
mod views;

use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::Context;
use axum::response::IntoResponse;
use axum::response::Response;
use axum::Json;
use axum::Router;
use tokio::net::TcpListener;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use audit::DEFAULT_HISTORY_PAGE;
pub use audit::MAX_HISTORY_PAGE;
pub use consistency::Projection;
pub use consistency::CONSISTENCY_TOKEN_HEADER;
pub use consistency::CONSISTENCY_TOKEN_PARAMETER;
pub use error::ApiError;
pub use error::ProblemType;
pub use model::Address;
pub use model::CurrencyFigures;
pub use model::Customer;
pub use model::DailySales;
pub use model::EventMetadata;
pub use model::History;
pub use model::HistoryEvent;
pub use model::Order;
pub use model::OrderAsOf;
pub use model::OrderLine;
pub use model::OrderPage;
pub use model::OrderState;
pub use model::OrderSummary;
pub use model::SalesReport;
pub use model::SalesTotals;
pub use model::SearchHit;
pub use model::SearchItem;
pub use model::SearchPage;
pub use model::StateCancellation;
pub use model::StateLine;
pub use model::StatePayment;
pub use model::StateRefund;
pub use model::StateShipment;
pub use observe::CORRELATION_ID_HEADER;
pub use params::DEFAULT_PAGE_SIZE;
pub use params::MAX_PAGE_SIZE;
pub use routes::MAX_REPORT_DAYS;
pub use search::MAX_QUERY_CHARS;
pub use search::MAX_QUERY_WORDS;
pub use settings::LogFormat;
pub use settings::Settings;
pub use settings::DEFAULT_DATABASE_URL;
pub use settings::DEFAULT_ELASTICSEARCH_URL;
pub use settings::DEFAULT_LISTEN_ADDR;
pub use state::AppState;
pub use telemetry::init_tracing;

/// Every route with its OpenAPI description; `router` and `openapi` both come from here, so they agree.
fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(routes::list_orders))
        .routes(routes!(routes::get_order))
        .routes(routes!(routes::order_history))
        .routes(routes!(routes::order_as_of))
        .routes(routes!(routes::customer_orders))
        .routes(routes!(routes::get_customer))
        .routes(routes!(routes::daily_sales))
        .routes(routes!(routes::search_orders))
        .routes(routes!(health::live))
        .routes(routes!(health::ready))
        .routes(routes!(health::metrics))
        .routes(routes!(openapi_json))
}

/// The OpenAPI 3.1 document of the service, as served at `/openapi.json`.
pub fn openapi() -> serde_json::Value {
    static DOCUMENT: OnceLock<serde_json::Value> = OnceLock::new();
    DOCUMENT.get_or_init(|| serde_json::to_value(api_router().split_for_parts().1).unwrap_or_default()).clone()
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", operation_id = "openapi", tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json")))]
async fn openapi_json() -> Response {
    Json(openapi()).into_response()
}

/// The whole service: every route and the `observe` middleware (correlation id, span, timeout, metrics,
/// one log line per request).
pub fn router(state: AppState) -> Router {
    let (routes, _) = api_router().split_for_parts();
    routes
        .fallback(health::not_found)
        .method_not_allowed_fallback(health::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(state.clone(), observe::observe))
        .with_state(state)
}

/// Serves `state` on `listener` until `shutdown` completes; requests in flight then finish, for at most `grace`.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> anyhow::Result<()> {
    let (signalled, on_signal) = tokio::sync::oneshot::channel::<()>();
    let graceful = async move {
        shutdown.await;
        tracing::info!("shutting down: no new connections, finishing requests in flight");
        let _ = signalled.send(());
    };
    let server = axum::serve(listener, router(state)).with_graceful_shutdown(graceful);
    let grace_over = async move {
        if on_signal.await.is_ok() {
            tokio::time::sleep(grace).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        result = server => result.context("serving HTTP"),
        () = grace_over => {
            tracing::warn!(grace_ms = grace.as_millis() as u64, "grace period over; exiting with requests in flight");
            Ok(())
        }
    }
}

/// Builds the state (no migrations: the service cannot write), listens on `LISTEN_ADDR` and serves until
/// SIGTERM or Ctrl-C. Postgres and Elasticsearch may still be down: `/health/ready` says so until they answer.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let state = AppState::connect(&settings)?;
    let listener = TcpListener::bind(settings.listen_addr)
        .await
        .with_context(|| format!("listening on {} (LISTEN_ADDR)", settings.listen_addr))?;
    tracing::info!(
        address = %listener.local_addr().context("reading the bound address")?,
        search_alias = %settings.search_alias,
        "query API listening"
    );
    serve(listener, state, shutdown_signal(), Duration::from_millis(settings.shutdown_grace_ms)).await
}

/// Completes on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
