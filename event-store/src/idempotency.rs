//! Stored HTTP responses for idempotency keys, so a retried request gets the first response back.
//! Only the command side writes them; they live beside the command records in schema `event_store`.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::Row;

use crate::error::IdempotencyError;
use crate::store::EventStore;
use crate::types::IdempotentResponse;

const COLUMNS: &str = "idempotency_key, request_fingerprint, status, content_type, body, created_at";

impl EventStore {
    /// The response stored for `key`, if any.
    ///
    /// A stored response whose fingerprint differs from `request_fingerprint` is
    /// [`IdempotencyError::FingerprintMismatch`]: the client reused the key for another request.
    #[tracing::instrument(skip_all, err(level = "debug"))]
    pub async fn find_idempotent_response(
        &self,
        key: &str,
        request_fingerprint: &str,
    ) -> Result<Option<IdempotentResponse>, IdempotencyError> {
        let row =
            sqlx::query(&format!("SELECT {COLUMNS} FROM event_store.idempotency_keys WHERE idempotency_key = $1"))
                .bind(key)
                .fetch_optional(&self.pool)
                .await?;
        let Some(row) = row else { return Ok(None) };
        let stored = response_from_row(&row)?;
        if stored.request_fingerprint != request_fingerprint {
            return Err(IdempotencyError::FingerprintMismatch { key: key.to_owned() });
        }
        Ok(Some(stored))
    }

    /// Stores the response to the first request with `key`; the first stored response wins.
    ///
    /// Returns the response that is stored for the key afterwards: this one, or the one a concurrent
    /// request stored first (send that one). A stored response with another fingerprint is
    /// [`IdempotencyError::FingerprintMismatch`]. Keys are 1 to 255 bytes; `status` is 100 to 599.
    #[tracing::instrument(skip_all, fields(http.status = status), err(level = "debug"))]
    pub async fn save_idempotent_response(
        &self,
        key: &str,
        request_fingerprint: &str,
        status: u16,
        content_type: &str,
        body: &[u8],
    ) -> Result<IdempotentResponse, IdempotencyError> {
        if key.is_empty() || key.len() > 255 {
            return Err(IdempotencyError::Invalid { reason: "the key must be 1 to 255 bytes".to_owned() });
        }
        if !(100..=599).contains(&status) {
            return Err(IdempotencyError::Invalid { reason: format!("{status} is not an HTTP status") });
        }
        let inserted = sqlx::query(&format!(
            "INSERT INTO event_store.idempotency_keys \
                (idempotency_key, request_fingerprint, status, content_type, body) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (idempotency_key) DO NOTHING RETURNING {COLUMNS}"
        ))
        .bind(key)
        .bind(request_fingerprint)
        .bind(status as i16)
        .bind(content_type)
        .bind(body)
        .fetch_optional(&self.pool)
        .await?;
        match inserted {
            Some(row) => response_from_row(&row),
            None => self
                .find_idempotent_response(key, request_fingerprint)
                .await?
                .ok_or_else(|| IdempotencyError::Invalid { reason: "the stored response vanished".to_owned() }),
        }
    }

    /// Deletes stored responses created before `cutoff`; returns how many were deleted.
    #[tracing::instrument(skip_all, err(level = "debug"))]
    pub async fn delete_idempotent_responses_before(&self, cutoff: DateTime<Utc>) -> Result<u64, IdempotencyError> {
        let deleted = sqlx::query("DELETE FROM event_store.idempotency_keys WHERE created_at < $1")
            .bind(cutoff)
            .execute(&self.pool)
            .await?;
        Ok(deleted.rows_affected())
    }
}

fn response_from_row(row: &PgRow) -> Result<IdempotentResponse, IdempotencyError> {
    let status: i16 = row.try_get("status")?;
    Ok(IdempotentResponse {
        key: row.try_get("idempotency_key")?,
        request_fingerprint: row.try_get("request_fingerprint")?,
        status: u16::try_from(status).unwrap_or_default(),
        content_type: row.try_get("content_type")?,
        body: row.try_get("body")?,
        created_at: row.try_get("created_at")?,
    })
}
