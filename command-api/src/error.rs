//! `ApiError`, the one error type of the HTTP layer, and its problem+json table.
//!
//! Every refusal becomes a `schemas::Problem` with a stable `type` and fixed `title`; the match from a
//! domain `OrderError` to a row of the table is `ApiError::from_rejection` (the README lists the same table).
//! `into_response` has no side effects: a 5xx carries its cause in the response extensions and the
//! `observe` middleware logs it once.

use std::sync::Arc;

use aggregates::OrderError;
use aggregates::OrderId;
use aggregates::OrderStatus;
use axum::http::header;
use axum::http::HeaderValue;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::response::Response;
use schemas::FieldError;
use schemas::Problem;
use schemas::PROBLEM_CONTENT_TYPE;

/// One row of the problem table: a stable `type`, its fixed `title` and its HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProblemType {
    /// 400: the body is not JSON, or a path segment or header does not parse.
    MalformedRequest,
    /// 415: a body that is not `application/json`.
    UnsupportedMediaType,
    /// 413: the body is larger than `MAX_BODY_BYTES`.
    PayloadTooLarge,
    /// 422: the body breaks its JSON Schema or a value limit of the domain; `errors` lists each field.
    ValidationFailed,
    /// 422: the command's content breaks a business rule (`code` names the rule).
    BusinessRuleViolated,
    /// 422: the `Idempotency-Key` was already used for a different request.
    IdempotencyKeyReused,
    /// 404: no order with that id.
    OrderNotFound,
    /// 409: an order with that id already exists.
    OrderAlreadyExists,
    /// 409: the order's current state does not allow the command (`code` names the rule, `detail` the state).
    InvalidTransition,
    /// 412: `If-Match` names a version that is no longer current.
    VersionMismatch,
    /// 409: other writers kept changing the order; the bounded retries were used up.
    ConcurrentModification,
    /// 404: no such route.
    NotFound,
    /// 405: the route exists but not for this method.
    MethodNotAllowed,
    /// 503 with `Retry-After`: the database is unreachable or busy, or the request timed out.
    ServiceUnavailable,
    /// 500: anything else; the detail is generic and the cause is logged.
    Internal,
}

impl ProblemType {
    /// Every problem type, in the order of the README table.
    pub const ALL: [Self; 15] = [
        Self::MalformedRequest,
        Self::UnsupportedMediaType,
        Self::PayloadTooLarge,
        Self::ValidationFailed,
        Self::BusinessRuleViolated,
        Self::IdempotencyKeyReused,
        Self::OrderNotFound,
        Self::OrderAlreadyExists,
        Self::InvalidTransition,
        Self::VersionMismatch,
        Self::ConcurrentModification,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::ServiceUnavailable,
        Self::Internal,
    ];

