//! A typed client of the query API over `reqwest`: one method per route, the read options (consistency
//! token, `If-None-Match`) as `ReadOptions`, and refusals as `ClientError::Problem` with the problem+json body.

use chrono::DateTime;
use chrono::NaiveDate;
use chrono::SecondsFormat;
use chrono::Utc;
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use schemas::Problem;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::consistency::CONSISTENCY_TOKEN_HEADER;
use crate::consistency::CONSISTENCY_TOKEN_PARAMETER;
use crate::model::Customer;
use crate::model::History;
use crate::model::Order;
use crate::model::OrderAsOf;
use crate::model::OrderPage;
use crate::model::SalesReport;
use crate::model::SearchPage;
use crate::observe::CORRELATION_ID_HEADER;

/// Options of one read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// Read-your-writes: the token of the client's last command.
    pub consistency_token: Option<String>,
    /// Send the token as the `X-Consistency-Token` header instead of the query parameter.
    pub token_in_header: bool,
    /// Sent as `If-None-Match`.
    pub if_none_match: Option<String>,
    /// Sent as `X-Correlation-Id`.
    pub correlation_id: Option<String>,
}

impl ReadOptions {
    /// Options that wait for `token` (sent as the query parameter).
    pub fn after(token: impl Into<String>) -> Self {
        Self { consistency_token: Some(token.into()), ..Self::default() }
    }

    /// Options for a conditional GET.
    pub fn if_none_match(etag: impl Into<String>) -> Self {
        Self { if_none_match: Some(etag.into()), ..Self::default() }
    }
}

/// A successful answer: 200 with a body, or 304 without one.
#[derive(Debug, Clone, PartialEq)]
pub struct Read<T> {
    /// 200 or 304.
    pub status: StatusCode,
    /// The body (absent for 304).
    pub body: Option<T>,
    /// The `ETag` header.
    pub etag: Option<String>,
    /// The `X-Consistency-Token` header: the checkpoint the answer reflects.
    pub consistency_token: Option<String>,
    /// The `X-Correlation-Id` the server used.
    pub correlation_id: Option<String>,
}

impl<T> Read<T> {
    /// The body, or `ClientError::NotModified` for a 304.
    pub fn into_body(self) -> Result<T, ClientError> {
        self.body.ok_or(ClientError::NotModified)
    }
}

/// Why a call did not return data.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The service refused with a problem+json body.
    #[error("{status}: {} ({})", .problem.detail, .problem.problem_type)]
    Problem {
        /// The HTTP status.
        status: StatusCode,
        /// The body.
        problem: Box<Problem>,
        /// The `Retry-After` header (503).
        retry_after: Option<String>,
        /// The `X-Consistency-Token` header, when the refusal names a checkpoint.
        consistency_token: Option<String>,
    },
    /// The request did not get an answer, or the answer was not readable.
    #[error("calling the query API")]
    Transport(#[from] reqwest::Error),
    /// An answer that is neither data nor a problem.
    #[error("unexpected {status} answer: {body}")]
    Unexpected {
        /// The HTTP status.
        status: StatusCode,
        /// The body as text.
        body: String,
    },
    /// A 304 where a body was needed.
    #[error("not modified")]
    NotModified,
}

impl ClientError {
    /// The problem body, when the service sent one.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            Self::Problem { problem, .. } => Some(problem.as_ref()),
            _ => None,
        }
    }

    /// The HTTP status, when there was an answer.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Problem { status, .. } | Self::Unexpected { status, .. } => Some(*status),
            Self::NotModified => Some(StatusCode::NOT_MODIFIED),
            Self::Transport(error) => error.status(),
        }
    }
}

/// Filters and paging of the order listings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderQuery {
    /// Comma-separated statuses.
    pub status: Option<String>,
    /// Only this customer (ignored by `customer_orders`, which takes it from the path).
    pub customer_id: Option<Uuid>,
    /// Placed at or after.
    pub placed_from: Option<DateTime<Utc>>,
    /// Placed before.
    pub placed_to: Option<DateTime<Utc>>,
    /// ISO 4217 currency.
    pub currency: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size.
    pub limit: Option<u32>,
}

