//! Operational routes: liveness, readiness (Postgres and Elasticsearch answer), Prometheus metrics, and the
//! fallbacks for unknown routes and methods.

use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::http::HeaderValue;
use axum::response::IntoResponse;
use axum::response::Response;
use axum::Json;
use elasticsearch::cluster::ClusterHealthParts;
use serde_json::json;

use crate::error::ApiError;
use crate::state::AppState;

/// How long each dependency may take to answer the readiness check.
const READY_TIMEOUT: Duration = Duration::from_secs(1);

/// The process is up.
#[utoipa::path(get, path = "/health/live", operation_id = "live", tag = "operations",
    responses((status = 200, description = "The process runs")))]
pub(crate) async fn live() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

/// Postgres and Elasticsearch both answer within a second.
#[utoipa::path(get, path = "/health/ready", operation_id = "ready", tag = "operations",
    responses((status = 200, description = "Ready for queries"),
              (status = 503, description = "Postgres or Elasticsearch does not answer", body = crate::openapi::ProblemDoc, content_type = "application/problem+json")))]
pub(crate) async fn ready(State(state): State<AppState>) -> Response {
    let (postgres, elasticsearch) = tokio::join!(postgres_answers(&state), elasticsearch_answers(&state));
    let mut down = Vec::new();
    if let Err(reason) = &postgres {
        down.push(format!("Postgres {reason}"));
    }
    if let Err(reason) = &elasticsearch {
        down.push(format!("Elasticsearch {reason}"));
    }
    if down.is_empty() {
        Json(json!({"status": "ready", "postgres": "ok", "elasticsearch": "ok"})).into_response()
    } else {
        ApiError::Unavailable(down.join(" and ")).into_response()
    }
}

async fn postgres_answers(state: &AppState) -> Result<(), &'static str> {
    let ping = sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(state.pool());
    match tokio::time::timeout(READY_TIMEOUT, ping).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(error)) => {
            tracing::debug!(error = %error, "readiness: Postgres failed");
            Err("is not reachable")
        }
        Err(_) => Err("did not answer within a second"),
    }
}

async fn elasticsearch_answers(state: &AppState) -> Result<(), &'static str> {
    let cluster = state.search().cluster();
    let health = cluster.health(ClusterHealthParts::None).request_timeout(READY_TIMEOUT).send();
    match tokio::time::timeout(READY_TIMEOUT, health).await {
        Ok(Ok(response)) if response.status_code().is_success() => Ok(()),
        Ok(Ok(response)) => {
            tracing::debug!(status = response.status_code().as_u16(), "readiness: Elasticsearch refused");
            Err("is not healthy")
        }
        Ok(Err(error)) => {
            tracing::debug!(error = %error, "readiness: Elasticsearch failed");
            Err("is not reachable")
        }
        Err(_) => Err("did not answer within a second"),
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
