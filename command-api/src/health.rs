//! Operational routes: liveness, readiness (Postgres answers), Prometheus metrics and the OpenAPI document.

use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::http::HeaderValue;
use axum::response::IntoResponse;
use axum::response::Response;
use axum::Json;
use serde_json::json;

use crate::error::ApiError;
use crate::state::AppState;

/// The process is up.
#[utoipa::path(get, path = "/health/live", operation_id = "live", tag = "operations",
    responses((status = 200, description = "The process runs")))]
pub(crate) async fn live() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

/// Postgres answers within a second.
#[utoipa::path(get, path = "/health/ready", operation_id = "ready", tag = "operations",
    responses((status = 200, description = "Ready for commands"),
              (status = 503, description = "Postgres does not answer", body = crate::openapi::ProblemDoc, content_type = "application/problem+json")))]
pub(crate) async fn ready(State(state): State<AppState>) -> Response {
    let ping = sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(state.store().pool());
    match tokio::time::timeout(Duration::from_secs(1), ping).await {
        Ok(Ok(_)) => Json(json!({"status": "ready"})).into_response(),
        Ok(Err(error)) => {
            tracing::debug!(error = %error, "readiness check failed");
            ApiError::Unavailable("Postgres is not reachable".to_owned()).into_response()
        }
        Err(_) => ApiError::Unavailable("Postgres did not answer within a second".to_owned()).into_response(),
    }
}

/// Prometheus text exposition of the service's metrics.
#[utoipa::path(get, path = "/metrics", operation_id = "metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
pub(crate) async fn metrics(State(state): State<AppState>) -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4"))], state.metrics().render())
        .into_response()
}

/// The route for unknown paths.
pub(crate) async fn not_found() -> Response {
    ApiError::RouteNotFound.into_response()
}

/// The route for known paths with the wrong method.
pub(crate) async fn method_not_allowed() -> Response {
    ApiError::MethodNotAllowed.into_response()
}
