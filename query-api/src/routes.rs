//! The data routes: parameters are validated first (400), then the request waits for its projection to
//! reach the client's consistency token (503 when it does not), then the read runs and the response names
//! the checkpoint it reflects in `X-Consistency-Token`.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::Duration;
use event_store::ConsistencyToken;
use event_store::LogPosition;

use crate::audit;
use crate::audit::AsOf;
use crate::consistency::Projection;
use crate::consistency::RequestedToken;
use crate::consistency::CONSISTENCY_TOKEN_PARAMETER as TOKEN;
use crate::cursor::ListCursor;
use crate::cursor::SearchCursor;
use crate::error::ApiError;
use crate::model::SalesReport;
use crate::model::SalesTotals;
use crate::openapi::ReadProblems;
use crate::params::QueryParams;
use crate::params::DEFAULT_PAGE_SIZE;
use crate::params::MAX_PAGE_SIZE;
use crate::respond;
use crate::respond::reflecting;
use crate::respond::IdPath;
use crate::respond::Tag;
use crate::search;
use crate::search::SearchRequest;
use crate::state::AppState;
use crate::views;
use crate::views::OrderFilter;

/// Longest range of `GET /stats/daily`, in days.
pub const MAX_REPORT_DAYS: i64 = 366;

/// `GET /orders/{order_id}`: the order with its lines, as the Postgres views hold it.
#[utoipa::path(get, path = "/orders/{order_id}", operation_id = "get_order", tag = "orders",
    params(("order_id" = Uuid, Path, description = "The order"), crate::openapi::ConsistencyParams, crate::openapi::ReadHeaders),
    responses((status = 200, description = "The order; `ETag` is its version in quotes", body = crate::model::Order,
                headers(("ETag" = String), ("X-Consistency-Token" = String, description = "Views checkpoint the body reflects (at least)"))),
              (status = 304, description = "Not modified (`If-None-Match` named the current `ETag`)"),
              ReadProblems))]
pub(crate) async fn get_order(
    State(state): State<AppState>,
    IdPath(order_id): IdPath,
    params: QueryParams,
    token: RequestedToken,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    params.reader(&[TOKEN]).finish()?;
    let reflects = state.checkpoints().reach(Projection::Views, token.0).await?;
    let result = async {
        let order = views::order(state.pool(), order_id).await?.ok_or(ApiError::OrderNotFound(order_id))?;
        let etag = format!("\"{}\"", order.version);
        respond::json(&headers, &order, Tag::Given(etag), reflects)
    }
    .await;
    Ok(reflecting(reflects, result))
}

const LIST_PARAMETERS: [&str; 8] =
    ["status", "customer_id", "placed_from", "placed_to", "currency", "cursor", "limit", TOKEN];
const CUSTOMER_LIST_PARAMETERS: [&str; 7] =
    ["status", "placed_from", "placed_to", "currency", "cursor", "limit", TOKEN];

/// Validates the listing parameters (every error at once), then the cursor.
fn list_request(params: &QueryParams, allowed: &[&str]) -> Result<(OrderFilter, Option<ListCursor>, u32), ApiError> {
    let mut reader = params.reader(allowed);
    let filter = OrderFilter {
        statuses: reader.statuses("status"),
        customer_id: if allowed.contains(&"customer_id") { reader.uuid("customer_id") } else { None },
        placed_from: reader.timestamp("placed_from"),
        placed_to: reader.timestamp("placed_to"),
        currency: reader.currency("currency"),
    };
    if let (Some(from), Some(to)) = (filter.placed_from, filter.placed_to) {
        if from > to {
            reader.reject("placed_to", "must not be before placed_from");
        }
    }
    let limit = reader.limit(DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
    let cursor = reader.text("cursor");
    reader.finish()?;
    let cursor = cursor.as_deref().map(ListCursor::decode).transpose()?;
    Ok((filter, cursor, limit))
}

/// `GET /orders`: orders matching the filters, newest first, one page at a time.
#[utoipa::path(get, path = "/orders", operation_id = "list_orders", tag = "orders",
    params(crate::openapi::OrderListParams, crate::openapi::ConsistencyParams, crate::openapi::ReadHeaders),
    responses((status = 200, description = "A page of orders, `created_at` then `order_id` descending", body = crate::model::OrderPage,
                headers(("X-Consistency-Token" = String))),
              ReadProblems))]
