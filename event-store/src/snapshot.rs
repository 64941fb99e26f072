//! Aggregate snapshots: a cache of a stream's state at a version, keyed by the state's schema version.
//! Loading a stream starts from the newest snapshot of the schema version the caller understands.

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::error::{ReadError, SnapshotError};
use crate::store::{EventStore, MAX_READ_BATCH};
use crate::types::{LoadedStream, Snapshot};

impl EventStore {
    /// Stores `state` as the snapshot of `stream_id` after `version`, for snapshot schema `schema_version`.
    ///
    /// One snapshot is kept per stream and schema version; an older version never replaces a newer one
    /// (the call then succeeds without writing). `version` must be within `1..=` the stream's version.
    #[tracing::instrument(skip_all, fields(stream.id = %stream_id, stream.version = version), err(level = "debug"))]
    pub async fn save_snapshot(
        &self,
        stream_id: Uuid,
        version: i64,
        schema_version: i32,
        state: &Value,
    ) -> Result<(), SnapshotError> {
        let stream_version = self.fetch_stream_version(stream_id).await?;
        if stream_version == 0 {
            return Err(SnapshotError::StreamNotFound { stream_id });
        }
        if !(1..=stream_version).contains(&version) {
            return Err(SnapshotError::VersionOutOfRange { version, stream_version });
        }
        sqlx::query(
            "INSERT INTO event_store.snapshots AS s (stream_id, schema_version, version, state) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (stream_id, schema_version) DO UPDATE \
                SET version = excluded.version, state = excluded.state, taken_at = now() \
              WHERE s.version <= excluded.version",
        )
        .bind(stream_id)
        .bind(schema_version)
        .bind(version)
        .bind(state)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The stored snapshot of `stream_id` for `schema_version`, if any.
    ///
    /// Snapshots of other schema versions are ignored (the caller then replays from the first event).
    #[tracing::instrument(skip_all, fields(stream.id = %stream_id), err(level = "debug"))]
    pub async fn load_snapshot(&self, stream_id: Uuid, schema_version: i32) -> Result<Option<Snapshot>, ReadError> {
        let row: Option<(i64, Value, DateTime<Utc>)> = sqlx::query_as(
            "SELECT version, state, taken_at FROM event_store.snapshots \
             WHERE stream_id = $1 AND schema_version = $2",
        )
        .bind(stream_id)
        .bind(schema_version)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(version, state, taken_at)| Snapshot { stream_id, version, schema_version, state, taken_at }))
    }

    /// Loads a stream for a command: the snapshot of `snapshot_schema_version` (if any) and every event after it.
    ///
    /// A stream without events loads as empty with version 0 (append to it with `ExpectedVersion::NoStream`).
    #[tracing::instrument(skip_all, fields(stream.id = %stream_id), err(level = "debug"))]
    pub async fn load(&self, stream_id: Uuid, snapshot_schema_version: i32) -> Result<LoadedStream, ReadError> {
        let snapshot = self.load_snapshot(stream_id, snapshot_schema_version).await?;
        let mut version = snapshot.as_ref().map_or(0, |snapshot| snapshot.version);
        let mut events = Vec::new();
        loop {
            let page = self.read_stream_page(stream_id, version + 1, MAX_READ_BATCH).await?;
            let full_page = page.len() as i64 == MAX_READ_BATCH;
            if let Some(last) = page.last() {
                version = last.version;
            }
            events.extend(page);
            if !full_page {
                break;
            }
        }
        Ok(LoadedStream { snapshot, events, version })
    }
}
