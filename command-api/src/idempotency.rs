//! Idempotency: an `Idempotency-Key` becomes the command id (so the event store stores the command at
//! most once) and keys a stored copy of the response (so a retry gets the same answer, across restarts).
//!
//! The same key with another method, path or body is refused with 422 `idempotency-key-reused`.

use axum::http::header;
use axum::http::HeaderName;
use axum::http::HeaderValue;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::response::Response;
use event_store::AppendError;
use event_store::ExpectedVersion;
use event_store::IdempotencyError;
use event_store::IdempotentResponse;
use event_store::Metadata;
use event_store::NewEvent;
use event_store::StreamRef;
use serde_json::Value;
use sha2::Digest;
use sha2::Sha256;
use uuid::Uuid;

use crate::error::ApiError;
use crate::orders::Execution;
use crate::response::CommandAccepted;
use crate::state::AppState;

/// Deletes stored responses older than the retention, now and then at a quarter of it (at most hourly),
/// until the task is dropped. Every instance runs it; concurrent deletes of the same rows are harmless.
pub(crate) async fn purge_expired_responses(state: AppState) {
    let Some(retention) = state.limits().idempotency_retention else { return };
    let interval = (retention / 4).clamp(std::time::Duration::from_secs(60), std::time::Duration::from_secs(3_600));
    loop {
        let cutoff = chrono::Utc::now() - chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX);
        match state.store().delete_idempotent_responses_before(cutoff).await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, %cutoff, "purged expired idempotent responses"),
            Err(error) => {
                tracing::warn!(error = %error, "purging expired idempotent responses failed; trying again later")
            }
        }
        tokio::time::sleep(interval).await;
    }
}

/// Response header set on a response that was replayed for a repeated `Idempotency-Key`.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

