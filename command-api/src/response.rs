//! The success body of every command and the headers that go with it.

use axum::http::header;
use axum::http::HeaderMap;
use axum::http::HeaderValue;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::response::Response;
use serde::Deserialize;
use serde::Serialize;
use uuid::Uuid;

use crate::orders::Execution;

/// Header with the consistency token of the last appended event (`<xid8>:<position>`).
pub const CONSISTENCY_TOKEN_HEADER: &str = "x-consistency-token";

/// What an accepted command answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CommandAccepted {
    /// The order (also its stream id).
    pub order_id: Uuid,
    /// The order's stream version after the command; send it back in `If-Match` to pin it.
    pub version: i64,
    /// `<xid8>:<position>` of the last event appended: pass it to the query API to read your own write.
    /// Absent when the command changed nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "7432:1051")]
    pub consistency_token: Option<String>,
}

impl From<&Execution> for CommandAccepted {
    fn from(execution: &Execution) -> Self {
        Self {
            order_id: execution.order_id,
            version: execution.version,
            consistency_token: execution.token.map(|token| token.to_string()),
        }
    }
}

impl CommandAccepted {
    /// `ETag` with the version, `X-Consistency-Token` when there is one, and `Location` for a 201.
    pub(crate) fn add_headers(&self, status: StatusCode, headers: &mut HeaderMap) {
        if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", self.version)) {
            headers.insert(header::ETAG, etag);
        }
        if let Some(token) = self.consistency_token.as_deref().and_then(|token| HeaderValue::from_str(token).ok()) {
            headers.insert(CONSISTENCY_TOKEN_HEADER, token);
        }
        if status == StatusCode::CREATED {
            if let Ok(location) = HeaderValue::from_str(&format!("/orders/{}", self.order_id)) {
                headers.insert(header::LOCATION, location);
            }
        }
    }

    /// The full response: status, JSON body and headers.
    pub(crate) fn into_response_with(self, status: StatusCode) -> Response {
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response =
            (status, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response();
        self.add_headers(status, response.headers_mut());
        response
    }
}
