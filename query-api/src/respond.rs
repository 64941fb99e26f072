//! Building success responses: JSON bodies, `ETag` with conditional GET (`If-None-Match` → 304), the
//! `X-Consistency-Token` every response carries, and the path extractor whose rejection is problem+json.

use axum::extract::FromRequestParts;
use axum::extract::Path;
use axum::http::header;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::http::HeaderValue;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::response::Response;
use event_store::LogPosition;
use serde::Serialize;
use sha2::Digest;
use sha2::Sha256;
use uuid::Uuid;

use crate::consistency::set_token_header;
use crate::error::ApiError;

/// A uuid path segment (`{order_id}`, `{customer_id}`); anything else is a 400 `malformed-request`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IdPath(pub(crate) Uuid);

impl<S: Send + Sync> FromRequestParts<S> for IdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(text) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::Malformed("the path does not name a resource".to_owned()))?;
        Uuid::try_parse(&text).map(Self).map_err(|_| {
            ApiError::Malformed(format!("{:?} in the path is not a uuid", text.chars().take(64).collect::<String>()))
        })
    }
}

/// How a JSON body is tagged for caching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tag {
    /// No `ETag` (collections and search results, which change with every new order).
    None,
    /// A strong `ETag` from the body bytes.
    Content,
    /// This strong `ETag` value (for example `"7"`, the order's version).
    Given(String),
}

/// A 200 JSON response with the consistency header, or a 304 when `If-None-Match` names its `ETag`.
pub(crate) fn json<T: Serialize>(
    request_headers: &HeaderMap,
    body: &T,
    tag: Tag,
    reflects: LogPosition,
) -> Result<Response, ApiError> {
    let bytes = serde_json::to_vec(body)
        .map_err(|error| ApiError::Internal(anyhow::Error::new(error).context("serialising the response")))?;
    let etag = match tag {
        Tag::None => None,
        Tag::Content => Some(format!("\"{}\"", &hex::encode(Sha256::digest(&bytes))[..32])),
        Tag::Given(etag) => Some(etag),
    };
    let mut response = match &etag {
        Some(etag) if none_match_hits(request_headers, etag) => StatusCode::NOT_MODIFIED.into_response(),
        _ => (StatusCode::OK, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], bytes)
            .into_response(),
    };
    if let Some(value) = etag.and_then(|etag| HeaderValue::from_str(&etag).ok()) {
        response.headers_mut().insert(header::ETAG, value);
        // Clients may keep the body but must ask again (conditionally) before using it.
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    }
    set_token_header(&mut response, reflects);
    Ok(response)
}

/// Whether `If-None-Match` lists `etag` (weak comparison, RFC 9110 §13.1.2) or is `*`.
fn none_match_hits(headers: &HeaderMap, etag: &str) -> bool {
    let wanted = etag.trim_start_matches("W/");
    headers.get_all(header::IF_NONE_MATCH).iter().filter_map(|value| value.to_str().ok()).any(|value| {
        value
            .split(',')
            .map(str::trim)
            .any(|candidate| candidate == "*" || candidate.trim_start_matches("W/") == wanted)
    })
}

/// Adds the consistency header to an error response too, so every answer says what it reflects.
pub(crate) fn reflecting(reflects: LogPosition, result: Result<Response, ApiError>) -> Response {
    let mut response = result.unwrap_or_else(IntoResponse::into_response);
    if !response.headers().contains_key(crate::consistency::CONSISTENCY_TOKEN_HEADER) {
        set_token_header(&mut response, reflects);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_if_none_match(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_str(value).expect("a header value"));
        headers
    }

    #[test]
    fn if_none_match_uses_weak_comparison_and_lists() {
        assert!(none_match_hits(&with_if_none_match("\"7\""), "\"7\""));
        assert!(none_match_hits(&with_if_none_match("W/\"7\""), "\"7\""));
        assert!(none_match_hits(&with_if_none_match("\"1\", \"7\""), "\"7\""));
        assert!(none_match_hits(&with_if_none_match("*"), "\"7\""));
        assert!(!none_match_hits(&with_if_none_match("\"8\""), "\"7\""));
        assert!(!none_match_hits(&HeaderMap::new(), "\"7\""));
    }

    #[test]
    fn a_matching_etag_gives_304_with_the_etag_and_token_but_no_body() {
        let body = serde_json::json!({"a": 1});
        let first = json(&HeaderMap::new(), &body, Tag::Content, LogPosition::new(1, 2)).expect("a response");
        let etag = first.headers()[header::ETAG].to_str().expect("ascii").to_owned();
        let second = json(&with_if_none_match(&etag), &body, Tag::Content, LogPosition::new(1, 2)).expect("a response");
        assert_eq!(second.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(second.headers()[header::ETAG], etag.as_str());
        assert_eq!(second.headers()["x-consistency-token"], "1:2");
    }
}
