//! `ApiError`, the one error type of the HTTP layer, and its problem+json table.
//!
//! Every refusal becomes a `schemas::Problem` with a stable `type` and fixed `title` (the README lists the
//! same table). `into_response` has no side effects: a 5xx carries its cause in the response extensions
//! and the `observe` middleware logs it once.

use std::sync::Arc;

use axum::http::header;
use axum::http::HeaderValue;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::response::Response;
use event_store::LogPosition;
use schemas::FieldError;
use schemas::Problem;
use schemas::PROBLEM_CONTENT_TYPE;
use uuid::Uuid;

use crate::consistency::CONSISTENCY_TOKEN_HEADER;

/// One row of the problem table: a stable `type`, its fixed `title` and its HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProblemType {
    /// 400: a path segment does not parse (an order id that is not a uuid) or the query string is not
    /// `application/x-www-form-urlencoded`.
    MalformedRequest,
    /// 400: a query parameter is unknown, repeated or invalid; `errors` lists each one.
    InvalidParameter,
    /// 400: the `cursor` was not produced by this service for this kind of listing.
    InvalidCursor,
    /// 400: the consistency token is not `<xid8>:<position>`.
    InvalidConsistencyToken,
    /// 404: no order with that id (in the views, the index or the event store).
    OrderNotFound,
    /// 404: no order of that customer is known.
    CustomerNotFound,
    /// 404: the order had no such version, or did not exist yet at that time.
    OrderVersionNotFound,
    /// 404: no such route.
    NotFound,
    /// 405: the route exists but not for this method.
    MethodNotAllowed,
    /// 503 with `Retry-After`: the projection did not reach the consistency token within the wait.
    NotYetConsistent,
    /// 503 with `Retry-After`: Postgres or Elasticsearch is unreachable or busy, or the request timed out.
    ServiceUnavailable,
    /// 500: anything else; the detail is generic and the cause is logged.
    Internal,
}

impl ProblemType {
    /// Every problem type, in the order of the README table.
    pub const ALL: [Self; 12] = [
        Self::MalformedRequest,
        Self::InvalidParameter,
        Self::InvalidCursor,
        Self::InvalidConsistencyToken,
        Self::OrderNotFound,
        Self::CustomerNotFound,
        Self::OrderVersionNotFound,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::NotYetConsistent,
        Self::ServiceUnavailable,
        Self::Internal,
    ];

