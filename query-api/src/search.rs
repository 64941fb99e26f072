//! Full-text search over the Elasticsearch index (through its alias only).
//!
//! The request body is built as JSON with the client's text only ever in value position: a `multi_match`
//! (cross fields, every word must match somewhere) over item names, skus, recipient and city, plus exact
//! `term`s on ids, skus, postal code and tracking number. Nothing is parsed by a query-string syntax, so
//! `*:*`, `OR` or unbalanced quotes are just words. Pagination uses `search_after` on the hit's sort values.

use std::time::Instant;

use chrono::DateTime;
use chrono::Utc;
use elasticsearch::SearchParts;
use serde::Deserialize;
use serde_json::json;
use serde_json::Value;
use uuid::Uuid;

use crate::cursor::SearchCursor;
use crate::cursor::SearchSort;
use crate::error::ApiError;
use crate::model::SearchHit;
use crate::model::SearchItem;
use crate::model::SearchPage;
use crate::state::AppState;
use crate::telemetry;

/// Longest `q` accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 200;
/// Most words of `q` (each word is one clause per searched field).
pub const MAX_QUERY_WORDS: usize = 32;
/// Fields the words of `q` are searched in.
const TEXT_FIELDS: [&str; 4] = ["items.name", "items.sku.text", "recipient_name", "city"];
/// Keyword fields that must equal the whole of `q`.
const EXACT_FIELDS: [&str; 5] = ["items.sku", "order_id", "customer_id", "postal_code", "tracking_number"];
/// Fields of the document a hit returns.
const SOURCE_FIELDS: [&str; 14] = [
    "order_id",
    "customer_id",
    "status",
    "currency",
    "total_minor",
    "item_count",
    "line_count",
    "recipient_name",
    "city",
    "country",
    "created_at",
    "placed_at",
    "updated_at",
    "version",
];

/// A validated search.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct SearchRequest {
    pub(crate) text: Option<String>,
    pub(crate) statuses: Option<Vec<String>>,
    pub(crate) customer_id: Option<Uuid>,
    pub(crate) currency: Option<String>,
    pub(crate) country: Option<String>,
    pub(crate) placed_from: Option<DateTime<Utc>>,
    pub(crate) placed_to: Option<DateTime<Utc>>,
    pub(crate) limit: u32,
    pub(crate) cursor: Option<SearchCursor>,
}

impl SearchRequest {
    /// Relevance when there is text to rank by, else newest first.
    pub(crate) fn sort(&self) -> SearchSort {
        if self.text.is_some() {
            SearchSort::Relevance
        } else {
            SearchSort::Newest
        }
    }

    /// The Elasticsearch request body. Pure, so tests can look at exactly what is sent.
    pub(crate) fn body(&self) -> Value {
        let mut filters = Vec::new();
        if let Some(statuses) = &self.statuses {
            filters.push(json!({ "terms": { "status": statuses } }));
        }
        if let Some(customer_id) = self.customer_id {
            filters.push(json!({ "term": { "customer_id": customer_id.to_string() } }));
        }
        if let Some(currency) = &self.currency {
            filters.push(json!({ "term": { "currency": currency } }));
        }
        if let Some(country) = &self.country {
            filters.push(json!({ "term": { "country": country } }));
        }
        if self.placed_from.is_some() || self.placed_to.is_some() {
            let mut range = serde_json::Map::new();
            if let Some(from) = self.placed_from {
                range.insert("gte".to_owned(), json!(from.to_rfc3339()));
            }
            if let Some(to) = self.placed_to {
                range.insert("lt".to_owned(), json!(to.to_rfc3339()));
            }
            filters.push(json!({ "range": { "placed_at": range } }));
        }
        let mut bool_query = serde_json::Map::new();
        bool_query.insert("filter".to_owned(), Value::Array(filters));
        if let Some(text) = &self.text {
            let mut should = vec![json!({
                "multi_match": {
                    "query": text,
                    "type": "cross_fields",
                    "operator": "and",
                    "fields": TEXT_FIELDS,
                    "lenient": true,
                }
            })];
            for field in EXACT_FIELDS {
                should.push(json!({ "term": { field: { "value": text, "boost": 2.0 } } }));
            }
            bool_query.insert("must".to_owned(), json!([{ "bool": { "should": should, "minimum_should_match": 1 } }]));
        }
        let sort = match self.sort() {
            SearchSort::Relevance => json!([{ "_score": "desc" }, { "created_at": "desc" }, { "order_id": "desc" }]),
            SearchSort::Newest => json!([{ "created_at": "desc" }, { "order_id": "desc" }]),
        };
        let mut body = json!({
            "size": self.limit + 1,
            "track_total_hits": 10_000,
            "query": { "bool": bool_query },
            "sort": sort,
            "_source": { "includes": SOURCE_FIELDS.iter().copied().chain(["items"]).collect::<Vec<_>>() },
        });
        if let Some(cursor) = &self.cursor {
            body["search_after"] = Value::Array(cursor.after.clone());
        }
        body
    }
}

/// Splits `q` into words the way a client would count them (whitespace), to bound the query size.
pub(crate) fn word_count(text: &str) -> usize {
    text.split_whitespace().count()
}

#[derive(Deserialize)]
struct Response {
    hits: Hits,
}

#[derive(Deserialize)]
struct Hits {
    total: Total,
    hits: Vec<Hit>,
}

#[derive(Deserialize)]
struct Total {
    value: u64,
    relation: String,
}