    /// The stable `type` URI reference.
    pub fn uri(self) -> &'static str {
        match self {
            Self::MalformedRequest => "/problems/malformed-request",
            Self::UnsupportedMediaType => "/problems/unsupported-media-type",
            Self::PayloadTooLarge => "/problems/payload-too-large",
            Self::ValidationFailed => "/problems/validation-failed",
            Self::BusinessRuleViolated => "/problems/business-rule-violated",
            Self::IdempotencyKeyReused => "/problems/idempotency-key-reused",
            Self::OrderNotFound => "/problems/order-not-found",
            Self::OrderAlreadyExists => "/problems/order-already-exists",
            Self::InvalidTransition => "/problems/invalid-transition",
            Self::VersionMismatch => "/problems/version-mismatch",
            Self::ConcurrentModification => "/problems/concurrent-modification",
            Self::NotFound => "/problems/not-found",
            Self::MethodNotAllowed => "/problems/method-not-allowed",
            Self::ServiceUnavailable => "/problems/service-unavailable",
            Self::Internal => "/problems/internal",
        }
    }

    /// The fixed `title`.
    pub fn title(self) -> &'static str {
        match self {
            Self::MalformedRequest => "Malformed request",
            Self::UnsupportedMediaType => "Unsupported media type",
            Self::PayloadTooLarge => "Payload too large",
            Self::ValidationFailed => "Validation failed",
            Self::BusinessRuleViolated => "Business rule violated",
            Self::IdempotencyKeyReused => "Idempotency key reused",
            Self::OrderNotFound => "Order not found",
            Self::OrderAlreadyExists => "Order already exists",
            Self::InvalidTransition => "Invalid transition",
            Self::VersionMismatch => "Version mismatch",
            Self::ConcurrentModification => "Concurrent modification",
            Self::NotFound => "Not found",
            Self::MethodNotAllowed => "Method not allowed",
            Self::ServiceUnavailable => "Service unavailable",
            Self::Internal => "Internal error",
        }
    }

    /// The HTTP status.
    pub fn status(self) -> StatusCode {
        match self {
            Self::MalformedRequest => StatusCode::BAD_REQUEST,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::ValidationFailed | Self::BusinessRuleViolated | Self::IdempotencyKeyReused => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Self::OrderNotFound | Self::NotFound => StatusCode::NOT_FOUND,
            Self::OrderAlreadyExists | Self::InvalidTransition | Self::ConcurrentModification => StatusCode::CONFLICT,
            Self::VersionMismatch => StatusCode::PRECONDITION_FAILED,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// Seconds a client should wait before retrying after a 503.
const RETRY_AFTER_SECONDS: u32 = 1;

/// Why a request was refused.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body, a path segment or a header does not parse.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// The body is not JSON.
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    /// The body is larger than allowed.
    #[error("the body is larger than {limit} bytes")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body breaks its schema or a value limit.
    #[error("{} invalid field(s)", .0.len())]
    Invalid(Vec<FieldError>),
    /// No order with that id.
    #[error("order {0} not found")]
    NotFound(OrderId),
    /// `decide` refused the command; `status` is the order's state at that moment.
    #[error("{error}")]
    Rejected {
        /// The rule.
        error: OrderError,
        /// The order's status when the command was refused.
        status: Option<OrderStatus>,
    },
    /// `If-Match` is not the current version.
    #[error("expected version {expected}, the order is at version {actual}")]
    VersionMismatch {
        /// The version the client sent.
        expected: i64,
        /// The current version.
        actual: i64,
    },
    /// Conflicting writers; bounded retries used up.
    #[error("the order kept changing during {attempts} attempts")]
    Conflict {
        /// How many times the command was decided.
        attempts: u32,
    },
    /// The idempotency key belongs to another request.
    #[error("the idempotency key was already used for a different request")]
    IdempotencyKeyReused,
    /// No such route.
    #[error("no route for this path")]
    RouteNotFound,
    /// Wrong method for the route.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// Database unreachable or busy, or the request timed out.
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
    /// Maps a refusal of `decide` to its row: 404 for a missing order, 409 for a state conflict, 422 otherwise.
    pub fn from_rejection(error: OrderError, status: Option<OrderStatus>) -> Self {
        Self::Rejected { error, status }
    }

    /// The problem type of this error.
    pub fn problem_type(&self) -> ProblemType {
        match self {
            Self::Malformed(_) => ProblemType::MalformedRequest,
            Self::UnsupportedMediaType(_) => ProblemType::UnsupportedMediaType,
            Self::PayloadTooLarge { .. } => ProblemType::PayloadTooLarge,
            Self::Invalid(_) => ProblemType::ValidationFailed,
            Self::NotFound(_) => ProblemType::OrderNotFound,
            Self::Rejected { error, .. } => rejection_type(error),
            Self::VersionMismatch { .. } => ProblemType::VersionMismatch,
            Self::Conflict { .. } => ProblemType::ConcurrentModification,
            Self::IdempotencyKeyReused => ProblemType::IdempotencyKeyReused,
            Self::RouteNotFound => ProblemType::NotFound,
            Self::MethodNotAllowed => ProblemType::MethodNotAllowed,
            Self::Unavailable(_) => ProblemType::ServiceUnavailable,
            Self::Internal(_) => ProblemType::Internal,
        }
    }

    /// The problem+json body; `detail` never holds driver text or a cause chain.
    pub fn to_problem(&self) -> Problem {
        let problem_type = self.problem_type();
        let mut code = None;
        let mut errors = None;
        let detail = match self {
            Self::Malformed(reason) => reason.clone(),
            Self::UnsupportedMediaType(reason) => reason.clone(),
            Self::PayloadTooLarge { limit } => format!("the request body is larger than {limit} bytes"),
            Self::Invalid(field_errors) => {
                errors = Some(field_errors.clone());
                let fields: Vec<&str> = field_errors.iter().map(|error| error.field.as_str()).collect();
                format!("the request body is invalid at {}", fields.join(", "))
            }
            Self::NotFound(order_id) => format!("there is no order {order_id}"),
            Self::Rejected { error, status } => {
                code = Some(error.code().to_owned());
                rejection_detail(error, *status)
            }
            Self::VersionMismatch { expected, actual } => {
                format!("If-Match names version {expected}, but the order is at version {actual}")
            }
            Self::Conflict { attempts } => {
                format!("other requests kept changing the order; the command was tried {attempts} times, retry it")
            }
            Self::IdempotencyKeyReused => {
                "this Idempotency-Key was already used for a request with another method, path or body".to_owned()
            }
            Self::RouteNotFound => "there is no resource at this path".to_owned(),
            Self::MethodNotAllowed => "this resource does not accept this method".to_owned(),
            Self::Unavailable(reason) => format!("{reason}; retry later"),
            Self::Internal(_) => "an unexpected error occurred; it has been logged".to_owned(),
        };
        Problem {
            problem_type: problem_type.uri().to_owned(),
            title: problem_type.title().to_owned(),
            status: problem_type.status().as_u16(),
            detail,
            instance: None,
            code,
            errors,
        }
    }
}

fn rejection_type(error: &OrderError) -> ProblemType {
    match error {
        OrderError::NotCreated => ProblemType::OrderNotFound,
        OrderError::AlreadyCreated => ProblemType::OrderAlreadyExists,
        error if error.is_state_conflict() => ProblemType::InvalidTransition,
        _ => ProblemType::BusinessRuleViolated,
    }
}

/// The rule's own words, plus the order's current state when the rule's message does not name it.
fn rejection_detail(error: &OrderError, status: Option<OrderStatus>) -> String {
    let message = error.to_string();
    match status {
        Some(status) if error.is_state_conflict() && !message.ends_with(status.as_str()) => {
            format!("{message} (the order is {status})")
        }
        _ => message,
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
        if self.problem_type() == ProblemType::ServiceUnavailable {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
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
    fn a_state_conflict_is_a_409_that_names_the_current_state() {
        let sku = aggregates::Sku::parse("BOOK-1").expect("a valid sku");
        let error = ApiError::from_rejection(OrderError::ItemAlreadyInOrder { sku }, Some(OrderStatus::Draft));
        let problem = error.to_problem();
        assert_eq!(problem.status, 409);
        assert_eq!(problem.problem_type, "/problems/invalid-transition");
        assert_eq!(problem.code.as_deref(), Some("item_already_in_order"));
        assert!(problem.detail.contains("draft"), "{}", problem.detail);
    }

    #[test]
    fn a_transition_refusal_names_the_state_once() {
        let error = OrderError::CannotAddItemWhenPlaced { status: OrderStatus::Paid };
        let problem = ApiError::from_rejection(error, Some(OrderStatus::Paid)).to_problem();
        assert_eq!(problem.detail.matches("paid").count(), 1, "{}", problem.detail);
    }

    #[test]
    fn a_missing_order_is_a_404_and_content_rules_are_422() {
        assert_eq!(ApiError::from_rejection(OrderError::NotCreated, None).to_problem().status, 404);
        let problem =
            ApiError::from_rejection(OrderError::CannotPlaceWithoutItems, Some(OrderStatus::Draft)).to_problem();
        assert_eq!(problem.status, 422);
        assert_eq!(problem.problem_type, "/problems/business-rule-violated");
    }

    #[test]
    fn an_internal_error_hides_its_cause_from_the_client_but_keeps_it_for_the_log() {
        let error = ApiError::Internal(anyhow::anyhow!("password=secret").context("loading stream for order"));
        let response = error.into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let report = response.extensions().get::<ErrorReport>().expect("a report for the log");
        assert!(report.0.contains("password=secret") && report.0.contains("loading stream"));
    }

    #[test]
    fn unavailable_sets_retry_after() {
        let response = ApiError::Unavailable("the database is busy".to_owned()).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(response.headers().contains_key(header::RETRY_AFTER));
    }
}