impl OrderQuery {
    fn pairs(&self, with_customer: bool) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::new();
        push(&mut pairs, "status", self.status.clone());
        if with_customer {
            push(&mut pairs, "customer_id", self.customer_id.map(|id| id.to_string()));
        }
        push(&mut pairs, "placed_from", self.placed_from.map(timestamp));
        push(&mut pairs, "placed_to", self.placed_to.map(timestamp));
        push(&mut pairs, "currency", self.currency.clone());
        push(&mut pairs, "cursor", self.cursor.clone());
        push(&mut pairs, "limit", self.limit.map(|limit| limit.to_string()));
        pairs
    }
}

/// Text, filters and paging of a search.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchQuery {
    /// The text.
    pub q: Option<String>,
    /// Comma-separated statuses.
    pub status: Option<String>,
    /// Only this customer.
    pub customer_id: Option<Uuid>,
    /// ISO 4217 currency.
    pub currency: Option<String>,
    /// Country of the shipping address.
    pub country: Option<String>,
    /// Placed at or after.
    pub placed_from: Option<DateTime<Utc>>,
    /// Placed before.
    pub placed_to: Option<DateTime<Utc>>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size.
    pub limit: Option<u32>,
}

impl SearchQuery {
    /// A search for `text`.
    pub fn text(text: impl Into<String>) -> Self {
        Self { q: Some(text.into()), ..Self::default() }
    }

    fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::new();
        push(&mut pairs, "q", self.q.clone());
        push(&mut pairs, "status", self.status.clone());
        push(&mut pairs, "customer_id", self.customer_id.map(|id| id.to_string()));
        push(&mut pairs, "currency", self.currency.clone());
        push(&mut pairs, "country", self.country.clone());
        push(&mut pairs, "placed_from", self.placed_from.map(timestamp));
        push(&mut pairs, "placed_to", self.placed_to.map(timestamp));
        push(&mut pairs, "cursor", self.cursor.clone());
        push(&mut pairs, "limit", self.limit.map(|limit| limit.to_string()));
        pairs
    }
}

