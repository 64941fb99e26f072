//! The OpenAPI 3.1 document, generated from the handlers' annotations (so it lists exactly the routes the
//! router serves), with the query parameters described by the documentation-only structs below (the
//! handlers parse the query string themselves, to report every bad parameter in one problem).

use std::collections::BTreeMap;

use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::RefOr;
use utoipa::openapi::ResponseBuilder;

use crate::error::ProblemType;

/// The document's static parts; the paths come from the router (`utoipa_axum`).
#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "Order query API", description = "Read side of the event-sourced order system: Postgres views, \
        search, read-your-writes with consistency tokens, and the audit history. Errors are RFC 9457 problem+json."),
    components(schemas(ProblemDoc, FieldErrorDoc)),
    tags((name = "orders", description = "Orders from the Postgres views"),
         (name = "customers", description = "Customers' orders and figures"),
         (name = "stats", description = "Sales figures"),
         (name = "search", description = "Full-text search in Elasticsearch"),
         (name = "audit", description = "History and state as of a version or time, from the event store"),
         (name = "operations", description = "Health, metrics and this document"))
)]
pub(crate) struct ApiDoc;

/// `schemas::Problem` as documented (the wire type itself lives in `schemas`, which knows no OpenAPI).
#[derive(utoipa::ToSchema)]
#[schema(as = Problem)]
#[allow(dead_code)]
pub(crate) struct ProblemDoc {
    /// Stable URI reference of the kind of problem, for example `/problems/invalid-parameter`.
    #[schema(rename = "type")]
    problem_type: String,
    /// Fixed summary of the type.
    title: String,
    /// The HTTP status.
    status: u16,
    /// This occurrence, in words a client may show.
    detail: String,
    /// The request that failed.
    instance: Option<String>,
    /// One entry per offending query parameter (`/name`).
    errors: Option<Vec<FieldErrorDoc>>,
}

/// `schemas::FieldError` as documented.
#[derive(utoipa::ToSchema)]
#[schema(as = FieldError)]
#[allow(dead_code)]
pub(crate) struct FieldErrorDoc {
    /// The query parameter as a JSON pointer (`/status`).
    field: String,
    /// What is wrong with it.
    message: String,
}

/// Read-your-writes: the token the command API returned (`<xid8>:<position>`).
#[derive(utoipa::IntoParams, serde::Deserialize)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub(crate) struct ConsistencyParams {
    /// Wait (up to `CONSISTENCY_WAIT_MS`) until the route's projection has reached this token; 503
    /// `not-yet-consistent` with `Retry-After` when it does not, 400 when it is malformed.
    #[param(example = "7432:1051")]
    consistency_token: Option<String>,
}

/// Request headers every data route reads.
#[derive(utoipa::IntoParams, serde::Deserialize)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub(crate) struct ReadHeaders {
    /// The same as the `consistency_token` parameter (the later of the two counts when both are given).
    #[serde(rename = "X-Consistency-Token")]
    consistency_token: Option<String>,
    /// Conditional GET on single resources: 304 when it names the current `ETag`.
    #[serde(rename = "If-None-Match")]
    if_none_match: Option<String>,
    /// Correlation id of the request, returned in the response; generated when absent.
    #[serde(rename = "X-Correlation-Id")]
    correlation_id: Option<String>,
}

/// Filters and paging of `GET /orders`.
#[derive(utoipa::IntoParams, serde::Deserialize)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub(crate) struct OrderListParams {
    /// One or more statuses, comma-separated: draft, placed, paid, shipped, delivered, cancelled, refunded.
    status: Option<String>,
    /// Only this customer's orders.
    customer_id: Option<uuid::Uuid>,
    /// Placed at or after this RFC 3339 time.
    placed_from: Option<String>,
    /// Placed before this RFC 3339 time (exclusive).
    placed_to: Option<String>,
    /// ISO 4217 currency, for example EUR.
    currency: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Page size, 1 to 200 (default 50).
    limit: Option<u32>,
}

/// Filters and paging of `GET /customers/{customer_id}/orders`.
#[derive(utoipa::IntoParams, serde::Deserialize)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub(crate) struct CustomerOrderListParams {
    /// One or more statuses, comma-separated.
    status: Option<String>,
    /// Placed at or after this RFC 3339 time.
    placed_from: Option<String>,
    /// Placed before this RFC 3339 time (exclusive).
    placed_to: Option<String>,
    /// ISO 4217 currency.
    currency: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Page size, 1 to 200 (default 50).
    limit: Option<u32>,
}

/// The range of `GET /stats/daily`.
#[derive(utoipa::IntoParams, serde::Deserialize)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub(crate) struct DailySalesParams {
    /// First UTC day, YYYY-MM-DD.
    from: String,
    /// Last UTC day (inclusive), YYYY-MM-DD; at most 366 days after `from`.
    to: String,
}

/// Text, filters and paging of `GET /search/orders`.
#[derive(utoipa::IntoParams, serde::Deserialize)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub(crate) struct SearchParams {
    /// Words to find in item names, skus, recipient and city (each word somewhere), or an exact sku,
    /// order id, customer id, postal code or tracking number; at most 200 characters and 32 words.
    q: Option<String>,
    /// One or more statuses, comma-separated.
    status: Option<String>,
    /// Only this customer's orders.
    customer_id: Option<uuid::Uuid>,
    /// ISO 4217 currency.
    currency: Option<String>,
    /// ISO 3166-1 alpha-2 country of the shipping address.
    country: Option<String>,
    /// Placed at or after this RFC 3339 time.
    placed_from: Option<String>,
    /// Placed before this RFC 3339 time (exclusive).
    placed_to: Option<String>,
    /// `next_cursor` of the previous page (of the same search).
    cursor: Option<String>,
    /// Page size, 1 to 200 (default 50).
    limit: Option<u32>,
}

/// Paging of `GET /orders/{order_id}/history`.
#[derive(utoipa::IntoParams, serde::Deserialize)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub(crate) struct HistoryParams {
    /// First version to return (default 1); `next_from_version` of the previous page.
    from_version: Option<i64>,
    /// Page size, 1 to 1000 (default 100).
    limit: Option<u32>,
}

/// The point of `GET /orders/{order_id}/as-of`: exactly one of the two.
#[derive(utoipa::IntoParams, serde::Deserialize)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub(crate) struct AsOfParams {
    /// Replay the events up to and including this stream version.
    version: Option<i64>,
    /// Replay the events recorded at or before this RFC 3339 time.
    at: Option<String>,
}

/// The problem responses a data route can answer with.
pub(crate) struct ReadProblems;

impl utoipa::IntoResponses for ReadProblems {
    fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::response::Response>> {
        let mut by_status: BTreeMap<u16, Vec<&'static str>> = BTreeMap::new();
        for problem in ProblemType::ALL {
            if matches!(problem, ProblemType::NotFound | ProblemType::MethodNotAllowed) {
                continue;
            }
            by_status.entry(problem.status().as_u16()).or_default().push(problem.uri());
        }
        by_status
            .into_iter()
            .map(|(status, types)| {
                let content =
                    ContentBuilder::new().schema(Some(utoipa::openapi::Ref::from_schema_name("Problem"))).build();
                let response = ResponseBuilder::new()
                    .description(format!("problem+json: {}", types.join(", ")))
                    .content(schemas::PROBLEM_CONTENT_TYPE, content)
                    .build();
                (status.to_string(), RefOr::T(response))
            })
            .collect()
    }
}