    /// The stable `type` URI reference.
    pub fn uri(self) -> &'static str {
        match self {
            Self::MalformedRequest => "/problems/malformed-request",
            Self::InvalidParameter => "/problems/invalid-parameter",
            Self::InvalidCursor => "/problems/invalid-cursor",
            Self::InvalidConsistencyToken => "/problems/invalid-consistency-token",
            Self::OrderNotFound => "/problems/order-not-found",
            Self::CustomerNotFound => "/problems/customer-not-found",
            Self::OrderVersionNotFound => "/problems/order-version-not-found",
            Self::NotFound => "/problems/not-found",
            Self::MethodNotAllowed => "/problems/method-not-allowed",
            Self::NotYetConsistent => "/problems/not-yet-consistent",
            Self::ServiceUnavailable => "/problems/service-unavailable",
            Self::Internal => "/problems/internal",
        }
    }

    /// The fixed `title`.
    pub fn title(self) -> &'static str {
        match self {
            Self::MalformedRequest => "Malformed request",
            Self::InvalidParameter => "Invalid parameter",
            Self::InvalidCursor => "Invalid cursor",
            Self::InvalidConsistencyToken => "Invalid consistency token",
            Self::OrderNotFound => "Order not found",
            Self::CustomerNotFound => "Customer not found",
            Self::OrderVersionNotFound => "Order version not found",
            Self::NotFound => "Not found",
            Self::MethodNotAllowed => "Method not allowed",
            Self::NotYetConsistent => "Not yet consistent",
            Self::ServiceUnavailable => "Service unavailable",
            Self::Internal => "Internal error",
        }
    }

    /// The HTTP status.
    pub fn status(self) -> StatusCode {
        match self {
            Self::MalformedRequest | Self::InvalidParameter | Self::InvalidCursor | Self::InvalidConsistencyToken => {
                StatusCode::BAD_REQUEST
            }
            Self::OrderNotFound | Self::CustomerNotFound | Self::OrderVersionNotFound | Self::NotFound => {
                StatusCode::NOT_FOUND
            }
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::NotYetConsistent | Self::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// Seconds a client should wait before retrying after a 503.
const RETRY_AFTER_SECONDS: u32 = 1;

/// Why a request was not answered with data.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A path segment or the query string does not parse.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// Query parameters are unknown, repeated or invalid.
    #[error("{} invalid parameter(s)", .0.len())]
    InvalidParameters(Vec<FieldError>),
    /// The cursor does not decode.
    #[error("invalid cursor: {0}")]
    InvalidCursor(String),
    /// The consistency token does not parse.
    #[error("invalid consistency token: {0}")]
    InvalidConsistencyToken(String),
    /// No order with that id.
    #[error("order {0} not found")]
    OrderNotFound(Uuid),
    /// No order of that customer.
    #[error("customer {0} not found")]
    CustomerNotFound(Uuid),
    /// The order has no such version or did not exist at that time.
    #[error("{0}")]
    OrderVersionNotFound(String),
    /// No such route.
    #[error("no route for this path")]
    RouteNotFound,
    /// Wrong method for the route.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The projection stayed behind the client's token for the whole wait.
    #[error("projection {projection} is at {checkpoint}, behind the token {token}")]
    NotYetConsistent {
        /// The projection's checkpoint name.
        projection: &'static str,
        /// Where it stood when the wait ended.
        checkpoint: LogPosition,
        /// What the client asked for.
        token: LogPosition,
    },
    /// A dependency is unreachable or busy, or the request timed out.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// Anything else.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// The cause of a 5xx, left in the response extensions for the `observe` middleware to log once.
#[derive(Debug, Clone)]
pub(crate) struct ErrorReport(pub(crate) Arc<String>);

impl ApiError {
    /// One invalid query parameter.
    pub fn invalid_parameter(name: &str, message: impl Into<String>) -> Self {
        Self::InvalidParameters(vec![FieldError::new(format!("/{name}"), message)])
    }

    /// The problem type of this error.
    pub fn problem_type(&self) -> ProblemType {
        match self {
            Self::Malformed(_) => ProblemType::MalformedRequest,
            Self::InvalidParameters(_) => ProblemType::InvalidParameter,
            Self::InvalidCursor(_) => ProblemType::InvalidCursor,
            Self::InvalidConsistencyToken(_) => ProblemType::InvalidConsistencyToken,
            Self::OrderNotFound(_) => ProblemType::OrderNotFound,
            Self::CustomerNotFound(_) => ProblemType::CustomerNotFound,
            Self::OrderVersionNotFound(_) => ProblemType::OrderVersionNotFound,
            Self::RouteNotFound => ProblemType::NotFound,
            Self::MethodNotAllowed => ProblemType::MethodNotAllowed,
            Self::NotYetConsistent { .. } => ProblemType::NotYetConsistent,
            Self::Unavailable(_) => ProblemType::ServiceUnavailable,
            Self::Internal(_) => ProblemType::Internal,
        }
    }

    /// The problem+json body; `detail` never holds driver text or a cause chain.
    pub fn to_problem(&self) -> Problem {
        let problem_type = self.problem_type();
        let mut errors = None;
        let detail = match self {
            Self::Malformed(reason) => reason.clone(),
            Self::InvalidParameters(field_errors) => {
                errors = Some(field_errors.clone());
                let names: Vec<&str> =
                    field_errors.iter().map(|error| error.field.trim_start_matches('/')).collect();
                format!("invalid query parameter(s): {}", names.join(", "))
            }
            Self::InvalidCursor(reason) => format!("the cursor is not valid here: {reason}"),
            Self::InvalidConsistencyToken(reason) => reason.clone(),
            Self::OrderNotFound(order_id) => format!("there is no order {order_id}"),
            Self::CustomerNotFound(customer_id) => format!("there is no order of customer {customer_id}"),
            Self::OrderVersionNotFound(reason) => reason.clone(),
            Self::RouteNotFound => "there is no resource at this path".to_owned(),
            Self::MethodNotAllowed => "this resource does not accept this method".to_owned(),
            Self::NotYetConsistent { projection, checkpoint, token } => format!(
                "the {projection} projection is at {checkpoint} and has not reached the consistency token {token} yet; retry later"
            ),
            Self::Unavailable(reason) => format!("{reason}; retry later"),
            Self::Internal(_) => "an unexpected error occurred; it has been logged".to_owned(),
        };
        Problem {
            problem_type: problem_type.uri().to_owned(),
            title: problem_type.title().to_owned(),
            status: problem_type.status().as_u16(),
            detail,
            instance: None,
            code: None,
            errors,
        }
    }
}

/// Writes a problem body with its status and content type.
pub(crate) fn problem_response(problem: &Problem) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(problem).unwrap_or_default();
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_CONTENT_TYPE))], body).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = problem_response(&self.to_problem());
        if response.status() == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
        }
        if let Self::NotYetConsistent { checkpoint, .. } = &self {
            // Even a refusal says which point of the log the projection had reached.
            if let Ok(value) = HeaderValue::from_str(&checkpoint.to_string()) {
                response.headers_mut().insert(CONSISTENCY_TOKEN_HEADER, value);
            }
        }
        if response.status().is_server_error() {
            let cause = match &self {
                Self::Internal(error) => format!("{error:#}"),
                other => other.to_string(),
            };
            response.extensions_mut().insert(ErrorReport(Arc::new(cause)));
        }
        response
    }
}