/// The command id of a request: the key itself when it is a uuid, else a uuid derived from it
/// (version 8, SHA-256 of the key), so every retry of the request carries the same command id.
pub(crate) fn command_id_for_key(key: &str) -> Uuid {
    if let Ok(uuid) = Uuid::parse_str(key) {
        return uuid;
    }
    let digest = Sha256::digest(format!("command-api/idempotency-key/{key}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

/// SHA-256 over method, path and the canonical JSON of the body: two requests that mean the same have the same fingerprint.
pub(crate) fn fingerprint(method: &str, path: &str, document: &Value) -> String {
    let canonical = serde_json_canonicalizer::to_vec(document).unwrap_or_default();
    let mut hasher = Sha256::new();
    hasher.update(method.as_bytes());
    hasher.update(b"\n");
    hasher.update(path.as_bytes());
    hasher.update(b"\n");
    hasher.update(&canonical);
    hex::encode(hasher.finalize())
}

fn idempotency_failure(error: IdempotencyError) -> ApiError {
    match error {
        IdempotencyError::FingerprintMismatch { .. } => ApiError::IdempotencyKeyReused,
        IdempotencyError::Invalid { reason } => ApiError::Malformed(format!("invalid Idempotency-Key: {reason}")),
        IdempotencyError::Database(error) if crate::orders::is_unavailable(&error) => {
            ApiError::Unavailable("the event store is not reachable".to_owned())
        }
        other => ApiError::Internal(anyhow::Error::new(other).context("reading or storing an idempotent response")),
    }
}

/// The stored response of an earlier request with this key and fingerprint, if any.
pub(crate) async fn find(state: &AppState, key: &str, fingerprint: &str) -> Result<Option<Response>, ApiError> {
    let stored = state.store().find_idempotent_response(key, fingerprint).await.map_err(idempotency_failure)?;
    Ok(stored.map(|stored| {
        metrics::counter!(crate::telemetry::IDEMPOTENT_REPLAYS).increment(1);
        replay(&stored)
    }))
}

/// Stores `status` and `body` for the key; answers with whatever ends up stored (a concurrent request may have won).
pub(crate) async fn save(
    state: &AppState,
    key: &str,
    fingerprint: &str,
    status: StatusCode,
    content_type: &str,
    body: &[u8],
) -> Result<Option<Response>, ApiError> {
    let stored = state
        .store()
        .save_idempotent_response(key, fingerprint, status.as_u16(), content_type, body)
        .await
        .map_err(idempotency_failure)?;
    let is_ours = stored.status == status.as_u16() && stored.body == body;
    Ok((!is_ours).then(|| replay(&stored)))
}

/// Rebuilds a stored response, with the headers a success carries derived again from its body.
fn replay(stored: &IdempotentResponse) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let content_type =
        HeaderValue::from_str(&stored.content_type).unwrap_or_else(|_| HeaderValue::from_static("application/json"));
    let mut response = (status, [(header::CONTENT_TYPE, content_type)], stored.body.clone()).into_response();
    if status.is_success() {
        if let Ok(accepted) = serde_json::from_slice::<CommandAccepted>(&stored.body) {
            accepted.add_headers(status, response.headers_mut());
        }
    }
    response.headers_mut().insert(HeaderName::from_static(REPLAYED_HEADER), HeaderValue::from_static("true"));
    response
}

/// The result of a command id that the event store already recorded, when the stored response is missing
/// (the process stopped between the append and storing the response). `other_streams_too` also accepts a
/// record on another order (a create whose order id the server chose anew for the retry).
///
/// The event store has no public look-up of a command record, so this asks `append` itself: an append at
/// version -1, which no stream ever has, writes nothing and, by its contract, returns the original result
/// when the command id is stored, `CommandIdReused` when it is stored for another stream, and `Conflict` otherwise.
pub(crate) async fn recorded_command(
    state: &AppState,
    order_id: Uuid,
    command_id: Uuid,
    other_streams_too: bool,
) -> Result<Option<Execution>, ApiError> {
    let mut stream_id = order_id;
    for _ in 0..2 {
        let probe = NewEvent::new("command-api.record-probe", 1, serde_json::json!({}));
        let stream = StreamRef::new(stream_id, schemas::ORDER_STREAM_TYPE);
        let metadata = Metadata::for_command(command_id);
        match state.store().append(&stream, ExpectedVersion::Exact(-1), vec![probe], &metadata).await {
            Ok(result) if result.deduplicated => {
                return Ok(Some(Execution {
                    order_id: result.stream_id,
                    version: result.last_version,
                    token: Some(result.token),
                }));
            }
            Ok(result) => {
                return Err(ApiError::Internal(anyhow::anyhow!(
                    "a look-up of command {command_id} appended to stream {} at version {}",
                    result.stream_id,
                    result.last_version
                )));
            }
            Err(AppendError::CommandIdReused { stream_id: original, .. }) if other_streams_too => stream_id = original,
            Err(
                AppendError::Conflict { .. }
                | AppendError::CommandIdReused { .. }
                | AppendError::StreamTypeMismatch { .. },
            ) => {
                return Ok(None);
            }
            Err(AppendError::Database(error)) if crate::orders::is_unavailable(&error) => {
                return Err(ApiError::Unavailable("the event store is not reachable".to_owned()));
            }
            Err(error) => {
                return Err(ApiError::Internal(anyhow::Error::new(error).context("looking up a recorded command")));
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_uuid_key_is_the_command_id_and_other_keys_map_stably() {
        let uuid = Uuid::now_v7();
        assert_eq!(command_id_for_key(&uuid.to_string()), uuid);
        assert_eq!(command_id_for_key("retry-me"), command_id_for_key("retry-me"));
        assert_ne!(command_id_for_key("retry-me"), command_id_for_key("retry-you"));
    }

    #[test]
    fn fingerprints_ignore_member_order_but_not_content() {
        let first = fingerprint("POST", "/orders", &json!({"a": 1, "b": 2}));
        assert_eq!(first, fingerprint("POST", "/orders", &json!({"b": 2, "a": 1})));
        assert_ne!(first, fingerprint("POST", "/orders", &json!({"a": 1, "b": 3})));
        assert_ne!(first, fingerprint("PUT", "/orders", &json!({"a": 1, "b": 2})));
    }
}