#[derive(Deserialize)]
struct Hit {
    #[serde(rename = "_score")]
    score: Option<f64>,
    #[serde(rename = "_source")]
    source: Document,
    #[serde(default)]
    sort: Vec<Value>,
}

/// The part of the index document a hit returns (the mapping is owned by the projections crate).
#[derive(Deserialize)]
struct Document {
    order_id: Uuid,
    customer_id: Uuid,
    status: String,
    currency: String,
    total_minor: i64,
    item_count: i32,
    line_count: i32,
    recipient_name: Option<String>,
    city: Option<String>,
    country: Option<String>,
    created_at: DateTime<Utc>,
    placed_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
    version: i64,
    #[serde(default)]
    items: Vec<SearchItem>,
}

/// Runs a search through the alias.
pub(crate) async fn search(state: &AppState, request: &SearchRequest) -> Result<SearchPage, ApiError> {
    let started = Instant::now();
    let result = run(state, request).await;
    let outcome = if result.is_ok() { "ok" } else { "failed" };
    metrics::histogram!(telemetry::SEARCH_DURATION, "outcome" => outcome).record(started.elapsed().as_secs_f64());
    result
}

async fn run(state: &AppState, request: &SearchRequest) -> Result<SearchPage, ApiError> {
    let alias = state.search_alias();
    let response = state
        .search()
        .search(SearchParts::Index(&[alias]))
        // An alias the projector has not created yet is an empty result, not an error.
        .ignore_unavailable(true)
        .allow_no_indices(true)
        .request_timeout(state.limits().request_timeout)
        .body(request.body())
        .send()
        .await
        .map_err(|error| {
            tracing::debug!(error = %error, "the search request failed");
            ApiError::Unavailable("the search index is unreachable".to_owned())
        })?;
    let status = response.status_code();
    if !status.is_success() {
        let text = response.text().await.unwrap_or_default();
        // Input is bounded before it gets here; a refusal that still names the query size is the client's.
        if status.as_u16() == 400 && (text.contains("too_many_clauses") || text.contains("too_many_nested_clauses")) {
            return Err(ApiError::invalid_parameter("q", "the search text has too many words"));
        }
        if status.as_u16() == 429 || status.is_server_error() {
            tracing::debug!(status = status.as_u16(), body = %text, "Elasticsearch refused the search");
            return Err(ApiError::Unavailable("the search index is busy or unavailable".to_owned()));
        }
        return Err(ApiError::Internal(anyhow::anyhow!(
            "Elasticsearch answered the search with {}: {}",
            status.as_u16(),
            text.chars().take(2_000).collect::<String>()
        )));
    }
    let body: Response = response
        .json()
        .await
        .map_err(|error| ApiError::Internal(anyhow::Error::new(error).context("reading the search response")))?;
    let limit = request.limit as usize;
    let has_more = body.hits.hits.len() > limit;
    let mut hits = body.hits.hits;
    hits.truncate(limit);
    let next_cursor = match hits.last() {
        Some(last) if has_more => Some(SearchCursor { sort: request.sort(), after: last.sort.clone() }.encode()),
        _ => None,
    };
    let with_score = request.sort() == SearchSort::Relevance;
    Ok(SearchPage {
        items: hits
            .into_iter()
            .map(|hit| {
                let document = hit.source;
                SearchHit {
                    order_id: document.order_id,
                    customer_id: document.customer_id,
                    status: document.status,
                    currency: document.currency,
                    total_minor: document.total_minor,
                    item_count: document.item_count,
                    line_count: document.line_count,
                    recipient_name: document.recipient_name,
                    city: document.city,
                    country: document.country,
                    created_at: document.created_at,
                    placed_at: document.placed_at,
                    updated_at: document.updated_at,
                    version: document.version,
                    items: document.items,
                    score: if with_score { hit.score } else { None },
                }
            })
            .collect(),
        next_cursor,
        total: body.hits.total.value,
        total_is_exact: body.hits.total.relation == "eq",
        limit: request.limit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_text_only_appears_as_a_value() {
        let hostile = r#""*:* OR status:paid) {"script": 1}"#;
        let request = SearchRequest { text: Some(hostile.to_owned()), limit: 10, ..SearchRequest::default() };
        let body = request.body();
        let serialized = body.to_string();
        assert!(!serialized.contains("query_string") && !serialized.contains("simple_query_string"));
        let must = &body["query"]["bool"]["must"][0]["bool"]["should"];
        assert_eq!(must[0]["multi_match"]["query"], hostile);
        assert_eq!(must[1]["term"]["items.sku"]["value"], hostile);
        assert!(body["query"]["bool"].get("script").is_none());
    }

    #[test]
    fn filters_become_filter_clauses_and_text_changes_the_sort() {
        let request = SearchRequest {
            statuses: Some(vec!["paid".to_owned()]),
            currency: Some("EUR".to_owned()),
            limit: 5,
            ..SearchRequest::default()
        };
        let body = request.body();
        assert_eq!(body["size"], 6);
        assert_eq!(body["query"]["bool"]["filter"].as_array().map(Vec::len), Some(2));
        assert!(body["query"]["bool"].get("must").is_none());
        assert_eq!(body["sort"][0], json!({ "created_at": "desc" }));
        let ranked = SearchRequest { text: Some("book".to_owned()), ..request };
        assert_eq!(ranked.body()["sort"][0], json!({ "_score": "desc" }));
    }
}