pub(crate) async fn list_orders(
    State(state): State<AppState>,
    params: QueryParams,
    token: RequestedToken,
) -> Result<Response, ApiError> {
    let (filter, cursor, limit) = list_request(&params, &LIST_PARAMETERS)?;
    let reflects = state.checkpoints().reach(Projection::Views, token.0).await?;
    let result = async {
        let page = views::list_orders(state.pool(), &filter, cursor, limit).await?;
        respond::json(&HeaderMap::new(), &page, Tag::None, reflects)
    }
    .await;
    Ok(reflecting(reflects, result))
}

/// `GET /customers/{customer_id}/orders`: the customer's orders, with the filters of `GET /orders`.
#[utoipa::path(get, path = "/customers/{customer_id}/orders", operation_id = "customer_orders", tag = "customers",
    params(("customer_id" = Uuid, Path, description = "The customer"), crate::openapi::CustomerOrderListParams, crate::openapi::ConsistencyParams, crate::openapi::ReadHeaders),
    responses((status = 200, description = "A page of the customer's orders, newest first", body = crate::model::OrderPage,
                headers(("X-Consistency-Token" = String))),
              ReadProblems))]
pub(crate) async fn customer_orders(
    State(state): State<AppState>,
    IdPath(customer_id): IdPath,
    params: QueryParams,
    token: RequestedToken,
) -> Result<Response, ApiError> {
    let (mut filter, cursor, limit) = list_request(&params, &CUSTOMER_LIST_PARAMETERS)?;
    filter.customer_id = Some(customer_id);
    let reflects = state.checkpoints().reach(Projection::Views, token.0).await?;
    let result = async {
        let page = views::list_orders(state.pool(), &filter, cursor, limit).await?;
        if page.items.is_empty() && cursor.is_none() && !views::customer_exists(state.pool(), customer_id).await? {
            return Err(ApiError::CustomerNotFound(customer_id));
        }
        respond::json(&HeaderMap::new(), &page, Tag::None, reflects)
    }
    .await;
    Ok(reflecting(reflects, result))
}

/// `GET /customers/{customer_id}`: the customer's figures per currency.
#[utoipa::path(get, path = "/customers/{customer_id}", operation_id = "get_customer", tag = "customers",
    params(("customer_id" = Uuid, Path, description = "The customer"), crate::openapi::ConsistencyParams, crate::openapi::ReadHeaders),
    responses((status = 200, description = "The customer's figures", body = crate::model::Customer,
                headers(("ETag" = String), ("X-Consistency-Token" = String))),
              (status = 304, description = "Not modified"),
              ReadProblems))]
pub(crate) async fn get_customer(
    State(state): State<AppState>,
    IdPath(customer_id): IdPath,
    params: QueryParams,
    token: RequestedToken,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    params.reader(&[TOKEN]).finish()?;
    let reflects = state.checkpoints().reach(Projection::Views, token.0).await?;
    let result = async {
        let customer =
            views::customer(state.pool(), customer_id).await?.ok_or(ApiError::CustomerNotFound(customer_id))?;
        respond::json(&headers, &customer, Tag::Content, reflects)
    }
    .await;
    Ok(reflecting(reflects, result))
}

/// `GET /stats/daily?from=&to=`: daily sales per currency over an inclusive range of UTC days.
#[utoipa::path(get, path = "/stats/daily", operation_id = "daily_sales", tag = "stats",
    params(crate::openapi::DailySalesParams, crate::openapi::ConsistencyParams, crate::openapi::ReadHeaders),
    responses((status = 200, description = "Daily sales and totals per currency", body = crate::model::SalesReport,
                headers(("ETag" = String), ("X-Consistency-Token" = String))),
              (status = 304, description = "Not modified"),
              ReadProblems))]