/// Maps a database error: pool exhaustion, timeouts and lost connections are 503, the rest is 500.
pub(crate) fn database_error(error: sqlx::Error, doing: &'static str) -> ApiError {
    match &error {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => {
            ApiError::Unavailable("the database is unreachable or busy".to_owned())
        }
        // 57014: statement timeout (query_canceled); 57P01..57P03: the server is shutting down or starting.
        sqlx::Error::Database(database)
            if database.code().is_some_and(|code| code == "57014" || code.starts_with("57P")) =>
        {
            ApiError::Unavailable("the database did not answer in time".to_owned())
        }
        _ => ApiError::Internal(anyhow::Error::new(error).context(doing)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_type_has_a_distinct_uri_and_an_error_status() {
        let mut uris: Vec<&str> = ProblemType::ALL.iter().map(|kind| kind.uri()).collect();
        uris.sort_unstable();
        uris.dedup();
        assert_eq!(uris.len(), ProblemType::ALL.len());
        for kind in ProblemType::ALL {
            assert!(kind.uri().starts_with("/problems/"));
            assert!(kind.status().is_client_error() || kind.status().is_server_error());
        }
    }

    #[test]
    fn an_internal_error_hides_its_cause_from_the_client_but_keeps_it_for_the_log() {
        let error = ApiError::Internal(anyhow::anyhow!("password=secret").context("reading the order view"));
        let response = error.into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let report = response.extensions().get::<ErrorReport>().expect("a report for the log");
        assert!(report.0.contains("password=secret") && report.0.contains("reading the order view"));
    }

    #[test]
    fn a_projection_that_stays_behind_is_a_503_with_retry_after_and_its_checkpoint() {
        let response = ApiError::NotYetConsistent {
            projection: "order_views",
            checkpoint: LogPosition::new(7, 10),
            token: LogPosition::new(8, 11),
        }
        .into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(response.headers().contains_key(header::RETRY_AFTER));
        assert_eq!(response.headers()[CONSISTENCY_TOKEN_HEADER], "7:10");
    }

    #[test]
    fn invalid_parameters_name_each_parameter() {
        let problem = ApiError::InvalidParameters(vec![
            FieldError::new("/status", "unknown status"),
            FieldError::new("/limit", "too large"),
        ])
        .to_problem();
        assert_eq!(problem.status, 400);
        assert!(problem.detail.contains("status, limit"), "{}", problem.detail);
        assert_eq!(problem.errors.map(|errors| errors.len()), Some(2));
    }
}