fn push(pairs: &mut Vec<(&'static str, String)>, name: &'static str, value: Option<String>) {
    if let Some(value) = value {
        pairs.push((name, value));
    }
}

fn timestamp(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// A client of one query API instance.
#[derive(Debug, Clone)]
pub struct QueryClient {
    http: reqwest::Client,
    base_url: String,
}

impl QueryClient {
    /// A client for `base_url` (for example `http://127.0.0.1:8082`).
    pub fn new(base_url: impl Into<String>) -> Self {
        Self::with_http(reqwest::Client::new(), base_url)
    }

    /// A client that shares an existing `reqwest::Client` (its connection pool and timeouts).
    pub fn with_http(http: reqwest::Client, base_url: impl Into<String>) -> Self {
        Self { http, base_url: base_url.into().trim_end_matches('/').to_owned() }
    }

    /// The base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `GET /orders/{order_id}`.
    pub async fn get_order(&self, order_id: Uuid, options: &ReadOptions) -> Result<Read<Order>, ClientError> {
        self.get(&format!("/orders/{order_id}"), Vec::new(), options).await
    }

    /// `GET /orders`.
    pub async fn list_orders(&self, query: &OrderQuery, options: &ReadOptions) -> Result<Read<OrderPage>, ClientError> {
        self.get("/orders", query.pairs(true), options).await
    }

    /// `GET /customers/{customer_id}/orders`.
    pub async fn customer_orders(
        &self,
        customer_id: Uuid,
        query: &OrderQuery,
        options: &ReadOptions,
    ) -> Result<Read<OrderPage>, ClientError> {
        self.get(&format!("/customers/{customer_id}/orders"), query.pairs(false), options).await
    }

    /// `GET /customers/{customer_id}`.
    pub async fn get_customer(&self, customer_id: Uuid, options: &ReadOptions) -> Result<Read<Customer>, ClientError> {
        self.get(&format!("/customers/{customer_id}"), Vec::new(), options).await
    }

    /// `GET /stats/daily?from=&to=`.
    pub async fn daily_sales(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        options: &ReadOptions,
    ) -> Result<Read<SalesReport>, ClientError> {
        let pairs = vec![("from", from.to_string()), ("to", to.to_string())];
        self.get("/stats/daily", pairs, options).await
    }

    /// `GET /search/orders`.
    pub async fn search_orders(
        &self,
        query: &SearchQuery,
        options: &ReadOptions,
    ) -> Result<Read<SearchPage>, ClientError> {
        self.get("/search/orders", query.pairs(), options).await
    }

    /// `GET /orders/{order_id}/history`.
    pub async fn order_history(
        &self,
        order_id: Uuid,
        from_version: Option<i64>,
        limit: Option<u32>,
        options: &ReadOptions,
    ) -> Result<Read<History>, ClientError> {
        let mut pairs = Vec::new();
        push(&mut pairs, "from_version", from_version.map(|version| version.to_string()));
        push(&mut pairs, "limit", limit.map(|limit| limit.to_string()));
        self.get(&format!("/orders/{order_id}/history"), pairs, options).await
    }

    /// `GET /orders/{order_id}/as-of?version=N`.
    pub async fn order_as_of_version(
        &self,
        order_id: Uuid,
        version: i64,
        options: &ReadOptions,
    ) -> Result<Read<OrderAsOf>, ClientError> {
        self.get(&format!("/orders/{order_id}/as-of"), vec![("version", version.to_string())], options).await
    }

    /// `GET /orders/{order_id}/as-of?at=<timestamp>`.
    pub async fn order_as_of_time(
        &self,
        order_id: Uuid,
        at: DateTime<Utc>,
        options: &ReadOptions,
    ) -> Result<Read<OrderAsOf>, ClientError> {
        self.get(&format!("/orders/{order_id}/as-of"), vec![("at", timestamp(at))], options).await
    }

    /// Any GET with raw query pairs, answered as JSON (for parameters the typed methods do not model).
    pub async fn get_json(
        &self,
        path: &str,
        pairs: &[(&str, &str)],
        options: &ReadOptions,
    ) -> Result<Read<serde_json::Value>, ClientError> {
        let pairs = pairs.iter().map(|(name, value)| (*name, (*value).to_owned())).collect();
        self.get(path, pairs, options).await
    }

    /// `GET /health/ready`: true when the service, Postgres and Elasticsearch answer.
    pub async fn is_ready(&self) -> Result<bool, ClientError> {
        let response = self.http.get(format!("{}/health/ready", self.base_url)).send().await?;
        Ok(response.status().is_success())
    }

    /// `GET /openapi.json`.
    pub async fn openapi(&self) -> Result<serde_json::Value, ClientError> {
        let response = self.http.get(format!("{}/openapi.json", self.base_url)).send().await?;
        Ok(response.error_for_status()?.json().await?)
    }

    /// `GET /metrics` (Prometheus text).
    pub async fn metrics(&self) -> Result<String, ClientError> {
        let response = self.http.get(format!("{}/metrics", self.base_url)).send().await?;
        Ok(response.error_for_status()?.text().await?)
    }

    async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        mut pairs: Vec<(&str, String)>,
        options: &ReadOptions,
    ) -> Result<Read<T>, ClientError> {
        let mut request = self.http.get(format!("{}{path}", self.base_url));
        if let Some(token) = &options.consistency_token {
            if options.token_in_header {
                request = request.header(CONSISTENCY_TOKEN_HEADER, token);
            } else {
                pairs.push((CONSISTENCY_TOKEN_PARAMETER, token.clone()));
            }
        }
        if !pairs.is_empty() {
            request = request.query(&pairs);
        }
        if let Some(etag) = &options.if_none_match {
            request = request.header(reqwest::header::IF_NONE_MATCH, etag);
        }
        if let Some(correlation_id) = &options.correlation_id {
            request = request.header(CORRELATION_ID_HEADER, correlation_id);
        }
        let response = request.send().await?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await?;
        let header = |headers: &HeaderMap, name: &str| {
            headers.get(name).and_then(|value| value.to_str().ok()).map(str::to_owned)
        };
        let read = |body| Read {
            status,
            body,
            etag: header(&headers, "etag"),
            consistency_token: header(&headers, CONSISTENCY_TOKEN_HEADER),
            correlation_id: header(&headers, CORRELATION_ID_HEADER),
        };
        if status == StatusCode::NOT_MODIFIED {
            return Ok(read(None));
        }
        if status.is_success() {
            let body = serde_json::from_slice::<T>(&bytes)
                .map_err(|_| ClientError::Unexpected { status, body: String::from_utf8_lossy(&bytes).into_owned() })?;
            return Ok(read(Some(body)));
        }
        match serde_json::from_slice::<Problem>(&bytes) {
            Ok(problem) => Err(ClientError::Problem {
                status,
                problem: Box::new(problem),
                retry_after: header(&headers, "retry-after"),
                consistency_token: header(&headers, CONSISTENCY_TOKEN_HEADER),
            }),
            Err(_) => Err(ClientError::Unexpected { status, body: String::from_utf8_lossy(&bytes).into_owned() }),
        }
    }
}