pub(crate) async fn daily_sales(
    State(state): State<AppState>,
    params: QueryParams,
    token: RequestedToken,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let mut reader = params.reader(&["from", "to", TOKEN]);
    let from = reader.date("from");
    let to = reader.date("to");
    if params.get("from").is_none_or(str::is_empty) {
        reader.reject("from", "required: the first UTC day, YYYY-MM-DD");
    }
    if params.get("to").is_none_or(str::is_empty) {
        reader.reject("to", "required: the last UTC day (inclusive), YYYY-MM-DD");
    }
    if let (Some(from), Some(to)) = (from, to) {
        if from > to {
            reader.reject("to", "must not be before from");
        } else if to - from >= Duration::days(MAX_REPORT_DAYS) {
            reader.reject("to", format!("the range may span at most {MAX_REPORT_DAYS} days"));
        }
    }
    reader.finish()?;
    let (Some(from), Some(to)) = (from, to) else {
        return Err(ApiError::invalid_parameter("from", "required"));
    };
    let reflects = state.checkpoints().reach(Projection::Views, token.0).await?;
    let result = async {
        let days = views::daily_sales(state.pool(), from, to).await?;
        let mut totals: Vec<SalesTotals> = Vec::new();
        for day in &days {
            let index = match totals.iter().position(|total| total.currency == day.currency) {
                Some(index) => index,
                None => {
                    totals.push(SalesTotals { currency: day.currency.clone(), ..SalesTotals::default() });
                    totals.len() - 1
                }
            };
            let total = &mut totals[index];
            total.orders_placed = total.orders_placed.saturating_add(day.orders_placed);
            total.placed_value_minor = total.placed_value_minor.saturating_add(day.placed_value_minor);
            total.payments = total.payments.saturating_add(day.payments);
            total.revenue_minor = total.revenue_minor.saturating_add(day.revenue_minor);
            total.orders_cancelled = total.orders_cancelled.saturating_add(day.orders_cancelled);
            total.cancelled_value_minor = total.cancelled_value_minor.saturating_add(day.cancelled_value_minor);
            total.refunds = total.refunds.saturating_add(day.refunds);
            total.refunded_minor = total.refunded_minor.saturating_add(day.refunded_minor);
        }
        totals.sort_by(|left, right| left.currency.cmp(&right.currency));
        respond::json(&headers, &SalesReport { from, to, days, totals }, Tag::Content, reflects)
    }
    .await;
    Ok(reflecting(reflects, result))
}

/// `GET /search/orders`: full-text search over item names, skus, customer and city, with filters.
#[utoipa::path(get, path = "/search/orders", operation_id = "search_orders", tag = "search",
    params(crate::openapi::SearchParams, crate::openapi::ConsistencyParams, crate::openapi::ReadHeaders),
    responses((status = 200, description = "A page of hits: by relevance with `q`, else newest first", body = crate::model::SearchPage,
                headers(("X-Consistency-Token" = String, description = "Search checkpoint the hits reflect (at least)"))),
              ReadProblems))]
pub(crate) async fn search_orders(
    State(state): State<AppState>,
    params: QueryParams,
    token: RequestedToken,
) -> Result<Response, ApiError> {
    let mut reader = params.reader(&[
        "q",
        "status",
        "customer_id",
        "currency",
        "country",
        "placed_from",
        "placed_to",
        "cursor",
        "limit",
        TOKEN,
    ]);
    let text = reader.bounded_text("q", search::MAX_QUERY_CHARS);
    if text.as_deref().is_some_and(|text| search::word_count(text) > search::MAX_QUERY_WORDS) {
        reader.reject("q", format!("at most {} words", search::MAX_QUERY_WORDS));
    }
    let mut request = SearchRequest {
        text,
        statuses: reader.statuses("status"),
        customer_id: reader.uuid("customer_id"),
        currency: reader.currency("currency"),
        country: reader.country("country"),
        placed_from: reader.timestamp("placed_from"),
        placed_to: reader.timestamp("placed_to"),
        limit: reader.limit(DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE),
        cursor: None,
    };
    if let (Some(from), Some(to)) = (request.placed_from, request.placed_to) {
        if from > to {
            reader.reject("placed_to", "must not be before placed_from");
        }
    }
    let cursor = reader.text("cursor");
    reader.finish()?;
    request.cursor = cursor.as_deref().map(|cursor| SearchCursor::decode(cursor, request.sort())).transpose()?;
    let reflects = state.checkpoints().reach(Projection::Search, token.0).await?;
    let result = async {
        let page = search::search(&state, &request).await?;
        respond::json(&HeaderMap::new(), &page, Tag::None, reflects)
    }
    .await;
    Ok(reflecting(reflects, result))
}

