//! The command API: an axum service that turns HTTP requests into order commands, runs them through
//! `aggregates::decide` and appends the events with `event_store::EventStore::append`.
//!
//! `router` builds the whole service for a given `AppState` (tests drive it with `oneshot`), `run` serves
//! it until SIGTERM, and `client::CommandClient` is the typed client the integration tests use.
//! The service never reads projections or search: it only writes the event store.

pub mod client;
mod error;
mod extract;
mod handler;
mod health;
mod idempotency;
mod observe;
mod openapi;
mod orders;
mod response;
mod routes;
mod settings;
mod snapshot;
mod state;
mod telemetry;

use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::Context;
use axum::extract::DefaultBodyLimit;
use axum::response::IntoResponse;
use axum::response::Response;
use axum::serve::ListenerExt;
use axum::Json;
use axum::Router;
use tokio::net::TcpListener;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use error::ApiError;
pub use error::ProblemType;
pub use idempotency::REPLAYED_HEADER;
pub use observe::CORRELATION_ID_HEADER;
pub use observe::TRACEPARENT_HEADER;
pub use response::CommandAccepted;
pub use response::CONSISTENCY_TOKEN_HEADER;
pub use settings::LogFormat;
pub use settings::Settings;
pub use settings::DEFAULT_DATABASE_URL;
pub use settings::DEFAULT_LISTEN_ADDR;
pub use state::AppState;
pub use telemetry::init_tracing;

/// Every route with its OpenAPI description; `router` and `openapi` both come from here, so they agree.
fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(routes::create_order))
        .routes(routes!(routes::add_item))
        .routes(routes!(routes::change_item_quantity, routes::remove_item))
        .routes(routes!(routes::set_shipping_address))
        .routes(routes!(routes::place_order))
        .routes(routes!(routes::confirm_payment))
        .routes(routes!(routes::pay))
        .routes(routes!(routes::ship_order))
        .routes(routes!(routes::ship))
        .routes(routes!(routes::confirm_delivery))
        .routes(routes!(routes::deliver))
        .routes(routes!(routes::cancel_order))
        .routes(routes!(routes::refund_order))
        .routes(routes!(health::live))
        .routes(routes!(health::ready))
        .routes(routes!(health::metrics))
        .routes(routes!(openapi_json))
}

/// The OpenAPI 3.1 document of the service, as served at `/openapi.json`.
pub fn openapi() -> serde_json::Value {
    static DOCUMENT: OnceLock<serde_json::Value> = OnceLock::new();
    DOCUMENT.get_or_init(|| openapi::finish(api_router().split_for_parts().1)).clone()
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", operation_id = "openapi", tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json")))]
async fn openapi_json() -> Response {
    Json(openapi()).into_response()
}

/// The whole service: every route, the body limit, and the `observe` middleware (correlation id, span,
/// timeout, metrics, one log line per request).
pub fn router(state: AppState) -> Router {
    let (routes, _) = api_router().split_for_parts();
    let max_body_bytes = state.limits().max_body_bytes;
    routes
        .fallback(health::not_found)
        .method_not_allowed_fallback(health::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(state.clone(), observe::observe))
        .layer(DefaultBodyLimit::max(max_body_bytes))
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
    // Small request/response pairs: without TCP_NODELAY, Nagle's algorithm can hold a reply back.
    let listener = listener.tap_io(|stream| {
        let _ = stream.set_nodelay(true);
    });
    let purge = tokio::spawn(idempotency::purge_expired_responses(state.clone()));
    let _purge_ends_with_the_server = AbortOnDrop(purge);
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

/// Aborts a background task when the function that started it returns.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Connects, migrates, listens on `LISTEN_ADDR` and serves until SIGTERM or Ctrl-C.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let state = AppState::connect(&settings).await?;
    let listener = TcpListener::bind(settings.listen_addr)
        .await
        .with_context(|| format!("listening on {} (LISTEN_ADDR)", settings.listen_addr))?;
    tracing::info!(address = %listener.local_addr().context("reading the bound address")?, "command API listening");
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