/// What an audit response reflects: the event store is the log of record, so every committed append is
/// visible; the header names the gap-safe head of the log (or the client's token, if that is later).
async fn audit_reflects(state: &AppState, token: Option<ConsistencyToken>) -> LogPosition {
    let head = match state.store().head().await {
        Ok(head) => head,
        Err(error) => {
            tracing::debug!(error = %error, "reading the head of the event store failed");
            LogPosition::START
        }
    };
    head.max(token.unwrap_or(LogPosition::START))
}

/// `GET /orders/{order_id}/history`: the order's events in version order, with their metadata.
#[utoipa::path(get, path = "/orders/{order_id}/history", operation_id = "order_history", tag = "audit",
    params(("order_id" = Uuid, Path, description = "The order"), crate::openapi::HistoryParams, crate::openapi::ConsistencyParams, crate::openapi::ReadHeaders),
    responses((status = 200, description = "A page of the order's events, from the event store", body = crate::model::History,
                headers(("X-Consistency-Token" = String, description = "Head of the event store's log when read"))),
              ReadProblems))]
pub(crate) async fn order_history(
    State(state): State<AppState>,
    IdPath(order_id): IdPath,
    params: QueryParams,
    token: RequestedToken,
) -> Result<Response, ApiError> {
    let mut reader = params.reader(&["from_version", "limit", TOKEN]);
    let from_version = reader.integer("from_version", 1, i64::MAX).unwrap_or(1);
    let limit = reader.limit(audit::DEFAULT_HISTORY_PAGE, audit::MAX_HISTORY_PAGE);
    reader.finish()?;
    let reflects = audit_reflects(&state, token.0).await;
    let result = async {
        let history = audit::history(&state, order_id, from_version, limit).await?;
        respond::json(&HeaderMap::new(), &history, Tag::None, reflects)
    }
    .await;
    Ok(reflecting(reflects, result))
}

/// `GET /orders/{order_id}/as-of?version=N` or `?at=<timestamp>`: the state rebuilt from the events.
#[utoipa::path(get, path = "/orders/{order_id}/as-of", operation_id = "order_as_of", tag = "audit",
    params(("order_id" = Uuid, Path, description = "The order"), crate::openapi::AsOfParams, crate::openapi::ConsistencyParams, crate::openapi::ReadHeaders),
    responses((status = 200, description = "The state after folding the events up to that point with the domain's `apply`",
                body = crate::model::OrderAsOf, headers(("ETag" = String), ("X-Consistency-Token" = String))),
              (status = 304, description = "Not modified"),
              ReadProblems))]
pub(crate) async fn order_as_of(
    State(state): State<AppState>,
    IdPath(order_id): IdPath,
    params: QueryParams,
    token: RequestedToken,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let mut reader = params.reader(&["version", "at", TOKEN]);
    let version = reader.integer("version", 1, i64::MAX);
    let at = reader.timestamp("at");
    let given = |name: &str| params.get(name).is_some_and(|value| !value.is_empty());
    if given("version") && given("at") {
        reader.reject("at", "give either version or at, not both");
    } else if !given("version") && !given("at") {
        reader.reject("version", "required: a stream version (from 1), or give at=<RFC 3339 timestamp>");
    }
    reader.finish()?;
    let as_of = match (version, at) {
        (Some(version), None) => AsOf::Version(version),
        (None, Some(at)) => AsOf::Time(at),
        _ => return Err(ApiError::invalid_parameter("version", "give either version or at")),
    };
    let reflects = audit_reflects(&state, token.0).await;
    let result = async {
        let state_as_of = audit::as_of(&state, order_id, as_of).await?;
        respond::json(&headers, &state_as_of, Tag::Content, reflects)
    }
    .await;
    Ok(reflecting(reflects, result))
}
